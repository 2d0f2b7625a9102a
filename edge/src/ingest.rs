//! Batches the store could not take: when a site's object is overloaded (the
//! platform queues no more requests for it), `/v1/events` spills the
//! validated batch to the `nudge-ingest` queue and still answers 202, as an
//! acknowledged event must be durable and the queue is. This consumer then
//! writes each site's spilled batches in one store call (one commit) and
//! queues their events for forwarding, as the route would have.
//!
//! What a spilled batch does not get: a first-party cookie (the store has not
//! yet said which browser the request proved) and an answer counting its
//! duplicates. Its events are not refused by the store's per-minute budgets
//! (they were accepted) but use them up when written, so a flood that
//! overloaded the store is refused sooner after; while it lasts, a client
//! is bounded by the Worker's request limiter (`EVENTS_LIMITER`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use worker::{Env, Message, MessageBatch, MessageExt, QueueRetryOptionsBuilder, Result};

use crate::store::protocol::{Append, AppendSpilled, MAX_MESSAGE_BYTES};

/// The queue (and its dead-letter queue, which this consumer also reads).
pub const QUEUE: &str = "nudge-ingest";

/// One spilled batch, or part of one (a batch is split to fit a message).
#[derive(Debug, Serialize, Deserialize)]
pub struct Spilled {
    pub site: String,
    pub append: Append,
}

/// Puts `append` on the ingest queue, in as many messages as it needs.
pub async fn spill(env: &Env, site: &str, append: Append) -> Result<()> {
    let mut texts = Vec::new();
    split(site, append, &mut texts)?;
    let queue = env.queue("INGEST")?;
    queue.send_batch::<String, _>(texts).await
}

/// `append` as message texts within the queue's message limit: halved until
/// each part fits (one event always does: `MAX_EVENT_BYTES` is far below).
fn split(site: &str, mut append: Append, texts: &mut Vec<String>) -> Result<()> {
    let spilled = Spilled {
        site: site.to_owned(),
        append,
    };
    let text = serde_json::to_string(&spilled)?;
    if text.len() <= MAX_MESSAGE_BYTES || spilled.append.events.len() < 2 {
        texts.push(text);
        return Ok(());
    }
    append = spilled.append;
    let second = append.events.split_off(append.events.len() / 2);
    let rest = Append {
        events: second,
        ..append.clone()
    };
    split(site, append, texts)?;
    split(site, rest, texts)
}

/// The ingest consumer: each site's spilled batches in one store call, then
/// their events queued for forwarding; a site's trouble (still overloaded,
/// say) retries that site's messages.
pub async fn consume(batch: MessageBatch<String>, env: Env) -> Result<()> {
    let mut by_site: BTreeMap<String, Vec<(Message<String>, Append)>> = BTreeMap::new();
    for message in batch.messages()? {
        match serde_json::from_str::<Spilled>(message.body()) {
            Ok(spilled) => by_site
                .entry(spilled.site)
                .or_default()
                .push((message, spilled.append)),
            Err(e) => {
                // Only this Worker enqueues here: never expected.
                worker::console_error!("ingest: unreadable message {}: {e}", message.id());
                message.ack();
            }
        }
    }
    for (site, group) in by_site {
        if let Err(error) = write(&env, &site, &group).await {
            worker::console_error!("ingest: {site}: {error}; retrying");
            for (message, _) in &group {
                message.retry_with_options(
                    &QueueRetryOptionsBuilder::new()
                        .with_delay_seconds(5)
                        .build(),
                );
            }
        }
    }
    Ok(())
}

async fn write(env: &Env, site: &str, group: &[(Message<String>, Append)]) -> Result<()> {
    // The batches go over the wire as they are; their copies here feed forwarding.
    let spilled = AppendSpilled {
        batches: group.iter().map(|(_, append)| append.clone()).collect(),
    };
    let appended = crate::store::call(env, site, &spilled)
        .await
        .map_err(|e| worker::Error::RustError(format!("{e:?}")))?;
    for ((_, append), appended) in group.iter().zip(&appended) {
        // As the route: events for a browser the request did not prove are
        // not forwarded; a repeat is skipped by the forwarding consumer.
        let proven: Vec<_> = append
            .events
            .iter()
            .filter(|e| {
                !appended
                    .unproven
                    .iter()
                    .any(|id| e["messageId"] == id.as_str())
            })
            .cloned()
            .collect();
        crate::forward::enqueue(env, site, &proven).await?;
    }
    group.iter().for_each(|(message, _)| message.ack());
    Ok(())
}
