//! Reading campaign reports: one campaign's rows over a range of days, and
//! every campaign's totals.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::store::persons::Db;
use crate::store::protocol::{DayRow, ReportRows, StoreResult, SummaryRow};
use crate::store::sql::{params, Row, SqlExt};

impl Db<'_> {
    /// One campaign's rows for the days `from_day..=to_day`, conversions and
    /// revenue within `window_days` of each person's first exposure.
    pub fn report(
        &self,
        campaign: &str,
        from_day: i64,
        to_day: i64,
        window_days: i64,
    ) -> StoreResult<ReportRows> {
        let mut rows: BTreeMap<(i64, String), DayRow> = BTreeMap::new();
        for r in self.sql.query(
            "SELECT day, variant, control, persons, impressions, clicks, submits, dismissals, several_arms
             FROM report_days WHERE campaign = ? AND day BETWEEN ? AND ?",
            params![campaign, from_day, to_day],
        )? {
            let int = |k: &str| r.get(k).and_then(Value::as_i64).unwrap_or(0);
            let row = day_row(&mut rows, int("day"), &r);
            row.control = int("control") == 1;
            row.several_arms = int("several_arms");
            let counts = &mut row.counts;
            counts.exposed_persons = int("persons");
            counts.impressions = int("impressions");
            counts.clicks = int("clicks");
            counts.submits = int("submits");
            counts.dismissals = int("dismissals");
        }
        for r in self.sql.query(
            "SELECT first_day, variant, sum(conversions) AS conversions, sum(round(revenue * 1000000)) AS micros FROM report_outcomes
             WHERE campaign = ? AND first_day BETWEEN ? AND ? AND lag_days < ? GROUP BY first_day, variant",
            params![campaign, from_day, to_day, window_days],
        )? {
            let day = r.get("first_day").and_then(Value::as_i64).unwrap_or(0);
            let row = day_row(&mut rows, day, &r);
            row.counts.conversions = r.get("conversions").and_then(Value::as_i64).unwrap_or(0);
            row.counts.revenue = from_micros(&r);
        }
        let known = !rows.is_empty()
            || self.sql.exists(
                "SELECT 1 FROM report_days WHERE campaign = ? LIMIT 1",
                params![campaign],
            )?;
        Ok(ReportRows {
            known,
            days: rows.into_values().collect(),
        })
    }

    /// Every campaign with rollups in `from_day..=to_day`, in totals
    /// (impressions: of the arms that show something, not of controls).
    pub fn report_summary(
        &self,
        from_day: i64,
        to_day: i64,
        window_days: i64,
    ) -> StoreResult<Vec<SummaryRow>> {
        let mut out: BTreeMap<String, SummaryRow> = BTreeMap::new();
        for r in self.sql.query(
            "SELECT campaign, sum(persons) AS persons, sum(impressions * (control = 0)) AS impressions,
             sum(clicks) AS clicks FROM report_days WHERE day BETWEEN ? AND ? GROUP BY campaign",
            params![from_day, to_day],
        )? {
            let int = |k: &str| r.get(k).and_then(Value::as_i64).unwrap_or(0);
            let s = summary_row(&mut out, &r);
            s.exposed_persons = int("persons");
            s.impressions = int("impressions");
            s.clicks = int("clicks");
        }
        for r in self.sql.query(
            "SELECT campaign, sum(conversions) AS conversions, sum(round(revenue * 1000000)) AS micros FROM report_outcomes
             WHERE first_day BETWEEN ? AND ? AND lag_days < ? GROUP BY campaign",
            params![from_day, to_day, window_days],
        )? {
            let s = summary_row(&mut out, &r);
            s.conversions = r.get("conversions").and_then(Value::as_i64).unwrap_or(0);
            s.revenue = from_micros(&r);
        }
        Ok(out.into_values().collect())
    }
}

/// The summary of `r.campaign`, made on first use.
/// A row's revenue, summed in whole millionths (`protocol::add_money`: the
/// same sum whatever order the orders were stored in, or in which object).
fn from_micros(r: &Row) -> f64 {
    r.get("micros").and_then(Value::as_f64).unwrap_or(0.0) / 1e6
}

fn summary_row<'a>(out: &'a mut BTreeMap<String, SummaryRow>, r: &Row) -> &'a mut SummaryRow {
    let id = r
        .get("campaign")
        .and_then(Value::as_str)
        .unwrap_or_default();
    out.entry(id.to_owned()).or_insert_with(|| SummaryRow {
        campaign: id.to_owned(),
        ..SummaryRow::default()
    })
}

/// The row of `(day, r.variant)`, made on first use.
fn day_row<'a>(rows: &'a mut BTreeMap<(i64, String), DayRow>, day: i64, r: &Row) -> &'a mut DayRow {
    let variant = r.get("variant").and_then(Value::as_str).unwrap_or_default();
    rows.entry((day, variant.to_owned()))
        .or_insert_with(|| DayRow {
            day,
            variant: variant.to_owned(),
            ..DayRow::default()
        })
}
