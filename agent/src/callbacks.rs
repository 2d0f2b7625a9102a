//! Listeners and timers that end when dropped: held by the page's trackers
//! (dropped on navigation) or by the `Agent`, never leaked with `forget()`.
//!
//! What gloo-events and gloo-timers gave, on wasm-bindgen alone: the agent is
//! `no_std` (issue #20), which they are not. One closure type for every
//! listener and one for every timer keep the glue small.

use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{AddEventListenerOptions, Event, EventTarget};

/// A DOM event listener, removed when dropped. Passive, as gloo's are: the
/// agent never prevents a default, so scrolling never waits for it.
pub struct EventListener {
    target: EventTarget,
    name: &'static str,
    capture: bool,
    callback: Closure<dyn FnMut(Event)>,
}

impl EventListener {
    /// Listens in the bubbling phase.
    pub fn new(
        target: &EventTarget,
        name: &'static str,
        callback: impl FnMut(&Event) + 'static,
    ) -> EventListener {
        EventListener::attach(target, name, false, callback)
    }

    /// Listens in the capture phase: before the page's own handlers, which
    /// may stop the event's propagation.
    pub fn capturing(
        target: &EventTarget,
        name: &'static str,
        callback: impl FnMut(&Event) + 'static,
    ) -> EventListener {
        EventListener::attach(target, name, true, callback)
    }

    fn attach(
        target: &EventTarget,
        name: &'static str,
        capture: bool,
        mut callback: impl FnMut(&Event) + 'static,
    ) -> EventListener {
        let callback = Closure::<dyn FnMut(Event)>::new(move |event: Event| callback(&event));
        let options = AddEventListenerOptions::new();
        options.set_passive(true);
        options.set_capture(capture);
        // Fails only for a target that is not one: then nothing listens.
        let _ = target.add_event_listener_with_callback_and_add_event_listener_options(
            name,
            callback.as_ref().unchecked_ref(),
            &options,
        );
        EventListener {
            target: target.clone(),
            name,
            capture,
            callback,
        }
    }
}

impl Drop for EventListener {
    fn drop(&mut self) {
        let _ = self.target.remove_event_listener_with_callback_and_bool(
            self.name,
            self.callback.as_ref().unchecked_ref(),
            self.capture,
        );
    }
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &JsValue, ms: u32) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(id: &JsValue);
    #[wasm_bindgen(js_name = setInterval)]
    fn set_interval(handler: &JsValue, ms: u32) -> JsValue;
    #[wasm_bindgen(js_name = clearInterval)]
    fn clear_interval(id: &JsValue);
}

/// A timer: a callback once after `ms` milliseconds ([`Timer::after`]) or
/// every `ms` ([`Timer::every`]), cancelled when dropped.
pub struct Timer {
    id: JsValue,
    clear: fn(&JsValue),
    _callback: Closure<dyn FnMut()>,
}

impl Timer {
    pub fn after(ms: u32, callback: impl FnOnce() + 'static) -> Timer {
        let callback = Closure::once(callback);
        Timer {
            id: set_timeout(callback.as_ref(), ms),
            clear: clear_timeout,
            _callback: callback,
        }
    }

    pub fn every(ms: u32, callback: impl FnMut() + 'static) -> Timer {
        let callback = Closure::<dyn FnMut()>::new(callback);
        Timer {
            id: set_interval(callback.as_ref(), ms),
            clear: clear_interval,
            _callback: callback,
        }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        (self.clear)(&self.id);
    }
}
