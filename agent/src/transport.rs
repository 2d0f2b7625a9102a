//! Getting events to the collect endpoint without ever blocking the page or
//! losing them: batched, persisted in the outbox until acknowledged, retried
//! with backoff, and sent with `keepalive` / `sendBeacon` when the page goes.

use std::rc::Rc;

use gloo_timers::callback::Timeout;
use nudge_core::queue::Outbox;
use nudge_core::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::browser;
use crate::shared::{call_quietly, run_weak, Shared};
use crate::state::State;

pub struct Transport {
    pub outbox: Outbox,
    in_flight: bool,
    timer: Option<Timeout>,
}

impl Transport {
    pub fn new(outbox: Outbox) -> Transport {
        Transport {
            outbox,
            in_flight: false,
            timer: None,
        }
    }

    pub fn push(&mut self, event: &Value) {
        self.outbox.push(event);
    }

    /// Forgets every queued event (consent withdrawn).
    pub fn clear(&mut self) {
        let n = self.outbox.len();
        self.outbox.reject(n);
    }
}

fn may_send(state: &State) -> bool {
    state.opts.collect.is_some() && state.may_contact_edge()
}

/// Arranges the next flush: at once when a batch is full, else after
/// `flush_ms`, and never before a backoff ends.
pub fn schedule(state: &mut State, shared: &Rc<Shared>) {
    let t = &state.transport;
    if t.timer.is_some() || t.in_flight || t.outbox.is_empty() || !may_send(state) {
        return;
    }
    let wanted = if t.outbox.len() >= state.opts.batch_size {
        0
    } else {
        state.opts.flush_ms
    };
    let delay = (wanted as i64)
        .max(t.outbox.retry_in(browser::now()))
        .min(i64::from(u32::MAX)) as u32;
    let weak = Rc::downgrade(shared);
    state.transport.timer = Some(Timeout::new(delay, move || {
        run_weak(
            &weak,
            Box::new(|state, shared| {
                state.transport.timer = None;
                flush(state, shared);
            }),
        );
    }));
}

/// Sends the next batch if one is due, and handles the answer.
fn flush(state: &mut State, shared: &Rc<Shared>) {
    if state.transport.in_flight || !may_send(state) {
        return;
    }
    if !state.transport.outbox.ready(browser::now()) {
        schedule(state, shared);
        return;
    }
    let (Some(url), Some(post)) = (state.opts.collect.clone(), state.opts.post.clone()) else {
        return;
    };
    let (text, count) = state
        .transport
        .outbox
        .batch_body(state.opts.batch_size, browser::now());
    let promise = call_quietly(&post, &[url.into(), text.into(), JsValue::FALSE])
        .and_then(|p| p.dyn_into::<js_sys::Promise>().ok());
    let Some(promise) = promise else { return };
    state.transport.in_flight = true;
    let weak = Rc::downgrade(shared);
    // The loader's helper never rejects: it resolves to the HTTP status, or 0.
    let on_status = Closure::once_into_js(move |status: JsValue| {
        let status = status.as_f64().unwrap_or(0.0) as u16;
        run_weak(
            &weak,
            Box::new(move |state, shared| answered(state, shared, count, status)),
        );
    });
    promise
        .unchecked_ref::<crate::js::Thenable>()
        .then_call(&on_status);
}

fn answered(state: &mut State, shared: &Rc<Shared>, count: usize, status: u16) {
    state.transport.in_flight = false;
    match status {
        200..=299 => state.transport.outbox.acknowledge(count),
        // Refused as malformed: resending the same bytes cannot help.
        400 | 413 | 422 => {
            state.opts.debug_warn(&format!(
                "collect endpoint refused {count} events (HTTP {status}); dropped"
            ));
            state.transport.outbox.reject(count);
        }
        _ => {
            state.opts.debug_warn(&format!(
                "collect endpoint unavailable (HTTP {status}); will retry"
            ));
            state.transport.outbox.failed(browser::now());
        }
    }
    state.save_outbox();
    schedule(state, shared);
}

/// The page is going away: hand what is queued to `sendBeacon`. The events
/// stay in the outbox; if the beacon got through, the edge drops the repeat
/// (same event ids) when the next page sends them again.
pub fn send_beacon(state: &State) {
    let (Some(url), Some(post)) = (state.opts.collect.clone(), state.opts.post.clone()) else {
        return;
    };
    if !may_send(state) || state.transport.outbox.is_empty() {
        return;
    }
    let (text, _) = state
        .transport
        .outbox
        .batch_body(state.opts.batch_size, browser::now());
    call_quietly(&post, &[url.into(), text.into(), JsValue::TRUE]);
}
