//! The site's key generations and its revoked studio sessions.
//!
//! The keys themselves are never stored: each is derived from the master
//! key and its generation (`keys`). This is the strongly consistent place
//! that says which generation is current, and until when the one before it
//! is still accepted, so one site rotates alone and every isolate agrees.

use super::persons::Db;
use super::protocol::{KeyState, StoreError, StoreResult};
use super::sql::{params, SqlExt};
use crate::keys::{Generation, Generations, KeyKind};

impl Db<'_> {
    /// The site's generations, and whether studio session `session` was revoked.
    pub fn key_state(&self, session: Option<&str>) -> StoreResult<KeyState> {
        let revoked = match session {
            Some(id) => self
                .sql
                .exists("SELECT 1 FROM revoked_sessions WHERE id = ?1", params![id])?,
            None => false,
        };
        Ok(KeyState {
            generations: self.generations()?,
            session_revoked: revoked,
        })
    }

    pub fn generations(&self) -> StoreResult<Generations> {
        let mut generations = Generations::default();
        for row in self.sql.query(
            "SELECT purpose, generation, previous, previous_until, rotated_at FROM key_generations",
            &[],
        )? {
            let Some(kind) = row["purpose"].as_str().and_then(KeyKind::parse) else {
                continue;
            };
            let number = |name: &str| row[name].as_i64();
            *generations.of_mut(kind) = Generation {
                current: number("generation")
                    .unwrap_or(0)
                    .clamp(0, i64::from(u32::MAX)) as u32,
                previous: number("previous").map(|g| g.clamp(0, i64::from(u32::MAX)) as u32),
                previous_until: number("previous_until"),
                rotated_at: number("rotated_at"),
            };
        }
        Ok(generations)
    }

    /// Makes `kind`'s next generation current; the one it replaces stays
    /// accepted for `window_ms` (0: it stops now). A generation replaced
    /// earlier, still in its window, stops now: two rotations in a row
    /// leave only the last key and the one before it.
    pub fn rotate_key(&self, kind: KeyKind, window_ms: i64) -> StoreResult<Generation> {
        if window_ms < 0 {
            return Err(StoreError::Invalid(
                "a rollover window cannot be negative".into(),
            ));
        }
        let old = *self.generations()?.of(kind);
        let next = Generation {
            current: old
                .current
                .checked_add(1)
                .ok_or_else(|| StoreError::Limit("this key has no generations left".into()))?,
            previous: (window_ms > 0).then_some(old.current),
            previous_until: (window_ms > 0).then_some(self.now + window_ms),
            rotated_at: Some(self.now),
        };
        self.sql.execute(
            "INSERT INTO key_generations (purpose, generation, previous, previous_until, rotated_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (purpose) DO UPDATE SET generation = ?2, previous = ?3, previous_until = ?4, rotated_at = ?5",
            params![
                kind.name(),
                i64::from(next.current),
                next.previous.map(i64::from),
                next.previous_until,
                next.rotated_at
            ],
        )?;
        Ok(next)
    }

    /// Ends studio session `id` now (sign-out): kept until the session would
    /// have expired by itself (`until`, ms), then forgotten.
    pub fn revoke_session(&self, id: &str, until: i64) -> StoreResult<bool> {
        // Sessions past their own expiry are refused anyway: the list stays
        // as short as the sessions of the last 12 hours.
        self.sql.execute(
            "DELETE FROM revoked_sessions WHERE until < ?1",
            params![self.now],
        )?;
        self.sql.execute(
            "INSERT INTO revoked_sessions (id, until) VALUES (?1, ?2) ON CONFLICT (id) DO NOTHING",
            params![id, until],
        )?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::schema;
    use crate::store::sql::TestSql;

    #[test]
    fn a_rotation_moves_one_key_and_keeps_the_previous_for_its_window() {
        let sql = TestSql::new();
        schema::migrate(&sql).unwrap();
        let db = |now| Db { sql: &sql, now };
        assert_eq!(db(0).generations().unwrap(), Generations::default());
        let signing = db(1000).rotate_key(KeyKind::Signing, 500).unwrap();
        assert_eq!(
            signing,
            Generation {
                current: 1,
                previous: Some(0),
                previous_until: Some(1500),
                rotated_at: Some(1000),
            }
        );
        let generations = db(1200).generations().unwrap();
        assert_eq!(generations.signing, signing);
        assert_eq!(generations.signing.previous_at(1499), Some(0));
        assert_eq!(generations.signing.previous_at(1500), None);
        // Nothing else moved.
        assert_eq!(generations.webhook, Generation::default());
        assert_eq!(generations.editor, Generation::default());
        // A second rotation keeps only the one just replaced; 0 = at once.
        let again = db(1300).rotate_key(KeyKind::Signing, 0).unwrap();
        assert_eq!((again.current, again.previous), (2, None));
        assert_eq!(db(1300).generations().unwrap().signing, again);
        let editor = db(1400).rotate_key(KeyKind::Editor, 0).unwrap();
        assert_eq!(editor.current, 1);
        assert!(db(0).rotate_key(KeyKind::Admin, -1).is_err());
    }

    #[test]
    fn a_revoked_session_is_known_until_it_would_have_expired() {
        let sql = TestSql::new();
        schema::migrate(&sql).unwrap();
        let db = |now| Db { sql: &sql, now };
        assert!(!db(0).key_state(Some("s1")).unwrap().session_revoked);
        db(0).revoke_session("s1", 100).unwrap();
        db(0).revoke_session("s1", 100).unwrap();
        assert!(db(50).key_state(Some("s1")).unwrap().session_revoked);
        assert!(!db(50).key_state(Some("s2")).unwrap().session_revoked);
        assert!(!db(50).key_state(None).unwrap().session_revoked);
        // Past its expiry the cookie is refused anyway: the row goes.
        db(200).revoke_session("s2", 300).unwrap();
        assert!(!db(200).key_state(Some("s1")).unwrap().session_revoked);
    }
}
