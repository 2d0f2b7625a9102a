//! What each offsite channel expects: one collected event (Segment-shaped
//! wire JSON) turned into the request a destination's API takes.
//!
//! Pure: no I/O, no clock, no secrets lookup. The queue consumer
//! (`forward::consume`) supplies the secret, the person's contact details and the
//! time, then sends what comes back. Each kind also accepts a `map` of event
//! names (ours → theirs) that overrides its default names.
//!
//! | kind    | request                                   | auth (the named Worker secret)      |
//! |---------|-------------------------------------------|-------------------------------------|
//! | webhook | the event as is, Standard Webhooks signed | whsec_ signing key                  |
//! | klaviyo | Events API (`/api/events`), identify → profile import | `Klaviyo-API-Key` header  |
//! | drip    | v2 events API, identify → subscriber      | API token (HTTP Basic)              |
//! | twilio  | Messages API: an SMS for configured events | auth token (Basic, with account SID) |
//! | meta    | Conversions API, hashed user data         | access token (in the body)          |

mod drip;
mod klaviyo;
mod meta;
mod twilio;
mod webhook;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use nudge_core::event::names;
use std::collections::BTreeMap;

use serde_json::Value;

use crate::destination::{Channel, Destination};
use crate::wire::WireEvent;

pub use crate::store::protocol::Contact;

/// Everything that can be configured; `url` is required for `webhook` only.
pub const KINDS: &[&str] = &["webhook", "klaviyo", "drip", "twilio", "meta"];

/// Klaviyo's API version this shape follows (sent as its `revision` header).
pub const KLAVIYO_REVISION: &str = "2024-10-15";
/// The Graph API version for Meta's Conversions API.
pub const META_GRAPH_VERSION: &str = "v21.0";
/// Meta refuses a whole request holding an event older than this.
const META_MAX_AGE_MS: i64 = 7 * 24 * 3600 * 1000;

/// One request to send.
#[derive(Debug, PartialEq)]
pub struct Outgoing {
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

/// What to do with one event for one destination.
#[derive(Debug, PartialEq)]
pub enum Shaped {
    Send(Outgoing),
    /// This channel has nothing to do with the event (Drip without an email,
    /// Twilio without a verified number, Meta for an event over 7 days old).
    /// Not a failure: sending it could never succeed.
    NotApplicable(String),
}

/// The request `destination` takes for `event`. `contact` is what the store
/// has on record: contact fields inside the event itself (its properties,
/// its traits) never address anyone, so nobody can make the edge message a
/// number or address by putting it in an event. `Err` is a configuration
/// problem (a malformed secret, say): the delivery is filed as a dead letter.
pub fn shape(
    destination: &Destination,
    event: &Value,
    contact: &Contact,
    secret: &str,
    now_ms: i64,
) -> Result<Shaped, String> {
    // The user id too comes from the record only: an event's own `userId`
    // is whatever its sender wrote.
    match &destination.channel {
        Channel::Webhook => webhook::webhook(destination, event, secret, now_ms),
        Channel::Klaviyo => Ok(klaviyo::klaviyo(destination, event, contact, secret)),
        Channel::Drip { account } => Ok(drip::drip(destination, account, event, contact, secret)),
        Channel::Twilio {
            account,
            from,
            messages,
            ..
        } => Ok(twilio::twilio(
            destination,
            twilio::Sender {
                account,
                from,
                messages,
            },
            event,
            contact,
            secret,
        )),
        Channel::Meta {
            pixel,
            test_event_code,
        } => Ok(meta::meta(
            destination,
            meta::Pixel {
                id: pixel,
                test_event_code: test_event_code.as_deref(),
            },
            event,
            contact,
            secret,
            now_ms,
        )),
    }
}

/// The names a destination's settings may select the event by, most
/// specific first: its name (`WireEvent::name`: a track's own, `Page Viewed`
/// for a page view) and its call (`track`, `page`, `identify`), so the
/// documented `"page"` and `"identify"` in `events`, `map` and `messages`
/// keep selecting those calls.
pub fn names_of(event: &Value) -> impl Iterator<Item = &str> {
    let read = WireEvent(event);
    read.name().into_iter().chain(Some(read.call()))
}

/// What `settings` (a destination's `map` or `messages`) holds for the
/// event, by its most specific name (`names_of`).
pub(crate) fn setting_for<'a>(
    settings: &'a BTreeMap<String, String>,
    event: &Value,
) -> Option<&'a str> {
    names_of(event).find_map(|name| settings.get(name).map(String::as_str))
}

/// The destination's name for the event: its own `map` first, then the
/// channel's conventional name, else ours unchanged.
pub(crate) fn their_name(
    destination: &Destination,
    event: &Value,
    defaults: &[(&str, &str)],
) -> String {
    let ours = names_of(event).next().unwrap_or_default();
    setting_for(&destination.map, event)
        .or_else(|| defaults.iter().find(|(o, _)| *o == ours).map(|(_, t)| *t))
        .unwrap_or(ours)
        .to_owned()
}

/// `url` overrides an API's base (a proxy, or a local stand-in in tests).
pub(crate) fn base<'a>(destination: &'a Destination, default: &'a str) -> &'a str {
    destination
        .url
        .as_deref()
        .unwrap_or(default)
        .trim_end_matches('/')
}

/// The order or product value of an event, if it has one: an order's
/// revenue as everything else counts it (`WireEvent::order_revenue`), else
/// the first of the event's `total`, `revenue`, `value` or `price` (a
/// checkout's total, a product's price).
pub(crate) fn value_of(event: &Value) -> Option<f64> {
    let read = WireEvent(event);
    if read.name() == Some(names::ORDER_COMPLETED) {
        return Some(read.order_revenue());
    }
    let props = read.properties();
    ["total", "revenue", "value", "price"]
        .iter()
        .find_map(|k| props[*k].as_f64())
}

pub(crate) fn idempotency(event: &Value) -> (&'static str, String) {
    (
        "idempotency-key",
        event["messageId"].as_str().unwrap_or_default().to_owned(),
    )
}

pub(crate) fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{password}")))
}

/// Problems with the kind-specific fields of destination `i`.
pub fn validate_kind(i: usize, d: &Value) -> Vec<nudge_core::Diagnostic> {
    use nudge_core::Diagnostic as D;
    let at = |field: &str| format!("destinations[{i}].{field}");
    let mut problems = Vec::new();
    let kind = d["kind"].as_str().unwrap_or_default();
    let digits = |v: &Value| {
        v.as_str().is_some_and(|s| {
            !s.is_empty() && s.len() <= 32 && s.bytes().all(|b| b.is_ascii_digit())
        })
    };
    match kind {
        "drip" if !digits(&d["account"]) => problems.push(D::error(
            at("account"),
            "must be the Drip account id (digits)",
        )),
        "meta" if !digits(&d["pixel"]) => problems.push(D::error(
            at("pixel"),
            "must be the Meta pixel (dataset) id (digits)",
        )),
        "twilio" => {
            let sid = |v: &Value, prefix: &str| {
                v.as_str().is_some_and(|s| {
                    s.len() == 34
                        && s.starts_with(prefix)
                        && s.get(2..)
                            .is_some_and(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit()))
                })
            };
            if !sid(&d["account"], "AC") {
                problems.push(D::error(
                    at("account"),
                    "must be the Twilio Account SID (AC + 32 hex digits)",
                ));
            }
            let from_ok = sid(&d["from"], "MG")
                || d["from"].as_str().is_some_and(|f| {
                    nudge_core::capture::normalize_phone(f).ok().as_deref() == Some(f)
                });
            if !from_ok {
                problems.push(D::error(
                    at("from"),
                    "must be an E.164 number (+15551234567) or a Messaging Service SID (MG...)",
                ));
            }
            for cap in ["daily_cap", "daily_cap_per_number"] {
                if !(d[cap].is_null() || d[cap].is_u64()) {
                    problems.push(D::error(at(cap), "must be a whole number of SMS a day"));
                }
            }
            for (j, name) in d["events"].as_array().into_iter().flatten().enumerate() {
                let name = name.as_str().unwrap_or_default();
                let text_ok = d["messages"][name]
                    .as_str()
                    .is_some_and(|t| !t.trim().is_empty());
                if name == "*" {
                    problems.push(D::error(
                        at(&format!("events[{j}]")),
                        "an SMS needs named events, not \"*\"",
                    ));
                } else if !text_ok {
                    problems.push(D::error(
                        at(&format!("messages.{name}")),
                        "is required: the text to send for this event",
                    ));
                }
            }
        }
        _ => {}
    }
    match &d["map"] {
        Value::Null => {}
        Value::Object(map)
            if map
                .values()
                .all(|v| v.as_str().is_some_and(|s| !s.is_empty())) => {}
        _ => problems.push(D::error(
            at("map"),
            "must map event names to non-empty names",
        )),
    }
    problems
}

#[cfg(test)]
mod tests;
