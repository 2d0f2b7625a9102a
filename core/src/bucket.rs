//! Deterministic bucketing, bit-for-bit compatible with GrowthBook's SDKs, so a
//! visitor lands in the same A/B variant here, in the edge and in GrowthBook.

use crate::prelude::*;

/// FNV-1a (32 bit) over UTF-16 code units, as JavaScript's `charCodeAt` sees a string.
fn fnv1a32(parts: &[&str]) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for part in parts {
        for unit in part.encode_utf16() {
            hash ^= u32::from(unit);
            hash = hash.wrapping_mul(16_777_619);
        }
    }
    hash
}

/// A 32-bit FNV-1a fingerprint of some text (ETags, cache keys); not for
/// security. Over the UTF-8 bytes: no GrowthBook compatibility to keep here,
/// and no UTF-16 decoding of a whole config on every request.
pub fn fingerprint(parts: &[&str]) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for part in parts {
        for byte in part.bytes() {
            hash ^= u32::from(byte);
            hash = hash.wrapping_mul(16_777_619);
        }
    }
    hash
}

/// GrowthBook's `hash(seed, value, version)`: a number in `[0, 1)`, or `None`
/// for an unknown hash version. Version 2 is unbiased; 1 is kept for old data.
pub fn hash(seed: &str, value: &str, version: u32) -> Option<f64> {
    match version {
        2 => {
            let inner = fnv1a32(&[seed, value]).to_string();
            Some(f64::from(fnv1a32(&[&inner]) % 10_000) / 10_000.0)
        }
        1 => Some(f64::from(fnv1a32(&[value, seed]) % 1_000) / 1_000.0),
        _ => None,
    }
}

/// `n` equal weights summing to 1 (empty for `n <= 0`).
pub fn equal_weights(n: i64) -> Vec<f64> {
    match usize::try_from(n) {
        Ok(n) if n > 0 => vec![1.0 / n as f64; n],
        _ => Vec::new(),
    }
}

/// Turns weights into `[start, end)` ranges, shrunk by `coverage`. Invalid
/// weights (wrong count, not summing to ~1) fall back to equal weights.
pub fn bucket_ranges(variations: usize, coverage: f64, weights: Option<&[f64]>) -> Vec<(f64, f64)> {
    let coverage = if coverage.is_nan() {
        0.0
    } else {
        coverage.clamp(0.0, 1.0)
    };
    let equal = equal_weights(variations as i64);
    let weights = match weights {
        Some(w) if w.len() == variations && (0.99..=1.01).contains(&w.iter().sum::<f64>()) => w,
        _ => &equal,
    };
    let mut cumulative = 0.0;
    weights
        .iter()
        .map(|w| {
            let start = cumulative;
            cumulative += w;
            (start, start + coverage * w)
        })
        .collect()
}

/// The index of the range containing `n`, if any.
pub fn choose_variation(n: f64, ranges: &[(f64, f64)]) -> Option<usize> {
    ranges
        .iter()
        .position(|&(start, end)| n >= start && n < end)
}

/// Whether `id` falls inside a namespace slice `(name, start, end)`.
pub fn in_namespace(id: &str, namespace: (&str, f64, f64)) -> bool {
    let (name, start, end) = namespace;
    hash(&format!("__{name}"), id, 1).is_some_and(|n| n >= start && n < end)
}
