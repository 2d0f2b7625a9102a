//! The studio's side of the store's protocol: one `studio` command whose
//! `action` is one of the actions below, each with its own answer type
//! (`StudioAsk::Answer`), as every other command has (`Ask`).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

use super::{Ask, Page};

/// A studio action and the answer it gets.
pub trait StudioAsk: Serialize {
    /// Its tag on the wire (`StudioAction`'s variant).
    const ACTION: &'static str;
    type Answer: Serialize + DeserializeOwned;
}

/// A studio (or config API) action by someone, as the Worker sends it.
#[derive(Serialize)]
pub struct Studio<A: StudioAsk> {
    /// The config in KV, which becomes version 1 if the site has none yet.
    pub live: Option<String>,
    /// Who asks: the signed-in name, or "admin token".
    pub by: String,
    #[serde(serialize_with = "tagged_action")]
    pub action: A,
}

impl<A: StudioAsk> Ask for Studio<A> {
    const COMMAND: &'static str = "studio";
    type Answer = A::Answer;
}

/// `{"action": <tag>, ...its fields}`, read as a `StudioAction`.
fn tagged_action<A: StudioAsk, S: Serializer>(action: &A, to: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Tagged<'a, A> {
        action: &'static str,
        #[serde(flatten)]
        fields: &'a A,
    }
    Tagged {
        action: A::ACTION,
        fields: action,
    }
    .serialize(to)
}

/// A studio call as the store reads it.
#[derive(Debug, Deserialize)]
pub struct StudioCall {
    pub live: Option<String>,
    pub by: String,
    pub action: StudioAction,
}

macro_rules! actions {
    ($($(#[$doc:meta])* $tag:literal => $variant:ident($ask:ident) -> $answer:ty;)*) => {
        /// What the studio asks of the config's versions and drafts.
        /// `expected` is the draft revision or live version the caller saw
        /// (`If-Match`); a mismatch is a `Conflict` and nothing changes.
        #[derive(Debug, Deserialize)]
        #[serde(tag = "action")]
        pub enum StudioAction {
            $($(#[$doc])* #[serde(rename = $tag)] $variant($ask),)*
        }
        $(
            impl StudioAsk for $ask {
                const ACTION: &'static str = $tag;
                type Answer = $answer;
            }
        )*
    };
}

actions! {
    /// The live version, its config text, and the drafts.
    "overview" => Overview(Overview) -> LiveOverview;
    /// The live version's number only.
    "head" => Head(Head) -> HeadVersion;
    /// One draft (a campaign's or a journey's).
    "draft" => Draft(Draft) -> DraftRead;
    /// `expected: None` creates a draft (refused if one exists).
    "save_draft" => SaveDraft(SaveDraft) -> SavedDraft;
    "discard_draft" => DiscardDraft(DiscardDraft) -> Discarded;
    /// The draft goes live as a new version, if the whole config validates.
    "publish" => Publish(Publish) -> NewVersion;
    "set_status" => SetStatus(SetStatus) -> NewVersion;
    /// Turns a journey on or off (a new version, like a campaign's status).
    "set_journey" => SetJourney(SetJourney) -> NewVersion;
    /// The site's messaging caps and quiet hours, a new version like any
    /// other change.
    "set_messaging" => SetMessaging(SetMessaging) -> NewVersion;
    "versions" => Versions(Versions) -> VersionPage;
    /// One version and the config before it.
    "version" => Version(Version) -> VersionDetail;
    /// A new version equal to `version`'s config.
    "rollback" => Rollback(Rollback) -> NewVersion;
    /// A validated config from `PUT …/config` (`expected` from `If-Match`, if sent).
    "put_config" => PutConfig(PutConfig) -> NewVersion;
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Overview {}

#[derive(Debug, Serialize, Deserialize)]
pub struct LiveOverview {
    /// 0 for a site with no config yet.
    pub version: i64,
    /// The live config's text.
    pub config: Option<String>,
    /// Open drafts, by key (`Item::key`).
    pub drafts: Vec<DraftSummary>,
    /// Who last published each campaign or journey of the live config.
    pub published: Vec<Touched>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct DraftSummary {
    /// `Item::key`: a campaign's id, `journey:<id>` for a journey.
    pub campaign: String,
    pub revision: i64,
    pub by: String,
    pub at: i64,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Touched {
    pub campaign: String,
    pub version: i64,
    pub by: String,
    pub at: i64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Head {}

#[derive(Debug, Serialize, Deserialize)]
pub struct HeadVersion {
    pub version: i64,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Draft {
    pub item: Item,
}

/// A draft with the live config's text, which the studio checks it against.
#[derive(Debug, Serialize, Deserialize)]
pub struct DraftRead {
    pub body: Value,
    pub revision: i64,
    pub by: String,
    pub at: i64,
    /// A journey draft: what publishing it does to runs in progress.
    pub in_flight: Option<InFlight>,
    pub config: Option<String>,
}

/// Runs of a journey in progress, and how many of them a draft's shape
/// keeps (the rest end when it is published).
#[derive(Debug, Serialize, Deserialize)]
pub struct InFlight {
    pub active: i64,
    pub kept: i64,
    pub ended: i64,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct SaveDraft {
    pub item: Item,
    pub expected: Option<i64>,
    pub body: Value,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct SavedDraft {
    pub revision: i64,
    pub in_flight: Option<InFlight>,
    pub config: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct DiscardDraft {
    pub item: Item,
    pub expected: i64,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Discarded {
    pub discarded: bool,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Publish {
    pub item: Item,
    pub expected: i64,
    pub note: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct SetStatus {
    pub campaign: String,
    pub status: String,
    pub expected: i64,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct SetJourney {
    pub journey: String,
    pub enabled: bool,
    pub expected: i64,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct SetMessaging {
    pub caps: RuleChange,
    pub quiet_hours: RuleChange,
    pub expected: i64,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Versions {
    pub page: Page,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct VersionPage {
    pub versions: Vec<VersionSummary>,
    pub next_before: Option<i64>,
}

/// A version as the history lists it.
#[derive(Debug, Serialize, Deserialize)]
pub struct VersionSummary {
    pub version: i64,
    /// ms since 1970.
    pub at: i64,
    pub by: String,
    /// `publish`, `status`, `rollback`, `settings`, `api`, `import`.
    pub action: String,
    /// The item's key, for a change to one campaign or journey.
    pub campaign: Option<String>,
    pub note: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Version {
    pub version: i64,
}

/// One version with its config text and the text of the version before it.
#[derive(Debug, Serialize, Deserialize)]
pub struct VersionDetail {
    #[serde(flatten)]
    pub summary: VersionSummary,
    pub config: String,
    pub previous: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Rollback {
    pub version: i64,
    pub expected: i64,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct PutConfig {
    pub text: String,
    pub expected: Option<i64>,
}

/// A new live version: its number, when, by whom, and its config's text
/// (which the Worker copies to KV).
#[derive(Debug, Serialize, Deserialize)]
pub struct NewVersion {
    pub version: i64,
    pub at: i64,
    pub by: String,
    pub config: String,
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
