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

use std::collections::BTreeMap;

use futures_util::StreamExt;

use serde::Deserialize;
use serde_json::Value;
use worker::{
    Env, Headers, Message, MessageBatch, MessageExt, Method, QueueRetryOptionsBuilder, Request,
    RequestInit, Result,
};

use crate::destination::{Channel, Destination, Destinations, ForwardMessage, Purpose};
use crate::store::protocol::{
    DeadLetter, Delivered, Deliveries, DeliveryCheck, DeliveryVerdict, Outcomes, SmsBudget,
};
use channels::{Contact, Shaped};

/// How long a destination may take to answer before the attempt counts as failed.
const TIMEOUT: Duration = Duration::from_secs(8);
const MAX_RETRY_DELAY_S: u32 = 300;
/// Deliveries of a queue batch in flight at once (below the runtime's six
/// connections per invocation).
const CONCURRENT_SENDS: usize = 5;

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
    let Some((document, left_out)) = Destinations::read_reporting(&text) else {
        // Validated when stored: only a hand-edited KV value gets here.
        worker::console_error!("forward: the destinations of {site} do not read; nothing queued");
        return Ok(());
    };
    if !left_out.is_empty() {
        worker::console_error!("forward: {site}: destinations left out: {left_out:?}");
    }
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
                crate::store::call(env, site, &DeadLetter { reason, message }).await?;
                continue;
            }
            messages.push(text);
        }
    }
    send(env, &messages).await
}

/// Puts messages on the forwarding queue, in sends within the platform's
/// limits (100 messages and 256 KB each).
pub async fn send(env: &Env, messages: &[String]) -> Result<()> {
    send_to(env, "FORWARD", messages).await
}

/// Puts messages on the queue bound as `binding`, in sends within the
/// platform's limits.
pub async fn send_to(env: &Env, binding: &str, messages: &[String]) -> Result<()> {
    let queue = env.queue(binding)?;
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

/// The queue consumer (forwarding queue and its dead-letter queue). A batch
/// costs each of its sites two store calls, not two per message: one for
/// every delivery's verdict, one for every outcome; the sends in between go
/// out concurrently.
pub async fn consume(batch: MessageBatch<String>, env: Env) -> Result<()> {
    let dead_letter_queue = batch.queue().ends_with("-dlq");
    let mut by_site: BTreeMap<String, Vec<(Message<String>, ForwardMessage)>> = BTreeMap::new();
    for message in batch.messages()? {
        match read(&message) {
            Read::Forward(forward) => by_site
                .entry(forward.site.clone())
                .or_default()
                .push((message, *forward)),
            Read::Misfiled { site, letter } => {
                // Filed again with why, never dropped; retried if the store fails.
                match crate::store::call(&env, &site, &letter).await {
                    Ok(()) => message.ack(),
                    Err(error) => retry_soon(&message, &error.into()),
                }
            }
            Read::Unreadable => message.ack(),
        }
    }
    for (site, group) in by_site {
        // One site's trouble (its store unreachable, say) retries that
        // site's messages only; on the dead-letter queue too, so none is lost there.
        if let Err(error) = forward_site(&env, &site, &group, dead_letter_queue).await {
            for (message, _) in &group {
                retry_soon(message, &error);
            }
        }
    }
    Ok(())
}

/// Retries `message` after as many seconds as it is old, within
/// `min..=max` (so the delays about double); the delay chosen.
pub fn retry_by_age(message: &Message<String>, min: u32, max: u32) -> u32 {
    let age_ms = worker::Date::now()
        .as_millis()
        .saturating_sub(message.timestamp().as_millis());
    let delay = ((age_ms / 1000).min(u64::from(u32::MAX)) as u32).clamp(min, max);
    message.retry_with_options(
        &QueueRetryOptionsBuilder::new()
            .with_delay_seconds(delay)
            .build(),
    );
    delay
}

fn retry_soon(message: &Message<String>, error: &worker::Error) {
    worker::console_error!("forward: message {}: {error}; retrying", message.id());
    message.retry_with_options(
        &QueueRetryOptionsBuilder::new()
            .with_delay_seconds(30)
            .build(),
    );
}

/// A queue message, read.
enum Read {
    Forward(Box<ForwardMessage>),
    /// JSON naming a site but not a deliverable message (a replayed dead
    /// letter whose destination was gone): its letter, to file again.
    Misfiled {
        site: String,
        letter: DeadLetter,
    },
    /// Not JSON, or naming no site: nothing to deliver, nowhere to file it
    /// (only this Worker enqueues, so this is never expected).
    Unreadable,
}

fn read(message: &Message<String>) -> Read {
    let Ok(value) = serde_json::from_str::<Value>(message.body()) else {
        worker::console_error!("forward: unreadable message {}", message.id());
        return Read::Unreadable;
    };
    match ForwardMessage::deserialize(&value) {
        Ok(forward) => Read::Forward(Box::new(forward)),
        Err(e) => match value["site"].as_str() {
            Some(site) => Read::Misfiled {
                site: site.to_owned(),
                letter: DeadLetter {
                    reason: format!("not a deliverable message: {e}"),
                    message: value,
                },
            },
            None => {
                worker::console_error!("forward: message {} names no site", message.id());
                Read::Unreadable
            }
        },
    }
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

/// Forwards one site's messages of a batch: their verdicts in one store
/// call, the sends concurrently, their outcomes in one store call, then each
/// message acknowledged or retried.
async fn forward_site(
    env: &Env,
    site: &str,
    group: &[(Message<String>, ForwardMessage)],
    dead_letter_queue: bool,
) -> Result<()> {
    let letter = |forward: &ForwardMessage, reason: String| DeadLetter {
        reason,
        message: forward.value(),
    };
    if dead_letter_queue {
        // Out of retries: kept for inspection and replay.
        let dead_letters = group
            .iter()
            .map(|(_, forward)| letter(forward, "retries exhausted".into()))
            .collect();
        let outcomes = Outcomes {
            delivered: Vec::new(),
            dead_letters,
        };
        crate::store::call(env, site, &outcomes).await?;
        group.iter().for_each(|(message, _)| message.ack());
        return Ok(());
    }
    // One call answers for each: already delivered? who is this browser (for
    // channels that address people)? and, for SMS, claims it within the budgets.
    let checks = group.iter().map(|(_, forward)| check_of(forward)).collect();
    let verdicts = crate::store::call(env, site, &Deliveries { checks }).await?;
    if verdicts.len() != group.len() {
        return Err(worker::Error::RustError(
            "the store answered a different number of verdicts".into(),
        ));
    }
    let attempts = group
        .iter()
        .zip(verdicts)
        .map(|((_, forward), verdict)| attempt(env, site, forward, verdict));
    // At most `CONCURRENT_SENDS` at once: a Worker holds 6 connections, and
    // a send waiting for one would spend its 8 s timeout in the wait (an
    // SMS timed out that way is filed as failed while it may still leave).
    let settled: Vec<Settled> = futures_util::stream::iter(attempts)
        .buffered(CONCURRENT_SENDS)
        .collect()
        .await;
    let mut outcomes = Outcomes::default();
    for ((_, forward), settled) in group.iter().zip(&settled) {
        let sms = sms_budget(&forward.destination).is_some();
        let done = || Delivered {
            destination: forward.destination.id.clone(),
            event_id: forward.event_id().to_owned(),
        };
        match settled {
            Settled::Ack => {}
            // Recorded like a delivery when it does not apply: a redelivered
            // message is not weighed again.
            Settled::Attempted(Attempt::Delivered | Attempt::NotApplicable(_)) => {
                outcomes.delivered.push(done())
            }
            // Claimed already: an SMS is never sent twice, so a failure is
            // filed, and its claim confirmed (its outcome is known: this).
            Settled::Attempted(Attempt::Retry(reason)) if sms => {
                let reason = format!("SMS not retried: {reason}");
                outcomes.dead_letters.push(letter(forward, reason));
                outcomes.delivered.push(done());
            }
            Settled::Attempted(Attempt::Retry(_)) => {}
            Settled::Attempted(Attempt::Refused(reason)) => {
                outcomes.dead_letters.push(letter(forward, reason.clone()));
                if sms {
                    outcomes.delivered.push(done());
                }
            }
        }
    }
    if !outcomes.delivered.is_empty() || !outcomes.dead_letters.is_empty() {
        crate::store::call(env, site, &outcomes).await?;
    }
    for ((message, forward), settled) in group.iter().zip(settled) {
        let what = format!(
            "forward {} to {}",
            forward.event_id(),
            forward.destination.id
        );
        match settled {
            Settled::Attempted(Attempt::Retry(reason))
                if sms_budget(&forward.destination).is_none() =>
            {
                // Delays grow with the message's age: about 1, 2, 4, 8 ... s, at most 5 min.
                let delay = retry_by_age(message, 1, MAX_RETRY_DELAY_S);
                worker::console_log!("{what}: {reason}; retry in {delay} s");
            }
            Settled::Attempted(Attempt::NotApplicable(why)) => {
                worker::console_log!("{what}: not applicable: {why}");
                message.ack();
            }
            _ => message.ack(),
        }
    }
    Ok(())
}

/// How one message of a batch settled before its outcome is recorded.
enum Settled {
    /// Nothing to send: done already, or skipped (the store recorded why).
    Ack,
    Attempted(Attempt),
}

/// Sends `forward` if its verdict says so.
async fn attempt(
    env: &Env,
    site: &str,
    forward: &ForwardMessage,
    verdict: DeliveryVerdict,
) -> Settled {
    match verdict {
        DeliveryVerdict::AlreadyDone => Settled::Ack,
        DeliveryVerdict::Skip { reason } => {
            let id = forward.event_id();
            worker::console_log!(
                "forward {id} to {}: skipped: {reason}",
                forward.destination.id
            );
            Settled::Ack
        }
        DeliveryVerdict::Send { contact } => {
            match deliver(env, site, &forward.destination, &forward.event, &contact).await {
                Ok(attempt) => Settled::Attempted(attempt),
                Err(e) => Settled::Attempted(Attempt::Retry(e.to_string())),
            }
        }
    }
}

/// What the store checks before `forward` is sent.
fn check_of(forward: &ForwardMessage) -> DeliveryCheck {
    let event = &forward.event;
    DeliveryCheck {
        destination: forward.destination.id.clone(),
        event_id: forward.event_id().to_owned(),
        anonymous_id: (forward.destination.channel != Channel::Webhook)
            .then(|| event["anonymousId"].as_str().map(str::to_owned))
            .flatten(),
        // A journey's send names its person (`store::journeys::outbox`).
        person: forward.person.clone(),
        purpose: event["context"]["journey"]["purpose"]
            .as_str()
            .map(str::to_owned),
        claim: sms_budget(&forward.destination),
    }
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
