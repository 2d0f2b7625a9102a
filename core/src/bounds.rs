//! Holding an already built [`Value`] to [`crate::limits`]: the agent
//! converts a shop's JS objects itself and checks them here, so the edge
//! (serde reading) and the agent refuse the same documents.

use crate::limits::{check_text, Budget, Exceeded, MAX_ARRAY_ITEMS, MAX_KEYS};
use crate::prelude::*;
use crate::value::Value;

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
    use crate::limits::*;
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
