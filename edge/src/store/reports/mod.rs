//! Campaign reports: exact rollups kept with each event, and the reads over
//! them.
//!
//! `Db::append` rolls up every newly stored, proven event here, in the same
//! transaction as its insert: no sampling, no second pass, and an event
//! delivered twice is rolled up once. Only the campaigns and arms of the
//! published config count (the events route passes them with the batch), so
//! nobody can grow these tables with made-up ids; events of the studio's
//! preview (`properties.preview` or `context.preview` true) never count.
//!
//! What counts, per campaign and arm (a campaign without an A/B test is the
//! one arm `""`):
//! - `Campaign Shown` is an impression, and the first one of a person (the
//!   person behind the browser, across devices) makes them an exposed person
//!   of that arm on that day. A control arm's exposure is where the popup
//!   would have shown. A person later shown another arm stays in their first
//!   arm and is marked as seen in several arms.
//! - `Campaign Clicked`, `Signed Up` (a form submit) and `Campaign Dismissed`
//!   with the campaign's id, on the day they happen, in the arm they name.
//! - Conversions: the person's first goal event (a `track` named as the
//!   campaign's `goal`) at or after their first exposure, counted once, at
//!   the exposure's arm and day and the whole days since it (`lag_days`).
//!   The agent's own `Campaign Converted` is per device and not used.
//! - Revenue: every `Order Completed` (`total`, else `revenue`) by an exposed
//!   person at or after their first exposure, at its lag.
//!
//! Lags are tracked up to [`MAX_LAG_DAYS`], so any conversion window of 1 to
//! 90 days is exact at day granularity when reading (`lag_days < window`).
//! Times are the events' own timestamps, never later than when they are
//! stored; counting follows the order events are stored in: a goal event or
//! order stored before the person's exposure is not looked at again.
//!
//! Merges (`merges.rs`) combine the two persons' rows so persons and
//! conversions stay exact. An undo (`store/merges.rs`) leaves reports as the
//! merge made them. The reads are in `reads.rs`.

mod merges;
mod reads;

use serde_json::Value;

use super::persons::Db;
use super::protocol::{ReportedCampaign, StoreResult};
use super::sql::{params, Row};
use crate::wire::WireEvent;

const DAY_MS: i64 = 24 * 3600 * 1000;
/// Conversions and revenue are tracked this many whole days after a
/// person's first exposure (lags 0 to 89): the longest conversion window.
pub const MAX_LAG_DAYS: i64 = 90;
/// The arm of a campaign without an A/B test.
pub const NO_VARIANT: &str = "";

/// The UTC day (days since 1970-01-01) of a time in milliseconds.
pub fn day_of(ms: i64) -> i64 {
    ms.div_euclid(DAY_MS)
}

pub(super) fn lag_days(at: i64, first_at: i64) -> i64 {
    (at - first_at).div_euclid(DAY_MS)
}

/// What an event adds to one row of `report_days`.
#[derive(Default)]
pub(super) struct Delta {
    pub impressions: i64,
    pub persons: i64,
    pub several_arms: i64,
    pub clicks: i64,
    pub submits: i64,
    pub dismissals: i64,
}

/// A person's row in `report_persons`.
pub(super) struct Exposure {
    pub person: String,
    pub variant: String,
    pub first_at: i64,
    pub first_day: i64,
    pub several_arms: bool,
    pub converted_at: Option<i64>,
}

impl Exposure {
    pub fn of(row: &Row, person: &str) -> Self {
        let int = |k: &str| row.get(k).and_then(Value::as_i64);
        Exposure {
            person: person.to_owned(),
            variant: row
                .get("variant")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            first_at: int("first_at").unwrap_or(0),
            first_day: int("first_day").unwrap_or(0),
            several_arms: int("several_arms") == Some(1),
            converted_at: int("converted_at"),
        }
    }
}

/// Whether the event comes from the studio's preview.
fn is_preview(event: &Value) -> bool {
    event["properties"]["preview"] == true || event["context"]["preview"] == true
}

/// The published campaign and arm an event names, with whether the arm is
/// a control: none for anything the config does not have.
fn arm_of<'a>(
    campaigns: &'a [ReportedCampaign],
    props: &'a Value,
) -> Option<(&'a str, &'a str, bool)> {
    let id = props["campaign_id"].as_str()?;
    let campaign = campaigns.iter().find(|c| c.id == id)?;
    let variant = props["variant"].as_str();
    if campaign.variants.is_empty() {
        return variant.is_none().then_some((id, NO_VARIANT, false));
    }
    let arm = campaign
        .variants
        .iter()
        .find(|v| Some(v.key.as_str()) == variant)?;
    Some((id, &arm.key, arm.control))
}

/// Events older than this when they arrive are kept in the log but not rolled up.
pub const MAX_EVENT_AGE_MS: i64 = 30 * 24 * 3600 * 1000;
impl Db<'_> {
    /// Rolls up one newly stored, proven event of `person`.
    pub fn report_event(
        &self,
        person: &str,
        event: &Value,
        campaigns: &[ReportedCampaign],
    ) -> StoreResult<()> {
        use nudge_core::event::names;
        let read = WireEvent(event);
        if campaigns.is_empty() || read.call() != "track" || is_preview(event) {
            return Ok(());
        }
        let name = read.name().unwrap_or_default();
        let props = read.properties();
        // Never later than now: a browser's clock cannot write tomorrow's report.
        let at = read.timestamp().unwrap_or(self.now).min(self.now);
        // Nor older than 30 days (an agent's outbox retries for days, not
        // weeks): a forged event cannot write rows for long-gone days, which
        // are never pruned.
        if at < self.now - MAX_EVENT_AGE_MS {
            return Ok(());
        }
        let day = day_of(at);
        if let Some((campaign, variant, control)) = arm_of(campaigns, props) {
            let counts = match name {
                names::CAMPAIGN_SHOWN => Some(self.expose(campaign, person, variant, at)?),
                names::CAMPAIGN_CLICKED => Some(Delta {
                    clicks: 1,
                    ..Delta::default()
                }),
                names::SIGNED_UP => Some(Delta {
                    submits: 1,
                    ..Delta::default()
                }),
                names::CAMPAIGN_DISMISSED => Some(Delta {
                    dismissals: 1,
                    ..Delta::default()
                }),
                _ => None,
            };
            if let Some(counts) = counts {
                self.add_day(campaign, variant, day, control, &counts)?;
            }
        }
        for campaign in campaigns.iter().filter(|c| c.goal.as_deref() == Some(name)) {
            self.convert(&campaign.id, person, at)?;
        }
        if name == names::ORDER_COMPLETED {
            self.credit_order(person, read.id(), at, read.order_revenue())?;
        }
        Ok(())
    }

    /// An impression of `variant`: the person's first exposure to the
    /// campaign, or a sign they saw several arms. The counts for the
    /// impression's own day and arm.
    fn expose(&self, campaign: &str, person: &str, variant: &str, at: i64) -> StoreResult<Delta> {
        let mut counts = Delta {
            impressions: 1,
            ..Delta::default()
        };
        match self.exposure(campaign, person)? {
            None => {
                self.sql.execute(
                    "INSERT INTO report_persons (campaign, person, variant, first_at, first_day) VALUES (?, ?, ?, ?, ?)",
                    params![campaign, person, variant, at, day_of(at)],
                )?;
                counts.persons = 1;
            }
            Some(first) if first.variant != variant && !first.several_arms => {
                self.sql.execute(
                    "UPDATE report_persons SET several_arms = 1 WHERE campaign = ? AND person = ?",
                    params![campaign, person],
                )?;
                // Counted with the person: in their first arm, on their first day.
                let several = Delta {
                    several_arms: 1,
                    ..Delta::default()
                };
                self.add_day(campaign, &first.variant, first.first_day, false, &several)?;
            }
            Some(_) => {}
        }
        Ok(counts)
    }

    pub(super) fn exposure(&self, campaign: &str, person: &str) -> StoreResult<Option<Exposure>> {
        Ok(self
            .sql
            .query(
                "SELECT variant, first_at, first_day, several_arms, converted_at FROM report_persons
                 WHERE campaign = ? AND person = ?",
                params![campaign, person],
            )?
            .first()
            .map(|row| Exposure::of(row, person)))
    }

    /// A goal event: the person's conversion if it is their first since
    /// their first exposure (counted only within `MAX_LAG_DAYS`).
    fn convert(&self, campaign: &str, person: &str, at: i64) -> StoreResult<()> {
        let Some(first) = self.exposure(campaign, person)? else {
            return Ok(());
        };
        if first.converted_at.is_some() || first.first_at > at {
            return Ok(());
        }
        self.sql.execute(
            "UPDATE report_persons SET converted_at = ? WHERE campaign = ? AND person = ?",
            params![at, campaign, person],
        )?;
        self.add_outcome(campaign, &first, lag_days(at, first.first_at), 1, 0.0)
    }

    /// An order: revenue for every campaign the person was first exposed to
    /// within `MAX_LAG_DAYS` before it, kept in `report_orders` for merges.
    fn credit_order(&self, person: &str, event_id: &str, at: i64, revenue: f64) -> StoreResult<()> {
        if !(revenue > 0.0 && revenue.is_finite()) {
            return Ok(());
        }
        let exposures = self.sql.query(
            "SELECT campaign, variant, first_at, first_day, several_arms, converted_at FROM report_persons
             WHERE person = ?1 AND first_at <= ?2 AND first_at > ?2 - ?3",
            params![person, at, MAX_LAG_DAYS * DAY_MS],
        )?;
        for row in &exposures {
            let campaign = row["campaign"].as_str().unwrap_or_default();
            let credited = self.sql.execute(
                "INSERT OR IGNORE INTO report_orders (campaign, person, event_id, at, revenue) VALUES (?, ?, ?, ?, ?)",
                params![campaign, person, event_id, at, revenue],
            )?;
            if credited > 0 {
                let first = Exposure::of(row, person);
                self.add_outcome(campaign, &first, lag_days(at, first.first_at), 0, revenue)?;
            }
        }
        Ok(())
    }

    pub(super) fn add_day(
        &self,
        campaign: &str,
        variant: &str,
        day: i64,
        control: bool,
        c: &Delta,
    ) -> StoreResult<()> {
        self.sql.execute(
            "INSERT INTO report_days (campaign, day, variant, control, impressions, persons, several_arms, clicks, submits, dismissals)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (campaign, day, variant) DO UPDATE SET control = max(control, excluded.control),
             impressions = impressions + excluded.impressions, persons = persons + excluded.persons,
             several_arms = several_arms + excluded.several_arms, clicks = clicks + excluded.clicks,
             submits = submits + excluded.submits, dismissals = dismissals + excluded.dismissals",
            params![
                campaign,
                day,
                variant,
                i64::from(control),
                c.impressions,
                c.persons,
                c.several_arms,
                c.clicks,
                c.submits,
                c.dismissals
            ],
        )?;
        Ok(())
    }

    /// Adds to the outcomes of `first`'s cohort at `lag`; nothing past the
    /// tracked lags.
    pub(super) fn add_outcome(
        &self,
        campaign: &str,
        first: &Exposure,
        lag: i64,
        conversions: i64,
        revenue: f64,
    ) -> StoreResult<()> {
        if !(0..MAX_LAG_DAYS).contains(&lag) {
            return Ok(());
        }
        self.sql.execute(
            "INSERT INTO report_outcomes (campaign, first_day, variant, lag_days, conversions, revenue) VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT (campaign, first_day, variant, lag_days) DO UPDATE SET
             conversions = conversions + excluded.conversions, revenue = revenue + excluded.revenue",
            params![campaign, first.first_day, first.variant.as_str(), lag, conversions, revenue],
        )?;
        Ok(())
    }
}
