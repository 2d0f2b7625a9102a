//! One attempt to deliver one event to one destination: the request the
//! channel shapes, sent with its credential, within a timeout, no redirects.

use std::time::Duration;

use serde_json::Value;
use worker::{Env, Headers, Method, Request, RequestInit, Result};

use super::channels::{self, Contact, Shaped};
use super::destinations;
use crate::destination::Destination;

/// How long a destination may take to answer before the attempt counts as failed.
const TIMEOUT: Duration = Duration::from_secs(8);

/// Outcome of one delivery attempt.
pub enum Attempt {
    Delivered,
    /// The channel has nothing to do with this event (see `channels::Shaped`).
    NotApplicable(String),
    Retry(String),
    Refused(String),
}

/// One attempt to deliver `event` to `destination`.
pub async fn deliver(
    env: &Env,
    site: &str,
    destination: &Destination,
    event: &Value,
    contact: &Contact,
) -> Result<Attempt> {
    // Only a credential sealed for this site and destination opens: a
    // document stored before sealing, or a blob copied from elsewhere, is refused.
    // The credentials key never rotates (`keys`): no store read needed here.
    let Some(credentials) =
        crate::keys::master(env).and_then(|m| crate::keys::credentials_key(&m, site))
    else {
        return Ok(Attempt::Retry("NUDGE_MASTER_KEY is not set".into()));
    };
    let Some(secret) = destinations::credential_of(destination, &credentials, site) else {
        return Ok(Attempt::Refused(
            "the destination's credential is missing or was not sealed for it; PUT the destinations again".into(),
        ));
    };
    let now_ms = worker::Date::now().as_millis() as i64;
    let outgoing = match channels::shape(destination, event, contact, &secret, now_ms) {
        Ok(Shaped::Send(outgoing)) => outgoing,
        Ok(Shaped::NotApplicable(why)) => return Ok(Attempt::NotApplicable(why)),
        Err(problem) => return Ok(Attempt::Refused(problem)),
    };
    if !destinations::url_allowed(&outgoing.url, destinations::local_allowed(env)) {
        return Ok(Attempt::Refused(format!(
            "{} is not an allowed destination URL",
            outgoing.url
        )));
    }
    let headers = Headers::new();
    for (name, value) in &outgoing.headers {
        headers.set(name, value)?;
    }
    let mut init = RequestInit::new();
    // No redirects: a 3xx could send the body (and its credentials) to a
    // plain-http or unlisted host. A destination that redirects is refused.
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_redirect(worker::RequestRedirect::Manual)
        .with_body(Some(outgoing.body.into()));
    let request = Request::new_with_init(&outgoing.url, &init)?;
    let fetch = worker::Fetch::Request(request);
    let send = Box::pin(fetch.send());
    let timeout = Box::pin(worker::Delay::from(TIMEOUT));
    let response = match futures_util::future::select(send, timeout).await {
        futures_util::future::Either::Left((Ok(response), _)) => response,
        futures_util::future::Either::Left((Err(e), _)) => {
            return Ok(Attempt::Retry(format!("network error: {e}")))
        }
        futures_util::future::Either::Right(_) => {
            return Ok(Attempt::Retry(format!(
                "no answer within {} s",
                TIMEOUT.as_secs()
            )))
        }
    };
    Ok(match response.status_code() {
        200..=299 => Attempt::Delivered,
        status @ (408 | 429 | 500..=599) => Attempt::Retry(format!("HTTP {status}")),
        status => Attempt::Refused(format!("HTTP {status}")),
    })
}
