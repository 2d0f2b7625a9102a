//! Each site's store: one SQLite-backed Durable Object (`Site`) holding the
//! event log, the persons behind the events and the forwarding bookkeeping.
//!
//! - `protocol`: the typed commands and answers the Worker exchanges with it.
//! - `sql`: the SQL seam (the object's SQLite; rusqlite in native tests).
//! - `schema`: numbered migrations, tracked by `PRAGMA user_version`.
//! - `persons`, `identity`, `merges`: persons, contact details, suppression, links, the merge log and undo.
//! - `events`: the event log and the facts events carry; inbound webhooks.
//! - `deliveries`: what was forwarded, SMS claims and budgets, dead letters.
//! - `reports`: campaign reports, rolled up with each event; their reads.
//! - `retention`, `rate`: pruning on an alarm; events per minute.
//! - `versions`: the config's immutable versions and the studio's drafts.
//! - `keys`: which generation of each rotatable key is current; revoked studio sessions.
//! - `journeys`: journeys' runs, timers, outbox and facts. The Durable Object
//!   itself and its alarm (journey timers and the daily chores share it) are
//!   `crate::site`, above the store: its alarm hands sends to `forward`.
//!
//! One object per site keeps every lookup a local SQLite query. (A site
//! outgrowing one object's throughput would shard persons by identifier hash.)

pub mod deliveries;
pub mod events;
pub mod identity;
pub mod journeys;
pub mod keys;
pub mod merges;
pub mod persons;
pub mod protocol;
pub mod rate;
pub mod reports;
pub mod retention;
pub mod schema;
pub mod sql;
pub mod versions;

#[cfg(test)]
mod tests;

use nudge_core::journey::Journeys;
use serde::de::DeserializeOwned;
use serde_json::Value;
use worker::{Env, Method, Request, RequestInit};

use persons::Db;
use protocol::{Command, StoreError, StoreResult};

/// Sends `command` to `site`'s store and reads its typed answer. A
/// platform failure on the way (the object unreachable, an answer that does
/// not read) is `StoreError::Internal`: a 500 for the Worker.
pub async fn call<T: DeserializeOwned>(env: &Env, site: &str, command: &Command) -> StoreResult<T> {
    let internal =
        |what: &str, e: &dyn std::fmt::Display| StoreError::Internal(format!("{what}: {e}"));
    let object = |e: worker::Error| internal("site object", &e);
    let namespace = env.durable_object("SITE").map_err(object)?;
    let stub = namespace
        .id_from_name(site)
        .and_then(|id| id.get_stub())
        .map_err(object)?;
    let body = serde_json::to_string(command).map_err(|e| internal("command", &e))?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_body(Some(body.into()));
    // The path names the site: the object keeps it for its alarm, which
    // queues journeys' sends for that site. (Site keys are URL-safe.)
    let url = format!("https://site/{site}");
    let request = Request::new_with_init(&url, &init).map_err(|e| internal("request", &e))?;
    let mut answer = stub.fetch_with_request(request).await.map_err(object)?;
    let text = answer.text().await.map_err(|e| internal("answer", &e))?;
    serde_json::from_str::<StoreResult<T>>(&text).map_err(|e| internal("answer", &e))?
}

/// Logs a failure the store carries on after (the Worker's log; stderr natively).
pub fn log_error(what: &str, error: &StoreError) {
    #[cfg(target_arch = "wasm32")]
    worker::console_error!("site store: {what}: {error:?}");
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("site store: {what}: {error:?}");
}

/// Runs one command against the store's SQL (native tests call this too).
/// `journeys` are the live config's, for the events that enter or end runs.
pub fn dispatch(db: &Db<'_>, command: Command, journeys: &Journeys) -> StoreResult<Value> {
    fn json<T: serde::Serialize>(value: T) -> StoreResult<Value> {
        serde_json::to_value(value).map_err(|e| StoreError::Internal(e.to_string()))
    }
    match command {
        Command::Append(batch) => {
            let appended = db.append(&batch)?;
            // A journey's trouble never costs the batch: the events and
            // their facts are stored either way (a retry would find them
            // duplicates and never feed journeys again).
            for (person, event) in &appended.fresh {
                if let Err(e) = db.journeys_on_event(journeys, person, event) {
                    log_error("journeys", &e);
                }
            }
            json(appended)
        }
        Command::Identify(identify) => json(db.identify(&identify)?),
        Command::Claim {
            anonymous_id,
            email,
            phone,
        } => db.claim(&anonymous_id, email.as_deref(), phone.as_deref()),
        Command::Profile {
            anonymous_id,
            key_hash,
        } => db.profile_for(&anonymous_id, &key_hash),
        Command::Hook { id, channel, event } => {
            let answer = db.hook(&id, &channel, &event)?;
            // An inbound event (a click, an unsubscribe) can end or enter
            // runs too, named by its type (`email.clicked`).
            if let (Some(person), Some(kind)) = (answer["person"].as_str(), event["type"].as_str())
            {
                let signal = serde_json::json!({"type": "track", "event": kind});
                if let Err(e) = db.journeys_on_event(journeys, person, &signal) {
                    log_error("journeys", &e);
                }
            }
            Ok(answer)
        }
        Command::Merges { person, page } => db.merges(person.as_deref(), &page),
        Command::UndoMerge { seq, reason } => db.undo_merge(seq, &reason),
        Command::RecentEvents { page } => db.recent_events(&page),
        Command::Delivery(check) => json(db.delivery(&check)?),
        Command::Delivered {
            destination,
            event_id,
        } => json(db.delivered(&destination, &event_id)?),
        Command::DeadLetter { reason, message } => db.dead_letter(&reason, &message),
        Command::DeadLetters { page } => db.dead_letters(&page),
        Command::RemoveDeadLetters { seqs } => db.remove_dead_letters(&seqs),
        Command::Studio(call) => db.studio(call),
        Command::Report {
            campaign,
            from_day,
            to_day,
            window_days,
        } => json(db.report(&campaign, from_day, to_day, window_days)?),
        Command::ReportSummary {
            from_day,
            to_day,
            window_days,
        } => json(db.report_summary(from_day, to_day, window_days)?),
        Command::Journeys => db.journey_list(journeys),
        Command::JourneyRuns { person } => db.person_journeys(&person),
        Command::DryRun {
            journey,
            draft,
            person,
            events,
            days,
        } => db.dry_run(journeys, &journey, draft, person.as_deref(), &events, days),
        Command::SampleSend {
            journey,
            draft,
            path,
            person,
        } => db.sample_send(journeys, &journey, draft, &path, person.as_deref()),
        Command::AddPoolCodes { pool, codes } => db.add_pool_codes(&pool, &codes),
        Command::PoolCounts { pool } => db.pool_counts(&pool),
        Command::Keys { session } => json(db.key_state(session.as_deref())?),
        Command::RotateKey { key, window_ms } => json(db.rotate_key(key, window_ms)?),
        Command::RevokeSession { id, until } => json(db.revoke_session(&id, until)?),
        // The object runs the tick itself (it awaits the queue); see `site`.
        Command::JourneysTick => Err(StoreError::Internal(
            "journeys_tick runs on the object, not in dispatch".into(),
        )),
    }
}
