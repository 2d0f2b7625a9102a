//! Meta's Conversions API: standard event names, hashed user data.

use serde_json::{json, Map, Value};

use super::{
    base, idempotency, their_name, value_of, Outgoing, Shaped, META_GRAPH_VERSION, META_MAX_AGE_MS,
};
use crate::destination::Destination;
use crate::store::protocol::Contact;
use crate::tokens::sha256_hex;
use crate::wire::WireEvent;
use nudge_core::event::names;

/// Meta's standard events.
const META_NAMES: &[(&str, &str)] = &[
    (names::PAGE_VIEWED, "PageView"),
    ("Product Viewed", "ViewContent"),
    ("Product Added", "AddToCart"),
    ("Checkout Started", "InitiateCheckout"),
    ("Order Completed", "Purchase"),
    ("Signed Up", "Lead"),
    ("Products Searched", "Search"),
];

/// A Meta destination's pixel (dataset) and, while testing in Events
/// Manager, its test code.
pub struct Pixel<'a> {
    pub id: &'a str,
    pub test_event_code: Option<&'a str>,
}

pub fn meta(
    destination: &Destination,
    pixel: Pixel<'_>,
    event: &Value,
    contact: &Contact,
    secret: &str,
    now_ms: i64,
) -> Shaped {
    if WireEvent(event).call() == "identify" {
        return Shaped::NotApplicable("the Conversions API takes events, not profiles".into());
    }
    let at = event["timestamp"]
        .as_str()
        .and_then(nudge_core::time::parse_iso8601)
        .unwrap_or(now_ms)
        .min(now_ms);
    if now_ms - at > META_MAX_AGE_MS {
        return Shaped::NotApplicable("older than 7 days: Meta refuses it".into());
    }
    // Meta matches on SHA-256 of normalized values: lowercased email, phone digits.
    let mut user = Map::new();
    if let Some(email) = &contact.email {
        user.insert(
            "em".into(),
            json!([sha256_hex(&email.trim().to_lowercase())]),
        );
    }
    if let Some(phone) = &contact.phone {
        let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
        if !digits.is_empty() {
            user.insert("ph".into(), json!([sha256_hex(&digits)]));
        }
    }
    let person = contact
        .user_id
        .as_deref()
        .or(event["anonymousId"].as_str())
        .unwrap_or_default();
    user.insert("external_id".into(), json!([sha256_hex(person)]));
    let context = &event["context"];
    for (ours, theirs) in [
        ("ip", "client_ip_address"),
        ("userAgent", "client_user_agent"),
    ] {
        if let Some(v) = context[ours].as_str() {
            user.insert(theirs.into(), v.into());
        }
    }
    let props = &event["properties"];
    let mut custom = Map::new();
    if let Some(value) = value_of(event) {
        custom.insert("value".into(), json!(value));
        custom.insert(
            "currency".into(),
            props["currency"].as_str().unwrap_or("USD").into(),
        );
    }
    let ids: Vec<&Value> = std::iter::once(&props["product_id"])
        .chain(
            props["products"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| &p["product_id"]),
        )
        .filter(|id| id.is_string())
        .collect();
    if !ids.is_empty() {
        custom.insert("content_ids".into(), json!(ids));
        custom.insert("content_type".into(), "product".into());
    }
    if let Some(order) = props["order_id"].as_str() {
        custom.insert("order_id".into(), order.into());
    }
    let mut server_event = json!({
        "event_name": their_name(destination, event, META_NAMES),
        "event_time": at / 1000,
        // The same id the browser pixel would send: Meta keeps one of the two.
        "event_id": event["messageId"],
        "action_source": "website",
        "user_data": user,
        "custom_data": custom,
    });
    if let Some(url) = context["page"]["url"].as_str().filter(|u| !u.is_empty()) {
        server_event["event_source_url"] = url.into();
    }
    let mut body = json!({"data": [server_event], "access_token": secret});
    if let Some(code) = pixel.test_event_code {
        body["test_event_code"] = code.into();
    }
    let pixel = pixel.id;
    Shaped::Send(Outgoing {
        url: format!(
            "{}/{META_GRAPH_VERSION}/{pixel}/events",
            base(destination, "https://graph.facebook.com")
        ),
        headers: vec![
            ("content-type", "application/json".into()),
            idempotency(event),
        ],
        body: body.to_string(),
    })
}
