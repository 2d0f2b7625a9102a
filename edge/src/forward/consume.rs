//! The forwarding queue's consumer (and its dead-letter queue's): each
//! message read as one forward per event, grouped by site; per site, one
//! store call for every verdict, the sends concurrently, one for every
//! outcome; then each message acknowledged or retried.

use std::collections::BTreeMap;

use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::Value;
use worker::{Env, Message, MessageBatch, MessageExt, QueueRetryOptionsBuilder, Result};

use super::deliver::{deliver, Attempt};
use crate::destination::{Channel, Destination, ForwardBatch, ForwardMessage};
use crate::store::protocol::{
    DeadLetter, Delivered, Deliveries, DeliveryCheck, DeliveryVerdict, Outcomes, SmsBudget,
};

const MAX_RETRY_DELAY_S: u32 = 300;
/// A batch's events are tried this many times (the queue's own
/// `max_retries` for single messages is 8: 9 attempts).
const MAX_ATTEMPTS: u32 = 9;
/// Deliveries of a queue batch in flight at once (below the runtime's six
/// connections per invocation).
const CONCURRENT_SENDS: usize = 5;

/// The queue consumer (forwarding queue and its dead-letter queue). A batch
/// costs each of its sites two store calls, not two per event: one for
/// every delivery's verdict, one for every outcome; the sends in between go
/// out concurrently. A message may carry several events for one destination
/// (`ForwardBatch`): it is acknowledged once each of its events is done
/// (delivered, skipped, filed) or put back on the queue as a new batch of
/// its own, one attempt on and later, so a failing event never makes its
/// siblings sent again; out of attempts, such events are filed.
pub async fn consume(batch: MessageBatch<String>, env: Env) -> Result<()> {
    let dead_letter_queue = batch.queue().ends_with("-dlq");
    let messages = batch.messages()?;
    // Each event's forward, with the index of the message it came in; and
    // each message's attempt if it is a batch.
    // Grouped by site and by the site's object that stored them
    // (`store::shards`): each group costs that object two calls.
    let mut by_site: BTreeMap<(String, u16), Vec<(usize, ForwardMessage)>> = BTreeMap::new();
    let mut attempts: Vec<Option<u32>> = vec![None; messages.len()];
    for (index, message) in messages.iter().enumerate() {
        match read(message) {
            Read::Forward {
                site,
                units,
                attempt,
            } => {
                attempts[index] = attempt;
                for unit in units {
                    by_site
                        .entry((site.clone(), unit.object))
                        .or_default()
                        .push((index, unit));
                }
            }
            Read::Misfiled { site, letter } => {
                // Filed again with why, never dropped; retried if the store fails.
                match crate::store::call(&env, &site, &letter).await {
                    Ok(()) => message.ack(),
                    Err(error) => retry_soon(message, &error.into()),
                }
            }
            Read::Unreadable => message.ack(),
        }
    }
    for ((site, object), group) in by_site {
        // One site's trouble (its store unreachable, say) retries that
        // site's messages only; on the dead-letter queue too, so none is lost there.
        let sent = Sent {
            messages: &messages,
            attempts: &attempts,
        };
        let at = (site.as_str(), object);
        if let Err(error) = forward_site(&env, at, &sent, &group, dead_letter_queue).await {
            for index in message_indexes(&group) {
                retry_soon(&messages[index], &error);
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

/// The messages a group's forwards came in, each once, in order.
fn message_indexes(group: &[(usize, ForwardMessage)]) -> Vec<usize> {
    let mut indexes: Vec<usize> = group.iter().map(|(index, _)| *index).collect();
    indexes.dedup();
    indexes
}

/// A queue message, read.
enum Read {
    /// One forward per event (one, or a batch's for one destination).
    Forward {
        site: String,
        units: Vec<ForwardMessage>,
        /// A batch's attempt; `None` for a single event's message.
        attempt: Option<u32>,
    },
    /// JSON naming a site but not a deliverable message (a replayed dead
    /// letter whose destination was gone): its letter, to file again.
    Misfiled { site: String, letter: DeadLetter },
    /// Not JSON, or naming no site: nothing to deliver, nowhere to file it
    /// (only this Worker enqueues, so this is never expected).
    Unreadable,
}

fn read(message: &Message<String>) -> Read {
    let Ok(value) = serde_json::from_str::<Value>(message.body()) else {
        worker::console_error!("forward: unreadable message {}", message.id());
        return Read::Unreadable;
    };
    let read = if value.get("events").is_some() {
        ForwardBatch::deserialize(&value).map(|batch| {
            let attempt = Some(batch.attempt);
            (batch.site.clone(), batch.units(), attempt)
        })
    } else {
        ForwardMessage::deserialize(&value)
            .map(|forward| (forward.site.clone(), vec![forward], None))
    };
    match read {
        Ok((site, units, attempt)) => Read::Forward {
            site,
            units,
            attempt,
        },
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
    (site, object): (&str, u16),
    sent: &Sent<'_>,
    group: &[(usize, ForwardMessage)],
    dead_letter_queue: bool,
) -> Result<()> {
    let messages = sent.messages;
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
            object,
        };
        crate::store::call(env, site, &outcomes).await?;
        for index in message_indexes(group) {
            messages[index].ack();
        }
        return Ok(());
    }
    // One call answers for each: already delivered? who is this browser (for
    // channels that address people)? and, for SMS, claims it within the budgets.
    let checks = group.iter().map(|(_, forward)| check_of(forward)).collect();
    let verdicts = crate::store::call(env, site, &Deliveries { checks, object }).await?;
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
    // The events to try again, by message. A batch's go on as a new batch
    // (below), filed instead once out of attempts; a single event's message
    // is retried by the queue, then its dead-letter queue.
    let mut again: BTreeMap<usize, Vec<&ForwardMessage>> = BTreeMap::new();
    for ((index, forward), settled) in group.iter().zip(&settled) {
        let what = format!(
            "forward {} to {}",
            forward.event_id(),
            forward.destination.id
        );
        match settled {
            Settled::Attempted(Attempt::Retry(reason))
                if sms_budget(&forward.destination).is_none() =>
            {
                worker::console_log!("{what}: {reason}");
                again.entry(*index).or_default().push(forward);
            }
            Settled::Attempted(Attempt::NotApplicable(why)) => {
                worker::console_log!("{what}: not applicable: {why}");
            }
            _ => {}
        }
    }
    for (index, forwards) in &again {
        if sent.attempts[*index].is_some_and(|attempt| attempt + 1 >= MAX_ATTEMPTS) {
            let reason = || format!("retries exhausted ({MAX_ATTEMPTS} attempts)");
            outcomes
                .dead_letters
                .extend(forwards.iter().map(|forward| letter(forward, reason())));
        }
    }
    if !outcomes.delivered.is_empty() || !outcomes.dead_letters.is_empty() {
        crate::store::call(env, site, &outcomes).await?;
    }
    for index in message_indexes(group) {
        let message = &messages[index];
        let (Some(forwards), attempt) = (again.get(&index), sent.attempts[index]) else {
            message.ack();
            continue;
        };
        match attempt {
            Some(attempt) if attempt + 1 >= MAX_ATTEMPTS => message.ack(), // filed above
            Some(attempt) => {
                let next = attempt + 1;
                // 1, 2, 4 ... s, at most 5 min.
                let delay = 2u32.saturating_pow(attempt).min(MAX_RETRY_DELAY_S);
                match try_again(env, forwards, next, delay).await {
                    Ok(()) => message.ack(),
                    Err(error) => retry_soon(message, &error),
                }
            }
            None => {
                // Delays grow with the message's age: about 1, 2, 4, 8 ... s, at most 5 min.
                let delay = retry_by_age(message, 1, MAX_RETRY_DELAY_S);
                worker::console_log!("message {}: retry in {delay} s", message.id());
            }
        }
    }
    Ok(())
}

/// A consumer batch's messages, with each one's attempt if it is a batch.
struct Sent<'a> {
    messages: &'a [Message<String>],
    attempts: &'a [Option<u32>],
}

/// Puts `forwards` (one message's events, one destination) back on the
/// queue as a batch of their own, attempt `attempt`, in `delay` seconds.
async fn try_again(
    env: &Env,
    forwards: &[&ForwardMessage],
    attempt: u32,
    delay: u32,
) -> Result<()> {
    let Some(first) = forwards.first() else {
        return Ok(());
    };
    let batch = ForwardBatch {
        site: first.site.clone(),
        destination: first.destination.clone(),
        events: forwards
            .iter()
            .map(|forward| forward.event.clone())
            .collect(),
        attempt,
        object: first.object,
    };
    let text =
        serde_json::to_string(&batch).map_err(|e| worker::Error::RustError(e.to_string()))?;
    super::send_later(env, text, delay).await
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
        // `store::route` follows moves; one left means more moves than it
        // follows: tried again later, never dropped.
        DeliveryVerdict::Moved { object } => Settled::Attempted(Attempt::Retry(format!(
            "the person moved to object {object} and on"
        ))),
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
