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
mod deliveries;
mod events;
mod journeys;
mod reports;
mod studio;
mod visitor;
pub use across::*;
pub use deliveries::*;
pub use events::*;
pub use journeys::*;
pub use reports::*;
pub use studio::*;
pub use visitor::*;

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
    "merge_done" => MergeDone(MergeDone) -> ();
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

/// The answer to `Command::Keys`.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct KeyState {
    pub generations: crate::keys::Generations,
    pub session_revoked: bool,
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
