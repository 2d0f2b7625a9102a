//! The display module's DOM steps: its own small JS module (`dom.js`), one
//! call per step instead of one web-sys binding per method (the bindings
//! cost the module about 30 KB of wasm). None throws: a page that refuses a
//! change answers `None` or the reason.
//!
//! Two ways to call it, with the same Rust interface:
//! - [`bindgen`] (feature `bindgen`): through wasm-bindgen, where the
//!   drawing code is linked into a wasm-bindgen build (the studio's agent:
//!   its editor's preview and the preview badge; the agent's browser tests);
//! - [`raw`] (feature `module`): plain wasm imports of `module.js`, the glue
//!   written for the display module as shops load it. Objects are handles
//!   into the glue's table, texts go out as (pointer, length). wasm-bindgen's
//!   generated glue and runtime were 2.6 of the module's 3.8 KB gzip of JS.

#[cfg(not(feature = "module"))]
mod bindgen;
#[cfg(not(feature = "module"))]
pub use bindgen::*;
#[cfg(feature = "module")]
mod raw;
#[cfg(feature = "module")]
pub use raw::*;

use alloc::string::String;

/// A DOM step that did not happen, and why (words for the agent's debug
/// mode and the studio).
pub type DomResult<T> = Result<T, String>;

pub(crate) const REFUSED: &str = "the page refused the DOM change";

/// A `<tag>` host with a closed shadow root styled by `css`.
pub(crate) fn host(tag: &str, id: &str, accent: &str, css: &str) -> DomResult<ShadowRoot> {
    new_host(tag, id, accent, css).ok_or_else(|| REFUSED.into())
}

/// Sets attributes whose names are ours and valid: nothing to fail.
pub(crate) fn set(element: &Element, attributes: &[(&str, &str)]) {
    for (name, value) in attributes {
        set_attribute(element, name, value);
    }
}

/// Puts the root's host on the page: the end of the body, or by the shop's
/// element `selector` (`at`: 0 append, 1 prepend, 2 before, 3 after).
pub(crate) fn place(root: &ShadowRoot, selector: &str, at: u8) -> DomResult<()> {
    match place_code(root, selector, at) {
        0 => Ok(()),
        1 => Err(["invalid selector \"", selector, "\""].concat()),
        2 => Err(["no element matches \"", selector, "\""].concat()),
        _ => Err(REFUSED.into()),
    }
}
