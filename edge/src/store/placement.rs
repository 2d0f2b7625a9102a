//! Where each store command goes among a site's objects, and how the
//! answers of several make one (`shards::Placed`). With one object every
//! command goes to it and its answer is passed on as it is.
//!
//! - By browser: a batch (split by each event's browser), a profile read,
//!   a claim, an identify.
//! - By person id: a person's merge log; by the object the caller names:
//!   the forwarding consumer's checks and outcomes (`object`).
//! - Every object, answers gathered: reports (sums: no person is in two
//!   objects, so the sums are exact), the event listing (merged newest
//!   first), the merge log and dead letters (sequence numbers qualified by
//!   object, `shards::qualify`), a journeys tick.
//! - The home object: the config's versions and the studio, keys and
//!   sessions, coupon pools, webhooks, journeys' lists and plays, until
//!   each gets its own home (ARCHITECTURE.md, issue #22).

use std::collections::BTreeMap;

use serde_json::Value;

use super::protocol::*;
use super::shards::{qualify, unqualify, Placed, Placement, ShardMap};

/// The home object, for commands on site-wide tables.
macro_rules! at_home {
    ($($ask:ty),* $(,)?) => {$(
        impl Placed for $ask {
            fn place(&self, map: ShardMap) -> Placement<Self> {
                Placement::One(map.home())
            }
        }
    )*};
}

at_home!(
    Hook,
    DeadLetter,
    ListJourneys,
    JourneyRuns,
    DryRun,
    SampleSend,
    AddPoolCodes,
    ReadPool,
    ReadKeys,
    RotateKey,
    RevokeSession,
);

impl<A: StudioAsk> Placed for Studio<A> {
    fn place(&self, map: ShardMap) -> Placement<Self> {
        Placement::One(map.home())
    }
}

impl Placed for Identify {
    fn place(&self, map: ShardMap) -> Placement<Self> {
        Placement::One(map.browser(&self.anonymous_id))
    }
}

impl Placed for Claim {
    fn place(&self, map: ShardMap) -> Placement<Self> {
        Placement::One(map.browser(&self.anonymous_id))
    }
}

impl Placed for ReadProfile {
    fn place(&self, map: ShardMap) -> Placement<Self> {
        Placement::One(map.browser(&self.anonymous_id))
    }
}

impl Placed for Deliveries {
    fn place(&self, _map: ShardMap) -> Placement<Self> {
        Placement::One(self.object)
    }
}

impl Placed for Outcomes {
    fn place(&self, _map: ShardMap) -> Placement<Self> {
        Placement::One(self.object)
    }
}

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
    }
}

/// A command for each object, made from what is that object's.
fn each_object<T, A>(parts: BTreeMap<u16, T>, command: impl Fn(T) -> A) -> Placement<A> {
    Placement::Parts(
        parts
            .into_iter()
            .map(|(object, part)| (object, command(part)))
            .collect(),
    )
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
        fresh: Vec::new(),
    };
    for part in parts {
        sum.accepted += part.accepted;
        sum.duplicates += part.duplicates;
        sum.verified_browser = sum.verified_browser.or(part.verified_browser);
        sum.unproven.extend(part.unproven);
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

impl Placed for Report {
    fn place(&self, _map: ShardMap) -> Placement<Self> {
        Placement::Every
    }

    /// Each day and arm summed over objects: exact, as no person's
    /// exposures, conversions or several arms are counted in two objects.
    fn gather(&self, _map: ShardMap, answers: Vec<(u16, ReportRows)>) -> StoreResult<ReportRows> {
        if answers.len() == 1 {
            return Ok(answers
                .into_iter()
                .map(|(_, a)| a)
                .next()
                .unwrap_or_default());
        }
        let mut known = false;
        let mut days: BTreeMap<(i64, String), DayRow> = BTreeMap::new();
        for (_, rows) in answers {
            known |= rows.known;
            for row in rows.days {
                let sum = days
                    .entry((row.day, row.variant.clone()))
                    .or_insert_with(|| DayRow {
                        day: row.day,
                        variant: row.variant.clone(),
                        ..DayRow::default()
                    });
                sum.control |= row.control;
                sum.counts.add(&row.counts);
                sum.several_arms += row.several_arms;
            }
        }
        Ok(ReportRows {
            known,
            days: days.into_values().collect(),
        })
    }
}

impl Placed for ReportSummary {
    fn place(&self, _map: ShardMap) -> Placement<Self> {
        Placement::Every
    }

    fn gather(
        &self,
        _map: ShardMap,
        answers: Vec<(u16, Vec<SummaryRow>)>,
    ) -> StoreResult<Vec<SummaryRow>> {
        if answers.len() == 1 {
            return Ok(answers.into_iter().flat_map(|(_, a)| a).collect());
        }
        let mut rows: BTreeMap<String, SummaryRow> = BTreeMap::new();
        for row in answers.into_iter().flat_map(|(_, a)| a) {
            let sum = rows
                .entry(row.campaign.clone())
                .or_insert_with(|| SummaryRow {
                    campaign: row.campaign.clone(),
                    ..SummaryRow::default()
                });
            sum.exposed_persons += row.exposed_persons;
            sum.impressions += row.impressions;
            sum.clicks += row.clicks;
            sum.conversions += row.conversions;
            sum.revenue = add_money(sum.revenue, row.revenue);
        }
        Ok(rows.into_values().collect())
    }
}

impl Placed for TickJourneys {
    fn place(&self, _map: ShardMap) -> Placement<Self> {
        Placement::Every
    }

    fn gather(&self, _map: ShardMap, answers: Vec<(u16, Ticked)>) -> StoreResult<Ticked> {
        let mut answers = answers.into_iter().map(|(_, a)| a);
        let first = answers
            .next()
            .ok_or_else(|| StoreError::Internal("no object ticked".into()))?;
        Ok(answers.fold(first, |mut sum, t| {
            sum.fired += t.fired;
            sum.queued += t.queued;
            sum.sends_waiting |= t.sends_waiting;
            sum.archived += t.archived;
            // ISO 8601 times of one format order as text.
            if t.next_alarm < sum.next_alarm {
                sum.next_alarm = t.next_alarm;
            }
            sum
        }))
    }
}

impl Placed for RecentEvents {
    fn place(&self, _map: ShardMap) -> Placement<Self> {
        Placement::Every
    }

    /// The objects' pages merged newest first. Each object's page is whole
    /// down to its `next_before`: an event of another object older than
    /// that might come after that object's unlisted ones, so the merged
    /// page stops at the newest such boundary.
    fn gather(&self, _map: ShardMap, answers: Vec<(u16, EventPage)>) -> StoreResult<EventPage> {
        if answers.len() == 1 {
            return answers
                .into_iter()
                .map(|(_, a)| a)
                .next()
                .ok_or_else(|| StoreError::Internal("no page".into()));
        }
        let limit = self.page.limit() as usize;
        let key = |at: i64, id: &str| (at, id.to_owned());
        let mut boundary: Option<(i64, String)> = None;
        let mut merged = EventPage {
            total: 0,
            archived: 0,
            events: Vec::new(),
            next_before: None,
            next_before_id: None,
            parts: Vec::new(),
            unreadable_parts: Vec::new(),
        };
        for (_, page) in answers {
            merged.total += page.total;
            merged.archived += page.archived;
            merged.parts.extend(page.parts);
            merged.unreadable_parts.extend(page.unreadable_parts);
            if let Some(at) = page.next_before {
                let next = key(at, page.next_before_id.as_deref().unwrap_or(""));
                boundary = Some(boundary.map_or(next.clone(), |b| b.max(next)));
            }
            merged.events.extend(page.events);
        }
        merged
            .events
            .sort_by(|a, b| (b.received_at.cmp(&a.received_at)).then_with(|| b.id.cmp(&a.id)));
        if let Some((at, id)) = &boundary {
            merged
                .events
                .retain(|e| (e.received_at, e.id.as_str()) >= (*at, id.as_str()));
        }
        let cut = merged.events.len() > limit;
        merged.events.truncate(limit);
        let next = if cut || boundary.is_some() {
            merged
                .events
                .last()
                .map(|e| key(e.received_at, &e.id))
                .or(boundary)
        } else {
            None
        };
        merged.next_before = next.as_ref().map(|(at, _)| *at);
        merged.next_before_id = next.map(|(_, id)| id);
        Ok(merged)
    }
}

/// The objects a list going down from `before` (a site-wide sequence
/// number, `shards::qualify`) still has to read, each with its own
/// `before`: lists are in site-wide numbers, the last object's first.
fn objects_below(map: ShardMap, before: Option<i64>) -> Vec<(u16, Option<i64>)> {
    let (last, local) = match before.and_then(unqualify) {
        Some((object, local)) => (object.min(map.objects() - 1), Some(local)),
        None => (map.objects() - 1, None),
    };
    (0..=last)
        .map(|object| (object, if object == last { local } else { None }))
        .collect()
}

/// As `objects_below`, going up from `after`; the objects already read
/// are asked past their last number, for their totals.
fn objects_above(map: ShardMap, after: Option<i64>) -> Vec<(u16, Option<i64>)> {
    let (first, local) = match after.and_then(unqualify) {
        Some((object, local)) => (object, Some(local)),
        None => (0, None),
    };
    map.all()
        .map(|object| match object.cmp(&first) {
            std::cmp::Ordering::Less => (object, Some(i64::MAX)),
            std::cmp::Ordering::Equal => (object, local),
            std::cmp::Ordering::Greater => (object, None),
        })
        .collect()
}

/// A list command's parts: for each object, the command with that
/// object's own cursor set on its page (`set`).
fn paged<A: Clone + HasPage>(
    ask: &A,
    cursors: Vec<(u16, Option<i64>)>,
    set: impl Fn(&mut Page, Option<i64>),
) -> Placement<A> {
    Placement::Parts(
        cursors
            .into_iter()
            .map(|(object, cursor)| {
                let mut part = ask.clone();
                set(part.page_mut(), cursor);
                (object, part)
            })
            .collect(),
    )
}

/// A command that lists by pages.
trait HasPage {
    fn page_mut(&mut self) -> &mut Page;
}

impl HasPage for ListMerges {
    fn page_mut(&mut self) -> &mut Page {
        &mut self.page
    }
}

impl HasPage for ListDeadLetters {
    fn page_mut(&mut self) -> &mut Page {
        &mut self.page
    }
}

/// A seq field of a JSON row as the site names it.
fn qualify_field(object: u16, row: &mut serde_json::Map<String, Value>, field: &str) {
    if let Some(seq) = row.get(field).and_then(Value::as_i64) {
        row.insert(field.into(), Value::from(qualify(object, seq)));
    }
}

impl Placed for ListMerges {
    fn place(&self, map: ShardMap) -> Placement<Self> {
        if let Some(person) = &self.person {
            return Placement::One(map.person(person));
        }
        if map.objects() == 1 {
            return Placement::One(map.home());
        }
        paged(
            self,
            objects_below(map, self.page.before),
            |page, before| {
                page.before = before;
            },
        )
    }

    fn gather(&self, _map: ShardMap, answers: Vec<(u16, MergeLog)>) -> StoreResult<MergeLog> {
        let limit = self.page.limit() as usize;
        let mut merges = Vec::new();
        for (object, log) in answers {
            for mut merge in log.merges {
                qualify_field(object, &mut merge, "seq");
                merges.push(merge);
            }
        }
        let seq = |m: &serde_json::Map<String, Value>| m.get("seq").and_then(Value::as_i64);
        merges.sort_by_key(|m| std::cmp::Reverse(seq(m)));
        let next_before = if merges.len() >= limit {
            merges.truncate(limit);
            merges.last().and_then(seq)
        } else {
            None
        };
        Ok(MergeLog {
            merges,
            next_before,
        })
    }
}

impl Placed for UndoMerge {
    fn place(&self, map: ShardMap) -> Placement<Self> {
        match unqualify(self.seq) {
            Some((object, seq)) if object < map.objects() && object > 0 => {
                Placement::Parts(vec![(
                    object,
                    UndoMerge {
                        seq,
                        reason: self.reason.clone(),
                    },
                )])
            }
            // Object 0's numbers are its own (and a number no object gave
            // is refused there as unknown).
            _ => Placement::One(map.home()),
        }
    }

    fn gather(&self, _map: ShardMap, answers: Vec<(u16, Undone)>) -> StoreResult<Undone> {
        let (object, mut undone) = answers
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::Internal("no object undid".into()))?;
        undone.undone = qualify(object, undone.undone);
        Ok(undone)
    }
}

impl Placed for ListDeadLetters {
    fn place(&self, map: ShardMap) -> Placement<Self> {
        if map.objects() == 1 {
            return Placement::One(map.home());
        }
        paged(self, objects_above(map, self.page.after), |page, after| {
            page.after = after;
        })
    }

    fn gather(
        &self,
        _map: ShardMap,
        answers: Vec<(u16, DeadLetterPage)>,
    ) -> StoreResult<DeadLetterPage> {
        let limit = self.page.limit() as usize;
        let mut total = 0;
        let mut letters = Vec::new();
        for (object, page) in answers {
            // A total counts every letter of the object, whatever the page.
            total += page.total;
            letters.extend(page.letters.into_iter().map(|mut letter| {
                letter.seq = qualify(object, letter.seq);
                letter
            }));
        }
        letters.sort_by_key(|letter| letter.seq);
        let next_after = if letters.len() >= limit {
            letters.truncate(limit);
            letters.last().map(|letter| letter.seq)
        } else {
            None
        };
        Ok(DeadLetterPage {
            letters,
            total,
            next_after,
        })
    }
}

impl Placed for RemoveDeadLetters {
    fn place(&self, map: ShardMap) -> Placement<Self> {
        let mut parts: BTreeMap<u16, Vec<i64>> = BTreeMap::new();
        for seq in &self.seqs {
            // A number no object gave goes home, where it matches nothing.
            let (object, local) = unqualify(*seq)
                .filter(|(object, _)| *object < map.objects())
                .unwrap_or((map.home(), *seq));
            parts.entry(object).or_default().push(local);
        }
        if parts.len() <= 1 {
            let object = parts.keys().next().copied().unwrap_or(map.home());
            if object == map.home() {
                return Placement::One(object);
            }
        }
        each_object(parts, |seqs| RemoveDeadLetters { seqs })
    }

    fn gather(&self, _map: ShardMap, answers: Vec<(u16, Removed)>) -> StoreResult<Removed> {
        Ok(Removed {
            removed: answers.iter().map(|(_, r)| r.removed).sum(),
        })
    }
}

#[cfg(test)]
mod tests;
