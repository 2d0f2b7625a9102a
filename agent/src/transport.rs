//! The collect endpoint's adapter: arms the flush timer, posts the batches
//! and hands the answers back to `nudge_core::session::delivery`, which
//! decides everything else (when, what, what an answer means: tested
//! natively there). Never blocks the page; `sendBeacon` when the page goes.

use std::rc::Rc;

use gloo_timers::callback::Timeout;
use nudge_core::queue::{Batch, Outbox};
use nudge_core::session::delivery::{self, Answered, Delivery, Pace};
use nudge_core::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::browser;
use crate::options::Options;
use crate::remote;
use crate::shared::{call_quietly, run_weak, Shared};
use crate::state::{BrowserKey, State};
use crate::task::{Request, Task};

pub struct Transport {
    pub delivery: Delivery,
    timer: Option<Timeout>,
}

impl Transport {
    pub fn new(outbox: Outbox) -> Transport {
        Transport {
            delivery: Delivery::new(outbox),
            timer: None,
        }
    }

    pub fn outbox(&self) -> &Outbox {
        &self.delivery.outbox
    }

    /// Queues a wire event; one too large for the edge is dropped, and said.
    pub fn push(&mut self, event: &Value, opts: &Options) {
        if let Err(why) = self.delivery.outbox.push(event) {
            debug_warn!(opts, "event not sent: {why}");
        }
    }

    /// Forgets every queued event (reset, consent withdrawn).
    pub fn clear(&mut self) {
        self.delivery.clear();
    }
}

fn pace(opts: &Options) -> Pace {
    Pace {
        batch_size: opts.batch_size,
        flush_ms: opts.flush_ms,
    }
}

fn may_send(state: &State) -> bool {
    state.opts.collect.is_some() && state.may_contact_edge()
}

/// Arms the flush timer if delivery asks for it.
pub fn schedule(state: &mut State, shared: &Rc<Shared>) {
    let may_send = may_send(state);
    let wake = state
        .transport
        .delivery
        .wake_in(pace(&state.opts), may_send, browser::now());
    if let Some(delay) = wake {
        let weak = Rc::downgrade(shared);
        state.transport.timer = Some(Timeout::new(delay, move || {
            run_weak(&weak, Task::FlushDue);
        }));
    }
}

/// Posts `body` with the loader's helper; the answer comes back as a
/// [`Task::Answer`] for `request`.
pub fn post(state: &State, shared: &Rc<Shared>, url: &str, body: String, request: Request) -> bool {
    let Some(post) = state.opts.post.as_ref() else {
        return false;
    };
    let promise = call_quietly(post, &[url.into(), body.into(), JsValue::FALSE])
        .and_then(|p| p.dyn_into::<js_sys::Promise>().ok());
    let Some(promise) = promise else { return false };
    let weak = Rc::downgrade(shared);
    let on_answer = Closure::once_into_js(move |resolved: JsValue| {
        let (status, text) = crate::js::answer_of(&resolved);
        run_weak(
            &weak,
            Task::Answer {
                request,
                status,
                text,
            },
        );
    });
    promise
        .unchecked_ref::<crate::js::Thenable>()
        .then_call(&on_answer);
    true
}

/// The flush timer fired: post the batch that is due, if any.
pub(crate) fn flush_due(state: &mut State, shared: &Rc<Shared>) {
    state.transport.timer = None;
    let Some(url) = state.opts.collect.clone() else {
        return;
    };
    let may_send = may_send(state);
    let due = state
        .transport
        .delivery
        .woke(pace(&state.opts), may_send, browser::now());
    let Some(mut batch) = due else {
        schedule(state, shared); // a backoff not over yet
        return;
    };
    let mut body = std::mem::take(&mut batch.body);
    let key = add_browser_key(state, &mut body);
    if !post(state, shared, &url, body, Request::Events { batch, key }) {
        state.transport.delivery.not_sent();
    }
}

/// The visitor's browser key, added to `body` when it carries the visitor's
/// events (made then if the visitor has none yet). The key it added.
fn add_browser_key(state: &mut State, body: &mut String) -> Option<BrowserKey> {
    if !delivery::carries(body, &state.session.profile.anonymous_id) {
        return None;
    }
    let key = state.browser_key()?;
    delivery::with_browser_key(body, &key.to_wire());
    Some(key)
}

/// The collect endpoint answered a batch: delivery applies it; said in
/// debug mode. The first 2xx to a batch carrying the browser key means the
/// edge has it: the profile can be fetched.
pub(crate) fn answered(
    state: &mut State,
    shared: &Rc<Shared>,
    batch: &Batch,
    key: Option<&BrowserKey>,
    status: u16,
    text: &str,
) {
    let answered = state
        .transport
        .delivery
        .answered(batch, status, text, browser::now());
    match answered {
        Answered::Accepted => {
            if key.is_some_and(|key| state.key_acknowledged(key)) {
                remote::refresh_profile(state, shared);
            }
        }
        Answered::Rejected { dropped, of } => debug_warn!(
            state.opts,
            "collect endpoint refused {dropped} of {of} events (HTTP 400); dropped"
        ),
        Answered::Refused { status, of } => debug_warn!(
            state.opts,
            "collect endpoint refused {of} events (HTTP {status}); dropped"
        ),
        Answered::TooLarge { id } => debug_warn!(
            state.opts,
            "collect endpoint refused event {id} as too large (HTTP 413); dropped"
        ),
        Answered::Split { of } => debug_warn!(
            state.opts,
            "collect endpoint refused {of} events as too large (HTTP 413); sending half as many"
        ),
        Answered::RetryLater { status } => debug_warn!(
            state.opts,
            "collect endpoint unavailable (HTTP {status}); will retry"
        ),
    }
    state.save_outbox();
    schedule(state, shared);
}

/// The page is going away: hand what is queued to `sendBeacon` (nothing
/// changes; see `Delivery::beacon`). The browser key goes too, but a
/// beacon's answer cannot be read: it is no acknowledgement.
pub fn send_beacon(state: &mut State) {
    let (Some(url), Some(post)) = (state.opts.collect.clone(), state.opts.post.clone()) else {
        return;
    };
    let may_send = may_send(state);
    let beacon = state
        .transport
        .delivery
        .beacon(pace(&state.opts), may_send, browser::now());
    let Some(Batch { mut body, .. }) = beacon else {
        return;
    };
    add_browser_key(state, &mut body);
    call_quietly(&post, &[url.into(), body.into(), JsValue::TRUE]);
}
