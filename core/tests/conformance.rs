//! GrowthBook's language-neutral SDK test vectors, read from
//! `../shared/conformance/growthbook-cases.json` (never copied into the repo).
//! A checkout without that file skips these tests and says why.

use std::path::PathBuf;

use nudge_core::{bucket, Attributes, Condition, SavedGroups, Value};

fn cases() -> Option<Value> {
    let path = std::env::var_os("NUDGE_CONFORMANCE_FILE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../shared/conformance/growthbook-cases.json")
        });
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(serde_json::from_str(&text).expect("conformance file is valid JSON")),
        Err(err) => {
            eprintln!(
                "SKIPPED: GrowthBook conformance cases not found at {} ({err})",
                path.display()
            );
            None
        }
    }
}

fn section(name: &str) -> Vec<Value> {
    cases()
        .and_then(|c| c.get(name).and_then(Value::as_array).map(<[Value]>::to_vec))
        .unwrap_or_default()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

/// Runs every case, collects the failures, and fails once listing them all.
fn check(name: &str, run: impl Fn(&[Value]) -> Result<(), String>) {
    let cases = section(name);
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| run(case.as_array().expect("a case is an array")).err())
        .collect();
    assert!(
        failures.is_empty(),
        "{name}: {} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    eprintln!("{name}: {} cases passed", cases.len());
}

#[test]
fn eval_condition() {
    check("evalCondition", |case| {
        let name = case[0].to_js_string();
        let condition: Condition =
            serde_json::from_value(serde_json::to_value(&case[1]).unwrap()).unwrap();
        let attributes: Attributes =
            match serde_json::from_value(serde_json::to_value(&case[2]).unwrap()) {
                Ok(a) => a,
                Err(e) => return Err(format!("{name}: attributes: {e}")),
            };
        let groups: SavedGroups = case
            .get(4)
            .map(|g| serde_json::from_value(serde_json::to_value(g).unwrap()).unwrap())
            .unwrap_or_default();
        let expected = case[3].as_bool().unwrap();
        let got = condition.matches_with_groups(&attributes, &groups);
        (got == expected)
            .then_some(())
            .ok_or_else(|| format!("{name}: expected {expected}, got {got}"))
    });
}

#[test]
fn hash() {
    check("hash", |case| {
        let (seed, value) = (case[0].as_str().unwrap(), case[1].as_str().unwrap());
        let version = case[2].as_f64().unwrap() as u32;
        let got = bucket::hash(seed, value, version);
        let ok = match (got, case[3].as_f64()) {
            (Some(g), Some(e)) => close(g, e),
            (None, None) => true,
            _ => false,
        };
        ok.then_some(()).ok_or_else(|| {
            format!(
                "hash({seed:?}, {value:?}, {version}): expected {:?}, got {got:?}",
                case[3]
            )
        })
    });
}

fn ranges(value: &Value) -> Vec<(f64, f64)> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r.as_array().unwrap()[0].as_f64().unwrap(),
                r.as_array().unwrap()[1].as_f64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn get_bucket_range() {
    check("getBucketRange", |case| {
        let args = case[1].as_array().unwrap();
        let weights: Option<Vec<f64>> = args[2]
            .as_array()
            .map(|w| w.iter().map(|x| x.as_f64().unwrap()).collect());
        let got = bucket::bucket_ranges(
            args[0].as_f64().unwrap() as usize,
            args[1].as_f64().unwrap(),
            weights.as_deref(),
        );
        let expected = ranges(&case[2]);
        let same = got.len() == expected.len()
            && got
                .iter()
                .zip(&expected)
                .all(|(g, e)| (g.0 - e.0).abs() < 1e-6 && (g.1 - e.1).abs() < 1e-6);
        same.then_some(()).ok_or_else(|| {
            format!(
                "{}: expected {expected:?}, got {got:?}",
                case[0].to_js_string()
            )
        })
    });
}

#[test]
fn choose_variation() {
    check("chooseVariation", |case| {
        let got = bucket::choose_variation(case[1].as_f64().unwrap(), &ranges(&case[2]))
            .map_or(-1, |i| i as i64);
        let expected = case[3].as_f64().unwrap() as i64;
        (got == expected)
            .then_some(())
            .ok_or_else(|| format!("{}: expected {expected}, got {got}", case[0].to_js_string()))
    });
}

#[test]
fn in_namespace() {
    check("inNamespace", |case| {
        let ns = case[2].as_array().unwrap();
        let namespace = (
            ns[0].as_str().unwrap(),
            ns[1].as_f64().unwrap(),
            ns[2].as_f64().unwrap(),
        );
        let got = bucket::in_namespace(case[1].as_str().unwrap(), namespace);
        let expected = case[3].as_bool().unwrap();
        (got == expected)
            .then_some(())
            .ok_or_else(|| format!("{}: expected {expected}, got {got}", case[0].to_js_string()))
    });
}

#[test]
fn get_equal_weights() {
    check("getEqualWeights", |case| {
        let got = bucket::equal_weights(case[0].as_f64().unwrap() as i64);
        let expected: Vec<f64> = case[1]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        let same = got.len() == expected.len()
            && got.iter().zip(&expected).all(|(g, e)| (g - e).abs() < 1e-6);
        same.then_some(()).ok_or_else(|| {
            format!(
                "{}: expected {expected:?}, got {got:?}",
                case[0].to_js_string()
            )
        })
    });
}
