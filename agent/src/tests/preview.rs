//! Preview links (the `preview` feature: `cargo xtask test` runs it).

use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

use super::edge::queued;
use super::*;
use crate::task::Task;
use crate::{start, Agent};

fn session() -> web_sys::Storage {
    web_sys::window()
        .unwrap()
        .session_storage()
        .unwrap()
        .unwrap()
}

/// An agent for `site` whose loader fetched a preview answer (`[status, text]`), if any.
fn preview_agent(site: &str, answer: Option<(u16, &str)>) -> Agent {
    let options = js_sys::Object::new();
    let set = |k: &str, v: &JsValue| {
        js_sys::Reflect::set(&options, &k.into(), v).unwrap();
    };
    set("site", &site.into());
    set("collect", &"https://edge.test/v1/events?site=t".into());
    set("flushMs", &60_000.into());
    if let Some((status, text)) = answer {
        set("preview", &js_sys::Array::of2(&status.into(), &text.into()));
    }
    with_display(start(
        options.into(),
        &program(&modal("live", "{}", "Live")),
    ))
}

fn stored_keys(site: &str) -> Vec<String> {
    let storage = web_sys::window().unwrap().local_storage().unwrap().unwrap();
    ["profile", "outbox", "key"]
        .iter()
        .map(|what| format!("nudge:{site}:{what}"))
        .filter(|key| storage.get_item(key).unwrap().is_some())
        .collect()
}

#[wasm_bindgen_test]
fn a_preview_tab_runs_the_previews_campaign_and_queues_and_keeps_nothing() {
    let site = "t-preview";
    session().remove_item("nudge_preview").unwrap();
    let config = r#"{"campaigns": [{"id": "pv", "name": "Spring", "status": "draft", "trigger": {"page_view": true},
        "audience": {"orders.count": 99}, "content": {"layout": "modal", "title": "A"},
        "variants": [{"key": "a", "weight": 0.5}, {"key": "b", "weight": 0.5, "content": {"title": "B"}}]}]}"#;
    let answer = format!(
        r#"{{"campaign_id": "pv", "variant": "b", "ignore_targeting": true, "expires_at": "2999-01-01T00:00:00Z", "config": {config}}}"#
    );
    let a = preview_agent(site, Some((200, &answer)));
    a.page(JsValue::UNDEFINED);
    a.track("Product Added".into(), JsValue::UNDEFINED);
    assert_eq!(
        rendered_text(&a, "h2").as_deref(),
        Some("B"),
        "the forced variant"
    );
    assert!(a.shared.state.borrow().previewing());
    assert_eq!(queued(&a), 0, "nothing queued for the edge");
    crate::shared::run(&a.shared, Task::Persist);
    assert_eq!(stored_keys(site), Vec::<String>::new(), "nothing stored");
    assert_eq!(
        session().get_item("nudge_preview").unwrap(),
        Some(answer.clone())
    );
    a.shared.state.borrow_mut().close_page();
    drop(a);

    // The next page of this tab: still the preview, from the tab's storage.
    let b = preview_agent(site, None);
    b.page(JsValue::UNDEFINED);
    assert_eq!(rendered_text(&b, "h2").as_deref(), Some("B"));
    b.shared.state.borrow_mut().close_page();
    drop(b);

    // An expired one is forgotten; a refused link leaves the live config.
    session()
        .set_item("nudge_preview", &answer.replace("2999", "2001"))
        .unwrap();
    let c = preview_agent(site, None);
    assert!(!c.shared.state.borrow().previewing());
    assert_eq!(session().get_item("nudge_preview").unwrap(), None);
    let refused = r#"{"error": {"code": "invalid_token", "message": "no such preview"}}"#;
    let d = preview_agent(site, Some((403, refused)));
    d.page(JsValue::UNDEFINED);
    assert!(!d.shared.state.borrow().previewing());
    assert_eq!(rendered_text(&d, "h2").as_deref(), Some("Live"));
    assert_eq!(
        queued(&d),
        2,
        "a visitor's events again (page, Campaign Shown)"
    );
    d.shared.state.borrow_mut().close_page();
    d.reset();
}
