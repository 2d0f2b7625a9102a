//! Inbound offsite events: a channel's verified webhook (a coupon issued, an
//! unsubscribe, the shop backend's identify, an email or SMS sent, opened or
//! clicked) applied to the person its user id, email or phone names.

use serde_json::Value;

use super::persons::{Db, Source};
use super::protocol::{Bind, HookApplied, StoreError, StoreResult};
use super::sql::params;

/// The inbound channel of the shop's own backend (`/v1/hooks/backend`,
/// signed with the site's signing key): the one whose identify events link.
pub const BACKEND_CHANNEL: &str = "backend";

impl Db<'_> {
    /// An inbound offsite event (signature already checked by the Worker):
    /// `event` is `{type, user_id?, email?, phone?, data}`.
    /// Applies a verified webhook; `objects`: how many objects the site is
    /// spread over (with one, the store keeps no directory).
    pub fn hook(
        &self,
        id: &str,
        channel: &str,
        event: &Value,
        objects: u16,
    ) -> StoreResult<HookApplied> {
        let spread = objects > 1;
        let (kind, value) = hook_identifier(event)?;
        let (email, phone) = (event["email"].as_str(), event["phone"].as_str());
        let kind_of_event = event["type"].as_str().unwrap_or_default();
        if kind_of_event == "identify" && channel != BACKEND_CHANNEL {
            return Err(StoreError::Invalid(
                "identify is accepted only from the shop's backend (/v1/hooks/backend)".into(),
            ));
        }
        if !HOOK_TYPES.contains(&kind_of_event) {
            return Err(StoreError::Invalid(format!(
                "unknown event type {kind_of_event:?} (known: {})",
                HOOK_TYPES.join(", ")
            )));
        }
        let data = &event["data"];
        if kind_of_event == "coupon.issued" && !data["code"].is_string() {
            return Err(StoreError::Invalid("data.code is required".into()));
        }
        let known = self.person_of(kind, &value)?;
        match &known {
            // A person moving to another object takes the hook once it has
            // arrived: the channel retries what is refused.
            Some(person) => self.refuse_moving(person)?,
            // With a site over several objects the hook comes to the
            // identifier's directory object (`store::placement`); a person
            // the directory places in another object is found there
            // (`store::route` asks).
            None if spread => {
                if let Some(elsewhere) = self.directory_person_elsewhere(kind, &value)? {
                    return Err(elsewhere);
                }
            }
            None => {}
        }
        // Recorded only once valid: a refused event leaves nothing behind.
        let fresh = self.sql.execute(
            "INSERT OR IGNORE INTO webhooks (id, channel, at, body) VALUES (?, ?, ?, ?)",
            params![id, channel, self.now, event.to_string()],
        )?;
        if fresh == 0 {
            return Err(StoreError::AlreadyProcessed(format!(
                "webhook {id} was already applied"
            )));
        }
        // The channel (or the shop's backend) knows this person: a verified identifier.
        let person = match known {
            Some(p) => p,
            None => {
                let logical = super::shards::logical_of_identifier(kind, &value);
                let p = self.new_person(logical, &value)?;
                if kind == "user" {
                    self.sql.execute(
                        "UPDATE persons SET user_id = ? WHERE id = ?",
                        params![value.as_str(), p.as_str()],
                    )?;
                }
                self.add_identifier(&p, kind, &value, true)?;
                // Made in the identifier's own object: the directory's
                // entry is here too, in the same transaction.
                if spread {
                    self.bind(&Bind {
                        kind: kind.into(),
                        value: value.clone(),
                        person: p.clone(),
                        object: None,
                    })?;
                }
                p
            }
        };
        match kind_of_event {
            "coupon.issued" => {
                let code = data["code"].as_str().unwrap_or_default();
                let expires = data["expires_at"]
                    .as_str()
                    .and_then(nudge_core::time::parse_iso8601);
                self.sql.execute(
                    "INSERT INTO coupons (person_id, code, issued_at, expires_at) VALUES (?, ?, ?, ?)
                     ON CONFLICT (person_id, code) DO UPDATE SET expires_at = excluded.expires_at",
                    params![person.as_str(), code, self.now, expires],
                )?;
            }
            "unsubscribed" => {
                // By address: whoever is reached there later, merged or not.
                let contact = self.contact(&person)?;
                self.suppress(email.or(contact.email.as_deref()), phone, channel)?;
                if phone.is_none() && channel == "sms" {
                    self.suppress(None, contact.phone.as_deref(), channel)?;
                }
                // Whoever is merged into the person now unsubscribed with it:
                // an undo later must not hand a split-off person (or the
                // addresses they brought) back to the channels.
                self.unsubscribe_merged(&person, channel)?;
            }
            // The shop's backend (channel `backend`, signed with the site's
            // signing key) vouches for these contact details.
            "identify" => self.remember_contact(&person, email, phone, Source::Verified)?,
            // Kept in `webhooks` for audit; no profile fact follows from them yet.
            _ => {}
        }
        Ok(HookApplied {
            applied: true,
            person,
        })
    }

    /// Marks `person` and every person merged into it (as it stands: an
    /// undone merge no longer counts) unsubscribed, and suppresses every
    /// address they hold: verified ones by the hashes their identifiers
    /// keep, typed or vouched-for ones from their contact details. Merge
    /// chains are short (a login, a link), so the walk is bounded.
    fn unsubscribe_merged(&self, person: &str, source: &str) -> StoreResult<()> {
        const MAX_MERGED: usize = 200;
        let mut persons = vec![person.to_owned()];
        let mut next = 0;
        while next < persons.len() && persons.len() < MAX_MERGED {
            let rows = self.sql.query(
                "SELECT id FROM persons WHERE merged_into = ? LIMIT ?",
                params![persons[next].as_str(), MAX_MERGED as i64],
            )?;
            next += 1;
            for row in rows {
                if let Some(id) = row["id"].as_str() {
                    if !persons.iter().any(|p| p == id) && persons.len() < MAX_MERGED {
                        persons.push(id.to_owned());
                    }
                }
            }
        }
        for p in &persons {
            self.sql.execute(
                "UPDATE persons SET unsubscribed = 1 WHERE id = ?",
                params![p.as_str()],
            )?;
            // Also to the outbox: copied to the site's other objects
            // (`store::spread`; a copy of one already there changes nothing).
            for table in ["suppressions", "suppression_outbox"] {
                self.sql.execute(
                    &format!(
                        "INSERT OR IGNORE INTO {table} (kind, hash, at, source)
                         SELECT kind, value, ?, ? FROM identifiers WHERE person_id = ? AND kind IN ('email', 'phone')"
                    ),
                    params![self.now, source, p.as_str()],
                )?;
            }
            let rows = self.sql.query(
                "SELECT email, phone FROM contacts WHERE person_id = ?",
                params![p.as_str()],
            )?;
            for row in rows {
                self.suppress(row["email"].as_str(), row["phone"].as_str(), source)?;
            }
        }
        Ok(())
    }
}

/// The verified identifier a webhook's event names: its user id, else its
/// email's hash, else its phone's (what the store keys persons by).
pub fn hook_identifier(event: &Value) -> StoreResult<(&'static str, String)> {
    let (email, phone) = (event["email"].as_str(), event["phone"].as_str());
    let who = if let Some(user) = event["user_id"].as_str() {
        if nudge_core::event::check_identifier(user).is_err() {
            return Err(StoreError::Invalid(format!(
                "user_id {user:?} is not a real identifier"
            )));
        }
        Some(("user", user.to_owned()))
    } else if let Some(hash) = email.and_then(crate::tokens::email_hash) {
        Some(("email", hash))
    } else {
        phone
            .and_then(crate::tokens::phone_hash)
            .map(|h| ("phone", h))
    };
    who.ok_or_else(|| StoreError::Invalid("the event names no user_id, email or phone".into()))
}

/// Inbound webhook types the store knows.
pub const HOOK_TYPES: &[&str] = &[
    "coupon.issued",
    "unsubscribed",
    "identify",
    "email.sent",
    "email.opened",
    "email.clicked",
    "sms.sent",
    "sms.clicked",
];
