//! The session's rules as tables: each case drives a pure machine with
//! inputs and a clock, and checks what it says to do.

mod consent;
mod delivery;
mod identity;
mod layer;
mod remote;
mod visit;
