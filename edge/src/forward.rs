//! Forwarding collected events to a site's offsite destinations through a
//! Queue, with retries and no loss.
//!
//! - `PUT /v1/admin/sites/{site}/destinations` stores the list (validated; secrets
//!   are named, never included: each destination signs with a Worker secret).
//! - `/v1/events` enqueues one message per (event, matching destination) after
//!   the batch is stored, whether or not the event was new: a retried batch is
//!   re-enqueued, and the consumer skips what was already delivered.
//! - The consumer delivers a signed request (Standard Webhooks headers, the event
//!   id as `webhook-id` and `idempotency-key`). 2xx: delivered (recorded in the
//!   site's store, so a redelivered message is not sent twice). 408, 429, 5xx,
//!   network errors and timeouts: retried with growing delays. Other 4xx: the
//!   receiver refused it and repeating cannot help, so it goes to the dead letters
//!   at once. Messages out of retries reach the dead-letter queue too.
//! - Dead letters are kept in the site's store: `GET /v1/admin/sites/{site}/dead-letters`
//!   lists them, `POST .../dead-letters/replay` sends them again.
//!
//! Kinds: `webhook` (generic, signed), `klaviyo`, `drip`, `twilio` and `meta`;
//! what each one's API expects is in `channels.rs`. Channels that address a
//! person get the contact details on record for the event's browser.

use std::time::Duration;

use serde_json::{json, Value};
use worker::{
    Env, Headers, Message, MessageBatch, MessageExt, Method, QueueRetryOptionsBuilder, Request,
    RequestInit, Response, Result,
};

use crate::channels::{self, Contact, Shaped, KINDS};
use crate::http::json_response;
use crate::identity_api::site_store;

const CONSENT: &[&str] = &["none", "analytics", "marketing"];
/// How long a destination may take to answer before the attempt counts as failed.
const TIMEOUT: Duration = Duration::from_secs(8);
const MAX_RETRY_DELAY_S: u32 = 300;

fn key(site: &str) -> String {
    format!("destinations:{site}")
}

/// Every problem in a destinations document, with its path.
fn validate(value: &Value) -> Vec<nudge_core::Diagnostic> {
    use nudge_core::Diagnostic as D;
    let mut problems = Vec::new();
    let Some(list) = value["destinations"].as_array() else {
        return vec![D::error("destinations", "is required (an array)")];
    };
    let mut ids = Vec::new();
    for (i, d) in list.iter().enumerate() {
        let at = |field: &str| format!("destinations[{i}].{field}");
        match d["id"].as_str() {
            Some(id) if crate::http::is_site_key(id) && !ids.contains(&id) => ids.push(id),
            Some(id) if ids.contains(&id) => {
                problems.push(D::error(at("id"), format!("duplicate id {id:?}")))
            }
            _ => problems.push(D::error(
                at("id"),
                "must be 1-64 characters of a-z, 0-9, - and _",
            )),
        }
        match d["kind"].as_str() {
            Some(kind) if KINDS.contains(&kind) => {}
            Some(kind) => problems.push(D::error(
                at("kind"),
                format!(
                    "{kind:?} is not supported yet (supported: {})",
                    KINDS.join(", ")
                ),
            )),
            None => problems.push(D::error(at("kind"), "is required")),
        }
        let events_ok = d["events"]
            .as_array()
            .is_some_and(|e| !e.is_empty() && e.iter().all(Value::is_string));
        if !events_ok {
            problems.push(D::error(
                at("events"),
                "must be a non-empty array of event names (\"*\" for all)",
            ));
        }
        if !d["consent"].as_str().is_some_and(|c| CONSENT.contains(&c)) {
            problems.push(D::error(
                at("consent"),
                format!("must be one of {}", CONSENT.join(", ")),
            ));
        }
        let secret_ok = d["secret"].as_str().is_some_and(|s| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        });
        if !secret_ok {
            problems.push(D::error(
                at("secret"),
                "must name a Worker secret (A-Z, 0-9, _), never hold the secret itself",
            ));
        }
        problems.extend(channels::validate_kind(i, d));
    }
    problems
}

/// `PUT /v1/admin/sites/{site}/destinations`.
pub async fn put(req: Request, env: &Env) -> Result<Response> {
    crate::http::put_site_document(
        req,
        env,
        "destinations",
        "invalid_destinations",
        key,
        |text| {
            let value: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
            Ok(validate(&value))
        },
    )
    .await
}

/// Whether `destination` wants `event` and the visitor agreed to its purpose.
fn wants(destination: &Value, event: &Value) -> bool {
    let name = channels::event_name(event);
    let listed = destination["events"]
        .as_array()
        .is_some_and(|e| e.iter().any(|n| n == "*" || n == name));
    let consent = &event["context"]["consent"];
    let allowed = match destination["consent"].as_str().unwrap_or("marketing") {
        "none" => true,
        "analytics" => consent["analytics"] != Value::Bool(false),
        _ => consent["marketing"] == Value::Bool(true),
    };
    listed && allowed
}

/// Queues delivery of `events` (wire JSON) to each destination that wants them.
pub async fn enqueue(env: &Env, site: &str, events: &[Value]) -> Result<()> {
    let Some(text) = crate::http::cached_kv(env, &key(site)).await? else {
        return Ok(());
    };
    let config: Value = serde_json::from_str(&text)?;
    let mut messages = Vec::new();
    for destination in config["destinations"].as_array().into_iter().flatten() {
        for event in events.iter().filter(|e| wants(destination, e)) {
            // As JSON text: the message survives the queue byte for byte.
            messages.push(
                json!({"site": site, "destination": destination, "event": event}).to_string(),
            );
        }
    }
    send(env, &messages).await
}

/// Puts messages on the forwarding queue, at most 100 per send (the Queues limit).
async fn send(env: &Env, messages: &[String]) -> Result<()> {
    for chunk in messages.chunks(100) {
        env.queue("FORWARD")?
            .send_batch::<String, _>(chunk.to_vec())
            .await?;
    }
    Ok(())
}

/// Outcome of one delivery attempt.
enum Attempt {
    Delivered,
    /// The channel has nothing to do with this event (see `channels::Shaped`).
    NotApplicable(String),
    Retry(String),
    Refused(String),
}

/// One attempt to deliver `event` to `destination`.
async fn deliver(
    env: &Env,
    destination: &Value,
    event: &Value,
    contact: &Contact,
) -> Result<Attempt> {
    let secret_name = destination["secret"].as_str().unwrap_or_default();
    let Ok(secret) = env.secret(secret_name) else {
        return Ok(Attempt::Refused(format!(
            "Worker secret {secret_name} is missing"
        )));
    };
    let now_ms = worker::Date::now().as_millis() as i64;
    let outgoing = match channels::shape(destination, event, contact, &secret.to_string(), now_ms) {
        Ok(Shaped::Send(outgoing)) => outgoing,
        Ok(Shaped::NotApplicable(why)) => return Ok(Attempt::NotApplicable(why)),
        Err(problem) => return Ok(Attempt::Refused(problem)),
    };
    let headers = Headers::new();
    for (name, value) in &outgoing.headers {
        headers.set(name, value)?;
    }
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
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

/// The queue consumer.
pub async fn consume(batch: MessageBatch<String>, env: Env) -> Result<()> {
    let dead_letter_queue = batch.queue().ends_with("-dlq");
    for message in batch.messages()? {
        // One message's trouble (the store unreachable, say) retries that message only.
        if let Err(error) = handle(&message, &env, dead_letter_queue).await {
            worker::console_error!("forward: message {}: {error}; retrying", message.id());
            message.retry();
        }
    }
    Ok(())
}

async fn handle(message: &Message<String>, env: &Env, dead_letter_queue: bool) -> Result<()> {
    let Ok(body) = serde_json::from_str::<Value>(message.body()) else {
        // Only this Worker enqueues, always JSON: nothing to deliver, nowhere to file it.
        worker::console_error!("forward: unreadable message {}", message.id());
        message.ack();
        return Ok(());
    };
    let body = &body;
    let site = body["site"].as_str().unwrap_or_default().to_owned();
    let destination = &body["destination"];
    let event = &body["event"];
    let delivery = json!({"destination": destination["id"], "event_id": event["messageId"]});
    if dead_letter_queue {
        // Out of retries: keep it for inspection and replay.
        let letter = json!({"message": body, "reason": "retries exhausted"});
        site_store(env, &site, "/dead-letter", Some(&letter)).await?;
        message.ack();
        return Ok(());
    }
    // One call answers both: already delivered? and, for channels that address
    // people (all but the generic webhook), who is this browser?
    let addressed = destination["kind"] != "webhook";
    let anonymous_id = if addressed {
        &event["anonymousId"]
    } else {
        &Value::Null
    };
    let check = json!({"check": delivery, "anonymous_id": anonymous_id});
    let known = site_store(env, &site, "/delivery", Some(&check)).await?;
    if known["delivered"] == true {
        message.ack();
        return Ok(());
    }
    let text = |field: &str| known["contact"][field].as_str().map(str::to_owned);
    let contact = Contact {
        user_id: text("user_id"),
        email: text("email"),
        phone: text("phone"),
        unsubscribed: known["contact"]["unsubscribed"] == true,
    };
    match deliver(env, destination, event, &contact).await? {
        Attempt::Delivered => {
            site_store(env, &site, "/delivery", Some(&json!({"record": delivery}))).await?;
            message.ack();
        }
        Attempt::NotApplicable(why) => {
            // Recorded like a delivery: a redelivered message is not weighed again.
            site_store(env, &site, "/delivery", Some(&json!({"record": delivery}))).await?;
            worker::console_log!(
                "forward {} to {}: not applicable: {why}",
                event["messageId"],
                destination["id"]
            );
            message.ack();
        }
        Attempt::Retry(reason) => {
            // Delays grow with the message's age: about 1, 2, 4, 8 ... s, at most 5 min.
            let age_ms = worker::Date::now()
                .as_millis()
                .saturating_sub(message.timestamp().as_millis());
            let delay = ((age_ms / 1000) as u32).clamp(1, MAX_RETRY_DELAY_S);
            worker::console_log!(
                "forward {} to {}: {reason}; retry in {delay} s",
                event["messageId"],
                destination["id"]
            );
            message.retry_with_options(
                &QueueRetryOptionsBuilder::new()
                    .with_delay_seconds(delay)
                    .build(),
            );
        }
        Attempt::Refused(reason) => {
            let letter = json!({"message": body, "reason": reason});
            site_store(env, &site, "/dead-letter", Some(&letter)).await?;
            message.ack();
        }
    }
    Ok(())
}

/// `GET /v1/admin/sites/{site}/dead-letters`.
pub async fn dead_letters(req: Request, env: &Env) -> Result<Response> {
    let site = match crate::http::admin_site(&req, env, "dead-letters")? {
        Ok(site) => site,
        Err(refusal) => return refusal.into_response(),
    };
    json_response(
        200,
        &site_store(env, &site, "/dead-letters", Some(&json!({}))).await?,
    )
}

/// `POST /v1/admin/sites/{site}/dead-letters/replay`: sends every dead letter again.
pub async fn replay(req: Request, env: &Env) -> Result<Response> {
    let site = match crate::http::admin_site(&req, env, "dead-letters/replay")? {
        Ok(site) => site,
        Err(refusal) => return refusal.into_response(),
    };
    let taken = site_store(env, &site, "/dead-letters", Some(&json!({"take": true}))).await?;
    let messages: Vec<String> = taken["letters"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| l["message"].to_string())
        .collect();
    send(env, &messages).await?;
    json_response(200, &json!({"replayed": messages.len()}))
}
