//! The generic signed webhook: the event as is, Standard Webhooks headers.

use serde_json::Value;

use super::{idempotency, Outgoing, Shaped};
use crate::destination::Destination;

pub fn webhook(
    destination: &Destination,
    event: &Value,
    secret: &str,
    now_ms: i64,
) -> Result<Shaped, String> {
    let id = event["messageId"].as_str().unwrap_or_default();
    let body = event.to_string();
    let timestamp = (now_ms / 1000).to_string();
    let signature = crate::tokens::sign_webhook(secret, id, &timestamp, &body)?;
    Ok(Shaped::Send(Outgoing {
        url: destination.url.clone().unwrap_or_default(),
        headers: vec![
            ("content-type", "application/json".into()),
            ("webhook-id", id.into()),
            ("webhook-timestamp", timestamp),
            ("webhook-signature", signature),
            idempotency(event),
        ],
        body,
    }))
}
