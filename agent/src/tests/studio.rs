//! The studio's build in Chromium (`--features studio`): core's validation
//! through `validateConfig`, and the live preview drawn by the shops' own
//! renderer.

use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

use crate::js;
use crate::studio::*;
use nudge_core::Value;
use wasm_bindgen::JsValue;

fn options(json: &str) -> JsValue {
    js_sys::JSON::parse(json).unwrap()
}

/// The diagnostics as `(path, severity)`, and all their messages.
fn read(diagnostics: JsValue) -> (Vec<(String, String)>, String) {
    let list = js::to_value(&diagnostics);
    let items = list.as_array().unwrap();
    let field = |d: &Value, k: &str| d.get(k).and_then(Value::as_str).unwrap().to_owned();
    (
        items
            .iter()
            .map(|d| (field(d, "path"), field(d, "severity")))
            .collect(),
        items
            .iter()
            .map(|d| field(d, "message"))
            .collect::<Vec<_>>()
            .join("; "),
    )
}

/// What the preview on screen shows at `selector`, read in its closed shadow root.
fn shown(selector: &str) -> Option<web_sys::Element> {
    SHOWN.with(|s| s.borrow().as_ref()?.root.query_selector(selector).ok()?)
}

fn storage_lengths() -> (u32, u32) {
    let window = web_sys::window().unwrap();
    let length = |s: Option<web_sys::Storage>| s.and_then(|s| s.length().ok()).unwrap_or(0);
    (
        length(window.local_storage().ok().flatten()),
        length(window.session_storage().ok().flatten()),
    )
}

const CONFIG: &str = r##"{"campaigns": [
    {"id": "offer", "trigger": {"scroll_depth": 30}, "audience": {"orders.count": 5},
     "content": {"layout": "modal", "title": "Hi {{first_name|there}}", "body": "Code {{coupon}}",
                 "form": {"field": "email", "success": "Here it is:"}, "coupon": "WELCOME10",
                 "cta": {"label": "Shop", "url": "/sale"}},
     "variants": [{"key": "a", "weight": 0.5}, {"key": "urgency", "weight": 0.5, "content": {"body": "Hurry"}}]},
    {"id": "slot", "trigger": {"page_view": true},
     "content": {"layout": "inline", "selector": "#not-in-this-page", "body": "Inline"}},
    {"id": "broken", "trigger": {"scroll_depth": 140}, "content": {"layout": "modal", "title": "x"}}]}"##;

#[wasm_bindgen_test]
fn validate_config_answers_cores_diagnostics_and_never_throws() {
    let (found, messages) = read(validate_config(CONFIG.into()));
    assert_eq!(
        found,
        [
            ("campaigns[2].trigger.scroll_depth".into(), "error".into()),
            ("campaigns[2]".into(), "warning".into())
        ],
        "{messages}"
    );
    assert!(messages.contains("must be 1..=100, got 140"), "{messages}");
    let (found, messages) = read(validate_config(r#"{"campaigns": []}"#.into()));
    assert!(found.is_empty(), "{messages}");
    let (found, messages) = read(validate_config("{ not json".into()));
    assert_eq!(found, [(String::new(), "error".into())]);
    assert!(
        messages.starts_with("the config is not valid JSON: "),
        "{messages}"
    );
    let (found, _) = read(validate_config(JsValue::from(42)));
    assert_eq!(found, [(String::new(), "error".into())]);
    let deep = format!("{}{}", "[".repeat(40), "]".repeat(40));
    let (_, messages) = read(validate_config(deep.into()));
    assert!(messages.contains("over Nudge's limits"), "{messages}");
}

#[wasm_bindgen_test]
fn preview_renders_with_the_agents_renderer_and_touches_no_storage() {
    let before = storage_lengths();
    let offer = options(r#"{"step": "offer", "traits": {"first_name": "Ada"}}"#);
    let (found, messages) = read(preview_campaign(CONFIG.into(), "offer".into(), offer));
    assert!(found.is_empty(), "{messages}");
    let text = |selector| shown(selector).and_then(|e| e.text_content());
    assert_eq!(
        text("h2").as_deref(),
        Some("Hi Ada"),
        "merge fields from traits"
    );
    assert_eq!(text("p").as_deref(), Some("Code WELCOME10"));
    let form = shown("form").unwrap();
    assert!(!form.has_attribute("hidden"));
    assert!(
        shown(".cp").unwrap().has_attribute("hidden"),
        "revealed by a sign-up"
    );

    // The CTA does not take the studio anywhere.
    let click = js_sys::Function::new_with_args(
        "el",
        "return el.dispatchEvent(new MouseEvent('click', {cancelable: true, bubbles: true}));",
    );
    let followed = click
        .call1(&JsValue::NULL, &shown("a.cta").unwrap())
        .unwrap();
    assert_eq!(followed.as_bool(), Some(false), "default prevented");

    // The success step of the forced variant, with the studio's coupon.
    let success = options(r#"{"step": "success", "variant": "urgency", "coupon": "TRY-ME"}"#);
    let (found, messages) = read(preview_campaign(CONFIG.into(), "offer".into(), success));
    assert!(found.is_empty(), "{messages}");
    assert_eq!(text("p").as_deref(), Some("Hurry"));
    assert!(shown("form").unwrap().has_attribute("hidden"));
    assert!(!shown("[role=status]").unwrap().has_attribute("hidden"));
    let row = shown(".cp").unwrap();
    assert!(!row.has_attribute("hidden"));
    let code = row.query_selector("input").unwrap().unwrap();
    assert_eq!(
        code.dyn_ref::<web_sys::HtmlInputElement>().unwrap().value(),
        "TRY-ME"
    );
    let document = web_sys::window().unwrap().document().unwrap();
    let hosts = document
        .query_selector_all("nudge-campaign[data-campaign=offer]")
        .unwrap();
    assert_eq!(hosts.length(), 1, "the previous preview was replaced");

    // Dismissing closes it.
    shown("button.x")
        .unwrap()
        .unchecked_into::<web_sys::HtmlElement>()
        .click();
    assert!(SHOWN.with(|s| s.borrow().is_none()));
    assert_eq!(
        document
            .query_selector_all("nudge-campaign[data-campaign=offer]")
            .unwrap()
            .length(),
        0
    );
    assert_eq!(storage_lengths(), before, "no storage writes");
}

#[wasm_bindgen_test]
fn preview_problems_come_back_as_diagnostics() {
    let check = |id: &str, given: &str, expected: &[(&str, &str)]| {
        let diagnostics = preview_campaign(CONFIG.into(), id.into(), options(given));
        let (found, messages) = read(diagnostics);
        let expected: Vec<_> = expected
            .iter()
            .map(|(p, s)| ((*p).to_owned(), (*s).to_owned()))
            .collect();
        assert_eq!(found, expected, "{id} {given}: {messages}");
    };
    check("nope", "{}", &[("", "error")]);
    check(
        "offer",
        r#"{"variant": "b"}"#,
        &[("campaigns[0].variants", "error")],
    );
    check(
        "broken",
        "{}",
        &[
            ("campaigns[2].trigger.scroll_depth", "error"),
            ("campaigns[2]", "warning"),
        ],
    );
    check(
        "slot",
        r#"{"step": "success"}"#,
        &[("campaigns[1].content", "warning")],
    );
    check("slot", r#"{"step": "later"}"#, &[("", "warning")]);
    // No options at all, or junk: the offer, nothing thrown.
    let (found, _) = read(preview_campaign(
        CONFIG.into(),
        "offer".into(),
        JsValue::UNDEFINED,
    ));
    assert!(found.is_empty());
    let (found, _) = read(preview_campaign(
        JsValue::NULL,
        JsValue::NULL,
        JsValue::NULL,
    ));
    assert_eq!(found, [(String::new(), "error".into())]);
}

#[wasm_bindgen_test]
fn an_inline_campaign_without_its_element_goes_into_the_stand_in_slot() {
    let (found, messages) = read(preview_campaign(
        CONFIG.into(),
        "slot".into(),
        options("{}"),
    ));
    assert!(found.is_empty(), "{messages}");
    let document = web_sys::window().unwrap().document().unwrap();
    let slot = document
        .get_element_by_id(STAND_IN)
        .expect("made by the preview");
    let host = slot.first_element_child().unwrap();
    assert_eq!(host.get_attribute("data-campaign").as_deref(), Some("slot"));
    close();
}
