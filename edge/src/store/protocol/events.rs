//! The event path's commands: a browser's or server's batch (`Append`),
//! spilled batches written later, what an append answers, and the admin's
//! pages of stored events.

use super::*;

#[derive(Debug, Serialize, Deserialize)]
pub struct AppendSpilled {
    pub batches: Vec<Append>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct RecentEvents {
    pub page: Page,
    /// With `page.before`: the id of the last event listed, so a page that
    /// ended inside a millisecond (a batch's events share their receive
    /// time) goes on with the rest of it.
    #[serde(default)]
    pub before_id: Option<String>,
}

impl RecentEvents {
    pub fn cursor(&self) -> EventCursor {
        EventCursor {
            before: self.page.before(),
            before_id: self.before_id.clone(),
            limit: self.page.limit(),
        }
    }
}

/// Where a page of the event listing starts: events received before
/// `before`, or, with `before_id`, before that event in `(received_at, id)`
/// order; at most `limit` of them, newest first.
#[derive(Clone, Debug, PartialEq)]
pub struct EventCursor {
    pub before: i64,
    pub before_id: Option<String>,
    pub limit: i64,
}

impl EventCursor {
    /// Whether an event received `at` with `id` belongs after the cursor.
    pub fn admits(&self, at: i64, id: &str) -> bool {
        match &self.before_id {
            Some(before_id) => (at, id) < (self.before, before_id.as_str()),
            None => at < self.before,
        }
    }
}

/// A page of stored events: each `{id, received_at, body}` (the wire JSON text).
#[derive(Debug, Serialize, Deserialize)]
pub struct EventPage {
    pub total: i64,
    /// How many of them are in the R2 archive (`store::archive`).
    #[serde(default)]
    pub archived: i64,
    pub events: Vec<StoredEvent>,
    pub next_before: Option<i64>,
    /// The id that goes with `next_before` (`?before_id=`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_before_id: Option<String>,
    /// Where the store's events do not fill the page: the archived parts
    /// that continue it, newest first, for the Worker to read from R2.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<EventPart>,
    /// Archive parts the listing could not read (damaged, or the bucket not
    /// bound): skipped, and named so an operator can look.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unreadable_parts: Vec<String>,
}

/// An archived part of the event log in R2 (`store::archive`), as the
/// part index names it for the listing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventPart {
    pub key: String,
    pub first_at: i64,
    pub first_id: String,
    pub last_at: i64,
    pub count: i64,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct StoredEvent {
    pub id: String,
    pub received_at: i64,
    pub body: String,
}

/// Keyset pagination: at most `limit` items (capped by the store), older
/// than `before` for newest-first lists, after `after` for oldest-first ones
/// (a sequence number or an event's receive time).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Page {
    pub before: Option<i64>,
    pub after: Option<i64>,
    pub limit: Option<u32>,
}

impl Page {
    pub const MAX: u32 = 200;

    pub fn limit(&self) -> i64 {
        i64::from(self.limit.unwrap_or(50).clamp(1, Self::MAX))
    }

    pub fn before(&self) -> i64 {
        self.before.unwrap_or(i64::MAX)
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Append {
    pub events: Vec<Value>,
    /// The anonymous id a validly signed first-party cookie proves.
    pub cookie_browser: Option<String>,
    /// Who sent the batch (for the per-client event rate).
    pub client: String,
    /// The key the agent made for one of the batch's browsers.
    pub browser_key: Option<BrowserKey>,
    /// The published config's campaigns (arms and goals), for the reports:
    /// only these are rolled up. Empty from callers that predate reports.
    #[serde(default)]
    pub campaigns: Vec<ReportedCampaign>,
    /// Events the store held while their person moved between objects,
    /// replayed where it went (`store::saga`), with the proof each had when
    /// it was accepted: (event id, proven by the browser's key). Only the
    /// saga sets it; the Worker's requests never do.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub held: Vec<(String, bool)>,
    /// How many objects share the site's budgets: set by the object itself
    /// from `SITE_SHARDS` (never on the wire), for the budget of new
    /// keyless persons (`store::events`). 0 reads as 1.
    #[serde(skip)]
    pub objects: u16,
    /// Events sent on from their browsers' object to where the browsers'
    /// persons moved (`placement::batches`): each one stored here is
    /// recorded as stored away from home (`foreign_events`), so its id
    /// goes on with the browser if the person moves again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub away: bool,
}

/// A browser's key (see `keys::browser_key_hash`): registered the first time
/// a browser presents one, never replaced; reading its profile needs it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BrowserKey {
    pub anonymous_id: String,
    /// SHA-256 hex of the key: the store never holds the key itself.
    pub key_hash: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Appended {
    pub accepted: u32,
    pub duplicates: u32,
    /// The anonymous id whose key this request presented and the store holds
    /// for it: the only browser this request proves it speaks for.
    pub verified_browser: Option<String>,
    /// Events (by `messageId`) naming a browser that has a key this request
    /// did not present: kept in the log, but their facts are not applied and
    /// they are not forwarded (nobody can text or credit someone else).
    pub unproven: Vec<String>,
    /// Browsers of the batch whose persons moved to another object: their
    /// events were not stored here (`store::route` sends them there).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub moved: Vec<MovedBrowser>,
    /// The new events of the key-proven browser and their persons, for
    /// journeys (same transaction, never on the wire).
    #[serde(skip)]
    pub fresh: Vec<(String, Value)>,
}
