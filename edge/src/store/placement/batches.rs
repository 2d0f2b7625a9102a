//! Where a batch of events goes: split by each event's browser, and sent
//! on where browsers' persons moved in a merge across objects.

use std::collections::BTreeMap;

use serde_json::Value;

use super::each_object;
use crate::store::protocol::*;
use crate::store::shards::{Placed, Placement, ShardMap};

/// The object of an event's browser; the home for an event without one.
pub fn object_of_event(map: ShardMap, event: &Value) -> u16 {
    event["anonymousId"]
        .as_str()
        .map_or(map.home(), |anonymous_id| map.browser(anonymous_id))
}

/// A batch's events by the object of their browser, in their order.
fn split_batch(map: ShardMap, batch: &Append) -> BTreeMap<u16, Vec<Value>> {
    let mut parts: BTreeMap<u16, Vec<Value>> = BTreeMap::new();
    for event in &batch.events {
        parts
            .entry(object_of_event(map, event))
            .or_default()
            .push(event.clone());
    }
    parts
}

/// The part of `batch` with `events`, for `object`: the browser key and
/// cookie go only where their browser is.
fn part_of(map: ShardMap, batch: &Append, object: u16, events: Vec<Value>) -> Append {
    let here = |anonymous_id: &str| map.browser(anonymous_id) == object;
    Append {
        events,
        cookie_browser: batch.cookie_browser.clone().filter(|id| here(id)),
        client: batch.client.clone(),
        browser_key: batch
            .browser_key
            .clone()
            .filter(|key| here(&key.anonymous_id)),
        campaigns: batch.campaigns.clone(),
        held: batch.held.clone(),
        objects: batch.objects,
        away: false,
    }
}

/// Whether every event of `batch` goes to one object, and which.
fn one_object(map: ShardMap, batch: &Append) -> Option<u16> {
    let mut objects = batch.events.iter().map(|e| object_of_event(map, e));
    let first = objects.next().unwrap_or(map.home());
    objects.all(|o| o == first).then_some(first)
}

/// The answers for the parts of one batch, as one.
fn sum_appended(parts: impl IntoIterator<Item = Appended>) -> Appended {
    let mut sum = Appended {
        accepted: 0,
        duplicates: 0,
        verified_browser: None,
        unproven: Vec::new(),
        moved: Vec::new(),
        fresh: Vec::new(),
    };
    for part in parts {
        sum.accepted += part.accepted;
        sum.duplicates += part.duplicates;
        sum.verified_browser = sum.verified_browser.or(part.verified_browser);
        sum.unproven.extend(part.unproven);
        sum.moved.extend(part.moved);
    }
    sum
}

impl Placed for Append {
    fn place(&self, map: ShardMap) -> Placement<Self> {
        // The common batch (one browser's) is sent as it is, not copied.
        if let Some(object) = one_object(map, self) {
            return Placement::One(object);
        }
        Placement::Parts(
            split_batch(map, self)
                .into_iter()
                .map(|(object, events)| (object, part_of(map, self, object, events)))
                .collect(),
        )
    }

    fn gather(&self, _map: ShardMap, answers: Vec<(u16, Appended)>) -> StoreResult<Appended> {
        Ok(sum_appended(answers.into_iter().map(|(_, a)| a)))
    }

    fn moved_parts(&self, _map: ShardMap, answer: &Appended) -> Vec<(u16, Append)> {
        moved_events(&answer.moved, &self.events)
            .into_iter()
            .map(|(object, events)| (object, part_moved(self, object, events, &answer.moved)))
            .collect()
    }

    /// The moved parts' counts added; what still moved is theirs.
    fn add_moved(&self, answer: Appended, moved: Vec<(u16, Appended)>) -> StoreResult<Appended> {
        let mut answer = answer;
        answer.moved.clear();
        let mut sum =
            sum_appended(std::iter::once(answer).chain(moved.into_iter().map(|(_, a)| a)));
        sum.moved.dedup();
        Ok(sum)
    }
}

/// The events to send on to where their browsers moved (each object named
/// them: not its repeats of events stored before the move), by object.
fn moved_events(moved: &[MovedBrowser], events: &[Value]) -> BTreeMap<u16, Vec<Value>> {
    let mut parts: BTreeMap<u16, Vec<Value>> = BTreeMap::new();
    for event in events {
        let (browser, id) = (event["anonymousId"].as_str(), event["messageId"].as_str());
        let named = moved.iter().find(|m| {
            Some(m.anonymous_id.as_str()) == browser && m.ids.iter().any(|i| Some(i.as_str()) == id)
        });
        if let Some(m) = named {
            parts.entry(m.object).or_default().push(event.clone());
        }
    }
    parts
}

/// `batch`'s part for the object browsers moved to: the browser key goes
/// with it only if its browser moved there, and the cookie with the key.
fn part_moved(batch: &Append, object: u16, events: Vec<Value>, moved: &[MovedBrowser]) -> Append {
    let there = |id: &str| {
        moved
            .iter()
            .any(|m| m.anonymous_id == id && m.object == object)
    };
    Append {
        events,
        // The cookie links the key's browser where that browser's person
        // is: it goes with the key (the browser it names may live anywhere).
        cookie_browser: batch.cookie_browser.clone().filter(|_| {
            batch
                .browser_key
                .as_ref()
                .is_some_and(|k| there(&k.anonymous_id))
        }),
        client: batch.client.clone(),
        browser_key: batch.browser_key.clone().filter(|k| there(&k.anonymous_id)),
        campaigns: batch.campaigns.clone(),
        held: batch.held.clone(),
        objects: batch.objects,
        away: true,
    }
}

impl Placed for AppendSpilled {
    /// Each object gets the parts of every batch that are its, in order;
    /// its answer has one entry per part (see `gather`).
    fn place(&self, map: ShardMap) -> Placement<Self> {
        let mut parts: BTreeMap<u16, Vec<Append>> = BTreeMap::new();
        for batch in &self.batches {
            for (object, events) in split_batch(map, batch) {
                let part = part_of(map, batch, object, events);
                parts.entry(object).or_default().push(part);
            }
        }
        if parts.len() == 1 {
            let object = *parts.keys().next().unwrap_or(&map.home());
            return Placement::One(object);
        }
        each_object(parts, |batches| AppendSpilled { batches })
    }

    /// Every batch in each part, so answers line up by batch: a batch with
    /// no moved browser is an empty part.
    fn moved_parts(&self, _map: ShardMap, answer: &Vec<Appended>) -> Vec<(u16, AppendSpilled)> {
        let moved: Vec<MovedBrowser> = answer.iter().flat_map(|a| a.moved.clone()).collect();
        let mut objects: Vec<u16> = moved.iter().map(|m| m.object).collect();
        objects.sort_unstable();
        objects.dedup();
        objects
            .into_iter()
            .map(|object| {
                let batches = self
                    .batches
                    .iter()
                    .map(|batch| {
                        let events = moved_events(&moved, &batch.events)
                            .remove(&object)
                            .unwrap_or_default();
                        part_moved(batch, object, events, &moved)
                    })
                    .collect();
                (object, AppendSpilled { batches })
            })
            .collect()
    }

    fn add_moved(
        &self,
        answer: Vec<Appended>,
        moved: Vec<(u16, Vec<Appended>)>,
    ) -> StoreResult<Vec<Appended>> {
        let mut sums: Vec<Vec<Appended>> = answer
            .into_iter()
            .map(|mut first| {
                first.moved.clear();
                vec![first]
            })
            .collect();
        for (_, answers) in moved {
            if answers.len() != sums.len() {
                return Err(StoreError::Internal("moved batches answered apart".into()));
            }
            for (sum, answer) in sums.iter_mut().zip(answers) {
                sum.push(answer);
            }
        }
        Ok(sums.into_iter().map(sum_appended).collect())
    }

    fn gather(
        &self,
        map: ShardMap,
        answers: Vec<(u16, Vec<Appended>)>,
    ) -> StoreResult<Vec<Appended>> {
        if answers.len() == 1 {
            return Ok(answers.into_iter().flat_map(|(_, a)| a).collect());
        }
        // Each object answered for its parts in batch order, as `place`
        // split them: a batch's answer is the sum of its parts'.
        let mut answers: BTreeMap<u16, std::vec::IntoIter<Appended>> = answers
            .into_iter()
            .map(|(object, list)| (object, list.into_iter()))
            .collect();
        let mut gathered = Vec::with_capacity(self.batches.len());
        for batch in &self.batches {
            let mut parts = Vec::new();
            for object in split_batch(map, batch).into_keys() {
                let part = answers.get_mut(&object).and_then(Iterator::next);
                parts.push(part.ok_or_else(|| {
                    StoreError::Internal(format!("object {object} answered for fewer batches"))
                })?);
            }
            gathered.push(sum_appended(parts));
        }
        Ok(gathered)
    }
}
