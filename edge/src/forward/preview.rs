//! A journey step's message as its destination would receive it, for the
//! studio: the payload preview (the request the channel builds, its secrets
//! hidden) and the test send (the message put on the forwarding queue for the
//! site's test destination, addressed to nobody real).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};

use super::channels::{self, Contact, Shaped};
use crate::destination::{Destination, ForwardMessage};

/// Who a preview is addressed to: never the person's own address or number.
fn sample_contact() -> Contact {
    Contact {
        user_id: Some("sample-user".into()),
        email: Some("sample@example.com".into()),
        phone: Some("+15555550100".into()),
        phone_verified: true,
        email_verified: true,
        suppressed: false,
    }
}

/// Headers whose values are shown; every other value (signatures, keys) is hidden.
const SHOWN_HEADERS: &[&str] = &["content-type", "idempotency-key", "webhook-id", "revision"];

/// The request `destination` would take for `event` (`null` when the site
/// has no such destination): url, headers with secrets hidden, and the body
/// (parsed when it is JSON), or why the channel would not send it.
pub fn payload(destination: Option<&Destination>, event: &Value, now_ms: i64) -> Value {
    let Some(destination) = destination else {
        return Value::Null;
    };
    // A well-formed stand-in: the preview never reads the real credential.
    let secret = format!("whsec_{}", STANDARD.encode([0u8; 32]));
    match channels::shape(destination, event, &sample_contact(), &secret, now_ms) {
        Ok(Shaped::Send(out)) => {
            let headers: Vec<Value> = out
                .headers
                .iter()
                .map(|(name, value)| {
                    let shown = SHOWN_HEADERS.contains(name);
                    json!({"name": name, "value": if shown { value.as_str() } else { "(hidden)" }})
                })
                .collect();
            let body = serde_json::from_str::<Value>(&out.body).unwrap_or(Value::String(out.body));
            // Only where it goes: a webhook's path and query may carry its
            // token (Slack's, Discord's), as Meta's url carries one.
            let url = url::Url::parse(&out.url)
                .ok()
                .and_then(|u| Some(format!("{}://{}/…", u.scheme(), u.host_str()?)))
                .unwrap_or_else(|| "(hidden)".into());
            json!({"url": url, "headers": headers, "body": body})
        }
        Ok(Shaped::NotApplicable(why)) => json!({"not_applicable": why}),
        Err(problem) => json!({"problem": problem}),
    }
}

/// The queue message of a test send: the event, its ids replaced so no
/// channel addresses the person it was built for, to the test destination.
pub fn test_message(site: &str, destination: &Destination, event: &Value) -> ForwardMessage {
    let mut event = event.clone();
    let key = event["messageId"].as_str().unwrap_or("test").to_owned();
    event["anonymousId"] = json!(format!("test-{}", key.replace('/', "-")));
    event["userId"] = Value::Null;
    ForwardMessage {
        site: site.to_owned(),
        destination: destination.clone(),
        event,
        person: None,
        // Recorded at the site's home: a test browser has no person.
        object: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> Value {
        json!({"type": "track", "event": "Cart Abandoned", "messageId": "test/p1/cart/1/2",
               "anonymousId": "a-real-browser", "userId": "u-real", "timestamp": "2026-12-07T00:00:00Z",
               "properties": {"journey": "cart", "test": true}, "context": {"test": true}})
    }

    #[test]
    fn a_webhook_preview_is_the_event_with_its_signature_hidden() {
        let hook = json!({"id": "email", "kind": "webhook", "url": "https://hooks.example/T1/SECRET?token=SECRET"});
        let hook = serde_json::from_value(hook).unwrap();
        let preview = payload(Some(&hook), &event(), 1_800_000_000_000);
        assert_eq!(preview["url"], "https://hooks.example/…");
        assert_eq!(preview["body"]["event"], "Cart Abandoned");
        let headers = preview["headers"].as_array().unwrap();
        let value =
            |name: &str| headers.iter().find(|h| h["name"] == name).unwrap()["value"].clone();
        assert_eq!(value("content-type"), "application/json");
        assert_eq!(value("webhook-signature"), "(hidden)");
        assert!(!preview.to_string().contains("SECRET"));
        assert_eq!(payload(None, &event(), 0), Value::Null);
    }

    #[test]
    fn a_klaviyo_preview_addresses_the_sample_never_the_person() {
        let klaviyo = json!({"id": "k", "kind": "klaviyo"});
        let klaviyo = serde_json::from_value(klaviyo).unwrap();
        let preview = payload(Some(&klaviyo), &event(), 1_800_000_000_000);
        let text = preview.to_string();
        assert!(text.contains("sample@example.com"), "{text}");
        let auth = preview["headers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["name"] == "authorization");
        assert!(auth.is_none_or(|h| h["value"] == "(hidden)"));
    }

    #[test]
    fn a_test_send_goes_to_the_marked_destination_addressed_to_nobody_real() {
        let doc = json!({"destinations": [{"id": "email", "kind": "webhook"}, {"id": "inbox", "kind": "webhook", "test": true}]});
        let doc = crate::destination::Destinations::read(&doc.to_string()).unwrap();
        let test = doc.test().unwrap();
        assert_eq!(test.id, "inbox");
        let message = test_message("demo", test, &event()).value();
        assert_eq!(message["destination"]["id"], "inbox");
        assert_eq!(message["person"], Value::Null);
        assert_eq!(message["event"]["userId"], Value::Null);
        assert_eq!(message["event"]["anonymousId"], "test-test-p1-cart-1-2");
        assert_eq!(message["event"]["context"]["test"], true);
        let none = json!({"destinations": [{"id": "email", "kind": "webhook"}]});
        let none = crate::destination::Destinations::read(&none.to_string()).unwrap();
        assert!(none.test().is_none());
    }
}
