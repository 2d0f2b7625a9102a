//! The program's byte format: lengths as LEB128 varints, text as a length and
//! UTF-8 bytes, numbers as 8 little-endian bytes of their IEEE-754 bits, JSON
//! values behind a one-byte tag.

use super::{Format, FORMAT, MAGIC};
use crate::limits::MAX_KEYS;
use crate::prelude::*;
use crate::value::{Map, Value};

/// How deep a program may nest (clauses in clauses, values in values): more
/// than a config within `limits::MAX_DEPTH` can produce, low enough that
/// decoding never nears the stack's end.
pub const MAX_NESTING: usize = 64;

/// Why bytes are not a program: where, and what was wrong there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Malformed {
    /// The byte offset where reading stopped.
    pub at: usize,
    pub what: &'static str,
}

impl core::fmt::Display for Malformed {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "malformed program at byte {}: {}", self.at, self.what)
    }
}

impl core::error::Error for Malformed {}

/// Value tags.
const NULL: u8 = 0;
const FALSE: u8 = 1;
const TRUE: u8 = 2;
const NUMBER: u8 = 3;
const STRING: u8 = 4;
const ARRAY: u8 = 5;
const OBJECT: u8 = 6;

#[derive(Debug, Default)]
pub struct Writer {
    bytes: Vec<u8>,
}

impl Writer {
    pub fn new() -> Self {
        Self::default()
    }

    /// The header of a program in this build's format.
    pub fn header(&mut self) {
        self.header_of(Format::CURRENT);
    }

    /// The header of a program in `format` (the edge also writes the
    /// previous format, for agents still running from visitors' caches).
    pub fn header_of(&mut self, format: Format) {
        self.bytes.extend_from_slice(&MAGIC);
        self.bytes.push(format as u8);
    }

    pub fn byte(&mut self, b: u8) {
        self.bytes.push(b);
    }

    pub fn count(&mut self, n: usize) {
        self.varint(n as u64);
    }

    fn varint(&mut self, mut n: u64) {
        loop {
            let low = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                self.bytes.push(low);
                return;
            }
            self.bytes.push(low | 0x80);
        }
    }

    pub fn text(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }

    /// Bytes as they are (another program's part, copied).
    pub fn raw(&mut self, bytes: &[u8]) {
        self.bytes.extend_from_slice(bytes);
    }

    /// Bytes, with their length first.
    pub fn bytes(&mut self, bytes: &[u8]) {
        self.count(bytes.len());
        self.bytes.extend_from_slice(bytes);
    }

    /// A signed integer, zigzag-encoded so small negatives stay short.
    pub fn int(&mut self, n: i64) {
        self.varint(((n << 1) ^ (n >> 63)) as u64);
    }

    pub fn flag(&mut self, b: bool) {
        self.bytes.push(u8::from(b));
    }

    /// An optional part: a presence flag, then the part if there is one.
    pub fn option<T>(&mut self, value: Option<T>, write: impl FnOnce(&mut Self, T)) {
        self.flag(value.is_some());
        if let Some(value) = value {
            write(self, value);
        }
    }

    pub fn number(&mut self, n: f64) {
        self.bytes.extend_from_slice(&n.to_bits().to_le_bytes());
    }

    pub fn value(&mut self, value: &Value) {
        match value {
            Value::Null => self.byte(NULL),
            Value::Bool(false) => self.byte(FALSE),
            Value::Bool(true) => self.byte(TRUE),
            Value::Number(n) => {
                self.byte(NUMBER);
                self.number(*n);
            }
            Value::String(s) => {
                self.byte(STRING);
                self.text(s);
            }
            Value::Array(items) => {
                self.byte(ARRAY);
                self.values(items);
            }
            Value::Object(map) => {
                self.byte(OBJECT);
                self.count(map.len());
                for (key, value) in map.iter() {
                    self.text(key);
                    self.value(value);
                }
            }
        }
    }

    pub fn values(&mut self, values: &[Value]) {
        self.count(values.len());
        for value in values {
            self.value(value);
        }
    }

    pub fn finish(self) -> Vec<u8> {
        self.bytes
    }
}

#[derive(Debug)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    depth: usize,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            at: 0,
            depth: 0,
        }
    }

    /// Where the next read starts.
    pub fn at(&self) -> usize {
        self.at
    }

    pub fn fail<T>(&self, what: &'static str) -> Result<T, Malformed> {
        Err(Malformed { at: self.at, what })
    }

    pub fn header(&mut self) -> Result<(), Malformed> {
        if self.bytes.get(..MAGIC.len()) != Some(&MAGIC[..]) {
            return self.fail("not a Nudge program");
        }
        self.at = MAGIC.len();
        match self.byte()? {
            FORMAT => Ok(()),
            _ => self.fail("a program format this agent does not read"),
        }
    }

    /// Nothing may follow the program.
    pub fn end(&self) -> Result<(), Malformed> {
        if self.at == self.bytes.len() {
            Ok(())
        } else {
            self.fail("bytes after the end")
        }
    }

    pub fn byte(&mut self) -> Result<u8, Malformed> {
        let Some(&b) = self.bytes.get(self.at) else {
            return self.fail("truncated");
        };
        self.at += 1;
        Ok(b)
    }

    /// A LEB128 varint of at most `max_bytes` bytes (bits past 64 dropped).
    fn varint(&mut self, max_bytes: u32, too_long: &'static str) -> Result<u64, Malformed> {
        let mut n: u64 = 0;
        for shift in (0..7 * max_bytes).step_by(7) {
            let b = self.byte()?;
            n |= u64::from(b & 0x7f).checked_shl(shift).unwrap_or(0);
            if b & 0x80 == 0 {
                return Ok(n);
            }
        }
        self.fail(too_long)
    }

    fn raw_count(&mut self) -> Result<usize, Malformed> {
        // As a `usize`: on wasm32 the bits past 32 are dropped, and the
        // bounds below refuse what remains.
        Ok(self.varint(5, "a count longer than 5 bytes")? as usize)
    }

    /// A count of items that each take at least one byte: never more than
    /// the bytes left, so a made-up count cannot make anyone allocate.
    pub fn count(&mut self) -> Result<usize, Malformed> {
        let n = self.raw_count()?;
        if n > self.bytes.len() - self.at {
            return self.fail("a count past the end");
        }
        Ok(n)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], Malformed> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let Some(end) = end else {
            return self.fail("truncated");
        };
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    /// What [`Writer::bytes`] wrote.
    pub fn bytes(&mut self) -> Result<&'a [u8], Malformed> {
        let n = self.raw_count()?;
        self.take(n)
    }

    pub fn text(&mut self) -> Result<&'a str, Malformed> {
        let bytes = self.bytes()?;
        match core::str::from_utf8(bytes) {
            Ok(s) => Ok(s),
            Err(_) => self.fail("text that is not UTF-8"),
        }
    }

    pub fn int(&mut self) -> Result<i64, Malformed> {
        let n = self.varint(10, "an integer longer than 10 bytes")?;
        Ok(((n >> 1) as i64) ^ -((n & 1) as i64))
    }

    /// A small integer (a count, a cap) that must fit in 32 bits.
    pub fn small(&mut self) -> Result<u32, Malformed> {
        let n = self.raw_count()?;
        match u32::try_from(n) {
            Ok(n) => Ok(n),
            Err(_) => self.fail("a number past 32 bits"),
        }
    }

    pub fn flag(&mut self) -> Result<bool, Malformed> {
        match self.byte()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => self.fail("a flag that is neither 0 nor 1"),
        }
    }

    pub fn option<T>(
        &mut self,
        read: impl FnOnce(&mut Self) -> Result<T, Malformed>,
    ) -> Result<Option<T>, Malformed> {
        if self.flag()? {
            read(self).map(Some)
        } else {
            Ok(None)
        }
    }

    pub fn string(&mut self) -> Result<String, Malformed> {
        self.text().map(str::to_owned)
    }

    pub fn number(&mut self) -> Result<f64, Malformed> {
        let bytes = self.take(8)?;
        let mut bits = [0u8; 8];
        bits.copy_from_slice(bytes);
        Ok(f64::from_bits(u64::from_le_bytes(bits)))
    }

    /// Runs `read` one level deeper, refusing programs nested past
    /// [`MAX_NESTING`].
    pub fn nested<T>(
        &mut self,
        read: impl FnOnce(&mut Self) -> Result<T, Malformed>,
    ) -> Result<T, Malformed> {
        if self.depth >= MAX_NESTING {
            return self.fail("nested too deep");
        }
        self.depth += 1;
        let result = read(self);
        self.depth -= 1;
        result
    }

    /// `count` items read by `item`.
    pub fn list<T>(
        &mut self,
        mut item: impl FnMut(&mut Self) -> Result<T, Malformed>,
    ) -> Result<Vec<T>, Malformed> {
        let n = self.count()?;
        let mut items = Vec::with_capacity(n);
        for _ in 0..n {
            items.push(item(self)?);
        }
        Ok(items)
    }

    pub fn value(&mut self) -> Result<Value, Malformed> {
        self.nested(|r| {
            Ok(match r.byte()? {
                NULL => Value::Null,
                FALSE => Value::Bool(false),
                TRUE => Value::Bool(true),
                NUMBER => Value::Number(r.number()?),
                STRING => Value::String(r.text()?.to_owned()),
                ARRAY => Value::Array(r.values()?),
                OBJECT => Value::Object(r.object()?),
                _ => return r.fail("an unknown value tag"),
            })
        })
    }

    /// A key written twice keeps the last value, as in JSON reading. Keys
    /// are bounded as a JSON document's are ([`MAX_KEYS`]), which bounds the
    /// duplicate scan (no hash table in the agent for it).
    fn object(&mut self) -> Result<Map, Malformed> {
        let n = self.count()?;
        if n > MAX_KEYS {
            return self.fail("an object with too many keys");
        }
        let mut map = Map::new();
        for _ in 0..n {
            let key = self.text()?.to_owned();
            map.insert(key, self.value()?);
        }
        Ok(map)
    }

    pub fn values(&mut self) -> Result<Vec<Value>, Malformed> {
        self.list(Self::value)
    }
}
