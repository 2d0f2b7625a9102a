//! Browser implementations of core's platform services, and what the page
//! tells us about itself (URL, device). Every call tolerates a hostile or
//! restricted environment: storage may throw, crypto may be missing.

use crate::prelude::*;
use nudge_core::decide::{Device, DeviceKind};
use nudge_core::event::PageContext;
use nudge_core::platform::{Random, Storage, StorageError};
use nudge_core::time::Millis;
use nudge_core::Value;

use crate::js;

pub fn now() -> Millis {
    js_sys::Date::now() as Millis
}

/// `performance.now()`: sub-millisecond, for measuring our own work, which
/// only debug mode reports. The shops' build has no words to report it with
/// (feature `messages`), so it makes no call and answers 0.
pub fn precise_now() -> f64 {
    if !cfg!(feature = "messages") {
        return 0.0;
    }
    window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

pub fn window() -> Option<web_sys::Window> {
    web_sys::window()
}

pub fn document() -> Option<web_sys::Document> {
    window()?.document()
}

/// Fills `bytes` from `crypto.getRandomValues`; `false` where it is missing.
fn secure_random(bytes: &mut [u8]) -> bool {
    window()
        .and_then(|w| w.crypto().ok())
        .is_some_and(|c| c.get_random_values_with_u8_array(bytes).is_ok())
}

/// A new browser key: 32 random bytes as base64url without padding (43
/// characters). Made as 43 random characters straight away, each from a
/// byte of `crypto.getRandomValues`: 42 carry 6 bits, the last 4 (its low
/// two bits are zero, as in the encoding of 32 bytes), the same 256 bits
/// and the same text an encoder would give, without one. `None` without
/// crypto: `Math.random` is not a secret.
pub fn new_browser_key() -> Option<String> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bytes = [0u8; 43];
    if !secure_random(&mut bytes) {
        return None;
    }
    bytes[42] &= 0b11_1100;
    Some(
        bytes
            .iter()
            .map(|b| char::from(ALPHABET[usize::from(b & 63)]))
            .collect(),
    )
}

/// `crypto.getRandomValues`, falling back to `Math.random` where it is
/// missing (ids only: never for a secret, see [`new_browser_key`]).
pub struct BrowserRandom;

impl Random for BrowserRandom {
    fn next_u32(&mut self) -> u32 {
        let mut bytes = [0u8; 4];
        if secure_random(&mut bytes) {
            u32::from_le_bytes(bytes)
        } else {
            (js_sys::Math::random() * f64::from(u32::MAX)) as u32
        }
    }
}

/// `localStorage`, holding JSON text. Unavailable storage (Safari private
/// mode, blocked cookies, quota) is an error value, never an exception.
pub struct LocalStore;

impl LocalStore {
    fn storage() -> Result<web_sys::Storage, StorageError> {
        window()
            .ok_or_else(|| StorageError::Unavailable("no window".into()))?
            .local_storage()
            .map_err(|_| StorageError::Unavailable("localStorage threw".into()))?
            .ok_or_else(|| StorageError::Unavailable("no localStorage".into()))
    }
}

impl Storage for LocalStore {
    fn load(&self, key: &str) -> Result<Option<Value>, StorageError> {
        let text = Self::storage()?
            .get_item(key)
            .map_err(|_| StorageError::Unavailable("getItem threw".into()))?;
        match text {
            None => Ok(None),
            Some(text) => js::parse(&text)
                .map(Some)
                .ok_or_else(|| StorageError::Corrupt("not JSON".into())),
        }
    }

    fn save(&self, key: &str, value: &Value) -> Result<(), StorageError> {
        self.save_text(key, &value.to_json())
    }

    fn remove(&self, key: &str) {
        if let Ok(storage) = Self::storage() {
            let _ = storage.remove_item(key);
        }
    }
}

impl LocalStore {
    /// Stores text that is already JSON.
    pub fn save_text(&self, key: &str, text: &str) -> Result<(), StorageError> {
        Self::storage()?
            .set_item(key, text)
            .map_err(|_| StorageError::Unavailable("setItem threw (quota?)".into()))
    }
}

/// Where we are: URL, path, query, referrer, title.
pub fn page_context() -> PageContext {
    let Some(window) = window() else {
        return PageContext::default();
    };
    let location = window.location();
    let document = window.document();
    PageContext {
        url: location.href().unwrap_or_default(),
        path: location.pathname().unwrap_or_default(),
        search: location.search().unwrap_or_default(),
        referrer: document
            .as_ref()
            .map(web_sys::Document::referrer)
            .unwrap_or_default(),
        title: document
            .as_ref()
            .map(web_sys::Document::title)
            .unwrap_or_default(),
    }
}

/// Device class from the primary pointer and the viewport width.
pub fn device() -> Device {
    let Some(window) = window() else {
        return Device::default();
    };
    let width = window
        .inner_width()
        .ok()
        .and_then(|w| w.as_f64())
        .unwrap_or(1024.0) as u32;
    let touch = window
        .match_media("(pointer: coarse)")
        .ok()
        .flatten()
        .is_some_and(|m| m.matches());
    let kind = match (touch, width) {
        (true, w) if w < 768 => DeviceKind::Mobile,
        (true, w) if w < 1200 => DeviceKind::Tablet,
        (false, w) if w < 500 => DeviceKind::Mobile,
        _ => DeviceKind::Desktop,
    };
    Device {
        kind,
        language: window.navigator().language().unwrap_or_default(),
        viewport_width: width,
        touch,
    }
}

/// A query-string parameter of the current URL.
pub fn query_param(name: &str) -> Option<String> {
    let search = window()?.location().search().ok()?;
    let found = nudge_core::decide::query_pairs(&search)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v);
    found
}
