//! Runs in `journey_runs`: one row per run, whose `next_due` is its timer
//! (indexed while pending, so the alarm finds the earliest in one lookup).

use nudge_core::journey::{ExitReason, Run, RunId};
use serde_json::Value;

use super::super::persons::Db;
use super::super::protocol::StoreResult;
use super::super::sql::{params, Row, SqlExt};

const COLUMNS: &str = "person, journey, number, step, entered_at, next_due, shape, exit, held_out";

pub fn run_of(row: &Row) -> Option<Run> {
    let int = |key: &str| row.get(key).and_then(Value::as_i64);
    Some(Run {
        id: RunId {
            person: row.get("person")?.as_str()?.to_owned(),
            journey: row.get("journey")?.as_str()?.to_owned(),
            number: u32::try_from(int("number")?).ok()?,
        },
        step: usize::try_from(int("step")?).ok()?,
        entered_at: int("entered_at")?,
        next_due: int("next_due"),
        // 53 bits (see `nudge_core::journey::Journey::shape`).
        shape: u64::try_from(int("shape")?).ok()?,
        exit: row
            .get("exit")
            .and_then(Value::as_str)
            .map(|name| ExitReason::parse(name).unwrap_or(ExitReason::Removed)),
        held_out: int("held_out").unwrap_or(0) != 0,
    })
}

impl Db<'_> {
    /// A person's active runs and the latest run of each journey (for run
    /// numbers and cooldowns): what the engine needs about their past.
    pub fn person_runs(&self, person: &str) -> StoreResult<Vec<Run>> {
        let rows = self.sql.query(
            &format!(
                "SELECT {COLUMNS} FROM journey_runs r WHERE person = ?1 AND (exit IS NULL
                   OR number = (SELECT max(number) FROM journey_runs l WHERE l.person = ?1 AND l.journey = r.journey)
                   OR entered_at = (SELECT max(entered_at) FROM journey_runs l WHERE l.person = ?1 AND l.journey = r.journey))"
            ),
            params![person],
        )?;
        Ok(rows.iter().filter_map(run_of).collect())
    }

    /// Stores a new run; false if one with its id was there already.
    /// Stores a new run; `compared`: its journey has a holdout, so its
    /// group is kept (`held_out` 0 or 1; null outside a comparison).
    pub fn insert_run(&self, run: &Run, compared: bool) -> StoreResult<bool> {
        let written = self.sql.execute(
            "INSERT OR IGNORE INTO journey_runs (person, journey, number, step, entered_at, next_due, shape, held_out)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            params![
                run.id.person.as_str(),
                run.id.journey.as_str(),
                i64::from(run.id.number),
                run.step as i64,
                run.entered_at,
                run.next_due,
                run.shape as i64,
                compared.then_some(i64::from(run.held_out))
            ],
        )?;
        Ok(written > 0)
    }

    /// Writes a run's position, timer and exit.
    pub fn save_run(&self, run: &Run) -> StoreResult<()> {
        self.sql.execute(
            "UPDATE journey_runs SET step = ?, next_due = ?, exit = ?,
               exited_at = CASE WHEN ? IS NULL THEN NULL ELSE coalesce(exited_at, ?) END
             WHERE person = ? AND journey = ? AND number = ?",
            params![
                run.step as i64,
                run.next_due,
                run.exit.map(ExitReason::as_str),
                run.exit.map(ExitReason::as_str),
                self.now,
                run.id.person.as_str(),
                run.id.journey.as_str(),
                i64::from(run.id.number)
            ],
        )?;
        Ok(())
    }

    /// Moves an active run to `step` (the event its `wait_for` waited for came).
    pub fn move_run(&self, id: &RunId, step: usize) -> StoreResult<()> {
        self.sql.execute(
            "UPDATE journey_runs SET step = ? WHERE person = ? AND journey = ? AND number = ? AND exit IS NULL",
            params![step as i64, id.person.as_str(), id.journey.as_str(), i64::from(id.number)],
        )?;
        Ok(())
    }

    pub fn set_timer(&self, id: &RunId, at: Option<i64>) -> StoreResult<()> {
        self.sql.execute(
            "UPDATE journey_runs SET next_due = ? WHERE person = ? AND journey = ? AND number = ? AND exit IS NULL",
            params![at, id.person.as_str(), id.journey.as_str(), i64::from(id.number)],
        )?;
        Ok(())
    }

    /// The earliest pending timer.
    pub fn next_timer(&self) -> StoreResult<Option<i64>> {
        self.sql.int(
            "SELECT min(next_due) FROM journey_runs WHERE next_due IS NOT NULL",
            &[],
        )
    }

    /// Runs due by now, earliest first.
    pub fn due_runs(&self, limit: i64) -> StoreResult<Vec<Run>> {
        let rows = self.sql.query(
            &format!(
                "SELECT {COLUMNS} FROM journey_runs WHERE next_due IS NOT NULL AND next_due <= ?
                 ORDER BY next_due LIMIT ?"
            ),
            params![self.now, limit],
        )?;
        let mut runs = Vec::new();
        for row in &rows {
            match run_of(row) {
                Some(run) => runs.push(run),
                // A row this code cannot read would stay the earliest timer
                // and wake the alarm forever: it ends instead.
                None => {
                    self.sql.execute(
                        "UPDATE journey_runs SET next_due = NULL, exit = 'invalid', exited_at = ?
                         WHERE person = ? AND journey = ? AND number = ?",
                        params![
                            self.now,
                            row.get("person").and_then(Value::as_str),
                            row.get("journey").and_then(Value::as_str),
                            row.get("number").and_then(Value::as_f64)
                        ],
                    )?;
                }
            }
        }
        Ok(runs)
    }

    /// A merge's rule for runs (docs/journeys.md): `from`'s runs move to
    /// `into`, numbered after `into`'s own; an active one whose journey
    /// `into` already runs ends instead (`merged`). Undoing the merge leaves
    /// them with `into`. Marketing sends move too, so caps count both.
    pub fn move_runs(&self, from: &str, into: &str) -> StoreResult<()> {
        let ending = self.sql.query(
            "SELECT journey FROM journey_runs WHERE person = ?1 AND exit IS NULL AND journey IN
               (SELECT journey FROM journey_runs WHERE person = ?2 AND exit IS NULL)",
            params![from, into],
        )?;
        self.sql.execute(
            "UPDATE journey_runs SET next_due = NULL, exit = 'merged', exited_at = ?1
             WHERE person = ?2 AND exit IS NULL AND journey IN
               (SELECT journey FROM journey_runs WHERE person = ?3 AND exit IS NULL)",
            params![self.now, from, into],
        )?;
        for journey in ending.iter().filter_map(|r| r["journey"].as_str()) {
            self.count(journey, "exited_merged")?;
        }
        // Renumbered journey by journey, after `into`'s latest run of each.
        let journeys = self.sql.query(
            "SELECT DISTINCT journey FROM journey_runs WHERE person = ?",
            params![from],
        )?;
        for journey in journeys.iter().filter_map(|r| r["journey"].as_str()) {
            let offset = self
                .sql
                .int(
                    "SELECT max(number) FROM journey_runs WHERE person = ? AND journey = ?",
                    params![into, journey],
                )?
                .unwrap_or(0);
            self.sql.execute(
                "UPDATE journey_runs SET person = ?, number = number + ? WHERE person = ? AND journey = ?",
                params![into, offset, from, journey],
            )?;
        }
        self.sql.execute(
            "UPDATE journey_sends SET person = ? WHERE person = ?",
            params![into, from],
        )?;
        // What journeys know about the two becomes one: the later activity
        // and cart, the earlier of two refusals (a "no" on either device
        // stands until the person says yes again).
        self.sql.execute(
            "INSERT INTO person_state (person, last_seen, consent_marketing, consent_analytics,
               last_order_at, cart, viewed)
             SELECT ?2, last_seen, consent_marketing, consent_analytics, last_order_at, cart, viewed
             FROM person_state WHERE person = ?1
             ON CONFLICT (person) DO UPDATE SET
               last_seen = max(last_seen, excluded.last_seen),
               consent_marketing = CASE WHEN consent_marketing = 0 OR excluded.consent_marketing = 0 THEN 0
                 ELSE coalesce(consent_marketing, excluded.consent_marketing) END,
               consent_analytics = CASE WHEN consent_analytics = 0 OR excluded.consent_analytics = 0 THEN 0
                 ELSE coalesce(consent_analytics, excluded.consent_analytics) END,
               last_order_at = CASE WHEN last_order_at IS NULL THEN excluded.last_order_at
                 ELSE max(last_order_at, coalesce(excluded.last_order_at, last_order_at)) END,
               cart = CASE WHEN excluded.last_seen > last_seen THEN excluded.cart ELSE cart END,
               viewed = CASE WHEN excluded.last_seen > last_seen THEN excluded.viewed ELSE viewed END",
            params![from, into],
        )?;
        for table in [
            "person_tags",
            "journey_stages",
            "person_dates",
            "category_views",
        ] {
            // Table names are ours. What `into` has already stays; the rest
            // moves; nothing is left behind for the sweeps to find.
            self.sql.execute(
                &format!("UPDATE OR IGNORE {table} SET person = ? WHERE person = ?"),
                params![into, from],
            )?;
        }
        for table in [
            "person_state",
            "person_tags",
            "journey_stages",
            "person_dates",
            "category_views",
        ] {
            self.sql.execute(
                &format!("DELETE FROM {table} WHERE person = ?"),
                params![from],
            )?;
        }
        Ok(())
    }
}
