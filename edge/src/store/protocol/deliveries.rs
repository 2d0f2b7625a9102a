//! Forwarding to channels: delivery records and their outcomes, the dead
//! letters, and the check a channel's send makes first (consent, contact,
//! suppression, the SMS budget).

use super::*;

#[derive(Debug, Serialize, Deserialize)]
pub struct Deliveries {
    pub checks: Vec<DeliveryCheck>,
    /// The object the forwarded events were stored in (`store::shards`):
    /// where the command goes, not part of it.
    #[serde(skip)]
    pub object: u16,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Outcomes {
    pub delivered: Vec<Delivered>,
    pub dead_letters: Vec<DeadLetter>,
    /// As `Deliveries::object`.
    #[serde(skip)]
    pub object: u16,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Delivered {
    pub destination: String,
    pub event_id: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct DeadLetter {
    pub reason: String,
    pub message: Value,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ListDeadLetters {
    pub page: Page,
}

/// A page of dead letters, oldest first, and how many there are in all.
#[derive(Debug, Serialize, Deserialize)]
pub struct DeadLetterPage {
    pub letters: Vec<FiledLetter>,
    pub total: i64,
    pub next_after: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct FiledLetter {
    pub seq: i64,
    pub at: i64,
    pub reason: String,
    /// The forwarding message as it was queued.
    pub message: Value,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct RemoveDeadLetters {
    pub seqs: Vec<i64>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Removed {
    pub removed: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeliveryCheck {
    pub destination: String,
    pub event_id: String,
    /// The event's browser, for channels that address a person.
    pub anonymous_id: Option<String>,
    /// The person a journey's send is for (instead of a browser).
    #[serde(default)]
    pub person: Option<String>,
    /// A journey send's purpose, `marketing` or `transactional`: checked
    /// again at delivery (`store::deliveries`).
    #[serde(default)]
    pub purpose: Option<String>,
    /// Channels that cannot de-duplicate (SMS) claim the delivery now: at
    /// most once. With it, the caps of a daily SMS budget.
    pub claim: Option<SmsBudget>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct SmsBudget {
    pub per_number_per_day: u32,
    pub per_site_per_day: u32,
}

/// What a delivery may do.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum DeliveryVerdict {
    AlreadyDone,
    /// Send it (to this contact, which may be empty).
    Send {
        contact: Contact,
    },
    /// Not for this person (no verified number, suppressed, over a cap):
    /// recorded as done, never retried.
    Skip {
        reason: String,
    },
    /// The event's browser (or the send's person) moved to another of the
    /// site's objects in a merge: asked there (`store::route` follows it;
    /// the consumer never sees it).
    Moved {
        object: u16,
    },
}

/// What the store has on record for reaching a person.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    pub user_id: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// The phone came from a verified source (the shop's signed identify, an SMS link).
    pub phone_verified: bool,
    /// The email came from a verified source (the shop's signed identify, an email link).
    #[serde(default)]
    pub email_verified: bool,
    /// The address or number is on the suppression list.
    pub suppressed: bool,
}
