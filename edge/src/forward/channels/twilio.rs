//! Twilio: one SMS per configured event, to the verified number on record.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{base, basic, idempotency, setting_for, Outgoing, Shaped};
use crate::destination::Destination;
use crate::store::protocol::Contact;

/// A Twilio destination's account, sender and texts.
pub struct Sender<'a> {
    pub account: &'a str,
    /// An E.164 number, or a Messaging Service SID (MG...).
    pub from: &'a str,
    pub messages: &'a BTreeMap<String, String>,
}

pub fn twilio(
    destination: &Destination,
    sender: Sender<'_>,
    event: &Value,
    contact: &Contact,
    secret: &str,
) -> Shaped {
    let Sender {
        account,
        from,
        messages,
    } = sender;
    let Some(template) = setting_for(messages, event) else {
        return Shaped::NotApplicable("no message is configured for this event".into());
    };
    // The store claims SMS only for verified numbers; checked again here so
    // this function alone never addresses an unverified one.
    if !contact.phone_verified {
        return Shaped::NotApplicable("no verified phone number is on record".into());
    }
    // Email tools and ad platforms keep their own unsubscribe lists and still
    // get the events; a text message is ours to withhold.
    if contact.suppressed {
        return Shaped::NotApplicable("the person's address is on the suppression list".into());
    }
    let Some(phone) = contact
        .phone
        .as_deref()
        .and_then(|p| nudge_core::capture::normalize_phone(p).ok())
    else {
        return Shaped::NotApplicable("no valid phone number is known for the person".into());
    };
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("To", &phone);
    // A Messaging Service SID (MG...) picks the sender itself.
    form.append_pair(
        if from.starts_with("MG") {
            "MessagingServiceSid"
        } else {
            "From"
        },
        from,
    );
    form.append_pair("Body", &fill(template, event));
    Shaped::Send(Outgoing {
        url: format!(
            "{}/2010-04-01/Accounts/{account}/Messages.json",
            base(destination, "https://api.twilio.com")
        ),
        headers: vec![
            ("content-type", "application/x-www-form-urlencoded".into()),
            ("authorization", basic(account, secret)),
            idempotency(event),
        ],
        body: form.finish(),
    })
}

/// An SMS text with `{{properties.order_id}}`-style fields from the event
/// (core's campaign templates: a fallback after `|`, plain text out).
fn fill(template: &str, event: &Value) -> String {
    let mut attributes = nudge_core::condition::Attributes::new();
    if let Value::Object(fields) = event {
        for (key, value) in fields {
            if let Ok(value) = serde_json::from_value::<nudge_core::Value>(value.clone()) {
                attributes.insert(key.as_str(), value);
            }
        }
    }
    nudge_core::template::render(template, &|name| {
        nudge_core::template::value_of(&attributes, name)
    })
}
