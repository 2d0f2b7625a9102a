//! Retention: what the store keeps, and for how long. A Durable Object alarm
//! (`Site::alarm`) runs [`Db::prune`] daily, in bounded steps.
//!
//! Defaults (days), each overridable by a Worker variable `RETENTION_<NAME>_DAYS`:
//! events 90 (the R2 archive's parts, `store/archive.rs`; an event never
//! archived stays in the store as long), archived events' ids 30 (to refuse a
//! repeat: an agent resends what it never saw acknowledged when its visitor
//! comes back; beyond that, a resend counts again), inbound webhooks 30, used click-token nonces 45 (click tokens
//! live at most 30 days, so a used one can never come back after its nonce
//! is gone), claims 365, delivery records 30 (queues redeliver within hours),
//! dead letters 30, SMS counters 2. Persons that are only an anonymous browser
//! with nothing learned go with their events; persons with any fact,
//! identifiers, merges, coupons and the suppression list are kept: they are
//! the profile and its audit trail. Browser keys go with their persons (and
//! keys no person holds, once their events aged out); a person's campaign
//! history is bounded when written (`MAX_CAMPAIGNS_PER_PERSON`), and rows of
//! campaigns the live config no longer has are pruned.
//!
//! Campaign reports (`store/reports/`) are never pruned: their rollups are
//! small (a row per campaign, arm and day; outcomes per cohort day and lag)
//! and a year of them must stay readable after the events are gone.
//! `report_persons` (one row per exposed person and campaign, about 75
//! bytes with its index: BENCHMARKS.md §7) and `report_orders` (one per order and campaign the
//! buyer was exposed to in the 90 days before) grow with the audience; they
//! keep persons unique and merges exact for as long as a campaign runs.

use super::persons::Db;
use super::protocol::StoreResult;
use super::sql::{params, SqlExt};

const DAY_MS: i64 = 24 * 3600 * 1000;
/// Rows deleted per table per step: one step stays well under a request's CPU budget.
pub const STEP_ROWS: i64 = 2_000;
/// Ended journey runs and category views are kept this long: the longest
/// cooldown and derived-entry window (`nudge_core::journey::MAX_WAIT`).
pub const JOURNEY_HISTORY_DAYS: i64 = 400;

/// Days kept per kind of record.
#[derive(Debug, Clone, PartialEq)]
pub struct Retention {
    pub events: i64,
    /// Archived events' ids, kept to refuse a repeat (`store/archive.rs`):
    /// an agent resends what it never saw acknowledged when the visitor
    /// comes back, and the ingest queue retries for days.
    pub event_ids: i64,
    pub webhooks: i64,
    pub nonces: i64,
    pub claims: i64,
    pub deliveries: i64,
    pub dead_letters: i64,
    pub sms_counters: i64,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            events: 90,
            event_ids: 30,
            webhooks: 30,
            nonces: 45,
            claims: 365,
            deliveries: 30,
            dead_letters: 30,
            sms_counters: 2,
        }
    }
}

impl Retention {
    /// The defaults, with any `RETENTION_<NAME>_DAYS` override (1 day or more).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Self {
        let mut r = Retention::default();
        for (name, slot) in [
            ("EVENTS", &mut r.events),
            ("EVENT_IDS", &mut r.event_ids),
            ("WEBHOOKS", &mut r.webhooks),
            ("NONCES", &mut r.nonces),
            ("CLAIMS", &mut r.claims),
            ("DELIVERIES", &mut r.deliveries),
            ("DEAD_LETTERS", &mut r.dead_letters),
        ] {
            if let Some(days) = var(&format!("RETENTION_{name}_DAYS")).and_then(|d| d.parse().ok())
            {
                *slot = i64::max(days, 1);
            }
        }
        // A used click token must be remembered as long as one can live.
        r.nonces = r.nonces.max(31);
        r
    }
}

impl Db<'_> {
    /// Deletes one step of campaign history rows of campaigns the live config
    /// (the newest config version) no longer has; true if more are left. A
    /// store with no config version, or one it cannot read, keeps them all.
    fn prune_campaign_history(&self) -> StoreResult<bool> {
        let Some(text) = self.sql.text(
            "SELECT config FROM config_versions ORDER BY version DESC LIMIT 1",
            &[],
        )?
        else {
            return Ok(false);
        };
        let Ok(config) = serde_json::from_str::<serde_json::Value>(&text) else {
            return Ok(false);
        };
        let Some(campaigns) = config.get("campaigns").and_then(|c| c.as_array()) else {
            return Ok(false);
        };
        let ids: Vec<&str> = campaigns
            .iter()
            .filter_map(|c| c.get("id")?.as_str())
            .collect();
        // One parameter (a JSON list) however many campaigns: Durable
        // Objects bind at most 100 parameters per statement.
        let ids = serde_json::Value::from(ids).to_string();
        let deleted = self.sql.execute(
            "DELETE FROM campaigns WHERE rowid IN (SELECT rowid FROM campaigns
               WHERE campaign_id NOT IN (SELECT value FROM json_each(?)) LIMIT ?)",
            params![ids, STEP_ROWS],
        )?;
        Ok(deleted as i64 >= STEP_ROWS)
    }

    /// Deletes one step of expired records; true if more are left.
    pub fn prune(&self, retention: &Retention) -> StoreResult<bool> {
        let cutoff = |days: i64| self.now - days * DAY_MS;
        let tables: [(&str, &str, i64); 7] = [
            ("events", "received_at", cutoff(retention.events)),
            ("webhooks", "at", cutoff(retention.webhooks)),
            ("used_nonces", "at", cutoff(retention.nonces)),
            ("claims", "at", cutoff(retention.claims)),
            ("deliveries", "at", cutoff(retention.deliveries)),
            ("dead_letters", "at", cutoff(retention.dead_letters)),
            // What a pool's leases moved (`store/pools.rs`), once no lease
            // that old can be asked again.
            ("pool_leases", "at", cutoff(retention.deliveries)),
        ];
        let mut more = false;
        for (table, column, before) in tables {
            // Table and column names are ours; the limit bounds each step.
            let deleted = self.sql.execute(
                &format!(
                    "DELETE FROM {table} WHERE rowid IN (SELECT rowid FROM {table} WHERE {column} < ? LIMIT ?)"
                ),
                params![before, STEP_ROWS],
            )?;
            more |= deleted as i64 >= STEP_ROWS;
        }
        // The ids of events stored away from their browser's home (a
        // table without rowids): as long as any event's id is kept.
        more |= self.sql.execute(
            "DELETE FROM foreign_events WHERE id IN (SELECT id FROM foreign_events WHERE at < ? LIMIT ?)",
            params![cutoff(retention.events.max(retention.event_ids)), STEP_ROWS],
        )? as i64
            >= STEP_ROWS;
        // Archived events (`store/archive.rs`): their ids, kept for
        // de-duplication, go after `retention.event_ids`; their bodies are in R2
        // parts, which the alarm deletes after `retention.events`. Events
        // never archived (no bucket bound) go after `retention.events`, above.
        if let Some(mark) = self.archive_mark()? {
            more |= self.sql.execute(
                "DELETE FROM events WHERE rowid IN (SELECT rowid FROM events
                   WHERE received_at < ? AND (received_at, id) <= (?, ?) LIMIT ?)",
                params![
                    cutoff(retention.event_ids),
                    mark.at,
                    mark.id.as_str(),
                    STEP_ROWS
                ],
            )? as i64
                >= STEP_ROWS;
        }
        // Journeys: category views past the longest window; sends queued
        // longer ago than delivery records are kept (caps look back a week);
        // ended runs older than the longest cooldown.
        let journey_tables: [(&str, i64); 3] = [
            ("DELETE FROM category_views WHERE rowid IN (SELECT rowid FROM category_views WHERE at < ? LIMIT ?)",
             cutoff(JOURNEY_HISTORY_DAYS)),
            ("DELETE FROM journey_sends WHERE key IN (SELECT key FROM journey_sends WHERE queued_at IS NOT NULL AND at < ? LIMIT ?)",
             cutoff(retention.deliveries.max(8))),
            ("DELETE FROM journey_runs WHERE (person, journey, number) IN (SELECT person, journey, number FROM journey_runs
               WHERE exit IS NOT NULL AND exited_at < ? LIMIT ?)",
             cutoff(JOURNEY_HISTORY_DAYS)),
        ];
        for (statement, before) in journey_tables {
            more |= self.sql.execute(statement, params![before, STEP_ROWS])? as i64 >= STEP_ROWS;
        }
        self.sql.execute(
            "DELETE FROM sms_sends WHERE day < ?",
            params![self.now / DAY_MS - retention.sms_counters],
        )?;
        // Its trouble (a config it cannot read) never stops the other pruning.
        match self.prune_campaign_history() {
            Ok(left) => more |= left,
            Err(e) => super::log_error("retention: campaign history", &e),
        }
        // Keyless persons are budgeted per hour: older hours are done.
        self.sql.execute(
            "DELETE FROM keyless_persons WHERE hour < ?",
            params![self.now.div_euclid(3_600_000) - 1],
        )?;
        // Keys of browsers no person holds any more (dropped past a person's
        // anonymous ids, or pruned below) once their events have aged out.
        more |= self.sql.execute(
            "DELETE FROM browser_keys WHERE anonymous_id IN (SELECT k.anonymous_id FROM browser_keys k
               WHERE k.at < ? AND NOT EXISTS
                 (SELECT 1 FROM identifiers i WHERE i.kind = 'anon' AND i.value = k.anonymous_id)
               LIMIT ?)",
            params![cutoff(retention.events), STEP_ROWS],
        )? as i64
            >= STEP_ROWS;
        // Persons that are only an anonymous browser, with nothing learned
        // about them, once their events have aged out: without this, every
        // new anonymous id would be kept forever. Anyone with a fact, a
        // verified identifier, a contact, a campaign history or a merge on
        // record is kept. Their browser keys go with them: a key opens
        // nothing once its person is gone, and a returning browser presents
        // it again with its next events.
        let empty = self.sql.query(
            "SELECT id FROM persons p WHERE created_at < ?1
               AND orders = 0 AND user_id IS NULL AND merged_into IS NULL AND unsubscribed = 0
               AND NOT EXISTS (SELECT 1 FROM identifiers i WHERE i.person_id = p.id AND i.kind != 'anon')
               AND NOT EXISTS (SELECT 1 FROM coupons c WHERE c.person_id = p.id)
               AND NOT EXISTS (SELECT 1 FROM campaigns c WHERE c.person_id = p.id)
               AND NOT EXISTS (SELECT 1 FROM contacts c WHERE c.person_id = p.id)
               AND NOT EXISTS (SELECT 1 FROM merges m WHERE m.from_person = p.id OR m.into_person = p.id)
               AND NOT EXISTS (SELECT 1 FROM journey_runs r WHERE r.person = p.id)
               AND NOT EXISTS (SELECT 1 FROM person_dates d WHERE d.person = p.id)
             LIMIT ?2",
            params![cutoff(retention.events), STEP_ROWS],
        )?;
        for person in empty.iter().filter_map(|r| r.get("id")?.as_str()) {
            self.sql.execute(
                "DELETE FROM browser_keys WHERE anonymous_id IN
                   (SELECT value FROM identifiers WHERE person_id = ? AND kind = 'anon')",
                params![person],
            )?;
            self.sql.execute(
                "DELETE FROM identifiers WHERE person_id = ?",
                params![person],
            )?;
            self.sql
                .execute("DELETE FROM persons WHERE id = ?", params![person])?;
            // An entry naming it here (an identify bound it and never
            // finished); one in another object is bound again by the next
            // identify that meets it (`store::saga`).
            self.sql
                .execute("DELETE FROM directory WHERE person = ?", params![person])?;
            for table in [
                "person_state",
                "person_tags",
                "journey_stages",
                "category_views",
            ] {
                // Table names are ours.
                self.sql.execute(
                    &format!("DELETE FROM {table} WHERE person = ?"),
                    params![person],
                )?;
            }
        }
        Ok(more || empty.len() as i64 >= STEP_ROWS)
    }
}
