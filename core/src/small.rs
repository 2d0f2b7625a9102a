//! Tiny replacements for std algorithms whose general versions cost the
//! browser agent kilobytes of wasm for lists that hold a handful of items.

/// Stable insertion sort: `less(a, b)` says whether `a` goes before `b`.
/// Quadratic, which is right for the tens of items it is used on.
pub(crate) fn sort_by<T>(items: &mut [T], less: impl Fn(&T, &T) -> bool) {
    for i in 1..items.len() {
        let mut j = i;
        while j > 0 && less(&items[j], &items[j - 1]) {
            items.swap(j, j - 1);
            j -= 1;
        }
    }
}

/// Whether `needle` occurs in `haystack`: a byte-window scan instead of std's
/// general substring searcher, for the short texts of URLs and attributes.
pub(crate) fn contains(haystack: &str, needle: &str) -> bool {
    needle.is_empty()
        || haystack
            .as_bytes()
            .windows(needle.len())
            .any(|w| w == needle.as_bytes())
}

#[cfg(test)]
mod tests {
    #[test]
    fn sorts_stably() {
        let mut v = vec![(3, 'a'), (1, 'b'), (3, 'c'), (2, 'd')];
        super::sort_by(&mut v, |a, b| a.0 > b.0);
        assert_eq!(v, [(3, 'a'), (3, 'c'), (2, 'd'), (1, 'b')]);
    }

    #[test]
    fn finds_substrings() {
        assert!(super::contains("/sale/shoes", "sale"));
        assert!(super::contains("abc", ""));
        assert!(!super::contains("ab", "abc"));
        assert!(!super::contains("", "a"));
    }
}
