//! What the admin endpoints read about journeys: stats per journey, one
//! person's runs, timers and sends, and the dry run.

use nudge_core::journey::{Effect, Entry, Journey, Journeys, Purpose, Step};
use nudge_core::time::DAY as DAY_MS;
use serde_json::{json, Value};

use super::super::persons::Db;
use super::super::protocol::{StoreError, StoreResult};
use super::super::sql::{params, SqlExt};
use super::CONVERSION_WINDOW_MS;
use crate::store::protocol::JourneyList;
use crate::store::protocol::PersonJourneys;

pub(super) fn iso(at: i64) -> String {
    nudge_core::time::to_iso8601(at)
}

fn entry_json(entry: &Entry) -> Value {
    match entry {
        Entry::Event { name, .. } => json!({"event": name}),
        Entry::CategoryViews { min, within } => {
            json!({"category_views": {"min": min, "within_hours": within / 3_600_000}})
        }
        Entry::InactiveDays { days } => json!({"inactive_days": days}),
        Entry::DateTrait { name } => json!({"date_trait": name}),
        _ => Value::Null,
    }
}

fn duration_words(ms: i64) -> String {
    let units = [
        (86_400_000, "day"),
        (3_600_000, "hour"),
        (60_000, "minute"),
        (1_000, "second"),
    ];
    let (size, unit) = units
        .iter()
        .find(|(size, _)| ms % size == 0)
        .copied()
        .unwrap_or((1_000, "second"));
    let n = ms / size;
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// The steps in words, for people who never read the JSON (the studio's
/// journeys screen): one line per step, branches indented.
pub fn step_words(steps: &[Step], depth: usize, out: &mut Vec<String>) {
    let pad = "  ".repeat(depth);
    for step in steps {
        match step {
            Step::Wait { duration } => out.push(format!("{pad}Wait {}", duration_words(*duration))),
            Step::WaitUntil { time } => out.push(format!(
                "{pad}Wait until {:02}:{:02}",
                time.minute / 60,
                time.minute % 60
            )),
            Step::Branch {
                then, otherwise, ..
            } => {
                out.push(format!("{pad}If the condition holds:"));
                step_words(then, depth + 1, out);
                if !otherwise.is_empty() {
                    out.push(format!("{pad}Otherwise:"));
                    step_words(otherwise, depth + 1, out);
                }
            }
            Step::WaitFor {
                event,
                within,
                then,
                otherwise,
            } => {
                out.push(format!(
                    "{pad}Wait up to {} for \"{event}\"; when it comes:",
                    duration_words(*within)
                ));
                step_words(then, depth + 1, out);
                if !otherwise.is_empty() {
                    out.push(format!("{pad}If it does not come in time:"));
                    step_words(otherwise, depth + 1, out);
                }
            }
            Step::Send {
                destination,
                event,
                purpose,
            } => out.push(format!(
                "{pad}Send \"{event}\" to {destination}{}",
                if *purpose == Purpose::Transactional {
                    " (transactional)"
                } else {
                    ""
                }
            )),
            Step::Set {
                tag,
                stage,
                coupon_pool,
            } => {
                let mut parts = Vec::new();
                if let Some(pool) = coupon_pool {
                    parts.push(format!("give a coupon from pool {pool}"));
                }
                if let Some(tag) = tag {
                    parts.push(format!("tag {tag}"));
                }
                if let Some(stage) = stage {
                    parts.push(format!("stage {stage}"));
                }
                let text = parts.join(", ");
                let mut chars = text.chars();
                let text = chars.next().map_or(String::new(), |c| {
                    c.to_uppercase().collect::<String>() + chars.as_str()
                });
                out.push(format!("{pad}{text}"));
            }
            Step::End => out.push(format!("{pad}End")),
            _ => out.push(format!("{pad}(a step this version cannot describe)")),
        }
    }
}

impl Db<'_> {
    /// Per step of `journey` as it is shaped now: how many runs reached it,
    /// were sent or skipped there (by reason), are waiting in it now, and
    /// left the journey there (by reason; `completed` runs left after the
    /// last step).
    fn step_report(&self, journey: &Journey) -> StoreResult<Vec<Value>> {
        let steps = journey.reported_steps();
        let shape = journey.shape as i64;
        let mut rows: Vec<serde_json::Map<String, Value>> = steps
            .iter()
            .map(|s| {
                let mut row = serde_json::Map::new();
                row.insert("step".into(), json!(s.step));
                row.insert("path".into(), json!(s.path));
                row.insert("kind".into(), json!(s.kind));
                row.insert("waiting".into(), json!(0));
                row
            })
            .collect();
        let index_of = |step: i64| steps.iter().position(|s| s.step as i64 == step);
        // A run's stored position is the op it goes on at: one past a wait
        // it waits in, or a send quiet hours put off.
        let waiting_in = |position: i64| {
            index_of(position - 1)
                .filter(|&i| matches!(steps[i].kind, "wait" | "wait_until" | "wait_for"))
                .or_else(|| index_of(position))
        };
        for row in self.sql.query(
            "SELECT step, counter, n FROM journey_step_stats WHERE journey = ? AND shape = ?",
            params![journey.id.as_str(), shape],
        )? {
            let (Some(step), Some(counter)) = (row["step"].as_i64(), row["counter"].as_str())
            else {
                continue;
            };
            if let Some(i) = index_of(step) {
                rows[i].insert(counter.to_owned(), row["n"].clone());
            }
        }
        for row in self.sql.query(
            "SELECT step, exit, count(*) AS n FROM journey_runs WHERE journey = ? AND shape = ?
             AND (exit IS NULL OR exit != 'completed') GROUP BY step, exit",
            params![journey.id.as_str(), shape],
        )? {
            let Some(i) = row["step"].as_i64().and_then(waiting_in) else {
                continue;
            };
            let n = row["n"].as_i64().unwrap_or(0);
            let key = match row["exit"].as_str() {
                None => "waiting".to_owned(),
                Some(reason) => format!("exited_{reason}"),
            };
            let before = rows[i].get(&key).and_then(Value::as_i64).unwrap_or(0);
            rows[i].insert(key, json!(before + n));
        }
        Ok(rows.into_iter().map(Value::Object).collect())
    }
}

/// One engine effect as the dry run and logs show it.
pub fn effect_json(effect: &Effect) -> Value {
    match effect {
        Effect::Enter(run) => json!({"kind": "enter", "run": run.id.number}),
        Effect::Schedule { at, .. } => json!({"kind": "wait", "until": iso(*at)}),
        Effect::CancelTimer { .. } => json!({"kind": "cancel_timer"}),
        Effect::Send {
            destination,
            event,
            purpose,
            idempotency_key,
            ..
        } => json!({
            "kind": "send", "destination": destination, "event": event,
            "purpose": format!("{purpose:?}").to_lowercase(), "idempotency_key": idempotency_key}),
        Effect::Suppressed { step, reason, .. } => json!({"kind": "suppressed", "step": step,
            "reason": format!("{reason:?}").to_lowercase()}),
        Effect::Delayed { step, until, .. } => {
            json!({"kind": "delayed_quiet_hours", "step": step, "until": iso(*until)})
        }
        Effect::SetFact {
            tag,
            stage,
            coupon_pool,
            ..
        } => json!({"kind": "set", "tag": tag,
            "stage": stage, "coupon_pool": coupon_pool}),
        Effect::Exit { reason, .. } => json!({"kind": "exit", "reason": reason.as_str()}),
        Effect::Resume { step, .. } => json!({"kind": "event_came", "step": step}),
        _ => json!({"kind": "other"}),
    }
}

impl Db<'_> {
    /// Every journey of the live config with its counters.
    pub fn journey_list(&self, journeys: &Journeys) -> StoreResult<JourneyList> {
        let mut list = Vec::new();
        for journey in &journeys.journeys {
            let mut stats = serde_json::Map::new();
            for row in self.sql.query(
                "SELECT counter, n FROM journey_stats WHERE journey = ? ORDER BY counter",
                params![journey.id.as_str()],
            )? {
                if let Some(counter) = row["counter"].as_str() {
                    stats.insert(counter.to_owned(), row["n"].clone());
                }
            }
            let in_progress = self.sql.int(
                "SELECT count(*) FROM journey_runs WHERE journey = ? AND exit IS NULL",
                params![journey.id.as_str()],
            )?;
            stats.insert("in_progress".into(), json!(in_progress.unwrap_or(0)));
            let mut steps = Vec::new();
            step_words(&journey.steps, 0, &mut steps);
            list.push(json!({
                "id": journey.id, "name": journey.name, "enabled": journey.enabled,
                "entry": entry_json(&journey.entry), "goals": journey.goals, "steps": steps,
                "stats": stats, "step_report": self.step_report(journey)?,
                "holdout": holdout_arms(journey, &stats),
            }));
        }
        let pending = self.sql.int(
            "SELECT count(*) FROM journey_runs WHERE next_due IS NOT NULL",
            &[],
        )?;
        let unqueued = self.sql.int(
            "SELECT count(*) FROM journey_sends WHERE queued_at IS NULL",
            &[],
        )?;
        let next = self.next_timer()?.map(iso);
        let version = self
            .sql
            .int("SELECT max(version) FROM config_versions", &[])?;
        Ok(JourneyList(
            json!({"journeys": list, "pending_timers": pending, "next_timer": next,
                  "sends_waiting_for_queue": unqueued, "live_version": version,
                  "drafts": self.journey_drafts()?}),
        ))
    }

    /// The studio's open journey drafts (`store::versions` keeps them as
    /// `journey:<id>`): id, name, revision, who saved it and when.
    fn journey_drafts(&self) -> StoreResult<Vec<Value>> {
        let rows = self.sql.query(
            "SELECT campaign, revision, by, at, body FROM drafts
             WHERE body IS NOT NULL AND campaign LIKE 'journey:%' ORDER BY campaign",
            &[],
        )?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let key = row["campaign"].as_str().unwrap_or_default();
                let body: Value = row["body"]
                    .as_str()
                    .and_then(|text| serde_json::from_str(text).ok())
                    .unwrap_or(Value::Null);
                json!({
                    "id": key.trim_start_matches("journey:"), "name": body["name"],
                    "entry": body["entry"], "revision": row["revision"], "by": row["by"],
                    "at": row["at"].as_i64().map(iso),
                })
            })
            .collect())
    }

    /// The person behind what the admin knows of them: a person id, a user
    /// id, an anonymous id, or an email address or phone number they were
    /// seen with (looked up by its hash, as the store keeps them).
    pub fn find_person(&self, id: &str) -> StoreResult<Option<String>> {
        let address = crate::store::persons::named_address(id).unwrap_or_default();
        if let Some((kind, hash)) = address.first() {
            return match self.person_of(kind, hash)? {
                Some(person) => Ok(Some(self.current_person(&person)?)),
                None => self.elsewhere_by(kind, hash),
            };
        }
        if self
            .sql
            .exists("SELECT 1 FROM persons WHERE id = ?", params![id])?
        {
            return Ok(Some(id.to_owned()));
        }
        if let Some(p) = self
            .sql
            .text("SELECT id FROM persons WHERE user_id = ?", params![id])?
        {
            return Ok(Some(p));
        }
        if let Some(p) = self.person_of("anon", id)? {
            return Ok(Some(p));
        }
        // With a site over several objects: a person that moved, or one
        // the directory here places in another object (`store::route`
        // asks there).
        if let Some(object) = self.moved_browser(id)? {
            return Err(StoreError::Moved { object });
        }
        let moved = self.where_is(&crate::store::protocol::WhereIs { person: id.into() })?;
        match moved.moved_to {
            // Split out again by an undo, where it had moved.
            Some(object) if moved.person == id => return Err(StoreError::Moved { object }),
            Some(_) => {
                return Err(StoreError::PersonElsewhere {
                    person: moved.person,
                })
            }
            None => {}
        }
        self.elsewhere_by("user", id)
    }

    /// `None`, or the person the directory here binds an identifier to
    /// when it is not in this object.
    fn elsewhere_by(&self, kind: &str, value: &str) -> StoreResult<Option<String>> {
        match self.directory_person_elsewhere(kind, value)? {
            Some(elsewhere) => Err(elsewhere),
            None => Ok(None),
        }
    }

    /// A person's runs (newest first), pending timers and recent sends.
    pub fn person_journeys(&self, id: &str) -> StoreResult<PersonJourneys> {
        let Some(person) = self.find_person(id)? else {
            return Err(StoreError::NotFound(format!(
                "no person is known by {id:?}"
            )));
        };
        let runs: Vec<Value> = self
            .sql
            .query(
                "SELECT journey, number, step, entered_at, next_due, exit, exited_at, last_sent_at, converted
                 FROM journey_runs WHERE person = ? ORDER BY entered_at DESC LIMIT 100",
                params![person.as_str()],
            )?
            .iter()
            .map(|r| {
                let at = |k: &str| r.get(k).and_then(Value::as_i64).map(iso);
                json!({"journey": r["journey"], "run": r["number"], "step": r["step"],
                       "entered_at": at("entered_at"), "next_due": at("next_due"),
                       "exit": r["exit"], "exited_at": at("exited_at"),
                       "last_sent_at": at("last_sent_at"), "converted": r["converted"] == 1})
            })
            .collect();
        let sends: Vec<Value> = self
            .sql
            .query(
                "SELECT key, journey, at, destination, purpose, event, queued_at FROM journey_sends
                 WHERE person = ? ORDER BY at DESC LIMIT 50",
                params![person.as_str()],
            )?
            .iter()
            .map(|r| {
                let event: Value = r["event"].as_str().and_then(|e| serde_json::from_str(e).ok()).unwrap_or_default();
                json!({"idempotency_key": r["key"], "journey": r["journey"], "at": r["at"].as_i64().map(iso),
                       "destination": r["destination"], "purpose": r["purpose"], "event": event["event"],
                       "queued": !r["queued_at"].is_null()})
            })
            .collect();
        let timers: Vec<&Value> = runs.iter().filter(|r| !r["next_due"].is_null()).collect();
        Ok(PersonJourneys(
            json!({"person": person, "runs": runs, "pending_timers": timers.len(), "sends": sends}),
        ))
    }
}

/// A journey's runs in its two groups, `sent` (the journey as built) and
/// `held_out` (sent nothing): runs, runs with an order within the
/// attribution window after entry, and that revenue, from the counters the
/// store keeps as runs enter and orders come. `null` for a journey without a
/// holdout. The route adds core's comparison.
fn holdout_arms(journey: &Journey, stats: &serde_json::Map<String, Value>) -> Value {
    holdout_of(journey.holdout, stats)
}

/// As `holdout_arms`, from the holdout's percent: also what the counters
/// of a site's objects, summed, compare (`store::placement`).
pub fn holdout_of(percent: u32, stats: &serde_json::Map<String, Value>) -> Value {
    if percent == 0 {
        return Value::Null;
    }
    let n = |key: &str| stats.get(key).and_then(Value::as_i64).unwrap_or(0);
    let arm = |key: &str, weight: u32, runs: i64| {
        let revenue = n(&format!("revenue_cents_{key}")) as f64 / 100.0;
        json!({"key": key, "weight": weight, "runs": runs, "conversions": n(&format!("orders_{key}")),
               "revenue": revenue,
               "revenue_per_run": if runs > 0 { Value::from(revenue / runs as f64) } else { Value::Null }})
    };
    json!({"percent": percent, "window_days": CONVERSION_WINDOW_MS / DAY_MS, "arms": [
        arm("sent", 100 - percent, n("entered_sent")),
        arm("held_out", percent, n("entered_held_out")),
    ]})
}
