//! Input limits, one set for every reader of untrusted JSON.
//!
//! The edge (serde_json text through [`crate::Value`]'s `Deserialize`) and the
//! agent (`JSON.parse` or a shop's object through `agent/src/js.rs`) both hold
//! documents to these bounds, so a config or event the edge accepts is read the
//! same way by the agent, and no input can make either do super-linear work
//! (object lookups are linear scans, so keys per object must be bounded).

use crate::prelude::*;

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

impl core::fmt::Display for Exceeded {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
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
pub(crate) struct Budget(core::cell::Cell<usize>);

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
