//! The alarm's steps that reach beyond this object: suppressions copied to
//! the site's other objects, coupon codes leased from their pools' homes,
//! merges across objects finished, and waiting sends put on the
//! forwarding queue.

use super::{now_ms, Here, Site};
use crate::store::journeys::outbox::{self, FLUSH_BATCH};
use crate::store::persons::Db;
use crate::store::pools::PoolHomes;
use crate::store::protocol::{StoreError, StoreResult};
use crate::store::{saga, shards, spread};

impl Site {
    /// Copies a step of the suppressions made here to the site's other
    /// objects (`store::spread`); with one object the outbox is emptied.
    /// Whether more wait.
    pub(super) async fn copy_suppressions(&self, db: &Db<'_>) -> StoreResult<bool> {
        let outbox = db.suppression_outbox(spread::SUPPRESSIONS_PER_STEP)?;
        if outbox.is_empty() {
            return Ok(false);
        }
        let more = outbox.len() as i64 >= spread::SUPPRESSIONS_PER_STEP;
        let copied = if self.objects > 1 {
            let Some(Here { site, .. }) = self.here(db) else {
                return Ok(false);
            };
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

    /// Which coupon pools this object leases codes of (`store::pools`).
    pub(super) fn pool_homes(&self, db: &Db<'_>) -> PoolHomes {
        let map = shards::ShardMap::new(u32::from(self.objects)).unwrap_or(shards::ShardMap::ONE);
        match self.here(db) {
            Some(here) if map.objects() > 1 => PoolHomes::new(map, here.object),
            _ => PoolHomes::single(),
        }
    }

    /// Leases the codes this object's waiting runs want from their pools'
    /// homes (`store::pools`); nothing with one object.
    pub(super) async fn lease_codes(&self, db: &Db<'_>, homes: PoolHomes) -> StoreResult<usize> {
        if self.objects < 2 || !db.wants_codes()? {
            return Ok(0);
        }
        let Some(Here { site, .. }) = self.here(db) else {
            return Ok(0);
        };
        crate::store::lease_codes(&self.env, &site, homes.here(), db).await
    }

    /// Finishes the merges across objects this object coordinates that were
    /// left unfinished (`store::saga`); none with one object.
    pub(super) async fn resume_merges(&self, db: &Db<'_>) -> StoreResult<usize> {
        if self.objects < 2 || db.open_sagas(saga::DONE)?.is_empty() {
            return Ok(0);
        }
        let Some(Here { site, object }) = self.here(db) else {
            return Ok(0);
        };
        // Held events are reported with the live campaigns, as on arrival.
        let config = crate::http::site_config(&self.env, &site)
            .await
            .map_err(|e| StoreError::Internal(format!("the live config: {e:?}")))?;
        let campaigns = crate::reports::published_campaigns(&config);
        crate::store::resume_merges(&self.env, &site, object, &campaigns).await
    }

    /// Puts waiting sends on the forwarding queue; (how many, whether any
    /// still wait). One tick at a time: between reading the waiting sends
    /// and marking them queued it awaits the destinations and the queue,
    /// and a tick that ran meanwhile (the alarm, an admin's run-due, at
    /// once) would read the same sends and queue them twice. That tick
    /// leaves them to the one flushing, and its alarm comes back soon.
    pub(super) async fn flush(&self, db: &Db<'_>) -> (usize, bool) {
        if self.flushing.replace(true) {
            return (0, true);
        }
        let flushed = self.flush_now(db).await;
        self.flushing.set(false);
        flushed
    }

    async fn flush_now(&self, db: &Db<'_>) -> (usize, bool) {
        let pending = match db.unqueued_sends(FLUSH_BATCH) {
            Ok(p) if p.is_empty() => return (0, false),
            Ok(p) => p,
            Err(e) => {
                worker::console_error!("outbox: {e:?}");
                return (0, true);
            }
        };
        let more = pending.len() as i64 >= FLUSH_BATCH;
        let Some(Here { site, object }) = self.here(db) else {
            worker::console_error!("outbox: this store does not know its site yet");
            return (0, true);
        };
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
