//! The journeys' outbox: sends written by a step's transaction, put on the
//! forwarding queue by the alarm afterwards, and marked queued once the
//! queue took them. What stays unmarked (the object stopped in between, the
//! queue refused) is queued again by the next alarm: at least once, and the
//! forwarding consumer drops repeats by the idempotency key.

use serde_json::{json, Value};

use super::super::persons::Db;
use super::super::protocol::StoreResult;
use super::super::sql::params;
use crate::destination::{Destinations, ForwardMessage};

/// Sends one alarm step queues at most.
pub const FLUSH_BATCH: i64 = 100;

/// A send waiting for the queue.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    pub key: String,
    pub person: String,
    pub destination: String,
    pub event: Value,
}

/// What to do with pending sends, given the site's destinations document.
#[derive(Debug, Default, PartialEq)]
pub struct Plan {
    /// (key, queue message text).
    pub queue: Vec<(String, String)>,
    /// (key, reason, message): filed as dead letters, never retried blindly.
    pub undeliverable: Vec<(String, String, Value)>,
}

/// Pairs each send with its destination: a step naming a destination the
/// site does not have (any more) is undeliverable, with the reason.
/// `object` is the site's object whose runs made the sends (`store::shards`).
pub fn plan(
    site: &str,
    object: u16,
    pending: Vec<Pending>,
    destinations: Option<&Destinations>,
) -> Plan {
    let mut plan = Plan::default();
    for send in pending {
        let Some(destination) = destinations.and_then(|d| d.by_id(&send.destination)) else {
            let reason = format!(
                "journey step sends to destination {:?}, which the site does not have (PUT …/destinations)",
                send.destination
            );
            // Filed with what it was for; a replay once the destination
            // exists is filed again with its reason (`forward`).
            let message = json!({"site": site, "destination": send.destination,
                                 "event": send.event, "person": send.person});
            plan.undeliverable.push((send.key, reason, message));
            continue;
        };
        let message = ForwardMessage {
            site: site.to_owned(),
            destination: destination.clone(),
            event: send.event,
            person: Some(send.person),
            object,
        };
        let text = message.text();
        if text.len() > crate::store::protocol::MAX_MESSAGE_BYTES {
            let reason = format!("too large to forward: {} bytes", text.len());
            plan.undeliverable.push((send.key, reason, message.value()));
        } else {
            plan.queue.push((send.key, text));
        }
    }
    plan
}

impl Db<'_> {
    /// Sends not yet queued, oldest first.
    pub fn unqueued_sends(&self, limit: i64) -> StoreResult<Vec<Pending>> {
        let rows = self.sql.query(
            "SELECT key, person, destination, event FROM journey_sends WHERE queued_at IS NULL ORDER BY at LIMIT ?",
            params![limit],
        )?;
        let mut pending = Vec::new();
        for r in &rows {
            let read = || {
                Some(Pending {
                    key: r.get("key")?.as_str()?.to_owned(),
                    person: r.get("person")?.as_str()?.to_owned(),
                    destination: r.get("destination")?.as_str()?.to_owned(),
                    event: serde_json::from_str(r.get("event")?.as_str()?).ok()?,
                })
            };
            match (read(), r.get("key").and_then(Value::as_str)) {
                (Some(p), _) => pending.push(p),
                // Unreadable: set aside as a dead letter, so it cannot hold
                // the outbox's head forever.
                (None, Some(key)) => {
                    self.dead_letter("unreadable journey send", &json!({"key": key}))?;
                    self.mark_queued(&[key.to_owned()])?;
                }
                (None, None) => {}
            }
        }
        Ok(pending)
    }

    pub fn mark_queued(&self, keys: &[String]) -> StoreResult<()> {
        for key in keys {
            self.sql.execute(
                "UPDATE journey_sends SET queued_at = ? WHERE key = ?",
                params![self.now, key.as_str()],
            )?;
        }
        Ok(())
    }

    /// Files undeliverable sends as dead letters and marks them handled.
    pub fn file_undeliverable(&self, sends: &[(String, String, Value)]) -> StoreResult<()> {
        for (key, reason, message) in sends {
            self.dead_letter(reason, message)?;
            self.mark_queued(std::slice::from_ref(key))?;
        }
        Ok(())
    }
}
