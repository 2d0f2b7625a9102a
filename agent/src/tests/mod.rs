//! The agent's DOM code in a real browser (`cargo xtask test` runs them with wasm-bindgen's test runner and ChromeDriver; `wasm-pack test --headless --chrome` works too).

use wasm_bindgen_test::*;

use wasm_bindgen::JsValue;

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
    with_display(start(options.into(), &program(config)))
}

/// `agent` with its display module already here, as after a prefetch.
pub(super) fn with_display(agent: Agent) -> Agent {
    agent
        .shared
        .state
        .borrow_mut()
        .display
        .use_module(display_module());
    agent
}

/// The display module's exports as the loader hands them over, from the
/// renderer this test build links (render/src/screen.rs).
pub(crate) fn display_module() -> JsValue {
    use wasm_bindgen::closure::Closure;
    let module = js_sys::Object::new();
    let show = Closure::<dyn Fn(String, js_sys::Uint8Array, js_sys::Function) -> JsValue>::new(
        |id: String, content: js_sys::Uint8Array, act| {
            nudge_render::screen::draw_reporting_to(&id, &content.to_vec(), act)
                .map_or(JsValue::UNDEFINED, |why| why.into())
        },
    );
    let close = Closure::<dyn Fn(String)>::new(|id: String| nudge_render::screen::close(&id));
    let reveal = Closure::<dyn Fn(String, String)>::new(|id: String, code: String| {
        nudge_render::screen::reveal_coupon(&id, &code)
    });
    for (name, f) in [
        ("show", show.into_js_value()),
        ("close", close.into_js_value()),
        ("revealCoupon", reveal.into_js_value()),
    ] {
        js_sys::Reflect::set(&module, &name.into(), &f).unwrap();
    }
    module.into()
}

pub(super) fn modal(id: &str, audience: &str, title: &str) -> String {
    format!(
        r#"{{"campaigns": [{{"id": "{id}", "trigger": {{"page_view": true}}, "audience": {audience},
            "content": {{"layout": "modal", "title": "{title}", "body": "Body", "cta": {{"label": "Go", "url": "/go"}}}}}}]}}"#
    )
}

/// The closed shadow root of the first campaign `agent` has on screen.
pub(super) fn first_root(agent: &Agent) -> Option<web_sys::ShadowRoot> {
    let state = agent.shared.state.borrow();
    let id = state.display.open_ids().next()?;
    nudge_render::screen::root(id)
}

pub(super) fn rendered_text(agent: &Agent, selector: &str) -> Option<String> {
    first_root(agent)?
        .query_selector(selector)
        .ok()??
        .text_content()
}

/// How many campaigns `agent` has on screen.
pub(super) fn open_count(agent: &Agent) -> usize {
    agent.shared.state.borrow().display.open_ids().count()
}

mod conformance;
mod display;
mod edge;
mod page;
#[cfg(feature = "preview")]
mod preview;
#[cfg(feature = "studio")]
mod studio;
