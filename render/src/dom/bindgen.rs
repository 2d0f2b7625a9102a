//! `dom.js` through wasm-bindgen: the drawing code in the studio's agent
//! build and the agent's browser tests (see the parent module).

use alloc::string::String;
use alloc::vec::Vec;

use wasm_bindgen::prelude::*;

use crate::controls::Controls;

#[wasm_bindgen(module = "/src/dom.js")]
extern "C" {
    /// A new `<tag>` host (`data-campaign` = `id` unless empty, the accent
    /// colour as a CSS variable) with a closed shadow root styled by `css`;
    /// `None` if the page refused.
    #[wasm_bindgen(js_name = host)]
    pub(super) fn new_host(tag: &str, id: &str, accent: &str, css: &str) -> Option<ShadowRoot>;
    /// A `<tag>` with a class and text (either may be empty), appended to `parent`.
    pub(crate) fn el(parent: &JsValue, tag: &str, class: &str, text: &str) -> Element;
    #[wasm_bindgen(js_name = attr)]
    pub(super) fn set_attribute(element: &Element, name: &str, value: &str);
    /// [`super::place`]'s step: 0 when placed, or why not (a code).
    #[wasm_bindgen(js_name = place)]
    pub(super) fn place_code(root: &ShadowRoot, selector: &str, at: u8) -> u8;
    /// A modal takes focus (its first field or action, in the next frame);
    /// [`remove`] gives it back.
    #[wasm_bindgen(js_name = takeFocus)]
    pub(crate) fn take_focus(root: &ShadowRoot, panel: &Element);
    /// Removes the root's host from the page.
    pub(crate) fn remove(root: &ShadowRoot);
    /// One handler on the root for clicks, keys and the form: `report(what,
    /// value)` answers whether to prevent the browser's default.
    #[wasm_bindgen(js_name = listen)]
    fn listen_with(root: &ShadowRoot, modal: bool, report: &JsValue);
    /// The form's field refused, for `reason`.
    pub(crate) fn refuse(root: &ShadowRoot, reason: &str);
    /// The form's success step, with the coupon row if `coupon`.
    pub(crate) fn succeed(root: &ShadowRoot, coupon: bool);
    /// The coupon the edge gave for a sealed form coupon.
    pub(crate) fn reveal(root: &ShadowRoot, code: &str);

    /// Keeps campaign `id`'s root as on screen (replacing one of that id).
    pub(crate) fn keep(id: &str, root: &ShadowRoot);
    /// Campaign `id`'s root, if on screen.
    #[wasm_bindgen(js_name = rootOf)]
    pub(crate) fn root_of(id: &str) -> Option<ShadowRoot>;
    /// The ids on screen, in the order they were drawn.
    pub(crate) fn ids() -> Vec<String>;
    /// Removes campaign `id` from the page and the list, if there.
    pub(crate) fn close(id: &str);
    /// Clicks on `element` go to `f`.
    #[wasm_bindgen(js_name = onClick)]
    pub(crate) fn on_click(element: &Element, f: &JsValue);
}

/// An element the module drew.
pub use web_sys::Element;
/// A closed shadow root (web-sys's type: the agent's tests look inside).
pub use web_sys::ShadowRoot;

/// A campaign's one handler for clicks, keys and the form, on its root.
pub(crate) struct Listener(Closure<dyn FnMut(String, String) -> bool>);

/// Hands what the visitor does on `root` to `controls` ([`Controls::report`]).
pub(crate) fn listen(root: &ShadowRoot, modal: bool, controls: Controls) -> Listener {
    let report = Closure::new(move |what: String, value: String| controls.report(&what, &value));
    listen_with(root, modal, report.as_ref());
    Listener(report)
}

impl Listener {
    /// Hands the handler to the JS heap, which frees it with the shadow root
    /// that holds it (for a campaign kept by id in `dom.js`). Dropped
    /// instead, it stops answering.
    pub(crate) fn release(self) {
        let _ = self.0.into_js_value();
    }
}
