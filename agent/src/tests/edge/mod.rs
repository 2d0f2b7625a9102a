//! The transport and identity against a scripted edge (the loader's `post`
//! and `get` stand-ins): batches and their answers here; the browser key and
//! sign-ins in `identity`.

mod identity;

use nudge_core::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

use crate::task::Task;
use crate::{js, start, Agent};

// The `post` stub records each body and holds its answer until the test gives
// it (`answer`): a batch stays in flight while the test resets, tracks or
// changes consent, exactly as a slow network would allow.

pub(super) fn edge_agent(site: &str) -> Agent {
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

pub(super) fn scripted(site: &str) -> JsValue {
    let global = format!("__nudge_{}", site.replace('-', "_"));
    js_sys::Reflect::get(&web_sys::window().unwrap(), &global.into()).unwrap()
}

pub(super) fn list(site: &str, name: &str) -> js_sys::Array {
    js_sys::Reflect::get(&scripted(site), &name.into())
        .unwrap()
        .unchecked_into()
}

/// Answers the oldest request still in flight.
pub(super) fn answer(site: &str, status: u16, text: &str) {
    let resolve: js_sys::Function = list(site, "pending").shift().unchecked_into();
    let pair = js_sys::Array::of2(&status.into(), &text.into());
    resolve.call1(&JsValue::NULL, &pair).unwrap();
}

pub(super) fn flush(a: &Agent) {
    crate::shared::run(&a.shared, Task::FlushDue);
}

/// The events of the `n`th body posted (their `event` names).
pub(super) fn posted(site: &str, n: u32) -> Vec<String> {
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

pub(super) fn track_each(a: &Agent, names: &[&str]) {
    for name in names {
        a.track((*name).into(), JsValue::UNDEFINED);
    }
}

/// An agent with one batch of these events posted and awaiting its answer.
pub(super) fn in_flight(site: &str, names: &[&str]) -> Agent {
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
