//! Finds GrowthBook's SDK test vectors for the agent's browser tests
//! (`src/tests/conformance.rs`): `../shared/conformance/growthbook-cases.json`
//! beside the checkout, or `NUDGE_CONFORMANCE_FILE`. They are read from
//! there at compile time, never copied into the repository. Present: cfg
//! `nudge_conformance` and the file's path. Absent: the test is ignored,
//! except under CI (`CI` set), where a missing file is a broken checkout and
//! the test fails (cfg `nudge_conformance_required`). Nothing here changes
//! the agent a shop downloads.

use std::path::PathBuf;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(nudge_conformance)");
    println!("cargo::rustc-check-cfg=cfg(nudge_conformance_required)");
    println!("cargo::rerun-if-env-changed=NUDGE_CONFORMANCE_FILE");
    println!("cargo::rerun-if-env-changed=CI");
    let path = std::env::var_os("NUDGE_CONFORMANCE_FILE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../shared/conformance/growthbook-cases.json")
        });
    println!("cargo::rerun-if-changed={}", path.display());
    match path.canonicalize() {
        Ok(path) => {
            println!("cargo::rustc-cfg=nudge_conformance");
            println!(
                "cargo::rustc-env=NUDGE_CONFORMANCE_VECTORS={}",
                path.display()
            );
        }
        Err(_) if under_ci() => println!("cargo::rustc-cfg=nudge_conformance_required"),
        Err(_) => {}
    }
}

/// Whether this builds under CI (`CI=true`; an empty or `false` value is not).
fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}
