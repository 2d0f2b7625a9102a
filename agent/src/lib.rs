//! Nudge's browser agent, built to WebAssembly.
//!
//! The loader (`loader/nudge.js`) instantiates this module, fetches the
//! site's config, and calls [`start`]. From then on:
//! browser event -> [`trackers`] -> signal -> `nudge_core::decide::decide`
//! -> [`display`] (the display module, render/, loaded when a campaign may
//! show); API calls and campaign outcomes -> events -> profile
//! (local storage) and the outbox -> [`transport`] -> collect endpoint.
//!
//! Rule for everything here: never throw into, block or break the host page.
//! Every entry point returns nothing that can fail, no `unwrap` touches input
//! or the platform, and state borrows are serialized by [`shared::run`].

// Input and the platform can fail anywhere: a panic here breaks a shop's page
// (agent) or answers a bare 500 (edge). Tests may unwrap.
#![cfg_attr(not(test), deny(clippy::unwrap_used))]
// Without std (issue #20): std's panic hook, its message formatting and
// thread-local machinery would be in every visitor's download. The shipped
// builds trap on a panic (below); the `std` feature is for builds that link
// std anyway (the agent's browser tests, the bench's engine build).
#![cfg_attr(not(any(test, feature = "std")), no_std)]

extern crate alloc;

/// What std's prelude would give: `use crate::prelude::*;` in each module
/// that allocates.
pub(crate) mod prelude {
    pub use alloc::borrow::ToOwned;
    pub use alloc::boxed::Box;
    pub use alloc::format;
    pub use alloc::string::String;
    #[cfg(feature = "studio")]
    pub use alloc::vec;
    pub use alloc::vec::Vec;
}

/// A bug's panic traps: the call from the page (the loader, a listener, a
/// timer) gets a `RuntimeError`, which the loader's calls catch, and no
/// message formatting is carried for it.
#[cfg(all(target_arch = "wasm32", not(any(test, feature = "std"))))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

/// `debug_warn!(opts, "format", args…)`: a warning in the console in debug
/// mode. Only a build with the `messages` feature (the studio's, which the
/// loader runs in debug mode) has the words; in the shops' build the format
/// is checked, nothing is evaluated, and the strings and formatting are
/// dropped. `debug_info!` is the same at the info level.
#[cfg(feature = "messages")]
macro_rules! debug_warn {
    ($opts:expr, $($arg:tt)*) => { $opts.debug_warn(&::alloc::format!($($arg)*)) };
}
#[cfg(feature = "messages")]
macro_rules! debug_info {
    ($opts:expr, $($arg:tt)*) => { $opts.debug_info(&::alloc::format!($($arg)*)) };
}
#[cfg(not(feature = "messages"))]
macro_rules! debug_warn {
    ($opts:expr, $($arg:tt)*) => {{
        let _ = || {
            let _ = &$opts;
            let _ = ::core::format_args!($($arg)*);
        };
    }};
}
#[cfg(not(feature = "messages"))]
macro_rules! debug_info {
    ($($arg:tt)*) => { debug_warn!($($arg)*) };
}

mod browser;
mod callbacks;
mod datalayer;
mod display;
mod handle;
mod js;
mod local;
mod options;
mod preview;
mod remote;
mod sending;
mod shared;
mod state;
#[cfg(feature = "studio")]
mod studio;
mod task;
mod trackers;
mod transport;

#[cfg(test)]
mod tests;

use alloc::rc::Rc;

use nudge_core::{Config, Value};
use wasm_bindgen::prelude::*;

use crate::callbacks::{EventListener, Timer};
use crate::prelude::*;
use crate::shared::{run, Shared};
use crate::task::Task;

#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
/// The JS host primitives (regex, number text, lowercase) core uses in the
/// agent; public only so `bench/engine-wasm` times the engine exactly as shipped.
#[doc(hidden)]
pub use js::install_host;

#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
use crate::state::{props_from_js, State};

/// The running agent, held by the loader behind `window.nudge`.
#[wasm_bindgen]
pub struct Agent {
    shared: Rc<Shared>,
    _global: Vec<EventListener>,
    _background: Timer,
}

/// Starts the agent with the loader's options and the site's program (the
/// config the edge compiled for agents, `core::program`; the loader fetches
/// it as bytes). A program that is missing, of another format, truncated or
/// corrupted leaves a working agent with no campaigns (and says why in debug
/// mode): the agent carries no JSON config reader and no validator.
#[wasm_bindgen]
pub fn start(options: JsValue, program: &[u8]) -> Agent {
    let t0 = browser::precise_now();
    js::install_host();
    let opts = options::Options::from_js(&options);
    let t1 = browser::precise_now();
    let config = match program {
        [] => Config::default(), // the loader could not fetch it, and said why
        bytes => nudge_core::program::decode_config(bytes).unwrap_or_else(|problem| {
            debug_warn!(opts, "config refused: {problem}; running with no campaigns");
            Config::default()
        }),
    };
    let t2 = browser::precise_now();
    let state = State::new(opts, config);
    let t3 = browser::precise_now();
    let shared = Shared::new(state);
    // Taken (and removed from the address bar) before the listeners exist:
    // the loader's history hook would count the replaceState as a page view.
    let click_token = remote::take_click_token();
    let handle = shared.handle();
    let global = trackers::attach_global(&shared.state.borrow().opts, &handle);
    // The edge's view of this person, in the background: after the first
    // decision, not in front of it.
    let background = Timer::after(0, move || {
        handle.run(Task::Reconnect { click_token });
    });
    let t4 = browser::precise_now();
    debug_info!(
        shared.state.borrow().opts,
        "started in {} µs: options {}, program {}, profile {}, listeners {}",
        us(t4 - t0),
        us(t1 - t0),
        us(t2 - t1),
        us(t3 - t2),
        us(t4 - t3)
    );
    Agent {
        shared,
        _global: global,
        _background: background,
    }
}

#[wasm_bindgen]
impl Agent {
    /// `nudge.page(properties?)`: a page view (`type`, `category`, `product_id` are understood).
    pub fn page(&self, properties: JsValue) {
        run(&self.shared, Task::Page(props_from_js(&properties)));
    }

    /// `nudge.track(name, properties?)`.
    pub fn track(&self, name: JsValue, properties: JsValue) {
        let task = match name.as_string() {
            Some(name) => Task::Track(name, props_from_js(&properties)),
            None => Task::Refuse("track ignored: the event name must be a string"),
        };
        run(&self.shared, task);
    }

    /// One entry of the page's `dataLayer`, from the loader's hook: a GTM
    /// push, or a `gtag()` call's arguments as an array.
    #[wasm_bindgen(js_name = dataLayer)]
    pub fn data_layer(&self, entry: JsValue) {
        run(&self.shared, Task::DataLayer(js::to_value(&entry)));
    }

    /// `nudge.identify(userId?, traits?, {token}?)`, as analytics.js: traits may
    /// come first. `token` is a user token from the shop's backend: with it the
    /// edge links this browser to the customer's other devices.
    pub fn identify(&self, user_id: JsValue, traits: JsValue, options: JsValue) {
        let (user_id, traits, options) = match user_id.as_string() {
            Some(id) => (Some(id), props_from_js(&traits), options),
            None if user_id.is_object() => (None, props_from_js(&user_id), traits),
            None => (None, props_from_js(&traits), options),
        };
        let token = js::get_string(&options, "token");
        run(
            &self.shared,
            Task::Identify {
                user_id,
                traits,
                token,
            },
        );
    }

    /// `nudge.consent('granted' | 'denied' | {analytics, marketing})`.
    pub fn consent(&self, value: JsValue) {
        let (analytics, marketing) = match value.as_string().as_deref() {
            Some("granted") => (Some(true), Some(true)),
            Some("denied") => (Some(false), Some(false)),
            _ => (
                js::get_bool(&value, "analytics"),
                js::get_bool(&value, "marketing"),
            ),
        };
        run(
            &self.shared,
            Task::Consent {
                analytics,
                marketing,
            },
        );
    }

    /// `nudge.debug()`: the profile, attributes and queue, for developers.
    pub fn debug(&self) -> JsValue {
        match self.shared.state.try_borrow() {
            Ok(state) => js::from_value(&state.snapshot()),
            Err(_) => JsValue::NULL,
        }
    }

    /// `nudge.reset()`: forgets this visitor (new anonymous id, empty profile).
    pub fn reset(&self) {
        run(&self.shared, Task::Reset);
    }
}

fn us(ms: f64) -> u64 {
    (ms * 1000.0) as u64
}

/// The engine's version, for support requests.
#[wasm_bindgen]
pub fn version() -> JsValue {
    Value::from(env!("CARGO_PKG_VERSION"))
        .to_js_string()
        .as_ref()
        .into()
}
