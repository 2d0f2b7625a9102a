//! Rule-engine figures for BENCHMARKS.md (issue #4), printed as one JSON line:
//! - ns per condition: the shared workload (`bench/rules-workload.mjs`: 100
//!   campaign conditions x 1,000 visitor profiles), each condition compiled once,
//!   then every (condition, profile) pair evaluated; median over rounds.
//! - decide(): one page-view decision with 10, 100, 1,000 and 10,000 campaigns
//!   (the demo shop's nine, repeated with their real audiences).
//!
//!   NUDGE_RULES=target/bench/rules.json cargo bench -p nudge-core --bench engine
//!
//! Figures, not tests: `cargo xtask bench` runs this next to GrowthBook in Node.

use std::hint::black_box;
use std::time::Instant;

use nudge_core::decide::{decide, Context, PageState, Signal};
use nudge_core::event::PageContext;
use nudge_core::profile::Profile;
use nudge_core::{Attributes, Condition, Config, Value};

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    xs[xs.len() / 2]
}

fn attributes(profile: &Value) -> Attributes {
    let mut attributes = Attributes::new();
    if let Some(fields) = profile.as_object() {
        for (key, value) in fields.iter() {
            attributes.insert(key, value.clone());
        }
    }
    attributes
}

/// (median ns per condition, matches per round).
fn conditions(workload: &Value) -> (f64, usize) {
    let compiled: Vec<Condition> = workload
        .get("conditions")
        .expect("conditions")
        .as_array()
        .expect("conditions")
        .iter()
        .map(Condition::compile)
        .collect();
    for c in &compiled {
        assert!(c.problems().is_empty(), "{:?}", c.problems());
    }
    let profiles: Vec<Attributes> = workload
        .get("profiles")
        .expect("profiles")
        .as_array()
        .expect("profiles")
        .iter()
        .map(attributes)
        .collect();
    let pairs = (compiled.len() * profiles.len()) as f64;
    let mut matches = 0;
    let mut samples = Vec::new();
    for _ in 0..25 {
        let start = Instant::now();
        let mut round = 0;
        for condition in &compiled {
            for profile in &profiles {
                round += usize::from(black_box(condition).matches(black_box(profile)));
            }
        }
        samples.push(start.elapsed().as_nanos() as f64 / pairs);
        matches = round;
    }
    (median(samples), matches)
}

/// Median microseconds for one page-view decision over `n` campaigns.
fn decide_with(n: usize) -> f64 {
    let demo: Value =
        serde_json::from_str(include_str!("../../demo-shop/campaigns.json")).expect("demo config");
    let originals = demo
        .get("campaigns")
        .and_then(Value::as_array)
        .expect("campaigns")
        .to_vec();
    let mut config = demo.clone();
    let campaigns: Vec<Value> = (0..n)
        .map(|i| {
            let mut c = originals[i % originals.len()].clone();
            if let Value::Object(fields) = &mut c {
                let id = format!(
                    "{}-{i}",
                    fields.get("id").and_then(Value::as_str).unwrap_or("c")
                );
                fields.insert("id", id.as_str());
                fields.insert("priority", (i % 50) as f64);
            }
            c
        })
        .collect();
    if let Value::Object(fields) = &mut config {
        fields.insert("campaigns", Value::Array(campaigns));
    }
    let (config, problems) = Config::from_value(&config);
    assert!(problems.is_empty(), "{problems:?}");
    let now = 1_790_000_000_000;
    let profile = Profile::new("bench-visitor", now);
    let page = PageState {
        context: PageContext {
            path: "/category/shoes".into(),
            ..Default::default()
        },
        started_at: now,
        ..Default::default()
    };
    let ctx = Context {
        config: &config,
        profile: &profile,
        page: &page,
        now,
    };
    let rounds = (20_000 / n).max(5);
    let samples = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            black_box(decide(black_box(&ctx), &Signal::PageView));
            start.elapsed().as_nanos() as f64 / 1000.0
        })
        .collect();
    median(samples)
}

fn main() {
    let path = std::env::var("NUDGE_RULES").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../target/bench/rules.json").into()
    });
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("no workload at {path}: run `node bench/rules-workload.mjs > {path}` first");
        std::process::exit(2);
    };
    let workload: Value = serde_json::from_str(&text).expect("workload JSON");
    let (ns, matches) = conditions(&workload);
    // Up to the most campaigns a config may hold (core's MAX_CAMPAIGNS, 500).
    let decide: Vec<String> = [10, 100, 250, 500]
        .iter()
        .map(|&n| format!("\"{n}\": {:.2}", decide_with(n)))
        .collect();
    println!(
        "{{\"ns_per_condition\": {ns:.1}, \"matches\": {matches}, \"decide_us\": {{{}}}}}",
        decide.join(", ")
    );
}
