//! The agent's outbox: events waiting to reach the collect endpoint.
//!
//! Bounded (oldest dropped first, and counted, when a visitor is offline for
//! long), de-duplicated by event id, and retried with exponential backoff.
//! An event leaves the queue only when the endpoint acknowledged its batch.
//! Each event is kept as the JSON text it is sent as, serialized once when
//! queued, so persisting and sending are string joins.

use crate::prelude::*;
use alloc::collections::VecDeque;

use crate::limits::{MAX_BATCH_EVENTS, MAX_EVENT_BYTES};
use crate::time::{to_iso8601, Millis, SECOND};
use crate::value::Value;

pub const DEFAULT_CAPACITY: usize = 500;
const MAX_BACKOFF: Millis = 5 * 60 * SECOND;

#[derive(Clone, Debug, PartialEq)]
struct Queued {
    id: String,
    /// The event's `anonymousId`, so an answer that is about one visitor
    /// (the edge's browser key) is never taken for another.
    anonymous_id: Option<String>,
    json: String,
}

/// Why [`Outbox::push`] did not queue an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refused {
    /// The event carries no `messageId` to acknowledge it by.
    NoId,
    /// Its JSON text is this many bytes, over [`MAX_EVENT_BYTES`]: the edge
    /// would refuse it, and every batch it travelled in.
    TooLarge(usize),
}

impl core::fmt::Display for Refused {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Refused::NoId => f.write_str("the event has no messageId"),
            Refused::TooLarge(bytes) => write!(
                f,
                "the event is {bytes} bytes of JSON, over {MAX_EVENT_BYTES}"
            ),
        }
    }
}

/// One request's worth of events, from [`Outbox::batch_body`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Batch {
    /// The request body, in the Segment batch shape.
    pub body: String,
    /// The ids of the events in `body`, in order: what the answer is about.
    pub ids: Vec<String>,
    /// The anonymous id every event in the batch carries, if they share one.
    pub anonymous_id: Option<String>,
}

impl Batch {
    /// The events a 400 answer names as invalid: its `rejected` list holds
    /// their 0-based indexes in this batch. `None` when the answer does not
    /// say (an older edge, or the whole body refused): then the whole batch
    /// is bad, and never a list that would drop nothing and resend forever.
    pub fn rejected(&self, answer: &Value) -> Option<Vec<String>> {
        let mut ids = Vec::new();
        for index in answer.get("rejected")?.as_array()? {
            let id = index
                .as_f64()
                .filter(|i| crate::float::fract(*i) == 0.0 && *i >= 0.0)
                .and_then(|i| self.ids.get(i as usize));
            if let Some(id) = id {
                if !ids.contains(id) {
                    ids.push(id.clone());
                }
            }
        }
        (!ids.is_empty()).then_some(ids)
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outbox {
    events: VecDeque<Queued>,
    capacity: usize,
    /// Events dropped because the queue was full.
    pub dropped: u32,
    failures: u32,
    next_attempt_at: Millis,
    /// Most events per batch after the endpoint answered 413 (0: no such limit).
    split_to: usize,
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

    /// The queued events' ids, oldest first.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.events.iter().map(|e| e.id.as_str())
    }

    /// Adds a wire event (it must carry a `messageId`); an id already queued
    /// is ignored. When the queue is full the oldest event is dropped.
    pub fn push(&mut self, event: &Value) -> Result<(), Refused> {
        let id = event
            .get("messageId")
            .and_then(Value::as_str)
            .ok_or(Refused::NoId)?;
        if self.events.iter().any(|e| e.id == id) {
            return Ok(());
        }
        let json = event.to_json();
        if json.len() > MAX_EVENT_BYTES {
            return Err(Refused::TooLarge(json.len()));
        }
        if self.events.len() >= self.capacity {
            self.events.pop_front();
            self.dropped = self.dropped.saturating_add(1);
        }
        self.events.push_back(Queued {
            id: id.to_owned(),
            anonymous_id: event
                .get("anonymousId")
                .and_then(Value::as_str)
                .map(str::to_owned),
            json,
        });
        Ok(())
    }

    /// Whether a send may be attempted now (backoff after failures).
    pub fn ready(&self, now: Millis) -> bool {
        !self.events.is_empty() && now >= self.next_attempt_at
    }

    /// Milliseconds until a send may be attempted (0 when not backing off).
    pub fn retry_in(&self, now: Millis) -> Millis {
        (self.next_attempt_at - now).max(0)
    }

    /// The next batch (oldest first): at most `max` events, never more than
    /// [`MAX_BATCH_EVENTS`], fewer after a 413. The events stay queued until
    /// the answer names them ([`Outbox::acknowledge`], [`Outbox::reject`]).
    pub fn batch_body(&self, max: usize, now: Millis) -> Batch {
        let mut limit = max.clamp(1, MAX_BATCH_EVENTS);
        if self.split_to > 0 {
            limit = limit.min(self.split_to);
        }
        let mut batch = Batch {
            body: ["{\"sentAt\":\"", &to_iso8601(now), "\",\"batch\":["].concat(),
            ..Batch::default()
        };
        for (i, event) in self.events.iter().take(limit).enumerate() {
            if i == 0 {
                batch.anonymous_id = event.anonymous_id.clone();
            } else {
                batch.body.push(',');
                if batch.anonymous_id != event.anonymous_id {
                    batch.anonymous_id = None;
                }
            }
            batch.body.push_str(&event.json);
            batch.ids.push(event.id.clone());
        }
        batch.body.push_str("]}");
        batch
    }

    /// The endpoint accepted these events. Only they leave the queue: an
    /// event queued, or one dropped (reset, consent, overflow), while the
    /// batch was in flight is neither lost nor dropped twice.
    pub fn acknowledge(&mut self, ids: &[String]) {
        self.remove(ids);
        self.failures = 0;
        self.next_attempt_at = 0;
    }

    /// Drops events the endpoint refused as malformed: retrying them can
    /// never succeed. The rest of their batch is sent again.
    pub fn reject(&mut self, ids: &[String]) {
        self.acknowledge(ids);
    }

    /// The endpoint answered 413 to the batch of `ids`: the next batches hold
    /// half as many. A batch of one cannot be split: that event is dropped
    /// and returned.
    pub fn too_large(&mut self, ids: &[String]) -> Option<String> {
        if let [id] = ids {
            self.reject(ids);
            return Some(id.clone());
        }
        self.split_to = (ids.len() / 2).max(1);
        None
    }

    /// Forgets every queued event (reset, consent withdrawn).
    pub fn clear(&mut self) {
        self.events.clear();
        self.split_to = 0;
    }

    fn remove(&mut self, ids: &[String]) {
        self.events.retain(|e| !ids.contains(&e.id));
        if self.events.is_empty() {
            // Batch sizes start over with the next backlog.
            self.split_to = 0;
        }
    }

    /// A send failed; back off exponentially (1 s, 2 s, 4 s, ... up to 5 min).
    pub fn failed(&mut self, now: Millis) {
        self.failures = self.failures.saturating_add(1);
        let backoff = SECOND.saturating_mul(1 << self.failures.min(10).saturating_sub(1));
        self.next_attempt_at = now + backoff.min(MAX_BACKOFF);
    }

    /// The stored form: `{"dropped": n, "events": [...]}` as JSON text.
    pub fn to_stored_json(&self) -> String {
        let mut out = [
            "{\"dropped\":",
            &crate::small::integer_to_string(i64::from(self.dropped)),
            ",\"events\":[",
        ]
        .concat();
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
            // An unreadable or oversize stored event is left behind.
            let _ = outbox.push(event);
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

    fn of(id: &str, anonymous_id: &str) -> Value {
        let mut e = event(id);
        if let Value::Object(m) = &mut e {
            m.insert("anonymousId", anonymous_id);
        }
        e
    }

    fn filled(capacity: usize, ids: &[&str]) -> Outbox {
        let mut outbox = Outbox::new(capacity);
        for id in ids {
            outbox.push(&event(id)).unwrap();
        }
        outbox
    }

    fn queued(outbox: &Outbox) -> Vec<&str> {
        outbox.ids().collect()
    }

    #[test]
    fn bounded_deduplicated_and_acknowledged_by_id() {
        let mut outbox = filled(3, &["a", "b", "a", "c", "d"]);
        assert_eq!((outbox.len(), outbox.dropped), (3, 1));
        let batch = outbox.batch_body(2, 0);
        assert_eq!(batch.ids, ["b", "c"]);
        assert!(
            batch.body.ends_with(
                r#""batch":[{"messageId":"b","type":"track"},{"messageId":"c","type":"track"}]}"#
            ),
            "{}",
            batch.body
        );
        outbox.acknowledge(&batch.ids);
        assert_eq!(queued(&outbox), ["d"]);
    }

    #[test]
    fn batches_never_exceed_the_edge_limit() {
        let ids: Vec<String> = (0..MAX_BATCH_EVENTS + 5).map(|i| format!("e{i}")).collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let outbox = filled(DEFAULT_CAPACITY, &ids);
        assert_eq!(outbox.batch_body(1_000, 0).ids.len(), MAX_BATCH_EVENTS);
        assert_eq!(outbox.batch_body(0, 0).ids.len(), 1);
    }

    #[test]
    fn an_oversize_event_is_refused_not_queued() {
        let mut outbox = Outbox::new(10);
        let mut big = event("big");
        if let Value::Object(m) = &mut big {
            m.insert("text", "x".repeat(MAX_EVENT_BYTES));
        }
        assert!(matches!(outbox.push(&big), Err(Refused::TooLarge(n)) if n > MAX_EVENT_BYTES));
        assert_eq!(outbox.push(&Value::Null), Err(Refused::NoId));
        assert!(outbox.is_empty());
    }

    /// `nudge.reset()` or consent withdrawn while a batch is in flight: the
    /// answer must not drop what was queued after the clear.
    #[test]
    fn a_clear_while_in_flight_loses_nothing_queued_after_it() {
        let mut outbox = filled(10, &["a", "b"]);
        let batch = outbox.batch_body(10, 0);
        outbox.clear();
        outbox.push(&event("c")).unwrap();
        outbox.push(&event("d")).unwrap();
        outbox.acknowledge(&batch.ids);
        assert_eq!(queued(&outbox), ["c", "d"]);
        outbox.reject(&batch.ids);
        assert_eq!(queued(&outbox), ["c", "d"]);
        assert_eq!(outbox.too_large(&batch.ids), None);
        assert_eq!(queued(&outbox), ["c", "d"]);
    }

    /// The oldest events overflowed while in flight: the acknowledgement
    /// removes only the sent events still queued, never the unsent ones that
    /// now sit at the front.
    #[test]
    fn an_overflow_while_in_flight_drops_no_unsent_event() {
        let mut outbox = filled(3, &["a", "b", "c"]);
        let batch = outbox.batch_body(2, 0);
        assert_eq!(batch.ids, ["a", "b"]);
        outbox.push(&event("d")).unwrap();
        outbox.push(&event("e")).unwrap();
        assert_eq!((queued(&outbox), outbox.dropped), (vec!["c", "d", "e"], 2));
        outbox.acknowledge(&batch.ids);
        assert_eq!(queued(&outbox), ["c", "d", "e"]);
        // A count-based acknowledgement (2) would have dropped "c" and "d" unsent.
        let rejected = outbox.batch_body(10, 0);
        outbox.push(&event("f")).unwrap();
        // "c" overflowed in flight; the edge refused "d" only.
        outbox.reject(&rejected.ids[1..2]);
        assert_eq!((queued(&outbox), outbox.dropped), (vec!["e", "f"], 3));
    }

    #[test]
    fn a_400_names_the_events_to_drop_by_index() {
        let mut outbox = filled(10, &["a", "b", "c", "d"]);
        let batch = outbox.batch_body(10, 0);
        let answer = |text: &str| serde_json::from_str::<Value>(text).unwrap();
        let named = batch.rejected(&answer(
            r#"{"error":"invalid_events","problems":[],"rejected":[3,1,1,9,-1,0.5]}"#,
        ));
        assert_eq!(
            named.as_deref(),
            Some(&["d".to_owned(), "b".to_owned()][..])
        );
        outbox.reject(&named.unwrap());
        assert_eq!(queued(&outbox), ["a", "c"]);
        // No usable list: the whole batch is refused.
        for text in [
            r#"{"error":"invalid_json"}"#,
            r#"{"rejected":[]}"#,
            r#"{"rejected":[42]}"#,
            r#"{"rejected":"3"}"#,
            "null",
        ] {
            assert_eq!(batch.rejected(&answer(text)), None, "{text}");
        }
    }

    #[test]
    fn a_413_halves_the_batches_and_drops_a_lone_event() {
        let mut outbox = filled(10, &["a", "b", "c", "d", "e"]);
        let batch = outbox.batch_body(10, 0);
        assert_eq!(outbox.too_large(&batch.ids), None);
        let half = outbox.batch_body(10, 0);
        assert_eq!(half.ids, ["a", "b"]);
        assert_eq!(outbox.too_large(&half.ids), None);
        let one = outbox.batch_body(10, 0);
        assert_eq!(one.ids, ["a"]);
        assert_eq!(outbox.too_large(&one.ids).as_deref(), Some("a"));
        assert_eq!(queued(&outbox), ["b", "c", "d", "e"]);
        // Still one at a time until the backlog is through.
        let next = outbox.batch_body(10, 0);
        outbox.acknowledge(&next.ids);
        assert_eq!(outbox.batch_body(10, 0).ids, ["c"]);
        let rest: Vec<String> = outbox.ids().map(str::to_owned).collect();
        outbox.acknowledge(&rest);
        outbox.push(&event("f")).unwrap();
        outbox.push(&event("g")).unwrap();
        assert_eq!(outbox.batch_body(10, 0).ids, ["f", "g"]);
    }

    #[test]
    fn a_batch_knows_whose_events_it_carries() {
        let mut outbox = Outbox::new(10);
        outbox.push(&of("a", "anon-1")).unwrap();
        outbox.push(&of("b", "anon-1")).unwrap();
        assert_eq!(
            outbox.batch_body(10, 0).anonymous_id.as_deref(),
            Some("anon-1")
        );
        outbox.push(&of("c", "anon-2")).unwrap();
        assert_eq!(outbox.batch_body(10, 0).anonymous_id, None);
        assert_eq!(
            outbox.batch_body(2, 0).anonymous_id.as_deref(),
            Some("anon-1")
        );
    }

    #[test]
    fn backoff_doubles_up_to_five_minutes() {
        let mut outbox = filled(10, &["a"]);
        let mut waits = Vec::new();
        for _ in 0..12 {
            outbox.failed(0);
            waits.push(outbox.retry_in(0));
        }
        assert_eq!(&waits[..4], &[1_000, 2_000, 4_000, 8_000]);
        assert_eq!(*waits.last().unwrap(), 5 * 60 * 1_000);
        assert!(!outbox.ready(1_000));
        outbox.acknowledge(&[]);
        assert!(outbox.ready(0));
    }

    #[test]
    fn stored_form_round_trips() {
        let outbox = filled(10, &["a", "b"]);
        let stored: Value = serde_json::from_str(&outbox.to_stored_json()).unwrap();
        assert_eq!(Outbox::from_stored(&stored, 10), outbox);
    }
}
