//! Commands of one site over several objects (`store::shards`): the
//! identity directory, and the steps of a merge whose two persons live in
//! two objects (`store::saga`). With one object none of them is sent.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::BrowserKey;
use crate::store::sql::Row;

/// The person behind a browser (made on first sight, as an event would),
/// for a browser that proves itself with its key; and that person's user id.
#[derive(Debug, Serialize, Deserialize)]
pub struct BrowserPerson {
    pub anonymous_id: String,
    pub browser_key: Option<BrowserKey>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct BrowserPersonIs {
    pub person: String,
    pub user_id: Option<String>,
}

/// Where a person is now: itself, or the person and object a merge
/// across objects moved it into.
#[derive(Debug, Serialize, Deserialize)]
pub struct WhereIs {
    pub person: String,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct PersonIs {
    pub person: String,
    /// Set when it moved: the object it went to.
    pub moved_to: Option<u16>,
    /// Whether its object knows it at all (retention prunes persons that
    /// never learned anything; a directory entry can outlive one whose
    /// identify never finished).
    #[serde(default = "known")]
    pub known: bool,
}

fn known() -> bool {
    true
}

/// A person's user id, if it has one.
#[derive(Debug, Serialize, Deserialize)]
pub struct UserOf {
    pub person: String,
}

/// The person behind a browser, if it has one (no key asked: only a
/// link the Worker verified reads it).
#[derive(Debug, Serialize, Deserialize)]
pub struct PersonOfBrowser {
    pub anonymous_id: String,
}

/// Binds a verified identifier (user id, email or phone hash) to `person`
/// in the directory, unless it is bound already: the first binding wins,
/// and the answer names the person it is bound to. `object`: where the
/// person lives when that is not the object its id names (an undo split it
/// out elsewhere), so a lookup by this name goes there.
#[derive(Debug, Serialize, Deserialize)]
pub struct Bind {
    pub kind: String,
    pub value: String,
    pub person: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<u16>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Bound {
    pub person: String,
}

/// Points a directory entry at the person it now belongs to.
#[derive(Debug, Serialize, Deserialize)]
pub struct Repoint {
    pub kind: String,
    pub value: String,
    pub from: String,
    pub into: String,
    /// Where `into` lives when its id names another object (an undo's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<u16>,
    /// The identifier is `into`'s by its object's own identifiers (a merge
    /// moved it, an undo gave it back): the entry is pointed at `into`
    /// whichever person it names, `from` or one merged into `from` in its
    /// object (a local merge repoints no entry). Otherwise only an entry
    /// naming `from` is.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub owned: bool,
}

/// At the object a person's id names: the person lives in `object` now,
/// as itself (a merge across objects moved it there, and an undo split it
/// out again), so lookups by its id are sent there.
#[derive(Debug, Serialize, Deserialize)]
pub struct Relocate {
    pub person: String,
    pub object: u16,
}

/// At a browser's own object (where its events arrive first): its person
/// lives in `object` now, after `merge` moved it. Its events are sent
/// straight there however many times its person moved (never a chain of
/// redirects through every object it passed).
#[derive(Debug, Serialize, Deserialize)]
pub struct RedirectBrowser {
    pub anonymous_id: String,
    pub object: u16,
    pub merge: String,
}

/// A merge across objects, as its coordinator logs it: the step reached.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SagaStep {
    pub merge: String,
    pub from: String,
    pub into: String,
    pub proof: String,
    pub step: u8,
    /// The coordinator: the directory object of the proving identifier.
    #[serde(skip)]
    pub object: u16,
}

/// The merges an object coordinates that are not done.
#[derive(Debug, Serialize, Deserialize)]
pub struct OpenSagas {
    #[serde(skip)]
    pub object: u16,
}

/// Freezes `person` for `merge` (its new events are held, not applied)
/// and gives back everything it has, to import at the winner's object.
#[derive(Debug, Serialize, Deserialize)]
pub struct ExportPerson {
    pub merge: String,
    pub person: String,
    /// The person it merges into (a merge the other way meets it here).
    pub into: String,
}

/// Ends a merge across objects before its import, as if it never began:
/// the person is unfrozen and keeps the events held meanwhile (a merge of
/// the same two persons the other way won).
#[derive(Debug, Serialize, Deserialize)]
pub struct Unfreeze {
    pub merge: String,
    pub person: String,
}

/// Everything one person has in its object: each table's rows.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct PersonExport {
    pub person: String,
    pub tables: Vec<(String, Vec<Row>)>,
}

impl PersonExport {
    /// The verified identifiers the directory keeps (user, email, phone).
    pub fn directory_entries(&self) -> Vec<(String, String)> {
        self.rows("identifiers")
            .filter_map(|row| {
                let kind = row.get("kind").and_then(Value::as_str)?;
                let value = row.get("value").and_then(Value::as_str)?;
                matches!(kind, "user" | "email" | "phone").then(|| (kind.into(), value.into()))
            })
            .collect()
    }

    /// The browsers (anonymous ids) that move with the person.
    pub fn browsers(&self) -> Vec<String> {
        self.rows("identifiers")
            .filter(|row| row.get("kind").and_then(Value::as_str) == Some("anon"))
            .filter_map(|row| row.get("value").and_then(Value::as_str).map(str::to_owned))
            .collect()
    }

    fn rows<'a>(&'a self, table: &'a str) -> impl Iterator<Item = &'a Row> + 'a {
        self.tables
            .iter()
            .filter(move |(name, _)| name == table)
            .flat_map(|(_, rows)| rows)
    }
}

/// At the winner's object: the merge whose import it took is finished (its
/// loser forgotten where it was, its held events stored); only then may
/// the admin undo it there.
#[derive(Debug, Serialize, Deserialize)]
pub struct MergeDone {
    pub merge: String,
    pub into: String,
}

/// Takes in an exported person and merges it into `into` (once per merge).
#[derive(Debug, Serialize, Deserialize)]
pub struct ImportPerson {
    pub merge: String,
    pub into: String,
    pub proof: String,
    pub export: PersonExport,
}

/// After the import: the person leaves its object, which remembers where
/// its browsers and the person went.
#[derive(Debug, Serialize, Deserialize)]
pub struct ForgetPerson {
    pub merge: String,
    pub person: String,
    pub into: String,
    pub into_object: u16,
}

/// The events held while `merge` moved `person` (bodies, in order).
#[derive(Debug, Serialize, Deserialize)]
pub struct TakeHeld {
    pub merge: String,
    pub person: String,
}

/// Drops the held events of `merge` once they are stored at the winner.
#[derive(Debug, Serialize, Deserialize)]
pub struct DropHeld {
    pub merge: String,
    pub person: String,
}

/// What a browser-placed command meets where the browser's person moved
/// away: the object it went to (the Worker asks there).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MovedBrowser {
    pub anonymous_id: String,
    pub object: u16,
    /// The batch's events to send there (its repeats of events stored
    /// before the move are not: they stay duplicates).
    #[serde(default)]
    pub ids: Vec<String>,
}

/// The events held while a person moved, and the proof each came with.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct HeldEvents {
    pub events: Vec<Value>,
    /// (event id, whether the browser's key proved it), for the proven.
    pub proofs: Vec<(String, bool)>,
}

/// The live config's version, as every object of a site keeps it for its
/// journeys (the home writes its own versions; the others adopt them).
#[derive(Debug, Serialize, Deserialize)]
pub struct AdoptConfig {
    pub version: i64,
    pub config: String,
}

/// At the home: the live config, if newer than version `after` (an object
/// that missed a publish's `AdoptConfig` pulls it).
#[derive(Debug, Serialize, Deserialize)]
pub struct LiveConfig {
    pub after: i64,
}

/// A suppressed address (hashed), as every object keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suppression {
    pub kind: String,
    pub hash: String,
    pub at: i64,
    pub source: String,
}

/// Suppressions one object made, copied to every object (`store::spread`).
#[derive(Debug, Serialize, Deserialize)]
pub struct Suppress {
    pub suppressions: Vec<Suppression>,
}

/// Uses a single-use token's nonce, site-wide: kept in the object its hash
/// maps to. The answer says whether it was fresh.
#[derive(Debug, Serialize, Deserialize)]
pub struct UseNonce {
    pub nonce: String,
}

/// At the home: the count of objects it was first served under (`store::fence`).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ShardCount {}
