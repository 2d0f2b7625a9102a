//! `$regex` patterns that are only literal text, tested without a regex
//! engine.

use super::*;

/// A regular expression that is only literal text, optionally anchored with
/// `^` and `$`. Without the `m` flag JavaScript's anchors mean the start and
/// the end of the input, so these are exact text tests. Most `$regex`
/// conditions marketers write are like that (`^/collections/`), and testing
/// them here spares a call into the host's regex engine per evaluation (in
/// the agent, a string copy across the wasm boundary).
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Literal {
    Contains(String),
    Prefix(String),
    Suffix(String),
    Exact(String),
}

impl Literal {
    pub(super) fn of(pattern: &str) -> Option<Literal> {
        let (anchored_start, rest) = match pattern.strip_prefix('^') {
            Some(rest) => (true, rest),
            None => (false, pattern),
        };
        let (anchored_end, text) = match rest.strip_suffix('$') {
            Some(text) => (true, text),
            None => (false, rest),
        };
        if text.bytes().any(|b| b"\\.^$|?*+()[]{}".contains(&b)) {
            return None;
        }
        let text = text.to_owned();
        Some(match (anchored_start, anchored_end) {
            (false, false) => Literal::Contains(text),
            (true, false) => Literal::Prefix(text),
            (false, true) => Literal::Suffix(text),
            (true, true) => Literal::Exact(text),
        })
    }

    /// A pattern of literal text around one group of literal alternatives,
    /// each part optionally anchored: `^/(category|product)/`,
    /// `(?:spring|summer)-sale`, `(^/cart|/checkout$)`. It matches exactly
    /// when one of the literal patterns it spells out does (`^/category/`,
    /// `^/product/`): the usual shape of a page rule, which the agent's
    /// program then carries as literals (no regex engine, no string copy
    /// into the browser's). `None` for anything else.
    pub(super) fn alternatives(pattern: &str) -> Option<Vec<Literal>> {
        let (head, rest) = pattern.split_once('(')?;
        let (group, tail) = rest.rsplit_once(')')?;
        let group = group.strip_prefix("?:").unwrap_or(group);
        // A parenthesis or bar left in any part makes its literal refuse.
        group
            .split('|')
            .map(|choice| Literal::of(&[head, choice, tail].concat()))
            .collect()
    }

    pub(super) fn matches(&self, haystack: &str) -> bool {
        match self {
            Literal::Contains(t) => crate::small::contains(haystack, t),
            Literal::Prefix(t) => haystack.starts_with(t.as_str()),
            Literal::Suffix(t) => haystack.ends_with(t.as_str()),
            Literal::Exact(t) => haystack == t,
        }
    }
}

#[cfg(all(test, feature = "native"))]
mod tests {
    use super::Literal;

    /// Plain-text patterns give the regex engine's answer for every haystack;
    /// anything with a metacharacter is left to the engine.
    #[test]
    fn literal_patterns_agree_with_the_regex_engine() {
        let patterns = [
            "", "^", "$", "^$", "sale", "^/sale/", "/shoes$", "^exact$", "ünï", "a\\$", "^/(a|b)/",
            "x.y", "a+", "[a]",
        ];
        let haystacks = [
            "",
            "/sale/shoes",
            "exact",
            "exactly",
            "a$",
            "xzy",
            "sale",
            "/a/",
            "ünïcode",
        ];
        let mut literal = 0;
        for pattern in patterns {
            let Some(fast) = Literal::of(pattern) else {
                continue;
            };
            literal += 1;
            let engine = regex_lite::Regex::new(pattern).unwrap();
            for haystack in haystacks {
                assert_eq!(
                    fast.matches(haystack),
                    engine.is_match(haystack),
                    "{pattern:?} on {haystack:?}"
                );
            }
        }
        assert_eq!(literal, 9, "the last five patterns need the engine");
    }

    /// Patterns of literal alternatives give the regex engine's answer for
    /// every haystack; any other group is left to the engine.
    #[test]
    fn alternatives_agree_with_the_regex_engine() {
        let spelled_out = [
            "^/(category|product)/",
            "(?:spring|summer)-sale",
            "(^/cart|/checkout$)",
            "^(a|)$",
            "x(a|b|c)",
            "()",
            "^/(ünï|sale)$",
        ];
        let left_to_the_engine = [
            "a|(b|c)",
            "((a|b))",
            "(a)(b)",
            "x(^a|b)",
            "(a$|b)c",
            "(?=a)",
            "(?i:a|b)",
            "\\\\(a|b)",
            "(a.b|c)",
            "(a|b",
            ")a|b(",
            "a+(b|c)",
        ];
        let haystacks = [
            "",
            "/category/shoes",
            "/product/p-4",
            "/products/",
            "spring-sale",
            "summer-sales",
            "autumn-sale",
            "/cart",
            "/cart/x",
            "/x/checkout",
            "a",
            "xa",
            "xc",
            "x",
            "ab",
            "/ünï",
            "/sale",
        ];
        for pattern in spelled_out {
            let any = Literal::alternatives(pattern)
                .unwrap_or_else(|| panic!("{pattern:?} is literal alternatives"));
            let engine = regex_lite::Regex::new(pattern).unwrap();
            for haystack in haystacks {
                assert_eq!(
                    any.iter().any(|literal| literal.matches(haystack)),
                    engine.is_match(haystack),
                    "{pattern:?} on {haystack:?}"
                );
            }
        }
        for pattern in left_to_the_engine {
            assert_eq!(Literal::alternatives(pattern), None, "{pattern:?}");
        }
    }
}
