//! The typed protocol between the Worker and a site's store (the `Site`
//! Durable Object): one command enum in, one typed answer or typed error out.
//! Wire types only: serde derives on both sides of the boundary, so a
//! misspelled field is a compile error, not a silent `null`.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Largest message body put on the forwarding queue (the platform's limit
/// is 128 KB): a journey's send and an event's forward alike.
pub const MAX_MESSAGE_BYTES: usize = 120 * 1024;

mod across;
mod studio;
pub use across::*;
pub use studio::*;

/// A command of the store's protocol and the answer it gets: the one type
/// `store::call` gives back for it, so no caller picks an answer's type
/// itself and `store::dispatch` cannot answer with another.
pub trait Ask: Serialize {
    /// Its tag on the wire (`Command`'s variant).
    const COMMAND: &'static str;
    type Answer: Serialize + DeserializeOwned;
}

/// A command as it goes on the wire, `{"command": <tag>, ...its fields}`,
/// read on the other side as a `Command`; borrowed, so a caller keeps what
/// it sent (a batch's events, to forward them).
#[derive(Serialize)]
pub struct Tagged<'a, A> {
    pub command: &'static str,
    #[serde(flatten)]
    pub ask: &'a A,
}

/// The store's commands: each variant is one command's type, its answer
/// after the arrow (`Ask::Answer`).
macro_rules! commands {
    ($($(#[$doc:meta])* $tag:literal => $variant:ident($ask:ident) -> $answer:ty;)*) => {
        /// Everything the Worker asks of a site's store.
        #[derive(Debug, Deserialize)]
        #[serde(tag = "command")]
        pub enum Command {
            $($(#[$doc])* #[serde(rename = $tag)] $variant($ask),)*
            /// The config's versions and the studio's drafts (`store::versions`);
            /// each action has its own answer (`studio::StudioAsk`).
            #[serde(rename = "studio")]
            Studio(StudioCall),
        }
        $(
            impl Ask for $ask {
                const COMMAND: &'static str = $tag;
                type Answer = $answer;
            }
        )*
    };
}

commands! {
    /// Stores a validated batch (wire JSON events), applying each new event's facts.
    "append" => Append(Append) -> Appended;
    /// Batches acknowledged while the store was overloaded, spilled to the
    /// ingest queue and written now as one commit (`ingest.rs`); not
    /// rate-limited again: they were accepted already.
    "append_spilled" => AppendSpilled(AppendSpilled) -> Vec<Appended>;
    /// Links a browser to an identity the Worker has verified.
    "identify" => Identify(Identify) -> Identified;
    /// Records what a visitor typed (hashed): never a link.
    "claim" => Claim(Claim) -> Claimed;
    /// The person's facts for the agent, if `key_hash` is the browser's key.
    "profile" => Profile(ReadProfile) -> AgentProfile;
    /// A verified inbound webhook.
    "hook" => Hook(Hook) -> HookApplied;
    /// The merge log, newest first, `before` a merge number.
    "merges" => Merges(ListMerges) -> MergeLog;
    "undo_merge" => UndoMerge(UndoMerge) -> Undone;
    /// Stored events, newest first.
    "recent_events" => RecentEvents(RecentEvents) -> EventPage;
    /// Before a queue batch's deliveries: each already done? who is it for?
    /// may it be sent? (Verdicts in the checks' order.)
    "deliveries" => Deliveries(Deliveries) -> Vec<DeliveryVerdict>;
    /// After them: what was delivered (or found not to apply), what is filed.
    "outcomes" => Outcomes(Outcomes) -> ();
    "dead_letter" => DeadLetter(DeadLetter) -> ();
    "dead_letters" => DeadLetters(ListDeadLetters) -> DeadLetterPage;
    /// Removes dead letters once they are back on the queue.
    "remove_dead_letters" => RemoveDeadLetters(RemoveDeadLetters) -> Removed;
    /// One campaign's rollups (`Report`).
    "report" => Report(Report) -> ReportRows;
    /// Every campaign with rollups in a range of days, in totals.
    "report_summary" => ReportSummary(ReportSummary) -> Vec<SummaryRow>;
    /// The live config's journeys with their counters (`store::journeys`).
    "journeys" => Journeys(ListJourneys) -> JourneyList;
    /// One person's runs, timers and sends.
    "journey_runs" => JourneyRuns(JourneyRuns) -> PersonJourneys;
    /// Plays a journey on a virtual clock (nothing is stored or sent).
    "dry_run" => DryRun(DryRun) -> DryRunPlay;
    /// One send step's message as it would leave, marked as a test.
    "sample_send" => SampleSend(SampleSend) -> SampleMessage;
    "studio_person" => StudioPersonOf(StudioPersonOf) -> StudioPerson;
    /// Plays due timers and queues waiting sends now, as the alarm does.
    "journeys_tick" => JourneysTick(TickJourneys) -> Ticked;
    /// Adds codes to a coupon pool.
    "add_pool_codes" => AddPoolCodes(AddPoolCodes) -> PoolCounts;
    "pool_counts" => PoolCounts(ReadPool) -> PoolCounts;
    /// At a pool's home: free codes moved out to another object (`store::pools`).
    "lease_codes" => LeaseCodes(LeaseCodes) -> Leased;
    /// The site's key generations (`store::keys`), and whether a studio
    /// session id was revoked (one read for an admin request).
    "keys" => Keys(ReadKeys) -> KeyState;
    /// Makes a key's next generation current; the previous one stays
    /// accepted for `window_ms`.
    "rotate_key" => RotateKey(RotateKey) -> crate::keys::Generation;
    /// Ends a studio session now (sign-out); answers whether it was new.
    "revoke_session" => RevokeSession(RevokeSession) -> bool;
    // One site over several objects (`across`, `store::saga`).
    "browser_person" => BrowserPerson(BrowserPerson) -> BrowserPersonIs;
    "user_of" => UserOf(UserOf) -> Option<String>;
    "person_of_browser" => PersonOfBrowser(PersonOfBrowser) -> Option<BrowserPersonIs>;
    "where_is" => WhereIs(WhereIs) -> PersonIs;
    "bind" => Bind(Bind) -> Bound;
    "repoint" => Repoint(Repoint) -> ();
    "relocate" => Relocate(Relocate) -> ();
    "saga_step" => SagaStep(SagaStep) -> SagaStep;
    "open_sagas" => OpenSagas(OpenSagas) -> Vec<SagaStep>;
    "export_person" => ExportPerson(ExportPerson) -> PersonExport;
    "import_person" => ImportPerson(ImportPerson) -> Identified;
    /// The browsers that lead to the person's new object now.
    "forget_person" => ForgetPerson(ForgetPerson) -> Vec<String>;
    "redirect_browser" => RedirectBrowser(RedirectBrowser) -> ();
    "take_held" => TakeHeld(TakeHeld) -> HeldEvents;
    "drop_held" => DropHeld(DropHeld) -> ();
    "adopt_config" => AdoptConfig(AdoptConfig) -> ();
    "live_config" => LiveConfig(LiveConfig) -> Option<AdoptConfig>;
    "shard_count" => ShardCount(ShardCount) -> Option<u16>;
    "use_nonce" => UseNonce(UseNonce) -> bool;
    "unfreeze" => Unfreeze(Unfreeze) -> HeldEvents;
    "suppress" => Suppress(Suppress) -> ();
}

#[derive(Debug, Serialize, Deserialize)]
pub struct AppendSpilled {
    pub batches: Vec<Append>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Claim {
    pub anonymous_id: String,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// How many hashed addresses were new for the browser. A claim never links
/// (`merged` is always false: the agent reads it like an identify's answer).
#[derive(Debug, Serialize, Deserialize)]
pub struct Claimed {
    pub claimed: usize,
    pub merged: bool,
    /// A form's held-back coupon, added by the Worker (`config_policy::sealed_coupon`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coupon: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ReadProfile {
    pub anonymous_id: String,
    pub key_hash: String,
}

/// What the agent learns of its person, in `nudge_core::profile::RemoteFacts`'
/// wire shape (the agent reads it with core's reader).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct AgentProfile {
    pub user_id: Option<String>,
    pub orders: i64,
    pub total_spent: f64,
    pub coupons: Vec<AgentCoupon>,
    pub segments: Vec<String>,
    pub campaigns: Vec<AgentCampaign>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct AgentCoupon {
    pub code: String,
    pub issued_at: Option<String>,
    pub expires_at: Option<String>,
    pub redeemed: bool,
}

/// A campaign's history for the person: impression times, their count,
/// when dismissed and converted (ms since 1970).
#[derive(Debug, Serialize, Deserialize)]
pub struct AgentCampaign {
    pub id: String,
    pub imp: Vec<i64>,
    pub total: i64,
    pub dismissed: Option<i64>,
    pub converted: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Hook {
    pub id: String,
    pub channel: String,
    pub event: Value,
    /// As `Append::objects`: with one object the store keeps no directory.
    #[serde(skip)]
    pub objects: u16,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct HookApplied {
    pub applied: bool,
    pub person: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ListMerges {
    pub person: Option<String>,
    pub page: Page,
}

/// A page of the merge log: each merge's row (`seq`, `at`, `from_person`,
/// `into_person`, `proof`, `moved`, `undone_at`, `undo_reason`).
#[derive(Debug, Serialize, Deserialize)]
pub struct MergeLog {
    pub merges: Vec<Map<String, Value>>,
    pub next_before: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct UndoMerge {
    pub seq: i64,
    pub reason: String,
}

/// Merge `undone` split `person` off `split_from` again.
#[derive(Debug, Serialize, Deserialize)]
pub struct Undone {
    pub undone: i64,
    pub person: String,
    pub split_from: String,
    /// The directory's identifiers (user id, email or phone hash) given
    /// back to `person`: with several objects, their entries point at it
    /// again (`store::undo_merge`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub given_back: Vec<(String, String)>,
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

/// One campaign's rollups for the UTC days `from_day..=to_day` (days since
/// 1970-01-01), conversions and revenue within `window_days` of each
/// person's first exposure.
#[derive(Debug, Serialize, Deserialize)]
pub struct Report {
    pub campaign: String,
    pub from_day: i64,
    pub to_day: i64,
    pub window_days: i64,
}

/// Every campaign with rollups in `from_day..=to_day`, in totals.
#[derive(Debug, Serialize, Deserialize)]
pub struct ReportSummary {
    pub from_day: i64,
    pub to_day: i64,
    pub window_days: i64,
}

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

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ReadKeys {
    pub session: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct RotateKey {
    pub key: crate::keys::KeyKind,
    pub window_ms: i64,
}

/// Remembered `until` the session would have expired.
#[derive(Debug, Serialize, Deserialize)]
pub struct RevokeSession {
    pub id: String,
    pub until: i64,
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

/// The answer to `Command::Keys`.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct KeyState {
    pub generations: crate::keys::Generations,
    pub session_revoked: bool,
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
        self.revenue = add_money(self.revenue, other.revenue);
    }
}

/// Revenue is summed in whole millionths, so a sum is the same whatever
/// order its parts come in (one object's rows, or several objects' totals):
/// floats added in another order differ in their last bits.
pub fn add_money(a: f64, b: f64) -> f64 {
    (to_micros(a) + to_micros(b)) as f64 / 1e6
}

/// An amount in whole millionths (`add_money`).
pub fn to_micros(amount: f64) -> i64 {
    (amount * 1e6).round() as i64
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
    /// Browsers of the batch whose persons moved to another object: their
    /// events were not stored here (`store::route` sends them there).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub moved: Vec<MovedBrowser>,
    /// The new events of the key-proven browser and their persons, for
    /// journeys (same transaction, never on the wire).
    #[serde(skip)]
    pub fresh: Vec<(String, Value)>,
}

/// An identity the Worker verified, and how.
#[derive(Debug, Clone, Serialize, Deserialize)]
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

#[derive(Debug, Clone, Serialize, Deserialize)]
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
    /// The object is overloaded (the platform queues no more requests for
    /// it): an event batch is spilled to the ingest queue instead.
    Overloaded(String),
    /// The browser's person moved to another of the site's objects in a
    /// merge: `store::route` asks there instead (never an HTTP answer).
    Moved {
        object: u16,
    },
    /// The identifier's person lives in another object (the directory
    /// says which person): `store::route` asks the object its id names.
    PersonElsewhere {
        person: String,
    },
    /// Storage failed: a 500 for the Worker.
    Internal(String),
}

pub type StoreResult<T> = Result<T, StoreError>;
