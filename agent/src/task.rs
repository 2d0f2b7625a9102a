//! Everything that changes the agent's state, as data.
//!
//! API calls, trackers, rendered campaigns, timers and network answers each
//! produce a [`Task`]; [`crate::shared::run`] queues it and [`handle`] is the
//! one place it is carried out. A closed enum rather than boxed closures: one
//! match instead of a vtable and a heap box per call site (kilobytes of wasm
//! glue), every way in is listed here, and listeners need to know no more of
//! the state than the task they send.

use std::rc::Rc;

use nudge_core::decide::Signal;
use nudge_core::queue::Batch;
use nudge_core::{Map, Value};

use crate::shared::Shared;
use crate::state::{BrowserKey, State};
use crate::{browser, remote, transport};
use nudge_core::campaign::Action;

pub enum Task {
    // ---- the page's API (`window.nudge`) ----
    Page(Map),
    Track(String, Map),
    /// One entry of the page's `dataLayer` (a GTM push or a gtag call).
    DataLayer(Value),
    Identify {
        user_id: Option<String>,
        traits: Map,
        /// A user token from the shop's backend: links this browser to the person.
        token: Option<String>,
    },
    Consent {
        analytics: Option<bool>,
        marketing: Option<bool>,
    },
    Reset,
    /// A call that could not be taken, said in debug mode.
    Refuse(&'static str),

    // ---- the page's trackers ----
    Signal(Signal),
    /// The page is scrolled this far (percent of the scrollable distance).
    Scrolled(u8),
    /// `pagehide`: the page's time is counted and what is queued sent.
    Leaving,
    /// The tab went to the background: save and send what is queued.
    Hidden,
    /// Another tab wrote the profile.
    ProfileChanged,
    /// A single-page app changed its address (`history`, `popstate`).
    LocationChanged,

    // ---- campaigns on screen ----
    Act {
        campaign: String,
        action: Action,
    },

    /// The loader's answer to the display module's request: the module's
    /// exports, or `null` if it could not load.
    DisplayLoaded(wasm_bindgen::JsValue),

    // ---- timers ----
    Persist,
    FlushDue,

    // ---- the edge ----
    /// After the first decision: the visitor's facts from the edge, or an
    /// identity proof from a signed email or SMS link first.
    Reconnect {
        click_token: Option<String>,
    },
    /// The edge's answer to a profile request (JSON text) for the anonymous
    /// id it was asked for (another user may have signed in since).
    RemoteProfile {
        anonymous_id: String,
        text: String,
    },
    /// The answer to a POST.
    Answer {
        request: Request,
        status: u16,
        text: String,
    },
}

/// What a POST was, for its answer.
pub enum Request {
    /// A batch of events from the outbox, with the browser key it carried.
    Events {
        batch: Batch,
        key: Option<BrowserKey>,
    },
    /// An identity proof, with the browser key it carried.
    Identify { key: Option<BrowserKey> },
    /// A sign-up claiming the coupon a campaign's form holds back, for the
    /// anonymous id that signed up.
    CouponClaim {
        campaign: String,
        anonymous_id: String,
    },
}

/// Carries out one task on the state.
pub fn handle(state: &mut State, shared: &Rc<Shared>, task: Task) {
    match task {
        Task::Page(properties) => state.page_view(properties, shared),
        Task::Track(name, properties) => {
            if !state.is_twin(false, &name, &properties) {
                state.track(&name, properties, shared);
            }
        }
        Task::DataLayer(entry) => state.data_layer(&entry, shared),
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
            state.identify(user_id, traits, shared);
            match token {
                Some(token) => remote::identify(state, shared, ("userToken", &token), switched),
                None if switched => remote::identify(state, shared, ("reset", "true"), false),
                None => {}
            }
        }
        Task::Consent {
            analytics,
            marketing,
        } => state.consent(analytics, marketing, shared),
        Task::Reset => {
            state.reset();
            // The edge starts over too (its first-party cookie, see edge/src/cookie.rs).
            remote::identify(state, shared, ("reset", "true"), false);
        }
        Task::Refuse(why) => debug_warn!(state.opts, "{why}"),
        Task::Signal(signal) => state.signal(signal, shared),
        Task::Scrolled(percent) => {
            let effects = state.session.scrolled(percent);
            state.apply(effects, shared);
        }
        Task::Leaving => {
            state.account_page_time(browser::now());
            state.persist();
            transport::send_beacon(state);
        }
        Task::Hidden => {
            state.persist();
            transport::send_beacon(state);
        }
        Task::ProfileChanged => state.reload_profile(),
        Task::LocationChanged => {
            if state.session.is_new_page(&browser::page_context()) {
                state.page_view(Map::new(), shared);
            }
        }
        Task::Act { campaign, action } => state.act(&campaign, action, shared),
        Task::DisplayLoaded(module) => state.display_loaded(module, shared),
        Task::Persist => state.persist(),
        Task::FlushDue => transport::flush_due(state, shared),
        Task::Reconnect { click_token } => match click_token {
            Some(token) => remote::identify(state, shared, ("clickToken", &token), false),
            None => remote::refresh_profile(state, shared),
        },
        Task::RemoteProfile { anonymous_id, text } => {
            remote::merge(state, shared, &anonymous_id, &text)
        }
        Task::Answer {
            request,
            status,
            text,
        } => match request {
            Request::Events { batch, key } => {
                transport::answered(state, shared, &batch, key.as_ref(), status, &text)
            }
            Request::Identify { key } => remote::identified(state, shared, key, status),
            Request::CouponClaim {
                campaign,
                anonymous_id,
            } => remote::coupon_claimed(state, &campaign, &anonymous_id, status, &text),
        },
    }
}
