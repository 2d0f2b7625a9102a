//! A coupon pool over a site's objects. A pool's codes are uploaded to its
//! home, the object its name hashes to. A person lives in the object of
//! their browser, so a `set` step elsewhere finds no code of its own; it
//! must not miss while the home still has codes (a one-code pool would
//! otherwise reach a quarter of the persons at four objects). So:
//!
//! 1. the step waits at its step (core's `Effect::AwaitCode`, decided from
//!    [`Db::codes_elsewhere`]) and the object records the pool as wanted,
//!    with the runs waiting for it;
//! 2. its alarm leases as many codes as runs wait from the home
//!    ([`lease_step`], `LeaseCodes`): the home moves them out into its
//!    `pool_leases`, keyed by the lease, so a lease asked again (a lost
//!    answer, a crash before the codes were taken in) gets the same codes
//!    and no code is ever in two objects;
//! 3. the codes go into this object's pool, the waiting runs are due at
//!    once, and the same alarm step plays them.
//!
//! A home with none left says so (an empty lease): the steps then miss as
//! they do with one object, and the pool is not asked again for a minute.
//! A want the home has not answered in ten minutes stops holding steps (they
//! miss) while the alarm keeps asking. With one object none of this runs.

use nudge_core::journey::RunId;
use serde_json::Value;

use super::persons::Db;
use super::protocol::{LeaseCodes, Leased, StoreResult};
use super::shards::directory_object;
use super::shards::ShardMap;
use super::sql::{params, SqlExt};
use super::{route, Objects};

/// Pools one alarm step leases codes for.
pub const LEASES_PER_STEP: i64 = 10;
/// Most codes one lease moves.
pub const MAX_LEASE: i64 = 50;
/// How long a home's "none left" holds before the pool is asked again.
pub const EMPTY_FOR_MS: i64 = 60_000;
/// How long steps wait for a lease the home has not answered.
pub const WAIT_LIMIT_MS: i64 = 10 * 60_000;

/// Where a site's pools live, as seen from one of its objects.
#[derive(Clone, Copy, Debug)]
pub struct PoolHomes {
    map: ShardMap,
    here: u16,
}

impl PoolHomes {
    pub fn new(map: ShardMap, here: u16) -> PoolHomes {
        PoolHomes { map, here }
    }

    /// One object: every pool is here.
    pub fn single() -> PoolHomes {
        PoolHomes::new(ShardMap::ONE, 0)
    }

    pub fn here(&self) -> u16 {
        self.here
    }

    /// Whether this object leases `pool`'s codes from another.
    pub fn leases(&self, pool: &str) -> bool {
        self.map.objects() > 1 && home_of(self.map, pool) != self.here
    }
}

/// The object a pool's codes are uploaded to.
pub fn home_of(map: ShardMap, pool: &str) -> u16 {
    directory_object(map, "pool", pool)
}

/// A pool this object wants codes of: its lease (when the want began) and
/// how many runs wait.
#[derive(Clone, Debug)]
pub struct Want {
    pub pool: String,
    pub lease: i64,
    pub waiting: i64,
}

impl Db<'_> {
    /// Of `pools`, those whose `set` step must wait for `person`: leased from
    /// another object, none free here, the person may take one and holds
    /// none, and the home not known to be out. Every other case is decided
    /// by the step itself (`set_facts`), as with one object.
    pub fn codes_elsewhere<'p>(
        &self,
        homes: PoolHomes,
        pools: impl Iterator<Item = &'p str>,
        person: &str,
    ) -> StoreResult<Vec<String>> {
        let mut elsewhere: Vec<String> = Vec::new();
        for pool in pools {
            if !homes.leases(pool) || elsewhere.iter().any(|p| p == pool) {
                continue;
            }
            let free_here = self.sql.exists(
                "SELECT 1 FROM coupon_pools WHERE pool = ? AND person IS NULL",
                params![pool],
            )?;
            let known_out = self.sql.exists(
                "SELECT 1 FROM pool_wants WHERE pool = ?
                   AND ((empty_at IS NOT NULL AND empty_at > ?) OR (empty_at IS NULL AND since < ?))",
                params![pool, self.now - EMPTY_FOR_MS, self.now - WAIT_LIMIT_MS],
            )?;
            if free_here || known_out || !self.may_take_pool_code(person)? {
                continue;
            }
            if self.held_pool_code(pool, person)?.is_none() {
                elsewhere.push(pool.to_owned());
            }
        }
        Ok(elsewhere)
    }

    /// A run waits for a code of `pool` (`Effect::AwaitCode`). A want the
    /// home answered "none left" long enough ago is asked again.
    pub fn want_code(&self, pool: &str, run: &RunId) -> StoreResult<()> {
        self.sql.execute(
            "INSERT INTO pool_wants (pool, since) VALUES (?, ?)
             ON CONFLICT (pool) DO UPDATE SET since = excluded.since, empty_at = NULL
             WHERE empty_at IS NOT NULL",
            params![pool, self.now],
        )?;
        self.sql.execute(
            "INSERT OR IGNORE INTO pool_waits (pool, person, journey, number) VALUES (?, ?, ?, ?)",
            params![
                pool,
                run.person.as_str(),
                run.journey.as_str(),
                i64::from(run.number)
            ],
        )?;
        Ok(())
    }

    /// The pools wanted and not answered yet, the oldest first.
    pub fn wanted_pools(&self, limit: i64) -> StoreResult<Vec<Want>> {
        let rows = self.sql.query(
            "SELECT w.pool, w.since, (SELECT count(*) FROM pool_waits p WHERE p.pool = w.pool) AS waiting
             FROM pool_wants w WHERE w.empty_at IS NULL ORDER BY w.since, w.pool LIMIT ?",
            params![limit],
        )?;
        Ok(rows
            .iter()
            .map(|r| Want {
                pool: super::moves::text(r, "pool"),
                lease: r.get("since").and_then(Value::as_i64).unwrap_or(0),
                waiting: r.get("waiting").and_then(Value::as_i64).unwrap_or(0),
            })
            .collect())
    }

    /// At a pool's home: moves up to `count` free codes out for the lease,
    /// or answers the codes this lease moved already.
    pub fn lease_codes(&self, ask: &LeaseCodes) -> StoreResult<Leased> {
        let leased = |sql: &str| -> StoreResult<Vec<String>> {
            Ok(self
                .sql
                .query(
                    sql,
                    params![ask.pool.as_str(), i64::from(ask.to), ask.lease],
                )?
                .iter()
                .filter_map(|r| r["code"].as_str().map(str::to_owned))
                .collect())
        };
        let before = leased(
            "SELECT code FROM pool_leases WHERE pool = ? AND object = ? AND lease = ? ORDER BY code",
        )?;
        if !before.is_empty() {
            return Ok(Leased { codes: before });
        }
        let free = self.sql.query(
            "SELECT code FROM coupon_pools WHERE pool = ? AND person IS NULL ORDER BY added_at, code LIMIT ?",
            params![ask.pool.as_str(), ask.count.clamp(1, MAX_LEASE)],
        )?;
        for code in free.iter().filter_map(|r| r["code"].as_str()) {
            self.sql.execute(
                "DELETE FROM coupon_pools WHERE pool = ? AND code = ? AND person IS NULL",
                params![ask.pool.as_str(), code],
            )?;
            self.sql.execute(
                "INSERT INTO pool_leases (pool, object, lease, code, at) VALUES (?, ?, ?, ?, ?)",
                params![
                    ask.pool.as_str(),
                    i64::from(ask.to),
                    ask.lease,
                    code,
                    self.now
                ],
            )?;
        }
        Ok(Leased {
            codes: leased(
                "SELECT code FROM pool_leases WHERE pool = ? AND object = ? AND lease = ? ORDER BY code",
            )?,
        })
    }

    /// Takes a lease's codes in and makes the runs waiting for them due now;
    /// an empty lease marks the pool out (their steps then miss).
    pub fn take_lease(&self, want: &Want, codes: &[String]) -> StoreResult<()> {
        for code in codes {
            self.sql.execute(
                "INSERT OR IGNORE INTO coupon_pools (pool, code, added_at) VALUES (?, ?, ?)",
                params![want.pool.as_str(), code.as_str(), self.now],
            )?;
        }
        self.sql.execute(
            "UPDATE journey_runs SET next_due = ? WHERE exit IS NULL AND next_due IS NOT NULL
               AND (person, journey, number) IN (SELECT person, journey, number FROM pool_waits WHERE pool = ?)",
            params![self.now, want.pool.as_str()],
        )?;
        self.sql.execute(
            "DELETE FROM pool_waits WHERE pool = ?",
            params![want.pool.as_str()],
        )?;
        if codes.is_empty() {
            self.sql.execute(
                "UPDATE pool_wants SET empty_at = ? WHERE pool = ? AND since = ?",
                params![self.now, want.pool.as_str(), want.lease],
            )?;
        } else {
            self.sql.execute(
                "DELETE FROM pool_wants WHERE pool = ? AND since = ?",
                params![want.pool.as_str(), want.lease],
            )?;
        }
        Ok(())
    }

    /// Whether a pool is wanted and not answered (the alarm comes back at once).
    pub fn wants_codes(&self) -> StoreResult<bool> {
        self.sql
            .exists("SELECT 1 FROM pool_wants WHERE empty_at IS NULL", &[])
    }
}

/// One alarm step of `here`'s leases: each wanted pool asked of its home,
/// the codes taken in, the waiting runs made due. Returns how many pools
/// were answered.
pub async fn lease_step(objects: &impl Objects, here: u16, db: &Db<'_>) -> StoreResult<usize> {
    let wants = db.wanted_pools(LEASES_PER_STEP)?;
    for want in &wants {
        let ask = LeaseCodes {
            pool: want.pool.clone(),
            to: here,
            lease: want.lease,
            count: want.waiting.clamp(1, MAX_LEASE),
        };
        let leased = route(objects, &ask).await?;
        db.take_lease(want, &leased.codes)?;
    }
    Ok(wants.len())
}
