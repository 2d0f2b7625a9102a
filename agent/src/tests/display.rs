//! The display module arrives when a campaign needs it: asked for at idle
//! when a campaign waits for its trigger, at once when one shows before it
//! arrived; shows that waited are drawn when it does, for their page only.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

use super::*;
use crate::{start, Agent};

/// The loader's `ui(now)`, held by the test: each ask is recorded, and the
/// one promise resolves when the test hands over a module (or `null`).
struct Loader {
    asks: Rc<RefCell<Vec<bool>>>,
    resolve: Rc<RefCell<Option<js_sys::Function>>>,
    pending: Rc<RefCell<Option<js_sys::Promise>>>,
    ui: JsValue,
}

impl Loader {
    fn new() -> Loader {
        let asks = Rc::new(RefCell::new(Vec::new()));
        let resolve: Rc<RefCell<Option<js_sys::Function>>> = Rc::default();
        let pending: Rc<RefCell<Option<js_sys::Promise>>> = Rc::default();
        let (a, r, p) = (asks.clone(), resolve.clone(), pending.clone());
        let ui = Closure::<dyn FnMut(bool) -> JsValue>::new(move |now| {
            a.borrow_mut().push(now);
            let mut pending = p.borrow_mut();
            if pending.is_none() {
                let r = r.clone();
                *pending = Some(js_sys::Promise::new(&mut |resolve, _| {
                    *r.borrow_mut() = Some(resolve);
                }));
            }
            pending.clone().unwrap().into()
        });
        Loader {
            asks,
            resolve,
            pending,
            ui: ui.into_js_value(),
        }
    }

    fn asks(&self) -> Vec<bool> {
        self.asks.borrow().clone()
    }

    /// Hands `module` over and lets the agent's promise callbacks run. The
    /// next ask is a new attempt, as the loader's after a failure.
    async fn arrive(&self, module: JsValue) {
        let resolve = self.resolve.borrow_mut().take().expect("asked for");
        self.pending.borrow_mut().take();
        resolve.call1(&JsValue::NULL, &module).unwrap();
        for _ in 0..3 {
            JsFuture::from(js_sys::Promise::resolve(&JsValue::NULL))
                .await
                .unwrap();
        }
    }

    fn agent(&self, site: &str, config: &str) -> Agent {
        let options = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&options, &"site".into(), &site.into());
        let _ = js_sys::Reflect::set(&options, &"collect".into(), &"off".into());
        let _ = js_sys::Reflect::set(&options, &"ui".into(), &self.ui);
        if let Ok(Some(storage)) = web_sys::window().unwrap().local_storage() {
            let _ = storage.remove_item(&format!("nudge:{site}:profile"));
        }
        start(options.into(), &program(config))
    }
}

fn impressions(agent: &Agent, id: &str) -> u32 {
    let state = agent.shared.state.borrow();
    state
        .session
        .profile
        .history(id)
        .map_or(0, |h| h.total_impressions)
}

const SCROLL: &str = r#"{"campaigns": [{"id": "later", "trigger": {"scroll_depth": 50, "url": {"prefix": "/"}},
    "content": {"layout": "slide_in", "title": "Read on"}}]}"#;

const ELSEWHERE: &str = r#"{"campaigns": [{"id": "elsewhere", "trigger": {"scroll_depth": 50, "url": {"prefix": "/no-such-page"}},
    "content": {"layout": "slide_in", "title": "Not here"}}]}"#;

#[wasm_bindgen_test]
fn a_campaign_waiting_for_its_trigger_fetches_the_module_at_idle_and_none_fetches_nothing() {
    let loader = Loader::new();
    let a = loader.agent("t-prefetch", SCROLL);
    a.page(JsValue::UNDEFINED);
    assert_eq!(loader.asks(), [false], "once, at idle");
    a.page(JsValue::UNDEFINED);
    assert_eq!(loader.asks(), [false], "asked already");

    let none = Loader::new();
    let b = none.agent("t-prefetch-none", ELSEWHERE);
    b.page(JsValue::UNDEFINED);
    b.track("Product Viewed".into(), JsValue::UNDEFINED);
    assert!(none.asks().is_empty(), "no campaign may show here");
    let c = none.agent("t-prefetch-empty", r#"{"campaigns": []}"#);
    c.page(JsValue::UNDEFINED);
    assert!(none.asks().is_empty());
}

#[wasm_bindgen_test]
async fn a_show_waits_for_the_module_and_counts_when_drawn() {
    let loader = Loader::new();
    let a = loader.agent("t-wait", &modal("wait", "{}", "Hello"));
    a.page(JsValue::UNDEFINED);
    assert_eq!(loader.asks(), [true], "at once: a campaign shows now");
    assert_eq!(open_count(&a), 0);
    assert_eq!(impressions(&a, "wait"), 0, "not seen yet");
    loader.arrive(display_module()).await;
    assert_eq!(open_count(&a), 1);
    assert_eq!(rendered_text(&a, "h2").as_deref(), Some("Hello"));
    assert_eq!(impressions(&a, "wait"), 1);
    a.shared.state.borrow_mut().close_page();
}

#[wasm_bindgen_test]
async fn a_show_for_a_page_left_is_dropped_and_its_cap_kept() {
    let loader = Loader::new();
    let a = loader.agent("t-left", &modal("left", "{}", "Hello"));
    a.page(JsValue::UNDEFINED);
    a.page(JsValue::UNDEFINED); // an SPA navigation before the module came
    loader.arrive(display_module()).await;
    assert_eq!(open_count(&a), 1, "the second page's show only");
    assert_eq!(
        impressions(&a, "left"),
        1,
        "the dropped one counted nothing"
    );
    a.shared.state.borrow_mut().close_page();
}

#[wasm_bindgen_test]
async fn a_module_that_does_not_load_draws_nothing_and_the_next_show_asks_again() {
    let loader = Loader::new();
    let a = loader.agent("t-failed", &modal("failed", "{}", "Hello"));
    a.page(JsValue::UNDEFINED);
    loader.arrive(JsValue::NULL).await;
    assert_eq!(open_count(&a), 0);
    assert_eq!(impressions(&a, "failed"), 0);
    a.page(JsValue::UNDEFINED);
    assert_eq!(loader.asks(), [true, true]);
    loader.arrive(display_module()).await;
    assert_eq!(open_count(&a), 1);
    a.shared.state.borrow_mut().close_page();
}
