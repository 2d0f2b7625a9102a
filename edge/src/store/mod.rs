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
//!
//! One object per site keeps every lookup a local SQLite query. (A site
//! outgrowing one object's throughput would shard persons by identifier hash.)

pub mod deliveries;
pub mod events;
pub mod identity;
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

use std::cell::RefCell;

use serde::de::DeserializeOwned;
use serde_json::Value;
use worker::{
    durable_object, DurableObject, Env, Method, Request, RequestInit, Response, Result, State,
};

use crate::http::EdgeError;
use persons::Db;
use protocol::{Command, StoreError, StoreResult};
use rate::{Counters, EventRates};
use retention::Retention;
use sql::DurableSql;

/// Sends `command` to `site`'s store and reads its typed answer.
pub async fn call<T: DeserializeOwned>(
    env: &Env,
    site: &str,
    command: &Command,
) -> std::result::Result<T, EdgeError> {
    let stub = env.durable_object("SITE")?.id_from_name(site)?.get_stub()?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_body(Some(serde_json::to_string(command)?.into()));
    let mut answer = stub
        .fetch_with_request(Request::new_with_init("https://site/", &init)?)
        .await?;
    let answer: std::result::Result<T, StoreError> = serde_json::from_str(&answer.text().await?)?;
    Ok(answer?)
}

/// Runs one command against the store's SQL (native tests call this too).
pub fn dispatch(db: &Db<'_>, command: Command) -> StoreResult<Value> {
    fn json<T: serde::Serialize>(value: T) -> StoreResult<Value> {
        serde_json::to_value(value).map_err(|e| StoreError::Internal(e.to_string()))
    }
    match command {
        Command::Append(batch) => json(db.append(&batch)?),
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
        Command::Hook { id, channel, event } => db.hook(&id, &channel, &event),
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
    }
}

const DAY_MS: i64 = 24 * 3600 * 1000;

#[durable_object]
pub struct Site {
    state: State,
    retention: Retention,
    rates: EventRates,
    counters: RefCell<Counters>,
    /// Whether this instance has made sure the retention alarm is set.
    alarm_checked: RefCell<bool>,
}

fn var(env: &Env, name: &str) -> Option<String> {
    env.var(name).ok().map(|v| v.to_string())
}

impl DurableObject for Site {
    fn new(state: State, env: Env) -> Self {
        let sql = DurableSql(state.storage().sql());
        if let Err(e) = schema::migrate(&sql) {
            worker::console_error!("site schema: {e:?}");
        }
        let rate = |name: &str, default: u32| {
            var(&env, name)
                .and_then(|v| v.parse().ok())
                .unwrap_or(default)
        };
        let defaults = EventRates::default();
        Site {
            retention: Retention::from_vars(|name| var(&env, name)),
            rates: EventRates {
                per_site: rate("EVENTS_PER_MINUTE_PER_SITE", defaults.per_site),
                per_client: rate("EVENTS_PER_MINUTE_PER_CLIENT", defaults.per_client),
            },
            state,
            counters: RefCell::default(),
            alarm_checked: RefCell::new(false),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let command: Command = match serde_json::from_str(&req.text().await?) {
            Ok(command) => command,
            Err(e) => return Response::error(format!("bad command: {e}"), 400),
        };
        if !*self.alarm_checked.borrow() {
            self.ensure_alarm().await?;
        }
        let now = worker::Date::now().as_millis() as i64;
        if let Command::Append(batch) = &command {
            let n = batch.events.len() as u32;
            if let Err(retry_after) =
                self.counters
                    .borrow_mut()
                    .take(self.rates, &batch.client, n, now)
            {
                let refused: StoreResult<Value> = Err(StoreError::RateLimited {
                    message: "too many events from this client or site this minute".into(),
                    retry_after,
                });
                return Response::from_json(&refused);
            }
        }
        let sql = DurableSql(self.state.storage().sql());
        let db = Db { sql: &sql, now };
        // No await below: the command's writes commit together.
        let answer = dispatch(&db, command);
        if let Err(StoreError::Internal(detail)) = &answer {
            worker::console_error!("site store: {detail}");
        }
        Response::from_json(&answer)
    }

    /// Daily retention sweep, in steps: re-armed soon while work is left.
    async fn alarm(&self) -> Result<Response> {
        let sql = DurableSql(self.state.storage().sql());
        let db = Db {
            sql: &sql,
            now: worker::Date::now().as_millis() as i64,
        };
        let next = match db.prune(&self.retention) {
            Ok(true) => 1_000,
            Ok(false) => DAY_MS,
            Err(e) => {
                worker::console_error!("retention: {e:?}");
                3_600_000
            }
        };
        self.state.storage().set_alarm(next).await?;
        Response::ok("pruned")
    }
}

impl Site {
    async fn ensure_alarm(&self) -> Result<()> {
        let storage = self.state.storage();
        if storage.get_alarm().await?.is_none() {
            storage.set_alarm(DAY_MS).await?;
        }
        *self.alarm_checked.borrow_mut() = true;
        Ok(())
    }
}
