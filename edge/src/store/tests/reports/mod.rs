//! Campaign reports' rollups on rusqlite: what counts, on which day and arm,
//! conversions by lag, and what never counts (preview, duplicates, unproven
//! events, unpublished campaigns). Persons across devices and merges: `merges.rs`.

use super::*;
use crate::reports::{parse_day, CampaignReport, VariantTotals};

/// The published campaigns, as the events route passes them.
fn campaigns() -> Vec<ReportedCampaign> {
    let arm = |key: &str, weight: f64, control: bool| ReportedVariant {
        key: key.into(),
        weight,
        control,
    };
    vec![
        ReportedCampaign {
            id: "ab".into(),
            goal: Some("Signed Up".into()),
            variants: vec![
                arm("control", 0.34, true),
                arm("plain", 0.33, false),
                arm("urgency", 0.33, false),
            ],
        },
        ReportedCampaign {
            id: "solo".into(),
            goal: Some("Order Completed".into()),
            variants: Vec::new(),
        },
    ]
}

/// A track event at `when` (`MM-DDTHH`, in September 2026).
fn track(id: &str, anon: &str, name: &str, when: &str, props: Value) -> Value {
    json!({"type": "track", "event": name, "messageId": id, "anonymousId": anon,
           "timestamp": format!("2026-{when}:00:00.000Z"), "properties": props})
}

fn order(id: &str, anon: &str, when: &str, total: f64) -> Value {
    track(id, anon, "Order Completed", when, json!({"total": total}))
}

fn shown(id: &str, anon: &str, when: &str, campaign: &str, variant: Option<&str>) -> Value {
    let mut props = json!({"campaign_id": campaign, "control": variant == Some("control")});
    if let Some(v) = variant {
        props["variant"] = v.into();
    }
    track(id, anon, "Campaign Shown", when, props)
}

/// Sends a batch as the events route does: the last browser's key, the
/// published campaigns.
fn send(db: &Db<'_>, events: Vec<Value>) -> Appended {
    let anon = events.last().unwrap()["anonymousId"]
        .as_str()
        .unwrap()
        .to_owned();
    db.append(&Append {
        events,
        cookie_browser: None,
        client: "c".into(),
        browser_key: Some(BrowserKey {
            key_hash: format!("h-{anon}"),
            anonymous_id: anon,
        }),
        campaigns: campaigns(),
        held: Vec::new(),
        objects: 0,
        away: false,
    })
    .unwrap()
}

/// Sends one event, as [`send`].
fn one(db: &Db<'_>, event: Value) -> Appended {
    send(db, vec![event])
}

fn day(date: &str) -> i64 {
    parse_day(&format!("2026-{date}")).unwrap()
}

/// The report of `campaign` over September 2026 with a `window`.
fn report(db: &Db<'_>, campaign: &str, window: i64) -> CampaignReport {
    let range = (day("09-01"), day("09-30"), window);
    let rows = db.report(campaign, range.0, range.1, window).unwrap();
    let published = campaigns().into_iter().find(|c| c.id == campaign);
    CampaignReport::build(campaign, published.as_ref(), range, &rows)
}

fn arm<'a>(report: &'a CampaignReport, key: &str) -> &'a VariantTotals {
    report.variants.iter().find(|v| v.key == key).unwrap()
}

/// `(exposed persons, impressions, clicks, submits, dismissals)` of one day and arm.
fn on(report: &CampaignReport, date: &str, variant: &str) -> (i64, i64, i64, i64, i64) {
    let d = report
        .days
        .iter()
        .find(|d| d.day == day(date) && d.variant == variant)
        .unwrap();
    let c = &d.counts;
    (
        c.exposed_persons,
        c.impressions,
        c.clicks,
        c.submits,
        c.dismissals,
    )
}

fn count(sql: &TestSql, table: &str) -> i64 {
    sql.int(&format!("SELECT count(*) FROM {table}"), &[])
        .unwrap()
        .unwrap()
}

#[test]
fn exposures_and_actions_are_counted_per_day_and_arm() {
    let sql = store();
    let db = db(&sql, T0);
    let plain = |what: &str| json!({"campaign_id": "ab", "variant": "plain", "field": what});
    send(
        &db,
        vec![
            shown("s1", "a1", "09-01T10", "ab", Some("plain")),
            shown("s2", "a1", "09-01T11", "ab", Some("plain")),
            track("c1", "a1", "Campaign Clicked", "09-01T11", plain("")),
            track("d1", "a1", "Campaign Dismissed", "09-02T08", plain("")),
            track("u1", "a1", "Signed Up", "09-02T09", plain("email")),
        ],
    );
    send(
        &db,
        vec![
            shown("s3", "a2", "09-02T10", "ab", Some("urgency")),
            track(
                "d2",
                "a2",
                "Campaign Dismissed",
                "09-02T10",
                json!({"campaign_id": "ab", "variant": "urgency"}),
            ),
        ],
    );
    one(&db, shown("s4", "a3", "09-02T12", "ab", Some("control")));
    one(&db, shown("s5", "a4", "09-01T12", "solo", None));
    // Not published: another campaign, an arm the test does not have, an
    // arm on a campaign without a test. Kept in the log, never rolled up.
    send(
        &db,
        vec![
            shown("x1", "a5", "09-01T12", "ghost", None),
            shown("x2", "a5", "09-01T12", "ab", Some("zzz")),
            shown("x3", "a5", "09-01T12", "ab", None),
            shown("x4", "a5", "09-01T12", "solo", Some("plain")),
        ],
    );

    let ab = report(&db, "ab", 7);
    assert_eq!(on(&ab, "09-01", "plain"), (1, 2, 1, 0, 0));
    assert_eq!(on(&ab, "09-02", "plain"), (0, 0, 0, 1, 1));
    assert_eq!(on(&ab, "09-02", "urgency"), (1, 1, 0, 0, 1));
    assert_eq!(on(&ab, "09-02", "control"), (1, 1, 0, 0, 0));
    let keys: Vec<&str> = ab.variants.iter().map(|v| v.key.as_str()).collect();
    assert_eq!(keys, ["control", "plain", "urgency"], "config order");
    let plain = arm(&ab, "plain");
    assert_eq!(plain.click_through_rate(), Some(0.5));
    // Its sign-up is also the campaign's goal: a conversion on day 0.
    assert_eq!(plain.conversion_rate(), Some(1.0));
    let control = arm(&ab, "control");
    assert!(control.control);
    assert_eq!(control.weight, Some(0.34));
    assert_eq!(
        control.click_through_rate(),
        None,
        "a control shows nothing"
    );
    assert_eq!(ab.days.len(), 30 * 3, "every day × every arm");
    assert_eq!(ab.exposed_persons(), 3);

    let solo = report(&db, "solo", 7);
    assert_eq!(on(&solo, "09-01", ""), (1, 1, 0, 0, 0));
    assert_eq!(solo.variants.len(), 1);
    let ghost = db.report("ghost", day("09-01"), day("09-30"), 7).unwrap();
    assert!(!ghost.known);
    assert!(ghost.days.is_empty());
    assert_eq!(count(&sql, "report_persons"), 4);

    let summary = db.report_summary(day("09-01"), day("09-30"), 7).unwrap();
    let ab = summary.iter().find(|s| s.campaign == "ab").unwrap();
    // Impressions of the arms that show something: not the control's.
    assert_eq!((ab.exposed_persons, ab.impressions, ab.clicks), (3, 3, 1));
    assert_eq!(summary.len(), 2);
}

#[test]
fn a_conversion_counts_once_at_its_lag_inside_the_window() {
    let sql = store();
    let db = db(&sql, T0);
    one(&db, shown("s1", "b1", "09-01T10", "ab", Some("plain")));
    // 2 days 23 hours after the exposure: lag 2. A second sign-up is not a
    // second conversion.
    one(&db, track("g1", "b1", "Signed Up", "09-04T09", json!({})));
    one(&db, track("g2", "b1", "Signed Up", "09-05T09", json!({})));
    one(&db, shown("s2", "b2", "09-01T10", "ab", Some("urgency")));
    one(&db, track("g3", "b2", "Signed Up", "09-20T10", json!({})));
    // A goal event timed before the exposure, stored after it: no conversion.
    one(&db, shown("s3", "b3", "09-02T10", "ab", Some("plain")));
    one(&db, track("g4", "b3", "Signed Up", "09-01T10", json!({})));
    // A goal event stored before any exposure is not looked at again.
    one(&db, track("g5", "b4", "Signed Up", "09-02T10", json!({})));
    one(&db, shown("s4", "b4", "09-02T09", "ab", Some("urgency")));

    let conversions =
        |window: i64, key: &str| arm(&report(&db, "ab", window), key).counts.conversions;
    assert_eq!(
        conversions(2, "plain"),
        0,
        "lag 2 is outside a 2-day window"
    );
    assert_eq!(conversions(3, "plain"), 1);
    assert_eq!(conversions(90, "plain"), 1);
    assert_eq!(conversions(7, "urgency"), 0);
    assert_eq!(conversions(30, "urgency"), 1, "lag 19");
    let plain = report(&db, "ab", 7);
    assert_eq!(arm(&plain, "plain").conversion_rate(), Some(0.5));
    let day_one = plain
        .days
        .iter()
        .find(|d| d.day == day("09-01") && d.variant == "plain")
        .unwrap();
    assert_eq!(day_one.counts.conversions, 1, "on the day of the exposure");
}

#[test]
fn orders_after_the_exposure_are_revenue_at_their_lag() {
    let sql = store();
    let db = db(&sql, T0);
    one(&db, order("o0", "r1", "09-01T01", 99.0));
    one(&db, shown("s1", "r1", "09-01T02", "solo", None));
    one(&db, order("o1", "r1", "09-01T05", 30.1));
    one(&db, order("o2", "r1", "09-10T05", 20.2));
    one(
        &db,
        track(
            "o3",
            "r1",
            "Order Completed",
            "09-11T05",
            json!({"revenue": 5}),
        ),
    );
    let solo = report(&db, "solo", 7);
    let arm = arm(&solo, "");
    assert_eq!(arm.counts.conversions, 1, "the first order is the goal");
    assert_eq!(
        arm.counts.revenue, 30.1,
        "the order before the exposure is not"
    );
    assert_eq!(arm.revenue_per_exposed_person(), Some(30.1));
    let ten = report(&db, "solo", 10);
    assert_eq!(
        ten.variants[0].counts.revenue, 50.3,
        "lag 9 is inside 10 days"
    );
    assert_eq!(report(&db, "solo", 11).variants[0].counts.revenue, 55.3);
}

#[test]
fn preview_duplicate_unproven_and_unreported_events_do_not_count() {
    let sql = store();
    let db = db(&sql, T0);
    // The studio's preview, tagged either way.
    let mut in_context = shown("p1", "v1", "09-01T10", "ab", Some("plain"));
    in_context["context"] = json!({"preview": true});
    let mut in_props = shown("p2", "v1", "09-01T10", "solo", None);
    in_props["properties"]["preview"] = true.into();
    send(&db, vec![in_context, in_props]);
    assert_eq!(count(&sql, "report_days"), 0);
    // Delivered twice: counted once.
    let once = shown("s1", "v1", "09-01T10", "ab", Some("plain"));
    send(&db, vec![once.clone()]);
    assert_eq!(send(&db, vec![once]).duplicates, 1);
    assert_eq!(arm(&report(&db, "ab", 7), "plain").counts.impressions, 1);
    // A batch naming v1 with a key that is not v1's: kept, not counted.
    let forged = db
        .append(&Append {
            events: vec![shown("f1", "v1", "09-01T11", "ab", Some("plain"))],
            cookie_browser: None,
            client: "c".into(),
            browser_key: Some(BrowserKey {
                anonymous_id: "v1".into(),
                key_hash: "h-guess".into(),
            }),
            campaigns: campaigns(),
            held: Vec::new(),
            objects: 0,
            away: false,
        })
        .unwrap();
    assert_eq!(forged.unproven, ["f1"]);
    assert_eq!(arm(&report(&db, "ab", 7), "plain").counts.impressions, 1);
    // A caller without the published campaigns rolls nothing up.
    db.append(&Append {
        events: vec![shown("s2", "v2", "09-01T11", "ab", Some("plain"))],
        cookie_browser: None,
        client: "c".into(),
        browser_key: None,
        campaigns: Vec::new(),
        held: Vec::new(),
        objects: 0,
        away: false,
    })
    .unwrap();
    assert_eq!(
        arm(&report(&db, "ab", 7), "plain").counts.exposed_persons,
        1
    );
    // Dated long ago (before August 22nd, 30 days before now): not counted,
    // so forged events cannot fill rows for old days.
    one(&db, shown("old", "v4", "08-01T10", "ab", Some("plain")));
    assert_eq!(
        db.report("ab", day("08-01"), day("08-01"), 7)
            .unwrap()
            .days
            .len(),
        0
    );
    // A forged order cannot swamp revenue.
    one(&db, shown("s4", "v5", "09-02T10", "ab", Some("plain")));
    one(&db, order("o-huge", "v5", "09-02T11", 1e300));
    assert_eq!(
        arm(&report(&db, "ab", 7), "plain").counts.revenue,
        nudge_core::event::MAX_ORDER_REVENUE
    );
    // A timestamp in the future is counted today, not tomorrow.
    one(&db, shown("s3", "v3", "12-25T10", "ab", Some("plain")));
    let today = crate::reports::day_of(T0);
    let rows = db.report("ab", today, today, 7).unwrap();
    assert_eq!(rows.days.len(), 1);
    assert_eq!(rows.days[0].counts.impressions, 1);
}

#[test]
fn rollups_outlive_the_events_they_came_from() {
    let sql = store();
    let db = db(&sql, T0);
    one(&db, shown("s1", "w1", "09-01T10", "ab", Some("plain")));
    let later = super::db(&sql, T0 + 400 * 24 * 3600 * 1000);
    while later.prune(&Retention::default()).unwrap() {}
    assert_eq!(count(&sql, "events"), 0);
    assert_eq!(
        arm(&report(&db, "ab", 7), "plain").counts.exposed_persons,
        1
    );
}

mod merges;
