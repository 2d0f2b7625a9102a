//! A value for the page's one thread: what std's `thread_local!` gave, for
//! the `no_std` agent.

use core::cell::RefCell;

/// A `static`'s value behind a `RefCell`, used as a `thread_local!` is.
pub struct PageLocal<T>(RefCell<T>);

// SAFETY: the agent is built for wasm32 without atomics (checked below), where
// a module instance has exactly one thread: nothing reaches a static from
// another thread, which is all `Sync` promises.
unsafe impl<T> Sync for PageLocal<T> {}

#[cfg(target_feature = "atomics")]
compile_error!("the agent assumes one thread per module instance (agent/src/local.rs)");

impl<T> PageLocal<T> {
    pub const fn new(value: T) -> PageLocal<T> {
        PageLocal(RefCell::new(value))
    }

    /// Runs `f` with the value's cell, as `LocalKey::with` does.
    pub fn with<R>(&self, f: impl FnOnce(&RefCell<T>) -> R) -> R {
        f(&self.0)
    }
}
