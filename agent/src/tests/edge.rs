//! The transport and identity against a scripted edge (the loader's `post`
//! and `get` stand-ins): batches, answers, the browser key, sign-ins.

use nudge_core::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

use crate::task::Task;
use crate::{js, start, Agent};

// The `post` stub records each body and holds its answer until the test gives
// it (`answer`): a batch stays in flight while the test resets, tracks or
// changes consent, exactly as a slow network would allow.

fn edge_agent(site: &str) -> Agent {
    let global = format!("__nudge_{}", site.replace('-', "_"));
    let window = web_sys::window().unwrap();
    let script = js_sys::Function::new_no_args(&format!(
        "window.{global} = {{bodies: [], pending: [], gets: []}};"
    ));
    script.call0(&JsValue::NULL).unwrap();
    let post = js_sys::Function::new_with_args(
        "url, body, beacon",
        &format!(
            "var t = window.{global}; t.bodies.push(body); var p = Promise.resolve();
             p.then = function (f) {{ t.pending.push(f); }}; return p;"
        ),
    );
    let get = js_sys::Function::new_with_args(
        "url, headers",
        &format!(
            "window.{global}.gets.push([url, headers]); var p = Promise.resolve(null);
             p.then = function () {{}}; return p;"
        ),
    );
    let options = js_sys::Object::new();
    let set = |k: &str, v: &JsValue| {
        js_sys::Reflect::set(&options, &k.into(), v).unwrap();
    };
    set("site", &site.into());
    set("collect", &"https://edge.test/v1/events?site=t".into());
    set("profile", &"https://edge.test/v1/profile?site=t".into());
    set("identify", &"off".into());
    set("flushMs", &60_000.into());
    set("post", &post);
    set("get", &get);
    let storage = window.local_storage().unwrap().unwrap();
    for what in ["profile", "outbox", "key"] {
        let _ = storage.remove_item(&format!("nudge:{site}:{what}"));
    }
    start(options.into(), &[])
}

fn scripted(site: &str) -> JsValue {
    let global = format!("__nudge_{}", site.replace('-', "_"));
    js_sys::Reflect::get(&web_sys::window().unwrap(), &global.into()).unwrap()
}

fn list(site: &str, name: &str) -> js_sys::Array {
    js_sys::Reflect::get(&scripted(site), &name.into())
        .unwrap()
        .unchecked_into()
}

/// Answers the oldest request still in flight.
fn answer(site: &str, status: u16, text: &str) {
    let resolve: js_sys::Function = list(site, "pending").shift().unchecked_into();
    let pair = js_sys::Array::of2(&status.into(), &text.into());
    resolve.call1(&JsValue::NULL, &pair).unwrap();
}

fn flush(a: &Agent) {
    crate::shared::run(&a.shared, Task::FlushDue);
}

/// The events of the `n`th body posted (their `event` names).
fn posted(site: &str, n: u32) -> Vec<String> {
    let body = list(site, "bodies").get(n).as_string().unwrap();
    let batch = js::parse(&body).unwrap();
    batch
        .get("batch")
        .and_then(Value::as_array)
        .unwrap()
        .iter()
        .map(|e| e.get("event").and_then(Value::as_str).unwrap().to_owned())
        .collect()
}

pub(super) fn queued(a: &Agent) -> usize {
    a.shared.state.borrow().transport.outbox().len()
}

fn track_each(a: &Agent, names: &[&str]) {
    for name in names {
        a.track((*name).into(), JsValue::UNDEFINED);
    }
}

/// An agent with one batch of these events posted and awaiting its answer.
fn in_flight(site: &str, names: &[&str]) -> Agent {
    let a = edge_agent(site);
    track_each(&a, names);
    flush(&a);
    a
}

fn nodes(value: &Value) -> usize {
    1 + match value {
        Value::Array(items) => items.iter().map(nodes).sum(),
        Value::Object(map) => map.iter().map(|(_, v)| nodes(v)).sum(),
        _ => 0,
    }
}

#[wasm_bindgen_test]
fn a_cyclic_object_with_throwing_getters_is_tracked_within_the_budget() {
    let site = "t-cycle";
    let a = edge_agent(site);
    let make = js_sys::Function::new_no_args(
        "var o = {name: 'x'}; o.a = o; o.b = o; o.list = [o, o, o];
         Object.defineProperty(o, 'bad', {enumerable: true, get: function () { throw new Error('getter'); }});
         var r = Proxy.revocable({}, {}); r.revoke(); o.revoked = r.proxy;
         o.trap = new Proxy({}, {ownKeys: function () { throw new Error('trap'); }});
         return o;",
    );
    let cyclic = make.call0(&JsValue::NULL).unwrap();
    a.track("Cyclic".into(), cyclic.clone());
    assert_eq!(queued(&a), 1, "tracked, with no exception and no hang");
    flush(&a);
    let body = js::parse(&list(site, "bodies").get(0).as_string().unwrap()).unwrap();
    let props = body.get("batch").unwrap().as_array().unwrap()[0]
        .get("properties")
        .unwrap()
        .clone();
    assert!(
        nodes(&props) <= nudge_core::limits::MAX_EVENT_NODES,
        "{}",
        nodes(&props)
    );
    assert_eq!(props.get("name"), Some(&Value::from("x")));
    assert_eq!(
        props.get("bad"),
        Some(&Value::Null),
        "a throwing getter reads as null"
    );
    assert!(props.get("trap").is_some_and(|t| t.as_object().is_some()));
    // Directly too: the conversion itself ends.
    assert!(nodes(&js::to_value(&cyclic)) <= nudge_core::limits::MAX_EVENT_NODES);
}

#[wasm_bindgen_test]
fn an_oversize_event_is_not_queued() {
    let a = edge_agent("t-oversize");
    let props = js_sys::Object::new();
    js_sys::Reflect::set(&props, &"text".into(), &"x".repeat(40_000).into()).unwrap();
    a.track("Big".into(), props.into());
    assert_eq!(queued(&a), 0);
    a.track("Small".into(), JsValue::UNDEFINED);
    assert_eq!(queued(&a), 1);
}

#[wasm_bindgen_test]
fn a_400_with_rejected_drops_only_those_events() {
    let site = "t-400";
    let a = in_flight(site, &["A", "B", "C", "D"]);
    answer(
        site,
        400,
        r#"{"error":"invalid_events","message":"2 events","problems":[{"path":"batch[1].event","message":"bad"}],"rejected":[1,3]}"#,
    );
    flush(&a);
    assert_eq!(
        posted(site, 1),
        ["A", "C"],
        "the valid events are sent again"
    );
    // An answer without `rejected` (a refusal of the whole body) drops the batch.
    answer(site, 400, r#"{"error":"invalid_json"}"#);
    assert_eq!(queued(&a), 0);
}

#[wasm_bindgen_test]
fn a_413_splits_the_batch_and_drops_a_lone_event() {
    let site = "t-413";
    let a = in_flight(site, &["A", "B", "C", "D"]);
    answer(site, 413, "");
    flush(&a);
    assert_eq!(posted(site, 1), ["A", "B"], "half as many");
    answer(site, 413, "");
    flush(&a);
    assert_eq!(posted(site, 2), ["A"]);
    answer(site, 413, "");
    assert_eq!(
        queued(&a),
        3,
        "the lone event that is still too large is dropped"
    );
    flush(&a);
    assert_eq!(posted(site, 3), ["B"]);
    answer(site, 202, r#"{"accepted":1,"duplicates":0}"#);
    assert_eq!(queued(&a), 2);
}

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
