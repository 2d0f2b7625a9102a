//! GrowthBook's `evalCondition` vectors as visitors' browsers run them
//! (issue #20: "the edge compiles, the agent executes"): each condition
//! compiled into its program, decoded and evaluated by this wasm, with the
//! browser's own RegExp, number text and lowercase installed as the agent
//! installs them at start (`js::install_host`). core's native suite runs the
//! same vectors with Rust's primitives (`core/tests/conformance.rs`); this one
//! checks that the JS engine's primitives give GrowthBook's answers too.
//! The vectors are read from `../shared` at compile time (`agent/build.rs`).

use wasm_bindgen_test::*;

use nudge_core::json::{self, Bounds};
use nudge_core::program::{decode_condition, encode_condition};
use nudge_core::{Attributes, Condition, SavedGroups, Value};

use crate::js;

#[cfg(nudge_conformance)]
const VECTORS: Option<&str> = Some(include_str!(env!("NUDGE_CONFORMANCE_VECTORS")));
#[cfg(not(nudge_conformance))]
const VECTORS: Option<&str> = None;

#[wasm_bindgen_test]
#[cfg_attr(
    not(any(nudge_conformance, nudge_conformance_required)),
    ignore = "../shared/conformance/growthbook-cases.json is not beside this checkout"
)]
fn growthbook_conditions_compiled_then_run_by_the_wasm_with_the_browsers_primitives() {
    let text = VECTORS.expect("CI is set, where the vectors must be present (agent/build.rs)");
    js::install_host();
    let vectors = json::parse(text, Bounds::Refuse).expect("the vectors are JSON");
    let cases = vectors
        .get("evalCondition")
        .and_then(Value::as_array)
        .filter(|cases| !cases.is_empty())
        .expect("evalCondition cases in the vectors");
    let failures: Vec<String> = cases.iter().filter_map(|case| run(case).err()).collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    console_log!(
        "evalCondition through the program, in the browser: {} cases passed",
        cases.len()
    );
}

/// One case: `[name, condition, attributes, expected, saved groups?]`.
fn run(case: &Value) -> Result<(), String> {
    let case = case.as_array().ok_or("a case is not an array")?;
    let [name, condition, attributes, expected, rest @ ..] = case else {
        return Err("a case has fewer than four parts".into());
    };
    let name = name.to_js_string();
    let program = encode_condition(&Condition::compile(condition));
    let condition = decode_condition(&program).map_err(|e| format!("{name}: {e}"))?;
    let attributes = match attributes.as_object() {
        Some(map) => Attributes::from(map.clone()),
        None => return Err(format!("{name}: attributes are not an object")),
    };
    let mut groups = SavedGroups::new();
    if let Some(saved) = rest.first().and_then(Value::as_object) {
        for (group, members) in saved.iter() {
            groups.insert(group, members.as_array().unwrap_or_default().to_vec());
        }
    }
    let expected = expected
        .as_bool()
        .ok_or(format!("{name}: no expected answer"))?;
    let got = condition.matches_with_groups(&attributes, &groups);
    (got == expected)
        .then_some(())
        .ok_or_else(|| format!("{name}: expected {expected}, got {got}"))
}
