//! Timestamps: milliseconds since the Unix epoch, and their ISO 8601 form.
//!
//! Hand-written (Howard Hinnant's civil-date algorithms) because the agent
//! must not pay for a date library to print and read one format.

use crate::prelude::*;

/// Milliseconds since 1970-01-01T00:00:00Z.
pub type Millis = i64;

pub const SECOND: Millis = 1_000;
pub const MINUTE: Millis = 60 * SECOND;
pub const DAY: Millis = 24 * 60 * MINUTE;

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

/// Formats as `2026-11-23T10:01:30.123Z`.
pub fn to_iso8601(ms: Millis) -> String {
    let (days, rem) = (ms.div_euclid(DAY), ms.rem_euclid(DAY));
    let (y, m, d) = civil_from_days(days);
    let (h, rem) = (rem / 3_600_000, rem % 3_600_000);
    let (min, rem) = (rem / 60_000, rem % 60_000);
    // Written digit by digit, not `format!`: every event's timestamp goes
    // through here in the agent, which carries no formatting machinery.
    let mut out = String::with_capacity(24);
    let parts = [
        (y, 4, "-"),
        (m, 2, "-"),
        (d, 2, "T"),
        (h, 2, ":"),
        (min, 2, ":"),
        (rem / 1000, 2, "."),
        (rem % 1000, 3, "Z"),
    ];
    for (value, width, after) in parts {
        crate::small::push_integer(&mut out, value, width);
        out.push_str(after);
    }
    out
}

/// Parses `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM[:SS[.fff]]` followed by `Z` or a
/// `±HH:MM` offset (a date-time without zone is read as UTC).
pub fn parse_iso8601(text: &str) -> Option<Millis> {
    let b = text.as_bytes();
    let num = |range: core::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        if part.is_empty() || !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let mut ms = days_from_civil(y, mo, d) * DAY;
    if b.len() == 10 {
        return Some(ms);
    }
    if !matches!(b[10], b'T' | b't' | b' ') || b.len() < 16 || b[13] != b':' {
        return None;
    }
    let (h, mi) = (num(11..13)?, num(14..16)?);
    if h > 23 || mi > 59 {
        return None;
    }
    ms += h * 3_600_000 + mi * 60_000;
    let mut i = 16;
    if b.get(i) == Some(&b':') {
        let s = num(i + 1..i + 3)?;
        if s > 60 {
            return None;
        }
        ms += s * 1000;
        i += 3;
        if b.get(i) == Some(&b'.') {
            let start = i + 1;
            let mut end = start;
            while end < b.len() && b[end].is_ascii_digit() {
                end += 1;
            }
            let frac = text.get(start..end.min(start + 3))?;
            if frac.is_empty() {
                return None;
            }
            let scale = [100, 10, 1][frac.len() - 1];
            ms += frac.parse::<i64>().ok()? * scale;
            i = end;
        }
    }
    match b.get(i) {
        None => Some(ms),
        Some(b'Z' | b'z') if i + 1 == b.len() => Some(ms),
        Some(sign @ (b'+' | b'-')) if b.len() == i + 6 && b[i + 3] == b':' => {
            let offset = num(i + 1..i + 3)? * 3_600_000 + num(i + 4..i + 6)? * 60_000;
            Some(if *sign == b'+' {
                ms - offset
            } else {
                ms + offset
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The digit-by-digit writer prints what `format!` would, across
    /// centuries, before 1970 and before year 0.
    #[test]
    fn iso8601_is_what_format_would_print() {
        let reference = |ms: Millis| {
            let (days, rem) = (ms.div_euclid(DAY), ms.rem_euclid(DAY));
            let (y, m, d) = civil_from_days(days);
            let (h, rem) = (rem / 3_600_000, rem % 3_600_000);
            let (min, rem) = (rem / 60_000, rem % 60_000);
            format!(
                "{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{:02}.{:03}Z",
                rem / 1000,
                rem % 1000
            )
        };
        let mut ms: i64 = -70_000_000_000_000;
        while ms < 300_000_000_000_000 {
            assert_eq!(to_iso8601(ms), reference(ms), "{ms}");
            ms += 7_919_333_337;
        }
        for ms in [
            0,
            -1,
            1,
            999,
            -62_167_219_200_000,
            -62_167_219_200_001,
            253_402_300_799_999,
        ] {
            assert_eq!(to_iso8601(ms), reference(ms), "{ms}");
        }
    }

    #[test]
    fn round_trips_and_offsets() {
        let t = parse_iso8601("2026-11-23T10:01:30.123Z").unwrap();
        assert_eq!(to_iso8601(t), "2026-11-23T10:01:30.123Z");
        assert_eq!(parse_iso8601("1970-01-01"), Some(0));
        assert_eq!(parse_iso8601("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(
            parse_iso8601("2024-02-29T00:00:00Z"),
            Some(1_709_164_800_000)
        );
        for bad in [
            "",
            "2026-13-01",
            "2026-11-23T25:00Z",
            "yesterday",
            "2026-11-23T10:00:00Zjunk",
        ] {
            assert_eq!(parse_iso8601(bad), None, "{bad}");
        }
    }
}
