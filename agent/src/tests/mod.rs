//! The agent's DOM code in a real browser (`cargo xtask test` runs them with wasm-bindgen's test runner and ChromeDriver; `wasm-pack test --headless --chrome` works too).

use wasm_bindgen_test::*;

use crate::{js, start, Agent};

wasm_bindgen_test_configure!(run_in_browser);

/// The program the edge would serve for `config` (JSON text): its usable
/// campaigns, compiled.
pub(crate) fn program(config: &str) -> Vec<u8> {
    js::install_host(); // as start() does first: conditions compile regexes with it
    let value = nudge_core::json::parse(config, nudge_core::json::Bounds::Refuse).unwrap();
    nudge_core::program::encode_config(&nudge_core::Config::from_value(&value).0)
}

/// Starts an agent for a fresh site key (isolated storage) with `config` (JSON text).
pub(super) fn agent(site: &str, config: &str) -> Agent {
    let options = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&options, &"site".into(), &site.into());
    let _ = js_sys::Reflect::set(&options, &"collect".into(), &"off".into());
    if let Ok(storage) = web_sys::window().unwrap().local_storage() {
        let _ = storage
            .unwrap()
            .remove_item(&format!("nudge:{site}:profile"));
    }
    start(options.into(), &program(config))
}

pub(super) fn modal(id: &str, audience: &str, title: &str) -> String {
    format!(
        r#"{{"campaigns": [{{"id": "{id}", "trigger": {{"page_view": true}}, "audience": {audience},
            "content": {{"layout": "modal", "title": "{title}", "body": "Body", "cta": {{"label": "Go", "url": "/go"}}}}}}]}}"#
    )
}

pub(super) fn rendered_text(agent: &Agent, selector: &str) -> Option<String> {
    let state = agent.shared.state.borrow();
    let root = &state.rendered.first()?.root;
    root.query_selector(selector).ok()??.text_content()
}

mod edge;
mod page;
#[cfg(feature = "preview")]
mod preview;
