//! The display module's DOM steps: its own small JS module (`dom.js`, put
//! into the glue by the build), one call per step instead of one web-sys
//! binding per method (the bindings cost the module about 30 KB of wasm).
//! None throws: a page that refuses a change answers `None` or the reason.

use alloc::string::String;
use alloc::vec::Vec;

use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/src/dom.js")]
extern "C" {
    /// A new `<tag>` host (`data-campaign` = `id` unless empty, the accent
    /// colour as a CSS variable) with a closed shadow root styled by `css`;
    /// `None` if the page refused.
    #[wasm_bindgen(js_name = host)]
    fn new_host(tag: &str, id: &str, accent: &str, css: &str) -> Option<ShadowRoot>;
    /// A `<tag>` with a class and text (either may be empty), appended to `parent`.
    pub(crate) fn el(parent: &JsValue, tag: &str, class: &str, text: &str) -> Element;
    #[wasm_bindgen(js_name = attr)]
    fn set_attribute(element: &Element, name: &str, value: &str);
    /// Puts the root's host on the page: the end of the body, or by the
    /// shop's element `selector` (`at`: 0 append, 1 prepend, 2 before, 3
    /// after). Empty when placed, or why not.
    pub(crate) fn place(root: &ShadowRoot, selector: &str, at: u8) -> String;
    /// A modal takes focus (its first field or action, in the next frame);
    /// [`remove`] gives it back.
    #[wasm_bindgen(js_name = takeFocus)]
    pub(crate) fn take_focus(root: &ShadowRoot, panel: &Element);
    /// Removes the root's host from the page.
    pub(crate) fn remove(root: &ShadowRoot);
    /// One handler on the root for clicks, keys and the form: `report(what,
    /// value)` answers whether to prevent the browser's default.
    pub(crate) fn listen(root: &ShadowRoot, modal: bool, report: &JsValue);
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

pub type DomResult<T> = Result<T, JsValue>;

/// A `<tag>` host with a closed shadow root styled by `css`.
pub(crate) fn host(tag: &str, id: &str, accent: &str, css: &str) -> DomResult<ShadowRoot> {
    new_host(tag, id, accent, css).ok_or_else(|| JsValue::from_str(REFUSED))
}

/// Sets attributes whose names are ours and valid: nothing to fail.
pub(crate) fn set(element: &Element, attributes: &[(&str, &str)]) {
    for (name, value) in attributes {
        set_attribute(element, name, value);
    }
}

pub(crate) const REFUSED: &str = "the page refused the DOM change";
