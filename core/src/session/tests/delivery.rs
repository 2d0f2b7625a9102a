//! The outbox's delivery: when to send, what each answer does.

use crate::queue::{Batch, Outbox};
use crate::session::delivery::{carries, with_browser_key, Answered, Delivery, Pace};
use crate::time::SECOND;
use crate::value::{Map, Value};

/// The answer's body as the agent reads it (the browser's `JSON.parse`).
fn read(body: &str) -> Option<Value> {
    crate::json::parse(body, crate::json::Bounds::Cut).ok()
}

const PACE: Pace = Pace {
    batch_size: 3,
    flush_ms: 100,
};

fn event(id: &str, anonymous_id: &str) -> Value {
    let mut m = Map::new();
    m.insert("messageId", id);
    m.insert("type", "track");
    m.insert("anonymousId", anonymous_id);
    Value::Object(m)
}

fn delivery(ids: &[&str]) -> Delivery {
    let mut d = Delivery::new(Outbox::new(100));
    for id in ids {
        d.outbox.push(&event(id, "a1")).unwrap();
    }
    d
}

fn queued(d: &Delivery) -> Vec<&str> {
    d.outbox.ids().collect()
}

/// Arms the timer, lets it fire and takes the batch it sends.
fn send(d: &mut Delivery, now: i64) -> Batch {
    d.wake_in(PACE, true, now);
    d.woke(PACE, true, now).expect("a batch is due")
}

#[test]
fn the_flush_timer_waits_for_company_unless_a_batch_is_full() {
    // (events queued, may send, delay asked)
    let table: &[(&[&str], bool, Option<u32>)] = &[
        (&[], true, None),
        (&["e1"], true, Some(100)),
        (&["e1", "e2"], true, Some(100)),
        (&["e1", "e2", "e3"], true, Some(0)),
        (&["e1", "e2", "e3", "e4"], true, Some(0)),
        (&["e1"], false, None), // no consent, no endpoint: nothing is armed
    ];
    for (ids, may_send, delay) in table {
        let mut d = delivery(ids);
        assert_eq!(d.wake_in(PACE, *may_send, 0), *delay, "{ids:?} {may_send}");
    }
}

#[test]
fn one_timer_and_one_batch_in_flight_at_a_time() {
    let mut d = delivery(&["e1", "e2", "e3", "e4"]);
    assert_eq!(d.wake_in(PACE, true, 0), Some(0));
    assert_eq!(d.wake_in(PACE, true, 0), None, "already armed");
    let batch = d.woke(PACE, true, 0).expect("due");
    assert_eq!(batch.ids, ["e1", "e2", "e3"]);
    assert_eq!(d.wake_in(PACE, true, 0), None, "in flight");
    assert_eq!(d.due(PACE, true, 0), None, "in flight");
    // Queued meanwhile: kept, and sent after the answer.
    d.outbox.push(&event("e5", "a1")).unwrap();
    assert_eq!(d.answered(&batch, 202, None, 10), Answered::Accepted);
    assert_eq!(queued(&d), ["e4", "e5"]);
    assert_eq!(d.wake_in(PACE, true, 10), Some(100));
    assert_eq!(send(&mut d, 1_010).ids, ["e4", "e5"]);
}

#[test]
fn what_each_answer_does() {
    // (status, body, answered, events left of e1..e3)
    let table: &[(u16, &str, Answered, &[&str])] = &[
        (200, "", Answered::Accepted, &[]),
        (202, "{}", Answered::Accepted, &[]),
        (
            400,
            r#"{"error": {"code": "invalid_events"}, "rejected": [1]}"#,
            Answered::Rejected { dropped: 1, of: 3 },
            &["e1", "e3"],
        ),
        // No list (or one naming nothing in the batch): the whole batch is
        // bad, never a list that drops nothing and resends forever.
        (
            400,
            "not json",
            Answered::Refused { status: 400, of: 3 },
            &[],
        ),
        (
            400,
            r#"{"rejected": [7, -1, 0.5]}"#,
            Answered::Refused { status: 400, of: 3 },
            &[],
        ),
        (413, "", Answered::Split { of: 3 }, &["e1", "e2", "e3"]),
        (422, "", Answered::Refused { status: 422, of: 3 }, &[]),
        (
            0,
            "",
            Answered::RetryLater { status: 0 },
            &["e1", "e2", "e3"],
        ),
        (
            429,
            "",
            Answered::RetryLater { status: 429 },
            &["e1", "e2", "e3"],
        ),
        (
            503,
            "",
            Answered::RetryLater { status: 503 },
            &["e1", "e2", "e3"],
        ),
    ];
    for (status, body, answered, left) in table {
        let mut d = delivery(&["e1", "e2", "e3"]);
        let batch = send(&mut d, 0);
        assert_eq!(
            d.answered(&batch, *status, read(body).as_ref(), 0),
            *answered,
            "{status} {body}"
        );
        assert_eq!(queued(&d), *left, "{status} {body}");
    }
}

#[test]
fn a_413_halves_the_next_batches_and_drops_a_lone_event() {
    let mut d = delivery(&["e1", "e2", "e3"]);
    let batch = send(&mut d, 0);
    d.answered(&batch, 413, None, 0);
    let batch = send(&mut d, 0);
    assert_eq!(batch.ids, ["e1"]);
    assert_eq!(
        d.answered(&batch, 413, None, 0),
        Answered::TooLarge { id: "e1".into() }
    );
    assert_eq!(queued(&d), ["e2", "e3"]);
}

#[test]
fn failures_back_off_and_a_success_ends_the_backoff() {
    let mut d = delivery(&["e1"]);
    let mut now = 0;
    // (delay the timer is armed with after each failure)
    for backoff in [SECOND, 2 * SECOND, 4 * SECOND, 8 * SECOND] {
        let batch = send(&mut d, now);
        d.answered(&batch, 503, None, now);
        assert_eq!(d.wake_in(PACE, true, now), Some(backoff as u32));
        // Too early: nothing is sent, and the timer is armed again.
        assert_eq!(d.woke(PACE, true, now + backoff - 1), None);
        // The backoff ends within the flush delay: the flush delay.
        assert_eq!(d.wake_in(PACE, true, now + backoff - 1), Some(100));
        now += backoff;
    }
    let batch = send(&mut d, now);
    assert_eq!(d.answered(&batch, 200, None, now), Answered::Accepted);
    d.outbox.push(&event("e2", "a1")).unwrap();
    assert_eq!(d.wake_in(PACE, true, now), Some(100), "no backoff left");
}

#[test]
fn a_beacon_sends_what_is_queued_and_changes_nothing() {
    let mut d = delivery(&["e1", "e2"]);
    assert_eq!(d.beacon(PACE, false, 0), None);
    let beacon = d.beacon(PACE, true, 0).expect("queued");
    assert_eq!(beacon.ids, ["e1", "e2"]);
    assert_eq!(queued(&d), ["e1", "e2"]);
    // A batch in flight does not stop the beacon (the page is going).
    let _ = send(&mut d, 0);
    assert!(d.beacon(PACE, true, 0).is_some());
    assert_eq!(delivery(&[]).beacon(PACE, true, 0), None);
}

#[test]
fn a_clear_while_in_flight_keeps_what_comes_after() {
    let mut d = delivery(&["e1", "e2"]);
    let batch = send(&mut d, 0);
    d.clear();
    d.outbox.push(&event("e3", "a1")).unwrap();
    d.answered(&batch, 200, None, 0);
    assert_eq!(queued(&d), ["e3"]);
}

#[test]
fn the_browser_key_goes_only_with_its_visitors_events() {
    let mut d = Delivery::new(Outbox::new(10));
    d.outbox.push(&event("e1", "someone \"else\"")).unwrap();
    let batch = send(&mut d, 0);
    assert!(!carries(&batch.body, "a1"));
    assert!(carries(&batch.body, "someone \"else\""));
    d.outbox.push(&event("e2", "a1")).unwrap();
    let mut body = d.beacon(PACE, true, 0).expect("queued").body;
    assert!(carries(&body, "a1"));
    let mut key = Map::new();
    key.insert("anonymousId", "a1");
    key.insert("key", "k");
    with_browser_key(&mut body, &Value::Object(key));
    let sent = crate::json::parse(&body, crate::json::Bounds::Refuse).expect("JSON");
    let browser = sent.get("browser").expect("a browser member");
    assert_eq!(browser.get("key"), Some(&Value::from("k")));
    assert_eq!(
        sent.get("batch")
            .and_then(Value::as_array)
            .map(<[Value]>::len),
        Some(2)
    );
}
