//! Forwarding collected events to a site's offsite destinations through a
//! Queue, with retries and without loss.
//!
//! - `destinations`: the site's list (validated; credentials sealed, `credentials`).
//! - `channels`: what each destination's API expects (pure).
//! - `/v1/events` enqueues, per matching destination, one message with the
//!   batch's events it wants (`ForwardBatch`, split where the queue's message
//!   size requires) after the batch is stored, whether or not the events were
//!   new: a retried batch is re-enqueued, and the consumer skips what was
//!   already delivered. An event too large to travel is filed as a dead letter
//!   at once, with its reason: never a retry loop, never a 500 after the
//!   events were stored.
//! - `consume`: the consumer; `deliver`: one event's attempt at one destination.
//! - The consumer asks the site's store first (done already? who is it for?
//!   for SMS: claim it and count it against the daily budgets), then sends.
//!   2xx: recorded. 408, 429, 5xx, network errors and timeouts: retried with
//!   growing delays. Other 4xx: filed as a dead letter at once. Messages out
//!   of retries reach the dead-letter queue, whose consumer files them.
//!
//! Delivery guarantees (see `store::deliveries`): at least once, with an
//! idempotency key, for every channel but SMS; at most once for SMS.

pub mod channels;
mod consume;
pub mod credentials;
mod deliver;
pub mod destinations;
pub mod preview;

use std::collections::BTreeMap;

use serde_json::Value;
use worker::{
    BatchMessageBuilder, BatchSendMessage, Env, MessageBuilder, QueueContentType, Result,
};

use crate::destination::{Destination, Destinations, ForwardBatch, ForwardMessage, Purpose};
use crate::store::protocol::DeadLetter;
pub use consume::{consume, retry_by_age};

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
/// At most this many events per message: a consumer invocation (at most 5
/// messages, `wrangler.toml`) then makes at most 100 sends, well within its
/// subrequests and its time even when every destination times out.
pub const MAX_EVENTS_PER_MESSAGE: usize = 20;
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
    // Each object's events travel apart: their deliveries are recorded
    // where they were stored (`store::shards`).
    let map = crate::store::shard_map(env)?;
    let mut messages = Vec::new();
    for destination in &document.destinations {
        let mut wanted: BTreeMap<u16, Vec<&Value>> = BTreeMap::new();
        for event in events.iter().filter(|e| wants(destination, e)) {
            let object = crate::store::placement::object_of_event(map, event);
            wanted.entry(object).or_default().push(event);
        }
        for (object, wanted) in wanted {
            let (texts, too_large) = batch_messages(site, object, destination, &wanted);
            messages.extend(texts);
            for (message, bytes) in too_large {
                let reason =
                    format!("too large to forward: {bytes} bytes (at most {MAX_MESSAGE_BYTES})");
                let message = message.value();
                crate::store::call(env, site, &DeadLetter { reason, message }).await?;
            }
        }
    }
    send(env, &messages).await
}

/// The queue messages for `events` to `destination`: as few `ForwardBatch`
/// texts as fit in [`MAX_MESSAGE_BYTES`] each, in order; and each event
/// too large to travel even alone, as its own message with its size, to
/// file as a dead letter.
fn batch_messages(
    site: &str,
    object: u16,
    destination: &Destination,
    events: &[&Value],
) -> (Vec<String>, Vec<(ForwardMessage, usize)>) {
    let text_of = |events: Vec<Value>| {
        let batch = ForwardBatch {
            site: site.to_owned(),
            destination: destination.clone(),
            events,
            attempt: 0,
            object,
        };
        serde_json::to_string(&batch).unwrap_or_default()
    };
    // The envelope's size, then each event's text and its comma.
    let envelope = text_of(Vec::new()).len();
    let (mut texts, mut too_large) = (Vec::new(), Vec::new());
    let (mut chunk, mut bytes): (Vec<Value>, usize) = (Vec::new(), envelope);
    for event in events {
        let size = event.to_string().len() + 1;
        if envelope + size > MAX_MESSAGE_BYTES {
            let single = ForwardMessage {
                site: site.to_owned(),
                destination: destination.clone(),
                event: (*event).clone(),
                person: None,
                object,
            };
            too_large.push((single, envelope + size));
            continue;
        }
        if bytes + size > MAX_MESSAGE_BYTES || chunk.len() == MAX_EVENTS_PER_MESSAGE {
            texts.push(text_of(std::mem::take(&mut chunk)));
            bytes = envelope;
        }
        bytes += size;
        chunk.push((*event).clone());
    }
    if !chunk.is_empty() {
        texts.push(text_of(chunk));
    }
    (texts, too_large)
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
                .send_batch(as_text(std::mem::take(&mut chunk)))
                .await?;
            bytes = 0;
        }
        bytes += message.len();
        chunk.push(message.clone());
    }
    if !chunk.is_empty() {
        queue.send_batch(as_text(chunk)).await?;
    }
    Ok(())
}

/// Puts one message on the forwarding queue, delivered in `delay_s` seconds.
pub async fn send_later(env: &Env, message: String, delay_s: u32) -> Result<()> {
    let message = MessageBuilder::new(message)
        .content_type(QueueContentType::Text)
        .delay_seconds(delay_s)
        .build();
    env.queue("FORWARD")?.send(message).await
}

/// Messages sent as text: the queue counts a message's size as sent, and
/// its default (JSON) would send a string escaped, every quote one byte
/// more, past the limits measured here.
fn as_text(messages: Vec<String>) -> BatchSendMessage<String> {
    BatchMessageBuilder::new()
        .messages(messages.into_iter().map(|message| {
            MessageBuilder::new(message)
                .content_type(QueueContentType::Text)
                .build()
        }))
        .build()
}

#[cfg(test)]
mod tests {
    use super::{batch_messages, wants, MAX_MESSAGE_BYTES};
    use crate::destination::{ForwardBatch, ForwardMessage};
    use serde_json::{json, Value};

    #[test]
    fn a_batchs_events_travel_in_as_few_messages_as_fit() {
        let destination: crate::destination::Destination = serde_json::from_value(
            json!({"id": "crm", "kind": "webhook", "url": "https://x.example/h",
                                          "events": ["*"], "consent": "none"}),
        )
        .unwrap();
        let event = |i: usize, pad: usize| {
            json!({"type": "track", "event": "Viewed", "messageId": format!("m{i}"),
                   "anonymousId": "a", "properties": {"pad": "x".repeat(pad)}})
        };
        // Twenty small events: one message, each event once, in order.
        let small: Vec<Value> = (0..20).map(|i| event(i, 10)).collect();
        let refs: Vec<&Value> = small.iter().collect();
        let (texts, too_large) = batch_messages("shop", 0, &destination, &refs);
        assert_eq!((texts.len(), too_large.len()), (1, 0));
        let batch: ForwardBatch = serde_json::from_str(&texts[0]).unwrap();
        let units: Vec<ForwardMessage> = batch.units();
        assert_eq!(units.len(), 20);
        assert_eq!(units[7].event_id(), "m7");
        // More than a message may carry: 20 at most each, nothing lost.
        let many: Vec<Value> = (0..45).map(|i| event(i, 10)).collect();
        let refs: Vec<&Value> = many.iter().collect();
        let (texts, _) = batch_messages("shop", 0, &destination, &refs);
        let sizes: Vec<usize> = texts
            .iter()
            .map(|t| {
                serde_json::from_str::<ForwardBatch>(t)
                    .unwrap()
                    .events
                    .len()
            })
            .collect();
        assert_eq!(sizes, [20, 20, 5]);
        assert!(units
            .iter()
            .all(|u| u.site == "shop" && u.destination.id == "crm"));
        // Large ones: split under the queue's limit, none lost or doubled;
        // one too large even alone is set apart to be filed.
        let mut large: Vec<Value> = (0..10).map(|i| event(i, 30_000)).collect();
        large.insert(4, event(99, MAX_MESSAGE_BYTES));
        let refs: Vec<&Value> = large.iter().collect();
        let (texts, too_large) = batch_messages("shop", 0, &destination, &refs);
        assert!(texts.iter().all(|t| t.len() <= MAX_MESSAGE_BYTES));
        assert!(texts.len() >= 3);
        let ids: Vec<String> = texts
            .iter()
            .flat_map(|t| serde_json::from_str::<ForwardBatch>(t).unwrap().units())
            .map(|u| u.event_id().to_owned())
            .collect();
        let expected: Vec<String> = (0..10).map(|i| format!("m{i}")).collect();
        assert_eq!(ids, expected);
        assert_eq!(too_large.len(), 1);
        assert_eq!(too_large[0].0.event_id(), "m99");
        assert!(too_large[0].1 > MAX_MESSAGE_BYTES);
    }

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
