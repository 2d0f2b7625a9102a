//! The `Site` Durable Object: one per site, its SQLite store (`store`), and its one
//! alarm, which serves three masters (a Durable Object has one alarm):
//! journeys' timers (armed to the earliest `next_due`), the event archive
//! (bodies to R2 once their hour is over, `store::archive`) and the daily
//! chores (the retention sweep, and the sweep for derived journey entries
//! just after the site's midnight). Each firing does what is due and re-arms to
//! whatever comes next; work left over re-arms at once.
//!
//! Here: the object, its commands and what it checks before serving one
//! (the fence, the live config). `alarm.rs`: when the alarm fires and what
//! a firing does. `chores.rs`: the alarm's steps that reach other objects
//! or the forwarding queue (suppressions, coupon codes, merges, the outbox).

mod alarm;
mod chores;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use nudge_core::journey::Journeys;
use serde_json::Value;
use worker::{durable_object, DurableObject, Env, Request, Response, Result, State};

use crate::store::archive::{Schedule, ARCHIVE_BUCKET};
use crate::store::persons::Db;
use crate::store::protocol::{Command, StoreError, StoreResult, Ticked};
use crate::store::rate::{Counters, EventRates};
use crate::store::retention::Retention;
use crate::store::shards;
use crate::store::sql::{DurableSql, SqlExt};
use crate::store::{dispatch, schema};

#[durable_object]
pub struct Site {
    state: State,
    env: Env,
    retention: Retention,
    /// When event bodies go to R2; `None` when no bucket is bound.
    archive: Option<Schedule>,
    /// When the archive is next due (`Some(None)`: nothing to archive),
    /// once this instance has read it: an append only makes it due sooner
    /// when nothing waited, so no command pays a query for it.
    archive_due: RefCell<Option<Option<i64>>>,
    rates: EventRates,
    counters: RefCell<Counters>,
    /// When the alarm is set for, once this instance has read or set it.
    alarm_at: RefCell<Option<Option<i64>>>,
    /// The live config's journeys, parsed once per config version.
    journeys: RefCell<Option<(i64, Rc<Journeys>)>>,
    /// This object's name, `site` or `site/{index}` (from the Worker's
    /// request path, `store::shards`).
    site: RefCell<Option<String>>,
    /// Local tests only (`FAULT_STORE_OVERLOADED=append`; deployments leave
    /// it unset): answer every `append` as the platform answers a request to
    /// an overloaded object, so the spill path can be tested on workerd,
    /// which never overloads. Spilled batches (`append_spilled`) still go in.
    refuse_appends: bool,
    /// How many objects the site's persons are spread over (`SITE_SHARDS`).
    objects: u16,
    /// When this object last asked the home for the live config (0: not
    /// since it started).
    config_checked: Cell<i64>,
    /// This object serves with the count of objects its site was made for
    /// (`store::fence`), checked once since it started.
    fenced: Cell<bool>,
    /// A tick is putting waiting sends on the forwarding queue
    /// (`chores.rs`, `Site::flush`): another tick of this object, which
    /// may run while it awaits the queue, leaves them to it.
    flushing: Cell<bool>,
}

/// How often an object other than the home asks it for the live config, in
/// case a publish's push (`AdoptConfig`) did not reach it.
const CONFIG_CHECK_MS: i64 = 60_000;

/// Which site an object serves and its index among the site's objects,
/// read from its name (`site` or `site/{index}`, `store::shards`).
struct Here {
    site: String,
    object: u16,
}

fn var(env: &Env, name: &str) -> Option<String> {
    env.var(name).ok().map(|v| v.to_string())
}

/// A platform failure (R2) where the store's errors are expected.
fn platform(e: worker::Error) -> StoreError {
    StoreError::Internal(e.to_string())
}

fn now_ms() -> i64 {
    worker::Date::now().as_millis() as i64
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
        let objects = shards::ShardMap::from_var(var(&env, "SITE_SHARDS").as_deref())
            .map_or(1, shards::ShardMap::objects);
        let refuse_appends = var(&env, "FAULT_STORE_OVERLOADED").as_deref() == Some("append");
        let archive = match env.bucket(ARCHIVE_BUCKET) {
            Ok(_) => Some(Schedule::from_vars(|name| var(&env, name))),
            Err(e) => {
                worker::console_warn!("event archive off (events stay in the store): {e}");
                None
            }
        };
        Site {
            retention: Retention::from_vars(|name| var(&env, name)),
            archive,
            archive_due: RefCell::new(None),
            rates: EventRates {
                // Each of a site's objects admits its share of the site's
                // budget: browsers spread evenly over them (`store::shards`).
                per_site: rate("EVENTS_PER_MINUTE_PER_SITE", defaults.per_site)
                    .div_ceil(u32::from(objects)),
                per_client: rate("EVENTS_PER_MINUTE_PER_CLIENT", defaults.per_client),
            },
            state,
            env,
            counters: RefCell::default(),
            alarm_at: RefCell::new(None),
            journeys: RefCell::new(None),
            site: RefCell::new(None),
            refuse_appends,
            objects,
            config_checked: Cell::new(0),
            fenced: Cell::new(false),
            flushing: Cell::new(false),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let mut command: Command = match serde_json::from_str(&req.text().await?) {
            Ok(command) => command,
            Err(e) => return Response::error(format!("bad command: {e}"), 400),
        };
        // This object's share of the site's budgets (`Append::objects`).
        crate::store::set_objects(&mut command, self.objects);
        self.remember_site(req.path().trim_start_matches('/'));
        if let Err(refused) = self.fence().await {
            worker::console_error!("site store: {refused:?}");
            return Response::from_json(&StoreResult::<Value>::Err(refused));
        }
        self.refresh_config().await;
        let now = now_ms();
        if let (Command::Append(_), true) = (&command, self.refuse_appends) {
            let refused: StoreResult<Value> = Err(StoreError::Overloaded(
                "FAULT_STORE_OVERLOADED: appends are refused as overloaded".into(),
            ));
            return Response::from_json(&refused);
        }
        if let Command::AppendSpilled(spilled) = &command {
            let mut counters = self.counters.borrow_mut();
            for batch in &spilled.batches {
                counters.spend(&batch.client, batch.events.len() as u32, now);
            }
        }
        if let Command::Append(batch) = &command {
            let n = batch.events.len() as u32;
            let mut counters = self.counters.borrow_mut();
            // Events a merge across objects held and now replays were
            // accepted (and counted) once already: spent, never refused.
            if !batch.held.is_empty() {
                counters.spend(&batch.client, n, now);
            } else if let Err(retry_after) = counters.take(self.rates, &batch.client, n, now) {
                let refused: StoreResult<Value> = Err(StoreError::RateLimited {
                    message: "too many events from this client or site this minute".into(),
                    retry_after,
                });
                return Response::from_json(&refused);
            }
        }
        if let Command::JourneysTick(_) = command {
            let answer: StoreResult<Ticked> = Ok(self.tick().await?);
            return Response::from_json(&answer);
        }
        let sql = DurableSql(self.state.storage().sql());
        let db = Db { sql: &sql, now };
        // Unreadable for a moment: this command's events enter nothing.
        let journeys = self.live_journeys(&db).unwrap_or_default();
        let appends = matches!(command, Command::Append(_) | Command::AppendSpilled(_));
        // No await below until the answer: the command's writes commit together.
        let answer = dispatch(&db, command, &journeys);
        let known = *self.archive_due.borrow();
        if let (true, Some(schedule), Some(None)) = (appends, self.archive, known) {
            *self.archive_due.borrow_mut() = Some(Some(schedule.due(now)));
        }
        if let Err(StoreError::Internal(detail)) = &answer {
            worker::console_error!("site store: {detail}");
        }
        // A run entered now is due now: bring the alarm forward if needed.
        self.arm(&db, &journeys).await?;
        Response::from_json(&answer)
    }

    async fn alarm(&self) -> Result<Response> {
        // The alarm that fired is gone; whatever `tick` arms replaces it.
        *self.alarm_at.borrow_mut() = Some(None);
        if let Err(refused) = self.fence().await {
            // Not armed again: the next command, refused the same way,
            // leaves the object as it is until the deployment is mended.
            worker::console_error!("alarm: {refused:?}");
            return Response::from_json(&StoreResult::<Value>::Err(refused));
        }
        let done = self.tick().await?;
        Response::from_json(&done)
    }
}

impl Site {
    fn remember_site(&self, site: &str) {
        if site.is_empty() || self.site.borrow().as_deref() == Some(site) {
            return;
        }
        *self.site.borrow_mut() = Some(site.to_owned());
        let sql = DurableSql(self.state.storage().sql());
        let db = Db {
            sql: &sql,
            now: now_ms(),
        };
        if let Err(e) = db.set_clock("site", 0, Some(site)) {
            worker::console_error!("site name: {e:?}");
        }
    }

    /// This object's name: its site, and its index among the site's
    /// objects after a `/` (`store::shards::object_name`).
    fn object_name(&self, db: &Db<'_>) -> Option<String> {
        if let Some(name) = self.site.borrow().clone() {
            return Some(name);
        }
        let stored = db.clock("site").ok().flatten().and_then(|(_, name)| name);
        self.site.borrow_mut().clone_from(&stored);
        stored
    }

    /// The site this object serves, and its index among the site's objects.
    fn here(&self, db: &Db<'_>) -> Option<Here> {
        let name = self.object_name(db)?;
        let (site, object) = shards::read_object_name(&name);
        Some(Here {
            site: site.to_owned(),
            object,
        })
    }

    /// The live config's journeys (the newest config version's), or
    /// `None` when the store cannot say: never "no journeys" by mistake,
    /// which would end every due run as removed.
    fn live_journeys(&self, db: &Db<'_>) -> Option<Rc<Journeys>> {
        let version = db
            .sql
            .int("SELECT max(version) FROM config_versions", &[])
            .ok()?
            .unwrap_or(0);
        if let Some((cached, journeys)) = self.journeys.borrow().as_ref() {
            if *cached == version {
                return Some(journeys.clone());
            }
        }
        let journeys = if version == 0 {
            Journeys::default()
        } else {
            let text = db
                .sql
                .text(
                    "SELECT config FROM config_versions WHERE version = ?",
                    crate::store::sql::params![version],
                )
                .ok()??;
            let config = serde_json::from_str::<nudge_core::Value>(&text).ok()?;
            Journeys::from_config(&config).0
        };
        let journeys = Rc::new(journeys);
        *self.journeys.borrow_mut() = Some((version, journeys.clone()));
        Some(journeys)
    }

    /// Once since it started: whether this object may serve with the
    /// deployment's `SITE_SHARDS` (`store::fence`). An object that does not
    /// know its name yet (no command named it) is checked on its next call.
    async fn fence(&self) -> StoreResult<()> {
        if self.fenced.get() {
            return Ok(());
        }
        let sql = DurableSql(self.state.storage().sql());
        let db = Db {
            sql: &sql,
            now: now_ms(),
        };
        let Some(here) = self.here(&db) else {
            return Ok(());
        };
        crate::store::fence_object(&self.env, &here.site, here.object, &db).await?;
        self.fenced.set(true);
        Ok(())
    }

    /// At an object other than the home, at most once a minute: the live
    /// config pulled from the home if it is newer than this object's (a
    /// publish's push that did not reach it). Its trouble is logged and
    /// asked again next time; the command or alarm goes on.
    async fn refresh_config(&self) {
        let now = now_ms();
        if self.objects < 2 || now - self.config_checked.get() < CONFIG_CHECK_MS {
            return;
        }
        self.config_checked.set(now);
        let sql = DurableSql(self.state.storage().sql());
        let db = Db { sql: &sql, now };
        let Some(here) = self.here(&db) else {
            return;
        };
        if let Err(e) =
            crate::store::pull_live_config(&self.env, &here.site, here.object, &db).await
        {
            worker::console_error!("live config from the home: {e:?}");
        }
    }
}
