//! Linking browsers to persons, only ever on proof, and undoing it.
//!
//! Browsers only name their anonymous id; everything else is linked by
//! proof the Worker verified: a user token from the shop, a click token from
//! an email or SMS link, a signed first-party cookie, or a signed webhook. An
//! email typed into a popup is kept as an unverified claim and never links
//! anyone. Every link that joins two persons is a merge appended to `merges`
//! with its proof and what moved, so it can be audited and undone; two
//! different user ids are never merged.

use serde_json::{json, Value};

use super::persons::{hashed_addresses, Db, Source, MAX_ANONYMOUS_IDS};
use super::protocol::{Identified, Identify, Page, Proven, StoreError, StoreResult};
use super::sql::{params, SqlExt};
use crate::store::protocol::Claimed;

const MAX_IMPRESSIONS: usize = 20;
/// Campaign history rows one person keeps (the profile answers at most 200,
/// the agent keeps at most 200).
pub const MAX_CAMPAIGNS_PER_PERSON: i64 = 200;

impl Db<'_> {
    /// Links a browser to a proven identity. The browser must prove it is
    /// itself (its key), or anyone knowing its anonymous id could attach it
    /// to their own account and read it. Every refusal is decided before the
    /// first write: a refused call changes nothing.
    pub fn identify(&self, command: &Identify) -> StoreResult<Identified> {
        let anonymous_id = command.anonymous_id.as_str();
        self.browser_is_here(anonymous_id)?;
        let key = command
            .browser_key
            .as_ref()
            .filter(|k| k.anonymous_id == anonymous_id)
            .ok_or_else(|| StoreError::BrowserKey("identify needs this browser's key".into()))?;
        if !self.key_would_match(key)? {
            return Err(StoreError::BrowserKey(
                "that is not this browser's key".into(),
            ));
        }
        if let Some(nonce) = &command.nonce {
            if self.sql.exists(
                "SELECT 1 FROM used_nonces WHERE nonce = ?",
                params![nonce.as_str()],
            )? {
                return Err(StoreError::TokenUsed("this link was already used".into()));
            }
        }
        let (kind, value) = match &command.proven {
            Proven::UserId(user) => ("user", user.as_str()),
            Proven::EmailHash(hash) => ("email", hash.as_str()),
            Proven::PhoneHash(hash) => ("phone", hash.as_str()),
        };
        if let Some(browser) = self.person_of("anon", anonymous_id)? {
            match self.person_of(kind, value)? {
                None if kind == "user"
                    && self
                        .user_id_of(&browser)?
                        .is_some_and(|other| other != value) =>
                {
                    return Err(StoreError::UserConflict(
                        "this browser belongs to another user id".into(),
                    ));
                }
                Some(target) if target != browser => {
                    self.refuse_two_user_ids(&browser, &target)?;
                    self.refuse_moving(&target)?;
                }
                _ => {}
            }
        }
        // Decided: now the writes.
        self.register_key(key)?;
        if let Some(nonce) = &command.nonce {
            self.sql.execute(
                "INSERT INTO used_nonces (nonce, at) VALUES (?, ?)",
                params![nonce.as_str(), self.now],
            )?;
        }
        let browser = self.person_for_browser(anonymous_id)?;
        let (person, merged) = match self.person_of(kind, value)? {
            None => {
                if kind == "user" {
                    self.sql.execute(
                        "UPDATE persons SET user_id = ? WHERE id = ?",
                        params![value, browser.as_str()],
                    )?;
                }
                self.add_identifier(&browser, kind, value, true)?;
                (browser, false)
            }
            Some(target) if target == browser => (target, false),
            Some(target) => {
                self.merge(&browser, &target, &command.proof)?;
                (target, true)
            }
        };
        self.remember_contact(
            &person,
            command.email.as_deref(),
            command.phone.as_deref(),
            Source::Verified,
        )?;
        Ok(Identified { person, merged })
    }

    fn refuse_two_user_ids(&self, a: &str, b: &str) -> StoreResult<()> {
        if let (Some(x), Some(y)) = (self.user_id_of(a)?, self.user_id_of(b)?) {
            if x != y {
                return Err(StoreError::UserConflict(
                    "never merging two different user ids".into(),
                ));
            }
        }
        Ok(())
    }

    /// A validly signed first-party cookie says `fresh` is the same browser
    /// as `known` (its script storage was wiped): a logged merge with proof
    /// `signed_cookie`, undoable like any other. Never across two user ids,
    /// and never into a signed-in person: the cookie a user left on a shared
    /// browser must not pull the next user's fresh identity into theirs (a
    /// signed-in customer's wiped browser is linked again by the shop's
    /// identify, with its token).
    pub fn link_cookie(&self, known: &str, fresh: &str) -> StoreResult<()> {
        if known == fresh || fresh.is_empty() {
            return Ok(());
        }
        let Some(person) = self.person_of("anon", known)? else {
            return Ok(());
        };
        if self.user_id_of(&person)?.is_some() {
            return Ok(());
        }
        let other = self.person_for_browser(fresh)?;
        // A person moving to another object links on a later batch, once
        // it has arrived (the cookie comes with every batch).
        if other == person
            || self.refuse_two_user_ids(&other, &person).is_err()
            || self.frozen(&other)?.is_some()
            || self.frozen(&person)?.is_some()
        {
            return Ok(());
        }
        self.merge(&other, &person, "signed_cookie")
    }

    /// Records what a visitor typed (hashed): evidence for later, never a link.
    pub fn claim(
        &self,
        anonymous_id: &str,
        email: Option<&str>,
        phone: Option<&str>,
    ) -> StoreResult<Claimed> {
        self.browser_is_here(anonymous_id)?;
        let mut claimed = 0;
        for (kind, hash) in hashed_addresses(email, phone) {
            claimed += self.sql.execute(
                "INSERT OR IGNORE INTO claims (anonymous_id, kind, value, at) VALUES (?, ?, ?, ?)",
                params![anonymous_id, kind, hash, self.now],
            )?;
        }
        Ok(Claimed {
            claimed,
            merged: false,
            coupon: None,
        })
    }

    /// Moves everything `from` has to `into` and records the merge.
    pub fn merge(&self, from: &str, into: &str, proof: &str) -> StoreResult<()> {
        // Journeys' runs and what they know move by their own rule.
        self.move_runs(from, into)?;
        let moved_identifiers = self.sql.query(
            "SELECT kind, value FROM identifiers WHERE person_id = ?",
            params![from],
        )?;
        let facts = self.sql.query(
            "SELECT user_id, orders, total_spent FROM persons WHERE id = ?",
            params![from],
        )?;
        let fact = facts.first().cloned().unwrap_or_default();
        let from_user = fact.get("user_id").and_then(Value::as_str);
        let gave_user_id = from_user.is_some() && self.user_id_of(into)?.is_none();
        self.sql.execute(
            "UPDATE identifiers SET person_id = ? WHERE person_id = ?",
            params![into, from],
        )?;
        // Clear `from` first: user_id is unique.
        self.sql.execute(
            "UPDATE persons SET merged_into = ?, user_id = NULL, orders = 0, total_spent = 0 WHERE id = ?",
            params![into, from],
        )?;
        self.sql.execute(
            "UPDATE persons SET orders = orders + ?, total_spent = total_spent + ?, user_id = coalesce(user_id, ?) WHERE id = ?",
            params![
                fact.get("orders").and_then(Value::as_i64).unwrap_or(0),
                fact.get("total_spent").and_then(Value::as_f64).unwrap_or(0.0),
                from_user,
                into
            ],
        )?;
        // What an undo must give back: coupons `into` did not have, and `from`'s own
        // campaign history (undo restores it; `into` keeps the merged one, so caps stay on the safe side).
        let moved_coupons = self.sql.query(
            "SELECT code FROM coupons WHERE person_id = ? AND code NOT IN (SELECT code FROM coupons WHERE person_id = ?)",
            params![from, into],
        )?;
        self.sql.execute(
            "INSERT OR IGNORE INTO coupons SELECT ?, code, issued_at, expires_at, redeemed FROM coupons WHERE person_id = ?",
            params![into, from],
        )?;
        self.sql
            .execute("DELETE FROM coupons WHERE person_id = ?", params![from])?;
        // Contact details: `into`'s stay; `from`'s are copied only if `into`
        // has none (and an undo removes the copy again). An unsubscribe stays.
        let contacts_copied = self.sql.execute(
            "INSERT OR IGNORE INTO contacts (person_id, email, phone, at, email_verified, phone_verified)
             SELECT ?, email, phone, at, email_verified, phone_verified FROM contacts WHERE person_id = ?",
            params![into, from],
        )? > 0;
        self.sql.execute(
            "UPDATE persons SET unsubscribed = max(unsubscribed, (SELECT unsubscribed FROM persons WHERE id = ?)) WHERE id = ?",
            params![from, into],
        )?;
        let campaigns = self.sql.query(
            "SELECT campaign_id, impressions, total, dismissed_at, converted_at FROM campaigns WHERE person_id = ?",
            params![from],
        )?;
        for row in &campaigns {
            let campaign = row["campaign_id"].as_str().unwrap_or_default();
            self.ensure_campaign(into, campaign)?;
            let mut impressions = self.impressions_of(into, campaign)?;
            let theirs: Vec<i64> = row["impressions"]
                .as_str()
                .and_then(|s| serde_json::from_str(s).ok())
                .unwrap_or_default();
            impressions.extend(theirs);
            impressions.sort_unstable();
            impressions.dedup();
            keep_newest(&mut impressions);
            self.sql.execute(
                "UPDATE campaigns SET impressions = ?1, total = total + ?2,
                 dismissed_at = coalesce(max(dismissed_at, ?3), dismissed_at, ?3),
                 converted_at = coalesce(max(converted_at, ?4), converted_at, ?4) WHERE person_id = ?5 AND campaign_id = ?6",
                params![
                    impressions_text(&impressions),
                    row["total"].as_i64().unwrap_or(0),
                    row["dismissed_at"].as_i64(),
                    row["converted_at"].as_i64(),
                    into,
                    campaign
                ],
            )?;
        }
        self.sql
            .execute("DELETE FROM campaigns WHERE person_id = ?", params![from])?;
        // Reports count the merged person once (an undo leaves them so).
        self.merge_reports(from, into)?;
        let moved = json!({"identifiers": moved_identifiers, "facts": fact, "gave_user_id": gave_user_id,
            "contacts_copied": contacts_copied,
            "coupons": moved_coupons, "campaigns": campaigns});
        self.sql.execute(
            "INSERT INTO merges (at, from_person, into_person, proof, moved) VALUES (?, ?, ?, ?, ?)",
            params![self.now, from, into, proof, moved.to_string()],
        )?;
        self.cap_anonymous_ids(into)
    }

    fn cap_anonymous_ids(&self, person: &str) -> StoreResult<()> {
        self.sql.execute(
            "DELETE FROM identifiers WHERE kind = 'anon' AND person_id = ?1 AND value NOT IN
             (SELECT value FROM identifiers WHERE kind = 'anon' AND person_id = ?1 ORDER BY added_at DESC LIMIT ?2)",
            params![person, MAX_ANONYMOUS_IDS as i64],
        )?;
        Ok(())
    }

    /// The person's history row for `campaign`, made if missing. A person
    /// keeps at most [`MAX_CAMPAIGNS_PER_PERSON`] rows: a new one pushes out
    /// the oldest made (campaigns long gone from the config, in practice).
    pub fn ensure_campaign(&self, person: &str, campaign: &str) -> StoreResult<()> {
        let added = self.sql.execute(
            "INSERT OR IGNORE INTO campaigns (person_id, campaign_id) VALUES (?, ?)",
            params![person, campaign],
        )?;
        if added > 0 {
            self.sql.execute(
                "DELETE FROM campaigns WHERE person_id = ?1 AND rowid NOT IN
                   (SELECT rowid FROM campaigns WHERE person_id = ?1 ORDER BY rowid DESC LIMIT ?2)",
                params![person, MAX_CAMPAIGNS_PER_PERSON],
            )?;
        }
        Ok(())
    }

    /// When `person` saw `campaign` (the newest MAX_IMPRESSIONS, oldest first).
    fn impressions_of(&self, person: &str, campaign: &str) -> StoreResult<Vec<i64>> {
        Ok(self
            .sql
            .text(
                "SELECT impressions FROM campaigns WHERE person_id = ? AND campaign_id = ?",
                params![person, campaign],
            )?
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default())
    }

    pub fn record_impression(&self, person: &str, campaign: &str, at: i64) -> StoreResult<()> {
        self.ensure_campaign(person, campaign)?;
        let mut impressions = self.impressions_of(person, campaign)?;
        impressions.push(at);
        impressions.sort_unstable();
        keep_newest(&mut impressions);
        self.sql.execute(
            "UPDATE campaigns SET impressions = ?, total = total + 1 WHERE person_id = ? AND campaign_id = ?",
            params![impressions_text(&impressions), person, campaign],
        )?;
        Ok(())
    }
}

fn keep_newest(impressions: &mut Vec<i64>) {
    let excess = impressions.len().saturating_sub(MAX_IMPRESSIONS);
    impressions.drain(..excess);
}

fn impressions_text(impressions: &[i64]) -> String {
    Value::from(impressions.to_vec()).to_string()
}

/// The `before` for the next page, when this one was full.
pub fn next_page(rows: &[super::sql::Row], key: &str, page: &Page) -> Option<i64> {
    if rows.len() as i64 == page.limit() {
        rows.last().and_then(|r| r.get(key)).and_then(Value::as_i64)
    } else {
        None
    }
}
