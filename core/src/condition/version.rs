//! Version strings made comparable as plain strings, as GrowthBook does.

use crate::prelude::*;

/// GrowthBook's `paddedVersionString`: strips a leading `v` and build
/// metadata, splits on `.` and `-`, marks a release without pre-release tag
/// with `~` (greater than any tag), and left-pads numeric parts to 5 so
/// `"9" < "10"` holds as strings. Non-strings become `"0"`.
pub fn padded_version(input: &crate::Value) -> String {
    let owned;
    let text = match input {
        crate::Value::String(s) if !s.is_empty() => s.as_str(),
        crate::Value::Number(_) => {
            owned = input.to_js_string().into_owned();
            owned.as_str()
        }
        _ => "0",
    };
    let text = text.strip_prefix('v').unwrap_or(text);
    let text = text.split('+').next().unwrap_or(text);
    let mut parts: Vec<&str> = text.split(['.', '-']).collect();
    if parts.len() == 3 {
        parts.push("~");
    }
    let mut out = String::with_capacity(text.len() + 16);
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push('-');
        }
        if !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()) {
            for _ in part.len()..5 {
                out.push(' ');
            }
        }
        out.push_str(part);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::padded_version;
    use crate::Value;

    #[test]
    fn orders_like_semver() {
        let p = |s: &str| padded_version(&Value::from(s));
        assert!(p("1.2.10") > p("1.2.9"));
        assert!(p("1.0.0") > p("1.0.0-beta"));
        assert_eq!(p("v1.2.3+build"), p("1.2.3"));
        assert_eq!(padded_version(&Value::Null), "    0");
    }
}
