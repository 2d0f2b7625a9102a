//! The regular-expression engine behind `$regex` / `$regexi`, chosen by the host.
//!
//! Core stays free of platform code, yet the browser already ships a fast
//! regex engine with exactly the semantics GrowthBook's JS SDK uses. So the
//! engine is a function the host installs once: the agent installs one backed
//! by JavaScript's `RegExp`; native builds default to `regex-lite` (feature
//! `regex`). With neither, every regex condition fails closed.

use std::sync::{Arc, OnceLock};

/// A compiled pattern.
pub trait RegexMatcher: Send + Sync {
    fn is_match(&self, haystack: &str) -> bool;
}

/// Compiles `pattern` (case-insensitively if asked); `None` if it is invalid.
pub type RegexCompiler = fn(pattern: &str, case_insensitive: bool) -> Option<Arc<dyn RegexMatcher>>;

static COMPILER: OnceLock<RegexCompiler> = OnceLock::new();

/// Installs the engine for the whole process. Only the first call wins, so a
/// host installs it at start-up, before parsing any condition. Returns whether
/// this call's engine is the one in use.
pub fn install_regex_compiler(compiler: RegexCompiler) -> bool {
    COMPILER.set(compiler).is_ok()
}

pub(crate) fn compile(pattern: &str, case_insensitive: bool) -> Option<Arc<dyn RegexMatcher>> {
    match COMPILER.get() {
        Some(compiler) => compiler(pattern, case_insensitive),
        None => default_compile(pattern, case_insensitive),
    }
}

#[cfg(feature = "regex")]
fn default_compile(pattern: &str, case_insensitive: bool) -> Option<Arc<dyn RegexMatcher>> {
    struct Lite(regex_lite::Regex);
    impl RegexMatcher for Lite {
        fn is_match(&self, haystack: &str) -> bool {
            self.0.is_match(haystack)
        }
    }
    regex_lite::RegexBuilder::new(pattern)
        .case_insensitive(case_insensitive)
        .build()
        .ok()
        .map(|re| Arc::new(Lite(re)) as Arc<dyn RegexMatcher>)
}

#[cfg(not(feature = "regex"))]
fn default_compile(_: &str, _: bool) -> Option<Arc<dyn RegexMatcher>> {
    None
}
