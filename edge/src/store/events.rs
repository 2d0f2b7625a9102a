//! The event log and the facts events carry, and inbound offsite events.
//!
//! Events are keyed by event id, so a batch delivered twice (the agent resends
//! what a beacon may already have delivered) is stored once, and the facts it
//! carries (orders, campaign history) are applied in the same transaction as
//! the insert: exactly once, with no second round trip. So are the campaign
//! reports' rollups (`store/reports/`).

use serde_json::Value;

use super::persons::{Db, Source};
use super::protocol::{Append, Appended, EventCursor, MovedBrowser, ReportedCampaign, StoreResult};
use super::sql::{params, SqlExt};
use crate::store::protocol::EventPage;
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
        // (`foreign_events`; never with one object, which asks nothing).
        let any_away = batch.objects > 1
            && self
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
            // Only a browser's own events (proven): ids anyone could send
            // under an away browser's id must not pile up and travel with
            // its person (an unproven event is credited to nobody, so a
            // resend of one stored again changes no fact).
            if batch.away && proven {
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
}
