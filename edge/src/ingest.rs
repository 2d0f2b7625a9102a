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
use worker::{Env, Message, MessageBatch, MessageExt, Result};

use crate::store::protocol::{Append, AppendSpilled, MAX_MESSAGE_BYTES};

/// The queue and its dead-letter queue, which this consumer also reads
/// (as named in wrangler.toml; any other queue is forwarding's).
pub const QUEUES: &[&str] = &["nudge-ingest", "nudge-ingest-dlq"];

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
    crate::forward::send_to(env, "INGEST", &texts).await
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
        // A store call holds the object: at most `EVENTS_PER_CALL` events
        // in each, so writing the spill never holds it long.
        for part in parts(&group) {
            if let Err(error) = write(&env, &site, part).await {
                worker::console_error!("ingest: {site}: {error}; retrying");
                for (message, _) in part {
                    // An overloaded object must not be asked again at once:
                    // the delay grows with the message's age (about
                    // doubling), 5 s to an hour: days of retries before the
                    // dead-letter queue, which is read here too.
                    crate::forward::retry_by_age(message, 5, 3_600);
                }
            }
        }
    }
    Ok(())
}

/// Events one `append_spilled` call carries at most (a whole batch always
/// goes in one call).
const EVENTS_PER_CALL: usize = 200;

/// `group` in runs of messages of at most `EVENTS_PER_CALL` events.
fn parts(group: &[(Message<String>, Append)]) -> Vec<&[(Message<String>, Append)]> {
    runs(group.iter().map(|(_, append)| append.events.len()))
        .into_iter()
        .map(|run| &group[run])
        .collect()
}

/// Consecutive runs of items whose `sizes` add up to at most
/// `EVENTS_PER_CALL`; an item larger than that is a run of its own.
fn runs(sizes: impl Iterator<Item = usize>) -> Vec<std::ops::Range<usize>> {
    let mut runs = Vec::new();
    let (mut start, mut total, mut end) = (0, 0, 0);
    for (i, size) in sizes.enumerate() {
        if total > 0 && total + size > EVENTS_PER_CALL {
            runs.push(start..i);
            (start, total) = (i, 0);
        }
        total += size;
        end = i + 1;
    }
    if start < end {
        runs.push(start..end);
    }
    runs
}

async fn write(env: &Env, site: &str, group: &[(Message<String>, Append)]) -> Result<()> {
    // The batches go over the wire as they are; their copies here feed forwarding.
    let spilled = AppendSpilled {
        batches: group.iter().map(|(_, append)| append.clone()).collect(),
    };
    let appended = crate::store::call(env, site, &spilled).await?;
    if appended.len() != group.len() {
        return Err(worker::Error::RustError(
            "the store answered a different number of batches".into(),
        ));
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spilled_batches_are_written_in_runs_of_at_most_200_events() {
        let runs = |sizes: &[usize]| super::runs(sizes.iter().copied());
        assert_eq!(runs(&[]), Vec::<std::ops::Range<usize>>::new());
        assert_eq!(runs(&[100, 100, 1]), [0..2, 2..3]);
        assert_eq!(runs(&[50; 5]), [0..4, 4..5]);
        assert_eq!(runs(&[300, 1]), [0..1, 1..2]);
    }

    #[test]
    fn a_batch_too_large_for_one_message_is_split_into_parts_that_fit() {
        let event =
            |i: usize| serde_json::json!({"messageId": format!("e{i}"), "pad": "x".repeat(20_000)});
        let append = Append {
            events: (0..20).map(event).collect(),
            cookie_browser: None,
            client: "c".into(),
            browser_key: None,
            campaigns: Vec::new(),
            held: Vec::new(),
            objects: 0,
            away: false,
        };
        let mut texts = Vec::new();
        split("demo", append, &mut texts).unwrap();
        assert!(texts.len() > 1);
        assert!(texts.iter().all(|t| t.len() <= MAX_MESSAGE_BYTES));
        let events: usize = texts
            .iter()
            .map(|t| {
                serde_json::from_str::<Spilled>(t)
                    .unwrap()
                    .append
                    .events
                    .len()
            })
            .sum();
        assert_eq!(events, 20, "no event lost or doubled");
    }
}
