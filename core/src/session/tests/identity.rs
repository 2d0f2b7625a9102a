//! What the agent tells the edge about who the visitor is, and what a
//! coupon claim's answer gives.

use super::session;
use crate::profile::Outcome;
use crate::session::identity::NoCoupon;
use crate::session::remote::MAX_REMOTE_TEXT;
use crate::value::{Map, Value};

fn keys(body: &Map) -> Vec<&str> {
    body.keys().collect()
}

#[test]
fn an_identity_proof_names_the_browser_and_carries_the_key_and_a_reset_only_when_given() {
    let s = session();
    let key = || {
        let mut wire = Map::new();
        wire.insert("anonymousId", "a1");
        wire.insert("key", "k");
        Value::Object(wire)
    };
    // (proof, reset, key given, the body's fields)
    type Case<'a> = ((&'a str, &'a str), bool, bool, &'a [&'a str]);
    let table: [Case; 4] = [
        (
            ("userToken", "t"),
            false,
            true,
            &["anonymousId", "userToken", "browser"],
        ),
        (
            ("clickToken", "c"),
            false,
            false,
            &["anonymousId", "clickToken"],
        ),
        (
            ("userToken", "t"),
            true,
            true,
            &["anonymousId", "userToken", "reset", "browser"],
        ),
        (("reset", "true"), false, false, &["anonymousId", "reset"]),
    ];
    for (proof, reset, with_key, fields) in table {
        let body = s.identify_body(proof, reset, with_key.then(key));
        assert_eq!(keys(&body), fields, "{proof:?} {reset} {with_key}");
        assert_eq!(body.get("anonymousId"), Some(&Value::from("a1")));
        assert_eq!(body.get(proof.0), Some(&Value::from(proof.1)));
    }
}

#[test]
fn a_coupon_claim_carries_what_was_typed_the_campaign_and_the_arm_seen() {
    let mut s = session();
    let body = s.coupon_claim_body("welcome", ("email", "ada@example.com"));
    assert_eq!(keys(&body), ["anonymousId", "email", "campaign"]);
    s.profile
        .record("welcome", Some("b"), Outcome::Shown, 2_000);
    let body = s.coupon_claim_body("welcome", ("phone", "+15550100"));
    assert_eq!(keys(&body), ["anonymousId", "phone", "campaign", "variant"]);
    assert_eq!(body.get("variant"), Some(&Value::from("b")));
}

#[test]
fn a_claimed_coupon_shows_only_for_this_visitor_and_a_usable_code() {
    let s = session();
    let answer = |code: &str| {
        let mut m = Map::new();
        m.insert("coupon", code);
        Value::Object(m)
    };
    let long = "X".repeat(MAX_REMOTE_TEXT + 1);
    // (asked for, status, answer, what shows)
    type Case<'a> = (&'a str, u16, Option<Value>, Result<String, NoCoupon>);
    let table: [Case; 7] = [
        (
            "a1",
            200,
            Some(answer("WELCOME-7Q")),
            Ok("WELCOME-7Q".into()),
        ),
        (
            "a0",
            200,
            Some(answer("WELCOME-7Q")),
            Err(NoCoupon::PreviousVisitor),
        ),
        (
            "a1",
            409,
            Some(answer("WELCOME-7Q")),
            Err(NoCoupon::Refused(409)),
        ),
        ("a1", 200, None, Err(NoCoupon::Refused(200))),
        (
            "a1",
            200,
            Some(Value::Object(Map::new())),
            Err(NoCoupon::Refused(200)),
        ),
        ("a1", 200, Some(answer("")), Err(NoCoupon::Refused(200))),
        ("a1", 200, Some(answer(&long)), Err(NoCoupon::Refused(200))),
    ];
    for (asked, status, answer, shows) in table {
        assert_eq!(
            s.claimed_coupon(asked, status, answer.as_ref()),
            shows,
            "{asked} {status} {answer:?}"
        );
    }
}
