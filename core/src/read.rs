//! Reading typed fields out of a JSON object while collecting every problem.
//!
//! Config, events and stored profiles are read through this instead of serde
//! derive: each problem gets a precise path, reading goes on after the first
//! one, and the agent carries one generic `Value` deserializer instead of a
//! monomorphized one per type (a large share of a wasm binary's size).

use crate::condition::Condition;
use crate::diagnostics::{join_path, msg, Diagnostic, Severity};
use crate::prelude::*;
use crate::value::{Map, Value};

pub(crate) struct Fields<'a> {
    pub map: &'a Map,
    pub path: String,
}

impl<'a> Fields<'a> {
    /// Reads `value` as an object at `path`; reports and returns `None` otherwise.
    pub fn of(value: &'a Value, path: &str, problems: &mut Vec<Diagnostic>) -> Option<Self> {
        match value {
            Value::Object(map) => Some(Self {
                map,
                path: path.to_owned(),
            }),
            other => {
                problems.push(Diagnostic::error(
                    path,
                    msg!("must be an object, got {}", other.type_name()),
                ));
                None
            }
        }
    }

    pub fn at(&self, key: &str) -> String {
        join_path(&self.path, key)
    }

    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    fn wrong(&self, key: &str, want: &str, got: &Value, problems: &mut Vec<Diagnostic>) {
        problems.push(Diagnostic::error(
            self.at(key),
            msg!("must be {want}, got {}", describe(got)),
        ));
    }

    pub fn str(&self, key: &str, problems: &mut Vec<Diagnostic>) -> Option<&'a str> {
        match self.get(key)? {
            Value::String(s) => Some(s),
            other => {
                self.wrong(key, "a string", other, problems);
                None
            }
        }
    }

    pub fn required_str(&self, key: &str, problems: &mut Vec<Diagnostic>) -> Option<&'a str> {
        let value = self.str(key, problems);
        match value {
            Some(s) if !s.trim().is_empty() => Some(s),
            Some(_) => {
                problems.push(Diagnostic::error(self.at(key), msg!("must not be empty")));
                None
            }
            None if self.get(key).is_none() => {
                problems.push(Diagnostic::error(self.at(key), msg!("is required")));
                None
            }
            None => None,
        }
    }

    pub fn number(&self, key: &str, problems: &mut Vec<Diagnostic>) -> Option<f64> {
        match self.get(key)? {
            Value::Number(n) if n.is_finite() => Some(*n),
            other => {
                self.wrong(key, "a number", other, problems);
                None
            }
        }
    }

    /// A number that must lie in `min..=max`; out of range is reported with the value.
    pub fn number_in(
        &self,
        key: &str,
        min: f64,
        max: f64,
        problems: &mut Vec<Diagnostic>,
    ) -> Option<f64> {
        let n = self.number(key, problems)?;
        if n < min || n > max {
            problems.push(Diagnostic::error(
                self.at(key),
                msg!(
                    "must be {}..={}, got {}",
                    fmt_num(min),
                    fmt_num(max),
                    fmt_num(n)
                ),
            ));
            return None;
        }
        Some(n)
    }

    /// A whole number in `min..=max`.
    pub fn int_in(
        &self,
        key: &str,
        min: u32,
        max: u32,
        problems: &mut Vec<Diagnostic>,
    ) -> Option<u32> {
        let n = self.number_in(key, f64::from(min), f64::from(max), problems)?;
        if crate::float::fract(n) != 0.0 {
            problems.push(Diagnostic::error(
                self.at(key),
                msg!("must be a whole number, got {}", fmt_num(n)),
            ));
            return None;
        }
        Some(n as u32)
    }

    pub fn bool(&self, key: &str, problems: &mut Vec<Diagnostic>) -> Option<bool> {
        match self.get(key)? {
            Value::Bool(b) => Some(*b),
            other => {
                self.wrong(key, "true or false", other, problems);
                None
            }
        }
    }

    pub fn object(&self, key: &str, problems: &mut Vec<Diagnostic>) -> Option<Fields<'a>> {
        let value = self.get(key)?;
        Fields::of(value, &self.at(key), problems)
    }

    pub fn array(&self, key: &str, problems: &mut Vec<Diagnostic>) -> Option<&'a [Value]> {
        match self.get(key)? {
            Value::Array(items) => Some(items),
            other => {
                self.wrong(key, "an array", other, problems);
                None
            }
        }
    }

    /// Reports every key not in `known` (typos, or fields from a newer format).
    pub fn unknown_keys(&self, known: &[&str], problems: &mut Vec<Diagnostic>) -> bool {
        let mut found = false;
        for key in self.map.keys().filter(|k| !known.contains(k)) {
            found = true;
            problems.push(Diagnostic::error(
                self.at(key),
                msg!(
                    "unknown field (known: {}); written for a newer Nudge version?",
                    known.join(", ")
                ),
            ));
        }
        found
    }
}

/// A short description of a value for error messages: its type, and the value
/// itself when it is short.
pub(crate) fn describe(value: &Value) -> String {
    match value {
        Value::String(s) if s.len() <= 40 => format!("\"{s}\""),
        Value::Number(n) => fmt_num(*n),
        Value::Bool(b) => b.to_string(),
        other => other.type_name().to_owned(),
    }
}

pub(crate) fn fmt_num(n: f64) -> String {
    crate::value::js_number_to_string(n)
}

/// Reads a list of items with ids (campaigns, journeys) at `path`: at most
/// `max` of them, each id once; an item with an error is reported and left
/// out while the others are kept.
pub(crate) fn items_with_ids<T>(
    items: &[Value],
    path: &str,
    max: usize,
    noun: &str,
    mut read: impl FnMut(&Value, &str, &mut Vec<Diagnostic>) -> Option<T>,
    problems: &mut Vec<Diagnostic>,
) -> Vec<T> {
    if items.len() > max {
        problems.push(Diagnostic::error(
            path,
            msg!(
                "at most {max} {noun}s, got {}; the rest are skipped",
                items.len()
            ),
        ));
    }
    let mut seen_ids: Vec<&str> = Vec::new();
    let mut out = Vec::new();
    for (i, item) in items.iter().take(max).enumerate() {
        let here = msg!("{path}[{i}]");
        let mut found = Vec::new();
        let read = read(item, &here, &mut found);
        if let Some(id) = item.get("id").and_then(Value::as_str) {
            if seen_ids.contains(&id) {
                found.push(Diagnostic::error(
                    join_path(&here, "id"),
                    msg!("duplicate {noun} id \"{id}\""),
                ));
            }
            seen_ids.push(id);
        }
        let usable = !found.iter().any(|p| p.severity == Severity::Error);
        problems.extend(found);
        match read {
            Some(item) if usable => out.push(item),
            _ => problems.push(Diagnostic::warning(
                here,
                msg!("{noun} skipped because of the problems above"),
            )),
        }
    }
    out
}

/// The required `id`: 1-64 characters of a-z, A-Z, 0-9, - and _ (ids go
/// into storage keys and idempotency keys).
pub(crate) fn id<'a>(f: &Fields<'a>, problems: &mut Vec<Diagnostic>) -> Option<&'a str> {
    let id = f.required_str("id", problems)?;
    if id.len() > 64
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        problems.push(Diagnostic::error(
            f.at("id"),
            msg!("must be 1-64 characters of a-z, A-Z, 0-9, - and _"),
        ));
    }
    Some(id)
}

/// A condition at `key`, its problems reported under its path; absent is `None`.
pub(crate) fn condition(
    f: &Fields<'_>,
    key: &str,
    problems: &mut Vec<Diagnostic>,
) -> Option<Condition> {
    let condition = Condition::compile(f.get(key)?);
    let at = f.at(key);
    problems.extend(condition.problems().iter().cloned().map(|p| p.under(&at)));
    Some(condition)
}
