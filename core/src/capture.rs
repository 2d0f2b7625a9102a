//! Checking what a visitor types into a capture form, before it becomes an
//! event. The same rules serve the agent (inline errors) and the edge.

use crate::prelude::*;

/// Why an input was refused, worded for the visitor.
pub type Refusal = &'static str;

/// A plausible email address, trimmed and with its domain lowercased.
pub fn normalize_email(input: &str) -> Result<String, Refusal> {
    let text = input.trim();
    if text.is_empty() {
        return Err("Please enter your email address.");
    }
    let (local, domain) = text
        .rsplit_once('@')
        .ok_or("That email address is missing an @.")?;
    let valid_local =
        !local.is_empty() && local.len() <= 64 && !local.contains([' ', '\t', '\n', '\r']);
    let labels_ok = domain.split('.').all(|l| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && l.chars()
                .all(|c| !c.is_ascii() || c.is_ascii_alphanumeric() || c == '-')
    });
    if !valid_local || text.len() > 254 || !domain.contains('.') || !labels_ok {
        return Err("Please check your email address.");
    }
    // Joined, not `format!`ed: the display module carries no formatting.
    Ok([local, "@", &domain.to_ascii_lowercase()].concat())
}

/// A phone number in E.164 form (`+15551234567`); spaces, dots, dashes and
/// parentheses are ignored, and a leading `00` reads as `+`.
pub fn normalize_phone(input: &str) -> Result<String, Refusal> {
    let compact: String = input
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
        .collect();
    if compact.is_empty() {
        return Err("Please enter your phone number.");
    }
    let digits = compact
        .strip_prefix('+')
        .or_else(|| compact.strip_prefix("00"))
        .ok_or("Please include your country code, e.g. +1 555 123 4567.")?;
    if !digits.chars().all(|c| c.is_ascii_digit())
        || !(8..=15).contains(&digits.len())
        || digits.starts_with('0')
    {
        return Err("Please check your phone number.");
    }
    Ok(["+", digits].concat())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(
            normalize_email(" Ada@Example.COM "),
            Ok("Ada@example.com".into())
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@x.com",
            "ada@localhost",
            "a b@x.com",
            "ada@-x.com",
            "ada@x..com",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn phones() {
        assert_eq!(
            normalize_phone("+1 (555) 123-4567"),
            Ok("+15551234567".into())
        );
        assert_eq!(
            normalize_phone("0044 20 7946 0958"),
            Ok("+442079460958".into())
        );
        for bad in ["", "555 1234", "+1 555", "+1 555 CALL NOW", "+0123456789"] {
            assert!(normalize_phone(bad).is_err(), "{bad}");
        }
    }
}
