//! The `Site` object's alarm: when it should next fire (journeys' timers,
//! the retention sweep, the event archive, the site's midnight for daily
//! entries, unfinished merges and suppressions to copy) and what a firing
//! does, each step's trouble logged and retried by the next firing.

use nudge_core::journey::{Entry, Journeys};
use nudge_core::time::DAY as DAY_MS;
use worker::Result;

use super::{now_ms, platform, Here, Site};
use crate::store::archive::{self, ARCHIVE_BUCKET};
use crate::store::journeys::DUE_PER_STEP;
use crate::store::persons::Db;
use crate::store::protocol::{StoreError, StoreResult, Ticked};
use crate::store::saga;
use crate::store::sql::DurableSql;

/// How soon the alarm comes back while sends wait for the queue.
const QUEUE_RETRY_MS: i64 = 5_000;
/// How soon it comes back after a failure (config unreadable, a sweep step failed).
const TROUBLE_RETRY_MS: i64 = 30_000;
/// How soon the alarm comes back while a merge across objects is unfinished.
const SAGA_RETRY_MS: i64 = 10_000;
/// Expired parts deleted from R2 per alarm step.
const EXPIRED_PARTS_PER_STEP: i64 = 100;

impl Site {
    /// When the alarm should next fire: the earliest timer, the retention
    /// sweep, and the site's next midnight if a journey has a daily entry.
    pub(super) fn wanted_alarm(&self, db: &Db<'_>, journeys: &Journeys) -> StoreResult<i64> {
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
    pub(super) fn archive_due(&self, db: &Db<'_>) -> StoreResult<Option<i64>> {
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
    pub(super) async fn archive_step(&self, db: &Db<'_>) -> StoreResult<(u64, bool)> {
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
        let Some(Here { site, .. }) = self.here(db) else {
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
    pub(super) async fn set_alarm_at(&self, at: i64, now: i64) -> Result<()> {
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

    pub(super) async fn arm(&self, db: &Db<'_>, journeys: &Journeys) -> Result<()> {
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
    pub(super) async fn tick(&self) -> Result<Ticked> {
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
}
