//! The display module's interface, as the agent calls it through the
//! loader (`nudge_render.js`): ids and texts in, what the visitor did out
//! through one JS function. Nothing here throws into the page: a content
//! that does not read, or a page that refuses the DOM change, is an answer.

use alloc::string::String;

use js_sys::Function;
use wasm_bindgen::prelude::*;

use crate::screen;

#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

/// A bug's panic traps: the call into the module throws a `RuntimeError`
/// to its caller (the agent, which catches it), with no message formatting
/// carried for it.
#[cfg(all(target_arch = "wasm32", not(test)))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

/// Draws campaign `id` from its content bytes. What the visitor does is
/// reported as `act(id, code, value)` (`core::campaign::Action::to_wire`).
/// Returns `undefined` when drawn, or why not.
#[wasm_bindgen]
pub fn show(id: &str, content: &[u8], act: Function) -> Option<String> {
    screen::draw_reporting_to(id, content, act)
}

/// Removes campaign `id` from the page.
#[wasm_bindgen]
pub fn close(id: &str) {
    screen::close(id);
}

/// Shows the coupon the edge gave for campaign `id`'s sealed form.
#[wasm_bindgen(js_name = revealCoupon)]
pub fn reveal_coupon(id: &str, code: &str) {
    screen::reveal_coupon(id, code);
}
