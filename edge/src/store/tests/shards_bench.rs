//! The store's code across shards, natively on rusqlite: each shard is its
//! own store (as each shard is its own Durable Object with its own SQLite),
//! and threads stand in for Cloudflare running objects side by side (local
//! workerd runs every object on one thread, so it cannot show this). Not a
//! test:
//!
//! `cargo test --release -p nudge-edge shards_bench -- --ignored --nocapture`
//!
//! - **Scaling:** the same work (browsers adding products, each request its
//!   own transaction through `dispatch`) over 8 shards, on 1 thread and on
//!   2: nothing is shared between shards, so 2 threads should give about 2×.
//! - **Timers:** 1,048,576 pending journey timers over 64 shards, 100,032 of
//!   them due at once; every due run fired exactly once, and the longest
//!   alarm step (`DUE_PER_STEP` runs, one transaction).
//!
//! Figures and the machine: BENCHMARKS.md §8.

use std::thread;
use std::time::{Duration, Instant};

use super::journeys_bench::{alarm_step, arm, due, journeys, request, Traced};
use super::*;
use crate::store::journeys::DUE_PER_STEP;

const SCALING_SHARDS: usize = 8;
const EVENTS_PER_SHARD: usize = 1_500;

/// Browser `i` of shard `shard` adds a product: a new person, an event, a run.
fn added(shard: usize, i: usize) -> Value {
    json!({"type": "track", "event": "Product Added", "messageId": format!("s{shard}-e{i}"),
           "anonymousId": format!("s{shard}-a{i}"), "timestamp": "2026-09-01T00:00:00.000Z",
           "properties": {"product_id": format!("sku-{}", i % 50), "price": 40.0, "quantity": 1},
           "context": {"consent": {"marketing": true, "analytics": true}}})
}

/// Loads `shards` (their numbers) one after another on this thread.
fn load(shards: Vec<usize>) {
    let j = journeys();
    for shard in shards {
        let raw = store();
        let db = db(&raw, T0);
        for i in 0..EVENTS_PER_SHARD {
            request(&db, &raw, &j, added(shard, i));
        }
        assert_eq!(
            raw.int("SELECT count(*) FROM events", &[]).unwrap(),
            Some(EVENTS_PER_SHARD as i64)
        );
    }
}

/// The machine's own ceiling, as a control: the same amount of pure CPU
/// work (hashing) per thread, on 1 and on 2 threads; rounds per second.
fn machine_rounds_per_second(threads: usize) -> f64 {
    const ROUNDS: usize = 40_000;
    let started = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            thread::spawn(move || {
                let mut digest = format!("seed-{t}");
                for _ in 0..ROUNDS / threads {
                    digest = crate::tokens::sha256_hex(&digest.repeat(8));
                }
                digest
            })
        })
        .collect();
    for worker in workers {
        std::hint::black_box(worker.join().unwrap());
    }
    ROUNDS as f64 / started.elapsed().as_secs_f64()
}

/// Events per second over all shards with `threads` threads.
fn events_per_second(threads: usize) -> f64 {
    let started = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let mine = (0..SCALING_SHARDS).filter(|s| s % threads == t).collect();
            thread::spawn(move || load(mine))
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
    (SCALING_SHARDS * EVENTS_PER_SHARD) as f64 / started.elapsed().as_secs_f64()
}

const TIMER_SHARDS: usize = 64;
const PENDING_PER_SHARD: usize = 16_384;
/// Due at once per shard: 100,032 in all.
const DUE_PER_SHARD: usize = 1_563;

struct ShardTimers {
    fired: usize,
    steps: usize,
    longest_step: Duration,
    fired_again: usize,
}

/// One shard's timers armed (the due ones through the event path, with real
/// persons; the rest inserted), the clock moved to the last due one, and
/// alarm steps run until none is due, then once more.
fn fire_shard() -> ShardTimers {
    let raw = store();
    let traced = Traced::over(&raw);
    let j = journeys();
    let db = Db {
        sql: &traced,
        now: T0,
    };
    let codes: Vec<String> = (0..DUE_PER_SHARD).map(|i| format!("SAVE-{i}")).collect();
    db.add_pool_codes("cart10", &codes).unwrap();
    arm(&db, &traced, &raw, &j, PENDING_PER_SHARD, DUE_PER_SHARD);
    let at = Db {
        sql: &traced,
        now: due(DUE_PER_SHARD - 1, PENDING_PER_SHARD),
    };
    let mut timers = ShardTimers {
        fired: 0,
        steps: 0,
        longest_step: Duration::ZERO,
        fired_again: 0,
    };
    loop {
        let started = Instant::now();
        let fired = alarm_step(&at, &raw, &j, DUE_PER_STEP);
        timers.longest_step = timers.longest_step.max(started.elapsed());
        timers.steps += 1;
        timers.fired += fired;
        if fired == 0 {
            break;
        }
    }
    timers.fired_again = alarm_step(&at, &raw, &j, DUE_PER_STEP);
    timers
}

#[test]
#[ignore = "a benchmark: run it with --ignored --nocapture (see the file's header)"]
fn shards_bench() {
    // SQLite's memory statistics take one process-wide mutex on every
    // allocation: a native artefact (each object has its own SQLite on
    // Cloudflare) that would serialise the threads here. Off, if this
    // process has not opened a database yet.
    let memstatus_off =
        unsafe { rusqlite::ffi::sqlite3_config(rusqlite::ffi::SQLITE_CONFIG_MEMSTATUS, 0) }
            == rusqlite::ffi::SQLITE_OK;
    println!("SQLite memory statistics off: {memstatus_off}\n");
    let one = events_per_second(1);
    let two = events_per_second(2);
    println!("## The store's code over {SCALING_SHARDS} shards ({EVENTS_PER_SHARD} new browsers each, a request per event)\n");
    println!("| threads | events/s |\n|---:|---:|\n| 1 | {one:.0} |\n| 2 | {two:.0} |");
    let control = machine_rounds_per_second(2) / machine_rounds_per_second(1);
    println!(
        "\n2 threads give {:.2}× one thread (goal ≥ 1.7×); the machine's own ceiling (pure hashing, same split): {control:.2}×.\n",
        two / one
    );

    let started = Instant::now();
    let workers: Vec<_> = (0..2)
        .map(|t| {
            thread::spawn(move || {
                (0..TIMER_SHARDS)
                    .filter(|s| s % 2 == t)
                    .map(|_| fire_shard())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let shards: Vec<ShardTimers> = workers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    let fired: usize = shards.iter().map(|s| s.fired).sum();
    let again: usize = shards.iter().map(|s| s.fired_again).sum();
    let longest = shards.iter().map(|s| s.longest_step).max().unwrap();
    let steps: usize = shards.iter().map(|s| s.steps).sum();
    println!(
        "## {} pending timers over {TIMER_SHARDS} shards, {} due at once\n",
        TIMER_SHARDS * PENDING_PER_SHARD,
        TIMER_SHARDS * DUE_PER_SHARD
    );
    println!("| fired | fired again by one more step | alarm steps | longest step | wall time (2 threads) |");
    println!("|---:|---:|---:|---:|---:|");
    println!(
        "| {fired} | {again} | {steps} | {:.1} ms | {:.0} s |",
        longest.as_secs_f64() * 1e3,
        started.elapsed().as_secs_f64()
    );
    assert_eq!(
        fired,
        TIMER_SHARDS * DUE_PER_SHARD,
        "each due timer fired once"
    );
    assert_eq!(again, 0, "no timer fired twice");
}
