//! The store's forwarding side and upkeep on rusqlite: SMS claims and caps,
//! suppression, inbound webhooks, retention, pagination.

use super::*;

fn sms_check(event_id: &str, anon: &str, budget: SmsBudget) -> DeliveryCheck {
    DeliveryCheck {
        destination: "sms".into(),
        event_id: event_id.into(),
        anonymous_id: Some(anon.into()),
        person: None,
        purpose: None,
        claim: Some(budget),
    }
}

/// One delivery's verdict, asked as the queue consumer asks (a batch of one).
fn verdict(db: &Db<'_>, check: DeliveryCheck) -> DeliveryVerdict {
    let checks = Deliveries {
        checks: vec![check],
        object: 0,
    };
    let mut verdicts = super::super::ask(db, &checks, &CoreJourneys::default()).unwrap();
    assert_eq!(verdicts.len(), 1);
    verdicts.remove(0)
}

/// An SMS claimed whose outcome never came back (the consumer stopped after
/// the claim) is never sent again and never passes silently as done: it is
/// filed once as "outcome unknown". A confirmed one is simply done.
#[test]
fn a_claimed_sms_whose_outcome_never_came_back_is_filed_not_sent() {
    let sql = store();
    let db = db(&sql, T0);
    let budget = SmsBudget {
        per_number_per_day: 5,
        per_site_per_day: 100,
    };
    let person = db.person_for_browser("texted").unwrap();
    db.remember_contact(&person, None, Some("+15551230000"), Source::Verified)
        .unwrap();
    for id in ["lost", "confirmed"] {
        assert!(matches!(
            verdict(&db, sms_check(id, "texted", budget)),
            DeliveryVerdict::Send { .. }
        ));
    }
    let confirmed = Outcomes {
        delivered: vec![Delivered {
            destination: "sms".into(),
            event_id: "confirmed".into(),
        }],
        dead_letters: Vec::new(),
        object: 0,
    };
    super::super::ask(&db, &confirmed, &CoreJourneys::default()).unwrap();
    assert!(matches!(
        verdict(&db, sms_check("confirmed", "texted", budget)),
        DeliveryVerdict::AlreadyDone
    ));
    // The queue delivers "lost" again: no second SMS, one letter saying why.
    let DeliveryVerdict::Skip { reason } = verdict(&db, sms_check("lost", "texted", budget)) else {
        panic!("an unconfirmed claim must not be sent again");
    };
    assert!(reason.contains("outcome unknown"), "{reason}");
    assert!(matches!(
        verdict(&db, sms_check("lost", "texted", budget)),
        DeliveryVerdict::AlreadyDone
    ));
    let letters = db.dead_letters(&Page::default()).unwrap();
    assert_eq!(letters.total, 1);
    assert!(letters.letters[0].reason.contains("outcome unknown"));
}

/// A queue batch's checks in one call: a repeat of a delivery already in
/// the batch is not sent twice, a repeat after its outcome is done, and a
/// claimed SMS is claimed once.
#[test]
fn a_batch_of_deliveries_is_checked_and_recorded_in_one_call_each() {
    let sql = store();
    let db = db(&sql, T0);
    let hook = |event_id: &str| DeliveryCheck {
        destination: "hook".into(),
        event_id: event_id.into(),
        anonymous_id: None,
        person: None,
        purpose: None,
        claim: None,
    };
    let j = CoreJourneys::default();
    let batch = Deliveries {
        checks: vec![hook("e1"), hook("e2"), hook("e1")],
        object: 0,
    };
    let verdicts = super::super::ask(&db, &batch, &j).unwrap();
    assert!(matches!(verdicts[0], DeliveryVerdict::Send { .. }));
    assert!(matches!(verdicts[1], DeliveryVerdict::Send { .. }));
    assert!(matches!(verdicts[2], DeliveryVerdict::AlreadyDone));
    let outcomes = Outcomes {
        delivered: vec![Delivered {
            destination: "hook".into(),
            event_id: "e1".into(),
        }],
        dead_letters: vec![DeadLetter {
            reason: "HTTP 400".into(),
            message: json!({"site": "demo", "event": {"messageId": "e2"}}),
        }],
        object: 0,
    };
    super::super::ask(&db, &outcomes, &j).unwrap();
    let again = Deliveries {
        checks: vec![hook("e1"), hook("e2")],
        object: 0,
    };
    let verdicts = super::super::ask(&db, &again, &j).unwrap();
    assert!(matches!(verdicts[0], DeliveryVerdict::AlreadyDone));
    // A filed letter is not a delivery: a replay sends it again.
    assert!(matches!(verdicts[1], DeliveryVerdict::Send { .. }));
    let letters = db.dead_letters(&Page::default()).unwrap();
    assert_eq!(
        (letters.total, letters.letters[0].reason.as_str()),
        (1, "HTTP 400")
    );
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
    // Sent, and its outcome recorded (the consumer's `Outcomes`).
    db.delivered("sms", "e2").unwrap();
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
    db.hook("w1", "sms", &hook, 1).unwrap();
    // The number later comes back through the shop, on another person, who is merged and unmerged.
    let person = db.person_for_browser("a1").unwrap();
    db.remember_contact(&person, None, Some("+15551230000"), Source::Verified)
        .unwrap();
    identify_user(&db, "a1", "u1").unwrap();
    identify_user(&db, "a2", "u1").unwrap();
    append(&db, vec![event("e1", "a3", "Page", json!({}))], None);
    identify_user(&db, "a3", "u1").unwrap();
    let seq = as_json(&db.merges(None, &Page::default()).unwrap())["merges"][0]["seq"]
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
        db.hook("w1", "email", &bad, 1),
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
    db.hook("w1", "email", &good, 1).unwrap();
    assert!(matches!(
        db.hook("w1", "email", &good, 1),
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
    let ask = |page: Page, before_id: Option<String>| RecentEvents { page, before_id }.cursor();
    let first = as_json(&db.recent_events(&ask(page, None)).unwrap());
    assert_eq!(first["events"].as_array().unwrap().len(), 2);
    let next = Page {
        before: first["next_before"].as_i64(),
        after: None,
        limit: Some(2),
    };
    let second = as_json(&db.recent_events(&ask(next, None)).unwrap());
    assert_eq!(second["events"][0]["id"], "e2");
    for i in 0..3 {
        db.dead_letter("r", &json!({"n": i})).unwrap();
    }
    let letters = as_json(
        &db.dead_letters(&Page {
            before: None,
            after: None,
            limit: Some(2),
        })
        .unwrap(),
    );
    assert_eq!(letters["letters"].as_array().unwrap().len(), 2);
    assert_eq!(letters["total"], 3);
    db.remove_dead_letters(&[1, 2]).unwrap();
    assert_eq!(
        sql.int("SELECT count(*) FROM dead_letters", &[]).unwrap(),
        Some(1)
    );
}

/// An unsubscribe made while two persons are merged covers both: every
/// address the merged person held is suppressed, and undoing the merge
/// leaves the split-off person unsubscribed.
#[test]
fn undoing_a_merge_never_lifts_an_unsubscribe_made_while_merged() {
    let sql = store();
    let db = db(&sql, T0);
    let hash = |e: &str| crate::tokens::email_hash(e).unwrap();
    // A: signed in as u1, reached at a@. B: a browser that clicked an email link to b@.
    identify_user(&db, "a1", "u1").unwrap();
    let a = person(&db, "a1");
    db.remember_contact(&a, Some("a@example.com"), None, Source::Verified)
        .unwrap();
    identify_as(
        &db,
        "b1",
        Proven::EmailHash(hash("b@example.com")),
        "h-b1",
        Some("n1"),
    )
    .unwrap();
    let b = person(&db, "b1");
    db.remember_contact(
        &b,
        Some("b@example.com"),
        Some("+15551230007"),
        Source::Verified,
    )
    .unwrap();
    // B signs in as u1 too: merged into A.
    identify_user(&db, "b1", "u1").unwrap();
    assert_eq!(person(&db, "b1"), a);
    let seq = as_json(&db.merges(None, &Page::default()).unwrap())["merges"][0]["seq"]
        .as_i64()
        .unwrap();
    // The email tool reports the merged person unsubscribed (by user id).
    db.hook(
        "w1",
        "email",
        &json!({"type": "unsubscribed", "user_id": "u1"}),
        1,
    )
    .unwrap();
    db.undo_merge(seq, "wrong merge").unwrap();
    assert_eq!(person(&db, "b1"), b, "split off again");
    assert!(db.contact(&a).unwrap().suppressed);
    assert!(
        db.contact(&b).unwrap().suppressed,
        "the split-off person stays unsubscribed"
    );
    // Every address the merged person held is on the suppression list:
    // whoever is reached there later gets nothing.
    let c = db.person_for_browser("c1").unwrap();
    db.remember_contact(&c, Some("b@example.com"), None, Source::Verified)
        .unwrap();
    assert!(db.contact(&c).unwrap().suppressed);
    let suppressed = db
        .sql
        .int("SELECT count(*) FROM suppressions", &[])
        .unwrap();
    assert_eq!(suppressed, Some(3), "a@, b@ and B's phone");
}

fn person(db: &Db<'_>, anon: &str) -> String {
    db.person_of("anon", anon).unwrap().unwrap()
}
