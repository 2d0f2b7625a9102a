//! Journey timers at scale, natively on rusqlite (the same SQLite engine the
//! Durable Object runs, without its JavaScript boundary): how many pending
//! timers one site's store holds, and what arming, finding, firing and
//! cancelling them costs with 10k, 100k and 1M pending. Not a test:
//!
//! `cargo test --release -p nudge-edge journeys_bench -- --ignored --nocapture`
//!
//! Figures and the machine: BENCHMARKS.md, "Journey timers".

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use nudge_core::journey::Journeys;

use super::*;
use crate::store::journeys::DUE_PER_STEP;
use crate::store::sql::{params, Param, Row, Sql};

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
/// Pending timers fall in the 30 days after `T0`.
const SPREAD: i64 = 30 * DAY;
/// Runs fired, and runs cancelled, per size.
const BATCH: usize = 1_000;

/// A shop's cart abandonment: wait, hand out a pool coupon and set a stage,
/// send; an order ends the run (its goal). The welcome series is there as
/// shops have more than one journey (its entry never happens here).
const CONFIG: &str = r#"{
  "campaigns": [],
  "messaging_caps": {"per_day": 2},
  "journeys": [
    {"id": "cart", "entry": {"event": "Product Added"},
     "exit": {"goal": "Order Completed"},
     "steps": [{"wait": {"hours": 4}}, {"set": {"coupon_pool": "cart10", "stage": "reminded"}},
               {"send": {"destination": "email", "event": "Cart Abandoned"}}]},
    {"id": "welcome", "entry": {"event": "Signed Up"},
     "steps": [{"send": {"destination": "email", "event": "Welcome"}},
               {"wait": {"days": 2}}, {"send": {"destination": "email", "event": "Welcome 2"}}]}
  ]
}"#;

pub(super) fn journeys() -> Journeys {
    let config: nudge_core::Value = serde_json::from_str(CONFIG).unwrap();
    let (journeys, problems) = Journeys::from_config(&config);
    assert!(problems.is_empty(), "{problems:?}");
    journeys
}

/// Counts the statements the store runs (on the Durable Object each one
/// crosses into JavaScript: BENCHMARKS.md §5 measured about 43 µs each) and
/// keeps their text, for their query plans.
pub(super) struct Traced<'a> {
    sql: &'a TestSql,
    pub(super) statements: Cell<u64>,
    pub(super) texts: RefCell<BTreeSet<String>>,
}

impl<'a> Traced<'a> {
    pub(super) fn over(sql: &'a TestSql) -> Self {
        Traced {
            sql,
            statements: Cell::new(0),
            texts: RefCell::default(),
        }
    }
}

impl Traced<'_> {
    fn note(&self, sql: &str) {
        self.statements.set(self.statements.get() + 1);
        if !sql.starts_with("BEGIN") && !sql.starts_with("COMMIT") {
            self.texts.borrow_mut().insert(sql.to_owned());
        }
    }
}

impl Sql for Traced<'_> {
    fn query(&self, sql: &str, params: &[Param]) -> StoreResult<Vec<Row>> {
        self.note(sql);
        self.sql.query(sql, params)
    }

    fn execute(&self, sql: &str, params: &[Param]) -> StoreResult<usize> {
        self.note(sql);
        self.sql.execute(sql, params)
    }
}

/// One browser's event, with marketing consent (sends are not suppressed).
fn browser_event(id: String, anon: &str, name: &str, props: Value) -> Value {
    json!({"type": "track", "event": name, "messageId": id, "anonymousId": anon,
           "timestamp": "2026-09-01T00:00:00.000Z", "properties": props,
           "context": {"consent": {"marketing": true, "analytics": true}}})
}

/// A request from the event's browser, in its own transaction, as the Durable
/// Object commits one.
pub(super) fn request(db: &Db<'_>, raw: &TestSql, j: &Journeys, event: Value) {
    raw.execute("BEGIN", &[]).unwrap();
    dispatch(db, Command::Append(agent_batch(vec![event])), j).unwrap();
    raw.execute("COMMIT", &[]).unwrap();
}

/// An alarm step at `now`, in its own transaction; how many runs it played.
pub(super) fn alarm_step(db: &Db<'_>, raw: &TestSql, j: &Journeys, limit: i64) -> usize {
    raw.execute("BEGIN", &[]).unwrap();
    let fired = db.fire_due_runs(j, limit).unwrap();
    raw.execute("COMMIT", &[]).unwrap();
    fired
}

/// Run `i`'s timer: evenly over the 30 days after `T0`, the earliest first.
pub(super) fn due(i: usize, pending: usize) -> i64 {
    T0 + 1 + (i as i64 * SPREAD) / pending as i64
}

/// Browser `i`'s cart: a product added 4 hours before its timer.
fn product_added(i: usize) -> Value {
    browser_event(
        format!("add-{i}"),
        &format!("a{i}"),
        "Product Added",
        json!({"product_id": format!("sku-{}", i % 500), "name": "Wool coat",
               "price": 120.0, "category": "coats", "quantity": 1}),
    )
}

pub(super) struct Armed {
    entry: Duration,
    wait: Duration,
    statements: u64,
    bulk: usize,
    bulk_time: Duration,
}

/// Arms `pending` timers. Through the real paths: browser `i` adds a product
/// (an entry, `Db::append` then `Db::journeys_on_event`, a new person each)
/// at `due(i) - 4 h`, and the alarm step then plays the run's first step
/// (the 4-hour wait) and so sets its timer to `due(i)`. Browsers arm latest
/// first, so each step finds only the new run due. Runs `through_events..pending`
/// (none unless `through_events < pending`) are inserted instead with `insert_run`'s
/// statement (waiting at the same step, timers in the same spread, persons
/// without a store record), in one transaction.
pub(super) fn arm(
    db: &Db<'_>,
    traced: &Traced<'_>,
    raw: &TestSql,
    j: &Journeys,
    pending: usize,
    through_events: usize,
) -> Armed {
    let shape = j.journey("cart").unwrap().shape as i64;
    let started = Instant::now();
    raw.execute("BEGIN", &[]).unwrap();
    for i in (through_events..pending).rev() {
        let at = due(i, pending);
        raw.execute(
            "INSERT OR IGNORE INTO journey_runs (person, journey, number, step, entered_at, next_due, shape)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
            params![format!("bulk-{i}"), "cart", 1, 1, at - 4 * HOUR, at, shape],
        )
        .unwrap();
    }
    raw.execute("COMMIT", &[]).unwrap();
    let bulk_time = started.elapsed();
    let before = traced.statements.get();
    let (mut entry, mut wait) = (Duration::ZERO, Duration::ZERO);
    for i in (0..through_events.min(pending)).rev() {
        let db = Db {
            sql: db.sql,
            now: due(i, pending) - 4 * HOUR,
        };
        let started = Instant::now();
        request(&db, raw, j, product_added(i));
        let entered = Instant::now();
        assert_eq!(alarm_step(&db, raw, j, DUE_PER_STEP), 1);
        wait += entered.elapsed();
        entry += entered - started;
    }
    Armed {
        entry,
        wait,
        statements: traced.statements.get() - before,
        bulk: pending.saturating_sub(through_events),
        bulk_time,
    }
}

fn median(runs: usize, mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let started = Instant::now();
            f();
            started.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

fn us(d: Duration, n: usize) -> f64 {
    d.as_secs_f64() * 1e6 / n as f64
}

fn int(sql: &TestSql, query: &str) -> i64 {
    sql.int(query, &[]).unwrap().unwrap_or(0)
}

/// Statements whose plan scans a whole table (`SCAN t`, not `SCAN t USING
/// ... INDEX`, and not the constant-row `SCAN CONSTANT ROW`).
fn scans(raw: &TestSql, texts: &BTreeSet<String>) -> Vec<String> {
    let mut found = Vec::new();
    for text in texts {
        let mut statement = raw
            .0
            .prepare(&format!("EXPLAIN QUERY PLAN {text}"))
            .unwrap();
        let mut rows = statement.raw_query();
        while let Some(row) = rows.next().unwrap() {
            let detail: String = row.get(3).unwrap();
            if detail.starts_with("SCAN")
                && !detail.contains("INDEX")
                && !detail.contains("CONSTANT")
            {
                found.push(format!(
                    "{detail}: {}",
                    text.split_whitespace().collect::<Vec<_>>().join(" ")
                ));
            }
        }
    }
    found
}

struct Figures {
    pending: usize,
    armed: Armed,
    next_timer_us: f64,
    fire: Duration,
    fire_statements: u64,
    cancel: Duration,
    cancel_statements: u64,
    next_timer_after_us: f64,
    bytes: i64,
    run_bytes: Option<i64>,
    fill: Duration,
    /// `journey_list` (what `GET journeys` reads), ms.
    report_ms: f64,
}

/// `pending` timers armed (`through_events` of them through the event path), then
/// 1,000 fired by alarm steps of `DUE_PER_STEP` and 1,000 others ended by
/// their goal.
fn measure(pending: usize, through_events: usize) -> (Figures, Vec<String>) {
    let started = Instant::now();
    let raw = store();
    let traced = Traced {
        sql: &raw,
        statements: Cell::new(0),
        texts: RefCell::default(),
    };
    let j = journeys();
    let db = Db {
        sql: &traced,
        now: T0,
    };
    let codes: Vec<String> = (0..BATCH + 100).map(|i| format!("SAVE-{i}")).collect();
    db.add_pool_codes("cart10", &codes).unwrap();
    let armed = arm(&db, &traced, &raw, &j, pending, through_events);
    assert_eq!(
        int(
            &raw,
            "SELECT count(*) FROM journey_runs WHERE next_due IS NOT NULL"
        ),
        pending as i64
    );
    let fill = started.elapsed();
    let bytes = int(
        &raw,
        "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
    );
    // Table and indexes of `journey_runs` alone, where SQLite has `dbstat`.
    let run_bytes = raw
        .int(
            "SELECT sum(pgsize) FROM dbstat WHERE name IN ('journey_runs', 'journey_timers', 'journey_runs_by_journey')",
            &[],
        )
        .ok()
        .flatten();
    let next_timer = median(9, || {
        for _ in 0..10_000 {
            std::hint::black_box(db.next_timer().unwrap());
        }
    });

    // The 1,000 earliest timers come due; the alarm plays them `DUE_PER_STEP` a step.
    let now = int(
        &raw,
        &format!(
            "SELECT next_due FROM journey_runs WHERE next_due IS NOT NULL ORDER BY next_due LIMIT 1 OFFSET {}",
            BATCH - 1
        ),
    );
    let at_fire = Db { sql: &traced, now };
    let before = traced.statements.get();
    let fire_started = Instant::now();
    let mut fired = 0;
    while fired < BATCH {
        let step = alarm_step(&at_fire, &raw, &j, DUE_PER_STEP);
        assert!(step > 0);
        fired += step;
    }
    let fire = fire_started.elapsed();
    let fire_statements = traced.statements.get() - before;
    assert_eq!(fired, BATCH);
    assert_eq!(at_fire.fire_due_runs(&j, DUE_PER_STEP).unwrap(), 0);
    if through_events >= BATCH {
        assert_eq!(
            int(&raw, "SELECT count(*) FROM journey_sends"),
            BATCH as i64,
            "each fired run sent"
        );
    }

    // 1,000 other browsers order: each order is their run's goal.
    let targets = pending.min(through_events) - BATCH;
    let before = traced.statements.get();
    let cancel_started = Instant::now();
    for k in 0..BATCH {
        let i = BATCH + (k * 7_919) % targets;
        let anon = format!("a{i}");
        let order = browser_event(
            format!("order-{i}"),
            &anon,
            "Order Completed",
            json!({"total": 120.0}),
        );
        request(&at_fire, &raw, &j, order);
    }
    let cancel = cancel_started.elapsed();
    let cancel_statements = traced.statements.get() - before;
    assert_eq!(
        int(
            &raw,
            "SELECT n FROM journey_stats WHERE journey = 'cart' AND counter = 'exited_goal'"
        ),
        BATCH as i64,
        "each order ended its run"
    );
    assert_eq!(
        int(
            &raw,
            "SELECT count(*) FROM journey_runs WHERE next_due IS NOT NULL"
        ),
        (pending - 2 * BATCH) as i64
    );
    let next_timer_after = median(9, || {
        for _ in 0..10_000 {
            std::hint::black_box(at_fire.next_timer().unwrap());
        }
    });
    // The studio's journeys list at this size: counters (a holdout's
    // groups are counters too), and the per-step report.
    let report = median(5, || {
        std::hint::black_box(at_fire.journey_list(&j).unwrap());
    });
    let plans = scans(&raw, &traced.texts.borrow());
    (
        Figures {
            report_ms: report.as_secs_f64() * 1e3,
            pending,
            armed,
            next_timer_us: us(next_timer, 10_000),
            fire,
            fire_statements,
            cancel,
            cancel_statements,
            next_timer_after_us: us(next_timer_after, 10_000),
            bytes,
            run_bytes,
            fill,
        },
        plans,
    )
}

#[test]
#[ignore = "benchmark: cargo test --release -p nudge-edge journeys_bench -- --ignored --nocapture"]
fn journeys_bench() {
    println!("\njourney timers (in-memory SQLite; arming through the event path unless noted)");
    println!("| pending timers | armed through events | arm µs (entry + wait step) | statements per arm | next_timer µs | fire µs (1,000 in steps of DUE_PER_STEP) | fires/s | statements per fire | cancel µs (goal event) | statements per cancel | next_timer after µs | DB MB | bytes per pending run (whole store) | journey_runs bytes per run | fill s | bulk-inserted runs, µs each | journeys list with step report ms |");
    // Arming through the event path stores the entry event and a person per
    // run; at 1M it is done for the first 100k runs and the rest inserted.
    for (pending, through_events) in [(10_000, 10_000), (100_000, 100_000), (1_000_000, 100_000)] {
        let (f, plans) = measure(pending, through_events);
        let arms = pending - f.armed.bulk;
        println!(
            "| {} | {} | {:.1} ({:.1} + {:.1}) | {:.1} | {:.2} | {:.1} | {:.0} | {:.1} | {:.1} | {:.1} | {:.2} | {:.1} | {:.0} | {} | {:.1} | {} | {:.1} |",
            f.pending,
            arms,
            us(f.armed.entry + f.armed.wait, arms),
            us(f.armed.entry, arms),
            us(f.armed.wait, arms),
            f.armed.statements as f64 / arms as f64,
            f.next_timer_us,
            us(f.fire, BATCH),
            BATCH as f64 / f.fire.as_secs_f64(),
            f.fire_statements as f64 / BATCH as f64,
            us(f.cancel, BATCH),
            f.cancel_statements as f64 / BATCH as f64,
            f.next_timer_after_us,
            f.bytes as f64 / 1e6,
            f.bytes as f64 / f.pending as f64,
            f.run_bytes
                .map_or("n/a".into(), |b| format!("{:.0}", b as f64 / f.pending as f64)),
            f.fill.as_secs_f64(),
            if f.armed.bulk == 0 {
                "-".into()
            } else {
                format!("{}, {:.1}", f.armed.bulk, us(f.armed.bulk_time, f.armed.bulk))
            },
            f.report_ms,
        );
        for plan in plans {
            println!("  scans: {plan}");
        }
    }
}
