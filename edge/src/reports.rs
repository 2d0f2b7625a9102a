//! What a campaign report says, from the store's rollups
//! (`store/reports/`) and the published config: a typed [`CampaignReport`]
//! first, then its JSON or CSV. Pure, so it is tested natively.
//!
//! Exposed persons, conversions, revenue and persons in several arms belong
//! to the day of each person's first exposure (a cohort): a range counts
//! the persons first exposed in it, and the conversions and revenue they
//! brought within the window. Impressions, clicks, submits and dismissals
//! belong to the day they happened.

mod analysis;

use std::rc::Rc;

use serde_json::{json, Value};

use crate::store::protocol::{
    Counts, DayRow, ReportRows, ReportedCampaign, ReportedVariant, SummaryRow,
};
pub use crate::store::reports::{day_of, MAX_LAG_DAYS, NO_VARIANT};
pub use analysis::{compare, Horizon};

/// The longest range a report covers, in days.
pub const MAX_RANGE_DAYS: i64 = 400;

/// `YYYY-MM-DD` as a UTC day number; none for anything else (or a date
/// that does not exist, such as `2026-02-30`).
pub fn parse_day(text: &str) -> Option<i64> {
    if text.len() != 10 {
        return None;
    }
    let day = day_of(nudge_core::time::parse_iso8601(text)?);
    (format_day(day) == text).then_some(day)
}

/// A UTC day number as `YYYY-MM-DD`.
pub fn format_day(day: i64) -> String {
    let mut text = nudge_core::time::to_iso8601(day * 24 * 3600 * 1000);
    text.truncate(10);
    text
}

thread_local! {
    static CAMPAIGNS: crate::http::DerivedCache<Rc<[ReportedCampaign]>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// The campaigns of a stored config text (validated on write), as the
/// reports see them: id, goal and arms.
pub fn published_campaigns(config_text: &str) -> Rc<[ReportedCampaign]> {
    crate::http::derived(&CAMPAIGNS, config_text, |text| {
        let config: Value = serde_json::from_str(text).unwrap_or(Value::Null);
        let items = config["campaigns"].as_array().cloned().unwrap_or_default();
        items.iter().filter_map(reported).collect()
    })
}

/// A config campaign's id, goal and arms (none without an id).
fn reported(campaign: &Value) -> Option<ReportedCampaign> {
    let variants = campaign["variants"].as_array().map(Vec::as_slice);
    Some(ReportedCampaign {
        id: campaign["id"].as_str()?.to_owned(),
        goal: campaign["goal"].as_str().map(str::to_owned),
        variants: variants
            .unwrap_or_default()
            .iter()
            .filter_map(|v| {
                Some(ReportedVariant {
                    key: v["key"].as_str()?.to_owned(),
                    weight: v["weight"].as_f64().unwrap_or(0.0),
                    control: v["control"] == true,
                })
            })
            .collect(),
    })
}

/// One arm's totals over a report's range.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VariantTotals {
    pub key: String,
    pub control: bool,
    /// The arm's weight in the published config (none for an arm that is
    /// only in the data, from a config replaced since).
    pub weight: Option<f64>,
    pub counts: Counts,
}

impl VariantTotals {
    /// Clicks per impression; none for a control arm (it shows nothing).
    pub fn click_through_rate(&self) -> Option<f64> {
        let c = &self.counts;
        ratio(c.clicks as f64, c.impressions).filter(|_| !self.control)
    }

    pub fn conversion_rate(&self) -> Option<f64> {
        ratio(self.counts.conversions as f64, self.counts.exposed_persons)
    }

    pub fn revenue_per_exposed_person(&self) -> Option<f64> {
        ratio(self.counts.revenue, self.counts.exposed_persons).map(money)
    }
}

/// `n / d`, none when `d` is 0.
fn ratio(n: f64, d: i64) -> Option<f64> {
    (d != 0).then(|| n / d as f64)
}

/// Sums of prices without float noise (0.1 + 0.2), to a millionth.
fn money(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// A campaign's report over a range of days.
#[derive(Debug, Clone, PartialEq)]
pub struct CampaignReport {
    pub campaign: String,
    pub goal: Option<String>,
    pub from_day: i64,
    pub to_day: i64,
    pub window_days: i64,
    /// The published arms in config order, then arms only in the data.
    pub variants: Vec<VariantTotals>,
    /// Every day of the range × every arm, zeros included.
    pub days: Vec<DayRow>,
    /// Exposed persons (of the range's cohorts) seen in more than one arm.
    pub persons_in_several_arms: i64,
}

impl CampaignReport {
    /// The report of `campaign` from the store's `rows`, with the arms of
    /// its published config (`None` for a campaign no longer published).
    pub fn build(
        campaign: &str,
        published: Option<&ReportedCampaign>,
        (from_day, to_day, window_days): (i64, i64, i64),
        rows: &ReportRows,
    ) -> Self {
        let mut variants: Vec<VariantTotals> = match published {
            Some(c) if c.variants.is_empty() => vec![VariantTotals {
                key: NO_VARIANT.into(),
                weight: Some(1.0),
                ..VariantTotals::default()
            }],
            Some(c) => c
                .variants
                .iter()
                .map(|v| VariantTotals {
                    key: v.key.clone(),
                    control: v.control,
                    weight: Some(v.weight),
                    ..VariantTotals::default()
                })
                .collect(),
            None => Vec::new(),
        };
        let mut data_only: Vec<&DayRow> = rows
            .days
            .iter()
            .filter(|r| !variants.iter().any(|v| v.key == r.variant))
            .collect();
        data_only.sort_by(|a, b| a.variant.cmp(&b.variant));
        data_only.dedup_by(|a, b| a.variant == b.variant);
        variants.extend(data_only.iter().map(|r| {
            VariantTotals {
                key: r.variant.clone(),
                control: rows
                    .days
                    .iter()
                    .any(|d| d.variant == r.variant && d.control),
                ..VariantTotals::default()
            }
        }));
        let mut persons_in_several_arms = 0;
        for row in &rows.days {
            if let Some(v) = variants.iter_mut().find(|v| v.key == row.variant) {
                v.counts.add(&row.counts);
            }
            persons_in_several_arms += row.several_arms;
        }
        let by_day: std::collections::HashMap<(i64, &str), &DayRow> = rows
            .days
            .iter()
            .map(|r| ((r.day, r.variant.as_str()), r))
            .collect();
        let mut days = Vec::new();
        for day in from_day..=to_day {
            for v in &variants {
                let row = by_day
                    .get(&(day, v.key.as_str()))
                    .map(|r| (*r).clone())
                    .unwrap_or_else(|| DayRow {
                        day,
                        variant: v.key.clone(),
                        ..DayRow::default()
                    });
                let mut row = DayRow {
                    control: v.control,
                    ..row
                };
                row.counts.revenue = money(row.counts.revenue);
                days.push(row);
            }
        }
        for v in &mut variants {
            v.counts.revenue = money(v.counts.revenue);
        }
        CampaignReport {
            campaign: campaign.to_owned(),
            goal: published.and_then(|c| c.goal.clone()),
            from_day,
            to_day,
            window_days,
            variants,
            days,
            persons_in_several_arms,
        }
    }

    pub fn exposed_persons(&self) -> i64 {
        self.variants.iter().map(|v| v.counts.exposed_persons).sum()
    }

    /// The report's JSON (`GET …/campaigns/{id}/report`, README "Reports"),
    /// with the A/B analysis's intervals of `horizon`.
    pub fn to_json(&self, horizon: Horizon) -> Value {
        let variants: Vec<Value> = self
            .variants
            .iter()
            .map(|v| {
                let arm = json!({
                    "key": v.key, "control": v.control, "weight": v.weight,
                    "click_through_rate": v.click_through_rate(),
                    "conversion_rate": v.conversion_rate(),
                    "revenue_per_exposed_person": v.revenue_per_exposed_person(),
                });
                with_counts(arm, &v.counts)
            })
            .collect();
        let days: Vec<Value> = self
            .days
            .iter()
            .map(|d| {
                let day = json!({"day": format_day(d.day), "variant": d.variant});
                with_counts(day, &d.counts)
            })
            .collect();
        json!({
            "campaign": self.campaign, "goal": self.goal,
            "from": format_day(self.from_day), "to": format_day(self.to_day),
            "window_days": self.window_days,
            "variants": variants, "days": days,
            "persons_in_several_arms": self.persons_in_several_arms,
            "several_arms_share": ratio(self.persons_in_several_arms as f64, self.exposed_persons()),
            "analysis": analysis::analysis(self, horizon),
        })
    }

    /// One row per day × arm (RFC 4180: CRLF, fields quoted when needed).
    pub fn to_csv(&self) -> String {
        let mut out = String::from(
            "day,variant,control,exposed_persons,impressions,clicks,submits,dismissals,conversions,revenue\r\n",
        );
        for d in &self.days {
            let c = &d.counts;
            let fields = [
                format_day(d.day),
                csv_field(&d.variant),
                d.control.to_string(),
                c.exposed_persons.to_string(),
                c.impressions.to_string(),
                c.clicks.to_string(),
                c.submits.to_string(),
                c.dismissals.to_string(),
                c.conversions.to_string(),
                c.revenue.to_string(),
            ];
            out.push_str(&fields.join(","));
            out.push_str("\r\n");
        }
        out
    }
}

/// `object` with the counts' members.
fn with_counts(mut object: Value, c: &Counts) -> Value {
    for (key, value) in [
        ("exposed_persons", json!(c.exposed_persons)),
        ("impressions", json!(c.impressions)),
        ("clicks", json!(c.clicks)),
        ("submits", json!(c.submits)),
        ("dismissals", json!(c.dismissals)),
        ("conversions", json!(c.conversions)),
        ("revenue", json!(c.revenue)),
    ] {
        object[key] = value;
    }
    object
}

/// A CSV field, quoted (quotes doubled) when it holds a comma, a quote or
/// a line break.
pub fn csv_field(text: &str) -> String {
    // A spreadsheet runs a cell starting with = + - @ as a formula, and
    // one starting with a tab or a carriage return too once it drops that
    // leading whitespace (OWASP's CSV injection list).
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        return csv_field(&format!("'{text}"));
    }
    if text.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// The counters of a journey's per-step report, in the CSV's column order.
const STEP_COLUMNS: &[&str] = &[
    "reached",
    "waiting",
    "sent",
    "suppressed_consent",
    "suppressed_cap",
    "suppressed_holdout",
    "delayed_quiet_hours",
    "exited_goal",
    "exited_end",
    "exited_edited",
    "exited_disabled",
    "exited_removed",
    "exited_merged",
];

/// A journey's per-step report (`GET journeys`' `step_report`) as CSV: one
/// line per step, its position, where it is in the journey and its kind,
/// then each counter (0 when it never happened).
pub fn journey_steps_csv(journey: &serde_json::Value) -> String {
    let mut out = format!("step,path,kind,{}\r\n", STEP_COLUMNS.join(","));
    for row in journey["step_report"].as_array().into_iter().flatten() {
        let text = |key: &str| csv_field(row[key].as_str().unwrap_or_default());
        let counts: Vec<String> = STEP_COLUMNS
            .iter()
            .map(|key| row[*key].as_i64().unwrap_or(0).to_string())
            .collect();
        out.push_str(&format!(
            "{},{},{},{}\r\n",
            row["step"].as_i64().unwrap_or(0),
            text("path"),
            text("kind"),
            counts.join(",")
        ));
    }
    out
}

/// The summary's JSON (`GET …/reports/summary`): every campaign with data.
pub fn summary_json(
    rows: &[SummaryRow],
    (from_day, to_day, window_days): (i64, i64, i64),
) -> Value {
    let campaigns: Vec<Value> = rows
        .iter()
        .map(|s| {
            json!({
                "campaign": s.campaign, "exposed_persons": s.exposed_persons,
                "impressions": s.impressions, "clicks": s.clicks,
                "click_through_rate": ratio(s.clicks as f64, s.impressions),
                "conversions": s.conversions,
                "conversion_rate": ratio(s.conversions as f64, s.exposed_persons),
                "revenue": money(s.revenue),
            })
        })
        .collect();
    json!({
        "from": format_day(from_day), "to": format_day(to_day),
        "days": to_day - from_day + 1, "window_days": window_days, "campaigns": campaigns,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_strict_dates() {
        assert_eq!(parse_day("1970-01-02"), Some(1));
        assert_eq!(format_day(parse_day("2026-09-01").unwrap()), "2026-09-01");
        for bad in [
            "2026-02-30",
            "2026-9-01",
            "2026-09-01T00:00",
            "yesterday",
            "",
        ] {
            assert_eq!(parse_day(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_journeys_steps_read_as_csv_with_every_counter() {
        let journey = serde_json::json!({"step_report": [
            {"step": 0, "path": "steps[0]", "kind": "wait_for", "reached": 2, "waiting": 1},
            {"step": 3, "path": "steps[0].wait_for.else[1]", "kind": "send", "reached": 1, "sent": 1,
             "suppressed_holdout": 1, "conversions": 1, "revenue_cents": 4000},
        ]});
        let csv = journey_steps_csv(&journey);
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(lines[0], "step,path,kind,reached,waiting,sent,suppressed_consent,suppressed_cap,suppressed_holdout,delayed_quiet_hours,exited_goal,exited_end,exited_edited,exited_disabled,exited_removed,exited_merged");
        assert_eq!(lines[1], "0,steps[0],wait_for,2,1,0,0,0,0,0,0,0,0,0,0,0");
        assert_eq!(
            lines[2],
            "3,steps[0].wait_for.else[1],send,1,0,1,0,0,1,0,0,0,0,0,0,0"
        );
        assert_eq!(lines.len(), 4, "a line break after the last line");
    }

    #[test]
    fn csv_fields_are_quoted_only_when_needed() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field(""), "");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("@sum"), "'@sum");
        assert_eq!(csv_field("\t=1+2"), "'\t=1+2");
        assert_eq!(csv_field("\r=1+2"), "\"'\r=1+2\"");
    }

    #[test]
    fn a_report_lists_published_arms_then_arms_only_in_the_data() {
        let published = ReportedCampaign {
            id: "ab".into(),
            goal: Some("Order Completed".into()),
            variants: vec![
                ReportedVariant {
                    key: "b".into(),
                    weight: 0.5,
                    control: true,
                },
                ReportedVariant {
                    key: "a,1".into(),
                    weight: 0.5,
                    control: false,
                },
            ],
        };
        let rows = ReportRows {
            known: true,
            days: vec![
                DayRow {
                    day: 10,
                    variant: "a,1".into(),
                    counts: Counts {
                        exposed_persons: 4,
                        impressions: 8,
                        clicks: 2,
                        conversions: 1,
                        revenue: 0.1 + 0.2,
                        ..Counts::default()
                    },
                    several_arms: 1,
                    ..DayRow::default()
                },
                DayRow {
                    day: 11,
                    variant: "old".into(),
                    control: true,
                    counts: Counts {
                        exposed_persons: 1,
                        impressions: 1,
                        ..Counts::default()
                    },
                    ..DayRow::default()
                },
            ],
        };
        let report = CampaignReport::build("ab", Some(&published), (10, 12, 7), &rows);
        let json = report.to_json(Horizon::Sequential);
        let keys: Vec<&str> = report.variants.iter().map(|v| v.key.as_str()).collect();
        assert_eq!(keys, ["b", "a,1", "old"]);
        assert_eq!(json["goal"], "Order Completed");
        assert_eq!(json["from"], "1970-01-11");
        let b = &json["variants"][0];
        assert_eq!(b["weight"], 0.5);
        assert_eq!(b["conversion_rate"], Value::Null, "no one exposed");
        assert_eq!(b["click_through_rate"], Value::Null);
        let a = &json["variants"][1];
        assert_eq!(a["click_through_rate"], 0.25);
        assert_eq!(a["revenue"], 0.3);
        assert_eq!(a["revenue_per_exposed_person"], 0.075);
        let old = &json["variants"][2];
        assert_eq!(
            (old["weight"].clone(), old["control"].clone()),
            (Value::Null, true.into())
        );
        assert_eq!(json["days"].as_array().unwrap().len(), 3 * 3);
        assert_eq!(json["persons_in_several_arms"], 1);
        assert_eq!(json["several_arms_share"], 0.2);
        let csv = report.to_csv();
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(lines.len(), 1 + 9 + 1, "header, rows, the final line break");
        assert_eq!(lines[2], "1970-01-11,\"a,1\",false,4,8,2,0,0,1,0.3");
        assert_eq!(lines[3], "1970-01-11,old,true,0,0,0,0,0,0,0");
    }

    #[test]
    fn published_campaigns_are_read_from_the_config_text() {
        let text = r#"{"campaigns": [{"id": "welcome", "goal": "Signed Up"},
            {"id": "ab", "variants": [{"key": "control", "weight": 0.5, "control": true}, {"key": "x", "weight": 0.5}]},
            {"name": "no id"}]}"#;
        let campaigns = published_campaigns(text);
        assert_eq!(campaigns.len(), 2);
        assert_eq!(campaigns[0].goal.as_deref(), Some("Signed Up"));
        assert!(campaigns[1].variants[0].control);
        assert!(!campaigns[1].variants[1].control);
        assert!(published_campaigns("not json").is_empty());
    }
}
