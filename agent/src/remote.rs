//! What the edge knows that this browser does not: the person's facts from
//! other devices and channels (`/v1/profile`), and proving who the visitor is
//! (`/v1/identify`, with a user token from the shop or a click token from an
//! email/SMS link). Both run in the background: decisions never wait on them;
//! the next decision sees what arrived.

use std::rc::Rc;

use nudge_core::decide::Signal;
use nudge_core::profile::RemoteFacts;
use nudge_core::{Map, Value};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::shared::{call_quietly, run_weak, Shared};
use crate::state::State;

/// The query parameter email/SMS links carry their click token in.
pub const CLICK_TOKEN_PARAM: &str = "nudge_t";

/// Fetches the person's facts and merges them into the local profile. When
/// they change what this page should show (a coupon from an email, orders on
/// another device), the page-view decision runs again.
pub fn refresh_profile(state: &State, shared: &Rc<Shared>) {
    let (Some(url), Some(get)) = (state.opts.profile_url.as_deref(), state.opts.get.as_ref())
    else {
        return;
    };
    if !state.may_contact_edge() {
        return;
    }
    let url = format!(
        "{url}&anonymousId={}",
        String::from(js_sys::encode_uri_component(&state.profile.anonymous_id))
    );
    let Some(promise) =
        call_quietly(get, &[url.into()]).and_then(|p| p.dyn_into::<js_sys::Promise>().ok())
    else {
        return;
    };
    let weak = Rc::downgrade(shared);
    let done = Closure::once_into_js(move |text: JsValue| {
        let Some(text) = text.as_string() else { return };
        run_weak(
            &weak,
            Box::new(move |state, shared| merge(state, shared, &text)),
        );
    });
    promise
        .unchecked_ref::<crate::js::Thenable>()
        .then_call(&done);
}

fn merge(state: &mut State, shared: &Rc<Shared>, text: &str) {
    let Some(value) = crate::js::parse(text) else {
        return;
    };
    let facts = match RemoteFacts::from_wire(&value) {
        Ok(facts) => facts,
        Err(problem) => {
            return state
                .opts
                .debug_warn(&format!("profile from the edge ignored: {problem}"))
        }
    };
    let before = state.profile.clone();
    state.profile.merge_remote(&facts);
    if state.profile != before {
        state.save_profile();
        state.opts.debug_info("profile updated from the edge");
        shared.notify("profile", Value::Null);
        state.signal(Signal::PageView, shared);
    }
}

/// Sends a proof of identity; on success the person's facts are fetched again.
pub fn identify(state: &State, shared: &Rc<Shared>, proof: (&str, &str)) {
    let (Some(url), Some(post)) = (state.opts.identify_url.as_deref(), state.opts.post.as_ref())
    else {
        return;
    };
    if !state.may_contact_edge() {
        return;
    }
    let mut body = Map::new();
    body.insert("anonymousId", state.profile.anonymous_id.as_str());
    body.insert(proof.0, proof.1);
    let Some(promise) = call_quietly(
        post,
        &[
            url.into(),
            Value::Object(body).to_json().into(),
            JsValue::FALSE,
        ],
    )
    .and_then(|p| p.dyn_into::<js_sys::Promise>().ok()) else {
        return;
    };
    let weak = Rc::downgrade(shared);
    let done = Closure::once_into_js(move |status: JsValue| {
        let status = status.as_f64().unwrap_or(0.0) as u16;
        run_weak(
            &weak,
            Box::new(move |state, shared| {
                if (200..300).contains(&status) {
                    refresh_profile(state, shared);
                } else {
                    state
                        .opts
                        .debug_warn(&format!("identify refused (HTTP {status})"));
                }
            }),
        );
    });
    promise
        .unchecked_ref::<crate::js::Thenable>()
        .then_call(&done);
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
