//! The site store's schema, as numbered migrations. The one-row table
//! `schema_version` holds how many have run; each runs once, in order, when
//! the object starts. (SQLite's own `PRAGMA user_version` would be the usual
//! place, but Durable Objects refuse it: `SQLITE_AUTH`, measured on workerd.)
//! Migration 1 is the schema from before versioning (`IF NOT EXISTS`, so
//! existing stores pass through it unchanged). Never edit a released
//! migration: add the next one.

use super::protocol::StoreResult;
use super::sql::{params, Sql, SqlExt};

const MIGRATIONS: &[&[&str]] = &[
    // 1: persons, identity, facts, events, forwarding bookkeeping.
    &[
        "CREATE TABLE IF NOT EXISTS persons (id TEXT PRIMARY KEY, user_id TEXT UNIQUE, created_at INTEGER NOT NULL,
            orders INTEGER NOT NULL DEFAULT 0, total_spent REAL NOT NULL DEFAULT 0, unsubscribed INTEGER NOT NULL DEFAULT 0,
            merged_into TEXT)",
        "CREATE TABLE IF NOT EXISTS identifiers (kind TEXT NOT NULL, value TEXT NOT NULL, person_id TEXT NOT NULL,
            verified INTEGER NOT NULL, added_at INTEGER NOT NULL, PRIMARY KEY (kind, value))",
        "CREATE INDEX IF NOT EXISTS identifiers_by_person ON identifiers (person_id, kind, added_at)",
        "CREATE TABLE IF NOT EXISTS merges (seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL,
            from_person TEXT NOT NULL, into_person TEXT NOT NULL, proof TEXT NOT NULL, moved TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS coupons (person_id TEXT NOT NULL, code TEXT NOT NULL, issued_at INTEGER NOT NULL,
            expires_at INTEGER, redeemed INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (person_id, code))",
        "CREATE TABLE IF NOT EXISTS campaigns (person_id TEXT NOT NULL, campaign_id TEXT NOT NULL,
            impressions TEXT NOT NULL DEFAULT '[]', total INTEGER NOT NULL DEFAULT 0, dismissed_at INTEGER,
            converted_at INTEGER, PRIMARY KEY (person_id, campaign_id))",
        "CREATE TABLE IF NOT EXISTS claims (anonymous_id TEXT NOT NULL, kind TEXT NOT NULL, value TEXT NOT NULL,
            at INTEGER NOT NULL, PRIMARY KEY (anonymous_id, kind, value))",
        "CREATE TABLE IF NOT EXISTS events (id TEXT PRIMARY KEY, received_at INTEGER NOT NULL, body TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS deliveries (destination TEXT NOT NULL, event_id TEXT NOT NULL, at INTEGER NOT NULL,
            PRIMARY KEY (destination, event_id))",
        "CREATE TABLE IF NOT EXISTS dead_letters (seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL,
            reason TEXT NOT NULL, message TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS contacts (person_id TEXT PRIMARY KEY, email TEXT, phone TEXT, at INTEGER NOT NULL)",
        "CREATE TABLE IF NOT EXISTS merge_undos (seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, reason TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS used_nonces (nonce TEXT PRIMARY KEY, at INTEGER NOT NULL)",
        "CREATE TABLE IF NOT EXISTS webhooks (id TEXT PRIMARY KEY, channel TEXT NOT NULL, at INTEGER NOT NULL, body TEXT NOT NULL)",
    ],
    // 2: hardening. Where contact details came from; the suppression list
    // (keyed by address hash, so it survives merges and their undo); which
    // browsers got their key; SMS sent per number and day (caps); indexes
    // the retention sweep walks.
    &[
        "ALTER TABLE contacts ADD COLUMN email_verified INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE contacts ADD COLUMN phone_verified INTEGER NOT NULL DEFAULT 0",
        "CREATE TABLE suppressions (kind TEXT NOT NULL, hash TEXT NOT NULL, at INTEGER NOT NULL, source TEXT NOT NULL,
            PRIMARY KEY (kind, hash))",
        "CREATE TABLE browser_keys (anonymous_id TEXT PRIMARY KEY, key_hash TEXT NOT NULL, at INTEGER NOT NULL)",
        "CREATE TABLE sms_sends (phone_hash TEXT NOT NULL, day INTEGER NOT NULL, count INTEGER NOT NULL,
            PRIMARY KEY (phone_hash, day))",
        "CREATE INDEX events_by_time ON events (received_at)",
        "CREATE INDEX deliveries_by_time ON deliveries (at)",
        "CREATE INDEX webhooks_by_time ON webhooks (at)",
        "CREATE INDEX nonces_by_time ON used_nonces (at)",
        "CREATE INDEX claims_by_time ON claims (at)",
        "CREATE INDEX dead_letters_by_time ON dead_letters (at)",
    ],
    // 3: the studio. Every live config as an immutable version; one draft
    // per campaign whose revision only grows (`store::versions`).
    &[
        "CREATE TABLE config_versions (version INTEGER PRIMARY KEY, at INTEGER NOT NULL, by TEXT NOT NULL,
            action TEXT NOT NULL, campaign TEXT, note TEXT NOT NULL DEFAULT '', config TEXT NOT NULL)",
        "CREATE TABLE drafts (campaign TEXT PRIMARY KEY, revision INTEGER NOT NULL, body TEXT,
            base_version INTEGER NOT NULL, by TEXT NOT NULL, at INTEGER NOT NULL)",
    ],
    // 4: campaign reports (`store/reports/`), rolled up with each event and
    // never pruned. `report_persons`: one row per exposed person and
    // campaign (the first exposure, whether they saw more than one arm, their
    // first goal event). `report_days`: counters per campaign, UTC day and
    // arm. `report_outcomes`: conversions and revenue per first-exposure day,
    // arm and whole days since that exposure (0-89), so the conversion
    // window is chosen when reading. `report_orders`: the orders counted as
    // revenue, so a merge can move them to the merged person's exposure.
    &[
        "CREATE TABLE report_persons (campaign TEXT NOT NULL, person TEXT NOT NULL, variant TEXT NOT NULL,
            first_at INTEGER NOT NULL, first_day INTEGER NOT NULL, several_arms INTEGER NOT NULL DEFAULT 0,
            converted_at INTEGER, PRIMARY KEY (campaign, person)) WITHOUT ROWID",
        "CREATE INDEX report_persons_by_person ON report_persons (person)",
        "CREATE TABLE report_days (campaign TEXT NOT NULL, day INTEGER NOT NULL, variant TEXT NOT NULL,
            control INTEGER NOT NULL DEFAULT 0, impressions INTEGER NOT NULL DEFAULT 0,
            persons INTEGER NOT NULL DEFAULT 0, several_arms INTEGER NOT NULL DEFAULT 0,
            clicks INTEGER NOT NULL DEFAULT 0, submits INTEGER NOT NULL DEFAULT 0,
            dismissals INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (campaign, day, variant)) WITHOUT ROWID",
        "CREATE INDEX report_days_by_day ON report_days (day)",
        "CREATE TABLE report_outcomes (campaign TEXT NOT NULL, first_day INTEGER NOT NULL, variant TEXT NOT NULL,
            lag_days INTEGER NOT NULL, conversions INTEGER NOT NULL DEFAULT 0, revenue REAL NOT NULL DEFAULT 0,
            PRIMARY KEY (campaign, first_day, variant, lag_days)) WITHOUT ROWID",
        "CREATE INDEX report_outcomes_by_day ON report_outcomes (first_day)",
        "CREATE TABLE report_orders (campaign TEXT NOT NULL, person TEXT NOT NULL, event_id TEXT NOT NULL,
            at INTEGER NOT NULL, revenue REAL NOT NULL, PRIMARY KEY (campaign, person, event_id)) WITHOUT ROWID",
    ],
    // 5: journeys (`store/journeys/`). `journey_runs`: one row per run, its
    // position and its timer (`next_due`, indexed while pending: the alarm
    // reads the earliest). `journey_sends`: the outbox, keyed by the step's
    // idempotency key, queued for forwarding after the step commits.
    // `journey_stats`: counters per journey. `person_state`: what journeys
    // read about a person beyond `persons` (last seen, consent, cart, viewed
    // products). `person_tags`, `journey_stages`: facts journeys set for the
    // agent. `person_dates`: month and day of date traits (a birthday).
    // `category_views`: for category-views entries. `coupon_pools`: codes
    // uploaded by the site, handed out one per person by `set` steps.
    // `store_clock`: when the alarm's daily chores are next due.
    &[
        "CREATE TABLE journey_runs (person TEXT NOT NULL, journey TEXT NOT NULL, number INTEGER NOT NULL,
            step INTEGER NOT NULL, entered_at INTEGER NOT NULL, next_due INTEGER, shape INTEGER NOT NULL,
            exit TEXT, exited_at INTEGER, last_sent_at INTEGER, converted INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (person, journey, number)) WITHOUT ROWID",
        "CREATE INDEX journey_timers ON journey_runs (next_due) WHERE next_due IS NOT NULL",
        "CREATE INDEX journey_runs_by_journey ON journey_runs (journey, exit)",
        "CREATE TABLE journey_sends (key TEXT PRIMARY KEY, person TEXT NOT NULL, journey TEXT NOT NULL,
            at INTEGER NOT NULL, destination TEXT NOT NULL, purpose TEXT NOT NULL, event TEXT NOT NULL,
            queued_at INTEGER)",
        "CREATE INDEX journey_sends_unqueued ON journey_sends (at) WHERE queued_at IS NULL",
        "CREATE INDEX journey_sends_by_person ON journey_sends (person, at)",
        "CREATE TABLE journey_stats (journey TEXT NOT NULL, counter TEXT NOT NULL, n INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (journey, counter)) WITHOUT ROWID",
        "CREATE TABLE person_state (person TEXT PRIMARY KEY, last_seen INTEGER NOT NULL, consent_marketing INTEGER,
            consent_analytics INTEGER, last_order_at INTEGER, cart TEXT, viewed TEXT) WITHOUT ROWID",
        "CREATE INDEX person_state_by_last_seen ON person_state (last_seen)",
        "CREATE TABLE person_tags (person TEXT NOT NULL, tag TEXT NOT NULL, at INTEGER NOT NULL,
            PRIMARY KEY (person, tag)) WITHOUT ROWID",
        "CREATE TABLE journey_stages (person TEXT NOT NULL, journey TEXT NOT NULL, stage TEXT NOT NULL,
            at INTEGER NOT NULL, PRIMARY KEY (person, journey)) WITHOUT ROWID",
        "CREATE TABLE person_dates (person TEXT NOT NULL, name TEXT NOT NULL, month_day TEXT NOT NULL,
            PRIMARY KEY (person, name)) WITHOUT ROWID",
        "CREATE INDEX person_dates_by_day ON person_dates (name, month_day)",
        "CREATE TABLE category_views (person TEXT NOT NULL, category TEXT NOT NULL, at INTEGER NOT NULL)",
        "CREATE INDEX category_views_by_person ON category_views (person, category, at)",
        "CREATE INDEX category_views_by_time ON category_views (at)",
        "CREATE TABLE coupon_pools (pool TEXT NOT NULL, code TEXT NOT NULL, added_at INTEGER NOT NULL,
            person TEXT, taken_at INTEGER, PRIMARY KEY (pool, code)) WITHOUT ROWID",
        "CREATE INDEX coupon_pools_free ON coupon_pools (pool, added_at) WHERE person IS NULL",
        "CREATE INDEX coupon_pools_by_person ON coupon_pools (person, pool) WHERE person IS NOT NULL",
        "CREATE TABLE store_clock (name TEXT PRIMARY KEY, at INTEGER NOT NULL, cursor TEXT) WITHOUT ROWID",
    ],
    // 6: persons made for anonymous ids that never presented a browser key,
    // counted per client (and per site, client '') and hour, so such ids
    // cannot create persons without bound (`store/events.rs`).
    &[
        "CREATE TABLE keyless_persons (client TEXT NOT NULL, hour INTEGER NOT NULL, n INTEGER NOT NULL,
            PRIMARY KEY (client, hour)) WITHOUT ROWID",
    ],
    // 7: keys that can be rotated one site at a time (`store::keys`).
    // `key_generations`: one row per key ever rotated (none: generation 0),
    // its current generation and the previous one with the end of its window.
    // `revoked_sessions`: studio sessions signed out, until they would have
    // expired by themselves.
    &[
        "CREATE TABLE key_generations (purpose TEXT PRIMARY KEY, generation INTEGER NOT NULL, previous INTEGER,
            previous_until INTEGER, rotated_at INTEGER NOT NULL) WITHOUT ROWID",
        "CREATE TABLE revoked_sessions (id TEXT PRIMARY KEY, until INTEGER NOT NULL) WITHOUT ROWID",
    ],
    // 8: per-step journey counters (reached, sent, skipped by reason,
    // delayed), under the journey's shape: an edit that changes it starts
    // its steps' counts afresh.
    &[
        "CREATE TABLE journey_step_stats (journey TEXT NOT NULL, shape INTEGER NOT NULL, step INTEGER NOT NULL,
            counter TEXT NOT NULL, n INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (journey, shape, step, counter)) WITHOUT ROWID",
    ],
    // 9: journey holdouts and what each run earned, and the per-step
    // report's covering index. `held_out`: 1 when the run is in its
    // journey's holdout (sent and given nothing), 0 in the group sent the
    // journey, null when the journey had no holdout as the run entered.
    // `order_converted`, `revenue`: the run's first order within the
    // attribution window after its entry, and that order's revenue, counted
    // the same for both groups so the report can compare them.
    &[
        "ALTER TABLE journey_runs ADD COLUMN held_out INTEGER",
        "ALTER TABLE journey_runs ADD COLUMN order_converted INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE journey_runs ADD COLUMN revenue REAL NOT NULL DEFAULT 0",
        // The per-step report and "runs in flight" read only these columns:
        // a covering index answers them without visiting the table (at 1M
        // runs the report took 0.66 s through the old (journey, exit) one).
        "DROP INDEX journey_runs_by_journey",
        "CREATE INDEX journey_runs_by_journey ON journey_runs (journey, exit, shape, step)",
    ],
    // 10: an SMS claimed before sending whose outcome was never recorded
    // (`claimed` 1 until the consumer's `Outcomes` confirm it): met again,
    // it is filed as "outcome unknown" instead of passing as done.
    &["ALTER TABLE deliveries ADD COLUMN claimed INTEGER NOT NULL DEFAULT 0"],
    // 11: the event log's bodies leave for R2 (`store/archive.rs`): events
    // are read in `(received_at, id)` order from the archive mark, and the
    // parts put are indexed here.
    &[
        "DROP INDEX events_by_time",
        "CREATE INDEX events_by_time ON events (received_at, id)",
        "CREATE TABLE event_parts (key TEXT PRIMARY KEY, first_at INTEGER NOT NULL, first_id TEXT NOT NULL,
            last_at INTEGER NOT NULL, count INTEGER NOT NULL, at INTEGER NOT NULL) WITHOUT ROWID",
        "CREATE INDEX event_parts_by_time ON event_parts (last_at)",
        "CREATE INDEX event_parts_by_first ON event_parts (first_at, first_id)",
    ],
    // 12: one site over several objects (`store/shards.rs`, `store/saga.rs`):
    // the identity directory's entries kept in the object an identifier
    // hashes to, and what a merge across objects leaves behind: browsers and
    // persons that moved (and where), a person frozen while it moves with
    // the events that arrived meanwhile, merges imported, and the log of
    // merges across objects their directory object coordinates.
    &[
        "CREATE TABLE directory (kind TEXT NOT NULL, value TEXT NOT NULL, person TEXT NOT NULL,
            at INTEGER NOT NULL, PRIMARY KEY (kind, value)) WITHOUT ROWID",
        "CREATE INDEX directory_by_person ON directory (person)",
        "CREATE TABLE moved_browsers (anonymous_id TEXT PRIMARY KEY, object INTEGER NOT NULL,
            merge TEXT NOT NULL, at INTEGER NOT NULL) WITHOUT ROWID",
        "CREATE TABLE moved_persons (person TEXT PRIMARY KEY, into_person TEXT NOT NULL,
            object INTEGER NOT NULL, merge TEXT NOT NULL, at INTEGER NOT NULL) WITHOUT ROWID",
        "CREATE TABLE frozen_persons (person TEXT PRIMARY KEY, merge TEXT NOT NULL, into_person TEXT NOT NULL,
            at INTEGER NOT NULL) WITHOUT ROWID",
        "CREATE TABLE held_events (id TEXT PRIMARY KEY, merge TEXT NOT NULL, received_at INTEGER NOT NULL,
            body TEXT NOT NULL, proof INTEGER) WITHOUT ROWID",
        "CREATE TABLE imported_merges (merge TEXT PRIMARY KEY, into_person TEXT NOT NULL, at INTEGER NOT NULL) WITHOUT ROWID",
        // Suppressions made here, waiting to be copied to the site's other
        // objects (`store::spread`): every object keeps the whole list.
        "CREATE TABLE suppression_outbox (kind TEXT NOT NULL, hash TEXT NOT NULL, at INTEGER NOT NULL,
            source TEXT NOT NULL, PRIMARY KEY (kind, hash)) WITHOUT ROWID",
        "CREATE TABLE sagas (merge TEXT PRIMARY KEY, from_person TEXT NOT NULL, into_person TEXT NOT NULL,
            proof TEXT NOT NULL, step INTEGER NOT NULL, at INTEGER NOT NULL) WITHOUT ROWID",
    ],
    // 13: coupon pools over several objects (`store/pools.rs`). At a pool's
    // home, the codes each lease moved out (`pool_leases`, pruned with the
    // deliveries); elsewhere, the pools wanted (`since` names the lease,
    // `empty_at` a home's "none left") and the runs waiting for them. And a
    // directory entry's person living in an object its id does not name
    // (an undo split it out where a merge had moved it: `store::saga`).
    &[
        "ALTER TABLE directory ADD COLUMN object INTEGER",
        "CREATE TABLE pool_leases (pool TEXT NOT NULL, object INTEGER NOT NULL, lease INTEGER NOT NULL,
            code TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (pool, object, lease, code))",
        "CREATE INDEX pool_leases_by_time ON pool_leases (at)",
        "CREATE TABLE pool_wants (pool TEXT PRIMARY KEY, since INTEGER NOT NULL, empty_at INTEGER) WITHOUT ROWID",
        "CREATE TABLE pool_waits (pool TEXT NOT NULL, person TEXT NOT NULL, journey TEXT NOT NULL,
            number INTEGER NOT NULL, PRIMARY KEY (pool, person, journey, number)) WITHOUT ROWID",
    ],
    // 14: repair. Merges before this version wrote a campaign neither
    // dismissed nor converted by either person as both, at time 0
    // (`max(coalesce(x, 0), ...)`), which stopped it for the merged person.
    // No browser records an act at 0 (1970-01-01T00:00:00Z), so a 0 is
    // that bug's.
    &[
        "UPDATE campaigns SET dismissed_at = NULL WHERE dismissed_at = 0",
        "UPDATE campaigns SET converted_at = NULL WHERE converted_at = 0",
    ],
    // 15: the ids of events stored here that their browser's object sent
    // on (their person had moved here): they go on with the browser
    // (`store::moves`), so a resend stays a repeat wherever its person is.
    &[
        "CREATE TABLE foreign_events (id TEXT PRIMARY KEY, anonymous_id TEXT NOT NULL, at INTEGER NOT NULL) WITHOUT ROWID",
        "CREATE INDEX foreign_events_by_browser ON foreign_events (anonymous_id)",
        "CREATE INDEX foreign_events_by_time ON foreign_events (at)",
    ],
    // 16: when a merge across objects this object imported was finished
    // (`MergeDone`): the admin may undo it only then. Imports from before
    // are taken as finished.
    &[
        "ALTER TABLE imported_merges ADD COLUMN done_at INTEGER",
        "UPDATE imported_merges SET done_at = at",
    ],
];

/// The schema version this code expects.
pub const VERSION: i64 = MIGRATIONS.len() as i64;

/// Runs the migrations not yet applied. Each migration and its version bump
/// run in the object's implicit transaction (no await in between).
pub fn migrate(sql: &dyn Sql) -> StoreResult<i64> {
    sql.execute(
        "CREATE TABLE IF NOT EXISTS schema_version (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL)",
        &[],
    )?;
    let current = version(sql)?;
    for (index, statements) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        for statement in *statements {
            sql.execute(statement, &[])?;
        }
        sql.execute(
            "INSERT INTO schema_version (id, version) VALUES (1, ?1) ON CONFLICT (id) DO UPDATE SET version = ?1",
            params![index as i64 + 1],
        )?;
    }
    Ok(VERSION)
}

/// How many migrations this store has run.
pub fn version(sql: &dyn Sql) -> StoreResult<i64> {
    Ok(sql
        .int("SELECT version FROM schema_version WHERE id = 1", &[])?
        .unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sql::TestSql;

    #[test]
    fn migrations_run_once_and_in_order() {
        let sql = TestSql::new();
        assert_eq!(migrate(&sql).unwrap(), VERSION);
        assert_eq!(version(&sql).unwrap(), VERSION);
        // A second start finds nothing to do (ALTER TABLE would fail if rerun).
        assert_eq!(migrate(&sql).unwrap(), VERSION);
    }

    #[test]
    fn a_store_from_before_versioning_is_upgraded() {
        let sql = TestSql::new();
        for statement in MIGRATIONS[0] {
            sql.execute(statement, &[]).unwrap();
        }
        sql.execute(
            "INSERT INTO contacts (person_id, email, phone, at) VALUES ('p', 'a@b.co', NULL, 1)",
            &[],
        )
        .unwrap();
        migrate(&sql).unwrap();
        let rows = sql
            .query("SELECT email, phone_verified FROM contacts", &[])
            .unwrap();
        assert_eq!(rows[0]["email"], "a@b.co");
        assert_eq!(rows[0]["phone_verified"], 0);
    }

    #[test]
    fn the_merge_bugs_zero_timestamps_are_repaired_and_real_ones_kept() {
        let sql = TestSql::new();
        for statements in &MIGRATIONS[..13] {
            for statement in *statements {
                sql.execute(statement, &[]).unwrap();
            }
        }
        sql.execute(
            "CREATE TABLE schema_version (id INTEGER PRIMARY KEY, version INTEGER NOT NULL)",
            &[],
        )
        .unwrap();
        sql.execute("INSERT INTO schema_version VALUES (1, 13)", &[])
            .unwrap();
        sql.execute(
            "INSERT INTO campaigns (person_id, campaign_id, dismissed_at, converted_at)
             VALUES ('merged', 'c', 0, 0), ('dismissed', 'c', 1700000000000, 0), ('converted', 'c', NULL, 5)",
            &[],
        )
        .unwrap();
        migrate(&sql).unwrap();
        let rows = sql
            .query(
                "SELECT person_id, dismissed_at, converted_at FROM campaigns ORDER BY person_id",
                &[],
            )
            .unwrap();
        let read = |row: &crate::store::sql::Row| {
            (row["dismissed_at"].as_i64(), row["converted_at"].as_i64())
        };
        assert_eq!(read(&rows[0]), (None, Some(5)), "{:?}", rows[0]);
        assert_eq!(
            read(&rows[1]),
            (Some(1_700_000_000_000), None),
            "{:?}",
            rows[1]
        );
        assert_eq!(read(&rows[2]), (None, None), "{:?}", rows[2]);
    }
}
