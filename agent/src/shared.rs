//! One agent per page, shared by every listener, timer and API call.
//!
//! All work on the agent's state goes through [`run`]. A task that arrives
//! while another holds the state (a shop's `nudge.on('show')` callback calling
//! `nudge.track()`, a focus event fired by our own rendering) is queued and
//! run right after, instead of failing a `RefCell` borrow, which in wasm
//! would abort the module. Shop callbacks run only after the state is released.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::{Rc, Weak};

use nudge_core::Value;
use wasm_bindgen::JsValue;

use crate::state::State;
use crate::task::{handle, Task};

pub struct Shared {
    pub state: RefCell<State>,
    pending: RefCell<VecDeque<Task>>,
    /// DOM events for the shop (`nudge:show` ...), dispatched once the state is free.
    notices: RefCell<Vec<(&'static str, Value)>>,
    /// A preview's tab: the shop's own analytics (`nudge.on`) count nothing either.
    quiet: bool,
}

impl Shared {
    pub fn new(state: State) -> Rc<Shared> {
        Rc::new(Shared {
            quiet: state.previewing(),
            state: RefCell::new(state),
            pending: RefCell::default(),
            notices: RefCell::default(),
        })
    }

    /// Queues a `nudge:<name>` DOM event carrying `detail`.
    pub fn notify(&self, name: &'static str, detail: Value) {
        if !(cfg!(feature = "preview") && self.quiet) {
            self.notices.borrow_mut().push((name, detail));
        }
    }
}

/// Runs `task` on the state now, or after the task currently running.
pub fn run(shared: &Rc<Shared>, task: Task) {
    shared.pending.borrow_mut().push_back(task);
    loop {
        let Ok(mut state) = shared.state.try_borrow_mut() else {
            return; // the task holding the state drains the queue when done
        };
        let next = shared.pending.borrow_mut().pop_front();
        match next {
            Some(task) => handle(&mut state, shared, task),
            None => {
                state.schedule_persist(shared);
                break;
            }
        }
    }
    dispatch_notices(shared);
}

/// Like [`run`], from a listener or timer that holds only a weak reference
/// (the agent may have been torn down since).
pub fn run_weak(shared: &Weak<Shared>, task: Task) {
    if let Some(shared) = shared.upgrade() {
        run(&shared, task);
    }
}

fn dispatch_notices(shared: &Shared) {
    let notices = std::mem::take(&mut *shared.notices.borrow_mut());
    let Some(window) = crate::browser::window() else {
        return;
    };
    for (name, detail) in notices {
        let init = web_sys::CustomEventInit::new();
        init.set_detail(&crate::js::from_value(&detail));
        if let Ok(event) =
            web_sys::CustomEvent::new_with_event_init_dict(&format!("nudge:{name}"), &init)
        {
            // A throwing shop listener is reported by the browser, not propagated here.
            let _ = window.dispatch_event(&event);
        }
    }
}

/// Calls a JS function, swallowing anything it throws.
pub fn call_quietly(function: &js_sys::Function, args: &[JsValue]) -> Option<JsValue> {
    let array: js_sys::Array = args.iter().collect();
    function.apply(&JsValue::NULL, &array).ok()
}
