//! The campaigns on screen, by id: what the agent draws, closes and hands a
//! sealed coupon to. The display module's exports ([`crate::module`]) and
//! the agent's browser tests (which link this crate) both go through here.

use std::cell::RefCell;
use std::rc::Rc;

use nudge_core::campaign::Action;
use nudge_core::program::decode_content;

use crate::controls::Owner;
use crate::draw::{self, Rendered};

thread_local! {
    static OPEN: RefCell<Vec<Rendered>> = const { RefCell::new(Vec::new()) };
}

/// Draws campaign `id` from its content as the agent encoded it
/// (`core::program::encode_content`, merge fields filled). What the visitor
/// does goes to `act`. A campaign already on screen under that id is
/// replaced. Why it was not drawn, if it was not.
pub fn draw(id: &str, content: &[u8], act: Rc<dyn Fn(Action)>) -> Result<(), String> {
    // Said without formatting: this module carries no number printing.
    let content = decode_content(content)
        .map_err(|malformed| ["content does not read: ", malformed.what].concat())?;
    close(id);
    let rendered = draw::show(id, &content, Owner { act, live: true })?;
    OPEN.with(|open| open.borrow_mut().push(rendered));
    Ok(())
}

/// [`draw`], reporting what the visitor does to the JS function
/// `act(id, code, value)` ([`Action::to_wire`]): how the agent, another
/// module, hears of it. Why it was not drawn, if it was not.
pub fn draw_reporting_to(id: &str, content: &[u8], act: js_sys::Function) -> Option<String> {
    let campaign = wasm_bindgen::JsValue::from_str(id);
    let report = move |action: Action| {
        let (code, value) = action.to_wire();
        // A throw in the agent's callback must not stop this listener.
        let _ = act.call3(
            &wasm_bindgen::JsValue::NULL,
            &campaign,
            &code.into(),
            &value.into(),
        );
    };
    draw(id, content, Rc::new(report)).err()
}

/// Removes campaign `id` and gives focus back. Called from the agent while
/// one of the campaign's own listeners runs (a click on its close button):
/// the campaign leaves the list before it is dropped, and wasm-bindgen frees
/// the running listener only when it returns.
pub fn close(id: &str) {
    let closed = OPEN.with(|open| {
        let mut open = open.borrow_mut();
        let at = open.iter().position(|r| r.campaign == id)?;
        Some(open.remove(at))
    });
    if let Some(rendered) = closed {
        rendered.close();
    }
}

/// Shows the coupon the edge gave for campaign `id`'s sealed form coupon.
pub fn reveal_coupon(id: &str, code: &str) {
    OPEN.with(|open| {
        if let Some(rendered) = open.borrow().iter().find(|r| r.campaign == id) {
            rendered.reveal_coupon(code);
        }
    });
}

/// Campaign `id`'s closed shadow root, for tests: only this crate can reach
/// inside it.
#[doc(hidden)]
pub fn root(id: &str) -> Option<web_sys::ShadowRoot> {
    OPEN.with(|open| {
        open.borrow()
            .iter()
            .find(|r| r.campaign == id)
            .map(|r| r.root.clone())
    })
}

/// The ids on screen, in the order they were drawn (for tests).
#[doc(hidden)]
pub fn ids() -> Vec<String> {
    OPEN.with(|open| open.borrow().iter().map(|r| r.campaign.clone()).collect())
}
