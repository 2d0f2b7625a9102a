//! The browser key handshake: which key is the visitor's, and what an
//! acknowledgement changes.

use crate::session::key::{acknowledged, current, readable, BrowserKey};
use crate::value::{Map, Value};

fn key(aid: &str, secret: &str, sent: bool) -> BrowserKey {
    BrowserKey {
        sent,
        ..BrowserKey::new(aid, secret.into())
    }
}

#[test]
fn the_current_key_is_the_stored_one_then_the_one_in_memory_and_never_another_ids() {
    let stored = |k: &BrowserKey| Some(k.to_stored());
    let a_stored = key("a1", "s", true);
    let a_memory = key("a1", "m", false);
    let b = key("b2", "x", true);
    // (stored, in memory, the current key of a1)
    let table: [(Option<Value>, Option<&BrowserKey>, Option<&BrowserKey>); 7] = [
        (None, None, None),
        (stored(&a_stored), None, Some(&a_stored)),
        (stored(&a_stored), Some(&a_memory), Some(&a_stored)), // another tab's, read each time
        (None, Some(&a_memory), Some(&a_memory)),              // storage unavailable
        (stored(&b), Some(&a_memory), Some(&a_memory)),        // another id's stored key
        (stored(&b), None, None),
        (Some(Value::from("not a key")), Some(&b), None),
    ];
    for (i, (stored, memory, expected)) in table.into_iter().enumerate() {
        assert_eq!(
            current("a1", stored.as_ref(), memory).as_ref(),
            expected,
            "case {i}"
        );
    }
}

#[test]
fn a_key_is_kept_and_read_back_as_it_was_and_sent_as_the_browser_member() {
    for k in [key("a1", "s", false), key("a1", "s", true)] {
        assert_eq!(BrowserKey::from_stored(&k.to_stored()), Some(k.clone()));
    }
    let unsent = key("a1", "s", false).to_stored();
    let fields: Vec<&str> = unsent
        .as_object()
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    assert_eq!(fields, ["aid", "key"], "`sent` only once true");
    let mut odd = Map::new();
    odd.insert("aid", "a1");
    odd.insert("key", 7.0);
    assert_eq!(BrowserKey::from_stored(&Value::Object(odd)), None);
    let wire = key("a1", "s", true).to_wire();
    assert_eq!(wire.to_json(), r#"{"anonymousId":"a1","key":"s"}"#);
}

#[test]
fn only_the_first_acknowledgement_of_the_current_key_counts() {
    let unsent = key("a1", "s", false);
    let sent = key("a1", "s", true);
    let other = key("a1", "t", false);
    // (current key, the key the answered post carried, kept after)
    let table = [
        (Some(unsent.clone()), &unsent, Some(sent.clone())),
        (Some(sent.clone()), &unsent, None), // acknowledged before (another tab, a retry)
        (Some(other.clone()), &unsent, None), // reset since: a new key
        (None, &unsent, None),
    ];
    for (i, (current, carried, kept)) in table.into_iter().enumerate() {
        assert_eq!(acknowledged(current, carried), kept, "case {i}");
    }
}

#[test]
fn the_profile_is_read_only_with_a_key_the_edge_has() {
    assert_eq!(readable(Some(key("a1", "s", false))), None);
    assert_eq!(
        readable(Some(key("a1", "s", true))),
        Some(key("a1", "s", true))
    );
    assert_eq!(readable(None), None);
}
