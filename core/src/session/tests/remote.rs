//! The edge's view of the visitor: merged only for the visitor it was asked
//! for, and bounded before it is kept.

use super::session;
use crate::profile::Profile;
use crate::session::remote::{MAX_REMOTE_COUPONS, MAX_REMOTE_SEGMENTS, MAX_REMOTE_TEXT};
use crate::session::Ignored;
use crate::value::{Map, Value};

fn answer(json: &str) -> Value {
    crate::json::parse(json, crate::json::Bounds::Refuse).expect("JSON")
}

#[test]
fn an_answer_is_merged_only_for_the_visitor_it_was_asked_for() {
    let mut s = session();
    let facts = answer(r#"{"orders": 3, "total_spent": 120, "segments": ["vip"]}"#);
    // Asked for before another user signed in: a fresh identity is not theirs.
    assert_eq!(
        s.merge_remote("someone-before", &facts),
        Err(Ignored::PreviousVisitor)
    );
    assert_eq!(s.profile, Profile::new("a1", 1_000));
    assert!(matches!(
        s.merge_remote("a1", &Value::from("not an object")),
        Err(Ignored::RemoteProfile(_))
    ));
    assert_eq!(s.merge_remote("a1", &facts), Ok(true));
    assert_eq!(s.profile.segments, ["vip"]);
    assert_eq!(s.merge_remote("a1", &facts), Ok(false), "nothing new");
}

#[test]
fn what_the_edge_answers_is_bounded_before_it_is_kept() {
    let long = "x".repeat(MAX_REMOTE_TEXT + 1);
    let mut facts = Map::new();
    let segments: Vec<Value> = (0..MAX_REMOTE_SEGMENTS + 10)
        .map(|i| Value::from(format!("s{i}")))
        .chain([Value::from(long.as_str())])
        .collect();
    facts.insert("segments", Value::Array(segments));
    let coupons: Vec<Value> = (0..MAX_REMOTE_COUPONS + 10)
        .map(|i| answer(&format!(r#"{{"code": "C{i}"}}"#)))
        .collect();
    facts.insert("coupons", Value::Array(coupons));
    facts.insert("user_id", long.as_str());
    let mut s = session();
    assert_eq!(s.merge_remote("a1", &Value::Object(facts)), Ok(true));
    assert_eq!(s.profile.segments.len(), MAX_REMOTE_SEGMENTS);
    assert!(s
        .profile
        .segments
        .iter()
        .all(|seg| seg.len() <= MAX_REMOTE_TEXT));
    assert!(s.profile.coupons.len() <= MAX_REMOTE_COUPONS);
    assert_eq!(s.profile.user_id, None, "an over-long user id is left out");
}
