//! Getting events to the collect endpoint without ever blocking the page or
//! losing them: batched, persisted in the outbox until acknowledged, retried
//! with backoff, and sent with `keepalive` / `sendBeacon` when the page goes.

use std::rc::Rc;

use gloo_timers::callback::Timeout;
use nudge_core::queue::{Batch, Outbox};
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

    /// Queues a wire event; one too large for the edge is dropped, and said.
    pub fn push(&mut self, event: &Value, opts: &Options) {
        if let Err(why) = self.outbox.push(event) {
            opts.debug_warn(&format!("event not sent: {why}"));
        }
    }

    /// Forgets every queued event (reset, consent withdrawn). A batch in
    /// flight is answered by id, so its answer cannot touch what comes next.
    pub fn clear(&mut self) {
        self.outbox.clear();
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
        run_weak(&weak, Task::FlushDue);
    }));
}

/// The loader's `post` resolves to `[status, body text]` (status 0 on a
/// network error); anything else reads as a network error.
pub fn answer_of(resolved: &JsValue) -> (u16, String) {
    if !js_sys::Array::is_array(resolved) {
        return (0, String::new());
    }
    let pair: &js_sys::Array = resolved.unchecked_ref();
    let status = pair.get(0).as_f64().unwrap_or(0.0) as u16;
    (status, pair.get(1).as_string().unwrap_or_default())
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
        let (status, text) = answer_of(&resolved);
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

/// The flush timer fired: send what is due.
pub(crate) fn flush_due(state: &mut State, shared: &Rc<Shared>) {
    state.transport.timer = None;
    flush(state, shared);
}

/// Sends the next batch if one is due, and handles the answer.
pub(crate) fn flush(state: &mut State, shared: &Rc<Shared>) {
    if state.transport.in_flight || !may_send(state) {
        return;
    }
    if !state.transport.outbox.ready(browser::now()) {
        schedule(state, shared);
        return;
    }
    let Some(url) = state.opts.collect.clone() else {
        return;
    };
    let mut batch = state
        .transport
        .outbox
        .batch_body(state.opts.batch_size, browser::now());
    let mut body = std::mem::take(&mut batch.body);
    let key = add_browser_key(state, &mut body);
    let sent = post(state, shared, &url, body, Request::Events { batch, key });
    state.transport.in_flight = sent;
}

/// Adds `"browser": {anonymousId, key}` to a batch body when one of its
/// events is the current visitor's (the edge registers a key only for an id
/// the batch carries). The key it added.
fn add_browser_key(state: &mut State, body: &mut String) -> Option<BrowserKey> {
    let needle = format!(
        "\"anonymousId\":{}",
        Value::from(state.profile.anonymous_id.as_str()).to_json()
    );
    // Not `str::contains`: its searcher costs kilobytes of wasm.
    if !body
        .as_bytes()
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
    {
        return None;
    }
    let key = state.browser_key()?;
    body.pop(); // the body object's closing brace
    body.push_str(",\"browser\":");
    body.push_str(&key.to_wire().to_json());
    body.push('}');
    Some(key)
}

pub(crate) fn answered(
    state: &mut State,
    shared: &Rc<Shared>,
    batch: &Batch,
    key: Option<&BrowserKey>,
    status: u16,
    text: &str,
) {
    state.transport.in_flight = false;
    let outbox = &mut state.transport.outbox;
    let count = batch.ids.len();
    match status {
        200..=299 => {
            outbox.acknowledge(&batch.ids);
            // The edge now has the browser key: the profile can be fetched.
            if key.is_some_and(|key| state.key_acknowledged(key)) {
                remote::refresh_profile(state, shared);
            }
        }
        // Some events are invalid: drop those the edge names, resend the rest.
        400 => match crate::js::parse(text).and_then(|answer| batch.rejected(&answer)) {
            Some(rejected) => {
                state.opts.debug_warn(&format!(
                    "collect endpoint refused {} of {count} events (HTTP 400); dropped",
                    rejected.len()
                ));
                outbox.reject(&rejected);
            }
            None => refused(state, batch, status),
        },
        413 => match outbox.too_large(&batch.ids) {
            Some(id) => state.opts.debug_warn(&format!(
                "collect endpoint refused event {id} as too large (HTTP 413); dropped"
            )),
            None => state.opts.debug_warn(&format!(
                "collect endpoint refused {count} events as too large (HTTP 413); sending half as many"
            )),
        },
        // Refused as malformed: resending the same bytes cannot help.
        422 => refused(state, batch, status),
        _ => {
            state.opts.debug_warn(&format!(
                "collect endpoint unavailable (HTTP {status}); will retry"
            ));
            outbox.failed(browser::now());
        }
    }
    state.save_outbox();
    schedule(state, shared);
}

/// The whole batch is refused (no list of the bad events): drop it.
fn refused(state: &mut State, batch: &Batch, status: u16) {
    state.opts.debug_warn(&format!(
        "collect endpoint refused {} events (HTTP {status}); dropped",
        batch.ids.len()
    ));
    state.transport.outbox.reject(&batch.ids);
}

/// The page is going away: hand what is queued to `sendBeacon`. The events
/// stay in the outbox; if the beacon got through, the edge drops the repeat
/// (same event ids) when the next page sends them again. The browser key
/// goes too, but a beacon's answer cannot be read: it is no acknowledgement.
pub fn send_beacon(state: &mut State) {
    let (Some(url), Some(post)) = (state.opts.collect.clone(), state.opts.post.clone()) else {
        return;
    };
    if !may_send(state) || state.transport.outbox.is_empty() {
        return;
    }
    let mut body = state
        .transport
        .outbox
        .batch_body(state.opts.batch_size, browser::now())
        .body;
    add_browser_key(state, &mut body);
    call_quietly(&post, &[url.into(), body.into(), JsValue::TRUE]);
}
