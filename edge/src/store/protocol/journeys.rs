//! Journeys and the studio's plays of them, coupon pools, and what an alarm
//! step did.

use super::*;

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ListJourneys {}

#[derive(Debug, Serialize, Deserialize)]
pub struct JourneyRuns {
    /// A person, user or anonymous id.
    pub person: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct DryRun {
    pub journey: String,
    /// Plays the journey's studio draft instead of the live journey.
    pub draft: bool,
    pub person: Option<String>,
    /// (seconds after now, event name).
    pub events: Vec<(i64, String)>,
    pub days: i64,
    /// `person` as its own object knows them, when the site spreads over
    /// several objects and the play runs at the home, with the drafts
    /// (`store::play_journey`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub who: Option<StudioPerson>,
}

/// At a person's object: what a dry run or a sample send at the home needs
/// of them (`store::play_journey`).
#[derive(Debug, Serialize, Deserialize)]
pub struct StudioPersonOf {
    /// A person, user or anonymous id, an email or phone.
    pub person: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StudioPerson {
    pub facts: crate::store::journeys::person::JourneyFacts,
    /// Their marketing sends over the last week, for the caps.
    pub caps: Vec<i64>,
    /// Someone vouches for them: a pool code may go to them.
    pub vouched: bool,
    /// What a journey's send carries about them (cart, products, coupon).
    pub send_properties: Value,
}

/// One send step's message as it would leave (`store::journeys::studio`):
/// nothing is stored, counted or sent.
#[derive(Debug, Serialize, Deserialize)]
pub struct SampleSend {
    pub journey: String,
    pub draft: bool,
    pub path: String,
    pub person: Option<String>,
    /// As `DryRun::who`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub who: Option<StudioPerson>,
}

/// The message a send step would queue: its destination's id, purpose and
/// the event (marked as a test).
#[derive(Debug, Serialize, Deserialize)]
pub struct SampleMessage {
    pub destination: String,
    pub purpose: String,
    pub event: Value,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct TickJourneys {}

#[derive(Debug, Serialize, Deserialize)]
pub struct AddPoolCodes {
    pub pool: String,
    pub codes: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ReadPool {
    pub pool: String,
}

/// Up to `count` of a pool's free codes for object `to`, under its lease
/// (asked again, the same codes).
#[derive(Debug, Serialize, Deserialize)]
pub struct LeaseCodes {
    pub pool: String,
    pub to: u16,
    pub lease: i64,
    pub count: i64,
}

/// The codes a lease moved (none: the pool has none left).
#[derive(Debug, Serialize, Deserialize)]
pub struct Leased {
    pub codes: Vec<String>,
}

/// A coupon pool's codes: still free, already given; after an upload, how
/// many of it were new.
#[derive(Debug, Serialize, Deserialize)]
pub struct PoolCounts {
    pub pool: String,
    pub available: i64,
    pub taken: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub added: Option<i64>,
}

/// Documents the store writes for the admin API as they are (journeys'
/// lists and plays): each command's own type, its members the API's.
macro_rules! documents {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Default, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Value);
    )*};
}

documents! {
    /// `GET journeys`: each journey with its counters and step report.
    JourneyList;
    /// `GET journeys/runs?person=`: `{person, runs, pending_timers, sends}`.
    PersonJourneys;
    /// A dry run's timeline.
    DryRunPlay;
}

/// What an alarm step did (`site::Site::tick`, `site/alarm.rs`).
#[derive(Debug, Serialize, Deserialize)]
pub struct Ticked {
    /// Due runs played.
    pub fired: u64,
    /// Sends put on the forwarding queue.
    pub queued: u64,
    /// Whether sends still wait for the queue.
    pub sends_waiting: bool,
    /// Events whose bodies were put to the R2 archive (`store::archive`).
    #[serde(default)]
    pub archived: u64,
    pub next_alarm: String,
}
