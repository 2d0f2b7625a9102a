//! Delivering the outbox to the collect endpoint: when to send, what, and
//! what each answer means, with no I/O. The agent's transport only arms the
//! timer, posts the body and hands the answer back; every rule is here and
//! tested natively (`tests.rs`), deterministic given the clock.
//!
//! The rules: one batch in flight at a time; a full batch goes at once, a
//! partial one after the flush delay, never before a backoff ends; an event
//! leaves the outbox only when an answer names it (2xx accepted, 400 names
//! the invalid ones, 413 halves the batch or drops a lone oversize event,
//! 422 drops a batch that can never be read); anything else (a network
//! error, 5xx, 429) keeps them and backs off. A beacon on leaving sends
//! without waiting for an answer, so it changes nothing.

use crate::prelude::*;
use crate::queue::{Batch, Outbox};
use crate::time::Millis;
use crate::value::Value;

/// What the agent's options say about sending.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pace {
    /// A batch this full is sent at once.
    pub batch_size: usize,
    /// How long a partial batch waits for company.
    pub flush_ms: u32,
}

/// The outbox and where its delivery stands.
#[derive(Debug, Default)]
pub struct Delivery {
    pub outbox: Outbox,
    /// A batch was posted and its answer has not come.
    in_flight: bool,
    /// The flush timer is armed (the agent holds it).
    timer_armed: bool,
}

/// What an answer did, for the agent to say in debug mode and act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answered {
    /// 2xx: the batch left the outbox.
    Accepted,
    /// 400 naming invalid events: those were dropped, the rest stay.
    Rejected { dropped: usize, of: usize },
    /// Refused whole with no list (400 without one, 422): dropped.
    Refused { status: u16, of: usize },
    /// 413 for a lone event: that one was dropped.
    TooLarge { id: String },
    /// 413 for several: the next batches hold half as many.
    Split { of: usize },
    /// A network error or a temporary refusal: kept, retried after a backoff.
    RetryLater { status: u16 },
}

impl Delivery {
    pub fn new(outbox: Outbox) -> Delivery {
        Delivery {
            outbox,
            ..Delivery::default()
        }
    }

    /// After anything changed (an event queued, an answer, consent): the
    /// delay to arm the flush timer with, if it is to be armed now. At once
    /// when a batch is full, else after the flush delay, never before a
    /// backoff ends; nothing while a timer is armed or a batch in flight.
    pub fn wake_in(&mut self, pace: Pace, may_send: bool, now: Millis) -> Option<u32> {
        if self.timer_armed || self.in_flight || self.outbox.is_empty() || !may_send {
            return None;
        }
        let wanted = if self.outbox.len() >= pace.batch_size {
            0
        } else {
            i64::from(pace.flush_ms)
        };
        self.timer_armed = true;
        let delay = wanted.max(self.outbox.retry_in(now));
        Some(delay.min(i64::from(u32::MAX)) as u32)
    }

    /// The flush timer fired: the batch to post now, if one is due (then it
    /// is in flight until [`Delivery::answered`]). `None` with nothing to
    /// send, a batch already in flight, or a backoff not yet over (ask
    /// [`Delivery::wake_in`] again).
    pub fn woke(&mut self, pace: Pace, may_send: bool, now: Millis) -> Option<Batch> {
        self.timer_armed = false;
        self.due(pace, may_send, now)
    }

    /// The batch to post now, if one is due (see [`Delivery::woke`]).
    pub fn due(&mut self, pace: Pace, may_send: bool, now: Millis) -> Option<Batch> {
        if self.in_flight || !may_send || !self.outbox.ready(now) {
            return None;
        }
        self.in_flight = true;
        Some(self.outbox.batch_body(pace.batch_size, now))
    }

    /// The batch could not even be posted (no way to post): not in flight.
    pub fn not_sent(&mut self) {
        self.in_flight = false;
    }

    /// The collect endpoint's answer to `batch` (status 0: a network
    /// error), with its body as the host read it (`None`: empty or not
    /// JSON). Reading the text is the host's part: the agent has the
    /// browser's `JSON.parse`, so it carries no JSON reader of its own.
    pub fn answered(
        &mut self,
        batch: &Batch,
        status: u16,
        answer: Option<&Value>,
        now: Millis,
    ) -> Answered {
        self.in_flight = false;
        let of = batch.ids.len();
        let outbox = &mut self.outbox;
        match status {
            200..=299 => {
                outbox.acknowledge(&batch.ids);
                Answered::Accepted
            }
            400 => match answer.and_then(|answer| batch.rejected(answer)) {
                Some(rejected) => {
                    outbox.reject(&rejected);
                    Answered::Rejected {
                        dropped: rejected.len(),
                        of,
                    }
                }
                None => refuse(outbox, batch, status),
            },
            413 => match outbox.too_large(&batch.ids) {
                Some(id) => Answered::TooLarge { id },
                None => Answered::Split { of },
            },
            // Refused as malformed: resending the same bytes cannot help.
            422 => refuse(outbox, batch, status),
            _ => {
                outbox.failed(now);
                Answered::RetryLater { status }
            }
        }
    }

    /// The page is going away: what is queued, for `sendBeacon`. Nothing
    /// changes: the events stay queued, and if the beacon got through, the
    /// edge drops the repeat (same ids) when the next page sends them again.
    pub fn beacon(&self, pace: Pace, may_send: bool, now: Millis) -> Option<Batch> {
        (may_send && !self.outbox.is_empty()).then(|| self.outbox.batch_body(pace.batch_size, now))
    }

    /// Forgets every queued event (reset, consent withdrawn). A batch in
    /// flight is answered by id, so its answer cannot touch what comes next.
    pub fn clear(&mut self) {
        self.outbox.clear();
    }
}

/// The whole batch is refused with no list of the bad events: dropped.
fn refuse(outbox: &mut Outbox, batch: &Batch, status: u16) -> Answered {
    outbox.reject(&batch.ids);
    Answered::Refused {
        status,
        of: batch.ids.len(),
    }
}

/// Whether a batch body holds an event of `anonymous_id`: then the
/// visitor's browser key goes with it ([`with_browser_key`]), since the edge
/// registers a key only for an id the batch carries.
pub fn carries(body: &str, anonymous_id: &str) -> bool {
    let needle = ["\"anonymousId\":", &Value::from(anonymous_id).to_json()].concat();
    // Not `str::contains`: its searcher costs kilobytes of wasm.
    body.as_bytes()
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// Adds `"browser": <key>` (the key's wire form) to a batch body.
pub fn with_browser_key(body: &mut String, key: &Value) {
    body.pop(); // the body object's closing brace
    body.push_str(",\"browser\":");
    body.push_str(&key.to_json());
    body.push('}');
}
