//! Identity across objects: cases the randomized differential
//! (`identity_fuzz`) found, each the shortest sequence that showed it, each
//! read the same over one object and several.

use super::across::prove_phone;
use super::objects::{ready, signed_in, Stores};
use super::saga::{campaigns, identify, persons, profile, visit};
use crate::store::protocol::*;
use crate::store::saga;

/// `anon` proves `email` (a verified email).
pub(super) fn prove_email(stores: &Stores, anon: &str, email: &str) -> StoreResult<Identified> {
    stores.now.set(stores.now.get() + 1);
    let hash = crate::tokens::email_hash(email).unwrap();
    ready(saga::identify(
        stores,
        &signed_in(anon, Proven::EmailHash(hash), None),
        &campaigns(),
    ))
}

/// Browsers named `prefix-i` in the objects `want` (one each, in order).
pub(super) fn browsers_in(stores: &Stores, prefix: &str, want: &[usize]) -> Vec<String> {
    want.iter()
        .enumerate()
        .map(|(k, object)| {
            (0..)
                .map(|i| format!("{prefix}{k}-{i}"))
                .find(|b| usize::from(stores.map.browser(b)) == *object)
                .unwrap()
        })
        .collect()
}

/// The person the admin finds by `name`, or the refusal.
pub(super) fn found(stores: &Stores, name: &str) -> String {
    match stores.call(&JourneyRuns {
        person: name.into(),
    }) {
        Ok(runs) => runs.0["person"].as_str().unwrap_or_default().to_owned(),
        Err(e) => format!("{e:?}"),
    }
}

/// The admin undoes the newest merge logged.
fn undo_newest(stores: &Stores) {
    let log = stores.merge_log();
    let newest = log
        .merges
        .iter()
        .max_by_key(|m| m["at"].as_i64().unwrap_or_default())
        .unwrap();
    let undo = UndoMerge {
        seq: newest["seq"].as_i64().unwrap(),
        reason: "a shared computer".into(),
    };
    ready(saga::undo_merge(stores, &undo)).unwrap();
}

fn merges(stores: &Stores) -> usize {
    stores.merge_log().merges.len()
}

/// A local merge leaves the directory naming the person merged away (its
/// entries are repointed only by merges across objects). A later identify
/// by that name, from another object, merged into the merged-away person:
/// the user-id rule asked of it (it has none left) let a second user id in,
/// and the browser ended in a person that no longer exists.
#[test]
fn a_name_of_a_person_merged_in_its_own_object_leads_to_the_person_it_became() {
    for objects in [1, 4] {
        let stores = Stores::new(objects);
        // a and c in object 0, b in object 1 (all in one with one object).
        let [a, c, b]: [String; 3] = browsers_in(&stores, "dead", &[0, 0, 1 % objects as usize])
            .try_into()
            .unwrap();
        for anon in [&a, &b, &c] {
            visit(&stores, anon, "1", 1.0);
        }
        prove_email(&stores, &c, "c@example.com").unwrap();
        identify(&stores, &a, "u1").unwrap();
        prove_phone(&stores, &a, "+15550100001").unwrap();
        // a proves c's email: a's person merges into c's, in their object.
        assert!(prove_email(&stores, &a, "c@example.com").unwrap().merged);
        identify(&stores, &b, "u2").unwrap();
        // b (user u2) proves the phone of u1's person: refused, nothing moves.
        let refused = prove_phone(&stores, &b, "+15550100001");
        assert!(
            matches!(refused, Err(StoreError::UserConflict(_))),
            "{objects} objects: {refused:?}"
        );
        assert_eq!(profile(&stores, &b)["user_id"], "u2", "{objects} objects");
        assert_eq!(profile(&stores, &b)["orders"], 1, "{objects} objects");
        assert_eq!(persons(&stores), 2, "{objects} objects");
        assert_eq!(merges(&stores), 1, "{objects} objects");
        assert_eq!(
            found(&stores, &b),
            found(&stores, "u2"),
            "{objects} objects"
        );
    }
}

/// A batch of `fresh` with a signed cookie naming `known`, as the Worker
/// sends it: the append (one object links there), then, with several
/// objects, the link across them (`routes/events.rs`).
fn cookie_visit(stores: &Stores, known: &str, fresh: &str, tag: &str) {
    let event = serde_json::json!({"type": "track", "event": "Page Viewed",
        "messageId": format!("{fresh}-{tag}-p"), "anonymousId": fresh,
        "timestamp": "2026-09-03T07:00:00.000Z", "properties": {}});
    let mut batch = super::objects::own_batch(fresh, vec![event], campaigns());
    batch.cookie_browser = Some(known.into());
    let appended = stores.call(&batch).unwrap();
    assert_eq!(appended.verified_browser.as_deref(), Some(fresh));
    if stores.map.objects() > 1 {
        ready(saga::link_cookie(stores, known, fresh, &campaigns())).unwrap();
    }
}

/// An undo runs where its merge was logged; the person merged into has
/// left that object since, in a later merge across objects. One object
/// refuses (that person was merged again since); several undid it there,
/// where nothing of the person is left: the person split out came back
/// with no browser or name of its own (a ghost, counted among the persons),
/// and the browsers it had stayed merged.
#[test]
fn a_merge_whose_person_moved_on_since_is_not_undone_where_it_was_logged() {
    for objects in [1, 4] {
        let stores = Stores::new(objects);
        let [a, b, c]: [String; 3] = browsers_in(&stores, "gone", &[0, 0, 1 % objects as usize])
            .try_into()
            .unwrap();
        for anon in [&a, &b, &c] {
            visit(&stores, anon, "1", 1.0);
        }
        identify(&stores, &c, "u3").unwrap();
        prove_phone(&stores, &a, "+15550100001").unwrap();
        // b's person merges into a's, in their object: the merge to undo.
        assert!(prove_phone(&stores, &b, "+15550100001").unwrap().merged);
        let seq = stores.merge_log().merges[0]["seq"].as_i64().unwrap();
        // b signs in as c's user: a's person (with b) moves into c's.
        assert!(identify(&stores, &b, "u3").unwrap().merged);
        let undo = UndoMerge {
            seq,
            reason: "a shared computer".into(),
        };
        let undone = ready(saga::undo_merge(&stores, &undo));
        assert!(
            matches!(undone, Err(StoreError::MergedSince(_))),
            "{objects} objects: {undone:?}"
        );
        assert_eq!(persons(&stores), 1, "{objects} objects");
        assert_eq!(profile(&stores, &b)["orders"], 3, "{objects} objects");
    }
}

/// A name proved by a person that was then merged in its own object (its
/// directory entry still names that person), and whose merged person then
/// moved to another object: the admin's lookup by the name found nobody
/// (the merge's repoint changed only entries naming the person that moved).
#[test]
fn a_name_of_a_person_merged_in_its_own_object_is_found_after_the_merged_person_moves() {
    for objects in [1, 4] {
        let stores = Stores::new(objects);
        let [a, b, c]: [String; 3] = browsers_in(&stores, "name", &[0, 0, 1 % objects as usize])
            .try_into()
            .unwrap();
        // An address whose directory object is neither 0 nor 1.
        let email = (0..)
            .map(|i| format!("named{i}@example.com"))
            .find(|e| {
                let hash = crate::tokens::email_hash(e).unwrap();
                objects == 1
                    || crate::store::shards::directory_object(stores.map, "email", &hash) > 1
            })
            .unwrap();
        for anon in [&a, &b, &c] {
            visit(&stores, anon, "1", 1.0);
        }
        prove_email(&stores, &b, &email).unwrap();
        identify(&stores, &a, "u1").unwrap();
        // b's person (with the email) merges into a's in their object.
        assert!(identify(&stores, &b, "u1").unwrap().merged);
        assert_eq!(
            found(&stores, &email),
            found(&stores, &a),
            "{objects} objects"
        );
        // Then a's person moves into c's, in another object.
        prove_phone(&stores, &c, "+15550100002").unwrap();
        assert!(prove_phone(&stores, &a, "+15550100002").unwrap().merged);
        assert_eq!(
            found(&stores, &email),
            found(&stores, &c),
            "{objects} objects"
        );
    }
}

/// A signed cookie names an anonymous browser of another object than the
/// signed-in browser that carries it. One object links them (a signed-in
/// fresh browser may move into an anonymous one: `Db::link_cookie`);
/// several refused whenever the fresh browser's person had a user id.
#[test]
fn a_signed_in_browser_with_a_cookie_links_as_in_one_object() {
    for objects in [1, 4] {
        let stores = Stores::new(objects);
        let [known, fresh]: [String; 2] =
            browsers_in(&stores, "cookie", &[0, 1 % objects as usize])
                .try_into()
                .unwrap();
        visit(&stores, &known, "1", 1.0);
        identify(&stores, &fresh, "u0").unwrap();
        cookie_visit(&stores, &known, &fresh, "1");
        assert_eq!(persons(&stores), 1, "{objects} objects");
        assert_eq!(
            profile(&stores, &known)["user_id"],
            "u0",
            "{objects} objects"
        );
    }
}

/// A browser whose person a merge moved into the object of the browser its
/// cookie names: the append went on to that object without the cookie, and
/// the link across objects, finding both persons in one object, took the
/// link as done there. One object links them.
#[test]
fn a_cookie_links_a_browser_whose_person_lives_with_the_one_it_names() {
    for objects in [1, 4] {
        let stores = Stores::new(objects);
        let [a, b, c]: [String; 3] = browsers_in(&stores, "moved", &[0, 0, 1 % objects as usize])
            .try_into()
            .unwrap();
        for anon in [&a, &b, &c] {
            visit(&stores, anon, "1", 1.0);
        }
        // c's person moves into a's (object 0), then c's cookie names b.
        cookie_visit(&stores, &a, &c, "1");
        assert_eq!(persons(&stores), 2, "{objects} objects");
        cookie_visit(&stores, &b, &c, "2");
        assert_eq!(persons(&stores), 1, "{objects} objects");
        assert_eq!(profile(&stores, &a)["orders"], 3, "{objects} objects");
    }
}

/// Events a browser sent while its person lived in another object were
/// stored there; its home only sent them on. Once the person moves again,
/// home or to a third object, a resend of those events (an agent resends
/// what it never saw acknowledged) was stored again and counted twice.
#[test]
fn an_event_sent_on_while_its_person_was_away_stays_a_repeat_after_the_next_move() {
    for (objects, back_home) in [(1, true), (4, true), (4, false)] {
        let stores = Stores::new(objects);
        let o = |i: usize| i % objects as usize;
        // b's home is object 1; a's person is in object 0; c's in object 1
        // (b's person comes home) or 2 (it moves on to a third object).
        let [a, b, c]: [String; 3] = browsers_in(
            &stores,
            "resend",
            &[o(0), o(1), o(if back_home { 1 } else { 2 })],
        )
        .try_into()
        .unwrap();
        for anon in [&a, &b, &c] {
            visit(&stores, anon, "1", 1.0);
        }
        identify(&stores, &a, "u1").unwrap();
        assert!(identify(&stores, &b, "u1").unwrap().merged);
        // b's order while its person lives in a's object: stored there.
        assert_eq!(visit(&stores, &b, "2", 10.0).accepted, 2);
        // u1's person moves into c's.
        prove_email(&stores, &c, "c@example.com").unwrap();
        assert!(prove_email(&stores, &b, "c@example.com").unwrap().merged);
        let again = visit(&stores, &b, "2", 10.0);
        assert_eq!(
            (again.accepted, again.duplicates),
            (0, 2),
            "{objects} objects, back home: {back_home}"
        );
        assert_eq!(
            profile(&stores, &b)["orders"],
            4,
            "{objects} objects, back home: {back_home}"
        );
    }
}

/// A person merged into another across objects, the merge undone, then
/// moved to a third object and back out by another merge and its undo;
/// merged into the first person again: the same two persons, so the same
/// merge id (`saga::merge_id`), whose import the winner's object had
/// recorded as done. The import was skipped and the loser forgotten where
/// it lived: its browser and orders were lost, and its events bounced
/// between two objects ('moved').
#[test]
fn two_persons_merged_again_after_an_undo_lose_nothing() {
    for objects in [1, 4] {
        let stores = Stores::new(objects);
        let o = |i: usize| i % objects as usize;
        let [a, b, c]: [String; 3] = browsers_in(&stores, "again", &[o(0), o(1), o(2)])
            .try_into()
            .unwrap();
        for (anon, total) in [(&a, 1.0), (&b, 2.0), (&c, 4.0)] {
            visit(&stores, anon, "1", total);
        }
        identify(&stores, &b, "u1").unwrap();
        assert!(identify(&stores, &a, "u1").unwrap().merged);
        undo_newest(&stores);
        // a's person (living in b's object since the undo) moves into c's
        // and is split out there again.
        prove_phone(&stores, &c, "+15550100003").unwrap();
        assert!(prove_phone(&stores, &a, "+15550100003").unwrap().merged);
        undo_newest(&stores);
        assert_eq!(persons(&stores), 3, "{objects} objects");
        // a signs in as u1 again.
        let again = identify(&stores, &a, "u1");
        assert!(
            again.as_ref().is_ok_and(|i| i.merged),
            "{objects} objects: {again:?}"
        );
        assert_eq!(persons(&stores), 2, "{objects} objects");
        assert_eq!(profile(&stores, &a)["orders"], 2, "{objects} objects");
        assert_eq!(profile(&stores, &a)["user_id"], "u1", "{objects} objects");
        assert_eq!(
            visit(&stores, &a, "2", 8.0).accepted,
            2,
            "{objects} objects"
        );
    }
}

/// The admin's lookup by a browser id asks first the object the id names
/// as a user id (`placement::lookup_object`), which may be one the
/// browser's person passed through: its redirect there is left as it was
/// when the person left (only the browser's own object follows it since).
/// Four moves on, the lookup followed stale redirects object to object
/// until it gave up ('Moved').
#[test]
fn the_admin_finds_a_browser_whose_person_passed_through_the_object_its_id_names() {
    let stores = Stores::new(8);
    let (x, first) = (0..)
        .map(|i| format!("passer-{i}"))
        .map(|x| {
            let d = crate::store::shards::directory_object(stores.map, "user", &x);
            (x, d)
        })
        .find(|(x, d)| *d != stores.map.browser(x))
        .unwrap();
    // x's person moves into b1's object (the one x's id names as a user
    // id), then b2's, b3's and b4's, each an object of its own.
    let mut browsers = vec![x.clone()];
    let mut objects = vec![stores.map.browser(&x), first];
    browsers.push(
        (0..)
            .map(|i| format!("passed-{i}"))
            .find(|b| stores.map.browser(b) == first)
            .unwrap(),
    );
    for i in 0.. {
        let b = format!("passing-{i}");
        let o = stores.map.browser(&b);
        if !objects.contains(&o) {
            objects.push(o);
            browsers.push(b);
        }
        if browsers.len() == 5 {
            break;
        }
    }
    for anon in &browsers {
        visit(&stores, anon, "1", 1.0);
    }
    for k in 0..4 {
        let email = format!("pass{k}@example.com");
        prove_email(&stores, &browsers[k + 1], &email).unwrap();
        assert!(
            prove_email(&stores, &browsers[k], &email).unwrap().merged,
            "move {k}"
        );
    }
    assert_eq!(persons(&stores), 1);
    assert_eq!(profile(&stores, &x)["orders"], 5);
    assert_eq!(found(&stores, &x), found(&stores, &browsers[4]));
}

/// A person split out by an undo in another object (its own object records
/// that it lives there: `Relocate`) came home in a later merge, which was
/// undone too: split out at home, the record of it living elsewhere stayed,
/// so its own object sent every command for it away. Signing in as its user
/// then froze the browser's person for a merge that could never import
/// ('moved to another object; the merge follows it', again and again).
#[test]
fn a_person_split_out_at_home_after_living_elsewhere_is_found_at_home() {
    for objects in [1, 4] {
        let stores = Stores::new(objects);
        let o = |i: usize| i % objects as usize;
        // a and d at home in object 0; b in object 1; c in object 2.
        let [a, b, c, d]: [String; 4] = browsers_in(&stores, "home", &[o(0), o(1), o(2), o(0)])
            .try_into()
            .unwrap();
        for anon in [&a, &b, &c, &d] {
            visit(&stores, anon, "1", 1.0);
        }
        // a's person moves into b's and is split out there.
        identify(&stores, &b, "u1").unwrap();
        assert!(identify(&stores, &a, "u1").unwrap().merged);
        undo_newest(&stores);
        identify(&stores, &a, "u2").unwrap();
        // It comes home into d's person (d proved an email first), and is
        // split out at home.
        prove_email(&stores, &d, "d@example.com").unwrap();
        assert!(prove_email(&stores, &a, "d@example.com").unwrap().merged);
        undo_newest(&stores);
        assert_eq!(persons(&stores), 4, "{objects} objects");
        // c signs in as u2: it joins a.
        let joined = identify(&stores, &c, "u2");
        assert!(
            joined.as_ref().is_ok_and(|i| i.merged),
            "{objects} objects: {joined:?}"
        );
        assert_eq!(persons(&stores), 3, "{objects} objects");
        assert_eq!(profile(&stores, &c)["orders"], 2, "{objects} objects");
        assert_eq!(profile(&stores, &a)["user_id"], "u2", "{objects} objects");
        assert_eq!(
            visit(&stores, &c, "2", 1.0).accepted,
            2,
            "{objects} objects"
        );
        let frozen: i64 = (0..stores.sqls.len())
            .map(|i| stores.count(i, "SELECT count(*) FROM frozen_persons"))
            .sum();
        assert_eq!(frozen, 0, "{objects} objects");
    }
}

/// Not across objects (the differential showed it as a difference of
/// order): a merge of two persons who both saw a campaign and neither
/// dismissed nor converted made its history dismissed and converted at 0
/// (`Db::merge`'s `max(coalesce(..., 0), ...)`), which the agent reads as
/// dismissed and converted (`converted_at.is_some()`: a campaign that
/// stops after a conversion stopped showing).
#[test]
fn a_merge_keeps_a_campaign_neither_dismissed_nor_converted() {
    for objects in [1, 4] {
        let stores = Stores::new(objects);
        let [a, b]: [String; 2] = browsers_in(&stores, "seen", &[0, 1 % objects as usize])
            .try_into()
            .unwrap();
        for anon in [&a, &b] {
            let shown = serde_json::json!({"type": "track", "event": "Campaign Shown",
                "messageId": format!("{anon}-s"), "anonymousId": anon,
                "timestamp": "2026-09-03T07:00:00.000Z",
                "properties": {"campaign_id": "welcome"}});
            stores
                .call(&super::objects::own_batch(anon, vec![shown], campaigns()))
                .unwrap();
        }
        identify(&stores, &a, "u1").unwrap();
        assert!(identify(&stores, &b, "u1").unwrap().merged);
        let history = &profile(&stores, &a)["campaigns"][0];
        assert_eq!(history["total"], 2, "{objects} objects: {history}");
        assert_eq!(
            history["dismissed"],
            serde_json::Value::Null,
            "{objects} objects"
        );
        assert_eq!(
            history["converted"],
            serde_json::Value::Null,
            "{objects} objects"
        );
    }
}
