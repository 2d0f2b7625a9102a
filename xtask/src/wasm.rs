//! The steps every wasm build shares: a wasm32 release build, wasm-bindgen
//! for the web, and wasm-opt (npm's binaryen: Debian's is broken). Below
//! `build.rs` (the agent's builds, the edge's site) and `worker.rs` (the
//! Worker, as worker-build makes it), which both use them.

use std::path::{Path, PathBuf};

use crate::{root, run, run_in, target_dir, Result};

/// A release build of `package` for `<script type=module>` use, into
/// `out_dir` (relative to the repository root): what `wasm-pack build
/// --target web` does, as its two steps (cargo for wasm32, then the pinned
/// wasm-bindgen), so a fresh machine need not compile wasm-pack too.
/// `cargo` are more arguments for `cargo build` (features).
pub fn wasm_web(package: &str, out_dir: &str, cargo: &[&str]) -> Result {
    let wasm = build_wasm32(package, cargo, &[])?;
    let wasm = wasm.to_string_lossy();
    run(
        "wasm-bindgen",
        &[
            "--target",
            "web",
            "--no-typescript",
            "--out-dir",
            out_dir,
            &wasm,
        ],
    )
}

/// A release build of `package` for wasm32 (`cargo` are more arguments for
/// `cargo build`, `env` its environment); returns the `.wasm` it made.
pub fn build_wasm32(package: &str, cargo: &[&str], env: &[(&str, &str)]) -> Result<PathBuf> {
    let build = [
        "build",
        "--release",
        "--target",
        "wasm32-unknown-unknown",
        "-p",
        package,
    ];
    // The display module's crate is a library (render/Cargo.toml says why):
    // its module is linked here, and only here, as a cdylib.
    let display_module = [
        "rustc",
        "--release",
        "--target",
        "wasm32-unknown-unknown",
        "-p",
        package,
        "--lib",
        "--crate-type",
        "cdylib",
    ];
    let command: &[&str] = match package {
        "nudge-render" => &display_module,
        _ => &build,
    };
    run_in(&root(), "cargo", &[command, cargo].concat(), env)?;
    Ok(target_dir()
        .join("wasm32-unknown-unknown/release")
        .join(format!("{}.wasm", package.replace('-', "_"))))
}

/// Shrinks a shipped wasm in place: `-Oz` until it stops paying
/// (`--converge`), without the producers section (who built it is no
/// visitor's business: about 100 B each) or the target features section
/// (148 B each: for linkers; a browser reads the code itself).
pub fn wasm_opt(wasm: &Path) -> Result {
    wasm_opt_with(
        wasm,
        &[
            "-Oz",
            "--converge",
            "--strip-producers",
            "--strip-target-features",
        ],
    )
}

/// npm's wasm-opt (Debian's is broken), installed by `tools::ensure_all`.
pub fn wasm_opt_program() -> PathBuf {
    root().join("node_modules/.bin/wasm-opt")
}

/// The features Rust's wasm32 target emits by default, for wasm-opt.
pub const WASM_FEATURES: &[&str] = &[
    "--enable-bulk-memory",
    "--enable-nontrapping-float-to-int",
    "--enable-sign-ext",
    "--enable-mutable-globals",
    "--enable-reference-types",
    "--enable-multivalue",
];

/// npm's wasm-opt over `wasm`, in place, with `options` (the level and
/// more), knowing the features Rust's wasm32 target emits by default.
pub fn wasm_opt_with(wasm: &Path, options: &[&str]) -> Result {
    let wasm = wasm.to_string_lossy();
    let wasm_opt = wasm_opt_program();
    run(
        &wasm_opt.to_string_lossy(),
        &[options, WASM_FEATURES, &[&wasm, "-o", &wasm]].concat(),
    )
}
