//! The few DOM steps every part of the display module takes: elements
//! with a class and text, attributes, a shadow root's styles, what can take
//! focus.

use wasm_bindgen::JsCast;
use wasm_bindgen::JsValue;
use web_sys::{CssStyleSheet, Document, Element, HtmlElement, ShadowRoot};

pub(crate) fn window() -> Option<web_sys::Window> {
    web_sys::window()
}
pub(crate) fn document() -> Option<Document> {
    window()?.document()
}
pub type DomResult<T> = Result<T, JsValue>;
pub(crate) fn el(
    doc: &Document,
    parent: &web_sys::Node,
    tag: &str,
    class: &str,
) -> DomResult<Element> {
    let e = doc.create_element(tag)?;
    if !class.is_empty() {
        e.set_class_name(class);
    }
    parent.append_child(&e)?;
    Ok(e)
}
pub(crate) fn text_el(
    doc: &Document,
    parent: &web_sys::Node,
    tag: &str,
    class: &str,
    text: &str,
) -> DomResult<Element> {
    let e = el(doc, parent, tag, class)?;
    e.set_text_content(Some(text));
    Ok(e)
}
/// Sets attributes whose names are ours and valid: nothing to fail.
pub(crate) fn set(e: &Element, attributes: &[(&str, &str)]) {
    for (name, value) in attributes {
        let _ = e.set_attribute(name, value);
    }
}
/// Styles a shadow root with `css`. A constructed stylesheet is not inline
/// style to a Content-Security-Policy, so a shop whose `style-src` has no
/// `'unsafe-inline'` still shows styled campaigns; a browser without
/// constructable stylesheets (Safari before 16.4) gets a `<style>` element.
pub(crate) fn style(doc: &Document, root: &ShadowRoot, css: &str) -> DomResult<()> {
    if let Ok(sheet) = CssStyleSheet::new() {
        if sheet.replace_sync(css).is_ok() {
            root.set_adopted_style_sheets(&js_sys::Array::of1(&sheet));
            return Ok(());
        }
    }
    text_el(doc, root, "style", "", css).map(drop)
}
pub type Handler = Box<dyn Fn(&web_sys::Event)>;
/// Elements that can take focus now: in document order, none inside a hidden part.
pub(crate) fn focusables(panel: &Element) -> Vec<HtmlElement> {
    let Ok(list) = panel.query_selector_all(FOCUSABLE) else {
        return Vec::new();
    };
    (0..list.length())
        .filter_map(|i| list.item(i))
        .filter_map(|n| n.dyn_into::<HtmlElement>().ok())
        .filter(|e| e.closest("[hidden]").ok().flatten().is_none())
        .collect()
}
const FOCUSABLE: &str = "button,a[href],input";
