//! Platform services as small traits, each with an in-memory twin.
//!
//! Core never touches a browser or a Worker. The agent implements these with
//! `Date.now`, `localStorage` and `crypto.getRandomValues`; tests use the
//! in-memory twins to run everything natively and deterministically.

use crate::prelude::*;
use alloc::collections::BTreeMap;
use core::cell::{Cell, RefCell};

use crate::diagnostics::{msg, Diagnostic};
use crate::profile::Profile;
use crate::time::Millis;
use crate::value::Value;

pub trait Clock {
    fn now(&self) -> Millis;
}

/// A clock that only moves when told to.
#[derive(Debug, Default)]
pub struct ManualClock(Cell<Millis>);

impl ManualClock {
    pub fn new(now: Millis) -> Self {
        Self(Cell::new(now))
    }
    pub fn advance(&self, by: Millis) {
        self.0.set(self.0.get() + by);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Millis {
        self.0.get()
    }
}

/// Why a stored value could not be read or written.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StorageError {
    /// Storage is unavailable (private mode, blocked by the browser, full).
    Unavailable(String),
    /// Something is stored but it is not a value we can read.
    Corrupt(String),
}

impl core::fmt::Display for StorageError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            StorageError::Unavailable(why) => write!(f, "storage unavailable: {why}"),
            StorageError::Corrupt(why) => write!(f, "stored value is corrupt: {why}"),
        }
    }
}

/// A key-value store of JSON values (the implementation picks the encoding).
pub trait Storage {
    fn load(&self, key: &str) -> Result<Option<Value>, StorageError>;
    fn save(&self, key: &str, value: &Value) -> Result<(), StorageError>;
    fn remove(&self, key: &str);
}

#[derive(Debug, Default)]
pub struct MemoryStorage(RefCell<BTreeMap<String, Value>>);

impl Storage for MemoryStorage {
    fn load(&self, key: &str) -> Result<Option<Value>, StorageError> {
        Ok(self.0.borrow().get(key).cloned())
    }
    fn save(&self, key: &str, value: &Value) -> Result<(), StorageError> {
        self.0.borrow_mut().insert(key.to_owned(), value.clone());
        Ok(())
    }
    fn remove(&self, key: &str) {
        self.0.borrow_mut().remove(key);
    }
}

pub trait Random {
    fn next_u32(&mut self) -> u32;
}

/// xorshift32: deterministic randomness for tests.
#[derive(Debug)]
pub struct SeededRandom(u32);

impl SeededRandom {
    pub fn new(seed: u32) -> Self {
        Self(seed.max(1))
    }
}

impl Random for SeededRandom {
    fn next_u32(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x
    }
}

/// A random RFC 4122 version-4 UUID, for visitor and event ids.
pub fn new_id(random: &mut dyn Random) -> String {
    let mut bytes = [0u8; 16];
    for chunk in bytes.chunks_mut(4) {
        chunk.copy_from_slice(&random.next_u32().to_le_bytes());
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let mut out = String::with_capacity(36);
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
        out.push(char::from_digit(u32::from(b & 0xf), 16).unwrap_or('0'));
    }
    out
}

/// Loads the visitor's profile, or starts a fresh one. A stored value that is
/// corrupt, foreign or from an unknown format is replaced (never a failure),
/// and the reason is returned for the debug console.
pub fn load_profile(
    storage: &dyn Storage,
    key: &str,
    now: Millis,
    random: &mut dyn Random,
) -> (Profile, Option<Diagnostic>) {
    let fresh = |random: &mut dyn Random| Profile::new(new_id(random), now);
    match storage.load(key) {
        Ok(None) => (fresh(random), None),
        Ok(Some(value)) => match Profile::from_stored(&value) {
            Ok(profile) => (profile, None),
            Err(problem) => (
                fresh(random),
                Some(Diagnostic::warning(
                    msg!("profile"),
                    msg!("stored profile reset: {problem}"),
                )),
            ),
        },
        Err(error) => (
            fresh(random),
            Some(Diagnostic::warning(
                msg!("profile"),
                msg!("stored profile reset: {error}"),
            )),
        ),
    }
}
