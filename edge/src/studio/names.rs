//! The names people sign in to the studio with: each is recorded with what
//! they publish, so one must not pass for a name the edge writes itself
//! ("admin token") by looking the same. Normalised (Unicode NFKC, invisible
//! characters removed, spaces collapsed) before reserved names are checked.

use crate::http::{refuse, EdgeError};

/// Names the edge writes into the history itself (compared after
/// [`normalize_name`], case-insensitively).
const RESERVED_NAMES: &[&str] = &["admin token", "preview link", "the config before versions"];

/// What a name looks like, for comparing it with the reserved ones: the
/// letters that pass for Latin ones (Cyrillic "а", Greek "ο", Armenian "օ",
/// "0" for "o", "I", "1" and "|" with "l", "rn" for "m"; after
/// Unicode's confusables, for the letters people can type) made Latin,
/// combining marks dropped (a Turkish "İ" lowercases to "i" plus a dot),
/// then lowercase. NFKC alone keeps "аdmin token" with a Cyrillic "а".
fn skeleton(name: &str) -> String {
    let latin: String = name
        .chars()
        .flat_map(char::to_lowercase)
        .filter(|c| !('\u{0300}'..='\u{036F}').contains(c))
        .map(|c| match c {
            'а' | 'ɑ' | 'α' => 'a',
            'ь' | 'Ƅ' => 'b',
            'с' | 'ϲ' | 'ᴄ' => 'c',
            'ԁ' | 'ɗ' => 'd',
            'е' | 'ҽ' | 'є' => 'e',
            'ɡ' | 'ց' => 'g',
            'һ' | 'հ' => 'h',
            // "I" and "l" look alike in many fonts: one class for both.
            'i' | 'і' | 'ı' | 'ɩ' | 'ι' | 'ї' | 'l' | '1' | '|' | 'ǀ' | 'ӏ' | 'ⅼ' => 'l',
            'ј' | 'ϳ' => 'j',
            'κ' | 'к' => 'k',
            'ո' | 'п' | 'η' => 'n',
            'о' | 'ο' | 'օ' | '0' | 'σ' => 'o',
            'р' | 'ρ' => 'p',
            'г' => 'r',
            'ѕ' => 's',
            'т' | 'τ' => 't',
            'υ' | 'ս' => 'u',
            'ν' | 'ѵ' => 'v',
            'ԝ' | 'ω' | 'ա' => 'w',
            'х' | 'χ' => 'x',
            'у' | 'γ' => 'y',
            _ => c,
        })
        .collect();
    latin.replace("rn", "m")
}

/// Characters that show nothing (format characters, fillers, variation
/// selectors, tags): removed from names, so "admin\u{200B} token" cannot
/// pass for another name than "admin token" does.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}'
        | '\u{FFA0}' | '\u{FFF0}'..='\u{FFFB}' | '\u{1BCA0}'..='\u{1BCA3}'
        | '\u{1D173}'..='\u{1D17A}' | '\u{E0000}'..='\u{E0FFF}')
}

/// Characters that show as a space (besides Unicode's white space).
fn is_space_like(c: char) -> bool {
    c.is_whitespace() || matches!(c, '\u{2800}' | '\u{3000}')
}

/// A sign-in name as it is recorded and compared: Unicode NFKC (fullwidth
/// and other compatibility forms become the plain letters they show), with
/// invisible characters removed and runs of space-like characters made one
/// ASCII space, trimmed. NFKC is the form Unicode recommends for comparing
/// identifiers that people read (UAX #31); the crate is the standard one.
pub fn normalize_name(raw: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let mut name = String::with_capacity(raw.len());
    let mut pending_space = false;
    for c in raw.nfkc() {
        if is_invisible(c) {
            continue;
        }
        if is_space_like(c) {
            pending_space = !name.is_empty();
            continue;
        }
        if pending_space {
            name.push(' ');
            pending_space = false;
        }
        name.push(c);
    }
    name
}

/// The name to record for `raw`, or the refusal.
pub fn sign_in_name(raw: &str) -> Result<String, EdgeError> {
    let name = normalize_name(raw);
    if name.is_empty() {
        return Err(refuse(
            400,
            "empty_name",
            "your name is recorded with what you publish: it cannot be empty or invisible",
        ));
    }
    let looks = skeleton(&name);
    let reserved = RESERVED_NAMES.iter().any(|r| skeleton(r) == looks);
    if name.chars().count() > 80 || name.chars().any(char::is_control) || reserved {
        return Err(refuse(
            400,
            "bad_name",
            "your name (1-80 characters, not one the edge writes itself) is recorded with what you publish",
        ));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalised_before_reserved_ones_are_checked() {
        let code = |name: &str| match sign_in_name(name) {
            Ok(name) => name,
            Err(EdgeError::Refused(refusal)) => refusal.code.to_string(),
            Err(other) => panic!("{other}"),
        };
        for reserved in [
            "Admin Token",
            "  admin   token ",
            "admin\u{200B} token",
            "ad\u{00AD}min\u{2060} to\u{FEFF}ken",
            "ａｄｍｉｎ　ｔｏｋｅｎ",
            "\u{0430}dmin token",
            "adm\u{0456}n t\u{043E}ken",
            "adrnin token",
            "ADM\u{0130}N TOKEN",
            "preview Iink",
            "pr\u{0435}view l\u{0456}nk",
            "the c0nfig bef\u{03BF}re versions",
            "ADMIN\u{00A0}TOKEN",
            "preview\u{2003}link",
            "the config\u{200E} before versions",
            "\u{FEFF}Preview Link\u{200D}",
        ] {
            assert_eq!(code(reserved), "bad_name", "{reserved:?}");
        }
        for empty in [
            "",
            "   ",
            "\u{200B}\u{200C}\u{FEFF}",
            "\u{3000}\u{00AD}",
            "\u{3164}",
        ] {
            assert_eq!(code(empty), "empty_name", "{empty:?}");
        }
        assert_eq!(code("Ｐａｔ"), "Pat");
        assert_eq!(code("  Ann \t  Lee "), "Ann Lee");
        assert_eq!(code("Zoë"), "Zoë");
        // Only the reserved names are compared by their looks: other names keep theirs.
        assert_eq!(code("Ирина"), "Ирина");
        assert_eq!(code("Bernd"), "Bernd");
        assert_eq!(code("Admin Tokens"), "Admin Tokens");
        assert_eq!(code(&"x".repeat(81)), "bad_name");
        assert_eq!(code("bell\u{7}"), "bad_name");
    }
}
