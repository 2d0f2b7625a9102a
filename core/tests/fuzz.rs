//! Property-based fuzzing of every reader of untrusted input: config, events,
//! conditions, stored profiles and serde text. The property is the engine's
//! invariant (ARCHITECTURE.md, "the engine is total"): bad input gives
//! diagnostics or a serde error, never a panic, and documents stay within
//! `limits`.
//!
//! 256 cases per property by default (proptest's default); a longer campaign:
//! `PROPTEST_CASES=20000 cargo test -p nudge-core --release --test fuzz`.

use nudge_core::bounds;
use nudge_core::event::Event;
use nudge_core::json;
use nudge_core::limits::{MAX_ARRAY_ITEMS, MAX_DEPTH, MAX_EVENT_BYTES, MAX_KEYS};
use nudge_core::profile::{Profile, RemoteFacts};
use nudge_core::{Attributes, Condition, Config, Map, SavedGroups, Value};
use proptest::prelude::*;

// ---- generators ----

/// Keys a reader looks for (config fields, operators, wire fields), so random
/// documents reach past the first "unknown field".
const KEYS: &[&str] = &[
    "$or",
    "$and",
    "$nor",
    "$not",
    "$in",
    "$nin",
    "$ini",
    "$all",
    "$alli",
    "$elemMatch",
    "$size",
    "$exists",
    "$regex",
    "$regexi",
    "$eq",
    "$ne",
    "$gt",
    "$lte",
    "$vgt",
    "$veq",
    "$type",
    "$inGroup",
    "$notInGroup",
    "$bogus",
    "a",
    "a.b",
    "tags",
    "length",
    "0",
    "id",
    "campaigns",
    "trigger",
    "content",
    "audience",
    "variants",
    "layout",
    "title",
    "cta",
    "url",
    "image",
    "src",
    "frequency",
    "per_days",
    "schedule",
    "type",
    "event",
    "messageId",
    "anonymousId",
    "userId",
    "timestamp",
    "properties",
    "traits",
    "context",
    "page",
    "consent",
    "v",
    "aid",
    "cart",
    "coupons",
    "imp",
    "shown",
    "",
];

/// Strings that mean something to some reader: regexes, dates, URLs, versions.
const TEXTS: &[&str] = &[
    "",
    " ",
    "(",
    "[",
    "^a",
    "a+",
    "^/sale/$",
    "\\",
    "x.y",
    "modal",
    "inline",
    "page",
    "track",
    "identify",
    "active",
    "2026-01-01T00:00:00Z",
    "2026-13-45",
    "/ok",
    "//evil",
    "/\\evil",
    "https://ok.example",
    "javascript:x",
    "1.2.3",
    "v1.0.0-beta",
    "#fff",
    "undefined",
    "null",
    "é",
    "\u{0}",
    "\u{2028}",
    "9999999999999999999999",
];

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(KEYS).prop_map(str::to_owned),
        1 => ".{0,12}",
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        prop_oneof![
            (-5i32..105).prop_map(f64::from),
            any::<f64>(),
            Just(f64::NAN),
            Just(1e300),
            Just(-0.0),
        ]
        .prop_map(Value::Number),
        proptest::sample::select(TEXTS).prop_map(Value::from),
        ".{0,20}".prop_map(Value::String),
    ]
}

/// Any JSON-shaped value, a few levels deep, with the keys readers know.
fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            proptest::collection::vec((key(), inner), 0..8)
                .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map>())),
        ]
    })
}

/// One edit of a document: at the node `at` (modulo the node count), replace
/// it, drop a member, or add one.
#[derive(Clone, Debug)]
enum Edit {
    Replace(usize, Value),
    Remove(usize, usize),
    Add(usize, String, Value),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let edit = prop_oneof![
        3 => (any::<usize>(), value()).prop_map(|(at, v)| Edit::Replace(at, v)),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(at, i)| Edit::Remove(at, i)),
        2 => (any::<usize>(), key(), value()).prop_map(|(at, k, v)| Edit::Add(at, k, v)),
    ];
    proptest::collection::vec(edit, 1..6)
}

fn count(value: &Value) -> usize {
    1 + match value {
        Value::Array(items) => items.iter().map(count).sum(),
        Value::Object(map) => map.iter().map(|(_, v)| count(v)).sum(),
        _ => 0,
    }
}

/// The node numbered `n` in document order.
fn node_mut(value: &mut Value, n: &mut usize) -> Option<*mut Value> {
    if *n == 0 {
        return Some(value as *mut Value);
    }
    *n -= 1;
    let children: Vec<&mut Value> = match value {
        Value::Array(items) => items.iter_mut().collect(),
        Value::Object(map) => {
            let keys: Vec<String> = map.keys().map(str::to_owned).collect();
            // Re-borrow one member at a time through a raw pointer: `Map` has
            // no iter_mut, and the keys are distinct.
            let map: *mut Map = map;
            keys.iter()
                .filter_map(|k| unsafe { (*map).get_mut(k) })
                .collect()
        }
        _ => Vec::new(),
    };
    children.into_iter().find_map(|child| node_mut(child, n))
}

fn apply(mut doc: Value, edits: &[Edit]) -> Value {
    for edit in edits {
        let at = match edit {
            Edit::Replace(at, _) | Edit::Remove(at, _) | Edit::Add(at, _, _) => *at,
        };
        let mut n = at % count(&doc);
        let Some(node) = node_mut(&mut doc, &mut n) else {
            continue;
        };
        // SAFETY: `node` points into `doc`, which is not touched otherwise
        // until this edit is done.
        let node = unsafe { &mut *node };
        match (edit, node) {
            (Edit::Replace(_, v), node) => *node = v.clone(),
            (Edit::Remove(_, i), Value::Array(items)) if !items.is_empty() => {
                items.remove(i % items.len());
            }
            (Edit::Remove(_, i), Value::Object(map)) if !map.is_empty() => {
                let key = map.keys().nth(i % map.len()).map(str::to_owned);
                if let Some(key) = key {
                    map.remove(&key);
                }
            }
            (Edit::Add(_, _, v), Value::Array(items)) => items.push(v.clone()),
            (Edit::Add(_, k, v), Value::Object(map)) => map.insert(k.as_str(), v.clone()),
            _ => {}
        }
    }
    doc
}

fn demo_config() -> Value {
    serde_json::from_str(include_str!("../../demo-shop/campaigns.json")).unwrap()
}

fn sample_events() -> Vec<Value> {
    let text = r#"[
      {"type": "track", "event": "Product Added", "messageId": "m1", "anonymousId": "a1",
       "timestamp": "2026-11-23T10:00:00.000Z", "properties": {"price": 20, "quantity": 2,
       "product_id": "p1", "products": [{"price": 5, "quantity": 1}]},
       "context": {"page": {"url": "https://shop.example/p/1", "path": "/p/1"},
                   "consent": {"analytics": true, "marketing": false}}},
      {"type": "page", "name": "Cart", "messageId": "m2", "anonymousId": "a1", "userId": "u1",
       "timestamp": "2026-11-23T10:00:01Z", "properties": {"category": "shoes"},
       "context": {"page": {"path": "/cart"}}},
      {"type": "identify", "messageId": "m3", "anonymousId": "a1",
       "timestamp": "2026-11-23T10:00:02Z", "traits": {"email": "x@example.com", "plan": "pro"},
       "context": {"page": {}}}
    ]"#;
    match serde_json::from_str(text).unwrap() {
        Value::Array(items) => items,
        _ => unreachable!(),
    }
}

fn stored_profile() -> Value {
    let mut profile = Profile::new("a1", 1_790_000_000_000);
    for wire in sample_events() {
        profile.apply(&Event::from_wire(&wire, "").unwrap());
    }
    profile.record(
        "welcome",
        Some("b"),
        nudge_core::profile::Outcome::Shown,
        1_790_000_001_000,
    );
    profile.to_stored()
}

// ---- properties ----

/// Runs every kind of signal through `decide`, as a page view would.
fn decide_all(config: &Config, profile: &Profile, now: i64) {
    use nudge_core::decide::{build_attributes, decide, Context, PageState, Signal};
    let page = PageState {
        started_at: now - 5_000,
        ..PageState::default()
    };
    let _ = build_attributes(profile, &page, &config.geo, now);
    for signal in [
        Signal::PageView,
        Signal::Scroll { percent: 60 },
        Signal::ExitIntent,
        Signal::TimeOnPage { seconds: 30.0 },
        Signal::TimeOnSite { seconds: 300.0 },
        Signal::Inactivity { seconds: 30.0 },
        Signal::Event {
            name: "Product Added".into(),
        },
    ] {
        let ctx = Context {
            config,
            profile,
            page: &page,
            now,
        };
        let _ = decide(&ctx, &signal);
    }
}

fn read_config(value: &Value) {
    let (config, problems) = Config::from_value(value);
    // Every usable campaign's own problems were errors-free; the config never
    // holds more campaigns than it may.
    assert!(config.campaigns.len() <= nudge_core::config::MAX_CAMPAIGNS);
    assert_eq!(Config::validate(value), problems);
    decide_all(
        &config,
        &Profile::new("a1", 1_790_000_000_000),
        1_790_000_000_000,
    );
}

fn read_event(value: &Value) {
    if let Ok(event) = Event::from_wire(value, "batch[0]") {
        let wire = event.to_wire();
        assert!(wire.to_json().len() <= MAX_EVENT_BYTES);
        // Compared as JSON text: a NaN made in Rust is not equal to itself.
        let again = Event::from_wire(&wire, "").expect("a written event reads back");
        assert_eq!(again.to_wire().to_json(), wire.to_json());
        let mut profile = Profile::new("a1", 0);
        profile.apply(&event);
    }
}

fn read_profile(value: &Value) {
    if let Ok(mut profile) = Profile::from_stored(value) {
        // What was read is written and read again without loss of readability.
        assert!(Profile::from_stored(&profile.to_stored()).is_ok());
        // And used: a visit goes on with whatever numbers were stored.
        profile.touch(1_790_000_000_000);
        for wire in sample_events() {
            profile.apply(&Event::from_wire(&wire, "").unwrap());
        }
        let now = 1_790_000_002_000;
        profile.record("welcome", None, nudge_core::profile::Outcome::Shown, now);
        let _ = profile.usable_coupons(now).count();
        let _ = nudge_core::profile::days_between(profile.first_seen, now);
        let config = Config::from_value(&demo_config()).0;
        decide_all(&config, &profile, now);
    }
    if let Ok(remote) = RemoteFacts::from_wire(value) {
        let mut profile = Profile::new("a1", 0);
        profile.merge_remote(&remote);
    }
}

proptest! {
    // Cases from PROPTEST_CASES (256 unless set); failures are printed with
    // their shrunk input instead of persisted to files.
    #![proptest_config(ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn config_reading_is_total_on_any_value(value in value()) {
        read_config(&value);
        read_config(&Value::Object([("campaigns".to_owned(), Value::Array(vec![value]))].into_iter().collect()));
    }

    #[test]
    fn config_reading_is_total_on_edited_demo_configs(edits in edits()) {
        read_config(&apply(demo_config(), &edits));
    }

    #[test]
    fn event_reading_is_total(value in value(), which in 0usize..3, edits in edits()) {
        read_event(&value);
        read_event(&apply(sample_events()[which].clone(), &edits));
    }

    #[test]
    fn conditions_compile_and_evaluate_on_anything(
        condition in value(),
        attributes in proptest::collection::vec((key(), value()), 0..8),
        groups in value(),
    ) {
        let compiled = Condition::compile(&condition);
        let attributes = Attributes::from(attributes.into_iter().collect::<Map>());
        let (groups, _) = SavedGroups::from_value(&groups);
        let _ = compiled.matches_with_groups(&attributes, &groups);
        let _ = compiled.matches(&attributes);
    }

    /// The agent's program of any condition decides what the condition does.
    #[test]
    fn a_conditions_program_decides_what_it_does(
        condition in value(),
        attributes in proptest::collection::vec((key(), value()), 0..8),
        groups in value(),
    ) {
        let compiled = Condition::compile(&condition);
        let program = nudge_core::program::encode_condition(&compiled);
        let decoded = nudge_core::program::decode_condition(&program);
        prop_assert!(decoded.is_ok(), "{decoded:?}");
        let decoded = decoded.unwrap_or_default();
        let attributes = Attributes::from(attributes.into_iter().collect::<Map>());
        let (groups, _) = SavedGroups::from_value(&groups);
        prop_assert_eq!(
            decoded.matches_with_groups(&attributes, &groups),
            compiled.matches_with_groups(&attributes, &groups)
        );
    }

    /// Any bytes after a valid header: a program or a refusal, never a panic.
    #[test]
    fn program_reading_is_total(body in proptest::collection::vec(any::<u8>(), 0..256)) {
        let mut bytes = nudge_core::program::MAGIC.to_vec();
        bytes.push(nudge_core::program::FORMAT);
        bytes.extend(body);
        if let Ok(decoded) = nudge_core::program::decode_condition(&bytes) {
            let _ = decoded.matches(&Attributes::new());
        }
    }

    #[test]
    fn stored_profile_reading_is_total(value in value(), edits in edits()) {
        read_profile(&value);
        read_profile(&apply(stored_profile(), &edits));
    }

    /// Any text: a serde error or a value within the limits, never a panic.
    #[test]
    fn serde_reading_is_total_on_any_text(text in r#"[\[\]{}",:0-9a-z\\ .eE+-]{0,64}"#, raw in ".{0,32}") {
        for text in [&text, &raw] {
            if let Ok(value) = serde_json::from_str::<Value>(text) {
                prop_assert_eq!(bounds::check(&value), Ok(()));
            }
        }
    }

    /// The agent's reader (`json::parse`) and the edge's (serde) agree on any
    /// text: both refuse it, or both read the same value. Lone surrogate
    /// escapes are left out: `JSON.parse` (and so the agent) reads them,
    /// serde_json refuses them.
    #[test]
    fn the_agents_json_reader_agrees_with_the_edges(
        text in r#"[\[\]{}",:0-9a-z\\ .eE+-]{0,64}"#,
        raw in ".{0,32}",
        doc in value(),
    ) {
        let written = doc.to_json();
        for text in [&text, &raw, &written] {
            if text.contains("\\ud8") || text.contains("\\udc") {
                continue;
            }
            let ours = json::parse(text, json::Bounds::Refuse).ok();
            let edge = serde_json::from_str::<Value>(text).ok();
            prop_assert!(match (&ours, &edge) {
                (Some(a), Some(b)) => same_json(a, b),
                (a, b) => a == b,
            }, "{:?} vs {:?}: {}", ours, edge, text);
        }
    }

    /// Deep and wide documents around the limits: serde reading accepts
    /// exactly those `check` accepts.
    #[test]
    fn serde_reading_respects_the_limits(
        depth in 0usize..(MAX_DEPTH + 4),
        objects in any::<bool>(),
        keys in prop_oneof![0usize..40, (MAX_KEYS - 2)..(MAX_KEYS + 3)],
        items in prop_oneof![0usize..40, (MAX_ARRAY_ITEMS - 2)..(MAX_ARRAY_ITEMS + 3)],
    ) {
        let wide: Value = Value::Object((0..keys).map(|i| (format!("k{i}"), Value::from(i as u32))).collect());
        let long = Value::Array(vec![Value::Null; items]);
        let mut doc = Value::Array(vec![wide, long]);
        for _ in 0..depth {
            doc = if objects {
                Value::Object([("a".to_owned(), doc)].into_iter().collect())
            } else {
                Value::Array(vec![doc])
            };
        }
        let read = serde_json::from_str::<Value>(&doc.to_json());
        let checked = bounds::check(&doc);
        // The agent's reader refuses exactly the same documents, naming the same bound.
        let ours = json::parse(&doc.to_json(), json::Bounds::Refuse);
        prop_assert_eq!(ours.map_err(|e| e.to_string()), checked.clone().map(|()| doc.clone()));
        // The deepest value: the members of `wide` and `long`, or, when both
        // are empty, the two themselves.
        let deepest = depth + 1 + usize::from(keys > 0 || items > 0);
        let within = deepest <= MAX_DEPTH && keys <= MAX_KEYS && items <= MAX_ARRAY_ITEMS;
        prop_assert_eq!(checked.is_ok(), within);
        match read {
            Ok(read) => prop_assert!(within && read == doc),
            Err(err) => prop_assert!(!within && err.to_string().starts_with(&checked.unwrap_err())),
        }
    }
}

/// Equal values, numbers within an ulp or two: serde_json's default float
/// reading is not always correctly rounded, the agent's (the JS engine's) is.
fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x == y || (x - y).abs() <= x.abs().max(y.abs()) * 4.0 * f64::EPSILON
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_json(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y.iter())
                    .all(|((ka, a), (kb, b))| ka == kb && same_json(a, b))
        }
        _ => a == b,
    }
}

/// Found by `stored_profile_reading_is_total`: a stored profile may hold any
/// number (`in_session` at u32::MAX, timestamps at i64::MIN after the f64
/// cast), and counting an impression or checking a cap overflowed.
#[test]
fn extreme_stored_numbers_do_not_overflow() {
    let stored: Value = serde_json::from_str(
        r#"{"v": 2, "aid": "a1", "last": -1e300, "first": 1e300, "sessions": 1,
            "campaigns": [{"id": "welcome", "session": 1, "in_session": 4294967295,
                           "total": 1e300, "imp": [-1e300, 1e300],
                           "dismissed": -1e300, "converted": -1e300}]}"#,
    )
    .unwrap();
    let mut profile = Profile::from_stored(&stored).unwrap();
    profile.record("welcome", None, nudge_core::profile::Outcome::Shown, 0);
    let _ = nudge_core::profile::days_between(profile.last_seen, 0);
    decide_all(
        &Config::from_value(&demo_config()).0,
        &profile,
        1_790_000_000_000,
    );
    read_profile(&stored);
}
