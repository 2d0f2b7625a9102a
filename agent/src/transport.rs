//! The collect endpoint's adapter: arms the flush timer, posts the batches
//! and hands the answers back to `nudge_core::session::delivery`, which
//! decides everything else (when, what, what an answer means: tested
//! natively there). Never blocks the page; `sendBeacon` when the page goes.

use crate::callbacks::Timer;
use crate::prelude::*;
use nudge_core::queue::Outbox;
use nudge_core::session::delivery::{Delivery, Pace};
use nudge_core::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::handle::Handle;
use crate::js::call_quietly;
use crate::options::Options;
use crate::task::{Request, Task};

pub struct Transport {
    pub delivery: Delivery,
    timer: Option<Timer>,
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

    /// Wakes the agent for a flush in `delay` ms (replacing the timer set).
    pub fn arm(&mut self, delay: u32, handle: &Handle) {
        let handle = handle.clone();
        self.timer = Some(Timer::after(delay, move || handle.run(Task::FlushDue)));
    }

    /// The flush timer fired (or is no longer wanted).
    pub fn disarm(&mut self) {
        self.timer = None;
    }

    /// Forgets every queued event (reset, consent withdrawn).
    pub fn clear(&mut self) {
        self.delivery.clear();
    }
}

pub fn pace(opts: &Options) -> Pace {
    Pace {
        batch_size: opts.batch_size,
        flush_ms: opts.flush_ms,
    }
}

/// Posts `body` with the loader's helper; the answer comes back as a
/// [`Task::Answer`] for `request`.
pub fn post(opts: &Options, handle: &Handle, url: &str, body: String, request: Request) -> bool {
    let Some(post) = opts.post.as_ref() else {
        return false;
    };
    let promise = call_quietly(post, &[url.into(), body.into(), JsValue::FALSE])
        .and_then(|p| p.dyn_into::<js_sys::Promise>().ok());
    let Some(promise) = promise else { return false };
    let weak = handle.clone();
    let on_answer = Closure::once_into_js(move |resolved: JsValue| {
        let (status, text) = crate::js::answer_of(&resolved);
        weak.run(Task::Answer {
            request,
            status,
            text,
        });
    });
    promise
        .unchecked_ref::<crate::js::Thenable>()
        .then_call(&on_answer);
    true
}
