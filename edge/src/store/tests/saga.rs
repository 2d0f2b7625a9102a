//! Identity across a site's objects (`store::saga`): the directory's first
//! binding, merges whose persons live in two objects, a crash after each of
//! their steps, and the same traffic read the same over 1, 4 and 64 objects.

use serde_json::{json, Value};

use super::objects::{ready, signed_in, Stores};
use crate::store::protocol::*;
use crate::store::saga::{self, merge_id, Fault};
use crate::store::sql::Sql;

pub(super) fn campaigns() -> Vec<ReportedCampaign> {
    vec![ReportedCampaign {
        id: "welcome".into(),
        goal: Some("Order Completed".into()),
        variants: Vec::new(),
    }]
}

pub(super) fn key(anon: &str) -> BrowserKey {
    BrowserKey {
        anonymous_id: anon.into(),
        key_hash: format!("h-{anon}"),
    }
}

pub(super) fn track(id: &str, anon: &str, name: &str, hour: &str, props: Value) -> Value {
    json!({"type": "track", "event": name, "messageId": id, "anonymousId": anon,
           "timestamp": format!("2026-09-03T{hour}:00:00.000Z"), "properties": props})
}

/// A visit (`tag` its hour of the day): the campaign shown, and an order of `total`.
pub(super) fn visit(stores: &Stores, anon: &str, tag: &str, total: f64) -> Appended {
    let hour = format!("{:02}", 8 + tag.parse::<u32>().unwrap_or(0));
    let events = vec![
        track(
            &format!("{anon}-{tag}-s"),
            anon,
            "Campaign Shown",
            &hour,
            json!({"campaign_id": "welcome"}),
        ),
        track(
            &format!("{anon}-{tag}-o"),
            anon,
            "Order Completed",
            &hour,
            json!({"total": total}),
        ),
    ];
    stores
        .call(&super::objects::own_batch(anon, events, campaigns()))
        .unwrap()
}

pub(super) fn identify(stores: &Stores, anon: &str, user: &str) -> StoreResult<Identified> {
    stores.now.set(stores.now.get() + 1);
    let ask = signed_in(anon, Proven::UserId(user.into()), None);
    ready(saga::identify(stores, &ask, &campaigns()))
}

pub(super) fn profile(stores: &Stores, anon: &str) -> Value {
    let read = ReadProfile {
        anonymous_id: anon.into(),
        key_hash: format!("h-{anon}"),
    };
    match stores.call(&read) {
        Ok(profile) => serde_json::to_value(profile).unwrap(),
        Err(refused) => json!(format!("{refused:?}")),
    }
}

fn report(stores: &Stores) -> Value {
    super::objects::report_of(stores, "welcome", 30)
}

/// Two browsers that live in different objects of `stores`.
pub(super) fn apart(stores: &Stores) -> (String, String) {
    let a = "shopper-a".to_owned();
    let b = (0..)
        .map(|i| format!("shopper-b{i}"))
        .find(|b| stores.map.browser(b) != stores.map.browser(&a))
        .unwrap();
    (a, b)
}

/// The person a browser's own object holds for it.
pub(super) fn person_of(stores: &Stores, anon: &str) -> String {
    let sql = &stores.sqls[usize::from(stores.map.browser(anon))];
    let rows = sql
        .query(
            "SELECT person_id FROM identifiers WHERE value = ?",
            crate::store::sql::params![anon],
        )
        .unwrap();
    rows[0]["person_id"].as_str().unwrap().to_owned()
}

pub(super) fn persons(stores: &Stores) -> i64 {
    (0..stores.sqls.len())
        .map(|i| stores.count(i, "SELECT count(*) FROM persons WHERE merged_into IS NULL"))
        .sum()
}

#[test]
fn a_user_seen_on_two_objects_becomes_one_person_where_it_was_first_bound() {
    let stores = Stores::new(4);
    let (a, b) = apart(&stores);
    visit(&stores, &a, "1", 10.0);
    visit(&stores, &b, "1", 25.5);
    let first = identify(&stores, &a, "u1").unwrap();
    assert!(!first.merged);
    let second = identify(&stores, &b, "u1").unwrap();
    assert!(second.merged);
    assert_eq!(second.person, first.person);
    // One person, in a's object, with both browsers' orders and history.
    assert_eq!(persons(&stores), 1);
    let home = usize::from(stores.map.person(&first.person));
    assert_eq!(home, usize::from(stores.map.browser(&a)));
    for anon in [&a, &b] {
        let read = profile(&stores, anon);
        assert_eq!(read["user_id"], "u1", "{anon}");
        assert_eq!(read["orders"], 2);
        assert_eq!(read["total_spent"], 35.5);
    }
    // b's own object keeps only where b went: its next events go there.
    let b_home = usize::from(stores.map.browser(&b));
    assert_eq!(stores.count(b_home, "SELECT count(*) FROM persons"), 0);
    assert_eq!(
        stores.count(b_home, "SELECT count(*) FROM moved_browsers"),
        1
    );
    let later = visit(&stores, &b, "2", 4.5);
    assert_eq!((later.accepted, later.duplicates), (2, 0));
    assert_eq!(later.verified_browser.as_deref(), Some(b.as_str()));
    assert_eq!(profile(&stores, &b)["orders"], 3);
    // A resend of an event stored before the move is a repeat, not new,
    // even beside a new one.
    let again = visit(&stores, &b, "1", 25.5);
    assert_eq!((again.accepted, again.duplicates), (0, 2));
    let order =
        |id: &str, total: f64| track(id, &b, "Order Completed", "12", json!({"total": total}));
    let mixed = stores
        .call(&Append {
            events: vec![order(&format!("{b}-1-o"), 25.5), order("fresh", 1.0)],
            cookie_browser: None,
            client: "c".into(),
            browser_key: Some(key(&b)),
            campaigns: campaigns(),
            held: Vec::new(),
            objects: 0,
            away: false,
        })
        .unwrap();
    assert_eq!((mixed.accepted, mixed.duplicates), (1, 1));
    assert_eq!(profile(&stores, &b)["orders"], 4);
    // Someone else's key for the moved browser is neither registered at its
    // old object nor taken at the new one.
    let squat = stores
        .call(&Append {
            events: vec![order("squat", 1.0)],
            cookie_browser: None,
            client: "c".into(),
            browser_key: Some(BrowserKey {
                anonymous_id: b.clone(),
                key_hash: "h-attacker".into(),
            }),
            campaigns: campaigns(),
            held: Vec::new(),
            objects: 0,
            away: false,
        })
        .unwrap();
    assert_eq!(squat.verified_browser, None);
    assert_eq!(squat.unproven, ["squat"]);
    assert_eq!(stores.count(b_home, "SELECT count(*) FROM browser_keys"), 0);
    assert_eq!(profile(&stores, &b)["orders"], 4);
    // Identifying again changes nothing; the merge is logged once.
    let third = identify(&stores, &b, "u1").unwrap();
    assert_eq!(third.person, first.person);
    let log = stores.merge_log();
    assert_eq!(log.merges.len(), 1);
    assert_eq!(log.merges[0]["into_person"], first.person.as_str());
}

/// The same script of visits, identifies and later visits: what it leaves.
fn script(stores: &Stores) -> Value {
    let browsers: Vec<String> = (0..40).map(|i| format!("s{i}")).collect();
    for (i, anon) in browsers.iter().enumerate() {
        visit(stores, anon, "1", 5.0 + i as f64 * 1.25);
    }
    // Users on several browsers each: most merges cross objects at 4 and 64.
    let mut conflicts = 0;
    for (i, anon) in browsers.iter().enumerate() {
        let user = format!("user-{}", i % 13);
        match identify(stores, anon, &user) {
            Ok(_) => {}
            Err(StoreError::UserConflict(_)) => conflicts += 1,
            Err(other) => panic!("{anon}: {other:?}"),
        }
    }
    // A browser that already belongs to one user proving another: refused.
    assert!(matches!(
        identify(stores, &browsers[0], "user-12"),
        Err(StoreError::UserConflict(_))
    ));
    for (i, anon) in browsers.iter().enumerate().step_by(3) {
        visit(stores, anon, "2", 1.0 + i as f64);
    }
    let profiles: Vec<Value> = browsers.iter().map(|b| profile(stores, b)).collect();
    let mut users: Vec<String> = profiles
        .iter()
        .map(|p| format!("{}:{}:{}", p["user_id"], p["orders"], p["total_spent"]))
        .collect();
    users.sort();
    json!({"profiles": users, "report": report(stores), "persons": persons(stores),
           "conflicts": conflicts})
}

#[test]
fn the_same_identities_read_the_same_over_one_four_and_sixty_four_objects() {
    let one = script(&Stores::new(1));
    assert_eq!(one["persons"], 13);
    for objects in [4, 64] {
        let many = script(&Stores::new(objects));
        assert_eq!(many, one, "{objects} objects");
    }
}

/// Runs b's merge into a's person up to a crash after `step`, with a
/// visit of b while the merge is stopped; then the alarm's resume.
fn crash_after(step: u8) -> (Stores, Value) {
    let stores = Stores::new(4);
    let (a, b) = apart(&stores);
    visit(&stores, &a, "1", 10.0);
    visit(&stores, &b, "1", 20.0);
    let winner = identify(&stores, &a, "u1").unwrap().person;
    let loser = profile(&stores, &b);
    assert_eq!(loser["user_id"], Value::Null);
    // b's identify binds nothing new: u1 is a's; the merge runs and stops.
    let b_person = person_of(&stores, &b);
    let coordinator = crate::store::shards::directory_object(stores.map, "user", "u1");
    let logged = SagaStep {
        merge: merge_id(&b_person, &winner),
        from: b_person,
        into: winner.clone(),
        proof: "user_token".into(),
        step: 1,
        object: coordinator,
    };
    ready(saga::merge_across(
        &stores,
        &logged,
        &campaigns(),
        Fault::After(step),
    ))
    .unwrap();
    // The visitor goes on meanwhile: accepted whatever the step.
    let meanwhile = visit(&stores, &b, "2", 5.0);
    assert_eq!(meanwhile.accepted, 2, "after step {step}");
    // The coordinator's alarm finishes what was started.
    let resumed = ready(saga::resume(&stores, coordinator, &campaigns())).unwrap();
    assert_eq!(resumed, 1, "after step {step}");
    assert_eq!(
        ready(saga::resume(&stores, coordinator, &campaigns())).unwrap(),
        0
    );
    // b's identify now finds b where its person went.
    let done = identify(&stores, &b, "u1").unwrap();
    assert_eq!(done.person, winner);
    let seen = json!({"a": profile(&stores, &a), "b": profile(&stores, &b),
        "report": report(&stores), "persons": persons(&stores),
        "held": (0..4).map(|i| stores.count(i, "SELECT count(*) FROM held_events")).sum::<i64>(),
        "frozen": (0..4).map(|i| stores.count(i, "SELECT count(*) FROM frozen_persons")).sum::<i64>()});
    (stores, seen)
}

#[test]
fn a_crash_after_any_step_of_a_merge_across_objects_ends_as_no_crash() {
    let (_, whole) = crash_after(6);
    assert_eq!(whole["persons"], 1);
    assert_eq!(whole["b"]["orders"], 3, "{whole}");
    assert_eq!(whole["b"]["total_spent"], 35.0);
    assert_eq!(whole["held"], 0);
    assert_eq!(whole["frozen"], 0);
    for step in 1..=5 {
        let (_, seen) = crash_after(step);
        assert_eq!(seen, whole, "a crash after step {step}");
    }
}

#[test]
fn a_merge_across_objects_is_refused_between_two_user_ids_and_freezes_nobody() {
    let stores = Stores::new(4);
    let (a, b) = apart(&stores);
    visit(&stores, &a, "1", 1.0);
    visit(&stores, &b, "1", 1.0);
    identify(&stores, &a, "u1").unwrap();
    identify(&stores, &b, "u2").unwrap();
    // An email a's person proved, now proven by b (another user): refused.
    let email = "e".repeat(64);
    stores.now.set(stores.now.get() + 1);
    let proven = signed_in(&a, Proven::EmailHash(email.clone()), None);
    ready(saga::identify(&stores, &proven, &campaigns())).unwrap();
    let other = signed_in(&b, Proven::EmailHash(email), None);
    let refused = ready(saga::identify(&stores, &other, &campaigns()));
    assert!(
        matches!(refused, Err(StoreError::UserConflict(_))),
        "{refused:?}"
    );
    let frozen: i64 = (0..4)
        .map(|i| stores.count(i, "SELECT count(*) FROM frozen_persons"))
        .sum();
    assert_eq!(frozen, 0);
    assert_eq!(profile(&stores, &b)["user_id"], "u2");
}

#[test]
fn a_merge_into_a_person_that_is_leaving_waits_and_loses_nothing() {
    let stores = Stores::new(4);
    let (a, b) = apart(&stores);
    visit(&stores, &a, "1", 10.0);
    visit(&stores, &b, "1", 20.0);
    let winner = identify(&stores, &a, "u1").unwrap().person;
    // a's person starts leaving in another merge (stopped after its export).
    stores
        .call(&ExportPerson {
            merge: "elsewhere".into(),
            person: winner.clone(),
            into: "p3ff_elsewhere".into(),
        })
        .unwrap();
    let waits = identify(&stores, &b, "u1");
    assert!(matches!(waits, Err(StoreError::Overloaded(_))), "{waits:?}");
    // Nothing was imported into the leaving person; b's person is held
    // whole in its object, its saga open for the alarm.
    let winner_home = usize::from(stores.map.person(&winner));
    assert_eq!(
        stores.count(winner_home, "SELECT count(*) FROM imported_merges"),
        0
    );
    let b_home = usize::from(stores.map.browser(&b));
    assert_eq!(stores.count(b_home, "SELECT count(*) FROM persons"), 1);
    assert_eq!(stores.count(b_home, "SELECT orders FROM persons"), 1);
    let open: i64 = (0..4)
        .map(|i| stores.count(i, "SELECT count(*) FROM sagas WHERE step < 7"))
        .sum();
    assert_eq!(open, 1);
}

#[test]
fn a_merge_whose_winner_moves_meanwhile_follows_it() {
    let stores = Stores::new(4);
    // Three browsers in three objects: c's person will move into a's, and
    // b's (proving c's user) waits for that, then follows it.
    let a = "follow-a".to_owned();
    let others: Vec<String> = (0..)
        .map(|i| format!("follow-{i}"))
        .filter(|x| stores.map.browser(x) != stores.map.browser(&a))
        .take(40)
        .collect();
    let c = others[0].clone();
    let b = others
        .iter()
        .find(|x| stores.map.browser(x) != stores.map.browser(&c))
        .unwrap()
        .clone();
    for (anon, total) in [(&a, 1.0), (&b, 2.0), (&c, 4.0)] {
        visit(&stores, anon, "1", total);
    }
    let a_person = identify(&stores, &a, "ua").unwrap().person;
    let email = || Proven::EmailHash("c".repeat(64));
    let by_email = |anon: &str| {
        stores.now.set(stores.now.get() + 1);
        ready(saga::identify(
            &stores,
            &signed_in(anon, email(), None),
            &campaigns(),
        ))
    };
    let c_person = by_email(&c).unwrap().person;
    // c's person starts moving into a's (an email both proved) and stops
    // after its export, as a crash would leave it.
    let coordinator = crate::store::shards::directory_object(stores.map, "email", "shared");
    let first = SagaStep {
        merge: merge_id(&c_person, &a_person),
        from: c_person.clone(),
        into: a_person.clone(),
        proof: "user_token".into(),
        step: 1,
        object: coordinator,
    };
    ready(saga::merge_across(
        &stores,
        &first,
        &campaigns(),
        Fault::After(2),
    ))
    .unwrap();
    // b proves c's email: it must merge into c's person, which is leaving.
    let waits = by_email(&b);
    assert!(matches!(waits, Err(StoreError::Overloaded(_))), "{waits:?}");
    // The alarms finish both, in either order: b ends in a's person.
    for object in stores.map.all() {
        ready(saga::resume(&stores, object, &campaigns())).unwrap();
    }
    for object in stores.map.all() {
        ready(saga::resume(&stores, object, &campaigns())).unwrap();
    }
    let open: i64 = (0..4)
        .map(|i| stores.count(i, "SELECT count(*) FROM sagas WHERE step < 7"))
        .sum();
    assert_eq!(open, 0);
    for anon in [&a, &b, &c] {
        let read = profile(&stores, anon);
        assert_eq!(read["orders"], 3, "{anon}: {read}");
        assert_eq!(read["total_spent"], 7.0);
    }
    assert_eq!(persons(&stores), 1);
}

fn coupon_hook(id: &str, who: Value, code: &str) -> Hook {
    let mut event = json!({"type": "coupon.issued", "data": {"code": code}});
    for (k, v) in who.as_object().unwrap() {
        event[k] = v.clone();
    }
    Hook {
        id: id.into(),
        channel: "klaviyo".into(),
        event,
        objects: 0,
    }
}

fn codes(stores: &Stores, anon: &str) -> Vec<String> {
    let mut codes: Vec<String> = profile(stores, anon)["coupons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap().to_owned())
        .collect();
    codes.sort();
    codes
}

#[test]
fn webhooks_find_their_person_through_the_directory() {
    let stores = Stores::new(4);
    // An email first known from a channel: its person is made in the
    // email's own directory object.
    let hash = crate::tokens::email_hash("ann@example.com").unwrap();
    let first = coupon_hook("w1", json!({"email": "ann@example.com"}), "HELLO");
    stores.call(&first).unwrap();
    let home = usize::from(crate::store::shards::directory_object(
        stores.map, "email", &hash,
    ));
    assert_eq!(stores.count(home, "SELECT count(*) FROM directory"), 1);
    // Her browser, in another object, proves the email: it moves to her
    // person, and sees the coupon.
    let b = (0..)
        .map(|i| format!("ann-{i}"))
        .find(|b| usize::from(stores.map.browser(b)) != home)
        .unwrap();
    visit(&stores, &b, "1", 3.0);
    stores.now.set(stores.now.get() + 1);
    let proven = signed_in(&b, Proven::EmailHash(hash.clone()), None);
    let identified = ready(saga::identify(&stores, &proven, &campaigns())).unwrap();
    assert!(identified.merged);
    assert_eq!(codes(&stores, &b), ["HELLO"]);
    stores
        .call(&coupon_hook(
            "w2",
            json!({"email": "ann@example.com"}),
            "AGAIN",
        ))
        .unwrap();
    assert_eq!(codes(&stores, &b), ["AGAIN", "HELLO"]);
    // A user id bound in the directory to a person of another object: the
    // webhook is applied there, once.
    let a = (0..)
        .map(|i| format!("bob-{i}"))
        .find(|a| {
            let d = crate::store::shards::directory_object(stores.map, "user", "u9");
            stores.map.browser(a) != d
        })
        .unwrap();
    visit(&stores, &a, "1", 1.0);
    identify(&stores, &a, "u9").unwrap();
    let hook = coupon_hook("w3", json!({"user_id": "u9"}), "BOB");
    stores.call(&hook).unwrap();
    assert_eq!(codes(&stores, &a), ["BOB"]);
    assert!(matches!(
        stores.call(&hook),
        Err(StoreError::AlreadyProcessed(_))
    ));
    assert_eq!(persons(&stores), 2);
}

#[test]
fn a_links_nonce_is_used_once_across_the_site() {
    let stores = Stores::new(4);
    let (a, b) = apart(&stores);
    visit(&stores, &a, "1", 1.0);
    visit(&stores, &b, "1", 1.0);
    let click = |anon: &str| {
        stores.now.set(stores.now.get() + 1);
        let mut ask = signed_in(anon, Proven::EmailHash("d".repeat(64)), None);
        ask.proof = "click_token".into();
        ask.nonce = Some("nonce-1".into());
        ready(saga::identify(&stores, &ask, &campaigns()))
    };
    click(&a).unwrap();
    // The same link opened in a browser of another object: refused there too.
    assert!(matches!(click(&b), Err(StoreError::TokenUsed(_))));
    assert!(matches!(click(&a), Err(StoreError::TokenUsed(_))));
    assert_eq!(profile(&stores, &b)["user_id"], Value::Null);
    assert_eq!(persons(&stores), 2);
}

#[test]
fn two_merges_of_one_pair_the_opposite_ways_end_as_one_and_lose_nothing() {
    let stores = Stores::new(4);
    let (a, b) = apart(&stores);
    visit(&stores, &a, "1", 1.0);
    visit(&stores, &b, "1", 2.0);
    let (pa, pb) = (person_of(&stores, &a), person_of(&stores, &b));
    let saga = |from: &str, into: &str, proof: &str| SagaStep {
        merge: merge_id(from, into),
        from: from.into(),
        into: into.into(),
        proof: proof.into(),
        step: 1,
        object: crate::store::shards::directory_object(stores.map, "email", proof),
    };
    // Both start at once (one proven by each person's email) and both
    // freeze their loser before either imports.
    let ab = saga(&pa, &pb, "x");
    let ba = saga(&pb, &pa, "y");
    ready(saga::merge_across(
        &stores,
        &ab,
        &campaigns(),
        Fault::After(2),
    ))
    .unwrap();
    ready(saga::merge_across(
        &stores,
        &ba,
        &campaigns(),
        Fault::After(2),
    ))
    .unwrap();
    // Both visitors go on meanwhile: held on both sides.
    visit(&stores, &a, "2", 4.0);
    visit(&stores, &b, "2", 8.0);
    // The alarms: one merge gives way, the other completes.
    for _ in 0..2 {
        for object in stores.map.all() {
            let _ = ready(saga::resume(&stores, object, &campaigns()));
        }
    }
    let open: i64 = (0..4)
        .map(|i| stores.count(i, "SELECT count(*) FROM sagas WHERE step < 7"))
        .sum();
    assert_eq!(open, 0);
    let frozen: i64 = (0..4)
        .map(|i| stores.count(i, "SELECT count(*) FROM frozen_persons"))
        .sum();
    assert_eq!(frozen, 0);
    assert_eq!(persons(&stores), 1);
    for anon in [&a, &b] {
        let read = profile(&stores, anon);
        assert_eq!(read["orders"], 4, "{anon}: {read}");
        assert_eq!(read["total_spent"], 15.0);
    }
    assert_eq!(stores.merge_log().merges.len(), 1);
}

#[test]
fn an_unsubscribe_reaches_every_object_and_stops_sends_there() {
    let stores = Stores::new(4);
    // Ann unsubscribes through a channel: her person is in her email's object.
    let hook = Hook {
        id: "u1".into(),
        channel: "klaviyo".into(),
        event: json!({"type": "unsubscribed", "email": "ann@example.com"}),
        objects: 0,
    };
    stores.call(&hook).unwrap();
    let hash = crate::tokens::email_hash("ann@example.com").unwrap();
    let made = usize::from(crate::store::shards::directory_object(
        stores.map, "email", &hash,
    ));
    let suppressed = |i: usize| stores.count(i, "SELECT count(*) FROM suppressions");
    assert_eq!(suppressed(made), 1);
    // The alarm of that object copies it to every object, once.
    let db = crate::store::persons::Db {
        sql: &stores.sqls[made],
        now: stores.now.get(),
    };
    let outbox = db.suppression_outbox(10).unwrap();
    assert_eq!(outbox.len(), 1);
    let copied = ready(crate::store::spread::copy_suppressions(&stores, outbox)).unwrap();
    db.copied(&copied).unwrap();
    assert!(db.suppression_outbox(10).unwrap().is_empty());
    for i in 0..4 {
        assert_eq!(suppressed(i), 1, "object {i}");
        assert_eq!(
            stores.count(i, "SELECT count(*) FROM suppression_outbox"),
            0
        );
    }
    // A browser elsewhere that typed her address is never texted or mailed
    // from its own object.
    let typed = (0..)
        .map(|i| format!("typed-{i}"))
        .find(|b| usize::from(stores.map.browser(b)) != made)
        .unwrap();
    visit(&stores, &typed, "1", 1.0);
    let form = json!({"type": "identify", "messageId": "typed-form", "anonymousId": typed,
        "timestamp": "2026-09-03T10:00:00.000Z", "traits": {"email": "ann@example.com"}});
    stores
        .call(&Append {
            events: vec![form],
            cookie_browser: None,
            client: "c".into(),
            browser_key: Some(key(&typed)),
            campaigns: campaigns(),
            held: Vec::new(),
            objects: 0,
            away: false,
        })
        .unwrap();
    let object = stores.map.browser(&typed);
    let verdicts = stores
        .call(&Deliveries {
            checks: vec![DeliveryCheck {
                destination: "mail".into(),
                event_id: format!("{typed}-1-o"),
                anonymous_id: Some(typed.clone()),
                person: None,
                purpose: None,
                claim: None,
            }],
            object,
        })
        .unwrap();
    let verdict = serde_json::to_value(&verdicts[0]).unwrap();
    assert_eq!(verdict["contact"]["suppressed"], true, "{verdict}");
}

#[test]
fn the_admin_finds_a_person_by_any_name_in_any_object() {
    let stores = Stores::new(4);
    let (a, _) = apart(&stores);
    visit(&stores, &a, "1", 1.0);
    let email = "ada@example.com";
    stores.now.set(stores.now.get() + 1);
    let mut ask = signed_in(&a, Proven::UserId("ada".into()), None);
    ask.email = Some(email.into());
    let person = ready(saga::identify(&stores, &ask, &campaigns()))
        .unwrap()
        .person;
    let hash = crate::tokens::email_hash(email).unwrap();
    stores.now.set(stores.now.get() + 1);
    ready(saga::identify(
        &stores,
        &signed_in(&a, Proven::EmailHash(hash), None),
        &campaigns(),
    ))
    .unwrap();
    // The names' directory objects are not all the person's own.
    let dir =
        |kind: &str, value: &str| crate::store::shards::directory_object(stores.map, kind, value);
    let home = stores.map.browser(&a);
    let email_hash = crate::tokens::email_hash(email).unwrap();
    assert!(dir("user", "ada") != home || dir("email", &email_hash) != home);
    for name in [person.as_str(), "ada", email, a.as_str()] {
        let runs = stores
            .call(&JourneyRuns {
                person: name.into(),
            })
            .unwrap();
        assert_eq!(runs.0["person"], person.as_str(), "{name}");
    }
    let nobody = stores.call(&JourneyRuns {
        person: "nobody".into(),
    });
    assert!(matches!(nobody, Err(StoreError::NotFound(_))), "{nobody:?}");
}

#[test]
fn a_signed_cookie_links_a_wiped_browser_across_objects_but_never_into_a_user() {
    let stores = Stores::new(4);
    let (old, fresh) = apart(&stores);
    visit(&stores, &old, "1", 5.0);
    visit(&stores, &fresh, "1", 7.0);
    ready(saga::link_cookie(&stores, &old, &fresh, &campaigns())).unwrap();
    assert_eq!(persons(&stores), 1);
    for anon in [&old, &fresh] {
        assert_eq!(profile(&stores, anon)["orders"], 2, "{anon}");
    }
    let log = stores.merge_log();
    assert_eq!(log.merges[0]["proof"], "signed_cookie");
    // Never into a signed-in person.
    let stores = Stores::new(4);
    visit(&stores, &old, "1", 5.0);
    visit(&stores, &fresh, "1", 7.0);
    identify(&stores, &old, "someone").unwrap();
    ready(saga::link_cookie(&stores, &old, &fresh, &campaigns())).unwrap();
    assert_eq!(persons(&stores), 2);
    assert_eq!(profile(&stores, &fresh)["orders"], 1);
}

/// `anon` proves `email` (a verified email, as a signed link or token does).
fn prove_email(stores: &Stores, anon: &str, email: &str) -> Identified {
    stores.now.set(stores.now.get() + 1);
    let hash = crate::tokens::email_hash(email).unwrap();
    ready(saga::identify(
        stores,
        &signed_in(anon, Proven::EmailHash(hash), None),
        &campaigns(),
    ))
    .unwrap()
}

/// A person moved out of an object and then, merged, back into it: the
/// browsers that went with it are at home there again, and their events
/// land (no redirect left pointing away from where their person is).
#[test]
fn a_person_moved_away_and_back_is_at_home_again() {
    let stores = Stores::new(4);
    let (x1, y1) = apart(&stores);
    let x = stores.map.browser(&x1);
    let x2 = (0..)
        .map(|i| format!("shopper-x{i}"))
        .find(|b| stores.map.browser(b) == x && *b != x1)
        .unwrap();
    visit(&stores, &x1, "1", 10.0);
    visit(&stores, &y1, "1", 20.0);
    visit(&stores, &x2, "1", 30.0);
    // u1 is first bound on y1's object: x1's person moves there.
    identify(&stores, &y1, "u1").unwrap();
    assert!(identify(&stores, &x1, "u1").unwrap().merged);
    // x2 proves an email first, on x's object; then y1 proves it too:
    // u1's person (with x1 and y1) moves into x2's, back to x's object.
    let email = "back@example.com";
    prove_email(&stores, &x2, email);
    assert!(prove_email(&stores, &y1, email).merged);
    // Every browser's events reach the one person, wherever they hash.
    for (anon, tag) in [(&x1, "2"), (&y1, "2"), (&x2, "2")] {
        visit(&stores, anon, tag, 1.0);
    }
    for anon in [&x1, &y1, &x2] {
        assert_eq!(profile(&stores, anon)["orders"], 6, "{anon}");
    }
    assert_eq!(persons(&stores), 1);
}

/// A person that loses merges into three other objects in turn: its first
/// browser's own object leads straight to where it lives now (one hop, not
/// a chain through every object it passed, which would end in a refusal).
#[test]
fn a_browser_follows_its_person_through_any_number_of_moves_in_one_hop() {
    let stores = Stores::new(8);
    // Four browsers, each in an object of its own.
    let mut browsers: Vec<String> = Vec::new();
    for i in 0.. {
        let anon = format!("mover-{i}");
        if browsers
            .iter()
            .all(|b| stores.map.browser(b) != stores.map.browser(&anon))
        {
            browsers.push(anon);
        }
        if browsers.len() == 4 {
            break;
        }
    }
    for anon in &browsers {
        visit(&stores, anon, "1", 10.0);
    }
    // Step k: browser k+1 proves an email first, then browser k proves it
    // too: the person holding browsers 0..=k moves into k+1's object.
    for k in 0..3 {
        let email = format!("step{k}@example.com");
        prove_email(&stores, &browsers[k + 1], &email);
        assert!(
            prove_email(&stores, &browsers[k], &email).merged,
            "step {k}"
        );
    }
    let first = &browsers[0];
    let home = usize::from(stores.map.browser(first));
    let lives = i64::from(stores.map.browser(&browsers[3]));
    let redirect = stores.sqls[home]
        .query(
            "SELECT object FROM moved_browsers WHERE anonymous_id = ?",
            crate::store::sql::params![first.as_str()],
        )
        .unwrap();
    assert_eq!(redirect[0]["object"], lives, "one hop to where it lives");
    visit(&stores, first, "2", 1.0);
    assert_eq!(profile(&stores, first)["orders"], 5);
    assert_eq!(persons(&stores), 1);
}
