//! What follows a person across a site's objects after a merge moved it:
//! deliveries of events stored before the move, the studio's plays for a
//! person of any object; and what every object must keep up with: the live
//! config.

use super::objects::{ready, signed_in, Stores};
use super::saga::{apart, campaigns, visit};
use crate::store::calls::play_in;
use crate::store::directory::pull_live_config;
use crate::store::fence::fence;
use crate::store::persons::Db;
use crate::store::protocol::*;
use crate::store::saga;
use crate::store::sql::Sql;

/// `anon` signed in with a verified phone (the shop's user token carries it).
pub(super) fn with_phone(stores: &Stores, anon: &str, phone: &str) -> Identified {
    prove_phone(stores, anon, phone).unwrap()
}

/// `anon` proves `phone` (a verified phone), or the refusal.
pub(super) fn prove_phone(stores: &Stores, anon: &str, phone: &str) -> StoreResult<Identified> {
    stores.now.set(stores.now.get() + 1);
    let hash = crate::tokens::phone_hash(phone).unwrap();
    let ask = signed_in(anon, Proven::PhoneHash(hash), Some(phone.into()));
    ready(saga::identify(stores, &ask, &campaigns()))
}

fn sms(event_id: String, anon: &str) -> DeliveryCheck {
    DeliveryCheck {
        destination: "sms".into(),
        event_id,
        anonymous_id: Some(anon.into()),
        person: None,
        purpose: None,
        claim: Some(SmsBudget {
            per_number_per_day: 3,
            per_site_per_day: 400,
        }),
    }
}

#[test]
fn an_event_stored_before_its_person_moved_is_delivered_to_the_person_where_it_went() {
    let stores = Stores::new(4);
    let (a, b) = apart(&stores);
    visit(&stores, &a, "1", 10.0);
    // b's order is stored in b's object, and forwarded after b's person
    // moved to a's (the queue is behind).
    visit(&stores, &b, "1", 25.5);
    let phone = "+15550001234";
    with_phone(&stores, &a, phone);
    assert!(with_phone(&stores, &b, phone).merged);
    let b_object = stores.map.browser(&b);
    assert_eq!(
        stores.count(usize::from(b_object), "SELECT count(*) FROM moved_browsers"),
        1
    );
    // Beside it, a browser of b's object nobody knows: the verdicts keep
    // their places.
    let stranger = (0..)
        .map(|i| format!("stranger-{i}"))
        .find(|s| stores.map.browser(s) == b_object)
        .unwrap();
    let checks = vec![sms(format!("{b}-1-o"), &b), sms("x-1".into(), &stranger)];
    let verdicts = stores
        .call(&Deliveries {
            checks: checks.clone(),
            object: b_object,
        })
        .unwrap();
    match &verdicts[0] {
        DeliveryVerdict::Send { contact } => {
            assert_eq!(contact.phone.as_deref(), Some(phone));
            assert!(contact.phone_verified);
        }
        other => panic!("b's order: {other:?}"),
    }
    assert!(
        matches!(&verdicts[1], DeliveryVerdict::Skip { reason } if reason == "no phone on record"),
        "{verdicts:?}"
    );
    // The SMS was claimed where the person is (at most once there); the
    // outcome recorded where the event was stored stops a repeat there.
    let a_object = usize::from(stores.map.browser(&a));
    assert_eq!(
        stores.count(
            a_object,
            "SELECT count(*) FROM deliveries WHERE claimed = 1"
        ),
        1
    );
    stores
        .call(&Outcomes {
            delivered: vec![Delivered {
                destination: "sms".into(),
                event_id: format!("{b}-1-o"),
            }],
            dead_letters: Vec::new(),
            object: b_object,
        })
        .unwrap();
    let again = stores
        .call(&Deliveries {
            checks,
            object: b_object,
        })
        .unwrap();
    assert!(
        matches!(again[0], DeliveryVerdict::AlreadyDone),
        "{again:?}"
    );
}

#[test]
fn an_object_that_missed_a_publish_pulls_the_live_config_from_the_home() {
    let stores = Stores::new(4);
    let at = |object: usize| Db {
        sql: &stores.sqls[object],
        now: stores.now.get(),
    };
    let config = |n: i64| format!(r#"{{"version": 1, "campaigns": [], "journeys": [], "n": {n}}}"#);
    // Version 1 pushed to every object; version 2 written at the home, its
    // push lost on the way.
    stores
        .call(&AdoptConfig {
            version: 1,
            config: config(1),
        })
        .unwrap();
    at(0)
        .adopt_config(&AdoptConfig {
            version: 2,
            config: config(2),
        })
        .unwrap();
    assert_eq!(at(3).config_version().unwrap(), 1);
    assert!(ready(pull_live_config(&stores, 3, &at(3))).unwrap());
    assert_eq!(at(3).config_version().unwrap(), 2);
    let kept = at(3).live_config_after(1).unwrap().unwrap();
    assert_eq!(kept.config, config(2));
    // Up to date: nothing to pull. The home never asks itself.
    assert!(!ready(pull_live_config(&stores, 3, &at(3))).unwrap());
    let asked = stores.asked[0].get();
    assert!(!ready(pull_live_config(&stores, 0, &at(0))).unwrap());
    assert_eq!(stores.asked[0].get(), asked);
}

/// A two-day dry run of journey `wb` (its draft if `draft`) for `person`.
fn dry_run(person: String, draft: bool) -> DryRun {
    DryRun {
        journey: "wb".into(),
        draft,
        person: Some(person),
        events: Vec::new(),
        days: 2,
        who: None,
    }
}

/// The dry run and the sample send play at the home, with the drafts; the
/// person they play for lives in another object.
#[test]
fn the_studio_plays_a_journey_for_a_person_of_any_object() {
    let stores = super::pools::stores(4);
    super::pools::upload(&stores, &["WB15-1"]);
    let object = stores.map.all().find(|o| *o != stores.map.home()).unwrap();
    let anon = super::pools::shoppers(&stores, object, 1).remove(0);
    let user = format!("user-{anon}");
    let play = ready(play_in(&stores, dry_run(user.clone(), false))).unwrap();
    let timeline = play.0["timeline"].as_array().unwrap().clone();
    let kinds: Vec<&str> = timeline.iter().filter_map(|e| e["kind"].as_str()).collect();
    // Signed in and agreed to marketing: their code is there to give (in
    // the pool's home, wherever that is), and the email goes.
    let set = timeline.iter().find(|e| e["kind"] == "set").unwrap();
    assert_eq!(set["coupon"], "given", "{timeline:?}");
    assert!(kinds.contains(&"send"), "{kinds:?}");
    // The studio's draft, kept at the home, plays for them too.
    stores
        .call(&Studio {
            live: None,
            by: "Ed".into(),
            action: SaveDraft {
                item: Item::Journey("wb".into()),
                expected: None,
                body: serde_json::json!({"id": "wb", "entry": {"event": "Went Quiet"},
                    "steps": [{"send": {"destination": "email", "event": "Drafted"}}]}),
            },
        })
        .unwrap();
    let drafted = ready(play_in(&stores, dry_run(user.clone(), true))).unwrap();
    let sent: Vec<&str> = drafted.0["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "send")
        .filter_map(|e| e["event"].as_str())
        .collect();
    assert_eq!(sent, ["Drafted"]);
    // A person of that object who never agreed to marketing: the send is
    // suppressed, as their real run's would be.
    let quiet = (0..)
        .map(|i| format!("quiet-{i}"))
        .find(|b| stores.map.browser(b) == object)
        .unwrap();
    super::saga::visit(&stores, &quiet, "1", 1.0);
    let quiet_play = ready(play_in(&stores, dry_run(quiet.clone(), false))).unwrap();
    let suppressed = quiet_play.0["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["kind"] == "suppressed" && e["reason"] == "consent");
    assert!(suppressed, "{:?}", quiet_play.0);
    // The sample message carries the person's own facts (their coupon
    // masked); a name nobody has is refused.
    let sample = ready(play_in(
        &stores,
        SampleSend {
            journey: "wb".into(),
            draft: false,
            path: "steps[1]".into(),
            person: Some(user),
            who: None,
        },
    ))
    .unwrap();
    assert_eq!(sample.destination, "email");
    assert_eq!(sample.event["properties"]["test"], true);
    let nobody = SampleSend {
        journey: "wb".into(),
        draft: false,
        path: "steps[1]".into(),
        person: Some("nobody-at-all".into()),
        who: None,
    };
    assert!(matches!(
        ready(play_in(&stores, nobody)),
        Err(StoreError::NotFound(_))
    ));
}

/// A merge across objects undone: the person split out keeps living where
/// the merge moved it, its names point at it again, and its own id still
/// finds it (never the person it was split from).
#[test]
fn an_undo_across_objects_gives_the_person_back_its_names_and_its_id() {
    let stores = Stores::new(4);
    let (a, b) = apart(&stores);
    visit(&stores, &a, "1", 10.0);
    visit(&stores, &b, "1", 25.5);
    let email = "bea@example.com";
    let hash = crate::tokens::email_hash(email).unwrap();
    let ada = super::saga::identify(&stores, &a, "u1").unwrap().person;
    stores.now.set(stores.now.get() + 1);
    let bea = ready(saga::identify(
        &stores,
        &signed_in(&b, Proven::EmailHash(hash.clone()), None),
        &campaigns(),
    ))
    .unwrap()
    .person;
    // b signs in as u1 on a shared computer: b's person moves into ada's.
    assert!(super::saga::identify(&stores, &b, "u1").unwrap().merged);
    let runs = |name: &str| {
        stores
            .call(&JourneyRuns {
                person: name.into(),
            })
            .unwrap()
            .0["person"]
            .clone()
    };
    assert_eq!(runs(email), ada.as_str());
    let log = stores.merge_log();
    let seq = log.merges[0]["seq"].as_i64().unwrap();
    let undo = UndoMerge {
        seq,
        reason: "a shared computer".into(),
    };
    let undone = ready(saga::undo_merge(&stores, &undo)).unwrap();
    assert_eq!(
        (undone.person.as_str(), undone.split_from.as_str()),
        (bea.as_str(), ada.as_str())
    );
    assert!(undone
        .given_back
        .contains(&("email".to_owned(), hash.clone())));
    // Her email's directory entry is hers again; her id, which names b's
    // object, finds her where she lives now; b's events are hers.
    let directory = crate::store::shards::directory_object(stores.map, "email", &hash);
    let entry = stores.sqls[usize::from(directory)]
        .query(
            "SELECT person FROM directory WHERE kind = 'email' AND value = ?",
            crate::store::sql::params![hash.as_str()],
        )
        .unwrap();
    assert_eq!(entry[0]["person"], bea.as_str());
    assert_eq!(runs(email), bea.as_str());
    assert_eq!(runs(&bea), bea.as_str());
    assert_eq!(runs("u1"), ada.as_str());
    assert_eq!(super::saga::profile(&stores, &b)["orders"], 1);
    assert_eq!(super::saga::profile(&stores, &a)["orders"], 1);
    // A name she proves for the first time after the undo (its directory
    // entry is made now, for a person living outside the object her id
    // names) finds her too.
    let work = crate::tokens::email_hash("bea@work.example").unwrap();
    stores.now.set(stores.now.get() + 1);
    let proved = ready(saga::identify(
        &stores,
        &signed_in(&b, Proven::EmailHash(work), None),
        &campaigns(),
    ))
    .unwrap();
    assert_eq!(proved.person, bea);
    assert_eq!(runs("bea@work.example"), bea.as_str());
    // A third browser, of another object, proving her email moves in with
    // her where she lives (not to the object her id names).
    let lives = usize::from(stores.map.browser(&a));
    let c = (0..)
        .map(|i| format!("third-{i}"))
        .find(|c| {
            let object = stores.map.browser(c);
            usize::from(object) != lives && object != stores.map.person(&bea)
        })
        .unwrap();
    visit(&stores, &c, "1", 5.0);
    stores.now.set(stores.now.get() + 1);
    let third = ready(saga::identify(
        &stores,
        &signed_in(&c, Proven::EmailHash(hash.clone()), None),
        &campaigns(),
    ))
    .unwrap();
    assert!(third.merged);
    assert_eq!(runs(&c), bea.as_str());
    assert_eq!(super::saga::profile(&stores, &c)["orders"], 2);
    assert_eq!(super::saga::profile(&stores, &b)["orders"], 2);
    // Signing in as u1 again merges her again, where she lives.
    assert!(super::saga::identify(&stores, &b, "u1").unwrap().merged);
    assert_eq!(runs(email), ada.as_str());
    assert_eq!(super::saga::profile(&stores, &a)["orders"], 3);
}

/// Retention prunes persons who never learned anything; a directory entry
/// left naming one (its identify bound the entry, then never finished) must
/// not capture the next person who proves that identifier.
#[test]
fn a_directory_entry_naming_a_pruned_person_is_bound_again() {
    let stores = Stores::new(4);
    let (a, b) = apart(&stores);
    let hash = crate::tokens::email_hash("gone@example.com").unwrap();
    // Named by a's object, gone from it.
    let logical = crate::store::shards::logical_of_browser(&a);
    let ghost = format!("{}ghost", crate::store::shards::person_prefix(logical));
    let bound = stores
        .call(&Bind {
            kind: "email".into(),
            value: hash.clone(),
            person: ghost.clone(),
            object: None,
        })
        .unwrap();
    assert_eq!(bound.person, ghost);
    visit(&stores, &b, "1", 5.0);
    stores.now.set(stores.now.get() + 1);
    let identified = ready(saga::identify(
        &stores,
        &signed_in(&b, Proven::EmailHash(hash), None),
        &campaigns(),
    ))
    .unwrap();
    assert!(!identified.merged);
    assert_eq!(identified.person, super::saga::person_of(&stores, &b));
    let runs = stores
        .call(&JourneyRuns {
            person: "gone@example.com".into(),
        })
        .unwrap();
    assert_eq!(runs.0["person"], identified.person.as_str());
    assert_eq!(super::saga::profile(&stores, &b)["orders"], 1);
}

/// Until resharding is built, a site's objects serve only under the count
/// of objects they were made for: served under another, every object
/// refuses (the home by its own record, a new object by asking the home)
/// instead of making every browser's person again elsewhere.
#[test]
fn objects_refuse_to_serve_under_another_count_of_objects() {
    fn at(stores: &Stores, object: usize) -> Db<'_> {
        Db {
            sql: &stores.sqls[object],
            now: stores.now.get(),
        }
    }
    let four = Stores::new(4);
    for object in [0u16, 2, 2, 3] {
        let db = at(&four, usize::from(object));
        ready(fence(&four, object, &db)).unwrap();
        assert_eq!(db.served_objects().unwrap(), Some(4));
    }
    // The same site redeployed with SITE_SHARDS = 8: its four objects and
    // four new ones.
    let mut eight = Stores::new(8);
    let mut made = four.sqls;
    made.extend(eight.sqls.drain(4..));
    eight.sqls = made;
    for object in [0u16, 2, 5] {
        let db = at(&eight, usize::from(object));
        match ready(fence(&eight, object, &db)) {
            Err(StoreError::Internal(why)) => assert!(why.contains("SITE_SHARDS = 4"), "{why}"),
            other => panic!("object {object} served: {other:?}"),
        }
    }
    assert_eq!(at(&eight, 5).served_objects().unwrap(), None);
    // Objects an earlier build made over 4 objects in ranges (no layout
    // recorded) are refused by this one, which would look for their
    // persons elsewhere; one object is one object under either.
    for (objects, refused) in [(4, true), (1, false)] {
        let old = Stores::new(objects);
        let db = at(&old, 0);
        db.set_clock("site_objects", i64::from(objects), None)
            .unwrap();
        match ready(fence(&old, 0, &db)) {
            Err(StoreError::Internal(why)) if refused => assert!(why.contains("ranges"), "{why}"),
            other => assert_eq!(other.is_ok(), !refused, "{objects}: {other:?}"),
        }
    }
}

/// The event path over 64 objects: a browser's batch goes to its own object
/// alone (no directory read, nothing to the home but its own browsers').
#[test]
fn a_browsers_batches_reach_its_object_and_no_other() {
    let stores = Stores::new(64);
    let browsers: Vec<String> = (0..1_000).map(|i| format!("path-{i}")).collect();
    for anon in &browsers {
        let events = vec![serde_json::json!({"type": "track", "event": "Page Viewed",
            "messageId": format!("{anon}-v"), "anonymousId": anon,
            "timestamp": "2026-09-03T10:00:00.000Z", "properties": {}})];
        stores
            .call(&super::objects::own_batch(anon, events, Vec::new()))
            .unwrap();
    }
    for object in stores.map.all() {
        let own = browsers
            .iter()
            .filter(|b| stores.map.browser(b) == object)
            .count() as u32;
        assert_eq!(
            stores.asked[usize::from(object)].get(),
            own,
            "object {object}"
        );
    }
}
