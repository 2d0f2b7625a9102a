//! core's condition engine in the browser, set up as in the agent (release
//! profile: opt-level "z", LTO; the agent's allocator and JS host primitives),
//! on the shared rule workload. JavaScript times
//! each round (`bench/peers.mjs`); this side only compiles and evaluates.

use std::cell::RefCell;

use nudge_core::program::{decode_condition, encode_condition};
use nudge_core::{Attributes, Condition, Value};
use wasm_bindgen::prelude::*;

#[derive(Default)]
struct Workload {
    conditions: Vec<Condition>,
    profiles: Vec<Attributes>,
}

thread_local! {
    static WORKLOAD: RefCell<Workload> = RefCell::new(Workload::default());
}

/// Compiles the workload's conditions once and reads its profiles; returns the
/// number of (condition, profile) pairs a round evaluates.
#[wasm_bindgen]
pub fn prepare(workload: &str) -> Result<usize, JsError> {
    nudge_agent::install_host();
    let value: Value = serde_json::from_str(workload)?;
    let list = |key: &str| -> Result<Vec<Value>, JsError> {
        value
            .get(key)
            .and_then(Value::as_array)
            .map(<[Value]>::to_vec)
            .ok_or_else(|| JsError::new(&format!("the workload has no {key} array")))
    };
    // As the agent holds them: compiled at the edge, read from their program.
    let conditions = list("conditions")?
        .iter()
        .map(|c| decode_condition(&encode_condition(&Condition::compile(c))))
        .collect::<Result<Vec<Condition>, _>>()
        .map_err(|malformed| JsError::new(malformed.what))?;
    let profiles: Vec<Attributes> = list("profiles")?
        .iter()
        .map(|profile| {
            let mut attributes = Attributes::new();
            for (key, field) in profile.as_object().into_iter().flat_map(|m| m.iter()) {
                attributes.insert(key, field.clone());
            }
            attributes
        })
        .collect();
    let pairs = conditions.len() * profiles.len();
    WORKLOAD.with(|w| {
        *w.borrow_mut() = Workload {
            conditions,
            profiles,
        }
    });
    Ok(pairs)
}

/// One round: every condition against every profile; returns how many matched.
#[wasm_bindgen]
pub fn round() -> usize {
    WORKLOAD.with(|w| {
        let w = w.borrow();
        w.conditions
            .iter()
            .map(|c| w.profiles.iter().filter(|p| c.matches(p)).count())
            .sum()
    })
}
