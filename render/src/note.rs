//! A small note fixed at the bottom left of the page: the studio's preview
//! badge, in its own closed shadow root.

use gloo_events::{EventListener, EventListenerOptions};
use web_sys::{Element, ShadowRootInit, ShadowRootMode};

use crate::dom::{document, style, text_el, DomResult, Handler};

/// A small note fixed at the bottom left, `<tag>` with its own closed shadow
/// root: `text`, then a link to `href` whose clicks go to `on_click` (the
/// preview badge). It stays until dropped.
pub struct Note {
    host: Element,
    _listener: EventListener,
}

impl Drop for Note {
    fn drop(&mut self) {
        self.host.remove();
    }
}

const NOTE_STYLE: &str = ":host{all:initial}div{position:fixed;left:12px;bottom:12px;z-index:2147483647;\
font:12px/1.4 system-ui,sans-serif;color:#fff;background:rgba(17,24,39,.85);padding:6px 10px;border-radius:6px}\
a{color:inherit}";

pub fn note(tag: &str, text: &str, link: &str, href: &str, on_click: Handler) -> DomResult<Note> {
    let doc = document().ok_or("no document")?;
    let host = doc.create_element(tag)?;
    let root = host.attach_shadow(&ShadowRootInit::new(ShadowRootMode::Closed))?;
    style(&doc, &root, NOTE_STYLE)?;
    let bar = text_el(&doc, &root, "div", "", text)?;
    bar.set_attribute("role", "status")?;
    let anchor = text_el(&doc, &bar, "a", "", link)?;
    anchor.set_attribute("href", href)?;
    let listener = EventListener::new_with_options(
        &anchor,
        "click",
        EventListenerOptions::enable_prevent_default(),
        move |event| on_click(event),
    );
    doc.body().ok_or("no body")?.append_child(&host)?;
    Ok(Note {
        host,
        _listener: listener,
    })
}
