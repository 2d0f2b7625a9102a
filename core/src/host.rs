//! The few primitives whose exact behaviour is JavaScript's, supplied by the host.
//!
//! Targeting must agree with GrowthBook's JS SDK, which leans on the JS engine
//! for regular expressions, number <-> text conversion and Unicode lowercase.
//! In the browser the agent installs the engine's own functions ([`install`]):
//! exact semantics, and no regex engine, float printer or Unicode tables in the
//! wasm (tens of KB). Native builds (feature `native`, on by default) use Rust
//! implementations that pass the same test vectors. Without either, minimal
//! fallbacks keep everything total: regexes fail closed, numbers use a plain
//! integer reader/printer, lowercase is ASCII-only.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;

use once_cell::race::OnceBox;

/// A compiled regular expression.
pub trait RegexMatcher: Send + Sync {
    fn is_match(&self, haystack: &str) -> bool;
}

impl core::fmt::Debug for dyn RegexMatcher {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Regex")
    }
}

/// The host's primitives. Each must behave like its JavaScript namesake.
#[derive(Clone, Copy)]
pub struct Host {
    /// `new RegExp(pattern, ci ? "i" : "")`; `None` when the pattern is invalid.
    pub compile_regex: fn(pattern: &str, case_insensitive: bool) -> Option<Arc<dyn RegexMatcher>>,
    /// `String(n)` for a finite, non-integral `n` (integers are printed by core).
    pub number_to_string: fn(f64) -> String,
    /// `Number(text)`.
    pub string_to_number: fn(&str) -> f64,
    /// `text.toLowerCase()`.
    pub to_lowercase: fn(&str) -> String,
}

static HOST: OnceBox<Host> = OnceBox::new();

/// Installs the host's primitives for the whole process. The first call wins,
/// so a host installs them at start-up, before reading any config. Returns
/// whether this call's primitives are the ones in use.
pub fn install(host: Host) -> bool {
    HOST.set(Box::new(host)).is_ok()
}

pub(crate) fn get() -> &'static Host {
    HOST.get().unwrap_or(&DEFAULT)
}

#[cfg(feature = "native")]
static DEFAULT: Host = Host {
    compile_regex: native::compile_regex,
    number_to_string: native::number_to_string,
    string_to_number: native::string_to_number,
    to_lowercase: native::to_lowercase,
};

#[cfg(not(feature = "native"))]
static DEFAULT: Host = Host {
    compile_regex: |_, _| None,
    number_to_string: fallback::number_to_string,
    string_to_number: fallback::string_to_number,
    to_lowercase: |s| s.to_ascii_lowercase(),
};

#[cfg(feature = "native")]
mod native {
    use super::*;

    struct Lite(regex_lite::Regex);

    impl RegexMatcher for Lite {
        fn is_match(&self, haystack: &str) -> bool {
            self.0.is_match(haystack)
        }
    }

    pub fn compile_regex(pattern: &str, case_insensitive: bool) -> Option<Arc<dyn RegexMatcher>> {
        let re = regex_lite::RegexBuilder::new(pattern)
            .case_insensitive(case_insensitive)
            .build()
            .ok()?;
        Some(Arc::new(Lite(re)))
    }

    pub fn number_to_string(n: f64) -> String {
        // Rust's shortest round-trip digits equal JS's for the fixed-notation range.
        format!("{n}")
    }

    pub fn string_to_number(text: &str) -> f64 {
        let t = text.trim();
        if t.is_empty() {
            return 0.0;
        }
        if let Some(n) = super::radix_literal(t) {
            return n;
        }
        match t {
            "Infinity" | "+Infinity" => return f64::INFINITY,
            "-Infinity" => return f64::NEG_INFINITY,
            _ => {}
        }
        // Rust also accepts "inf" and "nan"; JS does not.
        if t.bytes()
            .any(|b| b.is_ascii_alphabetic() && b != b'e' && b != b'E')
        {
            return f64::NAN;
        }
        t.parse::<f64>().unwrap_or(f64::NAN)
    }

    pub fn to_lowercase(text: &str) -> String {
        text.to_lowercase()
    }
}

/// `0x..`, `0o..`, `0b..` literals, as JS's `Number()` reads them.
fn radix_literal(t: &str) -> Option<f64> {
    for (prefix, radix) in [
        ("0x", 16),
        ("0X", 16),
        ("0o", 8),
        ("0O", 8),
        ("0b", 2),
        ("0B", 2),
    ] {
        if let Some(digits) = t.strip_prefix(prefix) {
            return Some(u64::from_str_radix(digits, radix).map_or(f64::NAN, |v| v as f64));
        }
    }
    None
}

/// Used only by a host that neither enables `native` nor installs its own:
/// integers only (anything else reads as NaN and prints truncated), which keeps
/// such a build total without carrying a float parser or printer.
#[cfg_attr(feature = "native", allow(dead_code))]
mod fallback {
    use alloc::string::String;

    /// The integer part (`small::integer_to_string`).
    pub fn number_to_string(n: f64) -> String {
        crate::small::integer_to_string(n as i64)
    }

    pub fn string_to_number(text: &str) -> f64 {
        let t = text.trim();
        if t.is_empty() {
            return 0.0;
        }
        super::radix_literal(t).unwrap_or_else(|| t.parse::<i64>().map_or(f64::NAN, |n| n as f64))
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn integers_only() {
            assert_eq!(super::string_to_number(" 12 "), 12.0);
            assert_eq!(super::string_to_number(""), 0.0);
            assert!(super::string_to_number("1.5").is_nan());
            assert_eq!(super::number_to_string(-3.0), "-3");
            assert_eq!(super::number_to_string(0.5), "0");
            assert_eq!(super::number_to_string(-9.2e18), "-9200000000000000000");
            assert_eq!(super::number_to_string(1234567.0), "1234567");
        }
    }
}
