//! Campaign reports for the site owner (admin token checked by the route
//! table): one campaign's report as JSON or CSV, and every campaign's
//! totals for the studio's list. What the numbers mean: `crate::reports`.

use worker::{Env, Headers, Request, Response};

use crate::http::{ok, query, refuse, site_config, EdgeError, Handled};
use crate::reports::{
    day_of, format_day, parse_day, published_campaigns, summary_json, CampaignReport, Horizon,
    MAX_LAG_DAYS, MAX_RANGE_DAYS,
};
use crate::store::protocol::Report;
use crate::store::protocol::ReportSummary;

/// The report's days when none are asked for: the last 30, today included.
const DEFAULT_RANGE_DAYS: i64 = 30;
const DEFAULT_WINDOW_DAYS: i64 = 7;

/// `GET …/campaigns/{id}/report[?from=YYYY-MM-DD&to=YYYY-MM-DD&window=7&format=csv]`.
pub async fn campaign(req: Request, env: &Env, site: &str, campaign: &str) -> Handled {
    if !is_campaign_id(campaign) {
        return Err(refuse(
            400,
            "invalid_campaign",
            "a campaign id is 1-64 characters of a-z, A-Z, 0-9, - and _",
        ));
    }
    let today = day_of(worker::Date::now().as_millis() as i64);
    let window = window(&req)?;
    let (from, to) = range(&req, today)?;
    let csv = match query(&req, "format")?.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => return Err(refuse(400, "invalid_format", "format is json or csv")),
    };
    let published = published_campaigns(&site_config(env, site).await?);
    let published = published.iter().find(|c| c.id == campaign);
    let command = Report {
        campaign: campaign.to_owned(),
        from_day: from,
        to_day: to,
        window_days: window,
    };
    let rows = crate::store::call(env, site, &command).await?;
    if published.is_none() && !rows.known {
        return Err(refuse(
            404,
            "unknown_campaign",
            format!("campaign {campaign} is not in the published config and has no data"),
        ));
    }
    let report = CampaignReport::build(campaign, published, (from, to, window), &rows);
    let horizon = match query(&req, "method")?.as_deref() {
        None | Some("sequential") => Horizon::Sequential,
        Some("fixed_horizon") => Horizon::Fixed,
        Some(_) => {
            return Err(refuse(
                400,
                "invalid_method",
                "method is sequential (valid at every look; the default) or fixed_horizon (one look at a sample size planned in advance)",
            ))
        }
    };
    if !csv {
        return ok(&report.to_json(horizon));
    }
    let headers = Headers::new();
    headers.set("content-type", "text/csv; charset=utf-8")?;
    headers.set("cache-control", "no-store")?;
    headers.set(
        "content-disposition",
        &format!(
            "attachment; filename=\"nudge-{campaign}-{}-{}.csv\"",
            format_day(from),
            format_day(to)
        ),
    )?;
    Ok(Response::ok(report.to_csv())?.with_headers(headers))
}

/// `GET …/reports/summary[?days=7&window=7]`: every campaign with data in
/// the last `days` days (today included), in totals.
pub async fn summary(req: Request, env: &Env, site: &str) -> Handled {
    let today = day_of(worker::Date::now().as_millis() as i64);
    let days = whole_number(&req, "days", 7, 1..=MAX_RANGE_DAYS, "invalid_days")?;
    let window = window(&req)?;
    let (from, to) = (today - days + 1, today);
    let command = ReportSummary {
        from_day: from,
        to_day: to,
        window_days: window,
    };
    let rows = crate::store::call(env, site, &command).await?;
    ok(&summary_json(&rows, (from, to, window)))
}

fn is_campaign_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `?window=`: the conversion window in days (1-90, 7 by default).
fn window(req: &Request) -> Result<i64, EdgeError> {
    whole_number(
        req,
        "window",
        DEFAULT_WINDOW_DAYS,
        1..=MAX_LAG_DAYS,
        "invalid_window",
    )
}

/// A whole-number query parameter within `allowed`, or `default`.
fn whole_number(
    req: &Request,
    name: &str,
    default: i64,
    allowed: std::ops::RangeInclusive<i64>,
    code: &'static str,
) -> Result<i64, EdgeError> {
    let Some(text) = query(req, name)? else {
        return Ok(default);
    };
    text.parse()
        .ok()
        .filter(|n| allowed.contains(n))
        .ok_or_else(|| {
            refuse(
                400,
                code,
                format!(
                    "{name} must be a whole number of days from {} to {}, got {text:?}",
                    allowed.start(),
                    allowed.end()
                ),
            )
        })
}

/// `from` and `to` (UTC days, both included): by default the last 30 days.
fn range(req: &Request, today: i64) -> Result<(i64, i64), EdgeError> {
    let day = |name: &str| -> Result<Option<i64>, EdgeError> {
        match query(req, name)? {
            None => Ok(None),
            Some(text) => parse_day(&text).map(Some).ok_or_else(|| {
                refuse(
                    400,
                    "invalid_date",
                    format!("{name} must be a date as YYYY-MM-DD, got {text:?}"),
                )
            }),
        }
    };
    let to = day("to")?.unwrap_or(today);
    let from = day("from")?.unwrap_or(to - DEFAULT_RANGE_DAYS + 1);
    if from > to {
        return Err(refuse(400, "invalid_range", "from is after to"));
    }
    if to - from + 1 > MAX_RANGE_DAYS {
        return Err(refuse(
            400,
            "invalid_range",
            format!("a report covers at most {MAX_RANGE_DAYS} days"),
        ));
    }
    Ok((from, to))
}
