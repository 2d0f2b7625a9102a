//! Nudge's edge companion, a Cloudflare Worker built on `nudge-core`.
//!
//! Not built yet: issue #3 (config, event collection, identity, forwarding).
//! The crate exists so the workspace layout and the core-purity check already
//! cover it.
