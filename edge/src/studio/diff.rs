//! A readable diff between two configs, for the studio's history: what
//! changed, campaign by campaign and journey by journey, field by field
//! (`content.title: "A" → "B"`).

use serde_json::{json, Map, Value};

/// The lists whose items are compared by id: campaigns, and journeys (named
/// `journey:<id>`, as the history names them).
const LISTS: [(&str, &str); 2] = [("campaigns", ""), ("journeys", "journey:")];

/// Every change from `before` to `after` (either may be absent: `Null`).
pub fn changes(before: &Value, after: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    for (list, prefix) in LISTS {
        let items = |config: &Value| -> Vec<(String, Value)> {
            config[list]
                .as_array()
                .map(|items| {
                    items
                        .iter()
                        .map(|c| {
                            (
                                format!("{prefix}{}", c["id"].as_str().unwrap_or_default()),
                                c.clone(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        let (old, new) = (items(before), items(after));
        for (id, item) in &new {
            match old.iter().find(|(o, _)| o == id) {
                Some((_, previous)) => walk(Some(id), "", previous, item, &mut out),
                None => out.push(change(Some(id), "", &Value::Null, item)),
            }
        }
        for (id, item) in &old {
            if !new.iter().any(|(n, _)| n == id) {
                out.push(change(Some(id), "", item, &Value::Null));
            }
        }
    }
    let empty = Map::new();
    let top = |config: &Value| config.as_object().cloned().unwrap_or_else(|| empty.clone());
    let (a, b) = (top(before), top(after));
    for key in a.keys().chain(b.keys().filter(|k| !a.contains_key(*k))) {
        if LISTS.iter().any(|(list, _)| key == list) {
            continue;
        }
        let (x, y) = (
            a.get(key).unwrap_or(&Value::Null),
            b.get(key).unwrap_or(&Value::Null),
        );
        walk(None, key, x, y, &mut out);
    }
    out
}

fn change(campaign: Option<&String>, path: &str, before: &Value, after: &Value) -> Value {
    json!({"campaign": campaign, "path": path, "before": before, "after": after})
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn walk(campaign: Option<&String>, path: &str, a: &Value, b: &Value, out: &mut Vec<Value>) {
    if a == b {
        return;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for key in x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))) {
                let (p, q) = (
                    x.get(key).unwrap_or(&Value::Null),
                    y.get(key).unwrap_or(&Value::Null),
                );
                walk(campaign, &join(path, key), p, q, out);
            }
        }
        // Same length (variants, rows): item by item; otherwise the whole list.
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                walk(campaign, &format!("{path}[{i}]"), p, q, out);
            }
        }
        _ => out.push(change(campaign, path, a, b)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_each_changed_field_of_each_campaign() {
        let before = json!({"site": "demo", "campaigns": [
            {"id": "a", "content": {"title": "Hi", "body": "x"}, "variants": [{"key": "v", "weight": 0.5}]},
            {"id": "gone", "priority": 1}
        ]});
        let after = json!({"site": "demo", "origins": ["https://s"], "campaigns": [
            {"id": "a", "content": {"title": "Hello", "body": "x"}, "variants": [{"key": "v", "weight": 0.7}]},
            {"id": "new", "priority": 2}
        ], "journeys": [{"id": "cart", "steps": [{"wait": {"hours": 2}}]}]});
        let found = changes(&before, &after);
        let paths: Vec<(Value, &str)> = found
            .iter()
            .map(|c| (c["campaign"].clone(), c["path"].as_str().unwrap()))
            .collect();
        assert_eq!(
            paths,
            vec![
                (json!("a"), "content.title"),
                (json!("a"), "variants[0].weight"),
                (json!("new"), ""),
                (json!("gone"), ""),
                (json!("journey:cart"), ""),
                (Value::Null, "origins"),
            ]
        );
        assert_eq!(found[0]["before"], "Hi");
        assert_eq!(found[0]["after"], "Hello");
        assert_eq!(found[3]["after"], Value::Null);
        assert!(changes(&after, &after).is_empty());
        let mut later = after.clone();
        later["journeys"][0]["steps"][0]["wait"]["hours"] = json!(4);
        let found = changes(&after, &later);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0]["campaign"], "journey:cart");
        assert_eq!(found[0]["path"], "steps[0].wait.hours");
    }
}
