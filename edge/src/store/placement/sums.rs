//! Commands asked of every object whose answers add up: reports (exact,
//! as no person is in two objects), the event listing, a journeys tick.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::store::journeys::reads::holdout_of;
use crate::store::protocol::*;
use crate::store::shards::{Placed, Placement, ShardMap};

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

impl Placed for ListJourneys {
    fn place(&self, _map: ShardMap) -> Placement<Self> {
        Placement::Every
    }

    /// The home's list (the journeys, drafts and live version are its),
    /// with every object's counters added: each journey's counters and
    /// step report, pending timers and waiting sends; the holdout
    /// compared again on the sums; the soonest timer.
    fn gather(&self, _map: ShardMap, answers: Vec<(u16, JourneyList)>) -> StoreResult<JourneyList> {
        let mut answers = answers.into_iter();
        let (_, JourneyList(mut list)) = answers
            .next()
            .ok_or_else(|| StoreError::Internal("no object listed journeys".into()))?;
        let mut added = false;
        for (_, JourneyList(other)) in answers {
            added = true;
            for key in ["pending_timers", "sends_waiting_for_queue"] {
                add_number(&mut list[key], &other[key]);
            }
            if let Some(theirs) = other["next_timer"].as_str() {
                let sooner = list["next_timer"].as_str().is_none_or(|ours| theirs < ours);
                if sooner {
                    list["next_timer"] = Value::from(theirs);
                }
            }
            let theirs = other["journeys"].as_array().cloned().unwrap_or_default();
            for journey in list["journeys"].as_array_mut().into_iter().flatten() {
                let Some(other) = theirs.iter().find(|j| j["id"] == journey["id"]) else {
                    continue;
                };
                add_numbers(&mut journey["stats"], &other["stats"]);
                let rows = other["step_report"].as_array().cloned().unwrap_or_default();
                for row in journey["step_report"].as_array_mut().into_iter().flatten() {
                    let same = |r: &&Value| r["step"] == row["step"] && r["path"] == row["path"];
                    if let Some(other_row) = rows.iter().find(same) {
                        add_numbers_but(row, other_row, &["step"]);
                    }
                }
            }
        }
        if added {
            for journey in list["journeys"].as_array_mut().into_iter().flatten() {
                let percent = journey["holdout"]["percent"].as_u64().unwrap_or(0) as u32;
                if let Some(stats) = journey["stats"].as_object() {
                    journey["holdout"] = holdout_of(percent, stats);
                }
            }
        }
        Ok(JourneyList(list))
    }
}

fn add_number(ours: &mut Value, theirs: &Value) {
    if let Some(n) = theirs.as_i64() {
        *ours = Value::from(ours.as_i64().unwrap_or(0) + n);
    }
}

/// Adds every number of `theirs` into `ours`, key by key.
fn add_numbers(ours: &mut Value, theirs: &Value) {
    add_numbers_but(ours, theirs, &[]);
}

fn add_numbers_but(ours: &mut Value, theirs: &Value, keep: &[&str]) {
    let (Some(ours), Some(theirs)) = (ours.as_object_mut(), theirs.as_object()) else {
        return;
    };
    for (key, value) in theirs {
        if value.is_i64() && !keep.contains(&key.as_str()) {
            add_number(ours.entry(key.clone()).or_insert(Value::from(0)), value);
        }
    }
}
