//! Klaviyo: the Events API, and identify as a profile import.

use serde_json::{json, Map, Value};

use super::{base, idempotency, their_name, value_of, Outgoing, Shaped, KLAVIYO_REVISION};
use crate::destination::Destination;
use crate::store::protocol::Contact;
use crate::wire::WireEvent;
use nudge_core::event::names;

/// Klaviyo's names for the e-commerce events its flows are built on.
const KLAVIYO_NAMES: &[(&str, &str)] = &[
    (names::PAGE_VIEWED, "Viewed Page"),
    ("Product Viewed", "Viewed Product"),
    ("Product Added", "Added to Cart"),
    ("Checkout Started", "Started Checkout"),
    ("Order Completed", "Placed Order"),
];

pub fn klaviyo(
    destination: &Destination,
    event: &Value,
    contact: &Contact,
    secret: &str,
) -> Shaped {
    let mut profile = Map::new();
    if let Some(email) = &contact.email {
        profile.insert("email".into(), email.as_str().into());
    }
    if let Some(phone) = &contact.phone {
        profile.insert("phone_number".into(), phone.as_str().into());
    }
    if let Some(user) = &contact.user_id {
        profile.insert("external_id".into(), user.as_str().into());
    }
    // Klaviyo's own onsite id: events before an email is known still build
    // the profile it later merges.
    profile.insert("anonymous_id".into(), event["anonymousId"].clone());
    let base = base(destination, "https://a.klaviyo.com");
    let (url, body) = if WireEvent(event).call() == "identify" {
        for (ours, theirs) in [("first_name", "first_name"), ("last_name", "last_name")] {
            if let Some(v) = event["traits"][ours].as_str() {
                profile.insert(theirs.into(), v.into());
            }
        }
        (
            format!("{base}/api/profile-import"),
            json!({"data": {"type": "profile", "attributes": profile}}),
        )
    } else {
        let props = &event["properties"];
        let mut attributes = json!({
            "properties": props,
            "time": event["timestamp"],
            "unique_id": event["messageId"],
            "metric": {"data": {"type": "metric", "attributes": {"name": their_name(destination, event, KLAVIYO_NAMES)}}},
            "profile": {"data": {"type": "profile", "attributes": profile}},
        });
        if let Some(value) = value_of(event) {
            attributes["value"] = json!(value);
            if let Some(currency) = props["currency"].as_str() {
                attributes["value_currency"] = currency.into();
            }
        }
        (
            format!("{base}/api/events"),
            json!({"data": {"type": "event", "attributes": attributes}}),
        )
    };
    Shaped::Send(Outgoing {
        url,
        headers: vec![
            ("content-type", "application/vnd.api+json".into()),
            ("accept", "application/vnd.api+json".into()),
            ("revision", KLAVIYO_REVISION.into()),
            ("authorization", format!("Klaviyo-API-Key {secret}")),
            idempotency(event),
        ],
        body: body.to_string(),
    })
}
