//! The `Site` Durable Object: one per site, its SQLite store (`store`), and its one
//! alarm, which serves three masters (a Durable Object has one alarm):
//! journeys' timers (armed to the earliest `next_due`), the event archive
//! (bodies to R2 once their hour is over, `store::archive`) and the daily
//! chores (the retention sweep, and the sweep for derived journey entries
//! just after the site's midnight). Each firing does what is due and re-arms to
//! whatever comes next; work left over re-arms at once.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use nudge_core::journey::{Entry, Journeys};
use nudge_core::time::DAY as DAY_MS;
use serde_json::Value;
use worker::{durable_object, DurableObject, Env, Request, Response, Result, State};

use crate::store::archive::{self, Schedule, ARCHIVE_BUCKET};
use crate::store::journeys::outbox::{self, FLUSH_BATCH};
use crate::store::journeys::DUE_PER_STEP;
use crate::store::persons::Db;
use crate::store::pools::PoolHomes;
use crate::store::protocol::{Command, StoreError, StoreResult, Ticked};
use crate::store::rate::{Counters, EventRates};
use crate::store::retention::Retention;
use crate::store::shards;
use crate::store::sql::{DurableSql, SqlExt};
use crate::store::{dispatch, saga, schema, spread};

/// How soon the alarm comes back while sends wait for the queue.
const QUEUE_RETRY_MS: i64 = 5_000;
/// How soon it comes back after a failure (config unreadable, a sweep step failed).
const TROUBLE_RETRY_MS: i64 = 30_000;
/// How soon the alarm comes back while a merge across objects is unfinished.
const SAGA_RETRY_MS: i64 = 10_000;
/// Expired parts deleted from R2 per alarm step.
const EXPIRED_PARTS_PER_STEP: i64 = 100;

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
}

/// How often an object other than the home asks it for the live config, in
/// case a publish's push (`AdoptConfig`) did not reach it.
const CONFIG_CHECK_MS: i64 = 60_000;

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

    /// The site and this object's index among its objects.
    fn site_name(&self, db: &Db<'_>) -> Option<String> {
        let name = self.object_name(db)?;
        Some(shards::read_object_name(&name).0.to_owned())
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

    /// When the alarm should next fire: the earliest timer, the retention
    /// sweep, and the site's next midnight if a journey has a daily entry.
    fn wanted_alarm(&self, db: &Db<'_>, journeys: &Journeys) -> StoreResult<i64> {
        let retention = match db.clock("retention")? {
            Some((at, _)) => at,
            None => {
                db.set_clock("retention", db.now + DAY_MS, None)?;
                db.now + DAY_MS
            }
        };
        let mut wanted = retention;
        if let Some(timer) = db.next_timer()? {
            wanted = wanted.min(timer);
        }
        if let Some(due) = self.archive_due(db)? {
            wanted = wanted.min(due);
        }
        // A merge across objects this object coordinates was left unfinished
        // (its identify failed or timed out): the alarm finishes it. A
        // suppression made here goes to the site's other objects at once.
        if self.objects > 1 && !db.open_sagas(saga::DONE)?.is_empty() {
            wanted = wanted.min(db.now + SAGA_RETRY_MS);
        }
        // (With one object the outbox is emptied by whatever alarm comes.)
        if self.objects > 1 && !db.suppression_outbox(1)?.is_empty() {
            wanted = wanted.min(db.now);
        }
        let daily = journeys.journeys.iter().any(|j| {
            j.enabled
                && matches!(
                    j.entry,
                    Entry::InactiveDays { .. } | Entry::DateTrait { .. }
                )
        });
        if daily {
            let offset = journeys
                .quiet_hours
                .map_or(0, |q| i64::from(q.start.offset_minutes) * 60_000);
            let next_midnight = ((db.now + offset).div_euclid(DAY_MS) + 1) * DAY_MS - offset;
            wanted = wanted.min(next_midnight);
        }
        Ok(wanted)
    }

    /// When the event archive is next due, if it is on and events wait.
    fn archive_due(&self, db: &Db<'_>) -> StoreResult<Option<i64>> {
        let Some(schedule) = &self.archive else {
            return Ok(None);
        };
        let known = *self.archive_due.borrow();
        if let Some(known) = known {
            return Ok(known);
        }
        let due = db.archive_due(schedule)?;
        *self.archive_due.borrow_mut() = Some(due);
        Ok(due)
    }

    /// Deletes a step of parts past retention, then puts the next due part
    /// of the event log to R2 and records it: (events archived, whether
    /// more parts are due now). A failure is logged and left for the next
    /// alarm: events stay in the store until their part is recorded.
    async fn archive_step(&self, db: &Db<'_>) -> StoreResult<(u64, bool)> {
        let Some(schedule) = &self.archive else {
            return Ok((0, false));
        };
        let bucket = self.env.bucket(ARCHIVE_BUCKET).map_err(platform)?;
        let cutoff = db.now - self.retention.events * DAY_MS;
        let expired = db.expired_parts(cutoff, EXPIRED_PARTS_PER_STEP)?;
        if !expired.is_empty() {
            bucket
                .delete_multiple(expired.clone())
                .await
                .map_err(platform)?;
            db.forget_parts(&expired)?;
        }
        let Some(site) = self.site_name(db) else {
            return Ok((0, false));
        };
        // Read again after this step.
        *self.archive_due.borrow_mut() = None;
        let Some(part) = db.next_part(&site, schedule)? else {
            return Ok((0, false));
        };
        let metadata = worker::HttpMetadata {
            content_type: Some("application/x-ndjson".into()),
            content_encoding: Some("gzip".into()),
            ..Default::default()
        };
        bucket
            .put(&part.key, archive::compress(&part.lines))
            .http_metadata(metadata)
            .execute()
            .await
            .map_err(platform)?;
        let db = Db {
            sql: db.sql,
            now: now_ms(),
        };
        let count = if db.archived(&part)? {
            part.count as u64
        } else {
            0
        };
        let more = db.archive_due(schedule)?.is_some_and(|due| due <= db.now);
        Ok((count, more))
    }

    /// Sets the alarm to `at` unless it is already set as soon.
    async fn set_alarm_at(&self, at: i64, now: i64) -> Result<()> {
        let storage = self.state.storage();
        if self.alarm_at.borrow().is_none() {
            *self.alarm_at.borrow_mut() = Some(storage.get_alarm().await?);
        }
        let current = self.alarm_at.borrow().flatten();
        if current.is_some_and(|c| c <= at) {
            return Ok(());
        }
        storage.set_alarm((at - now).max(0)).await?;
        *self.alarm_at.borrow_mut() = Some(Some(at));
        Ok(())
    }

    async fn arm(&self, db: &Db<'_>, journeys: &Journeys) -> Result<()> {
        match self.wanted_alarm(db, journeys) {
            Ok(at) => self.set_alarm_at(at, db.now).await,
            Err(e) => {
                worker::console_error!("alarm: {e:?}");
                Ok(())
            }
        }
    }

    /// What the alarm does: due runs, today's sweep, a retention step, the
    /// outbox; then re-arms. Errors are logged and retried by the next alarm
    /// (the work is idempotent), never lost.
    async fn tick(&self) -> Result<Ticked> {
        let sql = DurableSql(self.state.storage().sql());
        let db = Db {
            sql: &sql,
            now: now_ms(),
        };
        let mut trouble = false;
        let mut log = |what: &str, e: StoreError| {
            trouble = true;
            worker::console_error!("alarm: {what}: {e:?}");
        };
        self.refresh_config().await;
        let live = self.live_journeys(&db);
        let journeys = live.clone().unwrap_or_default();
        let (fired, sweeping) = match &live {
            // Without the config, runs wait: come back soon.
            None => {
                let e = StoreError::Internal("the live config could not be read".into());
                log("journeys", e);
                (0, false)
            }
            Some(journeys) => {
                // Codes come first, so the runs waiting for them play now.
                let homes = self.pool_homes(&db);
                if let Err(e) = self.lease_codes(&db, homes).await {
                    log("coupon codes from other objects", e);
                }
                let fired = db
                    .fire_due_runs_in(journeys, DUE_PER_STEP, homes)
                    .unwrap_or_else(|e| {
                        log("journey timers", e);
                        0
                    });
                let sweeping = db.sweep_step(journeys).unwrap_or_else(|e| {
                    log("daily sweep", e);
                    false
                });
                (fired, sweeping)
            }
        };
        let mut pruning = false;
        if db
            .clock("retention")
            .ok()
            .flatten()
            .is_some_and(|(at, _)| at <= db.now)
        {
            pruning = db.prune(&self.retention).unwrap_or_else(|e| {
                log("retention", e);
                false
            });
            let next = db.now + if pruning { 1_000 } else { DAY_MS };
            if let Err(e) = db.set_clock("retention", next, None) {
                log("retention clock", e);
            }
        }
        let (archived, archiving) = self.archive_step(&db).await.unwrap_or_else(|e| {
            log("event archive", e);
            (0, false)
        });
        if let Err(e) = self.resume_merges(&db).await {
            log("merges across objects", e);
        }
        let copying = self.copy_suppressions(&db).await.unwrap_or_else(|e| {
            log("suppressions to the other objects", e);
            false
        });
        // Runs that began waiting for coupon codes in this step.
        let leasing = self.objects > 1 && db.wants_codes().unwrap_or(false);
        let (queued, waiting) = self.flush(&db).await;
        let db = Db {
            sql: &sql,
            now: now_ms(),
        };
        let mut at = self.wanted_alarm(&db, &journeys).unwrap_or(db.now + 60_000);
        if trouble {
            // Retried soon, never in a tight loop.
            at = db.now + TROUBLE_RETRY_MS;
        } else if fired as i64 >= DUE_PER_STEP
            || sweeping
            || pruning
            || archiving
            || copying
            || leasing
        {
            at = db.now;
        } else if waiting {
            at = at.min(db.now + QUEUE_RETRY_MS);
        }
        // Whatever was set is replaced: this is now the one alarm.
        self.state.storage().set_alarm((at - db.now).max(0)).await?;
        *self.alarm_at.borrow_mut() = Some(Some(at));
        Ok(Ticked {
            fired: fired as u64,
            queued: queued as u64,
            sends_waiting: waiting,
            archived,
            next_alarm: nudge_core::time::to_iso8601(at),
        })
    }

    /// Copies a step of the suppressions made here to the site's other
    /// objects (`store::spread`); with one object the outbox is emptied.
    /// Whether more wait.
    async fn copy_suppressions(&self, db: &Db<'_>) -> StoreResult<bool> {
        let outbox = db.suppression_outbox(spread::SUPPRESSIONS_PER_STEP)?;
        if outbox.is_empty() {
            return Ok(false);
        }
        let more = outbox.len() as i64 >= spread::SUPPRESSIONS_PER_STEP;
        let copied = if self.objects > 1 {
            let Some(name) = self.object_name(db) else {
                return Ok(false);
            };
            let site = shards::read_object_name(&name).0.to_owned();
            crate::store::copy_suppressions(&self.env, &site, outbox).await?
        } else {
            outbox
        };
        let db = Db {
            sql: db.sql,
            now: now_ms(),
        };
        db.copied(&copied)?;
        Ok(more)
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
        let Some(name) = self.object_name(&db) else {
            return Ok(());
        };
        let (site, here) = shards::read_object_name(&name);
        crate::store::fence_object(&self.env, site, here, &db).await?;
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
        let Some(name) = self.object_name(&db) else {
            return;
        };
        let (site, here) = shards::read_object_name(&name);
        if let Err(e) = crate::store::pull_live_config(&self.env, site, here, &db).await {
            worker::console_error!("live config from the home: {e:?}");
        }
    }

    /// Which coupon pools this object leases codes of (`store::pools`).
    fn pool_homes(&self, db: &Db<'_>) -> PoolHomes {
        let map = shards::ShardMap::new(u32::from(self.objects)).unwrap_or(shards::ShardMap::ONE);
        match self.object_name(db) {
            Some(name) if map.objects() > 1 => {
                PoolHomes::new(map, shards::read_object_name(&name).1)
            }
            _ => PoolHomes::single(),
        }
    }

    /// Leases the codes this object's waiting runs want from their pools'
    /// homes (`store::pools`); nothing with one object.
    async fn lease_codes(&self, db: &Db<'_>, homes: PoolHomes) -> StoreResult<usize> {
        if self.objects < 2 || !db.wants_codes()? {
            return Ok(0);
        }
        let Some(site) = self.site_name(db) else {
            return Ok(0);
        };
        crate::store::lease_codes(&self.env, &site, homes.here(), db).await
    }

    /// Finishes the merges across objects this object coordinates that were
    /// left unfinished (`store::saga`); none with one object.
    async fn resume_merges(&self, db: &Db<'_>) -> StoreResult<usize> {
        if self.objects < 2 || db.open_sagas(saga::DONE)?.is_empty() {
            return Ok(0);
        }
        let Some(name) = self.object_name(db) else {
            return Ok(0);
        };
        let (site, object) = shards::read_object_name(&name);
        // Held events are reported with the live campaigns, as on arrival.
        let config = crate::http::site_config(&self.env, site)
            .await
            .map_err(|e| StoreError::Internal(format!("the live config: {e:?}")))?;
        let campaigns = crate::reports::published_campaigns(&config);
        crate::store::resume_merges(&self.env, site, object, &campaigns).await
    }

    /// Puts waiting sends on the forwarding queue; (how many, whether any still wait).
    async fn flush(&self, db: &Db<'_>) -> (usize, bool) {
        let pending = match db.unqueued_sends(FLUSH_BATCH) {
            Ok(p) if p.is_empty() => return (0, false),
            Ok(p) => p,
            Err(e) => {
                worker::console_error!("outbox: {e:?}");
                return (0, true);
            }
        };
        let more = pending.len() as i64 >= FLUSH_BATCH;
        let Some(name) = self.object_name(db) else {
            worker::console_error!("outbox: this store does not know its site yet");
            return (0, true);
        };
        let (site, object) = shards::read_object_name(&name);
        let site = site.to_owned();
        let key = crate::forward::destinations::key(&site);
        // Read fresh, not through the Worker's cache: a destination just
        // added must not wait out a cache's lifetime.
        let read = async {
            self.env
                .kv("CONFIG")?
                .get(&key)
                .text()
                .await
                .map_err(worker::Error::from)
        };
        let destinations = match read.await {
            Ok(text) => text.and_then(|t| crate::destination::Destinations::read(&t)),
            Err(e) => {
                worker::console_error!("outbox: destinations: {e:?}");
                return (0, true);
            }
        };
        let plan = outbox::plan(&site, object, pending, destinations.as_ref());
        let texts: Vec<String> = plan.queue.iter().map(|(_, text)| text.clone()).collect();
        if let Err(e) = crate::forward::send(&self.env, &texts).await {
            worker::console_error!("outbox: queue: {e:?}");
            return (0, true);
        }
        let db = Db {
            sql: db.sql,
            now: now_ms(),
        };
        let keys: Vec<String> = plan.queue.iter().map(|(key, _)| key.clone()).collect();
        if let Err(e) = db
            .mark_queued(&keys)
            .and_then(|_| db.file_undeliverable(&plan.undeliverable))
        {
            worker::console_error!("outbox: marking: {e:?}");
            return (0, true);
        }
        (keys.len(), more)
    }
}
