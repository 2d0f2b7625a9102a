//! What the edge knows that this browser does not: the person's facts from
//! other devices and channels (`/v1/profile`), and proving who the visitor is
//! (`/v1/identify`, with a user token from the shop or a click token from an
//! email/SMS link). Both run in the background: decisions never wait on them;
//! the next decision sees what arrived.

use crate::prelude::*;
use nudge_core::decide::Signal;
use nudge_core::session::identity::NoCoupon;
use nudge_core::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::handle::Handle;
use crate::js::call_quietly;
use crate::state::State;
use crate::task::{Request, Task};
use crate::transport::post;
use nudge_core::session::key::BrowserKey;

/// The query parameter email/SMS links carry their click token in.
pub const CLICK_TOKEN_PARAM: &str = "nudge_t";

/// The request header that carries the browser key.
const KEY_HEADER: &str = "x-nudge-browser-key";

impl State {
    /// Fetches the person's facts and merges them into the local profile. When
    /// they change what this page should show (a coupon from an email, orders on
    /// another device), the page-view decision runs again. The edge answers only
    /// with this anonymous id's browser key, once it has registered it: until a
    /// post carrying the key was acknowledged, nothing is asked.
    pub fn refresh_profile(&self, handle: &Handle) {
        let (Some(url), Some(get)) = (self.opts.profile_url.as_deref(), self.opts.get.as_ref())
        else {
            return;
        };
        if !self.may_contact_edge() {
            return;
        }
        let Some(key) = nudge_core::session::key::readable(self.current_key()) else {
            debug_info!(
                self.opts,
                "profile not fetched: the edge has no browser key for this visitor yet"
            );
            return;
        };
        let id = String::from(js_sys::encode_uri_component(
            &self.session.profile.anonymous_id,
        ));
        let url = [url, "&anonymousId=", &id].concat();
        let headers = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&headers, &KEY_HEADER.into(), &key.key.into());
        let Some(promise) = call_quietly(get, &[url.into(), headers.into()])
            .and_then(|p| p.dyn_into::<js_sys::Promise>().ok())
        else {
            return;
        };
        let weak = handle.clone();
        let anonymous_id = self.session.profile.anonymous_id.clone();
        // `null` for any failure, a 401 included: it waits for the next page.
        let done = Closure::once_into_js(move |text: JsValue| {
            let Some(text) = text.as_string() else { return };
            weak.run(Task::RemoteProfile { anonymous_id, text });
        });
        promise
            .unchecked_ref::<crate::js::Thenable>()
            .then_call(&done);
    }

    pub fn merge_remote_profile(&mut self, handle: &Handle, anonymous_id: &str, text: &str) {
        let Some(answer) = crate::js::parse(text) else {
            return;
        };
        match self.session.merge_remote(anonymous_id, &answer) {
            Ok(true) => {
                self.save_profile();
                debug_info!(self.opts, "profile updated from the edge");
                self.notify("profile", Value::Null);
                self.signal(Signal::PageView, handle);
            }
            Ok(false) => {}
            Err(ignored) => self.ignored(&ignored),
        }
    }

    /// `/v1/identify`'s URL, if the agent may contact the edge.
    fn identify_url(&self) -> Option<String> {
        let url = self.opts.identify_url.clone()?;
        self.may_contact_edge().then_some(url)
    }

    /// Sends a proof of identity, with the browser key for the edge to register;
    /// on success the person's facts are fetched again. `reset`: the edge also
    /// starts its first-party cookie over (another user signed in).
    pub fn prove_identity(&mut self, handle: &Handle, proof: (&str, &str), reset: bool) {
        let Some(url) = self.identify_url() else {
            return;
        };
        let key = self.browser_key();
        let body = self
            .session
            .identify_body(proof, reset, key.as_ref().map(BrowserKey::to_wire));
        let request = Request::Identify { key };
        post(
            &self.opts,
            handle,
            &url,
            Value::Object(body).to_json(),
            request,
        );
    }

    /// A sign-up in a form whose coupon the edge holds back: the claim (what was
    /// typed, never a link) goes to the edge, whose answer gives the code.
    pub fn claim_coupon(&self, handle: &Handle, campaign: &str, signed_up: (&str, &str)) {
        let Some(url) = self.identify_url() else {
            return;
        };
        let body = self.session.coupon_claim_body(campaign, signed_up);
        let request = Request::CouponClaim {
            campaign: campaign.to_owned(),
            anonymous_id: self.session.profile.anonymous_id.clone(),
        };
        post(
            &self.opts,
            handle,
            &url,
            Value::Object(body).to_json(),
            request,
        );
    }

    /// The answer to an identity proof: on success the person's facts are fetched again.
    pub fn identified(&mut self, handle: &Handle, key: Option<BrowserKey>, status: u16) {
        if (200..300).contains(&status) {
            if let Some(key) = &key {
                self.key_acknowledged(key);
            }
            self.refresh_profile(handle);
        } else {
            debug_warn!(self.opts, "identify refused (HTTP {status})");
        }
    }

    /// The answer to a coupon claim: the code shows in the campaign's success message.
    pub fn coupon_claimed(&mut self, campaign: &str, anonymous_id: &str, status: u16, text: &str) {
        let answer = crate::js::parse(text);
        match self
            .session
            .claimed_coupon(anonymous_id, status, answer.as_ref())
        {
            Ok(code) => self.reveal_coupon(campaign, &code),
            Err(NoCoupon::PreviousVisitor) => {
                debug_info!(self.opts, "coupon for the previous visitor not shown")
            }
            Err(NoCoupon::Refused(status)) => debug_warn!(
                self.opts,
                "no coupon from the edge for {campaign} (HTTP {status})"
            ),
        }
    }
}

/// A click token in the URL (an email/SMS link): used once, then removed from
/// the address bar so it is not bookmarked, shared or sent as a referrer.
pub fn take_click_token() -> Option<String> {
    let window = crate::browser::window()?;
    let location = window.location();
    let url = web_sys::Url::new(&location.href().ok()?).ok()?;
    let params = url.search_params();
    let token = params.get(CLICK_TOKEN_PARAM)?;
    params.delete(CLICK_TOKEN_PARAM);
    if let Ok(history) = window.history() {
        let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&url.href()));
    }
    Some(token)
}
