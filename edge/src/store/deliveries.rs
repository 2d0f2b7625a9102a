//! Forwarding bookkeeping: which deliveries are done, who a delivery is for,
//! SMS budgets, and dead letters.
//!
//! Two guarantees, by channel:
//! - at least once (webhook, Klaviyo, Drip, Meta): checked before sending,
//!   recorded after a 2xx; a crash in between sends again, and the receiver
//!   drops the repeat by the `idempotency-key` / event id we always send.
//! - at most once (Twilio SMS, which cannot de-duplicate): the delivery is
//!   claimed here before sending, together with the person's daily SMS budget;
//!   a crash after the claim loses that SMS rather than sending it twice.

use serde_json::Value;

use super::identity::next_page;
use super::persons::Db;
use super::protocol::{Contact, DeliveryCheck, DeliveryVerdict, Page, SmsBudget, StoreResult};
use super::sql::{params, SqlExt};
use crate::store::protocol::DeadLetterPage;
use crate::store::protocol::FiledLetter;
use crate::store::protocol::Outcomes;
use crate::store::protocol::Removed;

const DAY_MS: i64 = 24 * 3600 * 1000;
/// Transactional journey emails to one unverified address per day.
pub const UNVERIFIED_EMAILS_PER_DAY: i64 = 2;

impl Db<'_> {
    /// The verdicts for a queue batch's deliveries, in order, in one
    /// transaction: a repeat of a delivery earlier in the same batch (the
    /// queue delivers at least once) is `AlreadyDone`, so it is not sent
    /// twice while the first is in flight.
    pub fn deliveries(&self, checks: &[DeliveryCheck]) -> StoreResult<Vec<DeliveryVerdict>> {
        let mut seen = std::collections::HashSet::new();
        checks
            .iter()
            .map(|check| {
                if seen.insert((check.destination.as_str(), check.event_id.as_str())) {
                    self.delivery(check)
                } else {
                    Ok(DeliveryVerdict::AlreadyDone)
                }
            })
            .collect()
    }

    /// What a queue batch's attempts came to: the deliveries done (or found
    /// not to apply) and the letters to file, in one transaction.
    pub fn record_outcomes(&self, outcomes: &Outcomes) -> StoreResult<()> {
        for done in &outcomes.delivered {
            self.delivered(&done.destination, &done.event_id)?;
        }
        for letter in &outcomes.dead_letters {
            self.dead_letter(&letter.reason, &letter.message)?;
        }
        Ok(())
    }

    pub fn delivery(&self, check: &DeliveryCheck) -> StoreResult<DeliveryVerdict> {
        let done = self.sql.query(
            "SELECT claimed, at FROM deliveries WHERE destination = ? AND event_id = ?",
            params![check.destination.as_str(), check.event_id.as_str()],
        )?;
        if let Some(row) = done.first() {
            if row["claimed"] != 1 {
                return Ok(DeliveryVerdict::AlreadyDone);
            }
            // An SMS claimed earlier whose outcome never came back (the
            // consumer stopped between the claim and its record): it may or
            // may not have left, so it is never sent again, and filed so
            // someone can find out, rather than passing silently as done.
            let at = row["at"].as_i64().unwrap_or_default();
            let reason = format!(
                "SMS outcome unknown: claimed at {} and never confirmed; it may or may not have been sent",
                nudge_core::time::to_iso8601(at)
            );
            self.dead_letter(&reason, &serde_json::to_value(check).unwrap_or_default())?;
            self.delivered(&check.destination, &check.event_id)?;
            return Ok(DeliveryVerdict::Skip { reason });
        }
        // Stored here before its person moved in a merge across objects:
        // the person, its contact and its budgets are where it went. (What
        // was delivered is recorded here, so a repeat stops above.)
        if let Some(object) = self.moved_away(check)? {
            return Ok(DeliveryVerdict::Moved { object });
        }
        let person = match (&check.person, &check.anonymous_id) {
            (Some(person), _) => Some(self.current_person(person)?),
            (None, Some(browser)) => self.person_of("anon", browser)?,
            (None, None) => None,
        };
        let mut contact = match &person {
            Some(person) => self.contact(person)?,
            None => Default::default(),
        };
        if let (Some(person), Some(_)) = (&person, &check.person) {
            if let Some(reason) = self.journey_send_refusal(person, check, &mut contact)? {
                self.delivered(&check.destination, &check.event_id)?;
                return Ok(DeliveryVerdict::Skip { reason });
            }
        }
        let Some(budget) = check.claim else {
            return Ok(DeliveryVerdict::Send { contact });
        };
        // SMS: only to a number from a verified source, never to a suppressed
        // one, within the budgets; claimed now, whatever happens next.
        let skip = |reason: &str| -> StoreResult<DeliveryVerdict> {
            self.delivered(&check.destination, &check.event_id)?;
            Ok(DeliveryVerdict::Skip {
                reason: reason.into(),
            })
        };
        let phone = match (&contact.phone, contact.phone_verified) {
            (Some(phone), true) => phone.clone(),
            (Some(_), false) => return skip("the phone on record is not verified"),
            (None, _) => return skip("no phone on record"),
        };
        if contact.suppressed {
            return skip("the address is on the suppression list");
        }
        if let Some(reason) = self.over_sms_budget(&phone, budget)? {
            return skip(&reason);
        }
        self.sql.execute(
            "INSERT OR IGNORE INTO deliveries (destination, event_id, at, claimed) VALUES (?, ?, ?, 1)",
            params![check.destination.as_str(), check.event_id.as_str(), self.now],
        )?;
        Ok(DeliveryVerdict::Send { contact })
    }

    /// The object a delivery's person or browser moved to, if it left this one.
    fn moved_away(&self, check: &DeliveryCheck) -> StoreResult<Option<u16>> {
        let object = match (&check.person, &check.anonymous_id) {
            (Some(person), _) => self.sql.int(
                "SELECT object FROM moved_persons WHERE person = ?",
                params![self.current_person(person)?],
            )?,
            (None, Some(browser)) => self.sql.int(
                "SELECT object FROM moved_browsers WHERE anonymous_id = ?",
                params![browser.as_str()],
            )?,
            (None, None) => None,
        };
        Ok(object.and_then(|o| u16::try_from(o).ok()))
    }

    /// A journey's send, checked again as it leaves (the person may have
    /// unsubscribed or withdrawn consent since the step ran). Journeys
    /// reach only verified addresses, never suppressed ones; the one
    /// exception is a transactional email to an address the person typed
    /// (confirm your subscription), at most `UNVERIFIED_EMAILS_PER_DAY` per
    /// address and day across the site, so nobody can have the shop mail a
    /// stranger by typing their address. Returns why not, or trims `contact`
    /// to what may be used.
    fn journey_send_refusal(
        &self,
        person: &str,
        check: &DeliveryCheck,
        contact: &mut Contact,
    ) -> StoreResult<Option<String>> {
        if contact.suppressed {
            return Ok(Some("the address is on the suppression list".into()));
        }
        let marketing = check.purpose.as_deref() != Some("transactional");
        if marketing && !self.consents_to_marketing(person)? {
            return Ok(Some(
                "the person has not agreed to marketing (any more)".into(),
            ));
        }
        if !contact.phone_verified {
            contact.phone = None;
        }
        if !contact.email_verified {
            let budget_left = match (&contact.email, marketing) {
                (Some(email), false) => self.take_unverified_email(email)?,
                _ => false,
            };
            if !budget_left {
                contact.email = None;
            }
        }
        Ok(None)
    }

    fn consents_to_marketing(&self, person: &str) -> StoreResult<bool> {
        Ok(self.sql.int(
            "SELECT consent_marketing FROM person_state WHERE person = ?",
            params![person],
        )? == Some(1))
    }

    /// Counts one transactional email to an unverified address today, if
    /// the address's budget allows (kept beside the SMS counters).
    fn take_unverified_email(&self, email: &str) -> StoreResult<bool> {
        let hash = format!("email:{}", crate::tokens::sha256_hex(&email.to_lowercase()));
        if self.sent_today(&hash)? >= UNVERIFIED_EMAILS_PER_DAY {
            return Ok(false);
        }
        self.count_sent_today(&hash)?;
        Ok(true)
    }

    /// Messages counted today to the address with this hash.
    fn sent_today(&self, hash: &str) -> StoreResult<i64> {
        Ok(self
            .sql
            .int(
                "SELECT count FROM sms_sends WHERE phone_hash = ? AND day = ?",
                params![hash, self.now / DAY_MS],
            )?
            .unwrap_or(0))
    }

    fn count_sent_today(&self, hash: &str) -> StoreResult<()> {
        self.sql.execute(
            "INSERT INTO sms_sends (phone_hash, day, count) VALUES (?, ?, 1)
             ON CONFLICT (phone_hash, day) DO UPDATE SET count = count + 1",
            params![hash, self.now / DAY_MS],
        )?;
        Ok(())
    }

    /// Counts one SMS to `phone` today, unless a budget is spent.
    fn over_sms_budget(&self, phone: &str, budget: SmsBudget) -> StoreResult<Option<String>> {
        let day = self.now / DAY_MS;
        let hash = crate::tokens::sha256_hex(phone);
        let to_number = self.sent_today(&hash)?;
        if to_number >= i64::from(budget.per_number_per_day) {
            return Ok(Some(format!(
                "this number got {to_number} SMS today (cap {})",
                budget.per_number_per_day
            )));
        }
        let site_total = self
            .sql
            .int(
                "SELECT coalesce(sum(count), 0) FROM sms_sends WHERE day = ? AND phone_hash NOT LIKE 'email:%'",
                params![day],
            )?
            .unwrap_or(0);
        if site_total >= i64::from(budget.per_site_per_day) {
            return Ok(Some(format!(
                "the site sent {site_total} SMS today (cap {})",
                budget.per_site_per_day
            )));
        }
        self.count_sent_today(&hash)?;
        Ok(None)
    }

    /// Records a delivery as done (or decided not to apply); confirms an
    /// SMS's claim.
    pub fn delivered(&self, destination: &str, event_id: &str) -> StoreResult<()> {
        self.sql.execute(
            "INSERT INTO deliveries (destination, event_id, at) VALUES (?, ?, ?)
             ON CONFLICT (destination, event_id) DO UPDATE SET claimed = 0",
            params![destination, event_id, self.now],
        )?;
        Ok(())
    }

    pub fn dead_letter(&self, reason: &str, message: &Value) -> StoreResult<()> {
        self.sql.execute(
            "INSERT INTO dead_letters (at, reason, message) VALUES (?, ?, ?)",
            params![self.now, reason, message.to_string()],
        )?;
        Ok(())
    }

    /// Dead letters, oldest first, a page at a time (`after` a sequence number).
    pub fn dead_letters(&self, page: &Page) -> StoreResult<DeadLetterPage> {
        let rows = self.sql.query(
            "SELECT seq, at, reason, message FROM dead_letters WHERE seq > ? ORDER BY seq LIMIT ?",
            params![page.after.unwrap_or(0), page.limit()],
        )?;
        let next = next_page(&rows, "seq", page);
        let letters = rows
            .into_iter()
            .map(|r| FiledLetter {
                seq: r["seq"].as_i64().unwrap_or_default(),
                at: r["at"].as_i64().unwrap_or_default(),
                reason: r["reason"].as_str().unwrap_or_default().to_owned(),
                message: r["message"]
                    .as_str()
                    .and_then(|m| serde_json::from_str(m).ok())
                    .unwrap_or(Value::Null),
            })
            .collect();
        let total = self
            .sql
            .int("SELECT count(*) FROM dead_letters", &[])?
            .unwrap_or(0);
        Ok(DeadLetterPage {
            letters,
            total,
            next_after: next,
        })
    }

    pub fn remove_dead_letters(&self, seqs: &[i64]) -> StoreResult<Removed> {
        let mut removed = 0;
        for seq in seqs {
            removed += self
                .sql
                .execute("DELETE FROM dead_letters WHERE seq = ?", params![*seq])?;
        }
        Ok(Removed { removed })
    }
}
