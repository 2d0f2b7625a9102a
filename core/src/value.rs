//! A JSON-shaped value with JavaScript's coercion rules.
//!
//! Targeting must give the same answer as GrowthBook's JavaScript SDK, whose
//! rules lean on JS semantics (`value + ""`, `value * 1`, `a < b` between a
//! string and a number). [`Value`] carries exactly the JSON data model and the
//! handful of coercions those rules need, so the engine can copy them
//! faithfully without a JS runtime.
//!
//! Objects keep insertion order (JSON.stringify equality depends on it), and
//! [`Value`] implements `serde` by hand so every format (serde_json natively,
//! a JS object in the browser) goes through one small, format-agnostic impl.

use crate::prelude::*;
use alloc::borrow::Cow;
use core::cmp::Ordering;
use core::fmt;

use crate::limits::{check_text, Budget, Exceeded, MAX_ARRAY_ITEMS, MAX_KEYS};

/// A JSON value. Object keys keep their order; lookups are linear, which is
/// faster than hashing for the small objects targeting deals with.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Vec<Value>),
    Object(Map),
}

/// An insertion-ordered JSON object.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Map {
    entries: Vec<(String, Value)>,
}

impl Map {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.entries
            .iter_mut()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// Sets `key`, replacing an existing entry in place (keeping its position).
    #[inline]
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<Value>) {
        // The generic shell only converts; one shared body does the work
        // (this is called with a dozen type pairs; the agent pays per copy).
        self.insert_value(key.into(), value.into());
    }

    fn insert_value(&mut self, key: String, value: Value) {
        match self.get_mut(&key) {
            Some(slot) => *slot = value,
            None => self.entries.push((key, value)),
        }
    }

    /// Builds a map from entries that may repeat a key, as inserting them one
    /// by one would (the last value wins, at the first one's position), in
    /// linear time: serde reading uses this, so an object with many keys costs
    /// no quadratic duplicate scan.
    pub(crate) fn from_entries(entries: Vec<(String, Value)>) -> Map {
        // Small objects (nearly all of them): the plain scan is cheapest.
        if entries.len() <= 16 {
            let mut map = Map {
                entries: Vec::with_capacity(entries.len()),
            };
            for (k, v) in entries {
                map.insert_value(k, v);
            }
            return map;
        }
        // For each entry, the index of the first entry with its key.
        let mut first_of = Vec::with_capacity(entries.len());
        let mut seen = alloc::collections::BTreeMap::new();
        for (i, (k, _)) in entries.iter().enumerate() {
            first_of.push(*seen.entry(k.as_str()).or_insert(i));
        }
        drop(seen);
        // Where each first occurrence landed in the output.
        let mut slot = vec![0; entries.len()];
        let mut out: Vec<(String, Value)> = Vec::with_capacity(entries.len());
        for (i, (k, v)) in entries.into_iter().enumerate() {
            let first = first_of[i];
            if first == i {
                slot[i] = out.len();
                out.push((k, v));
            } else if let Some(entry) = out.get_mut(slot[first]) {
                entry.1 = v;
            }
        }
        Map { entries: out }
    }

    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let index = self.entries.iter().position(|(k, _)| k == key)?;
        Some(self.entries.remove(index).1)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(k, _)| k.as_str())
    }
}

impl FromIterator<(String, Value)> for Map {
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(iter: I) -> Self {
        let mut map = Map::new();
        for (k, v) in iter {
            map.insert(k, v);
        }
        map
    }
}

impl IntoIterator for Map {
    type Item = (String, Value);
    type IntoIter = alloc::vec::IntoIter<(String, Value)>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Number(v)
    }
}
impl From<u32> for Value {
    fn from(v: u32) -> Self {
        Value::Number(f64::from(v))
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Number(v as f64)
    }
}
impl From<u64> for Value {
    fn from(v: u64) -> Self {
        Value::Number(v as f64)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::String(v.to_owned())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::String(v)
    }
}
impl From<Map> for Value {
    fn from(v: Map) -> Self {
        Value::Object(v)
    }
}
impl<T: Into<Value>> From<Vec<T>> for Value {
    fn from(v: Vec<T>) -> Self {
        Value::Array(v.into_iter().map(Into::into).collect())
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(n) => Some(*n),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&Map> {
        match self {
            Value::Object(m) => Some(m),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Looks up `key` in an object; `None` for other values.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_object()?.get(key)
    }

    /// The name JSON schema / GrowthBook's `$type` gives this value.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        }
    }

    /// JavaScript truthiness (`!!value`).
    pub fn truthy(&self) -> bool {
        match self {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::Number(n) => *n != 0.0 && !n.is_nan(),
            Value::String(s) => !s.is_empty(),
            Value::Array(_) | Value::Object(_) => true,
        }
    }

    /// JavaScript `String(value)`.
    pub fn to_js_string(&self) -> Cow<'_, str> {
        match self {
            Value::Null => Cow::Borrowed("null"),
            Value::Bool(true) => Cow::Borrowed("true"),
            Value::Bool(false) => Cow::Borrowed("false"),
            Value::Number(n) => Cow::Owned(js_number_to_string(*n)),
            Value::String(s) => Cow::Borrowed(s),
            // Array.prototype.join: null and undefined elements become "".
            Value::Array(items) => {
                let mut out = String::new();
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    if !item.is_null() {
                        out.push_str(&item.to_js_string());
                    }
                }
                Cow::Owned(out)
            }
            Value::Object(_) => Cow::Borrowed("[object Object]"),
        }
    }

    /// JavaScript `Number(value)` (`value * 1`).
    pub fn to_js_number(&self) -> f64 {
        match self {
            Value::Null => 0.0,
            Value::Bool(b) => f64::from(u8::from(*b)),
            Value::Number(n) => *n,
            Value::String(s) => js_string_to_number(s),
            Value::Array(_) => js_string_to_number(&self.to_js_string()),
            Value::Object(_) => f64::NAN,
        }
    }

    /// JavaScript's abstract relational comparison (`<`, `>` ...): strings
    /// compare by UTF-16 code units, anything else numerically; `None` when
    /// either side is NaN (every comparison is then false).
    pub fn js_compare(&self, other: &Value) -> Option<Ordering> {
        let is_stringish =
            |v: &Value| matches!(v, Value::String(_) | Value::Array(_) | Value::Object(_));
        if is_stringish(self) && is_stringish(other) {
            let (a, b) = (self.to_js_string(), other.to_js_string());
            return Some(a.encode_utf16().cmp(b.encode_utf16()));
        }
        self.to_js_number().partial_cmp(&other.to_js_number())
    }

    /// JavaScript `===` between two JSON values: primitives by value, arrays and
    /// objects never (two parsed documents never share a reference).
    pub fn js_strict_eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Null, Value::Null) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Number(a), Value::Number(b)) => a == b,
            (Value::String(a), Value::String(b)) => a == b,
            _ => false,
        }
    }
}

/// JavaScript's `Number.prototype.toString()` for the values JSON can carry.
pub fn js_number_to_string(n: f64) -> String {
    if n.is_nan() {
        "NaN".into()
    } else if n.is_infinite() {
        if n > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else if n == crate::float::trunc(n) && n.abs() < 9.0e15 {
        // Integral: no fraction and no exponent, as JS prints it ("-0" is "0").
        crate::small::integer_to_string(n as i64)
    } else {
        (crate::host::get().number_to_string)(n)
    }
}

/// JavaScript's `Number(string)`.
pub fn js_string_to_number(s: &str) -> f64 {
    (crate::host::get().string_to_number)(s)
}

/// JavaScript's `string.toLowerCase()`.
pub fn js_lowercase(s: &str) -> String {
    (crate::host::get().to_lowercase)(s)
}

impl Value {
    /// JSON text, as `JSON.stringify` writes it (non-finite numbers become `null`).
    /// Written directly, without building a JS object first: the agent persists
    /// and sends events with this.
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        write_json(self, &mut out);
        out
    }
}

fn write_json(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) if n.is_finite() => out.push_str(&js_number_to_string(*n)),
        Value::Number(_) => out.push_str("null"),
        Value::String(s) => write_json_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(k, out);
                out.push(':');
                write_json(v, out);
            }
            out.push('}');
        }
    }
}

fn write_json_string(s: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                out.push_str("\\u00");
                out.push(HEX[(c as usize) >> 4] as char);
                out.push(HEX[(c as usize) & 0xf] as char);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Structural equality as `JSON.stringify(a) === JSON.stringify(b)` sees it.
pub fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y.iter())
                    .all(|((ka, va), (kb, vb))| ka == kb && json_eq(va, vb))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(va, vb)| json_eq(va, vb))
        }
        // JSON.stringify writes NaN and infinities as null.
        (Value::Number(x), Value::Null) | (Value::Null, Value::Number(x)) => !x.is_finite(),
        _ => a == b,
    }
}

// ---- serde: one hand-written impl each way, shared by every format ----

impl serde::Serialize for Value {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self {
            Value::Null => serializer.serialize_unit(),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Number(n) if crate::float::fract(*n) == 0.0 && n.abs() < 9.0e15 => {
                serializer.serialize_i64(*n as i64)
            }
            Value::Number(n) if n.is_finite() => serializer.serialize_f64(*n),
            Value::Number(_) => serializer.serialize_unit(),
            Value::String(s) => serializer.serialize_str(s),
            Value::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Value::Object(map) => {
                let mut out = serializer.serialize_map(Some(map.len()))?;
                for (k, v) in map.iter() {
                    out.serialize_entry(k, v)?;
                }
                out.end()
            }
        }
    }
}

impl<'de> serde::Deserialize<'de> for Value {
    /// Reads one document within [`crate::limits`]: past any bound (depth,
    /// keys, items, string bytes, values) reading stops with an error naming
    /// it, so untrusted text can cost neither deep recursion nor
    /// super-linear work.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::DeserializeSeed;
        let budget = Budget::default();
        ValueSeed {
            depth: 0,
            budget: &budget,
        }
        .deserialize(deserializer)
    }
}

/// Reads one value at `depth`, drawing on the document's shared `budget`.
#[derive(Clone, Copy)]
struct ValueSeed<'b> {
    depth: usize,
    budget: &'b Budget,
}

fn exceeded<E: serde::de::Error>(what: Exceeded) -> E {
    E::custom(what)
}

impl<'de> serde::de::DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        self.budget.take(self.depth).map_err(exceeded)?;
        d.deserialize_any(self)
    }
}

impl ValueSeed<'_> {
    fn child(self) -> Self {
        Self {
            depth: self.depth + 1,
            ..self
        }
    }
}

impl<'de> serde::de::Visitor<'de> for ValueSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v as f64))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v as f64))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Number(v))
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Value, E> {
        check_text(v, false).map_err(exceeded)?;
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Value, E> {
        check_text(&v, false).map_err(exceeded)?;
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        // The same value, not a nested one: no new depth and no second count.
        d.deserialize_any(self)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(item) = seq.next_element_seed(self.child())? {
            if items.len() >= MAX_ARRAY_ITEMS {
                return Err(exceeded(Exceeded::ArrayItems));
            }
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = access.next_key_seed(KeySeed)? {
            if entries.len() >= MAX_KEYS {
                return Err(exceeded(Exceeded::Keys));
            }
            entries.push((key, access.next_value_seed(self.child())?));
        }
        Ok(Value::Object(Map::from_entries(entries)))
    }
}

/// Reads an object key within [`MAX_STRING_BYTES`].
struct KeySeed;

impl<'de> serde::de::DeserializeSeed<'de> for KeySeed {
    type Value = String;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> serde::de::Visitor<'de> for KeySeed {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<String, E> {
        check_text(v, true).map_err(exceeded)?;
        Ok(v.to_owned())
    }
    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<String, E> {
        check_text(&v, true).map_err(exceeded)?;
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_text_matches_serde_json() {
        let text = r#"{"a":[1,2.5,-0.125,null,true,"q\"uote\\ \u0001 \n é"],"b":{"c":1e21}}"#;
        let value: Value = serde_json::from_str(text).unwrap();
        let reparsed: serde_json::Value = serde_json::from_str(&value.to_json()).unwrap();
        assert_eq!(
            reparsed,
            serde_json::from_str::<serde_json::Value>(text).unwrap()
        );
    }

    #[test]
    fn js_coercions_follow_javascript() {
        assert_eq!(Value::from(8.0).to_js_string(), "8");
        assert_eq!(Value::from(1.5).to_js_string(), "1.5");
        assert_eq!(
            Value::from(vec![Value::Null, 2.0.into()]).to_js_string(),
            ",2"
        );
        assert_eq!(Value::from(" 12 ").to_js_number(), 12.0);
        assert!(Value::from("inf").to_js_number().is_nan());
        assert_eq!(Value::from("").to_js_number(), 0.0);
        assert_eq!(Value::Array(vec![]).to_js_number(), 0.0);
        assert_eq!(
            Value::from("8").js_compare(&Value::from(5.0)),
            Some(Ordering::Greater)
        );
        assert_eq!(
            Value::from("10").js_compare(&Value::from("9")),
            Some(Ordering::Less)
        );
        assert_eq!(Value::from("x").js_compare(&Value::from(5.0)), None);
    }
}
