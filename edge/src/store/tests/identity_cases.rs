//! Identity across objects: cases a randomized differential over one
//! object and several found (the fuzz and the other cases are on the branch
//! `hunt/identity-across-objects`, to land one by one), each the shortest
//! sequence that showed it, each read the same over one object and several.

use super::across::with_phone;
use super::objects::{ready, Stores};
use super::saga::{campaigns, identify, persons, profile, visit};
use crate::store::protocol::*;
use crate::store::saga;

/// Browsers named `prefix{k}-i` in the objects `want` (one each, in order).
fn browsers_in(stores: &Stores, prefix: &str, want: &[usize]) -> Vec<String> {
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
        with_phone(&stores, &a, "+15550100001");
        // b's person merges into a's, in their object: the merge to undo.
        assert!(with_phone(&stores, &b, "+15550100001").merged);
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
