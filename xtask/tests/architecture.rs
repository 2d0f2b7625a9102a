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
