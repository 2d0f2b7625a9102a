//! The browser key: the secret that lets this browser read its person's
//! profile from the edge. The agent makes it for the visitor's anonymous id;
//! the edge registers it (hashed, the first key it sees for that id) from the
//! first post that carries it; the agent asks for the profile only once a
//! post carrying it was answered 2xx. The anonymous id alone reads nothing:
//! it travels in forwarded payloads.
//!
//! The rules here are the handshake's (which key is the visitor's, what an
//! acknowledgement changes); the agent keeps the key in local storage, where
//! another tab may make, acknowledge or reset it, and reads it from there
//! each time.

use crate::prelude::*;
use crate::value::{Map, Value};

#[derive(Clone, Debug, PartialEq)]
pub struct BrowserKey {
    /// The anonymous id it was made for.
    pub aid: String,
    pub key: String,
    /// A post carrying it was answered 2xx: the edge has it.
    pub sent: bool,
}

impl BrowserKey {
    /// A new key for `aid`, not yet sent (`secret`: the browser's random text).
    pub fn new(aid: &str, secret: String) -> BrowserKey {
        BrowserKey {
            aid: aid.to_owned(),
            key: secret,
            sent: false,
        }
    }

    /// Reads what [`BrowserKey::to_stored`] wrote; anything else is no key.
    pub fn from_stored(stored: &Value) -> Option<BrowserKey> {
        Some(BrowserKey {
            aid: stored.get("aid")?.as_str()?.to_owned(),
            key: stored.get("key")?.as_str()?.to_owned(),
            sent: stored.get("sent") == Some(&Value::Bool(true)),
        })
    }

    /// How the agent keeps it in local storage.
    pub fn to_stored(&self) -> Value {
        let mut stored = Map::new();
        stored.insert("aid", self.aid.as_str());
        stored.insert("key", self.key.as_str());
        if self.sent {
            stored.insert("sent", true);
        }
        Value::Object(stored)
    }

    /// The `browser` member of an events or identify body.
    pub fn to_wire(&self) -> Value {
        let mut wire = Map::new();
        wire.insert("anonymousId", self.aid.as_str());
        wire.insert("key", self.key.as_str());
        Value::Object(wire)
    }
}

/// The key of visitor `aid`: the stored one (`stored`, read each time:
/// another tab may have reset, made the key or seen it acknowledged), else
/// the one in memory (storage unavailable). Never another id's key: after a
/// reset or a sign-in as another user, the new id gets a key of its own.
pub fn current(
    aid: &str,
    stored: Option<&Value>,
    memory: Option<&BrowserKey>,
) -> Option<BrowserKey> {
    let mine = |key: &BrowserKey| key.aid == aid;
    stored
        .and_then(BrowserKey::from_stored)
        .filter(mine)
        .or_else(|| memory.filter(|key| mine(key)).cloned())
}

/// A post carrying `sent` was answered 2xx: the key to keep, acknowledged,
/// when `sent` is still the visitor's current key and this is its first
/// acknowledgement (then the profile can be fetched); `None` otherwise
/// (already acknowledged, or the visitor has another key since).
pub fn acknowledged(current: Option<BrowserKey>, sent: &BrowserKey) -> Option<BrowserKey> {
    current
        .filter(|key| key.key == sent.key && !key.sent)
        .map(|key| BrowserKey { sent: true, ..key })
}

/// The key to read the visitor's profile with: only one the edge has.
pub fn readable(current: Option<BrowserKey>) -> Option<BrowserKey> {
    current.filter(|key| key.sent)
}
