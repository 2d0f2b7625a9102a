//! The agent's outbox: events waiting to reach the collect endpoint.
//!
//! Bounded (oldest dropped first, and counted, when a visitor is offline for
//! long), de-duplicated by event id, and retried with exponential backoff.
//! An event leaves the queue only when the endpoint acknowledged its batch.

use std::collections::VecDeque;

use crate::time::{Millis, SECOND};
use crate::value::{Map, Value};

pub const DEFAULT_CAPACITY: usize = 500;
const MAX_BACKOFF: Millis = 5 * 60 * SECOND;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outbox {
    events: VecDeque<Value>,
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

    /// Adds a wire event; one with an id already queued is ignored.
    pub fn push(&mut self, event: Value) {
        let id = event.get("messageId").cloned();
        if id.is_some()
            && self
                .events
                .iter()
                .any(|e| e.get("messageId") == id.as_ref())
        {
            return;
        }
        if self.events.len() >= self.capacity {
            self.events.pop_front();
            self.dropped = self.dropped.saturating_add(1);
        }
        self.events.push_back(event);
    }

    /// Whether a send may be attempted now (backoff after failures).
    pub fn ready(&self, now: Millis) -> bool {
        !self.events.is_empty() && now >= self.next_attempt_at
    }

    /// Milliseconds until a send may be attempted (0 when not backing off).
    pub fn retry_in(&self, now: Millis) -> Millis {
        (self.next_attempt_at - now).max(0)
    }

    /// The next batch to send (oldest first); it stays queued until [`Outbox::acknowledge`].
    pub fn batch(&self, max: usize) -> Vec<Value> {
        self.events.iter().take(max).cloned().collect()
    }

    /// The endpoint accepted the first `count` events.
    pub fn acknowledge(&mut self, count: usize) {
        self.events.drain(..count.min(self.events.len()));
        self.failures = 0;
        self.next_attempt_at = 0;
    }

    /// A send failed; back off exponentially (1 s, 2 s, 4 s, ... up to 5 min).
    pub fn failed(&mut self, now: Millis) {
        self.failures = self.failures.saturating_add(1);
        let backoff = SECOND.saturating_mul(1 << self.failures.min(9).saturating_sub(1));
        self.next_attempt_at = now + backoff.min(MAX_BACKOFF);
    }

    /// Drops the first `count` events the endpoint refused as malformed:
    /// retrying them can never succeed.
    pub fn reject(&mut self, count: usize) {
        self.acknowledge(count);
    }

    pub fn to_stored(&self) -> Value {
        let mut m = Map::new();
        m.insert(
            "events",
            Value::Array(self.events.iter().cloned().collect()),
        );
        m.insert("dropped", self.dropped);
        Value::Object(m)
    }

    /// Reads a stored outbox; anything unreadable yields an empty one.
    pub fn from_stored(value: &Value, capacity: usize) -> Outbox {
        let mut outbox = Outbox::new(capacity);
        for event in value
            .get("events")
            .and_then(Value::as_array)
            .unwrap_or_default()
        {
            if event.get("messageId").and_then(Value::as_str).is_some() {
                outbox.push(event.clone());
            }
        }
        outbox.dropped = value
            .get("dropped")
            .and_then(Value::as_f64)
            .map_or(0, |n| n.max(0.0) as u32);
        outbox
    }
}
