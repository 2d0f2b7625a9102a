//! The agent's behaviour as pure state machines: inputs (API calls, network
//! answers, timer ticks, the clock) in, what to do out, with no I/O, so every
//! rule has a native table test and the agent crate is left with adapters
//! (listeners, DOM, fetch, storage) that carry out what these decide
//! (issue #20, part 1). The journey engine (`crate::journey`) is built the
//! same way.
//!
//! - [`delivery`]: the outbox's way to the collect endpoint (batching,
//!   backoff, what each answer means).

pub mod delivery;

#[cfg(test)]
mod tests;
