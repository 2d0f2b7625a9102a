//! JSON text to [`Value`], held to the document limits while it reads.
//!
//! The agent reads its config, its storage and the edge's answers with this
//! instead of `JSON.parse` plus a walk over the JS object it builds: one copy
//! of the text into wasm, where the walk crossed the JS boundary for every key
//! and value (it was the largest part of the agent's start-up). The edge reads
//! with serde_json through `Value`'s `Deserialize`; both hold documents to
//! [`crate::limits`] and refuse the same ones.
//!
//! Strict RFC 8259: no comments, trailing commas, leading zeros or bare
//! words. As `JSON.parse`: a repeated key keeps its first position and its
//! last value; a lone surrogate escape reads as U+FFFD (what a JS string
//! holding one becomes in Rust). Numbers other than plain integers go through
//! the host's `Number()`, which reads JSON's number grammar exactly as
//! `JSON.parse` does.

use crate::prelude::*;
use core::fmt;

use crate::limits::{
    check_text, cut_text, Exceeded, MAX_ARRAY_ITEMS, MAX_DEPTH, MAX_KEYS, MAX_NODES,
};
use crate::value::{js_string_to_number, Map, Value};

/// What to do with a document that goes past a limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bounds {
    /// Refuse it, naming the bound (a config: the edge would refuse it too).
    Refuse,
    /// Keep what fits (our own storage, the edge's answers): values deeper
    /// than [`MAX_DEPTH`] read as `null`, values past the node budget and
    /// members past the key or item counts are dropped, strings are cut on a
    /// character boundary. Text nested past [`CUT_NESTING`] is still refused:
    /// the reader recurses, and its stack must stay bounded.
    Cut,
}

/// The deepest nesting [`Bounds::Cut`] reads through (as `null`) before refusing.
pub const CUT_NESTING: usize = 4 * MAX_DEPTH;

/// Why a text was not read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JsonError {
    /// Not JSON; `at` is the byte offset where reading stopped.
    Syntax { at: usize },
    /// Over a document limit.
    Exceeded(Exceeded),
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JsonError::Syntax { at } => write!(f, "not JSON (at byte {at})"),
            JsonError::Exceeded(what) => what.fmt(f),
        }
    }
}

impl From<Exceeded> for JsonError {
    fn from(what: Exceeded) -> Self {
        JsonError::Exceeded(what)
    }
}

/// Reads one JSON document (surrounding whitespace allowed).
pub fn parse(text: &str, bounds: Bounds) -> Result<Value, JsonError> {
    let mut reader = Reader {
        bytes: text.as_bytes(),
        text,
        at: 0,
        nodes: 0,
        bounds,
    };
    let value = reader.value(0)?.unwrap_or(Value::Null);
    reader.whitespace();
    if reader.at != reader.bytes.len() {
        return Err(reader.syntax());
    }
    Ok(value)
}

struct Reader<'a> {
    bytes: &'a [u8],
    text: &'a str,
    at: usize,
    nodes: usize,
    bounds: Bounds,
}

type Read<T> = Result<T, JsonError>;

impl Reader<'_> {
    fn syntax(&self) -> JsonError {
        JsonError::Syntax { at: self.at }
    }

    /// The text from `start` to here. Both ends sit next to ASCII bytes, so
    /// they are character boundaries; `get` rather than indexing keeps
    /// core's slicing panic (and its formatting, kilobytes of wasm) out.
    fn since(&self, start: usize) -> Read<&str> {
        self.text.get(start..self.at).ok_or_else(|| self.syntax())
    }

    fn cut(&self) -> bool {
        self.bounds == Bounds::Cut
    }

    fn whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.at) {
            self.at += 1;
        }
    }

    fn expect(&mut self, byte: u8) -> Read<()> {
        if self.bytes.get(self.at) == Some(&byte) {
            self.at += 1;
            Ok(())
        } else {
            Err(self.syntax())
        }
    }

    /// Counts one value at `depth` against the limits, in the order serde
    /// reading checks them (depth, then the count). `Ok(false)`: cut mode
    /// drops this value (its text is still read).
    fn take(&mut self, depth: usize) -> Read<bool> {
        if depth > MAX_DEPTH && !self.cut() {
            return Err(Exceeded::Depth.into());
        }
        if depth > CUT_NESTING {
            return Err(Exceeded::Depth.into());
        }
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return match self.bounds {
                Bounds::Refuse => Err(Exceeded::Nodes.into()),
                Bounds::Cut => Ok(false),
            };
        }
        Ok(true)
    }

    /// One value; `None` when cut mode drops it.
    fn value(&mut self, depth: usize) -> Read<Option<Value>> {
        self.whitespace();
        let keep = self.take(depth)?;
        let value = match self.bytes.get(self.at) {
            Some(b'{') => self.object(depth)?,
            Some(b'[') => self.array(depth)?,
            Some(b'"') => Value::String(self.string(false)?),
            Some(b't') => self.word("true", Value::Bool(true))?,
            Some(b'f') => self.word("false", Value::Bool(false))?,
            Some(b'n') => self.word("null", Value::Null)?,
            Some(b'-' | b'0'..=b'9') => Value::Number(self.number()?),
            _ => return Err(self.syntax()),
        };
        Ok(match (keep, depth > MAX_DEPTH) {
            (false, _) => None,
            (true, true) => Some(Value::Null),
            (true, false) => Some(value),
        })
    }

    fn word(&mut self, word: &str, value: Value) -> Read<Value> {
        if self.bytes[self.at..].starts_with(word.as_bytes()) {
            self.at += word.len();
            Ok(value)
        } else {
            Err(self.syntax())
        }
    }

    /// After a container's opening bracket: `true` (and past it) when
    /// `close` follows at once.
    fn empty(&mut self, close: u8) -> bool {
        self.whitespace();
        let empty = self.bytes.get(self.at) == Some(&close);
        if empty {
            self.at += 1;
        }
        empty
    }

    /// After a member: `true` past a comma (another member follows),
    /// `false` past `close`.
    fn more(&mut self, close: u8) -> Read<bool> {
        self.whitespace();
        match self.bytes.get(self.at) {
            Some(b',') => {
                self.at += 1;
                Ok(true)
            }
            Some(&b) if b == close => {
                self.at += 1;
                Ok(false)
            }
            _ => Err(self.syntax()),
        }
    }

    fn array(&mut self, depth: usize) -> Read<Value> {
        self.at += 1; // [
        let mut items = Vec::new();
        let mut more = !self.empty(b']');
        let mut count = 0;
        while more {
            let item = self.value(depth + 1)?;
            count += 1;
            if count > MAX_ARRAY_ITEMS && !self.cut() {
                return Err(Exceeded::ArrayItems.into());
            }
            if let Some(item) = item.filter(|_| count <= MAX_ARRAY_ITEMS) {
                items.push(item);
            }
            more = self.more(b']')?;
        }
        Ok(Value::Array(items))
    }

    fn object(&mut self, depth: usize) -> Read<Value> {
        self.at += 1; // {
        let mut map = Map::new();
        let mut more = !self.empty(b'}');
        let mut count = 0;
        while more {
            self.whitespace();
            if self.bytes.get(self.at) != Some(&b'"') {
                return Err(self.syntax());
            }
            let key = self.string(true)?;
            count += 1;
            if count > MAX_KEYS && !self.cut() {
                return Err(Exceeded::Keys.into());
            }
            self.whitespace();
            self.expect(b':')?;
            let item = self.value(depth + 1)?;
            if let Some(item) = item.filter(|_| count <= MAX_KEYS) {
                map.insert(key, item);
            }
            more = self.more(b'}')?;
        }
        Ok(Value::Object(map))
    }

    /// A string at the opening quote; `key` names the bound it goes past.
    fn string(&mut self, key: bool) -> Read<String> {
        self.at += 1; // "
        let start = self.at;
        // The common case, no escapes: one slice of the text.
        while let Some(&b) = self.bytes.get(self.at) {
            match b {
                b'"' => {
                    let s = self.since(start)?.to_owned();
                    self.at += 1;
                    return self.bounded(s, key);
                }
                b'\\' => break,
                0..=0x1f => return Err(self.syntax()),
                _ => self.at += 1,
            }
        }
        let mut s = self.since(start)?.to_owned();
        loop {
            let Some(&b) = self.bytes.get(self.at) else {
                return Err(self.syntax());
            };
            match b {
                b'"' => {
                    self.at += 1;
                    return self.bounded(s, key);
                }
                b'\\' => {
                    self.at += 1;
                    let escaped = match self.bytes.get(self.at) {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            self.at += 1;
                            s.push(self.unicode_escape()?);
                            continue;
                        }
                        _ => return Err(self.syntax()),
                    };
                    self.at += 1;
                    s.push(escaped);
                }
                0..=0x1f => return Err(self.syntax()),
                _ => {
                    // Copy the run up to the next quote or backslash whole
                    // (it is valid UTF-8: the text is a `str`, and both
                    // stops are ASCII).
                    let run = self.at;
                    while let Some(&b) = self.bytes.get(self.at) {
                        if matches!(b, b'"' | b'\\' | 0..=0x1f) {
                            break;
                        }
                        self.at += 1;
                    }
                    s.push_str(self.since(run)?);
                }
            }
        }
    }

    /// The character of a `\u` escape (after the `u`), pairing surrogates.
    fn unicode_escape(&mut self) -> Read<char> {
        let high = self.hex4()?;
        if !(0xD800..0xDC00).contains(&high) {
            return Ok(char::from_u32(high).unwrap_or('\u{FFFD}'));
        }
        // A high surrogate: a low one must follow for a pair.
        if self.bytes[self.at..].starts_with(b"\\u") {
            let save = self.at;
            self.at += 2;
            let low = self.hex4()?;
            if (0xDC00..0xE000).contains(&low) {
                let code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
                return Ok(char::from_u32(code).unwrap_or('\u{FFFD}'));
            }
            self.at = save; // read that escape on its own
        }
        Ok('\u{FFFD}')
    }

    fn hex4(&mut self) -> Read<u32> {
        let mut code = 0;
        for _ in 0..4 {
            let digit = self
                .bytes
                .get(self.at)
                .and_then(|&b| (b as char).to_digit(16))
                .ok_or_else(|| self.syntax())?;
            code = code * 16 + digit;
            self.at += 1;
        }
        Ok(code)
    }

    fn bounded(&self, mut s: String, key: bool) -> Read<String> {
        match self.bounds {
            Bounds::Refuse => check_text(&s, key)?,
            Bounds::Cut => cut_text(&mut s),
        }
        Ok(s)
    }

    /// A number in JSON's grammar: `-? (0 | [1-9][0-9]*) (.[0-9]+)? ([eE][+-]?[0-9]+)?`.
    fn number(&mut self) -> Read<f64> {
        let start = self.at;
        let negative = self.bytes[self.at] == b'-';
        if negative {
            self.at += 1;
        }
        let int_start = self.at;
        match self.bytes.get(self.at) {
            Some(b'0') => self.at += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(self.syntax()),
        }
        let int_end = self.at;
        let mut plain = true;
        if self.bytes.get(self.at) == Some(&b'.') {
            plain = false;
            self.at += 1;
            self.required_digits()?;
        }
        if let Some(b'e' | b'E') = self.bytes.get(self.at) {
            plain = false;
            self.at += 1;
            if let Some(b'+' | b'-') = self.bytes.get(self.at) {
                self.at += 1;
            }
            self.required_digits()?;
        }
        // Up to 15 digits is below 2^53: exact in an f64, no host call.
        if plain && int_end - int_start <= 15 {
            let magnitude = self.bytes[int_start..int_end]
                .iter()
                .fold(0u64, |n, &d| n * 10 + u64::from(d - b'0'))
                as f64;
            return Ok(if negative { -magnitude } else { magnitude });
        }
        Ok(js_string_to_number(self.since(start)?))
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.bytes.get(self.at) {
            self.at += 1;
        }
    }

    fn required_digits(&mut self) -> Read<()> {
        match self.bytes.get(self.at) {
            Some(b'0'..=b'9') => {
                self.digits();
                Ok(())
            }
            _ => Err(self.syntax()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::MAX_STRING_BYTES;

    fn read(text: &str) -> Result<Value, JsonError> {
        parse(text, Bounds::Refuse)
    }

    /// What serde_json through `Value`'s `Deserialize` (the edge) makes of it.
    fn edge(text: &str) -> Option<Value> {
        serde_json::from_str::<Value>(text).ok()
    }

    #[test]
    fn reads_what_the_edge_reads() {
        for text in [
            "null",
            " true ",
            "false",
            "0",
            "-0",
            "12",
            "-3.25",
            "1e3",
            "1E-2",
            "123456789012345",
            "1234567890123456789",
            "0.1",
            "\"\"",
            "\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"",
            "\"\\u00e9\\u20ac\\ud83d\\ude00 é€😀\"",
            "[]",
            "[1, [2, [3]], {\"a\": []}]",
            "{}",
            "{\"a\": 1, \"b\": {\"c\": [true, null]}, \"a\": 2}",
            "\n\t{ \"k\" :\r\n\"v\" }\n",
        ] {
            assert_eq!(read(text).ok(), edge(text), "{text}");
            assert!(read(text).is_ok(), "{text}");
        }
    }

    #[test]
    fn a_repeated_key_keeps_its_first_place_and_its_last_value() {
        let value = read("{\"a\": 1, \"b\": 2, \"a\": 3}").unwrap();
        let keys: Vec<_> = value.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["a", "b"]);
        assert_eq!(value.get("a"), Some(&Value::from(3.0)));
    }

    #[test]
    fn negative_zero_stays_negative() {
        let n = read("-0").unwrap().as_f64().unwrap();
        assert!(n == 0.0 && n.is_sign_negative());
    }

    #[test]
    fn refuses_what_is_not_json() {
        for text in [
            "",
            " ",
            "nul",
            "tru",
            "True",
            "NaN",
            "Infinity",
            "-",
            "+1",
            "01",
            "-01",
            "1.",
            ".5",
            "1e",
            "1e+",
            "0x10",
            "[1,]",
            "[,1]",
            "[1 2]",
            "{\"a\":1,}",
            "{a:1}",
            "{'a':1}",
            "{\"a\" 1}",
            "{\"a\":}",
            "\"abc",
            "\"\\x\"",
            "\"\\u12\"",
            "\"\\u12G4\"",
            "\"tab\there\"",
            "[1] 2",
            "// c\n1",
            "[",
            "{",
            "\"\\",
        ] {
            assert!(
                matches!(read(text), Err(JsonError::Syntax { .. })),
                "{text:?} was read"
            );
            assert_eq!(edge(text), None, "serde read {text:?}");
        }
    }

    #[test]
    fn a_lone_surrogate_reads_as_the_replacement_character() {
        assert_eq!(read("\"a\\ud800b\"").unwrap(), Value::from("a\u{FFFD}b"));
        assert_eq!(read("\"\\udc00\"").unwrap(), Value::from("\u{FFFD}"));
        assert_eq!(
            read("\"\\ud800\\u0041\"").unwrap(),
            Value::from("\u{FFFD}A")
        );
    }

    fn nested(levels: usize) -> String {
        format!("{}0{}", "[".repeat(levels), "]".repeat(levels))
    }

    #[test]
    fn refuses_a_document_over_the_limits_as_the_edge_does() {
        assert!(read(&nested(MAX_DEPTH)).is_ok());
        assert_eq!(
            read(&nested(MAX_DEPTH + 1)),
            Err(JsonError::Exceeded(Exceeded::Depth))
        );
        let long = format!("\"{}\"", "x".repeat(MAX_STRING_BYTES + 1));
        assert_eq!(read(&long), Err(Exceeded::StringBytes.into()));
        let key = format!("{{{long}: 1}}");
        assert_eq!(read(&key), Err(Exceeded::KeyBytes.into()));
        let items = format!("[{}0]", "0,".repeat(MAX_ARRAY_ITEMS));
        assert_eq!(read(&items), Err(Exceeded::ArrayItems.into()));
        let keys: Vec<String> = (0..=MAX_KEYS).map(|i| format!("\"k{i}\":0")).collect();
        assert_eq!(
            read(&format!("{{{}}}", keys.join(","))),
            Err(Exceeded::Keys.into())
        );
        let thousand = format!("[{}0]", "0,".repeat(999));
        let nodes = format!("[{}]", vec![thousand; MAX_NODES / 1001 + 1].join(","));
        assert_eq!(read(&nodes), Err(Exceeded::Nodes.into()));
        for text in [nested(MAX_DEPTH + 1), long, key, items, nodes] {
            assert_eq!(edge(&text), None);
        }
    }

    #[test]
    fn cut_mode_keeps_what_fits() {
        let deep = parse(&nested(MAX_DEPTH + 3), Bounds::Cut).unwrap();
        let mut inner = &deep;
        for _ in 0..=MAX_DEPTH {
            inner = &inner.as_array().unwrap()[0];
        }
        assert_eq!(inner, &Value::Null);
        let long = format!("\"{}é\"", "x".repeat(MAX_STRING_BYTES - 1));
        let cut = parse(&long, Bounds::Cut).unwrap();
        assert_eq!(cut.as_str().unwrap().len(), MAX_STRING_BYTES - 1);
        let items = format!("[{}0]", "1,".repeat(MAX_ARRAY_ITEMS));
        let cut = parse(&items, Bounds::Cut).unwrap();
        assert_eq!(cut.as_array().unwrap().len(), MAX_ARRAY_ITEMS);
        assert_eq!(
            parse(&nested(CUT_NESTING + 1), Bounds::Cut),
            Err(Exceeded::Depth.into())
        );
        assert!(matches!(
            parse("[1,", Bounds::Cut),
            Err(JsonError::Syntax { .. })
        ));
    }

    #[test]
    fn what_to_json_writes_reads_back() {
        let text = "{\"a\":[1,2.5,-3e-7,\"x\\n\\u0001\",{\"b\":null}],\"c\":true}";
        let value = read(text).unwrap();
        assert_eq!(read(&value.to_json()).unwrap(), value);
    }
}
