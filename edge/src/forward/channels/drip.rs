//! Drip: v2 events and subscribers, keyed by email.

use serde_json::{json, Value};

use super::{base, basic, idempotency, their_name, Outgoing, Shaped};
use crate::destination::Destination;
use crate::store::protocol::Contact;
use crate::wire::WireEvent;
use nudge_core::event::names;

/// Drip's conventional action names.
const DRIP_NAMES: &[(&str, &str)] = &[
    (names::PAGE_VIEWED, "Viewed a page"),
    ("Product Viewed", "Viewed a product"),
    ("Product Added", "Added a product to cart"),
    ("Checkout Started", "Started checkout"),
    ("Order Completed", "Placed an order"),
    ("Signed Up", "Signed up"),
];

pub fn drip(
    destination: &Destination,
    account: &str,
    event: &Value,
    contact: &Contact,
    secret: &str,
) -> Shaped {
    // Drip keys every person by email.
    let Some(email) = &contact.email else {
        return Shaped::NotApplicable("Drip needs the person's email, which is not known".into());
    };
    let base = base(destination, "https://api.getdrip.com");
    let (url, body) = if WireEvent(event).call() == "identify" {
        let mut subscriber = json!({"email": email});
        if let Some(user) = &contact.user_id {
            subscriber["user_id"] = user.as_str().into();
        }
        if let Some(phone) = &contact.phone {
            subscriber["phone"] = phone.as_str().into();
        }
        for field in ["first_name", "last_name"] {
            if let Some(v) = event["traits"][field].as_str() {
                subscriber[field] = v.into();
            }
        }
        (
            format!("{base}/v2/{account}/subscribers"),
            json!({"subscribers": [subscriber]}),
        )
    } else {
        (
            format!("{base}/v2/{account}/events"),
            json!({"events": [{
                "email": email,
                "action": their_name(destination, event, DRIP_NAMES),
                "properties": event["properties"],
                "occurred_at": event["timestamp"],
            }]}),
        )
    };
    Shaped::Send(Outgoing {
        url,
        headers: vec![
            ("content-type", "application/json".into()),
            ("authorization", basic(secret, "")),
            idempotency(event),
        ],
        body: body.to_string(),
    })
}
