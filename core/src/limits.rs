//! Input limits, one set for every reader of untrusted JSON.
//!
//! The edge (serde_json text through [`crate::Value`]'s `Deserialize`) and the
//! agent (`JSON.parse` or a shop's object through `agent/src/js.rs`) both hold
//! documents to these bounds, so a config or event the edge accepts is read the
//! same way by the agent, and no input can make either do super-linear work
//! (object lookups are linear scans, so keys per object must be bounded).

use crate::value::Value;

/// Deepest nesting of arrays and objects: a value may sit inside at most this
/// many of them (the root is depth 0, so an empty array or object may be at
/// depth 16, anything inside it may not).
pub const MAX_DEPTH: usize = 16;
/// Most members in one JSON object.
pub const MAX_KEYS: usize = 1_000;
/// Most items in one JSON array.
pub const MAX_ARRAY_ITEMS: usize = 10_000;
/// Longest string (and object key), in UTF-8 bytes.
pub const MAX_STRING_BYTES: usize = 32 * 1024;
/// Most values (every null, number, string, array and object) in one document.
pub const MAX_NODES: usize = 200_000;

/// Most events in one `/v1/events` batch (the agent sends at most this many).
pub const MAX_BATCH_EVENTS: usize = 100;
/// Largest single event as wire JSON text: well under a forwarding queue
/// message's 128 KB, with room for the destination it travels with.
pub const MAX_EVENT_BYTES: usize = 32 * 1024;
/// Most values the agent converts from one object a shop passes in
/// (`nudge.track(name, props)`), cycles included: past it, the rest is dropped.
pub const MAX_EVENT_NODES: usize = 2_000;

/// Which bound a document went past. Serde reading and [`check`] both report
/// through this, so the edge and the agent refuse a document with the same words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Exceeded {
    Depth,
    Keys,
    ArrayItems,
    StringBytes,
    KeyBytes,
    Nodes,
}

impl std::fmt::Display for Exceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exceeded::Depth => write!(f, "the document nests deeper than {MAX_DEPTH} levels"),
            Exceeded::Keys => write!(f, "an object has more than {MAX_KEYS} keys"),
            Exceeded::ArrayItems => write!(f, "an array has more than {MAX_ARRAY_ITEMS} items"),
            Exceeded::StringBytes => {
                write!(f, "a string is longer than {MAX_STRING_BYTES} bytes")
            }
            Exceeded::KeyBytes => {
                write!(f, "an object key is longer than {MAX_STRING_BYTES} bytes")
            }
            Exceeded::Nodes => write!(f, "the document has more than {MAX_NODES} values"),
        }
    }
}

/// Counts the values of one document against [`MAX_NODES`]; shared by every
/// level of a reading so the whole document has one budget.
#[derive(Debug, Default)]
pub(crate) struct Budget(std::cell::Cell<usize>);

impl Budget {
    /// Takes one value (of a node at `depth`) from the budget, in the order
    /// both readers check: depth first, then the count.
    pub(crate) fn take(&self, depth: usize) -> Result<(), Exceeded> {
        if depth > MAX_DEPTH {
            return Err(Exceeded::Depth);
        }
        let used = self.0.get() + 1;
        self.0.set(used);
        if used > MAX_NODES {
            return Err(Exceeded::Nodes);
        }
        Ok(())
    }
}

/// The string bound, for values (`key: false`) and object keys (`key: true`).
pub(crate) fn check_text(text: &str, key: bool) -> Result<(), Exceeded> {
    match (text.len() > MAX_STRING_BYTES, key) {
        (false, _) => Ok(()),
        (true, false) => Err(Exceeded::StringBytes),
        (true, true) => Err(Exceeded::KeyBytes),
    }
}

/// The longest start of `text` that is at most `max_bytes` long and ends on
/// a character boundary: every cut of a string goes through here.
pub fn text_prefix(text: &str, max_bytes: usize) -> &str {
    let mut end = text.len().min(max_bytes);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or_default()
}

/// Cuts a string to [`MAX_STRING_BYTES`] on a character boundary: how the
/// agent keeps what fits of a shop's value or its own stored text.
pub fn cut_text(text: &mut String) {
    let end = text_prefix(text, MAX_STRING_BYTES).len();
    text.truncate(end);
}

/// Holds an already-built value to the bounds serde reading enforces (the
/// agent converts JS objects itself and calls this, so both sides refuse the
/// same documents). Checks in document order, as a reader meets them, and
/// stops at the first bound passed; the message names it.
pub fn check(value: &Value) -> Result<(), String> {
    check_at(value, 0, &Budget::default()).map_err(|e| e.to_string())
}

fn check_at(value: &Value, depth: usize, budget: &Budget) -> Result<(), Exceeded> {
    budget.take(depth)?;
    match value {
        Value::String(s) => check_text(s, false),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                // As serde reads: the item first, then the count.
                check_at(item, depth + 1, budget)?;
                if i >= MAX_ARRAY_ITEMS {
                    return Err(Exceeded::ArrayItems);
                }
            }
            Ok(())
        }
        Value::Object(map) => {
            for (i, (key, item)) in map.iter().enumerate() {
                // As serde reads: the key, the count, then the value.
                check_text(key, true)?;
                if i >= MAX_KEYS {
                    return Err(Exceeded::Keys);
                }
                check_at(item, depth + 1, budget)?;
            }
            Ok(())
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Map;

    fn nested(levels: usize, object: bool) -> Value {
        let mut value = Value::from(0.0);
        for _ in 0..levels {
            value = if object {
                let mut map = Map::new();
                map.insert("a", value);
                Value::Object(map)
            } else {
                Value::Array(vec![value])
            };
        }
        value
    }

    fn wide(keys: usize) -> Value {
        Value::Object((0..keys).map(|i| (format!("k{i}"), Value::Null)).collect())
    }

    fn long(items: usize) -> Value {
        Value::Array(vec![Value::Null; items])
    }

    /// A document of exactly `nodes` values, every array within its bound.
    fn many(nodes: usize) -> Value {
        let chunks = 20;
        let mut left = nodes - 1 - chunks;
        let mut outer = Vec::new();
        for _ in 0..chunks {
            let n = left.min(MAX_ARRAY_ITEMS - 1);
            left -= n;
            outer.push(long(n));
        }
        assert_eq!(left, 0, "20 chunks hold the document");
        Value::Array(outer)
    }

    fn keyed(bytes: usize) -> Value {
        let mut map = Map::new();
        map.insert("x".repeat(bytes), Value::Null);
        Value::Object(map)
    }

    /// Each bound: at it accepted, one past it refused with the bound named,
    /// and serde reading and `check` agree word for word.
    #[test]
    fn serde_reading_and_check_agree_at_and_over_each_limit() {
        let cases: Vec<(&str, Value, Option<&str>)> = vec![
            ("depth, arrays", nested(MAX_DEPTH, false), None),
            (
                "depth, arrays + 1",
                nested(MAX_DEPTH + 1, false),
                Some("deeper than 16 levels"),
            ),
            ("depth, objects", nested(MAX_DEPTH, true), None),
            (
                "depth, objects + 1",
                nested(MAX_DEPTH + 1, true),
                Some("deeper than 16 levels"),
            ),
            (
                "empty array at the deepest level",
                {
                    let mut v = Value::Array(vec![]);
                    for _ in 0..MAX_DEPTH {
                        v = Value::Array(vec![v]);
                    }
                    v
                },
                None,
            ),
            ("keys", wide(MAX_KEYS), None),
            (
                "keys + 1",
                wide(MAX_KEYS + 1),
                Some("an object has more than 1000 keys"),
            ),
            ("items", long(MAX_ARRAY_ITEMS), None),
            (
                "items + 1",
                long(MAX_ARRAY_ITEMS + 1),
                Some("an array has more than 10000 items"),
            ),
            ("string", Value::from("s".repeat(MAX_STRING_BYTES)), None),
            (
                "string + 1",
                Value::from("s".repeat(MAX_STRING_BYTES + 1)),
                Some("a string is longer than 32768 bytes"),
            ),
            // Bytes, not characters: 16,384 two-byte characters are at the bound.
            (
                "string, UTF-8",
                Value::from("é".repeat(MAX_STRING_BYTES / 2)),
                None,
            ),
            (
                "string, UTF-8 + 1",
                Value::from("é".repeat(MAX_STRING_BYTES / 2) + "x"),
                Some("a string is longer than 32768 bytes"),
            ),
            ("key", keyed(MAX_STRING_BYTES), None),
            (
                "key + 1",
                keyed(MAX_STRING_BYTES + 1),
                Some("an object key is longer than 32768 bytes"),
            ),
            ("nodes", many(MAX_NODES), None),
            (
                "nodes + 1",
                many(MAX_NODES + 1),
                Some("the document has more than 200000 values"),
            ),
        ];
        for (name, value, refused) in cases {
            let text = value.to_json();
            let read = serde_json::from_str::<Value>(&text);
            let checked = check(&value);
            match refused {
                None => {
                    assert_eq!(read.as_ref().ok(), Some(&value), "{name}: serde refused");
                    assert_eq!(checked, Ok(()), "{name}: check refused");
                }
                Some(reason) => {
                    let read = read.expect_err(name).to_string();
                    let checked = checked.expect_err(name);
                    assert!(checked.contains(reason), "{name}: {checked}");
                    // serde_json adds where it stopped: " at line 1 column N".
                    assert!(read.starts_with(&checked), "{name}: {read} vs {checked}");
                }
            }
        }
    }

    #[test]
    fn a_huge_object_is_refused_and_duplicates_keep_last_wins() {
        let text = format!(
            "{{{}}}",
            (0..50_000)
                .map(|i| format!("\"k{i}\":{i}"))
                .collect::<Vec<_>>()
                .join(",")
        );
        let err = serde_json::from_str::<Value>(&text)
            .unwrap_err()
            .to_string();
        assert!(err.contains("more than 1000 keys"), "{err}");

        // Last wins, at the first one's place, for small and large objects.
        for n in [3, 100] {
            let mut members: Vec<String> = (0..n).map(|i| format!("\"k{i}\":{i}")).collect();
            members.push("\"k1\":\"last\"".into());
            let value: Value = serde_json::from_str(&format!("{{{}}}", members.join(","))).unwrap();
            let map = value.as_object().unwrap();
            assert_eq!(map.len(), n);
            assert_eq!(map.keys().nth(1), Some("k1"));
            assert_eq!(map.get("k1"), Some(&Value::from("last")));
        }
    }

    #[test]
    fn deep_text_is_an_error_not_a_stack_overflow() {
        let text = "[".repeat(100_000);
        let err = serde_json::from_str::<Value>(&text)
            .unwrap_err()
            .to_string();
        assert!(err.contains("deeper than 16 levels"), "{err}");
    }
}
