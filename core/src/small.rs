//! Tiny replacements for std algorithms whose general versions cost the
//! browser agent kilobytes of wasm for lists that hold a handful of items,
//! and for integers printed as text.

use alloc::string::String;

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

/// An integer's decimal digits, without `format!`: `core::fmt`'s integer
/// printing would otherwise be linked into the browser builds for this.
pub(crate) fn integer_to_string(n: i64) -> String {
    let mut out = String::with_capacity(20);
    push_integer(&mut out, n, 0);
    out
}

/// Appends `n` in at least `width` characters, zero-padded after any sign:
/// what `format!("{n:0width$}")` writes.
pub(crate) fn push_integer(out: &mut String, n: i64, width: usize) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = n.unsigned_abs();
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    let digits = digits.get(at..).unwrap_or_default();
    if n < 0 {
        out.push('-');
    }
    for _ in (digits.len() + usize::from(n < 0))..width {
        out.push('0');
    }
    out.extend(digits.iter().map(|&d| char::from(d)));
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

#[cfg(test)]
mod integer_tests {
    #[test]
    fn integers_print_as_format_would() {
        for n in [
            0,
            1,
            -1,
            9,
            10,
            -10,
            1234567,
            i64::MAX,
            i64::MIN,
            i64::MIN + 1,
        ] {
            assert_eq!(super::integer_to_string(n), n.to_string());
        }
        let mut n: i64 = 1;
        while let Some(next) = n.checked_mul(7) {
            assert_eq!(super::integer_to_string(next), next.to_string());
            assert_eq!(super::integer_to_string(-next), (-next).to_string());
            for width in [0, 2, 4, 21] {
                let mut padded = String::new();
                super::push_integer(&mut padded, -next, width);
                assert_eq!(padded, format!("{:0width$}", -next));
            }
            n = next;
        }
    }
}
