//! Site-wide lists that every one of a site's objects keeps whole: the
//! suppression list. A delivery is checked in the object that stored its
//! event or send, against its own copy, so an unsubscribe made in one
//! object must reach them all: each object keeps an outbox of the
//! suppressions it made, and its alarm copies them to every object
//! (`Suppress`, idempotent) before emptying it. Until then (an alarm step,
//! about a second) only the object that made it knows; with one object
//! there is nothing to copy and the outbox is simply emptied.

use serde_json::Value;

use super::persons::Db;
use super::protocol::*;
use super::sql::params;
use super::{route, Objects};

/// Suppressions copied per alarm step.
pub const SUPPRESSIONS_PER_STEP: i64 = 500;

impl Db<'_> {
    /// The suppressions made here not yet copied to the other objects.
    pub fn suppression_outbox(&self, limit: i64) -> StoreResult<Vec<Suppression>> {
        let rows = self.sql.query(
            "SELECT kind, hash, at, source FROM suppression_outbox ORDER BY at, kind, hash LIMIT ?",
            params![limit],
        )?;
        Ok(rows
            .iter()
            .map(|r| Suppression {
                kind: super::moves::text(r, "kind"),
                hash: super::moves::text(r, "hash"),
                at: r.get("at").and_then(Value::as_i64).unwrap_or(0),
                source: super::moves::text(r, "source"),
            })
            .collect())
    }

    /// Empties the outbox of suppressions copied everywhere.
    pub fn copied(&self, copied: &[Suppression]) -> StoreResult<()> {
        for s in copied {
            self.sql.execute(
                "DELETE FROM suppression_outbox WHERE kind = ? AND hash = ?",
                params![s.kind.as_str(), s.hash.as_str()],
            )?;
        }
        Ok(())
    }

    /// Takes in another object's suppressions (never into the outbox: a
    /// copy is not copied on).
    pub fn take_suppressions(&self, ask: &Suppress) -> StoreResult<()> {
        for s in &ask.suppressions {
            self.sql.execute(
                "INSERT OR IGNORE INTO suppressions (kind, hash, at, source) VALUES (?, ?, ?, ?)",
                params![s.kind.as_str(), s.hash.as_str(), s.at, s.source.as_str()],
            )?;
        }
        Ok(())
    }
}

/// Copies a step of `outbox` to every object; the copied ones, for the
/// object to empty from its outbox.
pub async fn copy_suppressions(
    objects: &impl Objects,
    outbox: Vec<Suppression>,
) -> StoreResult<Vec<Suppression>> {
    if outbox.is_empty() || objects.map().objects() == 1 {
        return Ok(outbox);
    }
    let copy = Suppress {
        suppressions: outbox,
    };
    route(objects, &copy).await?;
    Ok(copy.suppressions)
}
