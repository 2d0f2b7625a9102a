//! Everything that changes the agent's state, as data.
//!
//! API calls, trackers, rendered campaigns, timers and network answers each
//! produce a [`Task`]; [`crate::shared::run`] queues it and `shared::dispatch` is the
//! one place it is carried out. A closed enum rather than boxed closures: one
//! match instead of a vtable and a heap box per call site (kilobytes of wasm
//! glue), every way in is listed here, and listeners need to know no more of
//! the state than the task they send.

use crate::prelude::*;
use nudge_core::campaign::Action;
use nudge_core::decide::Signal;
use nudge_core::queue::Batch;
use nudge_core::{Map, Value};

use nudge_core::session::key::BrowserKey;

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
