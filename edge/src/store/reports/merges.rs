//! Campaign reports across a merge of two persons.

use super::{lag_days, Delta, Exposure, MAX_LAG_DAYS};
use crate::store::persons::Db;
use crate::store::protocol::StoreResult;
use crate::store::sql::params;

impl Db<'_> {
    /// Person `from` becomes part of `into` (`identity::merge`): their report
    /// rows become one per campaign, so the merged person is one exposed
    /// person, converts at most once and brings their orders. The earliest
    /// exposure stays (its arm and day); arms that differ mark the person as
    /// seen in several arms; the earliest conversion stays, at its lag from
    /// the earliest exposure; the later exposure's orders move to the
    /// earlier one's cohort and lags.
    pub fn merge_reports(&self, from: &str, into: &str) -> StoreResult<()> {
        let theirs = self.sql.query(
            "SELECT campaign, variant, first_at, first_day, several_arms, converted_at FROM report_persons WHERE person = ?",
            params![from],
        )?;
        for row in &theirs {
            let campaign = row["campaign"].as_str().unwrap_or_default();
            let theirs = Exposure::of(row, from);
            if let Some(ours) = self.exposure(campaign, into)? {
                self.combine(campaign, theirs, ours)?;
                self.sql.execute(
                    "DELETE FROM report_persons WHERE campaign = ? AND person = ?",
                    params![campaign, from],
                )?;
            } else {
                self.sql.execute(
                    "UPDATE report_persons SET person = ? WHERE campaign = ? AND person = ?",
                    params![into, campaign, from],
                )?;
            }
            self.sql.execute(
                "UPDATE report_orders SET person = ? WHERE campaign = ? AND person = ?",
                params![into, campaign, from],
            )?;
        }
        Ok(())
    }

    /// Makes `ours` (the surviving person's row) the merged exposure of both.
    fn combine(&self, campaign: &str, theirs: Exposure, ours: Exposure) -> StoreResult<()> {
        let several = theirs.several_arms || ours.several_arms || theirs.variant != ours.variant;
        let survivor = ours.person.clone();
        let (early, late) = if theirs.first_at < ours.first_at {
            (theirs, ours)
        } else {
            (ours, theirs)
        };
        // The later exposure is no longer a person of its own.
        let gone = Delta {
            persons: -1,
            several_arms: -i64::from(late.several_arms),
            ..Delta::default()
        };
        self.add_day(campaign, &late.variant, late.first_day, false, &gone)?;
        let kept = Delta {
            several_arms: i64::from(several) - i64::from(early.several_arms),
            ..Delta::default()
        };
        self.add_day(campaign, &early.variant, early.first_day, false, &kept)?;
        // One conversion at most: the earliest, from the earliest exposure.
        for first in [&early, &late] {
            if let Some(at) = first.converted_at {
                self.add_outcome(campaign, first, lag_days(at, first.first_at), -1, 0.0)?;
            }
        }
        let converted = match (early.converted_at, late.converted_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if let Some(at) = converted {
            self.add_outcome(campaign, &early, lag_days(at, early.first_at), 1, 0.0)?;
        }
        // The later exposure's orders, at their lags from the earlier one
        // (an order that falls past the tracked lags leaves the ledger).
        let orders = self.sql.query(
            "SELECT event_id, at, revenue FROM report_orders WHERE campaign = ? AND person = ?",
            params![campaign, late.person.as_str()],
        )?;
        for order in &orders {
            let at = order["at"].as_i64().unwrap_or_default();
            let revenue = order["revenue"].as_f64().unwrap_or_default();
            self.add_outcome(campaign, &late, lag_days(at, late.first_at), 0, -revenue)?;
            let lag = lag_days(at, early.first_at);
            if lag < MAX_LAG_DAYS {
                self.add_outcome(campaign, &early, lag, 0, revenue)?;
            } else {
                self.sql.execute(
                    "DELETE FROM report_orders WHERE campaign = ? AND person = ? AND event_id = ?",
                    params![campaign, late.person.as_str(), order["event_id"].as_str()],
                )?;
            }
        }
        self.sql.execute(
            "UPDATE report_persons SET variant = ?, first_at = ?, first_day = ?, several_arms = ?, converted_at = ?
             WHERE campaign = ? AND person = ?",
            params![
                early.variant.as_str(),
                early.first_at,
                early.first_day,
                i64::from(several),
                converted,
                campaign,
                survivor.as_str()
            ],
        )?;
        Ok(())
    }
}
