//! Forwarding collected events to a site's offsite destinations through a
//! Queue, with retries and without loss.
//!
//! - `destinations`: the site's list (validated; credentials sealed, `credentials`).
//! - `channels`: what each destination's API expects (pure).
//! - `/v1/events` enqueues one message per (event, matching destination) after
//!   the batch is stored, whether or not the event was new: a retried batch is
//!   re-enqueued, and the consumer skips what was already delivered. A message
//!   over the queue's size limit is filed as a dead letter at once, with its
//!   reason: never a retry loop, never a 500 after the events were stored.
//! - The consumer asks the site's store first (done already? who is it for?
//!   for SMS: claim it and count it against the daily budgets), then sends.
//!   2xx: recorded. 408, 429, 5xx, network errors and timeouts: retried with
//!   growing delays. Other 4xx: filed as a dead letter at once. Messages out
//!   of retries reach the dead-letter queue, whose consumer files them.
//!
//! Delivery guarantees (see `store::deliveries`): at least once, with an
//! idempotency key, for every channel but SMS; at most once for SMS.

pub mod channels;
pub mod credentials;
pub mod destinations;
pub mod preview;

use std::time::Duration;

use serde_json::Value;
use worker::{
    Env, Headers, Message, MessageBatch, MessageExt, Method, QueueRetryOptionsBuilder, Request,
    RequestInit, Result,
};

use crate::destination::{Channel, Destination, Destinations, ForwardMessage, Purpose};
use crate::store::protocol::{
    Ask, DeadLetter, Delivered, DeliveryCheck, DeliveryVerdict, SmsBudget,
};
use channels::{Contact, Shaped};

/// How long a destination may take to answer before the attempt counts as failed.
const TIMEOUT: Duration = Duration::from_secs(8);
const MAX_RETRY_DELAY_S: u32 = 300;

/// Whether `destination` wants `event` and the visitor agreed to its purpose.
fn wants(destination: &Destination, event: &Value) -> bool {
    let listed = destination
        .events
        .iter()
        .any(|n| n == "*" || channels::names_of(event).any(|name| n == name));
    let consent = &event["context"]["consent"];
    let allowed = match destination.consent {
        Purpose::None => true,
        Purpose::Analytics => consent["analytics"] != Value::Bool(false),
        Purpose::Marketing => consent["marketing"] == Value::Bool(true),
    };
    listed && allowed
}

/// Largest message body put on the queue: the store's (its journeys' outbox
/// keeps within it too).
pub use crate::store::protocol::MAX_MESSAGE_BYTES;
/// Largest `send_batch` (the platform's limits: 100 messages, 256 KB).
const MAX_SEND_MESSAGES: usize = 100;
const MAX_SEND_BYTES: usize = 240 * 1024;

/// Queues delivery of `events` (wire JSON) to each destination that wants them.
pub async fn enqueue(env: &Env, site: &str, events: &[Value]) -> Result<()> {
    let Some(text) = crate::http::cached_kv(env, &destinations::key(site)).await? else {
        return Ok(());
    };
    let Some(document) = Destinations::read(&text) else {
        // Validated when stored: only a hand-edited KV value gets here.
        worker::console_error!("forward: the destinations of {site} do not read; nothing queued");
        return Ok(());
    };
    let mut messages = Vec::new();
    for destination in &document.destinations {
        for event in events.iter().filter(|e| wants(destination, e)) {
            let message = ForwardMessage {
                site: site.to_owned(),
                destination: destination.clone(),
                event: event.clone(),
                person: None,
            };
            let text = message.text();
            if text.len() > MAX_MESSAGE_BYTES {
                let reason = format!(
                    "too large to forward: {} bytes (at most {MAX_MESSAGE_BYTES})",
                    text.len()
                );
                let message = message.value();
                store(env, site, DeadLetter { reason, message }).await?;
                continue;
            }
            messages.push(text);
        }
    }
    send(env, &messages).await
}

fn internal(error: crate::store::protocol::StoreError) -> worker::Error {
    worker::Error::RustError(format!("site store: {error:?}"))
}

/// Puts messages on the forwarding queue, in sends within the platform's
/// limits (100 messages and 256 KB each).
pub async fn send(env: &Env, messages: &[String]) -> Result<()> {
    let queue = env.queue("FORWARD")?;
    let mut chunk: Vec<String> = Vec::new();
    let mut bytes = 0;
    for message in messages {
        if chunk.len() == MAX_SEND_MESSAGES || bytes + message.len() > MAX_SEND_BYTES {
            queue
                .send_batch::<String, _>(std::mem::take(&mut chunk))
                .await?;
            bytes = 0;
        }
        bytes += message.len();
        chunk.push(message.clone());
    }
    if !chunk.is_empty() {
        queue.send_batch::<String, _>(chunk).await?;
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

/// The queue consumer (forwarding queue and its dead-letter queue).
pub async fn consume(batch: MessageBatch<String>, env: Env) -> Result<()> {
    let dead_letter_queue = batch.queue().ends_with("-dlq");
    for message in batch.messages()? {
        // One message's trouble (the store unreachable, say) retries that
        // message only; on the dead-letter queue too, so none is lost there.
        if let Err(error) = handle(&message, &env, dead_letter_queue).await {
            worker::console_error!("forward: message {}: {error}; retrying", message.id());
            message.retry_with_options(
                &QueueRetryOptionsBuilder::new()
                    .with_delay_seconds(30)
                    .build(),
            );
        }
    }
    Ok(())
}

/// The SMS budgets of a Twilio destination (`daily_cap_per_number`, 3 by
/// default; `daily_cap`, 1,000), or none for another channel.
fn sms_budget(destination: &Destination) -> Option<SmsBudget> {
    let Channel::Twilio {
        daily_cap_per_number,
        daily_cap,
        ..
    } = &destination.channel
    else {
        return None;
    };
    let cap =
        |cap: Option<u64>, default: u32| cap.map_or(default, |n| n.min(u64::from(u32::MAX)) as u32);
    Some(SmsBudget {
        per_number_per_day: cap(*daily_cap_per_number, 3),
        per_site_per_day: cap(*daily_cap, 1_000),
    })
}

async fn store<A: Ask>(env: &Env, site: &str, ask: A) -> Result<A::Answer> {
    crate::store::call(env, site, &ask).await.map_err(internal)
}

async fn handle(message: &Message<String>, env: &Env, dead_letter_queue: bool) -> Result<()> {
    let Ok(value) = serde_json::from_str::<Value>(message.body()) else {
        // Only this Worker enqueues, always JSON: nothing to deliver, nowhere to file it.
        worker::console_error!("forward: unreadable message {}", message.id());
        message.ack();
        return Ok(());
    };
    let body = match serde_json::from_value::<ForwardMessage>(value.clone()) {
        Ok(body) => body,
        Err(e) => {
            // A replayed dead letter whose destination was gone, say: filed
            // again with why, never dropped.
            if let Some(site) = value["site"].as_str() {
                let reason = format!("not a deliverable message: {e}");
                store(
                    env,
                    site,
                    DeadLetter {
                        reason,
                        message: value.clone(),
                    },
                )
                .await?;
            } else {
                worker::console_error!("forward: message {} names no site", message.id());
            }
            message.ack();
            return Ok(());
        }
    };
    let site = body.site.as_str();
    let destination = &body.destination;
    let event = &body.event;
    let destination_id = destination.id.clone();
    let event_id = event["messageId"].as_str().unwrap_or_default().to_owned();
    let file = |reason: String| DeadLetter {
        reason,
        message: body.value(),
    };
    if dead_letter_queue {
        // Out of retries: keep it for inspection and replay.
        store(env, site, file("retries exhausted".into())).await?;
        message.ack();
        return Ok(());
    }
    // One call answers: already delivered? who is this browser (for channels
    // that address people)? and, for SMS, claims it within the budgets.
    let claim = sms_budget(destination);
    let sms = claim.is_some();
    let check = DeliveryCheck {
        destination: destination_id.clone(),
        event_id: event_id.clone(),
        anonymous_id: (destination.channel != Channel::Webhook)
            .then(|| event["anonymousId"].as_str().map(str::to_owned))
            .flatten(),
        // A journey's send names its person (`store::journeys::outbox`).
        person: body.person.clone(),
        purpose: event["context"]["journey"]["purpose"]
            .as_str()
            .map(str::to_owned),
        claim,
    };
    let contact = match store(env, site, check).await? {
        DeliveryVerdict::AlreadyDone => {
            message.ack();
            return Ok(());
        }
        DeliveryVerdict::Skip { reason } => {
            worker::console_log!("forward {event_id} to {destination_id}: skipped: {reason}");
            message.ack();
            return Ok(());
        }
        DeliveryVerdict::Send { contact } => contact,
    };
    let done = || Delivered {
        destination: destination_id.clone(),
        event_id: event_id.clone(),
    };
    match deliver(env, site, destination, event, &contact).await? {
        Attempt::Delivered => {
            store(env, site, done()).await?;
            message.ack();
        }
        Attempt::NotApplicable(why) => {
            // Recorded like a delivery: a redelivered message is not weighed again.
            store(env, site, done()).await?;
            worker::console_log!("forward {event_id} to {destination_id}: not applicable: {why}");
            message.ack();
        }
        // Claimed already: an SMS is never sent twice, so a failure is filed.
        Attempt::Retry(reason) if sms => {
            store(env, site, file(format!("SMS not retried: {reason}"))).await?;
            message.ack();
        }
        Attempt::Retry(reason) => {
            // Delays grow with the message's age: about 1, 2, 4, 8 ... s, at most 5 min.
            let age_ms = worker::Date::now()
                .as_millis()
                .saturating_sub(message.timestamp().as_millis());
            let delay = ((age_ms / 1000) as u32).clamp(1, MAX_RETRY_DELAY_S);
            worker::console_log!(
                "forward {event_id} to {destination_id}: {reason}; retry in {delay} s"
            );
            message.retry_with_options(
                &QueueRetryOptionsBuilder::new()
                    .with_delay_seconds(delay)
                    .build(),
            );
        }
        Attempt::Refused(reason) => {
            store(env, site, file(reason)).await?;
            message.ack();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::wants;
    use serde_json::json;

    #[test]
    fn a_destination_selects_events_by_name_by_call_or_all() {
        let page = json!({"type": "page", "context": {"consent": {"marketing": true}}});
        let order = json!({"type": "track", "event": "Order Completed",
                           "context": {"consent": {"marketing": true}}});
        let listing = |events: serde_json::Value| -> crate::destination::Destination {
            serde_json::from_value(json!({"id": "d", "kind": "klaviyo", "events": events})).unwrap()
        };
        assert!(wants(&listing(json!(["page"])), &page));
        assert!(wants(&listing(json!(["Page Viewed"])), &page));
        assert!(!wants(&listing(json!(["page"])), &order));
        assert!(wants(&listing(json!(["Order Completed"])), &order));
        assert!(wants(&listing(json!(["track"])), &order));
        assert!(wants(&listing(json!(["*"])), &order));
        assert!(!wants(&listing(json!([])), &order));
        // Marketing consent is the default purpose.
        let unsure = json!({"type": "page", "context": {}});
        assert!(!wants(&listing(json!(["page"])), &unsure));
    }
}
