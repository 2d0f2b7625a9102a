//! The browser key and sign-ins against the scripted edge: the key made and
//! sent with events, the profile opened only after an acknowledged post, a
//! reset, identify, and another user signing in.

use nudge_core::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

use super::{answer, edge_agent, flush, in_flight, list, posted, queued, track_each};
use crate::task::Task;
use crate::{js, Agent};

/// The `browser` member of the `n`th body posted: (anonymous id, key).
fn browser_member(site: &str, n: u32) -> Option<(String, String)> {
    let body = js::parse(&list(site, "bodies").get(n).as_string().unwrap()).unwrap();
    let browser = body.get("browser")?;
    let text = |k: &str| browser.get(k).and_then(Value::as_str).unwrap().to_owned();
    Some((text("anonymousId"), text("key")))
}

/// What local storage holds under the browser key's entry.
fn stored_key(site: &str) -> Option<Value> {
    let storage = web_sys::window().unwrap().local_storage().unwrap().unwrap();
    js::parse(&storage.get_item(&format!("nudge:{site}:key")).unwrap()?)
}

/// Asserts local storage keeps `key` for `aid`; what it holds.
fn assert_stored_key(site: &str, aid: &str, key: &str) -> Value {
    let stored = stored_key(site).expect("kept in local storage");
    assert_eq!(stored.get("aid").and_then(Value::as_str), Some(aid));
    assert_eq!(stored.get("key").and_then(Value::as_str), Some(key));
    stored
}

fn anonymous_id(a: &Agent) -> String {
    a.shared.state.borrow().session.profile.anonymous_id.clone()
}

fn beacon(a: &Agent) {
    a.shared.state.borrow_mut().send_beacon();
}

#[wasm_bindgen_test]
fn the_agent_makes_its_browser_key_and_sends_it_with_its_events() {
    let site = "t-key";
    let a = in_flight(site, &["A"]);
    let aid = anonymous_id(&a);
    let (sent_aid, key) = browser_member(site, 0).expect("the batch carries the key");
    assert_eq!(sent_aid, aid);
    assert_eq!(key.len(), 43, "32 bytes, base64url without padding: {key}");
    assert!(key
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    let stored = assert_stored_key(site, &aid, &key);
    assert_eq!(stored.get("sent"), None, "not acknowledged yet");
    // The events themselves are untouched.
    assert_eq!(posted(site, 0), ["A"]);
    // A beacon carries the same key; another agent on this site later (the
    // next page) keeps it.
    beacon(&a);
    assert_eq!(browser_member(site, 1), Some((aid.clone(), key.clone())));
    answer(site, 202, r#"{"accepted":1,"duplicates":0}"#);
    track_each(&a, &["B"]);
    flush(&a);
    assert_eq!(browser_member(site, 2), Some((aid, key)), "the same key");
    // A batch with none of the current visitor's events carries no key.
    a.shared.state.borrow_mut().session.profile.anonymous_id = "someone-else".into();
    answer(site, 202, "{}");
    track_each(&a, &["C"]);
    a.shared.state.borrow_mut().session.profile.anonymous_id = "another-one".into();
    flush(&a);
    assert_eq!(browser_member(site, 3), None);
}

#[wasm_bindgen_test]
fn the_profile_is_fetched_with_the_key_only_after_an_acknowledged_post() {
    let site = "t-key-ack";
    let a = in_flight(site, &["A"]);
    let (_, key) = browser_member(site, 0).unwrap();
    // A beacon is no acknowledgement, nor is a failed post.
    beacon(&a);
    answer(site, 503, "");
    let refresh = || crate::shared::run(&a.shared, Task::Reconnect { click_token: None });
    refresh();
    assert_eq!(
        list(site, "gets").length(),
        0,
        "no fetch before the edge has the key"
    );
    assert_eq!(stored_key(site).unwrap().get("sent"), None);
    a.shared
        .state
        .borrow_mut()
        .transport
        .delivery
        .outbox
        .failed(0); // no backoff in a test
    flush(&a);
    answer(site, 202, r#"{"accepted":1,"duplicates":0}"#);
    let gets = list(site, "gets");
    assert_eq!(
        gets.length(),
        1,
        "fetched once the edge acknowledged the key"
    );
    let request: js_sys::Array = gets.get(0).unchecked_into();
    let aid = anonymous_id(&a);
    assert!(request
        .get(0)
        .as_string()
        .unwrap()
        .ends_with(&format!("anonymousId={aid}")));
    assert_eq!(
        js::get_string(&request.get(1), "x-nudge-browser-key").as_deref(),
        Some(key.as_str())
    );
    assert_eq!(
        stored_key(site).unwrap().get("sent"),
        Some(&Value::Bool(true))
    );
    // Later acknowledgements fetch nothing more; a refresh (next page) does.
    track_each(&a, &["B"]);
    flush(&a);
    answer(site, 202, "{}");
    assert_eq!(list(site, "gets").length(), 1);
    refresh();
    assert_eq!(list(site, "gets").length(), 2);
}

#[wasm_bindgen_test]
fn a_reset_makes_a_new_key_and_an_old_acknowledgement_opens_nothing() {
    let site = "t-race";
    let a = in_flight(site, &["A", "B"]);
    let (old_aid, old_key) = browser_member(site, 0).unwrap();
    a.reset();
    assert_eq!(stored_key(site), None, "the old id's key is forgotten");
    track_each(&a, &["C"]);
    beacon(&a); // the new id's key exists before the old batch is answered
    answer(site, 202, r#"{"accepted":2,"duplicates":0}"#);
    assert_eq!(queued(&a), 1, "C was never sent: still queued");
    assert_eq!(
        list(site, "gets").length(),
        0,
        "the old key's acknowledgement"
    );
    assert_eq!(stored_key(site).unwrap().get("sent"), None);
    flush(&a);
    assert_eq!(browser_member(site, 1), browser_member(site, 2));
    let (aid, key) = browser_member(site, 2).unwrap();
    assert_eq!(aid, anonymous_id(&a));
    assert_ne!(aid, old_aid);
    assert_ne!(key, old_key, "a new key for the new id");
    assert_stored_key(site, &aid, &key);
    answer(site, 202, "{}");
    assert_eq!(list(site, "gets").length(), 1);
}

#[wasm_bindgen_test]
fn identify_carries_the_key_and_its_acknowledgement_opens_the_profile() {
    let site = "t-key-identify";
    let a = edge_agent(site);
    a.shared.state.borrow_mut().opts.identify_url =
        Some("https://edge.test/v1/identify?site=t".into());
    let options = js_sys::Object::new();
    js_sys::Reflect::set(&options, &"token".into(), &"user-token".into()).unwrap();
    a.identify("u1".into(), JsValue::UNDEFINED, options.into());
    let body = js::parse(&list(site, "bodies").get(0).as_string().unwrap()).unwrap();
    assert_eq!(
        body.get("userToken").and_then(Value::as_str),
        Some("user-token")
    );
    let (aid, key) = browser_member(site, 0).unwrap();
    assert_eq!(aid, anonymous_id(&a));
    answer(site, 200, r#"{"merged":false}"#);
    let gets = list(site, "gets");
    assert_eq!(gets.length(), 1);
    let request: js_sys::Array = gets.get(0).unchecked_into();
    assert_eq!(
        js::get_string(&request.get(1), "x-nudge-browser-key").as_deref(),
        Some(key.as_str())
    );
}

#[wasm_bindgen_test]
fn another_user_signing_in_starts_a_fresh_identity_and_the_cookie_over() {
    let site = "t-switch-user";
    let a = edge_agent(site);
    a.shared.state.borrow_mut().opts.identify_url =
        Some("https://edge.test/v1/identify?site=t".into());
    let sign_in = |user: &str, token: &str| {
        let options = js_sys::Object::new();
        js_sys::Reflect::set(&options, &"token".into(), &token.into()).unwrap();
        a.identify(user.into(), JsValue::UNDEFINED, options.into());
    };
    a.consent("granted".into());
    sign_in("alice", "token-a");
    answer(site, 200, r#"{"merged":false}"#);
    let (alice_aid, alice_key) = browser_member(site, 0).unwrap();
    // The same user again: nothing starts over.
    sign_in("alice", "token-a");
    assert_eq!(anonymous_id(&a), alice_aid);
    // Bob signs in on the same browser, without a reset.
    sign_in("bob", "token-b");
    let bodies = list(site, "bodies");
    let body = js::parse(&bodies.get(bodies.length() - 1).as_string().unwrap()).unwrap();
    assert_eq!(
        body.get("userToken").and_then(Value::as_str),
        Some("token-b")
    );
    assert_eq!(
        body.get("reset"),
        Some(&Value::Bool(true)),
        "the cookie starts over"
    );
    let bob_aid = anonymous_id(&a);
    assert_ne!(bob_aid, alice_aid, "a fresh anonymous id for Bob");
    assert_eq!(
        body.get("anonymousId").and_then(Value::as_str),
        Some(bob_aid.as_str())
    );
    let (aid, key) = browser_member(site, bodies.length() - 1).unwrap();
    assert_eq!(aid, bob_aid);
    assert_ne!(
        key, alice_key,
        "Alice's key is forgotten: her profile is not read here"
    );
    let state = a.shared.state.borrow();
    assert_eq!(state.session.profile.user_id.as_deref(), Some("bob"));
    assert_eq!(
        state.session.profile.consent.marketing,
        Some(true),
        "consent is kept"
    );
    // Nothing queued names Alice's browser; Bob's identify event names his.
    let queued = state.transport.outbox().to_stored_json();
    assert!(!queued.contains(&alice_aid), "{queued}");
    assert!(queued.contains(&bob_aid), "{queued}");
    drop(state);
    // Alice's profile answer, asked for before the switch, arrives now: her
    // facts stay out of Bob's profile. Bob's own answer merges.
    let facts = r#"{"user_id": "alice", "orders": 7, "total_spent": 900}"#;
    crate::shared::run(
        &a.shared,
        Task::RemoteProfile {
            anonymous_id: alice_aid,
            text: facts.into(),
        },
    );
    let orders = || a.shared.state.borrow().session.profile.orders;
    assert_eq!(orders(), 0, "Alice's orders are not Bob's");
    assert_eq!(
        a.shared.state.borrow().session.profile.user_id.as_deref(),
        Some("bob")
    );
    crate::shared::run(
        &a.shared,
        Task::RemoteProfile {
            anonymous_id: bob_aid,
            text: r#"{"orders": 2, "total_spent": 80}"#.into(),
        },
    );
    assert_eq!(orders(), 2, "Bob's own facts arrive");
}
