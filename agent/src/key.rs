//! The browser key: the secret that lets this browser read its person's
//! profile from the edge (see [`BrowserKey`]).

use crate::prelude::*;
use nudge_core::{Map, Value};

/// The secret that lets this browser read its person's profile from the
/// edge: made here, registered by the edge for `aid` (hashed, the first key
/// it sees for that id) from the first post that carries it. The anonymous
/// id alone reads nothing: it travels in forwarded payloads.
#[derive(Clone)]
pub struct BrowserKey {
    pub aid: String,
    pub key: String,
    /// A post carrying it was answered 2xx: the edge has it.
    pub sent: bool,
}

impl BrowserKey {
    pub fn from_stored(stored: &Value) -> Option<BrowserKey> {
        Some(BrowserKey {
            aid: stored.get("aid")?.as_str()?.to_owned(),
            key: stored.get("key")?.as_str()?.to_owned(),
            sent: stored.get("sent") == Some(&Value::Bool(true)),
        })
    }

    /// The `browser` member of an events or identify body.
    pub fn to_wire(&self) -> Value {
        let mut wire = Map::new();
        wire.insert("anonymousId", self.aid.as_str());
        wire.insert("key", self.key.as_str());
        Value::Object(wire)
    }
}
