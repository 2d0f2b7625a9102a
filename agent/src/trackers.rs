//! Turning what the visitor does into signals for `decide`: scroll depth,
//! exit intent (desktop and mobile), time on page and site, inactivity, SPA
//! navigation, marked clicks, and the page going away.
//!
//! Only the trackers the config needs are attached ([`nudge_core::Watch`]).
//! All listeners are passive and RAII ([`EventListener`]): dropping
//! [`PageTrackers`] on navigation detaches them. Scroll work is done once per
//! animation frame, never in the scroll event itself.

use crate::prelude::*;
use alloc::rc::Rc;
use core::cell::Cell;

use nudge_core::decide::Signal;
use nudge_core::session::Session;
use nudge_core::time::Millis;
use nudge_core::Watch;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::browser::{self, document, window};
use crate::callbacks::{EventListener, Timer};
use crate::handle::Handle;
use crate::options::Options;
use crate::task::Task;

/// How long the tab must stay hidden for a return to count as exit intent.
const HIDDEN_RETURN_MS: Millis = 2_000;
/// An upward scroll of this share of the viewport within [`FAST_SCROLL_MS`]
/// reads as heading for the address bar on a phone.
const FAST_SCROLL_SHARE: f64 = 0.35;
const FAST_SCROLL_MS: f64 = 350.0;
/// After a click or key press, leaving through the top is not exit intent
/// (e.g. the visitor clicked a link and the pointer moved with the new page).
const AFTER_INPUT_GRACE_MS: Millis = 600;

/// Trackers for one page view.
pub struct PageTrackers {
    _listeners: Vec<EventListener>,
    _timers: Vec<Timer>,
    _interval: Option<Timer>,
}

fn signal(weak: &Handle, signal: Signal) {
    weak.run(Task::Signal(signal));
}

impl PageTrackers {
    pub fn attach(session: &Session, watch: &Watch, handle: &Handle) -> PageTrackers {
        let mut listeners = Vec::new();
        let mut timers = Vec::new();
        let weak = handle.clone();
        let (Some(window), Some(document)) = (window(), document()) else {
            return PageTrackers {
                _listeners: listeners,
                _timers: timers,
                _interval: None,
            };
        };
        let touch = session.page.device.touch;
        let last_input = Rc::new(Cell::new(browser::now()));

        // Input: feeds inactivity and the exit-intent grace period.
        for name in ["pointerdown", "keydown", "touchstart", "wheel"] {
            let last_input = last_input.clone();
            listeners.push(EventListener::new(&document, name, move |_| {
                last_input.set(browser::now())
            }));
        }

        if !watch.scroll_depths.is_empty() || (watch.exit_intent && touch) {
            listeners.push(scroll_tracker(
                &window,
                weak.clone(),
                watch.scroll_depths.clone(),
                watch.exit_intent && touch,
            ));
        }

        if watch.exit_intent {
            // Desktop: the pointer leaves the document through the top edge.
            let weak_exit = weak.clone();
            let last = last_input.clone();
            listeners.push(EventListener::new(&document, "mouseout", move |event| {
                let Some(event) = event.dyn_ref::<web_sys::MouseEvent>() else {
                    return;
                };
                let left_window = event.related_target().is_none() && event.client_y() <= 0;
                let recent_input = browser::now() - last.get() < AFTER_INPUT_GRACE_MS;
                if left_window && event.buttons() == 0 && !recent_input {
                    signal(&weak_exit, Signal::ExitIntent);
                }
            }));
            if touch {
                listeners.extend(mobile_exit_trackers(&window, &document, weak.clone()));
            }
        }

        for &seconds in &watch.page_timers {
            let weak = weak.clone();
            timers.push(Timer::after((seconds * 1000.0) as u32, move || {
                signal(&weak, Signal::TimeOnPage { seconds })
            }));
        }
        for &seconds in &watch.site_timers {
            let weak = weak.clone();
            let remaining = (seconds - session.profile.seconds_on_site).max(0.0);
            let base = session.profile.seconds_on_site;
            timers.push(Timer::after((remaining * 1000.0) as u32, move || {
                signal(
                    &weak,
                    Signal::TimeOnSite {
                        seconds: base + remaining,
                    },
                );
            }));
        }

        let interval = (!watch.inactivity.is_empty()).then(|| {
            let thresholds = watch.inactivity.clone();
            let weak = weak.clone();
            let fired_for = Cell::new(0 as Millis);
            Timer::every(1_000, move || {
                let idle_since = last_input.get();
                let idle = (browser::now() - idle_since) as f64 / 1000.0;
                // Each idle stretch fires each threshold once.
                if let Some(&seconds) = thresholds.iter().rev().find(|&&t| idle >= t) {
                    if fired_for.get() != idle_since {
                        fired_for.set(idle_since);
                        signal(&weak, Signal::Inactivity { seconds });
                    }
                }
            })
        });

        PageTrackers {
            _listeners: listeners,
            _timers: timers,
            _interval: interval,
        }
    }
}

/// Scroll depth (once per frame) and, on touch screens, the fast upward
/// flick toward the address bar.
fn scroll_tracker(
    win: &web_sys::Window,
    weak: Handle,
    depths: Vec<u8>,
    fast_up: bool,
) -> EventListener {
    let frame_pending = Rc::new(Cell::new(false));
    let reported = Rc::new(Cell::new(0u8));
    let last_sample = Rc::new(Cell::new((0.0f64, 0.0f64)));
    EventListener::new(win, "scroll", move |_| {
        if frame_pending.replace(true) {
            return;
        }
        let (weak, depths, pending, reported, last_sample) = (
            weak.clone(),
            depths.clone(),
            frame_pending.clone(),
            reported.clone(),
            last_sample.clone(),
        );
        let measure = Closure::once_into_js(move || {
            pending.set(false);
            let Some(window) = window() else { return };
            let y = window.scroll_y().unwrap_or(0.0);
            let viewport = window
                .inner_height()
                .ok()
                .and_then(|h| h.as_f64())
                .unwrap_or(0.0);
            let height = document()
                .and_then(|d| d.document_element())
                .map_or(0.0, |e| f64::from(e.scroll_height()))
                .max(1.0);
            // Share of the scrollable distance covered: 0 at the top, 100 at the bottom.
            let scrollable = (height - viewport).max(1.0);
            let percent = ((y / scrollable) * 100.0).clamp(0.0, 100.0) as u8;
            let now = js_sys::Date::now();
            let (prev_y, prev_t) = last_sample.replace((y, now));
            if fast_up
                && prev_t > 0.0
                && now - prev_t < FAST_SCROLL_MS
                && prev_y - y > viewport * FAST_SCROLL_SHARE
            {
                signal(&weak, Signal::ExitIntent);
            }
            weak.run(Task::Scrolled(percent));
            // Report once per newly crossed threshold.
            if let Some(&crossed) = depths
                .iter()
                .rev()
                .find(|&&d| percent >= d && d > reported.get())
            {
                reported.set(crossed);
                signal(&weak, Signal::Scroll { percent });
            }
        });
        if window()
            .and_then(|w| w.request_animation_frame(measure.unchecked_ref()).ok())
            .is_none()
        {
            frame_pending.set(false);
        }
    })
}

/// Phones have no pointer to leave the window: the back button (caught with a
/// history sentinel) and a return to a tab that was hidden mean the same.
fn mobile_exit_trackers(
    win: &web_sys::Window,
    doc: &web_sys::Document,
    weak: Handle,
) -> Vec<EventListener> {
    let mut listeners = Vec::new();
    let hidden_at = Rc::new(Cell::new(0 as Millis));
    let weak_visible = weak.clone();
    listeners.push(EventListener::new(doc, "visibilitychange", move |_| {
        let Some(document) = document() else { return };
        if document.hidden() {
            hidden_at.set(browser::now());
        } else if hidden_at.get() > 0 && browser::now() - hidden_at.get() >= HIDDEN_RETURN_MS {
            hidden_at.set(0);
            signal(&weak_visible, Signal::ExitIntent);
        }
    }));

    // The sentinel goes in only after a real tap (browsers skip history
    // entries added without user activation). These trackers are attached
    // only on a page where an exit-intent campaign may show
    // (`Config::watch_for`).
    let armed = Rc::new(Cell::new(false));
    let arm = armed.clone();
    listeners.push(EventListener::new(doc, "touchend", move |_| {
        if arm.replace(true) {
            return;
        }
        if let Some(history) = window().and_then(|w| w.history().ok()) {
            let marker = js_sys::Object::new();
            let _ = js_sys::Reflect::set(&marker, &"nudgeSentinel".into(), &JsValue::TRUE);
            let _ = history.push_state(&marker, "");
        }
    }));
    listeners.push(EventListener::new(win, "popstate", move |event| {
        let Some(event) = event.dyn_ref::<web_sys::PopStateEvent>() else {
            return;
        };
        let is_sentinel = js_sys::Reflect::get(&event.state(), &"nudgeSentinel".into())
            .ok()
            .is_some_and(|v| v.is_truthy());
        if armed.get() && !is_sentinel {
            armed.set(false);
            signal(&weak, Signal::ExitIntent);
        }
    }));
    listeners
}

/// Listeners that live as long as the agent: navigation, page hide, other
/// tabs, marked clicks.
pub fn attach_global(opts: &Options, handle: &Handle) -> Vec<EventListener> {
    let mut listeners = Vec::new();
    let (Some(win), Some(doc)) = (window(), document()) else {
        return listeners;
    };
    let weak = handle.clone();

    // Leaving: account the page's time and send what is queued.
    let w = weak.clone();
    listeners.push(EventListener::new(&win, "pagehide", move |_| {
        w.run(Task::Leaving);
    }));
    let w = weak.clone();
    listeners.push(EventListener::new(&doc, "visibilitychange", move |_| {
        if document().is_some_and(|d| d.hidden()) {
            w.run(Task::Hidden);
        }
    }));

    // Another tab wrote the profile.
    let key = opts.profile_key();
    let w = weak.clone();
    listeners.push(EventListener::new(&win, "storage", move |event| {
        let changed = event
            .dyn_ref::<web_sys::StorageEvent>()
            .and_then(web_sys::StorageEvent::key);
        if changed.as_deref() == Some(key.as_str()) {
            w.run(Task::ProfileChanged);
        }
    }));

    // Single-page apps: the loader turns pushState/replaceState into this event.
    if opts.spa {
        for name in ["popstate", "nudge:locationchange"] {
            let w = weak.clone();
            listeners.push(EventListener::new(&win, name, move |_| {
                w.run(Task::LocationChanged);
            }));
        }
    }

    // <button data-nudge-track="Size Guide Opened" data-nudge-props='{"size":"M"}'>
    let w = weak;
    listeners.push(EventListener::capturing(&doc, "click", move |event| {
        let Some(target) = event
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        else {
            return;
        };
        let Some(marked) = target.closest("[data-nudge-track]").ok().flatten() else {
            return;
        };
        let Some(name) = marked.get_attribute("data-nudge-track") else {
            return;
        };
        let props = marked
            .get_attribute("data-nudge-props")
            .and_then(|text| crate::js::parse(&text))
            .and_then(|v| v.as_object().cloned())
            .unwrap_or_default();
        w.run(Task::Track(name, props));
    }));
    listeners
}
