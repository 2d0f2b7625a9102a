//! Facts journeys set for the agent to show on the next page: a tag, a
//! journey stage and a coupon from a pool. The agent reads them in the
//! profile (`/v1/profile`): tags and stages as `segments` (a stage as
//! `<journey>:<stage>`), the coupon in `coupons`, so the coupon-reminder
//! banner shows the code the email just gave.

use super::super::persons::Db;
use super::super::protocol::{Contact, StoreError, StoreResult};
use super::super::sql::{params, SqlExt};
use crate::store::protocol::PoolCounts;

/// Codes one upload may add to a pool, and the longest code.
pub const MAX_CODES_PER_UPLOAD: usize = 10_000;
pub const MAX_CODE_CHARS: usize = 64;
/// Tags one person keeps (the oldest go first).
const MAX_TAGS: i64 = 50;

/// Why a `set` step's coupon pool gave the person no code.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PoolMiss {
    /// The pool has no free code left.
    Empty,
    /// Nobody vouches for the person (see [`Db::may_take_pool_code`]).
    Unverified,
}

impl PoolMiss {
    /// The journey counter it adds to.
    pub fn counter(self) -> &'static str {
        match self {
            PoolMiss::Empty => "coupon_pool_empty",
            PoolMiss::Unverified => "coupon_unverified",
        }
    }
}

impl Db<'_> {
    /// The segments the agent sees: from orders and contact, plus the
    /// person's journey tags and stages.
    pub fn segments(
        &self,
        person: &str,
        orders: i64,
        contact: &Contact,
    ) -> StoreResult<Vec<String>> {
        let mut segments = Vec::new();
        if orders > 0 {
            segments.push("customer".to_owned());
        }
        if orders >= 3 {
            segments.push("vip".to_owned());
        }
        let verified = self.sql.exists(
            "SELECT 1 FROM identifiers WHERE person_id = ? AND kind = 'email' AND verified = 1",
            params![person],
        )?;
        if verified && !contact.suppressed {
            segments.push("email_subscriber".to_owned());
        }
        for row in self.sql.query(
            "SELECT tag FROM person_tags WHERE person = ? ORDER BY at, tag",
            params![person],
        )? {
            segments.extend(row["tag"].as_str().map(str::to_owned));
        }
        for row in self.sql.query(
            "SELECT journey, stage FROM journey_stages WHERE person = ? ORDER BY journey",
            params![person],
        )? {
            if let (Some(j), Some(s)) = (row["journey"].as_str(), row["stage"].as_str()) {
                segments.push(format!("{j}:{s}"));
            }
        }
        Ok(segments)
    }

    /// A `set` step. Returns why the step's coupon pool gave no code, if it
    /// gave none that the person did not already hold.
    pub fn set_facts(
        &self,
        person: &str,
        journey: &str,
        tag: Option<&str>,
        stage: Option<&str>,
        coupon_pool: Option<&str>,
    ) -> StoreResult<Option<PoolMiss>> {
        if let Some(tag) = tag {
            self.sql.execute(
                "INSERT INTO person_tags (person, tag, at) VALUES (?, ?, ?)
                 ON CONFLICT (person, tag) DO UPDATE SET at = excluded.at",
                params![person, tag, self.now],
            )?;
            self.sql.execute(
                "DELETE FROM person_tags WHERE person = ?1 AND tag NOT IN
                   (SELECT tag FROM person_tags WHERE person = ?1 ORDER BY at DESC LIMIT ?2)",
                params![person, MAX_TAGS],
            )?;
        }
        if let Some(stage) = stage {
            self.sql.execute(
                "INSERT INTO journey_stages (person, journey, stage, at) VALUES (?, ?, ?, ?)
                 ON CONFLICT (person, journey) DO UPDATE SET stage = excluded.stage, at = excluded.at",
                params![person, journey, stage, self.now],
            )?;
        }
        let Some(pool) = coupon_pool else {
            return Ok(None);
        };
        // A browser costs nothing to invent (a fresh anonymous id with its own
        // key is proven on its first request), so a code goes only to someone
        // the shop or a channel vouches for: a thousand made-up visitors
        // cannot empty a pool.
        if !self.may_take_pool_code(person)? {
            return Ok(Some(PoolMiss::Unverified));
        }
        // One code per person and pool while it is unused: a run replayed
        // or repeated does not take (or let anyone collect) another.
        if self.held_pool_code(pool, person)?.is_some() {
            return Ok(None);
        }
        // The oldest free code; the partial index finds it without a scan.
        let code = self.sql.text(
            "SELECT code FROM coupon_pools WHERE pool = ? AND person IS NULL ORDER BY added_at, code LIMIT 1",
            params![pool],
        )?;
        let Some(code) = code else {
            return Ok(Some(PoolMiss::Empty));
        };
        self.sql.execute(
            "UPDATE coupon_pools SET person = ?, taken_at = ? WHERE pool = ? AND code = ?",
            params![person, self.now, pool, code.as_str()],
        )?;
        self.sql.execute(
            "INSERT OR IGNORE INTO coupons (person_id, code, issued_at) VALUES (?, ?, ?)",
            params![person, code.as_str(), self.now],
        )?;
        Ok(None)
    }

    /// The unused code of `pool` that `person` holds, if any.
    pub fn held_pool_code(&self, pool: &str, person: &str) -> StoreResult<Option<String>> {
        self.sql.text(
            "SELECT p.code FROM coupon_pools p JOIN coupons c ON c.person_id = p.person AND c.code = p.code
             WHERE p.pool = ? AND p.person = ? AND c.redeemed = 0 LIMIT 1",
            params![pool, person],
        )
    }

    /// Whether `person` may be given a code from a coupon pool: a signed-in
    /// user (a user token, the shop's backend) or someone with a verified
    /// email or phone (a signed link, a `u2` token, a signed webhook). An
    /// anonymous browser, or an address a visitor merely typed, is not enough.
    pub fn may_take_pool_code(&self, person: &str) -> StoreResult<bool> {
        self.sql.exists(
            "SELECT 1 FROM persons WHERE id = ?1 AND user_id IS NOT NULL
             UNION ALL SELECT 1 FROM identifiers WHERE person_id = ?1 AND verified = 1
               AND kind IN ('user', 'email', 'phone')
             UNION ALL SELECT 1 FROM contacts WHERE person_id = ?1
               AND (email_verified = 1 OR phone_verified = 1)",
            params![person],
        )
    }

    /// Adds codes to a pool (those already in it are left alone).
    pub fn add_pool_codes(&self, pool: &str, codes: &[String]) -> StoreResult<PoolCounts> {
        if codes.len() > MAX_CODES_PER_UPLOAD {
            return Err(StoreError::Invalid(format!(
                "at most {MAX_CODES_PER_UPLOAD} codes per upload, got {}",
                codes.len()
            )));
        }
        if let Some(bad) = codes.iter().find(|c| !valid_code(c)) {
            return Err(StoreError::Invalid(format!(
                "code {:?} must be 1-{MAX_CODE_CHARS} printable characters without spaces",
                bad.chars().take(80).collect::<String>()
            )));
        }
        let size = || {
            self.sql.int(
                "SELECT count(*) FROM coupon_pools WHERE pool = ?",
                params![pool],
            )
        };
        let before = size()?.unwrap_or(0);
        for code in codes {
            self.sql.execute(
                "INSERT OR IGNORE INTO coupon_pools (pool, code, added_at) VALUES (?, ?, ?)",
                params![pool, code.as_str(), self.now],
            )?;
        }
        let mut counts = self.pool_counts(pool)?;
        counts.added = Some(size()?.unwrap_or(0) - before);
        Ok(counts)
    }

    pub fn pool_counts(&self, pool: &str) -> StoreResult<PoolCounts> {
        let count = |taken: bool| {
            self.sql.int(
                &format!(
                    "SELECT count(*) FROM coupon_pools WHERE pool = ? AND person IS {}NULL",
                    if taken { "NOT " } else { "" }
                ),
                params![pool],
            )
        };
        Ok(PoolCounts {
            pool: pool.to_owned(),
            available: count(false)?.unwrap_or(0),
            taken: count(true)?.unwrap_or(0),
            added: None,
        })
    }
}

pub fn valid_code(code: &str) -> bool {
    (1..=MAX_CODE_CHARS).contains(&code.chars().count())
        && code.chars().all(|c| c.is_ascii_graphic())
}
