//! Nudge's pure-Rust heart, shared by the browser agent and the edge Worker.
//!
//! Data flow: an [`event::Event`] updates a [`profile::Profile`]; a
//! [`decide::Signal`] (scroll, exit intent, ...) plus profile, page and
//! [`config::Config`] go into [`decide::decide`], which answers which
//! campaigns to show and why others were not. Targeting uses
//! [`Condition`], GrowthBook-compatible.
//!
//! [`journey`] reads a site's journeys (timed cross-channel automation) and
//! runs them as a pure state machine on a given clock; the edge persists runs
//! and timers. The agent's [`Config`] skips the journey keys.
//!
//! With the `stats` feature (the edge's), [`stats::analyze`] reads A/B
//! results: lift intervals, chance to beat control, sample-ratio mismatch.
//!
//! Invariants: no platform code here (no wasm-bindgen, web-sys, js-sys or
//! worker; checked by a test over `cargo metadata`); nothing panics on input;
//! problems come back as [`Diagnostic`]s with paths.

// Without std in the browser builds: std's panic and formatting machinery
// would cost every visitor's download kilobytes (issue #20). Everything here
// needs only `alloc`; the `std` feature (the edge, native tests) adds the
// native primitives and the statistics.
#![cfg_attr(not(any(feature = "std", test)), no_std)]

extern crate alloc;

/// What std's prelude would give: `use crate::prelude::*;` in each module
/// that allocates.
pub(crate) mod prelude {
    pub use alloc::borrow::ToOwned;
    pub use alloc::boxed::Box;
    pub use alloc::string::{String, ToString};
    pub use alloc::vec::Vec;
    pub use alloc::{format, vec};
}

pub mod bounds;
pub mod bucket;
pub mod campaign;
pub mod capture;
pub mod condition;
pub mod config;
pub mod decide;
pub mod diagnostics;
pub mod event;
mod float;
pub mod ga4;
pub mod host;
pub mod journey;
pub mod json;
pub mod limits;
pub mod platform;
pub mod preview;
pub mod profile;
pub mod program;
pub mod queue;
mod read;
pub mod session;
mod small;
#[cfg(feature = "stats")]
pub mod stats;
pub mod template;
pub mod time;
pub mod value;
mod watch;

pub use condition::{Attributes, Condition, SavedGroups};
pub use config::Config;
pub use diagnostics::{Diagnostic, Severity};
pub use value::{Map, Value};
pub use watch::Watch;
