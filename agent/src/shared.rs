//! One agent per page, shared by every listener, timer and API call.
//!
//! All work on the agent's state goes through [`run`]: a [`Task`] is queued
//! and [`dispatch`] is the one place it is carried out. A task that arrives
//! while another holds the state (a shop's `nudge.on('show')` callback
//! calling `nudge.track()`, a focus event fired by our own rendering) is
//! queued and run right after, instead of failing a `RefCell` borrow, which
//! in wasm would abort the module. Shop callbacks (`nudge.on`, as DOM
//! events) run only after the state is released.

use crate::prelude::*;
use alloc::collections::VecDeque;
use alloc::rc::{Rc, Weak};
use core::cell::RefCell;

use nudge_core::Map;

use crate::browser;
use crate::handle::{Handle, Runner};
use crate::state::State;
use crate::task::{Request, Task};

pub struct Shared {
    pub state: RefCell<State>,
    pending: RefCell<VecDeque<Task>>,
}

impl Shared {
    pub fn new(state: State) -> Rc<Shared> {
        Rc::new(Shared {
            state: RefCell::new(state),
            pending: RefCell::default(),
        })
    }

    /// A handle on this agent for listeners, timers and callbacks.
    pub fn handle(self: &Rc<Self>) -> Handle {
        let weak: Weak<dyn Runner> = Rc::downgrade(self) as Weak<Shared>;
        Handle::new(weak)
    }
}

impl Runner for Shared {
    fn run(self: Rc<Self>, task: Task) {
        run(&self, task);
    }
}

/// Runs `task` on the state now, or after the task currently running.
pub fn run(shared: &Rc<Shared>, task: Task) {
    shared.pending.borrow_mut().push_back(task);
    let handle = shared.handle();
    let notices = loop {
        let Ok(mut state) = shared.state.try_borrow_mut() else {
            return; // the task holding the state drains the queue when done
        };
        let next = shared.pending.borrow_mut().pop_front();
        match next {
            Some(task) => dispatch(&mut state, &handle, task),
            None => {
                state.schedule_persist(&handle);
                break state.take_notices();
            }
        }
    };
    dispatch_notices(notices);
}

fn dispatch_notices(notices: Vec<(&'static str, nudge_core::Value)>) {
    if notices.is_empty() {
        return;
    }
    let Some(window) = browser::window() else {
        return;
    };
    for (name, detail) in notices {
        let init = web_sys::CustomEventInit::new();
        init.set_detail(&crate::js::from_value(&detail));
        if let Ok(event) =
            web_sys::CustomEvent::new_with_event_init_dict(&["nudge:", name].concat(), &init)
        {
            // A throwing shop listener is reported by the browser, not propagated here.
            let _ = window.dispatch_event(&event);
        }
    }
}

/// Carries out one task on the state.
fn dispatch(state: &mut State, handle: &Handle, task: Task) {
    match task {
        Task::Page(properties) => state.page_view(properties, handle),
        Task::Track(name, properties) => {
            if !state.is_twin(false, &name, &properties) {
                state.track(&name, properties, handle);
            }
        }
        Task::DataLayer(entry) => state.data_layer(&entry, handle),
        Task::Identify {
            user_id,
            traits,
            token,
        } => {
            // Another user signs in on this browser (the shop did not call
            // `nudge.reset()` at sign-out): as analytics.js after `reset`, a
            // fresh anonymous identity, so nothing of this user reaches the
            // previous one's person and their profile is no longer read here.
            // The edge's cookie, which still names the previous browser,
            // starts over in the same call.
            let switched = state.is_another_user(user_id.as_deref());
            if switched {
                state.switch_user();
            }
            state.identify(user_id, traits, handle);
            match token {
                Some(token) => state.prove_identity(handle, ("userToken", &token), switched),
                None if switched => state.prove_identity(handle, ("reset", "true"), false),
                None => {}
            }
        }
        Task::Consent {
            analytics,
            marketing,
        } => state.consent(analytics, marketing, handle),
        Task::Reset => {
            state.reset();
            // The edge starts over too (its first-party cookie, see edge/src/cookie.rs).
            state.prove_identity(handle, ("reset", "true"), false);
        }
        Task::Refuse(why) => debug_warn!(state.opts, "{why}"),
        Task::Signal(signal) => state.signal(signal, handle),
        Task::Scrolled(percent) => {
            let effects = state.session.scrolled(percent);
            state.apply(effects, handle);
        }
        Task::Leaving => {
            state.account_page_time(browser::now());
            state.persist();
            state.send_beacon();
        }
        Task::Hidden => {
            state.persist();
            state.send_beacon();
        }
        Task::ProfileChanged => state.reload_profile(),
        Task::LocationChanged => {
            if state.session.is_new_page(&browser::page_context()) {
                state.page_view(Map::new(), handle);
            }
        }
        Task::Act { campaign, action } => state.act(&campaign, action, handle),
        Task::DisplayLoaded(module) => state.display_loaded(module, handle),
        Task::Persist => state.persist(),
        Task::FlushDue => state.flush_due(handle),
        Task::Reconnect { click_token } => match click_token {
            Some(token) => state.prove_identity(handle, ("clickToken", &token), false),
            None => state.refresh_profile(handle),
        },
        Task::RemoteProfile { anonymous_id, text } => {
            state.merge_remote_profile(handle, &anonymous_id, &text)
        }
        Task::Answer {
            request,
            status,
            text,
        } => match request {
            Request::Events { batch, key } => {
                state.batch_answered(handle, &batch, key.as_ref(), status, &text)
            }
            Request::Identify { key } => state.identified(handle, key, status),
            Request::CouponClaim {
                campaign,
                anonymous_id,
            } => state.coupon_claimed(&campaign, &anonymous_id, status, &text),
        },
    }
}
