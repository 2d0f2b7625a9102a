//! Campaigns on screen: Nudge's popups, slide-ins, banners and inline
//! blocks, with their capture forms and coupons (issue #20, part 3).
//!
//! Most page views show nothing, so the agent does not carry this code: it
//! is a second WebAssembly module (`agent/pkg/nudge_render.js` and its wasm,
//! built with `--features module`) that the loader fetches when a campaign
//! may show on the page, at idle if the campaign still waits for its trigger
//! (so it paints as the trigger fires), at once if it shows now. The agent
//! decides, fills merge fields and records outcomes; this module only draws
//! ([`draw`]), keeps what is on screen ([`screen`]) and reports what the
//! visitor did ([`nudge_core::campaign::Action`]).
//!
//! The studio's agent build links the same code for its editor's live
//! preview and the preview badge, so a preview is drawn by the code a shop
//! runs.

// Input and the platform can fail anywhere: a panic here would break a
// shop's page. Tests may unwrap.
#![cfg_attr(not(test), deny(clippy::unwrap_used))]
// Without std (issue #20): std's panic and formatting machinery, which a
// std crate cannot leave out, would be a fifth of this module. Panics
// cannot come from input here (none is reachable but a bug's), and the
// module's own panic handler traps: the agent's call into it throws, which
// it catches.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

mod controls;
mod dom;
mod draw;
#[cfg(feature = "module")]
mod module;
// The studio's preview badge.
#[cfg(not(feature = "module"))]
mod note;
pub mod screen;

pub use controls::Owner;
pub use dom::DomResult;
pub use draw::{show, Rendered};
#[cfg(not(feature = "module"))]
pub use note::{note, Handler, Note};
