//! Does reading grow linearly with input size? Times serde_json text into
//! [`Value`] (and, for events and configs, core's reading after it) for
//! inputs of 64-512 KB in several shapes, including the ones the limits
//! refuse. Figures go to BENCHMARKS.md ("Fuzzing").
//!
//! `cargo run --release -p nudge-core --example parse_scaling`

use std::time::{Duration, Instant};

use nudge_core::event::Event;
use nudge_core::{Config, Map, Value};

const SIZES: [usize; 5] = [64 << 10, 128 << 10, 256 << 10, 512 << 10, 1024 << 10];

/// `items` joined into a JSON array, as many as fit in `size` bytes.
fn array_of(size: usize, item: impl Fn(usize) -> String) -> String {
    let mut out = String::from("[");
    for i in 0.. {
        let next = item(i);
        if out.len() + next.len() + 2 > size {
            break;
        }
        if i > 0 {
            out.push(',');
        }
        out.push_str(&next);
    }
    out.push(']');
    out
}

fn wide_objects(size: usize) -> String {
    let object = (0..1000)
        .map(|i| format!("\"k{i:04}\":{i}"))
        .collect::<Vec<_>>()
        .join(",");
    array_of(size, |_| format!("{{{object}}}"))
}

fn deep_nesting(size: usize) -> String {
    // Every item 15 objects deep: the whole document is at the depth bound.
    array_of(size, |i| {
        format!("{}{i}{}", "{\"a\":".repeat(15), "}".repeat(15))
    })
}

fn long_arrays(size: usize) -> String {
    let inner = (0..10_000)
        .map(|i| (10_000 + i).to_string())
        .collect::<Vec<_>>()
        .join(",");
    let mut text = array_of(size, |_| format!("[{inner}]"));
    if text == "[]" {
        text = format!("[[{}]]", &inner[..size - 8].trim_end_matches(|c| c != ','));
        text = text.replace(",]]", "]]");
    }
    text
}

fn events(size: usize) -> String {
    array_of(size, |i| {
        format!(
            r#"{{"type":"track","event":"Product Added","messageId":"m{i}","anonymousId":"a1","timestamp":"2026-11-23T10:00:00.000Z","properties":{{"product_id":"p{i}","price":20,"quantity":1,"category":"shoes"}},"context":{{"page":{{"url":"https://shop.example/p/{i}","path":"/p/{i}"}}}}}}"#
        )
    })
}

/// The 2-second attack: one object with as many keys as fit.
fn one_huge_object(size: usize) -> String {
    let mut out = String::from("{");
    for i in 0.. {
        let member = format!("\"k{i}\":0,");
        if out.len() + member.len() + 1 > size {
            break;
        }
        out.push_str(&member);
    }
    out.pop();
    out.push('}');
    out
}

fn deep_text(size: usize) -> String {
    "[".repeat(size)
}

/// An audience whose keys are long and nested, with a long `$or` at the
/// bottom: every `$or` item's diagnostic path repeats every key above it.
fn long_key_conditions(size: usize) -> String {
    // Five levels: with the config around it, the `$or` items sit at depth 14.
    let levels = 5;
    let key_len = (size / 2 / levels).min(32_000);
    let mut condition = format!(
        "{{\"f\":1,\"$or\":[{}]}}",
        vec!["{}"; (size / 2 / 3).min(9_999)].join(",")
    );
    for level in 0..levels {
        let key = format!("{level}{}", "k".repeat(key_len));
        condition = format!("{{\"{key}\":{{\"$elemMatch\":{condition}}}}}");
    }
    format!(
        r#"{{"campaigns":[{{"id":"a","trigger":{{"page_view":true}},"content":{{"layout":"modal","title":"Hi"}},"audience":{condition}}}]}}"#
    )
}

/// Best of seven runs (a shared machine: the best is the least disturbed).
fn time(run: impl Fn() -> String) -> (Duration, String) {
    let mut best = Duration::MAX;
    let mut outcome = String::new();
    for _ in 0..7 {
        let start = Instant::now();
        outcome = run();
        best = best.min(start.elapsed());
    }
    (best, outcome)
}

fn read(text: &str) -> Result<Value, String> {
    serde_json::from_str::<Value>(text).map_err(|e| e.to_string())
}

fn outcome(result: &Result<Value, String>) -> String {
    match result {
        Ok(_) => "read".into(),
        Err(e) => format!("refused: {}", e.split(" at line").next().unwrap_or(e)),
    }
}

fn main() {
    type Shape = (&'static str, fn(usize) -> String, fn(&str) -> String);
    let shapes: [Shape; 7] = [
        ("wide objects (1000 keys each)", wide_objects, |t| {
            outcome(&read(t))
        }),
        ("deep nesting (15 levels each)", deep_nesting, |t| {
            outcome(&read(t))
        }),
        ("long arrays (10000 items each)", long_arrays, |t| {
            outcome(&read(t))
        }),
        ("events, + Event::from_wire each", events, |t| {
            let value = read(t);
            if let Ok(Value::Array(items)) = &value {
                let ok = items
                    .iter()
                    .filter(|e| Event::from_wire(e, "").is_ok())
                    .count();
                return format!("{ok} events read");
            }
            outcome(&value)
        }),
        ("one object, all keys (attack)", one_huge_object, |t| {
            outcome(&read(t))
        }),
        ("\"[[[[...\" (attack)", deep_text, |t| outcome(&read(t))),
        (
            "config, long-key audience",
            long_key_conditions,
            |t| match read(t) {
                Ok(value) => {
                    let (_, problems) = Config::from_value(&value);
                    format!("config read, {} problems", problems.len())
                }
                Err(e) => outcome(&Err(e)),
            },
        ),
    ];
    println!("| shape | 64 KB | 128 KB | 256 KB | 512 KB | 1 MB | outcome at 512 KB |");
    println!("|---|---:|---:|---:|---:|---:|---|");
    for (name, make, run) in shapes {
        let mut cells = Vec::new();
        let mut last = String::new();
        for size in SIZES {
            let text = make(size);
            let (elapsed, outcome) = time(|| run(&text));
            cells.push(format!("{:.2} ms", elapsed.as_secs_f64() * 1e3));
            if size == 512 << 10 {
                last = outcome;
            }
        }
        println!("| {name} | {} | {last} |", cells.join(" | "));
    }

    // What the same 50,000-key object cost before reading was bounded:
    // one `Map::insert` (a linear duplicate scan) per key.
    let keys: Vec<(String, Value)> = (0..50_000)
        .map(|i| (format!("k{i}"), Value::Null))
        .collect();
    let start = Instant::now();
    let map: Map = keys.into_iter().collect();
    println!(
        "\nbefore: 50,000 keys through Map::insert one by one: {:.0} ms ({} keys)",
        start.elapsed().as_secs_f64() * 1e3,
        map.len()
    );
}
