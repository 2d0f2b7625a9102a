//! The agent's behaviour as pure state machines: inputs (API calls, network
//! answers, timer ticks, the clock) in, what to do out, with no I/O, so every
//! rule has a native table test and the agent crate is left with adapters
//! (listeners, DOM, fetch, storage) that carry out what these decide
//! (issue #20, part 1). The journey engine (`crate::journey`) is built the
//! same way.
//!
//! - [`visit`]: the visitor's [`Session`]: config, profile and page, and what
//!   API calls, decisions and campaign outcomes do to them.
//! - [`remote`]: the edge's view of the visitor merged in, bounded.
//! - [`identity`]: identity proofs and coupon claims for the edge, and what
//!   a claim's answer gives.
//! - [`key`]: the browser key that reads the person's profile: which is the
//!   visitor's, what an acknowledgement changes.
//! - [`consent`]: what consent, the shop's consent mode and a preview let
//!   leave the browser; when a sign-in is another user's.
//! - [`delivery`]: the outbox's way to the collect endpoint (batching,
//!   backoff, what each answer means).
//! - [`layer`]: what the shop's GA4 events tell the page, and one add
//!   reported both by GA4 and by `nudge.track` counted once.

pub mod consent;
pub mod delivery;
pub mod identity;
pub mod key;
pub mod layer;
pub mod remote;
pub mod visit;

pub use visit::{Effects, Ignored, Session, Show};

#[cfg(test)]
mod tests;
