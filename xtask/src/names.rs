//! Short names across the shops' agent's wasm boundary.
//!
//! wasm-bindgen names each import after its JS function and a 16-digit hash
//! (`__wbg_localStorage_6827cfe6db14a9f6`), and the module they come from
//! `./nudge_agent_bg.js`; each name is written twice, in the wasm's import
//! section and as a key of the glue's imports object, and the hashes do not
//! compress. binaryen's `--minify-imports-and-exports-and-modules` renames
//! every import, export and module to one or two letters and prints what it
//! renamed; this step runs it and makes the same renames in the glue, then
//! checks that no old name is left for the glue to look up (a name missed
//! would fail the instantiation, so a build that misses one fails here).

use std::path::Path;
use std::process::Command;

use crate::wasm::{wasm_opt_program, WASM_FEATURES};
use crate::Result;

/// The module wasm-bindgen names for the glue's own imports object.
const GLUE_MODULE: &str = "./nudge_agent_bg.js";

/// Shortens the names between `wasm` and its wasm-bindgen `glue` (both
/// rewritten in place). Only for a glue whose every import is its own
/// (no `snippets/` module, whose export names cannot be renamed).
pub fn shorten(wasm: &Path, glue: &Path) -> Result {
    let renames = minify(wasm)?;
    let text =
        std::fs::read_to_string(glue).map_err(|e| format!("read {}: {e}", glue.display()))?;
    let text = rename_in_glue(&text, &renames)?;
    std::fs::write(glue, text).map_err(|e| format!("write {}: {e}", glue.display()))
}

/// What binaryen renamed: imports as (name, new name), with the one
/// module they now come from; exports as (name, new name).
#[derive(Debug, Default)]
struct Renames {
    module: Option<String>,
    imports: Vec<(String, String)>,
    exports: Vec<(String, String)>,
}

/// Runs the pass over `wasm` in place and reads the map it prints.
fn minify(wasm: &Path) -> Result<Renames> {
    let path = wasm.to_string_lossy();
    let wasm_opt = wasm_opt_program();
    eprintln!("$ wasm-opt --minify-imports-and-exports-and-modules {path}");
    let output = Command::new(&wasm_opt)
        .args(WASM_FEATURES)
        .args([
            "--minify-imports-and-exports-and-modules",
            &path,
            "-o",
            &path,
        ])
        .output()
        .map_err(|e| format!("run {}: {e}", wasm_opt.display()))?;
    if !output.status.success() {
        return Err(format!(
            "wasm-opt --minify-imports-and-exports-and-modules failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let mut renames = read_map(&String::from_utf8_lossy(&output.stdout))?;
    renames.module = Some(import_module(wasm)?);
    Ok(renames)
}

/// The one module every import of `wasm` now comes from (binaryen does not
/// print the modules' new names).
fn import_module(wasm: &Path) -> Result<String> {
    let bytes = std::fs::read(wasm).map_err(|e| format!("read {}: {e}", wasm.display()))?;
    let mut modules = std::collections::BTreeSet::new();
    for payload in wasmparser::Parser::new(0).parse_all(&bytes) {
        if let wasmparser::Payload::ImportSection(imports) =
            payload.map_err(|e| format!("read {}: {e}", wasm.display()))?
        {
            for import in imports.into_imports() {
                let import = import.map_err(|e| format!("read {}: {e}", wasm.display()))?;
                modules.insert(import.module.to_string());
            }
        }
    }
    match <[String; 1]>::try_from(modules.into_iter().collect::<Vec<_>>()) {
        Ok([module]) => Ok(module),
        Err(modules) => Err(format!("imports from {modules:?}: expected one module")),
    }
}

/// binaryen's map: `{"imports": [[module, name, new], ...], "exports":
/// [[name, new], ...]}`. Every import must come from the glue's own module.
fn read_map(printed: &str) -> Result<Renames> {
    let map: serde_json::Value =
        serde_json::from_str(printed).map_err(|e| format!("wasm-opt's rename map: {e}"))?;
    let rows = |key: &str| -> Result<Vec<Vec<String>>> {
        map[key]
            .as_array()
            .ok_or_else(|| format!("wasm-opt's rename map has no {key:?}"))?
            .iter()
            .map(|row| {
                row.as_array()
                    .map(|cells| {
                        cells
                            .iter()
                            .filter_map(|c| c.as_str().map(String::from))
                            .collect()
                    })
                    .ok_or_else(|| format!("wasm-opt's rename map: a row of {key:?} is not a list"))
            })
            .collect()
    };
    let mut renames = Renames::default();
    for row in rows("imports")? {
        let [module, name, new] = <[String; 3]>::try_from(row)
            .map_err(|row| format!("wasm-opt's rename map: import row {row:?}"))?;
        if module != GLUE_MODULE {
            return Err(format!(
                "import {name} comes from {module}, not the glue's own module: its name cannot be shortened"
            )
            );
        }
        renames.imports.push((name, new));
    }
    for row in rows("exports")? {
        let [name, new] = <[String; 2]>::try_from(row)
            .map_err(|row| format!("wasm-opt's rename map: export row {row:?}"))?;
        renames.exports.push((name, new));
    }
    Ok(renames)
}

/// The glue with the same renames: each import's key in the imports object
/// (`name: function(`, found exactly once), each `wasm.name` (the instance's
/// exports), and the module's key.
fn rename_in_glue(glue: &str, renames: &Renames) -> Result<String> {
    let mut text = glue.to_string();
    for (name, new) in &renames.imports {
        let key = format!("{name}: function(");
        if text.matches(&key).count() != 1 || count_words(&text, name) != 1 {
            return Err(format!(
                "the glue does not hold the import {name} once, as a key"
            ));
        }
        text = text.replacen(&key, &format!("{new}: function("), 1);
    }
    for (name, new) in &renames.exports {
        text = replace_words(&text, &format!("wasm.{name}"), &format!("wasm.{new}"));
    }
    let module_key = format!("\"{GLUE_MODULE}\": import0");
    if text.matches(&module_key).count() != 1 {
        return Err(format!("the glue's imports object has no {module_key}"));
    }
    let module = renames
        .module
        .as_deref()
        .ok_or("the imports' new module is not known")?;
    Ok(text.replacen(&module_key, &format!("\"{module}\": import0"), 1))
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '$'
}

/// Where `word` occurs in `text` with no identifier character on either side.
fn word_at(text: &str, word: &str) -> Vec<usize> {
    text.match_indices(word)
        .map(|(at, _)| at)
        .filter(|&at| {
            let before = text[..at].chars().next_back();
            let after = text[at + word.len()..].chars().next();
            !before.is_some_and(is_word_char) && !after.is_some_and(is_word_char)
        })
        .collect()
}

fn count_words(text: &str, word: &str) -> usize {
    word_at(text, word).len()
}

fn replace_words(text: &str, word: &str, new: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut from = 0;
    for at in word_at(text, word) {
        out.push_str(&text[from..at]);
        out.push_str(new);
        from = at + word.len();
    }
    out.push_str(&text[from..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const GLUE: &str = r#"
function __wbg_get_imports() {
    const import0 = {
        __proto__: null,
        __wbg_get_0123456789abcdef: function(arg0) { return wasm.memory.buffer; },
        __wbg_set_fedcba9876543210: function(arg0) { wasm.__wbindgen_free(arg0); },
    };
    return {
        __proto__: null,
        "./nudge_agent_bg.js": import0,
    };
}
function start(a) { return wasm.start(a) + wasm.start_later(a); }
"#;

    fn renames() -> Renames {
        Renames {
            module: Some("a".into()),
            imports: vec![
                ("__wbg_get_0123456789abcdef".into(), "a".into()),
                ("__wbg_set_fedcba9876543210".into(), "b".into()),
            ],
            exports: vec![
                ("memory".into(), "c".into()),
                ("__wbindgen_free".into(), "d".into()),
                ("start".into(), "e".into()),
                ("start_later".into(), "f".into()),
            ],
        }
    }

    #[test]
    fn every_name_is_renamed_on_both_sides_and_only_whole_names() {
        let glue = rename_in_glue(GLUE, &renames()).unwrap();
        assert!(glue.contains("        a: function(arg0) { return wasm.c.buffer; },"));
        assert!(glue.contains("        b: function(arg0) { wasm.d(arg0); },"));
        assert!(glue.contains("\"a\": import0,"));
        assert!(glue.contains("return wasm.e(a) + wasm.f(a);"));
        assert!(
            !glue.contains("__wbg_get_0") && !glue.contains("__wbg_set_f"),
            "{glue}"
        );
    }

    #[test]
    fn an_import_the_glue_does_not_hold_fails_the_build() {
        let mut renames = renames();
        renames
            .imports
            .push(("__wbg_gone_aaaaaaaaaaaaaaaa".into(), "z".into()));
        assert!(rename_in_glue(GLUE, &renames).is_err());
    }

    #[test]
    fn an_import_from_another_module_is_refused() {
        let map = r#"{"imports": [["./snippets/x/dom.js", "el", "a"]], "exports": []}"#;
        assert!(read_map(map).is_err());
        let map = r#"{"imports": [["./nudge_agent_bg.js", "el_0123456789abcdef", "a"]], "exports": [["start", "b"]]}"#;
        let renames = read_map(map).unwrap();
        assert_eq!(
            renames.imports,
            [("el_0123456789abcdef".to_string(), "a".to_string())]
        );
        assert_eq!(renames.exports, [("start".to_string(), "b".to_string())]);
    }
}
