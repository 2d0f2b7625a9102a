//! How listeners, timers and promise callbacks reach the agent's loop
//! without knowing its state: a [`Handle`] runs a [`Task`] on the agent if
//! it is still there. The adapters (display, transport, trackers) hold
//! handles, so none of them imports the state, and the state imports none
//! of the files that work on it: the agent's modules form no circle.

use alloc::rc::{Rc, Weak};

use crate::task::Task;

/// What runs tasks: the agent's shared state (`crate::shared::Shared`).
pub trait Runner {
    fn run(self: Rc<Self>, task: Task);
}

/// A weak reference to the agent's loop: it never keeps the agent alive,
/// and a task for an agent torn down is dropped.
#[derive(Clone)]
pub struct Handle(Weak<dyn Runner>);

impl Handle {
    pub fn new(runner: Weak<dyn Runner>) -> Handle {
        Handle(runner)
    }

    /// Runs `task` now, or right after the task that holds the state.
    pub fn run(&self, task: Task) {
        if let Some(runner) = self.0.upgrade() {
            runner.run(task);
        }
    }
}
