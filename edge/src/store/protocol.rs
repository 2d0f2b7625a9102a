//! The typed protocol between the Worker and a site's store (the `Site`
//! Durable Object): one command enum in, one typed answer or typed error out.
//! Wire types only: serde derives on both sides of the boundary, so a
//! misspelled field is a compile error, not a silent `null`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Largest message body put on the forwarding queue (the platform's limit
/// is 128 KB): a journey's send and an event's forward alike.
pub const MAX_MESSAGE_BYTES: usize = 120 * 1024;

/// Everything the Worker asks of a site's store.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    /// Stores a validated batch (wire JSON events), applying each new event's facts.
    Append(Append),
    /// Links a browser to an identity the Worker has verified.
    Identify(Identify),
    /// Records what a visitor typed (hashed): never a link.
    Claim {
        anonymous_id: String,
        email: Option<String>,
        phone: Option<String>,
    },
    /// The person's facts for the agent, if `key_hash` is the browser's key.
    Profile {
        anonymous_id: String,
        key_hash: String,
    },
    /// A verified inbound webhook.
    Hook {
        id: String,
        channel: String,
        event: Value,
    },
    /// The merge log, newest first, `before` a merge number.
    Merges {
        person: Option<String>,
        page: Page,
    },
    UndoMerge {
        seq: i64,
        reason: String,
    },
    /// Stored events, newest first.
    RecentEvents {
        page: Page,
    },
    /// Before a delivery: already done? who is it for? may it be sent?
    Delivery(DeliveryCheck),
    /// After a delivery (or a decision that it does not apply).
    Delivered {
        destination: String,
        event_id: String,
    },
    DeadLetter {
        reason: String,
        message: Value,
    },
    DeadLetters {
        page: Page,
    },
    /// Removes dead letters once they are back on the queue.
    RemoveDeadLetters {
        seqs: Vec<i64>,
    },
    /// One campaign's rollups for the UTC days `from_day..=to_day` (days since
    /// 1970-01-01), conversions and revenue within `window_days` of each
    /// person's first exposure.
    Report {
        campaign: String,
        from_day: i64,
        to_day: i64,
        window_days: i64,
    },
    /// Every campaign with rollups in `from_day..=to_day`, in totals.
    ReportSummary {
        from_day: i64,
        to_day: i64,
        window_days: i64,
    },
    /// The config's versions and the studio's drafts (`store::versions`).
    Studio(StudioCall),
    /// The live config's journeys with their counters (`store::journeys`).
    Journeys,
    /// One person's runs, timers and sends; `person` is a person, user or
    /// anonymous id.
    JourneyRuns {
        person: String,
    },
    /// Plays a journey on a virtual clock (nothing is stored or sent):
    /// `events` are (seconds after now, event name).
    DryRun {
        journey: String,
        /// Plays the journey's studio draft instead of the live journey.
        draft: bool,
        person: Option<String>,
        events: Vec<(i64, String)>,
        days: i64,
    },
    /// One send step's message as it would leave, marked as a test
    /// (`store::journeys::studio`): nothing is stored, counted or sent.
    SampleSend {
        journey: String,
        draft: bool,
        path: String,
        person: Option<String>,
    },
    /// Plays due timers and queues waiting sends now, as the alarm does.
    JourneysTick,
    /// Adds codes to a coupon pool.
    AddPoolCodes {
        pool: String,
        codes: Vec<String>,
    },
    PoolCounts {
        pool: String,
    },
    /// The site's key generations (`store::keys`), and whether a studio
    /// session id was revoked (one read for an admin request).
    Keys {
        session: Option<String>,
    },
    /// Makes a key's next generation current; the previous one stays
    /// accepted for `window_ms`. Answers the new `Generation`.
    RotateKey {
        key: crate::keys::KeyKind,
        window_ms: i64,
    },
    /// Ends a studio session now (sign-out), remembered `until` it expires.
    RevokeSession {
        id: String,
        until: i64,
    },
}

/// The answer to `Command::Keys`.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct KeyState {
    pub generations: crate::keys::Generations,
    pub session_revoked: bool,
}

/// A studio (or config API) call, by someone.
#[derive(Debug, Serialize, Deserialize)]
pub struct StudioCall {
    /// The config in KV, which becomes version 1 if the site has none yet.
    pub live: Option<String>,
    /// Who asks: the signed-in name, or "admin token".
    pub by: String,
    pub action: StudioAction,
}

/// What a change does to one site-wide rule of the config. (Not an
/// `Option<Value>`: serde reads a JSON null as `None`, so "remove" would
/// arrive as "keep".)
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleChange {
    Keep,
    Remove,
    Set(Value),
}

impl RuleChange {
    /// A request body's member: absent keeps the rule, `null` removes it.
    pub fn of(member: Option<&Value>) -> RuleChange {
        match member {
            None => RuleChange::Keep,
            Some(Value::Null) => RuleChange::Remove,
            Some(value) => RuleChange::Set(value.clone()),
        }
    }
}

/// What a studio draft edits: a campaign or a journey of the config, by id.
/// Both kinds have drafts, publish, versions and roll back the same way
/// (`store::versions`); they differ only in the config list they live in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Item {
    Campaign(String),
    Journey(String),
}

impl Item {
    pub fn id(&self) -> &str {
        match self {
            Item::Campaign(id) | Item::Journey(id) => id,
        }
    }

    /// The config's list that holds it.
    pub fn list(&self) -> &'static str {
        match self {
            Item::Campaign(_) => "campaigns",
            Item::Journey(_) => "journeys",
        }
    }

    pub fn noun(&self) -> &'static str {
        match self {
            Item::Campaign(_) => "campaign",
            Item::Journey(_) => "journey",
        }
    }

    /// Its key in the drafts table and the history's `campaign` column:
    /// a campaign's id as it always was, `journey:<id>` for a journey (ids
    /// have no `:`, so the two never meet).
    pub fn key(&self) -> String {
        match self {
            Item::Campaign(id) => id.clone(),
            Item::Journey(id) => format!("journey:{id}"),
        }
    }

    pub fn from_key(key: &str) -> Item {
        match key.strip_prefix("journey:") {
            Some(id) => Item::Journey(id.to_owned()),
            None => Item::Campaign(key.to_owned()),
        }
    }
}

/// `expected` is the draft revision or live version the caller saw
/// (`If-Match`); a mismatch is a `Conflict` and nothing changes.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum StudioAction {
    /// The live version, its config text, and the drafts.
    Overview,
    /// The live version's number only.
    Head,
    /// One draft (a campaign's or a journey's).
    Draft {
        item: Item,
    },
    /// `expected: None` creates a draft (refused if one exists).
    SaveDraft {
        item: Item,
        expected: Option<i64>,
        body: Value,
    },
    DiscardDraft {
        item: Item,
        expected: i64,
    },
    /// The draft goes live as a new version, if the whole config validates.
    Publish {
        item: Item,
        expected: i64,
        note: String,
    },
    SetStatus {
        campaign: String,
        status: String,
        expected: i64,
    },
    /// Turns a journey on or off (a new version, like a campaign's status).
    SetJourney {
        journey: String,
        enabled: bool,
        expected: i64,
    },
    /// The site's messaging caps and quiet hours, a new version like any
    /// other change.
    SetMessaging {
        caps: RuleChange,
        quiet_hours: RuleChange,
        expected: i64,
    },
    Versions {
        page: Page,
    },
    /// One version and the config before it.
    Version {
        version: i64,
    },
    /// A new version equal to `version`'s config.
    Rollback {
        version: i64,
        expected: i64,
    },
    /// A validated config from `PUT …/config` (`expected` from `If-Match`, if sent).
    PutConfig {
        text: String,
        expected: Option<i64>,
    },
}

/// Keyset pagination: at most `limit` items (capped by the store), older
/// than `before` for newest-first lists, after `after` for oldest-first ones
/// (a sequence number or an event's receive time).
#[derive(Debug, Default, Serialize, Deserialize)]
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

#[derive(Debug, Serialize, Deserialize)]
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
}

/// A campaign of the published config, as the reports see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportedCampaign {
    pub id: String,
    /// The event name that counts as this campaign's conversion.
    #[serde(default)]
    pub goal: Option<String>,
    /// The A/B arms; empty for a campaign without a test (reported as the
    /// one arm `""`).
    #[serde(default)]
    pub variants: Vec<ReportedVariant>,
}

/// One arm of a campaign's A/B test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportedVariant {
    pub key: String,
    #[serde(default)]
    pub weight: f64,
    /// A control arm shows nothing; its exposures are where it would have.
    #[serde(default)]
    pub control: bool,
}

/// One campaign's rollups over a range of days (`Command::Report`).
#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReportRows {
    /// Whether the store has any rollup for this campaign, on any day.
    pub known: bool,
    /// One row per day and arm that has data, by day then arm.
    pub days: Vec<DayRow>,
}

/// What a report counts for one arm, over a day or a range. Impressions,
/// clicks, submits and dismissals are counted on the day they happened;
/// exposed persons, conversions and revenue on the day of each person's
/// first exposure (its cohort).
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    pub exposed_persons: i64,
    pub impressions: i64,
    pub clicks: i64,
    pub submits: i64,
    pub dismissals: i64,
    pub conversions: i64,
    pub revenue: f64,
}

impl Counts {
    pub fn add(&mut self, other: &Counts) {
        self.exposed_persons += other.exposed_persons;
        self.impressions += other.impressions;
        self.clicks += other.clicks;
        self.submits += other.submits;
        self.dismissals += other.dismissals;
        self.conversions += other.conversions;
        self.revenue += other.revenue;
    }
}

/// What one arm did on one UTC day.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayRow {
    pub day: i64,
    pub variant: String,
    pub control: bool,
    #[serde(flatten)]
    pub counts: Counts,
    /// Persons of this cohort seen in more than one arm.
    pub several_arms: i64,
}

/// One campaign's totals in a summary (`Command::ReportSummary`).
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryRow {
    pub campaign: String,
    pub exposed_persons: i64,
    /// Of the arms that show something (a control's exposures are not).
    pub impressions: i64,
    pub clicks: i64,
    pub conversions: i64,
    pub revenue: f64,
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
    /// The new events of the key-proven browser and their persons, for
    /// journeys (same transaction, never on the wire).
    #[serde(skip)]
    pub fresh: Vec<(String, Value)>,
}

/// An identity the Worker verified, and how.
#[derive(Debug, Serialize, Deserialize)]
pub struct Identify {
    pub anonymous_id: String,
    pub proven: Proven,
    /// `user_token`, `click_token`.
    pub proof: String,
    /// Single-use tokens' nonce.
    pub nonce: Option<String>,
    /// Contact details the proof covers (signed by the shop or the link).
    pub email: Option<String>,
    pub phone: Option<String>,
    pub browser_key: Option<BrowserKey>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Proven {
    UserId(String),
    /// SHA-256 hex of a normalized address.
    EmailHash(String),
    PhoneHash(String),
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Identified {
    pub person: String,
    pub merged: bool,
}

#[derive(Debug, Serialize, Deserialize)]
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

/// Typed refusals from the store; the Worker maps each to an HTTP answer.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "error", content = "message", rename_all = "snake_case")]
pub enum StoreError {
    NotFound(String),
    /// The browser key is missing or not this browser's.
    BrowserKey(String),
    /// A single-use token was used already.
    TokenUsed(String),
    /// Two different user ids would become one person.
    UserConflict(String),
    AlreadyUndone(String),
    MergedSince(String),
    AlreadyProcessed(String),
    Invalid(String),
    /// Too many events for the site or client this minute.
    RateLimited {
        message: String,
        retry_after: u32,
    },
    /// Someone changed it since the caller read it (`If-Match`).
    Conflict {
        message: String,
        current: Value,
    },
    /// The config that would go live has problems (paths from the config's root).
    InvalidConfig {
        message: String,
        problems: Vec<Value>,
    },
    /// A per-site bound is reached (open drafts).
    Limit(String),
    /// Storage failed: a 500 for the Worker.
    Internal(String),
}

pub type StoreResult<T> = Result<T, StoreError>;
