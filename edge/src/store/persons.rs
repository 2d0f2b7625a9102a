//! Persons and what the store knows about them: identifiers, contact details
//! (with where they came from), the suppression list, and the profile the
//! agent reads.
//!
//! A person has identifiers (anonymous browser ids, a user id, SHA-256 of an
//! email or phone) and facts (orders, coupons from offsite channels, campaign
//! history). Contact details are kept raw for delivery only; identity links
//! use the hashes. Details from an unverified source (a visitor typing into a
//! popup) are kept only where nothing is on record yet, and never overwrite;
//! a verified source (the shop's signed identify, a signed link, a signed
//! webhook) does overwrite, and marks them verified.

use serde_json::Value;

use super::protocol::{Contact, StoreResult};
use super::sql::{params, Sql, SqlExt};
use crate::store::protocol::AgentCampaign;
use crate::store::protocol::AgentCoupon;
use crate::store::protocol::AgentProfile;

/// Anonymous ids kept per person; the oldest are dropped past this.
pub const MAX_ANONYMOUS_IDS: usize = 50;

/// An admin's name for a person read as an address (an email or a phone
/// number): its hash, none if it does not read as one; `None` for a name
/// that is not an address (a person, user or browser id).
pub fn named_address(id: &str) -> Option<Vec<(&'static str, String)>> {
    if id.contains('@') {
        Some(hashed_addresses(Some(id), None))
    } else if id.trim_start().starts_with('+') {
        Some(hashed_addresses(None, Some(id)))
    } else {
        None
    }
}

/// `("email", hash)` and `("phone", hash)` for the valid ones among them.
pub fn hashed_addresses(email: Option<&str>, phone: Option<&str>) -> Vec<(&'static str, String)> {
    [
        ("email", email.and_then(crate::tokens::email_hash)),
        ("phone", phone.and_then(crate::tokens::phone_hash)),
    ]
    .into_iter()
    .filter_map(|(kind, hash)| Some((kind, hash?)))
    .collect()
}

/// The store's logic over one SQL connection at one instant.
pub struct Db<'a> {
    pub sql: &'a dyn Sql,
    pub now: i64,
}

/// Where contact details came from.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Source {
    /// Typed by a visitor: kept where nothing is on record, never overwriting.
    Unverified,
    /// Signed by the shop or a channel.
    Verified,
}

impl Db<'_> {
    pub fn person_of(&self, kind: &str, value: &str) -> StoreResult<Option<String>> {
        self.sql.text(
            "SELECT person_id FROM identifiers WHERE kind = ? AND value = ?",
            params![kind, value],
        )
    }

    /// A new person in logical shard `logical` (`store::shards`: its id
    /// names it, so commands about the person find its object).
    pub fn new_person(&self, logical: u16, seed: &str) -> StoreResult<String> {
        // Unique inside one site's store: time plus a hash of the seed and the
        // newest row number (two persons made in one millisecond differ).
        // `max(rowid)` is a b-tree lookup; `count(*)` would scan every person.
        let count = self
            .sql
            .int("SELECT coalesce(max(rowid), 0) FROM persons", &[])?
            .unwrap_or(0);
        let id = format!(
            "{}_{:x}_{:08x}",
            super::shards::person_prefix(logical),
            self.now,
            nudge_core::bucket::fingerprint(&[seed, &self.now.to_string(), &count.to_string()])
        );
        self.sql.execute(
            "INSERT INTO persons (id, created_at) VALUES (?, ?)",
            params![id.as_str(), self.now],
        )?;
        Ok(id)
    }

    pub fn add_identifier(
        &self,
        person: &str,
        kind: &str,
        value: &str,
        verified: bool,
    ) -> StoreResult<()> {
        self.sql.execute(
            "INSERT INTO identifiers (kind, value, person_id, verified, added_at) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (kind, value) DO UPDATE SET verified = max(verified, excluded.verified)",
            params![kind, value, person, i64::from(verified), self.now],
        )?;
        Ok(())
    }

    /// Where `person` lives now: itself, or the person it was merged into
    /// (followed a few hops; merges chain rarely).
    pub fn current_person(&self, person: &str) -> StoreResult<String> {
        let mut current = person.to_owned();
        for _ in 0..8 {
            match self.sql.text(
                "SELECT merged_into FROM persons WHERE id = ?",
                params![current.as_str()],
            )? {
                Some(into) => current = into,
                None => break,
            }
        }
        Ok(current)
    }

    /// The person behind a browser, created on first sight.
    pub fn person_for_browser(&self, anonymous_id: &str) -> StoreResult<String> {
        if let Some(p) = self.person_of("anon", anonymous_id)? {
            return Ok(p);
        }
        let logical = super::shards::logical_of_browser(anonymous_id);
        let p = self.new_person(logical, anonymous_id)?;
        self.add_identifier(&p, "anon", anonymous_id, false)?;
        Ok(p)
    }

    pub fn user_id_of(&self, person: &str) -> StoreResult<Option<String>> {
        self.sql
            .text("SELECT user_id FROM persons WHERE id = ?", params![person])
    }

    /// Registers a browser's key, the first time one is presented for it:
    /// the first writer wins, so nobody can replace a browser's key later.
    /// True if the key presented is the one the store holds for that browser.
    pub fn register_key(&self, key: &super::protocol::BrowserKey) -> StoreResult<bool> {
        self.sql.execute(
            "INSERT OR IGNORE INTO browser_keys (anonymous_id, key_hash, at) VALUES (?, ?, ?)",
            params![key.anonymous_id.as_str(), key.key_hash.as_str(), self.now],
        )?;
        let held = self.sql.text(
            "SELECT key_hash FROM browser_keys WHERE anonymous_id = ?",
            params![key.anonymous_id.as_str()],
        )?;
        Ok(held.as_deref() == Some(key.key_hash.as_str()))
    }

    /// Whether `key` is the browser's key, or would become it (none held yet).
    pub fn key_would_match(&self, key: &super::protocol::BrowserKey) -> StoreResult<bool> {
        let held = self.sql.text(
            "SELECT key_hash FROM browser_keys WHERE anonymous_id = ?",
            params![key.anonymous_id.as_str()],
        )?;
        Ok(held.is_none_or(|h| h == key.key_hash))
    }

    /// The person's facts, for the browser that shows its key.
    pub fn profile_for(&self, anonymous_id: &str, key_hash: &str) -> StoreResult<AgentProfile> {
        // A browser whose person moved in a merge is read where it went.
        if self.any_moves()? {
            if let Some(object) = self.moved_browser(anonymous_id)? {
                return Err(super::protocol::StoreError::Moved { object });
            }
        }
        let registered = self.sql.text(
            "SELECT key_hash FROM browser_keys WHERE anonymous_id = ?",
            params![anonymous_id],
        )?;
        // Hashes of random keys: comparing them leaks nothing about the key.
        if registered.as_deref() != Some(key_hash) {
            return Err(super::protocol::StoreError::BrowserKey(
                "reading a profile needs this browser's key".into(),
            ));
        }
        self.profile(anonymous_id)
    }

    /// Keeps the valid email and phone among `email`/`phone` for `person`.
    pub fn remember_contact(
        &self,
        person: &str,
        email: Option<&str>,
        phone: Option<&str>,
        source: Source,
    ) -> StoreResult<()> {
        let email = email.and_then(|e| nudge_core::capture::normalize_email(e).ok());
        let phone = phone.and_then(|p| nudge_core::capture::normalize_phone(p).ok());
        if email.is_none() && phone.is_none() {
            return Ok(());
        }
        let statement = match source {
            // Only fills what is missing: a visitor cannot redirect someone's messages.
            Source::Unverified => {
                "INSERT INTO contacts (person_id, email, phone, at) VALUES (?, ?, ?, ?)
                 ON CONFLICT (person_id) DO UPDATE SET email = coalesce(email, excluded.email),
                 phone = coalesce(phone, excluded.phone), at = excluded.at"
            }
            Source::Verified => {
                "INSERT INTO contacts (person_id, email, phone, at, email_verified, phone_verified)
                 VALUES (?1, ?2, ?3, ?4, ?2 IS NOT NULL, ?3 IS NOT NULL)
                 ON CONFLICT (person_id) DO UPDATE SET
                 email = coalesce(excluded.email, email), phone = coalesce(excluded.phone, phone),
                 email_verified = max(email_verified, excluded.email_verified),
                 phone_verified = CASE WHEN excluded.phone IS NOT NULL THEN 1 ELSE phone_verified END,
                 at = excluded.at"
            }
        };
        self.sql
            .execute(statement, params![person, email, phone, self.now])?;
        Ok(())
    }

    /// Puts an address on the suppression list (by hash: it outlives persons,
    /// merges and their undo).
    pub fn suppress(
        &self,
        email: Option<&str>,
        phone: Option<&str>,
        source: &str,
    ) -> StoreResult<u32> {
        let mut added = 0;
        for (kind, hash) in hashed_addresses(email, phone) {
            let new = self.sql.execute(
                "INSERT OR IGNORE INTO suppressions (kind, hash, at, source) VALUES (?, ?, ?, ?)",
                params![kind, hash.as_str(), self.now, source],
            )?;
            if new > 0 {
                // Copied to the site's other objects (`store::spread`).
                self.sql.execute(
                    "INSERT OR IGNORE INTO suppression_outbox (kind, hash, at, source) VALUES (?, ?, ?, ?)",
                    params![kind, hash.as_str(), self.now, source],
                )?;
            }
            added += new as u32;
        }
        Ok(added)
    }

    fn suppressed(&self, kind: &str, address: Option<&str>) -> StoreResult<bool> {
        let hash = match (kind, address) {
            ("email", Some(a)) => crate::tokens::email_hash(a),
            ("phone", Some(a)) => crate::tokens::phone_hash(a),
            _ => None,
        };
        match hash {
            Some(hash) => self.sql.exists(
                "SELECT 1 FROM suppressions WHERE kind = ? AND hash = ?",
                params![kind, hash],
            ),
            None => Ok(false),
        }
    }

    /// How channels may reach `person`.
    pub fn contact(&self, person: &str) -> StoreResult<Contact> {
        let rows = self.sql.query(
            "SELECT p.user_id, p.unsubscribed, c.email, c.phone, c.phone_verified, c.email_verified FROM persons p
             LEFT JOIN contacts c ON c.person_id = p.id WHERE p.id = ?",
            params![person],
        )?;
        let Some(row) = rows.first() else {
            return Ok(Contact::default());
        };
        let text = |k: &str| row.get(k).and_then(Value::as_str).map(str::to_owned);
        let mut contact = Contact {
            user_id: text("user_id"),
            email: text("email"),
            phone: text("phone"),
            phone_verified: row.get("phone_verified").and_then(Value::as_i64) == Some(1),
            email_verified: row.get("email_verified").and_then(Value::as_i64) == Some(1),
            suppressed: row.get("unsubscribed").and_then(Value::as_i64) == Some(1),
        };
        contact.suppressed |= self.suppressed("email", contact.email.as_deref())?
            || self.suppressed("phone", contact.phone.as_deref())?;
        Ok(contact)
    }

    /// What the agent needs, in `nudge_core::profile::RemoteFacts`' wire shape.
    pub fn profile(&self, anonymous_id: &str) -> StoreResult<AgentProfile> {
        let Some(person) = self.person_of("anon", anonymous_id)? else {
            return Ok(AgentProfile::default());
        };
        let facts = self.sql.query(
            "SELECT user_id, orders, total_spent, unsubscribed FROM persons WHERE id = ?",
            params![person.as_str()],
        )?;
        let fact = facts.first().cloned().unwrap_or_default();
        let iso = |v: Option<&Value>| v.and_then(Value::as_i64).map(nudge_core::time::to_iso8601);
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        let coupons = self
            .sql
            .query(
                "SELECT code, issued_at, expires_at, redeemed FROM coupons WHERE person_id = ?
                 ORDER BY issued_at DESC LIMIT 50",
                params![person.as_str()],
            )?
            .iter()
            .map(|c| AgentCoupon {
                code: text(&c["code"]),
                issued_at: iso(c.get("issued_at")),
                expires_at: iso(c.get("expires_at")),
                redeemed: c["redeemed"] == 1,
            })
            .collect();
        let campaigns = self
            .sql
            .query(
                "SELECT campaign_id, impressions, total, dismissed_at, converted_at FROM campaigns
                 WHERE person_id = ? LIMIT 200",
                params![person.as_str()],
            )?
            .iter()
            .map(|c| AgentCampaign {
                id: text(&c["campaign_id"]),
                imp: c["impressions"]
                    .as_str()
                    .and_then(|s| serde_json::from_str(s).ok())
                    .unwrap_or_default(),
                total: c["total"].as_i64().unwrap_or(0),
                dismissed: c["dismissed_at"].as_i64(),
                converted: c["converted_at"].as_i64(),
            })
            .collect();
        let orders = fact.get("orders").and_then(Value::as_i64).unwrap_or(0);
        let contact = self.contact(&person)?;
        let segments = self.segments(&person, orders, &contact)?;
        Ok(AgentProfile {
            user_id: fact
                .get("user_id")
                .and_then(Value::as_str)
                .map(str::to_owned),
            orders,
            total_spent: fact
                .get("total_spent")
                .and_then(Value::as_f64)
                .unwrap_or(0.0),
            coupons,
            segments,
            campaigns,
        })
    }
}
