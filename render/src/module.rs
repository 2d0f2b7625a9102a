//! The display module's interface, as the agent calls it through the
//! module's own glue (`module.js`: `show(id, content, act)`, `close(id)`,
//! `revealCoupon(id, code)`). Only `show` comes into the wasm: closing and
//! revealing a coupon are DOM steps the glue takes itself. Nothing here
//! throws into the page: a content that does not read, or a page that
//! refuses the DOM change, is an answer.
//!
//! The glue hands texts and bytes in memory it asked for ([`give`]); each
//! export takes them over and frees them.

use alloc::alloc::{alloc as allocate, dealloc, Layout};
use alloc::boxed::Box;
use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;

use nudge_core::campaign::Action;

use crate::controls::Controls;
use crate::dom::{self, Node};
use crate::screen;

#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

/// A bug's panic traps: the call into the module throws a `RuntimeError`
/// to its caller (the agent, which catches it; the glue, for a visitor's
/// act), with no message formatting carried for it.
#[cfg(all(target_arch = "wasm32", not(test)))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

/// `len` bytes for the glue to write a text or a content into, before it
/// hands them to an export (which frees them). Out of memory traps.
#[export_name = "alloc"]
pub extern "C" fn give(len: usize) -> *mut u8 {
    if len == 0 {
        return core::ptr::NonNull::dangling().as_ptr();
    }
    let Ok(layout) = Layout::array::<u8>(len) else {
        core::arch::wasm32::unreachable()
    };
    // SAFETY: the layout's size is not zero.
    let bytes = unsafe { allocate(layout) };
    if bytes.is_null() {
        core::arch::wasm32::unreachable()
    }
    bytes
}

/// Frees what [`show`] answered, once the glue has read it.
///
/// # Safety
/// `bytes` and `len` are an answer of [`show`]'s, freed once.
#[export_name = "free"]
pub unsafe extern "C" fn free(bytes: *mut u8, len: usize) {
    drop(Given::take(bytes, len));
}

/// Draws campaign `id` from its content bytes. What the visitor does is
/// reported to the agent's callback `act` (a handle: `act(id, code,
/// value)`, [`Action::to_wire`]). Answers 0 when drawn; else why not, as a
/// length (4 bytes, little-endian) and the text, for the glue to read and
/// [`free`].
///
/// # Safety
/// `id` and `content` come from [`give`], with their lengths, and are not
/// used by the glue after the call.
#[export_name = "show"]
pub unsafe extern "C" fn show(
    id: *mut u8,
    id_len: usize,
    content: *mut u8,
    content_len: usize,
    act: u32,
) -> *mut u8 {
    let id = Given::take(id, id_len);
    let content = Given::take(content, content_len);
    let campaign = String::from(id.text());
    let act = Node::from_handle(act);
    let report = move |action: Action| {
        if let Some(act) = &act {
            let (code, value) = action.to_wire();
            dom::act(act, &campaign, code, &value);
        }
    };
    match screen::draw(id.text(), content.bytes(), Rc::new(report)) {
        Ok(()) => core::ptr::null_mut(),
        Err(why) => {
            let mut answer = Vec::with_capacity(4 + why.len());
            answer.extend_from_slice(&(why.len() as u32).to_le_bytes());
            answer.extend_from_slice(why.as_bytes());
            Box::into_raw(answer.into_boxed_slice()).cast::<u8>()
        }
    }
}

/// What the visitor did on a campaign ([`Controls::report`]): whether the
/// browser's default is prevented.
///
/// # Safety
/// `controls` is a live campaign handler's (`dom::listen`, not forgotten);
/// `what` and `value` come from [`give`], with their lengths.
#[export_name = "report"]
pub unsafe extern "C" fn report(
    controls: *const Controls,
    what: *mut u8,
    what_len: usize,
    value: *mut u8,
    value_len: usize,
) -> u32 {
    let what = Given::take(what, what_len);
    let value = Given::take(value, value_len);
    u32::from((*controls).report(what.text(), value.text()))
}

/// Frees a campaign's handler, once its root has left the page.
///
/// # Safety
/// `controls` is a campaign handler's (`dom::listen`), forgotten once, and
/// not during a call into the module.
#[export_name = "forget"]
pub unsafe extern "C" fn forget(controls: *mut Controls) {
    drop(Box::from_raw(controls));
}

/// Bytes the glue wrote into memory from [`give`] (or an answer of
/// [`show`]'s): freed when dropped.
struct Given {
    bytes: *mut u8,
    len: usize,
}

impl Given {
    /// # Safety
    /// `bytes` and `len` are one allocation of [`give`]'s (or a [`show`]
    /// answer's), not used elsewhere after this.
    unsafe fn take(bytes: *mut u8, len: usize) -> Given {
        Given { bytes, len }
    }

    fn bytes(&self) -> &[u8] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: `take`'s promise: `len` bytes the glue wrote.
        unsafe { core::slice::from_raw_parts(self.bytes, self.len) }
    }

    /// The bytes as text: the glue encodes texts as UTF-8 (anything else
    /// reads as empty, and is refused or ignored like an empty value).
    fn text(&self) -> &str {
        core::str::from_utf8(self.bytes()).unwrap_or("")
    }
}

impl Drop for Given {
    fn drop(&mut self) {
        if self.len > 0 {
            // SAFETY: `take`'s promise: one allocation of `len` bytes,
            // alignment 1 (`give`'s layout, and a boxed byte slice's).
            unsafe { dealloc(self.bytes, Layout::from_size_align_unchecked(self.len, 1)) }
        }
    }
}
