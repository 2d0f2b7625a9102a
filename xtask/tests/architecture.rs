//! ARCHITECTURE.md's invariant, checked: `nudge-core` is pure Rust. Nothing
//! it depends on, directly or not, knows about browsers or Workers.

use std::collections::{BTreeSet, VecDeque};
use std::process::Command;

use serde_json::Value;

const PLATFORM_CRATES: &[&str] = &[
    "wasm-bindgen",
    "web-sys",
    "js-sys",
    "worker",
    "wasm-bindgen-futures",
];

#[test]
fn core_depends_on_no_platform_crate() {
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--manifest-path"])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).unwrap();
    let name_of = |id: &str| -> String {
        meta["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == id)
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .unwrap()
    };
    let nodes = meta["resolve"]["nodes"].as_array().unwrap();
    let core = nodes
        .iter()
        .find(|n| name_of(n["id"].as_str().unwrap()) == "nudge-core")
        .expect("nudge-core in the graph");

    // Walk normal (non-dev, non-build) dependencies.
    let mut seen = BTreeSet::new();
    let mut queue = VecDeque::from([core["id"].as_str().unwrap().to_owned()]);
    while let Some(id) = queue.pop_front() {
        let node = nodes.iter().find(|n| n["id"] == id.as_str()).unwrap();
        for dep in node["deps"].as_array().unwrap() {
            let normal = dep["dep_kinds"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k["kind"].is_null());
            let dep_id = dep["pkg"].as_str().unwrap().to_owned();
            if normal && seen.insert(name_of(&dep_id)) {
                queue.push_back(dep_id);
            }
        }
    }
    let platform: Vec<_> = seen
        .iter()
        .filter(|n| PLATFORM_CRATES.contains(&n.as_str()) || n.starts_with("gloo"))
        .collect();
    assert!(
        platform.is_empty(),
        "nudge-core depends on platform crates {platform:?} (all deps: {seen:?})"
    );
    assert!(
        seen.contains("serde"),
        "the walk found core's dependencies: {seen:?}"
    );
}

/// ARCHITECTURE.md's map of the edge, checked: each of its modules imports
/// only modules below it (ranks from the map, top to bottom), so the store
/// knows nothing of HTTP, the studio or forwarding, and no import circle can
/// come back. The entry points (`lib.rs`, `site/`) are above them all;
/// test files may reach anywhere.
#[test]
fn the_edges_modules_import_only_those_below_them() {
    const RANKS: &[(&str, u8)] = &[
        ("routes", 7),
        ("studio", 6),
        ("forward", 5),
        ("ingest", 6),
        ("reports", 5),
        ("assets", 5),
        ("http", 4),
        ("store", 3),
        ("config_policy", 2),
        ("keys", 2),
        ("destination", 2),
        ("tokens", 1),
        ("wire", 1),
    ];
    let rank = |module: &str| RANKS.iter().find(|(m, _)| *m == module).map(|(_, r)| *r);
    let src = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../edge/src"));
    let mut files = Vec::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if path.file_name().unwrap() != "tests" {
                    dirs.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    let mut wrong = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(src).unwrap();
        let first = relative.iter().next().unwrap().to_str().unwrap();
        let own = first.trim_end_matches(".rs");
        let Some(own_rank) = rank(own) else { continue };
        let text = std::fs::read_to_string(file).unwrap();
        // Code before an inline test module: tests may reach anywhere.
        let code = text.split("#[cfg(test)]").next().unwrap();
        for named in imported_modules(code) {
            if named != own && rank(&named).is_some_and(|r| r >= own_rank) {
                wrong.push(format!("{} imports crate::{named}", relative.display()));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports that point up or sideways: {wrong:#?}"
    );
}

/// The top-level modules `code` names as `crate::x` or in `crate::{x, y::z}`.
fn imported_modules(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        let names = match rest.strip_prefix('{') {
            Some(group) => group.split('}').next().unwrap_or_default(),
            None => rest,
        };
        for name in names.split(',') {
            let name: String = name
                .trim()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.insert(name);
            }
            if !rest.starts_with('{') {
                break;
            }
        }
    }
    found
}
