//! The campaigns on screen, by id: what the agent draws, closes and hands a
//! sealed coupon to. The display module's exports ([`crate::module`]) and
//! the agent's browser tests (which link this crate) both go through here.
//! The list itself is kept by `dom.js` (id -> shadow root): no Rust static,
//! which a `no_std` module could only have with an unsafe `Sync`.

use alloc::rc::Rc;
use alloc::string::String;

use nudge_core::campaign::Action;
use nudge_core::program::decode_content;

use crate::controls::Owner;
use crate::dom;
use crate::draw;

/// Draws campaign `id` from its content as the agent encoded it
/// (`core::program::encode_content`, merge fields filled). What the visitor
/// does goes to `act`. A campaign already on screen under that id is
/// replaced. Why it was not drawn, if it was not.
pub fn draw(id: &str, content: &[u8], act: Rc<dyn Fn(Action)>) -> Result<(), String> {
    // Said without formatting: this module carries no number printing.
    let content = decode_content(content)
        .map_err(|malformed| ["content does not read: ", malformed.what].concat())?;
    dom::close(id);
    let rendered = draw::show(id, &content, Owner { act, live: true })?;
    dom::keep(id, &rendered.root);
    // The handler now belongs to the JS side: freed when the campaign's
    // shadow root, which holds it, is gone.
    rendered.release();
    Ok(())
}

#[cfg(not(feature = "module"))]
pub use linked::*;

/// The same, for the drawing code linked into a wasm-bindgen build (the
/// agent's browser tests stand in for the display module with these). The
/// display module itself answers `close` and `revealCoupon` in its glue.
#[cfg(not(feature = "module"))]
mod linked {
    use super::*;
    use crate::dom::ShadowRoot;
    use alloc::vec::Vec;
    use wasm_bindgen::JsValue;

    /// [`draw`], reporting what the visitor does to the JS function
    /// `act(id, code, value)` ([`Action::to_wire`]): how the agent, another
    /// module, hears of it. Why it was not drawn, if it was not.
    pub fn draw_reporting_to(id: &str, content: &[u8], act: js_sys::Function) -> Option<String> {
        let campaign = JsValue::from_str(id);
        let report = move |action: Action| {
            let (code, value) = action.to_wire();
            // A throw in the agent's callback must not stop this listener.
            let _ = act.call3(&JsValue::NULL, &campaign, &code.into(), &value.into());
        };
        draw(id, content, Rc::new(report)).err()
    }

    /// Removes campaign `id` and gives focus back.
    pub fn close(id: &str) {
        dom::close(id);
    }

    /// Shows the coupon the edge gave for campaign `id`'s sealed form coupon.
    pub fn reveal_coupon(id: &str, code: &str) {
        if let Some(root) = dom::root_of(id) {
            dom::reveal(&root, code);
        }
    }

    /// Campaign `id`'s closed shadow root, for tests: only this crate can
    /// reach inside it.
    #[doc(hidden)]
    pub fn root(id: &str) -> Option<ShadowRoot> {
        dom::root_of(id)
    }

    /// The ids on screen, in the order they were drawn (for tests).
    #[doc(hidden)]
    pub fn ids() -> Vec<String> {
        dom::ids()
    }
}
