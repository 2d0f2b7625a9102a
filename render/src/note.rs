//! A small note fixed at the bottom left of the page: the studio's preview
//! badge, in its own closed shadow root.

use alloc::boxed::Box;

use wasm_bindgen::closure::Closure;

use crate::dom::{self, el, set, DomResult, ShadowRoot};

/// What the note's link does when clicked.
pub type Handler = Box<dyn Fn(&web_sys::Event)>;

/// A small note fixed at the bottom left, `<tag>` with its own closed shadow
/// root: `text`, then a link to `href` whose clicks go to `on_click` (the
/// preview badge). It stays until dropped.
pub struct Note {
    root: ShadowRoot,
    /// The link's click handler, freed with the note (after it left the page).
    _on_click: Closure<dyn FnMut(web_sys::Event)>,
}

impl Drop for Note {
    fn drop(&mut self) {
        dom::remove(&self.root);
    }
}

const NOTE_STYLE: &str = ":host{all:initial}div{position:fixed;left:12px;bottom:12px;z-index:2147483647;\
font:12px/1.4 system-ui,sans-serif;color:#fff;background:rgba(17,24,39,.85);padding:6px 10px;border-radius:6px}\
a{color:inherit}";

pub fn note(tag: &str, text: &str, link: &str, href: &str, on_click: Handler) -> DomResult<Note> {
    let root = dom::host(tag, "", "", NOTE_STYLE)?;
    let bar = el(&root, "div", "", text);
    set(&bar, &[("role", "status")]);
    let anchor = el(&bar, "a", "", link);
    set(&anchor, &[("href", href)]);
    let listener = Closure::new(move |event: web_sys::Event| on_click(&event));
    dom::on_click(&anchor, listener.as_ref());
    dom::place(&root, "", 0)?;
    Ok(Note {
        root,
        _on_click: listener,
    })
}
