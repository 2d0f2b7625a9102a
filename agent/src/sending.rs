//! The state's side of delivery: when the flush timer is armed, the batch
//! that is due, the browser key it carries, what the collect endpoint's
//! answer does, and the beacon when the page goes. The rules are
//! `nudge_core::session::delivery`'s (tested natively there); the timer and
//! the post are the transport's (src/transport.rs).

use crate::prelude::*;
use nudge_core::queue::Batch;
use nudge_core::session::delivery::{self, Answered};
use wasm_bindgen::JsValue;

use crate::browser;
use crate::handle::Handle;
use crate::js::call_quietly;
use crate::state::State;
use crate::task::Request;
use crate::transport::{pace, post};
use nudge_core::session::key::BrowserKey;

impl State {
    fn may_send(&self) -> bool {
        self.opts.collect.is_some() && self.may_contact_edge()
    }

    /// Arms the flush timer if delivery asks for it.
    pub fn schedule_flush(&mut self, handle: &Handle) {
        let may_send = self.may_send();
        let wake = self
            .transport
            .delivery
            .wake_in(pace(&self.opts), may_send, browser::now());
        if let Some(delay) = wake {
            self.transport.arm(delay, handle);
        }
    }

    /// The flush timer fired: post the batch that is due, if any.
    pub fn flush_due(&mut self, handle: &Handle) {
        self.transport.disarm();
        let Some(url) = self.opts.collect.clone() else {
            return;
        };
        let may_send = self.may_send();
        let due = self
            .transport
            .delivery
            .woke(pace(&self.opts), may_send, browser::now());
        let Some(mut batch) = due else {
            self.schedule_flush(handle); // a backoff not over yet
            return;
        };
        let mut body = core::mem::take(&mut batch.body);
        let key = self.add_browser_key(&mut body);
        if !post(
            &self.opts,
            handle,
            &url,
            body,
            Request::Events { batch, key },
        ) {
            self.transport.delivery.not_sent();
        }
    }

    /// The visitor's browser key, added to `body` when it carries the visitor's
    /// events (made then if the visitor has none yet). The key it added.
    fn add_browser_key(&mut self, body: &mut String) -> Option<BrowserKey> {
        if !delivery::carries(body, &self.session.profile.anonymous_id) {
            return None;
        }
        let key = self.browser_key()?;
        delivery::with_browser_key(body, &key.to_wire());
        Some(key)
    }

    /// The collect endpoint answered a batch: delivery applies it; said in
    /// debug mode. The first 2xx to a batch carrying the browser key means the
    /// edge has it: the profile can be fetched.
    pub fn batch_answered(
        &mut self,
        handle: &Handle,
        batch: &Batch,
        key: Option<&BrowserKey>,
        status: u16,
        text: &str,
    ) {
        let answered = self.transport.delivery.answered(
            batch,
            status,
            crate::js::parse(text).as_ref(),
            browser::now(),
        );
        match answered {
            Answered::Accepted => {
                if key.is_some_and(|key| self.key_acknowledged(key)) {
                    self.refresh_profile(handle);
                }
            }
            Answered::Rejected { dropped, of } => debug_warn!(
                self.opts,
                "collect endpoint refused {dropped} of {of} events (HTTP 400); dropped"
            ),
            Answered::Refused { status, of } => debug_warn!(
                self.opts,
                "collect endpoint refused {of} events (HTTP {status}); dropped"
            ),
            Answered::TooLarge { id } => debug_warn!(
                self.opts,
                "collect endpoint refused event {id} as too large (HTTP 413); dropped"
            ),
            Answered::Split { of } => debug_warn!(
            self.opts,
            "collect endpoint refused {of} events as too large (HTTP 413); sending half as many"
        ),
            Answered::RetryLater { status } => debug_warn!(
                self.opts,
                "collect endpoint unavailable (HTTP {status}); will retry"
            ),
        }
        self.save_outbox();
        self.schedule_flush(handle);
    }

    /// The page is going away: hand what is queued to `sendBeacon` (nothing
    /// changes; see `Delivery::beacon`). The browser key goes too, but a
    /// beacon's answer cannot be read: it is no acknowledgement.
    pub fn send_beacon(&mut self) {
        let (Some(url), Some(post)) = (self.opts.collect.clone(), self.opts.post.clone()) else {
            return;
        };
        let may_send = self.may_send();
        let beacon = self
            .transport
            .delivery
            .beacon(pace(&self.opts), may_send, browser::now());
        let Some(Batch { mut body, .. }) = beacon else {
            return;
        };
        self.add_browser_key(&mut body);
        call_quietly(&post, &[url.into(), body.into(), JsValue::TRUE]);
    }
}
