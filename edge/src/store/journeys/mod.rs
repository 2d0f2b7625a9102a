//! Journeys at the edge: core's state machine (`nudge_core::journey`) run on
//! the site's store.
//!
//! - An event stored by `append` (or an inbound webhook) goes to
//!   [`Db::journeys_on_event`] in the same transaction: it updates what
//!   journeys know about the person (`person`), enters journeys, ends runs
//!   whose goal it is, feeds derived entries (`derived`) and counts conversions.
//! - Each run's timer is its `next_due` (`runs`). The site's one Durable
//!   Object alarm is armed to the earliest timer (or the daily chores, if
//!   sooner); [`Db::fire_due_runs`] plays due runs up to their next wait.
//! - A send step writes the message to the outbox (`journey_sends`, keyed by
//!   the step's idempotency key, person/journey/run/step) in the step's
//!   transaction; the alarm then puts it on the forwarding queue (`outbox`).
//!   Alarms are at least once, so a step may be played twice only if its
//!   transaction never committed; a message may be queued twice only if the
//!   object stopped between queueing and marking it; the forwarding consumer
//!   drops repeats by key (deliveries), and claims SMS before sending.
//! - `facts`: tags, stages and coupons the agent shows on the next page.
//! - `reads`: stats per journey, a person's runs. `studio`: the dry run, and
//!   one step's message as it would leave (payload preview, test send).

pub mod derived;
pub mod facts;
pub mod outbox;
pub mod person;
pub mod reads;
pub mod runs;
pub mod studio;

use nudge_core::event::names;
use nudge_core::journey::{
    converted_goal, CapsState, Effect, ExitReason, Journeys, RunId, SuppressReason,
};
use nudge_core::time::DAY as DAY_MS;
use nudge_core::Attributes;
use serde_json::{json, Value};

use super::persons::Db;
use super::pools::PoolHomes;
use super::protocol::StoreResult;
use super::sql::{params, SqlExt};
use crate::wire::WireEvent;

/// Runs one alarm step plays at most; more are played by the next step, at
/// once. An alarm step holds its object (events wait), so it stays short: a
/// fire is about 22 SQL statements, 0.2 ms natively and about 1 ms on the
/// Durable Object (43 µs a statement, BENCHMARKS.md §5), so 50 fires are
/// about 50 ms there (a step of 200 held it 0.2 s).
pub const DUE_PER_STEP: i64 = 50;
/// A run whose step failed is tried again this much later.
pub const RETRY_FAILED_RUN_MS: i64 = 60_000;
/// An order within this long after a journey's send counts as its
/// conversion; within this long after a run's entry, as the run's (held out
/// or not) in the holdout comparison.
pub const CONVERSION_WINDOW_MS: i64 = 7 * DAY_MS;

impl Db<'_> {
    /// What one stored, proven event from `person` does to journeys.
    pub fn journeys_on_event(
        &self,
        journeys: &Journeys,
        person: &str,
        event: &Value,
    ) -> StoreResult<()> {
        self.note_event(person, event)?;
        let event_read = WireEvent(event);
        let Some(name) = event_read.name() else {
            return Ok(());
        };
        if name == names::ORDER_COMPLETED {
            self.count_conversions(person, event_read.order_revenue())?;
        }
        if journeys.journeys.is_empty() {
            return Ok(());
        }
        let mut signals = vec![name.to_owned()];
        if name == names::CAMPAIGN_CONVERTED {
            if let Some(campaign) = event["properties"]["campaign_id"].as_str() {
                signals.push(converted_goal(campaign));
            }
        }
        let relevant = |signal: &str| journeys.journeys.iter().any(|j| j.listens_to(signal));
        if signals.iter().any(|s| relevant(s)) {
            let who = self.journey_person(person)?;
            // What an event entry's property filter (`entry.where`) reads.
            let properties: Attributes =
                serde_json::from_value(event["properties"].clone()).unwrap_or_default();
            for signal in &signals {
                let runs = self.person_runs(person)?;
                let effects = journeys.on_event(&who, &runs, signal, &properties, self.now);
                self.apply(journeys, &effects)?;
            }
        }
        self.derived_on_event(journeys, person, name, event)
    }

    /// Plays runs due by now (at most `limit`); returns how many. One object.
    #[cfg(test)]
    pub fn fire_due_runs(&self, journeys: &Journeys, limit: i64) -> StoreResult<usize> {
        self.fire_due_runs_in(journeys, limit, PoolHomes::single())
    }

    /// As `fire_due_runs`, in one of a site's objects (`homes` says which
    /// coupon pools it leases codes of).
    pub fn fire_due_runs_in(
        &self,
        journeys: &Journeys,
        limit: i64,
        homes: PoolHomes,
    ) -> StoreResult<usize> {
        let due = self.due_runs(limit)?;
        for run in &due {
            // One run's trouble neither stops the others nor keeps its timer
            // at the front (which would wake the alarm at once, forever).
            if let Err(e) = self.fire_run(journeys, run, homes) {
                super::log_error(&format!("journey run {:?}", run.id), &e);
                self.set_timer(&run.id, Some(self.now + RETRY_FAILED_RUN_MS))?;
                self.count(&run.id.journey, "errors")?;
            }
        }
        Ok(due.len())
    }

    fn fire_run(
        &self,
        journeys: &Journeys,
        run: &nudge_core::journey::Run,
        homes: PoolHomes,
    ) -> StoreResult<()> {
        let mut person = self.journey_person(&run.id.person)?;
        if let Some(journey) = journeys.journey(&run.id.journey) {
            person.codes_elsewhere =
                self.codes_elsewhere(homes, journey.coupon_pools(), &run.id.person)?;
        }
        let mut caps = self.caps_state(&run.id.person)?;
        let (effects, next) = journeys.on_due(run, &person, &mut caps, self.now);
        self.apply(journeys, &effects)?;
        self.save_run(&next)
    }

    /// The person's marketing sends over the last week, for the caps.
    fn caps_state(&self, person: &str) -> StoreResult<CapsState> {
        let rows = self.sql.query(
            "SELECT at FROM journey_sends WHERE person = ? AND purpose = 'marketing' AND at > ? ORDER BY at",
            params![person, self.now - 7 * DAY_MS],
        )?;
        Ok(CapsState {
            sent: rows.iter().filter_map(|r| r["at"].as_i64()).collect(),
        })
    }

    /// Carries out the engine's effects (of `journeys`, for the per-step
    /// counters: they count under the journey's current shape).
    pub fn apply(&self, journeys: &Journeys, effects: &[Effect]) -> StoreResult<()> {
        let count_step = |run: &RunId, step: usize, counter: &str| -> StoreResult<()> {
            let Some(journey) = journeys.journey(&run.journey) else {
                return Ok(());
            };
            self.count_step(&run.journey, journey.shape, step, counter)
        };
        for effect in effects {
            match effect {
                Effect::Reached { run, step } => count_step(run, *step, "reached")?,
                Effect::Enter(run) => {
                    // In the holdout comparison only while the journey has a
                    // holdout: runs from before it started would skew it.
                    let compared = journeys
                        .journey(&run.id.journey)
                        .is_some_and(|j| j.holdout > 0);
                    let inserted = self.insert_run(run, compared)?;
                    if inserted {
                        self.count(&run.id.journey, "entered")?;
                        if compared {
                            let group = if run.held_out { "held_out" } else { "sent" };
                            self.count(&run.id.journey, &format!("entered_{group}"))?;
                        }
                    }
                }
                Effect::Schedule { run, at } => self.set_timer(run, Some(*at))?,
                Effect::CancelTimer { run } => self.set_timer(run, None)?,
                Effect::Exit { run, reason } => self.end_run(run, *reason)?,
                Effect::Resume { run, step } => {
                    self.move_run(run, *step)?;
                    self.count(&run.journey, "awaited_event_came")?;
                }
                Effect::Send {
                    run,
                    step,
                    destination,
                    event,
                    purpose,
                    idempotency_key,
                } => {
                    let purpose = match purpose {
                        nudge_core::journey::Purpose::Marketing => "marketing",
                        nudge_core::journey::Purpose::Transactional => "transactional",
                    };
                    self.queue_send(run, destination, event, purpose, idempotency_key)?;
                    count_step(run, *step, "sent")?;
                }
                Effect::Suppressed { run, reason, step } => {
                    let counter = match reason {
                        SuppressReason::Cap => "suppressed_cap",
                        SuppressReason::Consent => "suppressed_consent",
                        SuppressReason::Holdout => "suppressed_holdout",
                        _ => "suppressed_other",
                    };
                    self.count(&run.journey, counter)?;
                    count_step(run, *step, counter)?;
                }
                Effect::Delayed { run, step, .. } => {
                    self.count(&run.journey, "delayed_quiet_hours")?;
                    count_step(run, *step, "delayed_quiet_hours")?;
                }
                Effect::AwaitCode { run, pool, .. } => self.want_code(pool, run)?,
                Effect::SetFact {
                    person,
                    journey,
                    tag,
                    stage,
                    coupon_pool,
                } => {
                    let missed = self.set_facts(
                        person,
                        journey,
                        tag.as_deref(),
                        stage.as_deref(),
                        coupon_pool.as_deref(),
                    )?;
                    if let Some(miss) = missed {
                        self.count(journey, miss.counter())?;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn end_run(&self, run: &RunId, reason: ExitReason) -> StoreResult<()> {
        let ended = self.sql.execute(
            "UPDATE journey_runs SET next_due = NULL, exit = ?, exited_at = ?
             WHERE person = ? AND journey = ? AND number = ? AND exit IS NULL",
            params![
                reason.as_str(),
                self.now,
                run.person.as_str(),
                run.journey.as_str(),
                i64::from(run.number)
            ],
        )?;
        if ended > 0 {
            self.count(&run.journey, &format!("exited_{}", reason.as_str()))?;
        }
        Ok(())
    }

    /// The track event a journey's send delivers: `properties` (what it
    /// carries about the person, [`Db::send_properties`]) with the journey,
    /// run and step, the person's ids, and the journey in its context.
    pub fn send_event(
        &self,
        run: &RunId,
        name: &str,
        purpose: &str,
        key: &str,
        mut properties: Value,
    ) -> StoreResult<Value> {
        let step = key.rsplit('/').next().and_then(|s| s.parse::<i64>().ok());
        properties["journey"] = json!(run.journey);
        properties["run"] = json!(run.number);
        properties["step"] = json!(step);
        let anonymous_id = self.sql.text(
            "SELECT value FROM identifiers WHERE person_id = ? AND kind = 'anon' ORDER BY added_at DESC LIMIT 1",
            params![run.person.as_str()],
        )?;
        let user_id = self.user_id_of(&run.person)?;
        Ok(json!({
            "type": "track", "event": name, "messageId": key,
            "anonymousId": anonymous_id, "userId": user_id,
            "timestamp": nudge_core::time::to_iso8601(self.now),
            "properties": properties,
            "context": {"journey": {"id": run.journey, "run": run.number, "step": step, "purpose": purpose}},
        }))
    }

    /// Writes a send to the outbox, once per idempotency key.
    fn queue_send(
        &self,
        run: &RunId,
        destination: &str,
        name: &str,
        purpose: &str,
        key: &str,
    ) -> StoreResult<()> {
        let properties = self.send_properties(&run.person)?;
        let event = self.send_event(run, name, purpose, key, properties)?;
        let fresh = self.sql.execute(
            "INSERT OR IGNORE INTO journey_sends (key, person, journey, at, destination, purpose, event)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
            params![key, run.person.as_str(), run.journey.as_str(), self.now, destination, purpose, event.to_string()],
        )?;
        if fresh > 0 {
            self.count(&run.journey, "sent")?;
            self.sql.execute(
                "UPDATE journey_runs SET last_sent_at = ? WHERE person = ? AND journey = ? AND number = ?",
                params![self.now, run.person.as_str(), run.journey.as_str(), i64::from(run.number)],
            )?;
        }
        Ok(())
    }

    /// An order of `revenue`: each run that sent this person a message in
    /// the window before counts one conversion (once per run, with the
    /// order's revenue for its last send step); and each run in a holdout
    /// comparison that entered in the window before, held out or not, is
    /// credited its first order there.
    fn count_conversions(&self, person: &str, revenue: f64) -> StoreResult<()> {
        // The holdout comparison's counters, kept per group as orders come
        // (reading them never scans the runs): a run's first order within
        // the window after its entry, and that order's revenue in cents.
        // One order per run, so a visitor's forged orders weigh no more than
        // one real one; runs outside a comparison (`held_out` null) count
        // nowhere.
        let entered = self.sql.query(
            "SELECT journey, number, held_out FROM journey_runs
             WHERE person = ? AND entered_at >= ? AND order_converted = 0 AND held_out IS NOT NULL",
            params![person, self.now - CONVERSION_WINDOW_MS],
        )?;
        let cents = (revenue * 100.0).round() as i64;
        for run in &entered {
            let (Some(journey), Some(number)) = (run["journey"].as_str(), run["number"].as_i64())
            else {
                continue;
            };
            let group = if run["held_out"] == 1 {
                "held_out"
            } else {
                "sent"
            };
            self.count(journey, &format!("orders_{group}"))?;
            if cents > 0 {
                self.count_by(journey, &format!("revenue_cents_{group}"), cents)?;
            }
            self.sql.execute(
                "UPDATE journey_runs SET order_converted = 1, revenue = ?
                 WHERE person = ? AND journey = ? AND number = ?",
                params![revenue, person, journey, number],
            )?;
        }
        let runs = self.sql.query(
            "SELECT journey, number, shape FROM journey_runs WHERE person = ? AND converted = 0 AND last_sent_at >= ?",
            params![person, self.now - CONVERSION_WINDOW_MS],
        )?;
        for run in &runs {
            let (Some(journey), Some(number)) = (run["journey"].as_str(), run["number"].as_i64())
            else {
                continue;
            };
            self.sql.execute(
                "UPDATE journey_runs SET converted = 1 WHERE person = ? AND journey = ? AND number = ?",
                params![person, journey, number],
            )?;
            self.count(journey, "conversions")?;
            // Per step: the order counts for the run's last message before it
            // (the step in its idempotency key, person/journey/run/step).
            let last_send = self.sql.text(
                "SELECT key FROM journey_sends WHERE person = ? AND journey = ? AND key LIKE ? ORDER BY at DESC LIMIT 1",
                params![person, journey, format!("{person}/{journey}/{number}/%")],
            )?;
            let step = last_send.and_then(|key| key.rsplit('/').next()?.parse::<usize>().ok());
            if let (Some(step), Some(shape)) = (step, run["shape"].as_i64()) {
                let shape = shape as u64;
                self.count_step_by(journey, shape, step, "conversions", 1)?;
                if cents > 0 {
                    self.count_step_by(journey, shape, step, "revenue_cents", cents)?;
                }
            }
        }
        Ok(())
    }

    /// Counts `counter` for step `step` of `journey` as it is shaped now: an
    /// edit that changes the shape starts the steps' counts afresh (a
    /// position then names another step).
    fn count_step(&self, journey: &str, shape: u64, step: usize, counter: &str) -> StoreResult<()> {
        self.count_step_by(journey, shape, step, counter, 1)
    }

    fn count_step_by(
        &self,
        journey: &str,
        shape: u64,
        step: usize,
        counter: &str,
        n: i64,
    ) -> StoreResult<()> {
        self.sql.execute(
            "INSERT INTO journey_step_stats (journey, shape, step, counter, n) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (journey, shape, step, counter) DO UPDATE SET n = n + excluded.n",
            params![journey, shape as i64, step as i64, counter, n],
        )?;
        Ok(())
    }

    fn count(&self, journey: &str, counter: &str) -> StoreResult<()> {
        self.count_by(journey, counter, 1)
    }

    fn count_by(&self, journey: &str, counter: &str, n: i64) -> StoreResult<()> {
        self.sql.execute(
            "INSERT INTO journey_stats (journey, counter, n) VALUES (?, ?, ?)
             ON CONFLICT (journey, counter) DO UPDATE SET n = n + excluded.n",
            params![journey, counter, n],
        )?;
        Ok(())
    }

    /// A named time the alarm's chores keep (`store_clock`).
    pub fn clock(&self, name: &str) -> StoreResult<Option<(i64, Option<String>)>> {
        let rows = self.sql.query(
            "SELECT at, cursor FROM store_clock WHERE name = ?",
            params![name],
        )?;
        Ok(rows.first().and_then(|r| {
            Some((
                r.get("at")?.as_i64()?,
                r.get("cursor").and_then(Value::as_str).map(str::to_owned),
            ))
        }))
    }

    pub fn set_clock(&self, name: &str, at: i64, cursor: Option<&str>) -> StoreResult<()> {
        self.sql.execute(
            "INSERT INTO store_clock (name, at, cursor) VALUES (?, ?, ?)
             ON CONFLICT (name) DO UPDATE SET at = excluded.at, cursor = excluded.cursor",
            params![name, at, cursor],
        )?;
        Ok(())
    }
}
