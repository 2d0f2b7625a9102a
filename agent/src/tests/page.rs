//! Campaigns on the page: rendering, merge fields, conditions, and programs
//! the agent refuses.

use nudge_core::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

use super::*;
use crate::{js, start};

#[wasm_bindgen_test]
fn values_cross_the_boundary_and_cycles_terminate() {
    js::install_host(); // as start() does first: JSON's non-integer numbers go through it
    let original: Value = js::parse(r#"{"a": [1, "x", null, true, {"b": 2.5}]}"#).unwrap();
    assert_eq!(js::to_value(&js::from_value(&original)), original);
    let cyclic = js_sys::Object::new();
    js_sys::Reflect::set(&cyclic, &"self".into(), &cyclic).unwrap();
    let converted = js::to_value(&cyclic);
    assert!(converted.get("self").is_some());
}

/// Stored text and the edge's answers are read by the browser's `JSON.parse`
/// and cut at the document limits, as core's reader cut them.
#[wasm_bindgen_test]
fn json_text_is_read_by_the_browser_and_cut_at_the_limits() {
    use nudge_core::limits::{MAX_DEPTH, MAX_STRING_BYTES};
    assert_eq!(js::parse(""), None);
    assert_eq!(js::parse("{corrupt"), None);
    assert_eq!(js::parse("[1,"), None);
    assert_eq!(js::parse("7"), Some(Value::Number(7.0)));
    // Far deeper than the limit: read, never a trap, the deep part null.
    let deep = "[".repeat(100_000) + &"]".repeat(100_000);
    let mut value = js::parse(&deep).expect("deep arrays are JSON");
    let mut depth = 0;
    while let Value::Array(items) = value {
        depth += 1;
        value = items.into_iter().next().unwrap_or(Value::Bool(false));
    }
    assert_eq!(depth, MAX_DEPTH + 1);
    assert_eq!(value, Value::Null);
    // A string over the limit is cut on a character boundary.
    let long = ["\"", &"é".repeat(MAX_STRING_BYTES), "\""].concat();
    let Some(Value::String(cut)) = js::parse(&long) else {
        panic!("a long string is still read");
    };
    assert!(cut.len() <= MAX_STRING_BYTES && cut.len() > MAX_STRING_BYTES / 2);
}

#[wasm_bindgen_test]
fn merge_fields_render_as_text_in_a_closed_shadow_root() {
    let a = agent("t-xss", &modal("xss", "{}", "Hi {{first_name|there}}"));
    a.identify(
        JsValue::UNDEFINED,
        js::from_value(&js::parse(r#"{"first_name": "<b id=evil>x</b>"}"#).unwrap()),
        JsValue::UNDEFINED,
    );
    a.page(JsValue::UNDEFINED);
    assert_eq!(
        rendered_text(&a, "h2").as_deref(),
        Some("Hi <b id=evil>x</b>")
    );
    let root = first_root(&a).unwrap();
    assert!(
        root.query_selector("#evil").unwrap().is_none(),
        "no element from the name"
    );
    assert_eq!(root.mode(), web_sys::ShadowRootMode::Closed);
    let dialog = root.query_selector("[role=dialog]").unwrap().unwrap();
    assert_eq!(dialog.get_attribute("aria-modal").as_deref(), Some("true"));
    a.reset();
}

#[wasm_bindgen_test]
fn escape_dismisses_records_and_removes() {
    let a = agent("t-esc", &modal("esc", "{}", "Hello"));
    a.page(JsValue::UNDEFINED);
    let panel = first_root(&a)
        .unwrap()
        .query_selector("[role=dialog]")
        .unwrap()
        .unwrap();
    let init = web_sys::KeyboardEventInit::new();
    init.set_key("Escape");
    init.set_bubbles(true);
    let event =
        web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap();
    panel.dispatch_event(&event).unwrap();
    assert_eq!(open_count(&a), 0);
    assert!(nudge_render::screen::root("esc").is_none());
    let state = a.shared.state.borrow();
    assert!(state
        .session
        .profile
        .history("esc")
        .and_then(|h| h.dismissed_at)
        .is_some());
    let document = web_sys::window().unwrap().document().unwrap();
    assert!(document
        .query_selector("nudge-campaign[data-campaign=esc]")
        .unwrap()
        .is_none());
}

#[wasm_bindgen_test]
fn regex_conditions_use_the_browsers_regexp() {
    let a = agent(
        "t-regex",
        &modal("re", r#"{"traits.plan": {"$regexi": "^PRO"}}"#, "Pro"),
    );
    a.page(JsValue::UNDEFINED);
    assert_eq!(open_count(&a), 0, "no plan yet");
    a.identify(
        JsValue::UNDEFINED,
        js::from_value(&js::parse(r#"{"plan": "pro-annual"}"#).unwrap()),
        JsValue::UNDEFINED,
    );
    a.page(JsValue::UNDEFINED);
    assert_eq!(rendered_text(&a, "h2").as_deref(), Some("Pro"));
    a.reset();

    // An invalid pattern fails closed: the campaign is skipped, nothing throws.
    let b = agent(
        "t-regex-bad",
        &modal("re-bad", r#"{"traits.plan": {"$regex": "("}}"#, "Never"),
    );
    b.identify(
        JsValue::UNDEFINED,
        js::from_value(&js::parse(r#"{"plan": "("}"#).unwrap()),
        JsValue::UNDEFINED,
    );
    b.page(JsValue::UNDEFINED);
    assert!(b.shared.state.borrow().session.config.campaigns.is_empty());
}

#[wasm_bindgen_test]
fn inline_content_goes_into_the_shops_slot_or_nowhere() {
    let document = web_sys::window().unwrap().document().unwrap();
    let slot = document.create_element("div").unwrap();
    slot.set_id("slot-for-test");
    document.body().unwrap().append_child(&slot).unwrap();
    let config = r##"{"campaigns": [
        {"id": "in", "trigger": {"page_view": true}, "content": {"layout": "inline", "selector": "#slot-for-test", "body": "Inline"}},
        {"id": "missing", "trigger": {"page_view": true}, "content": {"layout": "inline", "selector": "#nope", "body": "Lost"}}]}"##;
    let a = agent("t-inline", config);
    a.page(JsValue::UNDEFINED);
    let host = slot.first_element_child().unwrap();
    assert_eq!(host.local_name(), "nudge-campaign");
    assert_eq!(host.get_attribute("data-campaign").as_deref(), Some("in"));
    assert_eq!(open_count(&a), 1, "the missing slot renders nothing");
    let _ = slot
        .dyn_ref::<web_sys::Element>()
        .map(web_sys::Element::remove);
}

#[wasm_bindgen_test]
fn a_preview_config_over_the_limits_is_refused_whole() {
    let deep = format!(
        r#"{{"campaigns": [], "deep": {}0{}}}"#,
        "[".repeat(nudge_core::limits::MAX_DEPTH),
        "]".repeat(nudge_core::limits::MAX_DEPTH)
    );
    assert!(js::config_from_js(&js_sys::JSON::parse(&deep).unwrap()).is_err());
}

/// Starts an agent on raw program bytes; whether it runs campaigns.
fn campaigns_from(site: &str, bytes: &[u8]) -> usize {
    let options = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&options, &"site".into(), &site.into());
    let _ = js_sys::Reflect::set(&options, &"collect".into(), &"off".into());
    let agent = start(options.into(), bytes);
    agent.page(JsValue::UNDEFINED);
    let count = agent.shared.state.borrow().session.config.campaigns.len();
    agent.shared.state.borrow_mut().close_page();
    count
}

#[wasm_bindgen_test]
fn a_truncated_corrupted_or_foreign_program_runs_no_campaign_and_never_throws() {
    let whole = program(&modal("ok", r#"{"page.path": {"$regex": "^/"}}"#, "Fine"));
    assert_eq!(campaigns_from("t-program", &whole), 1);
    // Every cut of it: refused (a program must end where its reader ends).
    for cut in (0..whole.len())
        .step_by(3)
        .chain(whole.len() - 8..whole.len())
    {
        assert_eq!(
            campaigns_from("t-program", &whole[..cut]),
            0,
            "cut at {cut}"
        );
    }
    // Another format, JSON where a program belongs, and bytes flipped
    // anywhere: never a panic (a flip may still read, as other campaigns).
    let mut next = whole.clone();
    next[4] = nudge_core::program::FORMAT + 1;
    assert_eq!(campaigns_from("t-program", &next), 0);
    assert_eq!(campaigns_from("t-program", br#"{"campaigns": []}"#), 0);
    for at in (0..whole.len()).step_by(5) {
        let mut flipped = whole.clone();
        flipped[at] ^= 0xa5;
        campaigns_from("t-program", &flipped);
    }
}
