//! One object's part in a site's identity over several objects
//! (`store::saga`): the directory's entries that hash here, a browser's
//! person for an identify, site-wide nonces, and the live config adopted
//! from the home (pushed on publish, pulled where a push was missed). Each
//! is one idempotent command.

use serde_json::Value;

use super::persons::Db;
use super::protocol::*;
use super::sql::{params, SqlExt};

impl Db<'_> {
    /// The person behind a browser and its user id, if it has a person here.
    pub fn person_of_browser(&self, anonymous_id: &str) -> StoreResult<Option<BrowserPersonIs>> {
        self.browser_is_here(anonymous_id)?;
        let Some(person) = self.person_of("anon", anonymous_id)? else {
            return Ok(None);
        };
        let user_id = self.user_id_of(&person)?;
        Ok(Some(BrowserPersonIs { person, user_id }))
    }

    /// The person behind a browser that proved itself, made if new.
    pub fn browser_person(&self, ask: &BrowserPerson) -> StoreResult<BrowserPersonIs> {
        // Where it moved first: its key lives there now.
        self.browser_is_here(&ask.anonymous_id)?;
        let key = ask
            .browser_key
            .as_ref()
            .filter(|k| k.anonymous_id == ask.anonymous_id)
            .ok_or_else(|| StoreError::BrowserKey("identify needs this browser's key".into()))?;
        if !self.key_would_match(key)? {
            return Err(StoreError::BrowserKey(
                "that is not this browser's key".into(),
            ));
        }
        let person = self.person_for_browser(&ask.anonymous_id)?;
        let user_id = self.user_id_of(&person)?;
        Ok(BrowserPersonIs { person, user_id })
    }

    /// Where to ask for the person the directory here binds an identifier
    /// to, when that person is not in this object (with one object, never):
    /// the object its id names (`PersonElsewhere`), or the one an undo left
    /// it in (`Moved`).
    pub fn directory_person_elsewhere(
        &self,
        kind: &str,
        value: &str,
    ) -> StoreResult<Option<StoreError>> {
        let rows = self.sql.query(
            "SELECT person, object FROM directory WHERE kind = ? AND value = ?",
            params![kind, value],
        )?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let person = super::moves::text(row, "person");
        if self.sql.exists(
            "SELECT 1 FROM persons WHERE id = ?",
            params![person.as_str()],
        )? {
            return Ok(None);
        }
        // Where the person lives when its id does not say (an undo's).
        Ok(Some(match row.get("object").and_then(Value::as_i64) {
            Some(object) => StoreError::Moved {
                object: u16::try_from(object).unwrap_or_default(),
            },
            None => StoreError::PersonElsewhere { person },
        }))
    }

    /// The directory: `value` of `kind` for `person`, unless bound already.
    pub fn bind(&self, ask: &Bind) -> StoreResult<Bound> {
        self.sql.execute(
            "INSERT OR IGNORE INTO directory (kind, value, person, at, object) VALUES (?, ?, ?, ?, ?)",
            params![
                ask.kind.as_str(),
                ask.value.as_str(),
                ask.person.as_str(),
                self.now,
                ask.object.map(i64::from)
            ],
        )?;
        let person = self
            .sql
            .text(
                "SELECT person FROM directory WHERE kind = ? AND value = ?",
                params![ask.kind.as_str(), ask.value.as_str()],
            )?
            .ok_or_else(|| StoreError::Internal("a directory entry vanished".into()))?;
        Ok(Bound { person })
    }

    pub fn repoint(&self, ask: &Repoint) -> StoreResult<()> {
        self.sql.execute(
            "INSERT INTO directory (kind, value, person, at, object) VALUES (?1, ?2, ?4, ?5, ?6)
             ON CONFLICT (kind, value) DO UPDATE SET person = ?4, at = ?5, object = ?6 WHERE person = ?3 OR ?7",
            params![
                ask.kind.as_str(),
                ask.value.as_str(),
                ask.from.as_str(),
                ask.into.as_str(),
                self.now,
                ask.object.map(i64::from),
                i64::from(ask.owned)
            ],
        )?;
        Ok(())
    }

    /// A person whose id names this object lives in `object` as itself.
    pub fn relocate(&self, ask: &Relocate) -> StoreResult<()> {
        self.sql.execute(
            "INSERT INTO moved_persons (person, into_person, object, merge, at) VALUES (?1, ?1, ?2, 'undo', ?3)
             ON CONFLICT (person) DO UPDATE SET into_person = ?1, object = ?2, at = ?3",
            params![ask.person.as_str(), i64::from(ask.object), self.now],
        )?;
        Ok(())
    }

    /// Where a person whose id names this object lives as itself, if an
    /// undo split it out in another object.
    pub fn relocated(&self, person: &str) -> StoreResult<Option<u16>> {
        let object = self.sql.int(
            "SELECT object FROM moved_persons WHERE person = ?1 AND into_person = ?1",
            params![person],
        )?;
        Ok(object.and_then(|o| u16::try_from(o).ok()))
    }

    /// Records a single-use nonce; whether it was fresh.
    pub fn use_nonce(&self, nonce: &str) -> StoreResult<bool> {
        let fresh = self.sql.execute(
            "INSERT OR IGNORE INTO used_nonces (nonce, at) VALUES (?, ?)",
            params![nonce, self.now],
        )?;
        Ok(fresh > 0)
    }

    /// Keeps a version of the live config the home published, for this
    /// object's journeys (the home has it already: nothing changes there).
    pub fn adopt_config(&self, ask: &AdoptConfig) -> StoreResult<()> {
        self.sql.execute(
            "INSERT OR IGNORE INTO config_versions (version, at, by, action, campaign, note, config)
             VALUES (?, ?, 'site', 'adopted', NULL, '', ?)",
            params![ask.version, self.now, ask.config.as_str()],
        )?;
        Ok(())
    }

    /// The newest config version kept here (0: none).
    pub fn config_version(&self) -> StoreResult<i64> {
        Ok(self
            .sql
            .int("SELECT max(version) FROM config_versions", &[])?
            .unwrap_or(0))
    }

    /// At the home: its newest config version, if newer than `after`.
    pub fn live_config_after(&self, after: i64) -> StoreResult<Option<AdoptConfig>> {
        let rows = self.sql.query(
            "SELECT version, config FROM config_versions WHERE version > ? ORDER BY version DESC LIMIT 1",
            params![after],
        )?;
        Ok(rows.first().map(|r| AdoptConfig {
            version: r.get("version").and_then(Value::as_i64).unwrap_or(0),
            config: super::moves::text(r, "config"),
        }))
    }

    /// Where a person went, if a merge across objects moved it.
    pub fn where_is(&self, ask: &WhereIs) -> StoreResult<PersonIs> {
        // A person merged into another here (a local merge, which repoints
        // no directory entry): the person it became.
        let current = self.current_person(&ask.person)?;
        // A person here is here, whatever this object once recorded of it
        // living elsewhere (it came back since).
        if self.sql.exists(
            "SELECT 1 FROM persons WHERE id = ?",
            params![current.as_str()],
        )? {
            return Ok(PersonIs {
                person: current,
                moved_to: None,
                known: true,
            });
        }
        let row = self.sql.query(
            "SELECT into_person, object FROM moved_persons WHERE person = ?",
            params![current.as_str()],
        )?;
        Ok(match row.first() {
            Some(r) => PersonIs {
                person: super::moves::text(r, "into_person"),
                moved_to: r.get("object").and_then(Value::as_i64).map(|o| o as u16),
                known: true,
            },
            None => PersonIs {
                person: current,
                moved_to: None,
                known: false,
            },
        })
    }
}

/// Pulls the live config from the home into object `here` if the home has a
/// newer version than `db` (a publish's `AdoptConfig` that did not reach
/// it); whether it did. Nothing at the home itself.
pub async fn pull_live_config(
    objects: &impl super::Objects,
    here: u16,
    db: &Db<'_>,
) -> StoreResult<bool> {
    if here == objects.map().home() {
        return Ok(false);
    }
    let after = db.config_version()?;
    match super::route(objects, &LiveConfig { after }).await? {
        Some(newer) => db.adopt_config(&newer).map(|_| true),
        None => Ok(false),
    }
}
