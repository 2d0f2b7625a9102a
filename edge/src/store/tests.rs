//! The store's logic on rusqlite: identity, merges and their undo, contact
//! details, suppression, SMS claims, retention. (The same code runs on the
//! Durable Object's SQLite; tests/edge/ exercises it there end to end.)

use serde_json::{json, Value};

use super::persons::{Db, Source};
use super::protocol::*;
use super::retention::Retention;
use super::sql::{SqlExt, TestSql};
use super::{dispatch, schema};

const T0: i64 = 1_790_000_000_000;

fn store() -> TestSql {
    let sql = TestSql::new();
    schema::migrate(&sql).unwrap();
    sql
}

fn db(sql: &TestSql, now: i64) -> Db<'_> {
    Db { sql, now }
}

fn event(id: &str, anon: &str, name: &str, props: Value) -> Value {
    json!({"type": "track", "event": name, "messageId": id, "anonymousId": anon,
           "timestamp": "2026-09-01T00:00:00.000Z", "properties": props})
}

/// Appends as the agent does: with the key of the batch's (last) browser,
/// `h-<anonymous id>` by this file's convention.
fn append(db: &Db<'_>, events: Vec<Value>, cookie: Option<&str>) -> Appended {
    let browser_key = events
        .last()
        .and_then(|e| e["anonymousId"].as_str())
        .map(|id| BrowserKey {
            anonymous_id: id.into(),
            key_hash: format!("h-{id}"),
        });
    db.append(&Append {
        events,
        cookie_browser: cookie.map(str::to_owned),
        client: "c".into(),
        browser_key,
    })
    .unwrap()
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
    db.profile(anon).unwrap()["orders"].as_i64().unwrap()
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
        browser_key: Some(mine),
    };
    db.append(&batch).unwrap();
    assert_eq!(db.profile_for("a1", "h-mine").unwrap()["orders"], 1);
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

#[test]
fn a_signed_cookie_links_as_a_logged_undoable_merge() {
    let sql = store();
    let db = db(&sql, T0);
    append(
        &db,
        vec![event("e1", "old", "Order Completed", json!({"total": 10}))],
        None,
    );
    append(
        &db,
        vec![event("e2", "fresh", "Page", json!({}))],
        Some("old"),
    );
    assert_eq!(
        orders(&db, "fresh"),
        1,
        "the wiped browser is its person again"
    );
    let log = db.merges(None, &Page::default()).unwrap();
    let merge = &log["merges"][0];
    assert_eq!(merge["proof"], "signed_cookie");
    let seq = merge["seq"].as_i64().unwrap();
    db.undo_merge(seq, "test").unwrap();
    assert_eq!(orders(&db, "fresh"), 0);
    assert_eq!(orders(&db, "old"), 1);
}

#[test]
fn a_cookie_links_only_the_browser_that_proved_itself() {
    let sql = store();
    let db = db(&sql, T0);
    victim_orders(&db);
    append(&db, vec![event("e2", "attacker", "Page", json!({}))], None);
    // The attacker holds a valid cookie for its own id and slips the victim's
    // id into the batch, presenting its own key: the victim is not pulled in.
    let batch = Append {
        events: vec![
            event("e3", "victim", "Page", json!({})),
            event("e4", "attacker", "Page", json!({})),
        ],
        cookie_browser: Some("attacker".into()),
        client: "c".into(),
        browser_key: Some(BrowserKey {
            anonymous_id: "attacker".into(),
            key_hash: "h-attacker".into(),
        }),
    };
    let appended = db.append(&batch).unwrap();
    assert_eq!(appended.verified_browser.as_deref(), Some("attacker"));
    assert_eq!(orders(&db, "attacker"), 0);
    // Presenting the victim's id with a key that is not the victim's proves nothing.
    let forged = Append {
        events: vec![event("e5", "victim", "Page", json!({}))],
        cookie_browser: Some("attacker".into()),
        client: "c".into(),
        browser_key: Some(BrowserKey {
            anonymous_id: "victim".into(),
            key_hash: "h-guess".into(),
        }),
    };
    assert_eq!(db.append(&forged).unwrap().verified_browser, None);
    assert_eq!(orders(&db, "attacker"), 0);
    assert_eq!(
        sql.int("SELECT count(*) FROM merges", &[]).unwrap(),
        Some(0)
    );
}

#[test]
fn identify_needs_the_browser_key_and_a_refusal_changes_nothing() {
    let sql = store();
    let db = db(&sql, T0);
    victim_orders(&db);
    let tables = |sql: &TestSql| {
        [
            "persons",
            "identifiers",
            "used_nonces",
            "browser_keys",
            "merges",
        ]
        .map(|t| sql.int(&format!("SELECT count(*) FROM {t}"), &[]).unwrap())
    };
    let before = tables(&sql);
    // The attacker's own (valid) token, on the victim's browser, without its key.
    let attack = identify_as(
        &db,
        "victim",
        Proven::UserId("attacker".into()),
        "h-guess",
        Some("nonce-1"),
    );
    assert!(matches!(attack, Err(StoreError::BrowserKey(_))));
    let mut no_key = Identify {
        anonymous_id: "victim".into(),
        proven: Proven::EmailHash("attacker-email".into()),
        proof: "click_token".into(),
        nonce: Some("nonce-2".into()),
        email: None,
        phone: None,
        browser_key: None,
    };
    assert!(matches!(
        db.identify(&no_key),
        Err(StoreError::BrowserKey(_))
    ));
    // A key for another browser does not count either.
    no_key.browser_key = Some(BrowserKey {
        anonymous_id: "attacker".into(),
        key_hash: "h-attacker".into(),
    });
    assert!(matches!(
        db.identify(&no_key),
        Err(StoreError::BrowserKey(_))
    ));
    assert_eq!(tables(&sql), before, "nothing written, no nonce burned");
    // A conflict is refused before the nonce is used or the key registered.
    identify_user(&db, "a1", "alice").unwrap();
    identify_user(&db, "b1", "bob").unwrap();
    let before = tables(&sql);
    let conflict = identify_as(
        &db,
        "a1",
        Proven::UserId("bob".into()),
        "h-a1",
        Some("nonce-3"),
    );
    assert!(matches!(conflict, Err(StoreError::UserConflict(_))));
    assert_eq!(tables(&sql), before);
    // The link still works once, then the nonce is spent.
    identify_as(
        &db,
        "new",
        Proven::UserId("alice".into()),
        "h-new",
        Some("nonce-4"),
    )
    .unwrap();
    let again = identify_as(
        &db,
        "new",
        Proven::UserId("alice".into()),
        "h-new",
        Some("nonce-4"),
    );
    assert!(matches!(again, Err(StoreError::TokenUsed(_))));
}

#[test]
fn events_for_someone_else_browser_are_kept_but_change_nothing() {
    let sql = store();
    let db = db(&sql, T0);
    victim_orders(&db);
    // The attacker names the victim's browser, with its own key or none.
    for key in [Some("h-attacker"), None] {
        let forged = Append {
            events: vec![event(
                &format!("x-{key:?}"),
                "victim",
                "Order Completed",
                json!({"total": 1000}),
            )],
            cookie_browser: None,
            client: "c".into(),
            browser_key: key.map(|k| BrowserKey {
                anonymous_id: "attacker".into(),
                key_hash: k.into(),
            }),
        };
        let appended = db.append(&forged).unwrap();
        assert_eq!(appended.accepted, 1, "kept in the log");
        assert_eq!(
            appended.unproven,
            [format!("x-{key:?}")],
            "not applied, not forwarded"
        );
    }
    assert_eq!(orders(&db, "victim"), 1);
    // The victim's own browser, with its key, still counts.
    append(
        &db,
        vec![event(
            "e2",
            "victim",
            "Order Completed",
            json!({"total": 5}),
        )],
        None,
    );
    assert_eq!(orders(&db, "victim"), 2);
}

#[test]
fn two_user_ids_are_never_merged() {
    let sql = store();
    let db = db(&sql, T0);
    identify_user(&db, "a1", "alice").unwrap();
    identify_user(&db, "a2", "bob").unwrap();
    assert!(matches!(
        identify_user(&db, "a1", "bob"),
        Err(StoreError::UserConflict(_))
    ));
    // Nor through the cookie.
    db.link_cookie("a1", "a2").unwrap();
    assert_ne!(
        db.person_of("anon", "a1").unwrap(),
        db.person_of("anon", "a2").unwrap()
    );
}

#[test]
fn a_user_token_merges_devices_and_undo_gives_everything_back() {
    let sql = store();
    let db = db(&sql, T0);
    append(
        &db,
        vec![event("e1", "desk", "Order Completed", json!({"total": 50}))],
        None,
    );
    identify_user(&db, "desk", "u1").unwrap();
    let phone = identify_user(&db, "phone", "u1").unwrap();
    assert!(
        phone.merged,
        "the phone's own (empty) person is merged in, logged"
    );
    append(
        &db,
        vec![event(
            "e2",
            "tablet",
            "Order Completed",
            json!({"total": 5}),
        )],
        None,
    );
    let tablet_person = db.person_of("anon", "tablet").unwrap().unwrap();
    db.remember_contact(
        &tablet_person,
        Some("t@example.com"),
        None,
        Source::Unverified,
    )
    .unwrap();
    let tablet = identify_user(&db, "tablet", "u1").unwrap();
    assert!(tablet.merged);
    let merged_person = db.person_of("anon", "phone").unwrap().unwrap();
    assert_eq!(
        db.contact(&merged_person).unwrap().email.as_deref(),
        Some("t@example.com")
    );
    assert_eq!(orders(&db, "phone"), 2);
    let seq = db.merges(None, &Page::default()).unwrap()["merges"][0]["seq"]
        .as_i64()
        .unwrap();
    db.undo_merge(seq, "wrong").unwrap();
    assert_eq!(
        db.contact(&merged_person).unwrap().email,
        None,
        "the copied contact goes back"
    );
    assert_eq!(orders(&db, "phone"), 1);
    assert_eq!(orders(&db, "tablet"), 1);
    assert_eq!(
        db.undo_merge(seq, "again"),
        Err(StoreError::AlreadyUndone(format!(
            "merge {seq} was undone already"
        )))
    );
}

#[test]
fn a_typed_email_is_a_claim_and_never_overwrites_the_record() {
    let sql = store();
    let db = db(&sql, T0);
    let person = db.person_for_browser("a1").unwrap();
    db.remember_contact(
        &person,
        Some("real@example.com"),
        Some("+15551230000"),
        Source::Verified,
    )
    .unwrap();
    let typed = json!({"type": "identify", "messageId": "i1", "anonymousId": "a1",
        "timestamp": "2026-09-01T00:00:00.000Z", "traits": {"email": "attacker@example.com", "phone": "+15559990000"}});
    append(&db, vec![typed], None);
    let contact = db.contact(&person).unwrap();
    assert_eq!(contact.email.as_deref(), Some("real@example.com"));
    assert_eq!(contact.phone.as_deref(), Some("+15551230000"));
    assert!(contact.phone_verified);
    // Someone with no record keeps what they typed, unverified.
    let typed = json!({"type": "identify", "messageId": "i2", "anonymousId": "a2",
        "timestamp": "2026-09-01T00:00:00.000Z", "traits": {"phone": "+15559990000"}});
    append(&db, vec![typed], None);
    let other = db.person_of("anon", "a2").unwrap().unwrap();
    let contact = db.contact(&other).unwrap();
    assert_eq!(contact.phone.as_deref(), Some("+15559990000"));
    assert!(!contact.phone_verified);
    assert_eq!(
        sql.int("SELECT count(*) FROM claims", &[]).unwrap(),
        Some(3)
    );
    assert_eq!(
        sql.int("SELECT count(*) FROM merges", &[]).unwrap(),
        Some(0)
    );
}

fn sms_check(event_id: &str, anon: &str, budget: SmsBudget) -> Command {
    Command::Delivery(DeliveryCheck {
        destination: "sms".into(),
        event_id: event_id.into(),
        anonymous_id: Some(anon.into()),
        claim: Some(budget),
    })
}

fn verdict(db: &Db<'_>, command: Command) -> DeliveryVerdict {
    serde_json::from_value(dispatch(db, command).unwrap()).unwrap()
}

#[test]
fn sms_go_once_only_to_verified_numbers_within_the_caps() {
    let sql = store();
    let db = db(&sql, T0);
    let budget = SmsBudget {
        per_number_per_day: 2,
        per_site_per_day: 100,
    };
    // A number typed into a popup: never texted.
    let typed = json!({"type": "identify", "messageId": "i1", "anonymousId": "typed",
        "timestamp": "2026-09-01T00:00:00.000Z", "traits": {"phone": "+15559990000"}});
    append(&db, vec![typed], None);
    assert!(matches!(
        verdict(&db, sms_check("e1", "typed", budget)),
        DeliveryVerdict::Skip { .. }
    ));
    // A number the shop vouched for: texted once per event, twice a day at most.
    let person = db.person_for_browser("known").unwrap();
    db.remember_contact(&person, None, Some("+15551230000"), Source::Verified)
        .unwrap();
    assert!(matches!(
        verdict(&db, sms_check("e2", "known", budget)),
        DeliveryVerdict::Send { .. }
    ));
    assert!(matches!(
        verdict(&db, sms_check("e2", "known", budget)),
        DeliveryVerdict::AlreadyDone
    ));
    assert!(matches!(
        verdict(&db, sms_check("e3", "known", budget)),
        DeliveryVerdict::Send { .. }
    ));
    let DeliveryVerdict::Skip { reason } = verdict(&db, sms_check("e4", "known", budget)) else {
        panic!("over the per-number cap")
    };
    assert!(reason.contains("cap"), "{reason}");
    // The next day the budget is back.
    let tomorrow = Db {
        sql: &sql,
        now: T0 + 24 * 3600 * 1000,
    };
    assert!(matches!(
        verdict(&tomorrow, sms_check("e5", "known", budget)),
        DeliveryVerdict::Send { .. }
    ));
}

#[test]
fn unsubscribes_are_kept_by_address_through_merges_and_undo() {
    let sql = store();
    let db = db(&sql, T0);
    let hook = json!({"type": "unsubscribed", "phone": "+15551230000"});
    db.hook("w1", "sms", &hook).unwrap();
    // The number later comes back through the shop, on another person, who is merged and unmerged.
    let person = db.person_for_browser("a1").unwrap();
    db.remember_contact(&person, None, Some("+15551230000"), Source::Verified)
        .unwrap();
    identify_user(&db, "a1", "u1").unwrap();
    identify_user(&db, "a2", "u1").unwrap();
    append(&db, vec![event("e1", "a3", "Page", json!({}))], None);
    identify_user(&db, "a3", "u1").unwrap();
    let seq = db.merges(None, &Page::default()).unwrap()["merges"][0]["seq"]
        .as_i64()
        .unwrap();
    db.undo_merge(seq, "test").unwrap();
    let budget = SmsBudget {
        per_number_per_day: 5,
        per_site_per_day: 100,
    };
    let DeliveryVerdict::Skip { reason } = verdict(&db, sms_check("e9", "a1", budget)) else {
        panic!("suppressed numbers get nothing")
    };
    assert!(reason.contains("suppression"), "{reason}");
    assert!(db.contact(&person).unwrap().suppressed);
}

#[test]
fn a_refused_webhook_changes_nothing() {
    let sql = store();
    let db = db(&sql, T0);
    let bad = json!({"type": "coupon.issued", "email": "a@example.com", "data": {}});
    assert!(matches!(
        db.hook("w1", "email", &bad),
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(
        sql.int("SELECT count(*) FROM webhooks", &[]).unwrap(),
        Some(0)
    );
    assert_eq!(
        sql.int("SELECT count(*) FROM persons", &[]).unwrap(),
        Some(0)
    );
    let good = json!({"type": "coupon.issued", "email": "a@example.com", "data": {"code": "SAVE"}});
    db.hook("w1", "email", &good).unwrap();
    assert!(matches!(
        db.hook("w1", "email", &good),
        Err(StoreError::AlreadyProcessed(_))
    ));
}

#[test]
fn retention_prunes_only_what_is_old() {
    let sql = store();
    let old = db(&sql, T0);
    append(&old, vec![event("e1", "a1", "Page", json!({}))], None);
    append(
        &old,
        vec![event("e0", "buyer", "Order Completed", json!({"total": 1}))],
        None,
    );
    old.delivered("d", "e1").unwrap();
    let later = db(&sql, T0 + 100 * 24 * 3600 * 1000);
    append(&later, vec![event("e2", "a1", "Page", json!({}))], None);
    assert!(!later.prune(&Retention::default()).unwrap());
    assert_eq!(
        sql.int("SELECT count(*) FROM events", &[]).unwrap(),
        Some(1)
    );
    // The idle anonymous browser, nothing learned, went with its events; the buyer stays.
    assert_eq!(db(&sql, T0).person_of("anon", "a1").unwrap(), None);
    assert!(db(&sql, T0).person_of("anon", "buyer").unwrap().is_some());
    assert_eq!(
        sql.int("SELECT count(*) FROM deliveries", &[]).unwrap(),
        Some(0)
    );
    assert_eq!(
        sql.int("SELECT count(*) FROM persons", &[]).unwrap(),
        Some(1),
        "persons with facts are kept"
    );
    let custom =
        Retention::from_vars(|name| (name == "RETENTION_EVENTS_DAYS").then(|| "1000".into()));
    assert_eq!(custom.events, 1000);
}

#[test]
fn lists_paginate() {
    let sql = store();
    let db = db(&sql, T0);
    for i in 0..5 {
        let at = Db {
            sql: &sql,
            now: T0 + i,
        };
        append(
            &at,
            vec![event(&format!("e{i}"), "a", "Page", json!({}))],
            None,
        );
    }
    let page = Page {
        before: None,
        after: None,
        limit: Some(2),
    };
    let first = db.recent_events(&page).unwrap();
    assert_eq!(first["events"].as_array().unwrap().len(), 2);
    let next = Page {
        before: first["next_before"].as_i64(),
        after: None,
        limit: Some(2),
    };
    let second = db.recent_events(&next).unwrap();
    assert_eq!(second["events"][0]["id"], "e2");
    for i in 0..3 {
        db.dead_letter("r", &json!({"n": i})).unwrap();
    }
    let letters = db
        .dead_letters(&Page {
            before: None,
            after: None,
            limit: Some(2),
        })
        .unwrap();
    assert_eq!(letters["letters"].as_array().unwrap().len(), 2);
    assert_eq!(letters["total"], 3);
    db.remove_dead_letters(&[1, 2]).unwrap();
    assert_eq!(
        sql.int("SELECT count(*) FROM dead_letters", &[]).unwrap(),
        Some(1)
    );
}
