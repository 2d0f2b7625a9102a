//! The event log and the facts events carry, and inbound offsite events.
//!
//! Events are keyed by event id, so a batch delivered twice (the agent resends
//! what a beacon may already have delivered) is stored once, and the facts it
//! carries (orders, campaign history) are applied in the same transaction as
//! the insert: exactly once, with no second round trip. So are the campaign
//! reports' rollups (`store/reports/`).

use serde_json::Value;

use super::persons::{Db, Source};
use super::protocol::{
    Append, Appended, Bind, EventCursor, MovedBrowser, ReportedCampaign, StoreError, StoreResult,
};
use super::sql::{params, SqlExt};
use crate::store::protocol::EventPage;
use crate::store::protocol::HookApplied;
use crate::store::protocol::StoredEvent;
use crate::wire::WireEvent;

/// Where a browser's events of a batch go.
#[derive(Clone)]
enum Elsewhere {
    Here,
    /// Its person moved to this object.
    Moved(u16),
    /// Its person is moving in this merge: held apart.
    Held(String),
}

impl Db<'_> {
    /// Stores a validated batch: each new event once, with its facts.
    pub fn append(&self, batch: &Append) -> StoreResult<Appended> {
        let (mut accepted, mut duplicates) = (0u32, 0u32);
        // Whether any browser here moved or is moving in a merge across
        // objects (`store::moves`): one query, and none per browser if not.
        let moves = self.any_moves()?;
        // Whether any event here was stored away from its browser's home
        // (`foreign_events`; never, with one object).
        let any_away = self
            .sql
            .exists("SELECT 1 WHERE EXISTS (SELECT 1 FROM foreign_events)", &[])?;
        // The browser this request proves it speaks for: its key, registered
        // now if it is the first one, and only for a browser the batch names
        // (and not one that moved away: its key lives where it went).
        let mut verified_browser = None;
        if let Some(key) = &batch.browser_key {
            let in_batch = batch
                .events
                .iter()
                .any(|e| e["anonymousId"] == key.anonymous_id.as_str());
            let here = !moves || self.moved_browser(&key.anonymous_id)?.is_none();
            if in_batch && here && self.register_key(key)? {
                verified_browser = Some(key.anonymous_id.clone());
            }
        }
        // A signed cookie links only that proven browser, never another id
        // the batch happens to carry (that could pull someone else in).
        if let (Some(known), Some(fresh)) = (&batch.cookie_browser, &verified_browser) {
            self.link_cookie(known, fresh)?;
        }
        // After what the archive has taken, always (`archive_floor`).
        let received_at = match self.archive_floor()? {
            Some(floor) if floor >= self.now => floor + 1,
            _ => self.now,
        };
        let mut unproven = Vec::new();
        let mut fresh = Vec::new();
        let mut proven_browsers: Vec<(&str, bool)> = Vec::new();
        // Browsers whose persons moved to another object, or are moving
        // now (`store::moves`): their events go there, or wait apart.
        let mut elsewhere: Vec<(&str, Elsewhere)> = Vec::new();
        let mut moved = Vec::new();
        for event in &batch.events {
            let (Some(anonymous_id), Some(id)) =
                (event["anonymousId"].as_str(), event["messageId"].as_str())
            else {
                continue;
            };
            let place = match elsewhere.iter().find(|(b, _)| *b == anonymous_id) {
                _ if !moves => Elsewhere::Here,
                Some((_, place)) => place.clone(),
                None => {
                    let place = self.elsewhere(anonymous_id)?;
                    elsewhere.push((anonymous_id, place.clone()));
                    place
                }
            };
            // Every event of a browser reaches its home object first, so an
            // event stored here before its person moved stays a repeat; one
            // stored away, where its person lived then, came here with the
            // person's browsers (`foreign_events`), or is known where they
            // are now.
            let repeat = match place {
                Elsewhere::Here => any_away && self.stored_away(id)?,
                _ => self.stored(id)? || (any_away && self.stored_away(id)?),
            };
            if repeat {
                duplicates += 1;
                continue;
            }
            if let Elsewhere::Moved(object) = place {
                // Sent on by the Worker, this event only (not the repeats).
                match moved
                    .iter_mut()
                    .find(|m: &&mut MovedBrowser| m.anonymous_id == anonymous_id)
                {
                    Some(browser) => browser.ids.push(id.to_owned()),
                    None => moved.push(MovedBrowser {
                        anonymous_id: anonymous_id.to_owned(),
                        object,
                        ids: vec![id.to_owned()],
                    }),
                }
                continue;
            }
            // Held while their person moved, proven when they were held.
            let replayed = batch.held.iter().find(|(held, _)| held == id);
            let proven = match proven_browsers.iter().find(|(b, _)| *b == anonymous_id) {
                _ if replayed.is_some() => true,
                Some((_, proven)) => *proven,
                None => {
                    let proven = if verified_browser.as_deref() == Some(anonymous_id) {
                        true
                    } else if self.sql.exists(
                        "SELECT 1 FROM browser_keys WHERE anonymous_id = ?",
                        params![anonymous_id],
                    )? {
                        // Its key was not presented: someone else's browser.
                        false
                    } else {
                        // An id that never presented a key (an older agent, a
                        // server-side source): credited, but a new person for
                        // one only within the client's and the site's budget.
                        self.person_of("anon", anonymous_id)?.is_some()
                            || self.take_keyless_person(&batch.client, batch.objects)?
                    };
                    proven_browsers.push((anonymous_id, proven));
                    proven
                }
            };
            if !proven {
                unproven.push(id.to_owned());
            }
            if let Elsewhere::Held(merge) = &place {
                let by_key = verified_browser.as_deref() == Some(anonymous_id);
                let proof = proven.then_some(by_key);
                if self.hold(merge, id, received_at, event, proof)? {
                    accepted += 1;
                } else {
                    duplicates += 1;
                }
                continue;
            }
            let stored = self.sql.execute(
                "INSERT OR IGNORE INTO events (id, received_at, body) VALUES (?, ?, ?)",
                params![id, received_at, event.to_string()],
            )?;
            if stored == 0 {
                duplicates += 1;
                continue;
            }
            if batch.away {
                self.sql.execute(
                    "INSERT OR IGNORE INTO foreign_events (id, anonymous_id, at) VALUES (?, ?, ?)",
                    params![id, anonymous_id, received_at],
                )?;
            }
            accepted += 1;
            if proven {
                let person = self.person_for_browser(anonymous_id)?;
                self.apply_facts(&person, anonymous_id, event, &batch.campaigns)?;
                self.report_event(&person, event, &batch.campaigns)?;
                // Journeys only for the browser this request proves with its
                // key: a batch naming made-up ids that hold no key yet must
                // not enter (and hand coupons to) a crowd of invented persons.
                let by_key = replayed.map_or(
                    verified_browser.as_deref() == Some(anonymous_id),
                    |(_, k)| *k,
                );
                if by_key {
                    fresh.push((person, event.clone()));
                }
            }
        }
        Ok(Appended {
            accepted,
            duplicates,
            verified_browser,
            unproven,
            moved,
            fresh,
        })
    }

    fn stored(&self, id: &str) -> StoreResult<bool> {
        self.sql
            .exists("SELECT 1 FROM events WHERE id = ?", params![id])
    }

    /// Stored away from its browser's home, wherever its person lived then.
    fn stored_away(&self, id: &str) -> StoreResult<bool> {
        self.sql
            .exists("SELECT 1 FROM foreign_events WHERE id = ?", params![id])
    }

    /// Where a browser's events go: here, to the object its person moved
    /// to, or apart while its person moves (`store::moves`).
    fn elsewhere(&self, anonymous_id: &str) -> StoreResult<Elsewhere> {
        if let Some(object) = self.moved_browser(anonymous_id)? {
            return Ok(Elsewhere::Moved(object));
        }
        if let Some(person) = self.person_of("anon", anonymous_id)? {
            if let Some(merge) = self.frozen(&person)? {
                return Ok(Elsewhere::Held(merge));
            }
        }
        Ok(Elsewhere::Here)
    }

    fn apply_facts(
        &self,
        person: &str,
        anonymous_id: &str,
        event: &Value,
        published: &[ReportedCampaign],
    ) -> StoreResult<()> {
        let props = &event["properties"];
        // Campaign history only for the config's campaigns: a browser cannot
        // grow a person's history (and profile) with made-up campaign ids.
        let campaign = props["campaign_id"]
            .as_str()
            .filter(|id| published.iter().any(|c| c.id == *id))
            .unwrap_or_default();
        let read = WireEvent(event);
        let at = read.timestamp().unwrap_or(self.now);
        match read.name().unwrap_or_default() {
            "Order Completed" => {
                let total = read.order_revenue();
                self.sql.execute(
                    "UPDATE persons SET orders = orders + 1, total_spent = total_spent + ? WHERE id = ?",
                    params![total, person],
                )?;
                if let Some(code) = props["coupon"].as_str() {
                    self.sql.execute(
                        "UPDATE coupons SET redeemed = 1 WHERE person_id = ? AND code = ?",
                        params![person, code],
                    )?;
                }
            }
            "Campaign Shown" if !campaign.is_empty() => {
                self.record_impression(person, campaign, at)?
            }
            name @ ("Campaign Dismissed" | "Campaign Converted") if !campaign.is_empty() => {
                self.ensure_campaign(person, campaign)?;
                let column = if name == "Campaign Dismissed" {
                    "dismissed_at"
                } else {
                    "converted_at"
                };
                self.sql.execute(
                    &format!(
                        "UPDATE campaigns SET {column} = ? WHERE person_id = ? AND campaign_id = ?"
                    ),
                    params![at, person, campaign],
                )?;
            }
            _ if WireEvent(event).call() == "identify" => {
                // An email or phone typed into a popup: a claim, never a link,
                // and contact details only where none are on record.
                let traits = &event["traits"];
                let (email, phone) = (traits["email"].as_str(), traits["phone"].as_str());
                self.claim(anonymous_id, email, phone)?;
                self.remember_contact(person, email, phone, Source::Unverified)?;
            }
            _ => {}
        }
        Ok(())
    }

    /// Stored events, newest first, a page at a time from `cursor`: those
    /// not yet archived from here; where the page is not full, the newest
    /// archived parts before it (`parts`), which the Worker reads from R2
    /// (`routes/events.rs`). Archived events are all older than the ones
    /// here, so the page is the two in sequence.
    pub fn recent_events(&self, cursor: &EventCursor) -> StoreResult<EventPage> {
        let mark = self.archive_mark()?.unwrap_or_default();
        // Row values order by time, then id: a page may end inside a millisecond.
        let (condition, id) = match &cursor.before_id {
            Some(id) => ("(received_at, id) < (?, ?)", id.as_str()),
            None => ("received_at < ? AND ? = ''", ""),
        };
        let rows = self.sql.query(
            &format!(
                "SELECT id, received_at, body FROM events WHERE (received_at, id) > (?, ?) AND {condition}
                   ORDER BY received_at DESC, id DESC LIMIT ?"
            ),
            params![mark.at, mark.id.as_str(), cursor.before, id, cursor.limit],
        )?;
        let unarchived = self
            .sql
            .int(
                "SELECT count(*) FROM events WHERE (received_at, id) > (?, ?)",
                params![mark.at, mark.id.as_str()],
            )?
            .unwrap_or(0);
        let events: Vec<StoredEvent> = rows
            .into_iter()
            .map(|r| StoredEvent {
                id: r["id"].as_str().unwrap_or_default().to_owned(),
                received_at: r["received_at"].as_i64().unwrap_or_default(),
                body: r["body"].as_str().unwrap_or_default().to_owned(),
            })
            .collect();
        let full = events.len() as i64 == cursor.limit;
        let (parts, archived) = self.parts_before(cursor)?;
        let next = full.then(|| events.last()).flatten();
        Ok(EventPage {
            total: unarchived + archived,
            archived,
            next_before: next.map(|e| e.received_at),
            next_before_id: next.map(|e| e.id.clone()),
            parts: if full { Vec::new() } else { parts },
            unreadable_parts: Vec::new(),
            events,
        })
    }

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
        // With a site over several objects the hook comes to the identifier's
        // directory object (`store::placement`); a person the directory
        // places in another object is found there (`store::route` asks).
        if spread && self.person_of(kind, &value)?.is_none() {
            if let Some(elsewhere) = self.directory_person_elsewhere(kind, &value)? {
                return Err(elsewhere);
            }
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
        let person = match self.person_of(kind, &value)? {
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
}

/// New persons for ids that never presented a key, per client and per site
/// and hour. A browser running the agent presents its key with its first
/// events, so only older agents and server-side sources spend these; past
/// them, such events are kept in the log but credited to nobody.
pub const KEYLESS_PERSONS_PER_CLIENT_HOUR: i64 = 30;
pub const KEYLESS_PERSONS_PER_SITE_HOUR: i64 = 3_000;
const HOUR_MS: i64 = 3_600_000;

impl Db<'_> {
    /// Counts one new person for a keyless id from `client`, if both this
    /// hour's budgets allow it (then nothing is counted when refused).
    /// One new keyless person within the hour's budgets: each of `objects`
    /// objects admits its share of them (rounded up).
    fn take_keyless_person(&self, client: &str, objects: u16) -> StoreResult<bool> {
        let share = i64::from(objects.max(1));
        let hour = self.now.div_euclid(HOUR_MS);
        let used = |who: &str| {
            self.sql.int(
                "SELECT n FROM keyless_persons WHERE client = ? AND hour = ?",
                params![who, hour],
            )
        };
        if used(client)?.unwrap_or(0) >= (KEYLESS_PERSONS_PER_CLIENT_HOUR + share - 1) / share
            || used("")?.unwrap_or(0) >= (KEYLESS_PERSONS_PER_SITE_HOUR + share - 1) / share
        {
            return Ok(false);
        }
        for who in [client, ""] {
            self.sql.execute(
                "INSERT INTO keyless_persons (client, hour, n) VALUES (?, ?, 1)
                 ON CONFLICT (client, hour) DO UPDATE SET n = n + 1",
                params![who, hour],
            )?;
        }
        Ok(true)
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

/// The inbound channel of the shop's own backend (`/v1/hooks/backend`,
/// signed with the site's signing key): the one whose identify events link.
pub const BACKEND_CHANNEL: &str = "backend";

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
