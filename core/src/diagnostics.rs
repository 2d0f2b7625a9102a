//! Problems found in marketer-supplied input, each with where and why.
//!
//! The engine never stops at the first problem: validation collects every one
//! so a marketer fixes a config in one pass, and the decision engine attaches
//! them to its answers instead of failing.

use crate::prelude::*;
use alloc::borrow::Cow;
use core::fmt;

/// Words for people: a problem's message or path, `format!`ed only in builds
/// with the `messages` feature (the edge, the studio, native tools). The
/// shops' agent is built without it: its problems keep their severity (which
/// decides what is skipped) and lose their words, so the strings and the
/// formatting behind them stay out of the wasm every visitor downloads, and
/// no path is built for every field read. The edge validated the config
/// with the words on write; the studio shows them.
#[cfg(feature = "messages")]
macro_rules! msg {
    ($($arg:tt)*) => { ::alloc::format!($($arg)*) };
}
#[cfg(not(feature = "messages"))]
macro_rules! msg {
    // The format is checked inside a closure that is never called: the
    // arguments count as used, nothing is evaluated, and the linker drops
    // the strings.
    ($($arg:tt)*) => {{
        let _ = || {
            let _ = ::core::format_args!($($arg)*);
        };
        ::alloc::string::String::new()
    }};
}
pub(crate) use msg;

/// How much a problem matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Severity {
    /// Something is ignored or falls back to a default; the rest works.
    Warning,
    /// The item (campaign, condition, ...) holding it cannot be used.
    Error,
}

/// One problem: a JSON-style path (`campaigns[2].trigger.percent`) and a reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub path: String,
    pub message: String,
}

impl Diagnostic {
    pub fn error(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            path: path.into(),
            message: message.into(),
        }
    }

    pub fn warning(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            path: path.into(),
            message: message.into(),
        }
    }

    /// The same problem seen from a containing document (`prefix.path`).
    pub fn under(mut self, prefix: &str) -> Self {
        self.path = join_path(prefix, &self.path);
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !cfg!(feature = "messages") {
            // This build carries no words (see `msg!`).
            let what = match self.severity {
                Severity::Error => "an error",
                Severity::Warning => "a warning",
            };
            return write!(
                f,
                "{what}; this build carries no messages: the studio's editor names it"
            );
        }
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Joins a parent path and a child path (`a` + `b` = `a.b`, `a` + `[1]` = `a[1]`).
/// Empty in builds without the `messages` feature (see `msg!`).
pub fn join_path(prefix: &str, child: &str) -> String {
    if !cfg!(feature = "messages") {
        return String::new();
    }
    match (prefix.is_empty(), child.is_empty()) {
        (true, _) => child.to_owned(),
        (_, true) => prefix.to_owned(),
        _ if child.starts_with('[') => format!("{prefix}{child}"),
        _ => format!("{prefix}.{child}"),
    }
}

/// A key as it appears in a path: cut to its first 48 bytes (and `…`) when
/// longer than 64. Paths are built for every member of a condition before
/// anything is known to be wrong, so a long key repeated in every path below
/// it would make reading cost keys × members; cut, it costs a constant.
pub(crate) fn path_key(key: &str) -> Cow<'_, str> {
    if key.len() <= 64 || !cfg!(feature = "messages") {
        return Cow::Borrowed(key);
    }
    Cow::Owned(format!("{}…", crate::limits::text_prefix(key, 48)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn long_keys_are_cut_in_paths() {
        assert_eq!(super::path_key("short"), "short");
        let long = "é".repeat(40);
        assert_eq!(super::path_key(&long), format!("{}…", "é".repeat(24)));
    }
}
