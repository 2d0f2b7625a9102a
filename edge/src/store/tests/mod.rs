//! The store's logic on rusqlite: identity, merges and their undo, contact
//! details, suppression, SMS claims, retention. (The same code runs on the
//! Durable Object's SQLite; tests/edge/ exercises it there end to end.)

use serde_json::{json, Value};

use super::persons::{Db, Source};
use super::protocol::*;
use super::retention::Retention;
use super::sql::{SqlExt, TestSql};
use super::{dispatch, schema};
pub(crate) use nudge_core::journey::Journeys as CoreJourneys;

const T0: i64 = 1_790_000_000_000;

fn store() -> TestSql {
    let sql = TestSql::new();
    schema::migrate(&sql).unwrap();
    sql
}

fn db(sql: &TestSql, now: i64) -> Db<'_> {
    Db { sql, now }
}

/// A studio action by `by`, with `live` the config in KV, through the wire
/// both ways (`store::ask`): its typed answer, as the JSON it travels as.
fn studio<A: StudioAsk>(
    db: &Db<'_>,
    live: Option<&str>,
    by: &str,
    action: A,
) -> StoreResult<Value> {
    let studio = Studio {
        live: live.map(str::to_owned),
        by: by.into(),
        action,
    };
    let answer = super::ask(db, &studio, &CoreJourneys::default())?;
    Ok(serde_json::to_value(answer).unwrap())
}

/// Any answer as the JSON it travels as.
fn as_json(answer: &impl serde::Serialize) -> Value {
    serde_json::to_value(answer).unwrap()
}

fn event(id: &str, anon: &str, name: &str, props: Value) -> Value {
    json!({"type": "track", "event": name, "messageId": id, "anonymousId": anon,
           "timestamp": "2026-09-01T00:00:00.000Z", "properties": props})
}

/// A batch as the agent sends it: with the key of its (last) browser,
/// `h-<anonymous id>` by this file's convention.
fn agent_batch(events: Vec<Value>) -> Append {
    let browser_key = events
        .last()
        .and_then(|e| e["anonymousId"].as_str())
        .map(|id| BrowserKey {
            anonymous_id: id.into(),
            key_hash: format!("h-{id}"),
        });
    Append {
        events,
        cookie_browser: None,
        client: "c".into(),
        campaigns: Vec::new(),
        browser_key,
        held: Vec::new(),
        objects: 0,
        away: false,
    }
}

/// Appends as the agent does (`agent_batch`), with a signed cookie's browser if any.
fn append(db: &Db<'_>, events: Vec<Value>, cookie: Option<&str>) -> Appended {
    let mut batch = agent_batch(events);
    batch.cookie_browser = cookie.map(str::to_owned);
    db.append(&batch).unwrap()
}

fn identify_as(
    db: &Db<'_>,
    anon: &str,
    proven: Proven,
    key: &str,
    nonce: Option<&str>,
) -> StoreResult<Identified> {
    db.identify(&Identify {
        anonymous_id: anon.into(),
        proven,
        proof: "user_token".into(),
        nonce: nonce.map(str::to_owned),
        email: None,
        phone: None,
        browser_key: Some(BrowserKey {
            anonymous_id: anon.into(),
            key_hash: key.into(),
        }),
    })
}

/// As the agent does: with the browser's key (`h-<anonymous id>`).
fn identify_user(db: &Db<'_>, anon: &str, user: &str) -> StoreResult<Identified> {
    identify_as(
        db,
        anon,
        Proven::UserId(user.into()),
        &format!("h-{anon}"),
        None,
    )
}

/// A browser "victim" with one order, sent with its own key.
fn victim_orders(db: &Db<'_>) {
    append(
        db,
        vec![event(
            "e1",
            "victim",
            "Order Completed",
            json!({"total": 10}),
        )],
        None,
    );
}

fn orders(db: &Db<'_>, anon: &str) -> i64 {
    as_json(&db.profile(anon).unwrap())["orders"]
        .as_i64()
        .unwrap()
}

#[test]
fn events_are_stored_once_with_their_facts() {
    let sql = store();
    let db = db(&sql, T0);
    let order = event("e1", "a1", "Order Completed", json!({"total": 30}));
    let first = append(&db, vec![order.clone()], None);
    assert_eq!((first.accepted, first.duplicates), (1, 0));
    let again = append(&db, vec![order], None);
    assert_eq!((again.accepted, again.duplicates), (0, 1));
    assert_eq!(orders(&db, "a1"), 1);
}

/// Spilled batches are written in one call, each as its own request would
/// have been (its browser key, its facts), and a repeat is a duplicate.
#[test]
fn spilled_batches_are_written_together_as_their_requests_would_be() {
    let sql = store();
    let db = db(&sql, T0);
    let j = CoreJourneys::default();
    let first = agent_batch(vec![event(
        "s1",
        "a1",
        "Order Completed",
        json!({"total": 10}),
    )]);
    let second = agent_batch(vec![
        event("s2", "a2", "Product Viewed", json!({})),
        event("s1", "a1", "Order Completed", json!({"total": 10})),
    ]);
    let spilled = AppendSpilled {
        batches: vec![first, second],
    };
    let appended = super::ask(&db, &spilled, &j).unwrap();
    assert_eq!(appended.len(), 2);
    assert_eq!((appended[0].accepted, appended[0].duplicates), (1, 0));
    // The second batch's key is a2's: a1's repeat is a duplicate all the same.
    assert_eq!((appended[1].accepted, appended[1].duplicates), (1, 1));
    assert_eq!(orders(&db, "a1"), 1);
    assert_eq!(appended[0].verified_browser.as_deref(), Some("a1"));
}

/// A person's facts read an event as the agent's profile and the reports
/// do (`crate::wire`): only a track named `Order Completed` is an order, its
/// revenue bounded the same way.
#[test]
fn facts_read_an_event_as_everything_else_does() {
    let sql = store();
    let db = db(&sql, T0);
    let mut page = event("p1", "a1", "Order Completed", json!({"total": 99}));
    page["type"] = "page".into();
    let negative = event(
        "o1",
        "a1",
        "Order Completed",
        json!({"total": -50, "revenue": 7}),
    );
    let huge = event("o2", "a1", "Order Completed", json!({"total": 1e300}));
    append(&db, vec![page, negative, huge], None);
    let profile = as_json(&db.profile("a1").unwrap());
    assert_eq!(profile["orders"], 2, "{profile}");
    assert_eq!(
        profile["total_spent"].as_f64(),
        Some(nudge_core::event::MAX_ORDER_REVENUE),
        "{profile}"
    );
}

#[test]
fn a_profile_is_read_only_with_the_key_its_browser_registered_first() {
    let sql = store();
    let db = db(&sql, T0);
    let mine = BrowserKey {
        anonymous_id: "a1".into(),
        key_hash: "h-mine".into(),
    };
    let theirs = BrowserKey {
        anonymous_id: "a1".into(),
        key_hash: "h-theirs".into(),
    };
    let mut batch = Append {
        events: vec![event("e1", "a1", "Order Completed", json!({"total": 9}))],
        cookie_browser: None,
        client: "c".into(),
        campaigns: Vec::new(),
        browser_key: Some(mine),
        held: Vec::new(),
        objects: 0,
        away: false,
    };
    db.append(&batch).unwrap();
    assert_eq!(
        as_json(&db.profile_for("a1", "h-mine").unwrap())["orders"],
        1
    );
    // Someone who learned the anonymous id (it travels in forwarded payloads)
    // sends events with a key of their own: it is not registered.
    batch.events = vec![event("e2", "a1", "Page", json!({}))];
    batch.browser_key = Some(theirs);
    db.append(&batch).unwrap();
    assert!(matches!(
        db.profile_for("a1", "h-theirs"),
        Err(StoreError::BrowserKey(_))
    ));
    assert!(matches!(
        db.profile_for("a2", "h-mine"),
        Err(StoreError::BrowserKey(_))
    ));
    // A key for a browser the batch does not speak for is not registered either.
    batch.events = vec![event("e3", "a3", "Page", json!({}))];
    batch.browser_key = Some(BrowserKey {
        anonymous_id: "victim".into(),
        key_hash: "h".into(),
    });
    db.append(&batch).unwrap();
    assert!(matches!(
        db.profile_for("victim", "h"),
        Err(StoreError::BrowserKey(_))
    ));
}

mod across;
mod archive;
mod bounds;
mod differential;
mod forwarding;
mod identity;
mod identity_cases;
mod identity_fuzz;
mod identity_races;
mod journeys;
mod journeys_bench;
pub(crate) mod objects;
mod pools;
mod reports;
mod reports_bench;

mod saga;
mod shards_bench;
mod versions;
