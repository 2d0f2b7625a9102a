//! The agent's outbox: events waiting to reach the collect endpoint.
//!
//! Bounded (oldest dropped first, and counted, when a visitor is offline for
//! long), de-duplicated by event id, and retried with exponential backoff.
//! An event leaves the queue only when the endpoint acknowledged its batch.
//! Each event is kept as the JSON text it is sent as, serialized once when
//! queued, so persisting and sending are string joins.

use std::collections::VecDeque;

use crate::time::{to_iso8601, Millis, SECOND};
use crate::value::Value;

pub const DEFAULT_CAPACITY: usize = 500;
const MAX_BACKOFF: Millis = 5 * 60 * SECOND;

#[derive(Clone, Debug, PartialEq)]
struct Queued {
    id: String,
    json: String,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outbox {
    events: VecDeque<Queued>,
    capacity: usize,
    /// Events dropped because the queue was full.
    pub dropped: u32,
    failures: u32,
    next_attempt_at: Millis,
}

impl Outbox {
    pub fn new(capacity: usize) -> Self {
        Outbox {
            capacity: capacity.max(1),
            ..Default::default()
        }
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Adds a wire event (it must carry a `messageId`); an id already queued is ignored.
    pub fn push(&mut self, event: &Value) {
        let Some(id) = event.get("messageId").and_then(Value::as_str) else {
            return;
        };
        if self.events.iter().any(|e| e.id == id) {
            return;
        }
        if self.events.len() >= self.capacity {
            self.events.pop_front();
            self.dropped = self.dropped.saturating_add(1);
        }
        self.events.push_back(Queued {
            id: id.to_owned(),
            json: event.to_json(),
        });
    }

    /// Whether a send may be attempted now (backoff after failures).
    pub fn ready(&self, now: Millis) -> bool {
        !self.events.is_empty() && now >= self.next_attempt_at
    }

    /// Milliseconds until a send may be attempted (0 when not backing off).
    pub fn retry_in(&self, now: Millis) -> Millis {
        (self.next_attempt_at - now).max(0)
    }

    /// The request body for the next batch (oldest first), in the Segment
    /// batch shape, and how many events it holds. The events stay queued until
    /// [`Outbox::acknowledge`].
    pub fn batch_body(&self, max: usize, now: Millis) -> (String, usize) {
        let count = self.events.len().min(max);
        let mut body = format!("{{\"sentAt\":\"{}\",\"batch\":[", to_iso8601(now));
        for (i, event) in self.events.iter().take(count).enumerate() {
            if i > 0 {
                body.push(',');
            }
            body.push_str(&event.json);
        }
        body.push_str("]}");
        (body, count)
    }

    /// The endpoint accepted the first `count` events.
    pub fn acknowledge(&mut self, count: usize) {
        for _ in 0..count {
            self.events.pop_front();
        }
        self.failures = 0;
        self.next_attempt_at = 0;
    }

    /// A send failed; back off exponentially (1 s, 2 s, 4 s, ... up to 5 min).
    pub fn failed(&mut self, now: Millis) {
        self.failures = self.failures.saturating_add(1);
        let backoff = SECOND.saturating_mul(1 << self.failures.min(10).saturating_sub(1));
        self.next_attempt_at = now + backoff.min(MAX_BACKOFF);
    }

    /// Drops the first `count` events the endpoint refused as malformed:
    /// retrying them can never succeed.
    pub fn reject(&mut self, count: usize) {
        self.acknowledge(count);
    }

    /// The stored form: `{"dropped": n, "events": [...]}` as JSON text.
    pub fn to_stored_json(&self) -> String {
        let mut out = format!("{{\"dropped\":{},\"events\":[", self.dropped);
        for (i, event) in self.events.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&event.json);
        }
        out.push_str("]}");
        out
    }

    /// Reads a stored outbox; anything unreadable yields an empty one.
    pub fn from_stored(value: &Value, capacity: usize) -> Outbox {
        let mut outbox = Outbox::new(capacity);
        for event in value
            .get("events")
            .and_then(Value::as_array)
            .unwrap_or_default()
        {
            outbox.push(event);
        }
        outbox.dropped = value
            .get("dropped")
            .and_then(Value::as_f64)
            .map_or(0, |n| n.max(0.0) as u32);
        outbox
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Map;

    fn event(id: &str) -> Value {
        let mut m = Map::new();
        m.insert("messageId", id);
        m.insert("type", "track");
        Value::Object(m)
    }

    #[test]
    fn bounded_deduplicated_and_acknowledged_in_order() {
        let mut outbox = Outbox::new(3);
        for id in ["a", "b", "a", "c", "d"] {
            outbox.push(&event(id));
        }
        assert_eq!((outbox.len(), outbox.dropped), (3, 1));
        let (body, count) = outbox.batch_body(2, 0);
        assert_eq!(count, 2);
        assert!(
            body.ends_with(
                r#""batch":[{"messageId":"b","type":"track"},{"messageId":"c","type":"track"}]}"#
            ),
            "{body}"
        );
        outbox.acknowledge(2);
        assert_eq!(outbox.batch_body(10, 0).1, 1);
    }

    #[test]
    fn backoff_doubles_up_to_five_minutes() {
        let mut outbox = Outbox::new(10);
        outbox.push(&event("a"));
        let mut waits = Vec::new();
        for _ in 0..12 {
            outbox.failed(0);
            waits.push(outbox.retry_in(0));
        }
        assert_eq!(&waits[..4], &[1_000, 2_000, 4_000, 8_000]);
        assert_eq!(*waits.last().unwrap(), 5 * 60 * 1_000);
        assert!(!outbox.ready(1_000));
        outbox.acknowledge(0);
        assert!(outbox.ready(0));
    }

    #[test]
    fn stored_form_round_trips() {
        let mut outbox = Outbox::new(10);
        outbox.push(&event("a"));
        outbox.push(&event("b"));
        let stored: Value = serde_json::from_str(&outbox.to_stored_json()).unwrap();
        assert_eq!(Outbox::from_stored(&stored, 10), outbox);
    }
}
