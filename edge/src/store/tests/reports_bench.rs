//! Campaign reports' cost, natively on rusqlite (the same SQLite engine the
//! Durable Object runs, without its JavaScript boundary): the append path
//! per event with and without rollups, and the report query over a year of
//! rollups from 10k, 1M and 10M simulated events. Not a test:
//!
//! `cargo test --release -p nudge-edge reports_bench -- --ignored --nocapture`
//!
//! Figures and the machine: BENCHMARKS.md, "Campaign reports".

use std::time::{Duration, Instant};

use super::*;
use crate::reports::CampaignReport;
use crate::store::sql::{Param, Row, Sql};

/// 2026-01-01 as a UTC day: the simulated year starts there.
const YEAR_START_DAY: i64 = 20_454;
const DAY_MS: i64 = 24 * 3600 * 1000;

/// A shop's campaigns: three A/B tests (a control and two arms) and three
/// without, with the goals shops pick.
fn campaigns() -> Vec<ReportedCampaign> {
    let arms = || {
        ["control", "plain", "urgency"]
            .iter()
            .map(|key| ReportedVariant {
                key: (*key).into(),
                weight: 1.0 / 3.0,
                control: *key == "control",
            })
            .collect()
    };
    let campaign = |id: &str, goal: Option<&str>, ab: bool| ReportedCampaign {
        id: id.into(),
        goal: goal.map(str::to_owned),
        variants: if ab { arms() } else { Vec::new() },
    };
    vec![
        campaign("exit-offer", Some("Order Completed"), true),
        campaign("newsletter", Some("Signed Up"), true),
        campaign("free-shipping", Some("Checkout Started"), true),
        campaign("welcome", Some("Signed Up"), false),
        campaign("cart-rescue", Some("Order Completed"), false),
        campaign("announcement", None, false),
    ]
}

/// xorshift64*: deterministic, so every run sees the same stream.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
}

/// One simulated visit: its person and the events a report reads (built as
/// JSON) and, when `all`, every other event too (page views, built only for
/// the append path: rollups return at once for them).
struct Session {
    person: String,
    events: Vec<Value>,
}

/// A year of a shop's traffic, `total` events in visits of about 10 events.
/// Ratios: a campaign shown in 35% of visits (a third of them A/B tests);
/// of shown popups 6% clicked, 50% dismissed, 4% submitted (forms); a
/// checkout started in 8% of visits, an order in 3% (20-200). Persons come
/// back (40% of visits are returning ones); a third of them use a second
/// device, bucketed on its own, so some persons see two arms.
fn simulate(total: u64, all: bool, mut visit: impl FnMut(Session)) {
    let campaigns = campaigns();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let sessions = total / 10;
    let (mut emitted, mut persons, mut seq) = (0u64, 0u64, 0u64);
    for i in 0..sessions {
        let day = YEAR_START_DAY + (i * 365 / sessions) as i64;
        let mut at = day * DAY_MS + rng.below(20 * 3600 * 1000) as i64;
        let person = if persons > 0 && rng.chance(0.4) {
            rng.below(persons)
        } else {
            persons += 1;
            persons - 1
        };
        let device = u64::from(person % 3 == 0 && rng.chance(0.3));
        let anon = format!("a{person}-{device}");
        let mut events = Vec::new();
        let mut event = |name: &str, props: Value, at: &mut i64| {
            seq += 1;
            *at += 30_000;
            events.push(json!({"type": "track", "event": name, "messageId": format!("m{seq}"),
                "anonymousId": anon, "timestamp": nudge_core::time::to_iso8601(*at), "properties": props}));
        };
        if rng.chance(0.35) {
            let campaign = &campaigns[rng.below(campaigns.len() as u64) as usize];
            let arm = campaign.variants.get(
                nudge_core::bucket::fingerprint(&[&anon, &campaign.id]) as usize
                    % campaign.variants.len().max(1),
            );
            let mut props =
                json!({"campaign_id": campaign.id, "control": arm.is_some_and(|a| a.control)});
            if let Some(arm) = arm {
                props["variant"] = arm.key.as_str().into();
            }
            event("Campaign Shown", props.clone(), &mut at);
            if !arm.is_some_and(|a| a.control) {
                if rng.chance(0.06) {
                    event("Campaign Clicked", props.clone(), &mut at);
                }
                if rng.chance(0.04) {
                    event("Signed Up", props.clone(), &mut at);
                }
                if rng.chance(0.5) {
                    event("Campaign Dismissed", props, &mut at);
                }
            }
        }
        if rng.chance(0.08) {
            event("Checkout Started", json!({}), &mut at);
        }
        if rng.chance(0.03) {
            let total = 20 + rng.below(181);
            event("Order Completed", json!({"total": total}), &mut at);
        }
        let size = (6 + rng.below(9)).max(events.len() as u64 + 1);
        let inert = size - events.len() as u64;
        if all {
            for n in 0..inert {
                seq += 1;
                events.push(
                    json!({"type": "page", "name": "Product", "messageId": format!("m{seq}"),
                    "anonymousId": anon, "timestamp": nudge_core::time::to_iso8601(at + n as i64),
                    "properties": {"path": "/products/p"}}),
                );
            }
        }
        emitted += size;
        visit(Session {
            person: format!("p{person}"),
            events,
        });
        if emitted >= total {
            break;
        }
    }
}

fn in_transactions(sql: &TestSql, every: u64, count: &mut u64) {
    *count += 1;
    if *count % every == 0 {
        sql.execute("COMMIT", &[]).unwrap();
        sql.execute("BEGIN", &[]).unwrap();
    }
}

/// Counts the statements the store runs (on the Durable Object each one
/// crosses into JavaScript: BENCHMARKS.md §5 measured about 43 µs each).
struct Counting<'a> {
    sql: &'a TestSql,
    statements: std::cell::Cell<u64>,
}

impl Sql for Counting<'_> {
    fn query(&self, sql: &str, params: &[Param]) -> StoreResult<Vec<Row>> {
        self.statements.set(self.statements.get() + 1);
        self.sql.query(sql, params)
    }

    fn execute(&self, sql: &str, params: &[Param]) -> StoreResult<usize> {
        self.statements.set(self.statements.get() + 1);
        self.sql.execute(sql, params)
    }
}

/// Appends `total` events a visit per batch (one transaction each, as the
/// Durable Object commits a request), with or without rollups: the events,
/// the time and the SQL statements run.
fn append_path(total: u64, rollups: bool) -> (u64, Duration, u64) {
    let sql = store();
    let counting = Counting {
        sql: &sql,
        statements: Default::default(),
    };
    let db = Db {
        sql: &counting,
        now: (YEAR_START_DAY + 366) * DAY_MS,
    };
    let campaigns = if rollups { campaigns() } else { Vec::new() };
    let mut batches = Vec::new();
    let mut events = 0;
    simulate(total, true, |s| {
        events += s.events.len() as u64;
        batches.push(s.events);
    });
    let started = Instant::now();
    for batch in batches {
        sql.execute("BEGIN", &[]).unwrap();
        db.append(&Append {
            events: batch,
            cookie_browser: None,
            client: "c".into(),
            browser_key: None,
            campaigns: campaigns.clone(),
            held: Vec::new(),
            objects: 0,
            away: false,
        })
        .unwrap();
        sql.execute("COMMIT", &[]).unwrap();
    }
    (events, started.elapsed(), counting.statements.get())
}

/// A year of rollups from `total` simulated events, through the event
/// path's own rollup code (`Db::report_event`, per event, in order); the
/// events themselves are not stored (reports never read them).
fn rollups_of(total: u64) -> (TestSql, Duration) {
    let sql = store();
    let db = db(&sql, (YEAR_START_DAY + 366) * DAY_MS);
    let campaigns = campaigns();
    let started = Instant::now();
    sql.execute("BEGIN", &[]).unwrap();
    let mut count = 0;
    simulate(total, false, |s| {
        for event in &s.events {
            db.report_event(&s.person, event, &campaigns).unwrap();
            in_transactions(&sql, 50_000, &mut count);
        }
    });
    sql.execute("COMMIT", &[]).unwrap();
    (sql, started.elapsed())
}

fn median(mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..9)
        .map(|_| {
            let started = Instant::now();
            f();
            started.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

#[test]
#[ignore = "benchmark: cargo test --release -p nudge-edge reports_bench -- --ignored --nocapture"]
fn reports_bench() {
    println!("\nappend path (Db::append, a visit per batch and transaction, in-memory SQLite)");
    println!("| events | without rollups µs/event | with rollups µs/event | rollups add | SQL statements per 100 events, without / with |");
    for total in [10_000, 100_000] {
        let (events, without, plain) = append_path(total, false);
        let (_, with, rolled) = append_path(total, true);
        let per = |d: Duration| d.as_secs_f64() * 1e6 / events as f64;
        println!(
            "| {events} | {:.2} | {:.2} | {:+.0}% | {:.0} / {:.0} |",
            per(without),
            per(with),
            (per(with) / per(without) - 1.0) * 100.0,
            plain as f64 * 100.0 / events as f64,
            rolled as f64 * 100.0 / events as f64,
        );
    }
    println!("\nreport query over a year of rollups (median of 9)");
    println!("| events | exposed persons | report_days rows | report_outcomes rows | report_persons rows | DB MB | fill s | report, 365 days ms | report, 30 days ms | its JSON, 365 days ms | summary, 30 days ms |");
    let published = campaigns();
    for total in [10_000u64, 1_000_000, 10_000_000] {
        let (sql, fill) = rollups_of(total);
        let db = db(&sql, (YEAR_START_DAY + 366) * DAY_MS);
        let last = YEAR_START_DAY + 364;
        let mut exposed = 0;
        let year = median(|| {
            for c in &published {
                db.report(&c.id, YEAR_START_DAY, last, 30).unwrap();
            }
        }) / published.len() as u32;
        let month = median(|| {
            db.report("exit-offer", last - 29, last, 7).unwrap();
        });
        let rows = db.report("exit-offer", YEAR_START_DAY, last, 30).unwrap();
        let json = median(|| {
            let report = CampaignReport::build(
                "exit-offer",
                published.first(),
                (YEAR_START_DAY, last, 30),
                &rows,
            );
            exposed = report.exposed_persons() as usize;
            std::hint::black_box(
                report
                    .to_json(crate::reports::Horizon::Sequential)
                    .to_string(),
            );
        });
        let summary = median(|| {
            db.report_summary(last - 29, last, 7).unwrap();
        });
        let rows = |t: &str| count_rows(&sql, t);
        let bytes = sql
            .int(
                "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
                &[],
            )
            .unwrap()
            .unwrap_or(0);
        println!(
            "| {total} | {exposed} (exit-offer) | {} | {} | {} | {:.1} | {:.1} | {} | {} | {} | {} |",
            rows("report_days"),
            rows("report_outcomes"),
            rows("report_persons"),
            bytes as f64 / 1e6,
            fill.as_secs_f64(),
            ms(year),
            ms(month),
            ms(json),
            ms(summary)
        );
    }
}

fn count_rows(sql: &TestSql, table: &str) -> i64 {
    sql.int(&format!("SELECT count(*) FROM {table}"), &[])
        .unwrap()
        .unwrap_or(0)
}
