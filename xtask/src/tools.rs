//! Installing the pinned toolchain: only what is missing, versions checked.
//! See ../shared/TOOLCHAIN.md for why each pin and flag is what it is.

use std::process::Command;

use crate::{root, run, run_in, Result};

const WASM_BINDGEN: &str = "0.2.130";
/// twiggy, for the bench's table of the agent's largest functions.
const TWIGGY: &str = "0.8.0";

fn output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn has_version(program: &str, version: &str) -> bool {
    output(program, &["--version"]).is_some_and(|v| v.contains(version))
}

/// Rust's wasm target, wasm-bindgen-cli, and the npm tools
/// (wasm-opt, esbuild, playwright-core, wrangler with the Node 22 it
/// requires): the Rust tools compile while npm downloads.
pub fn ensure_build_tools() -> Result {
    ensure_wasm_target()?;
    in_parallel(ensure_wasm_bindgen, ensure_npm_tools)
}

/// The build tools and the browser: apt and npm download (network) while
/// the Rust tools compile (CPU), which saves a fresh machine their time.
pub fn ensure_all() -> Result {
    ensure_all_while(|| Ok(()))
}

/// [`ensure_all`], with `work` that needs only Rust and its wasm target (the
/// lint) running beside the install: wasm-bindgen-cli's build leaves a core
/// idle for much of its last minutes (its largest crates and the link).
pub fn ensure_all_while(work: impl FnOnce() -> Result + Send) -> Result {
    ensure_wasm_target()?;
    in_parallel(
        || in_parallel(ensure_wasm_bindgen, work),
        || ensure_npm_tools().and_then(|_| ensure_browser()),
    )
}

fn in_parallel(
    first: impl FnOnce() -> Result + Send,
    second: impl FnOnce() -> Result + Send,
) -> Result {
    let (first, second) = in_parallel_both(first, second);
    first.and(second)
}

/// Runs both at once; both results.
pub fn in_parallel_both(
    first: impl FnOnce() -> Result + Send,
    second: impl FnOnce() -> Result + Send,
) -> (Result, Result) {
    std::thread::scope(|scope| {
        let other = scope.spawn(second);
        let first = first();
        let second = other
            .join()
            .unwrap_or_else(|_| Err("a step panicked".into()));
        (first, second)
    })
}

/// wasm-bindgen-cli (with its test runner).
/// No wasm-pack and no worker-build: `cargo xtask` runs their steps itself
/// (cargo, wasm-bindgen, wasm-opt, and for the Worker esbuild with
/// worker-build's shim: xtask/src/worker.rs), which saves a fresh machine
/// compiling them. Shops may still build the agent with `wasm-pack build`.
fn ensure_wasm_bindgen() -> Result {
    // No --locked: it fails for this version (TOOLCHAIN.md).
    if !has_version("wasm-bindgen", WASM_BINDGEN) {
        // Its own target directory, kept apart from the workspace's builds.
        let tools_target = root().join("target/tools");
        run_in(
            &root(),
            "cargo",
            &["install", &format!("wasm-bindgen-cli@{WASM_BINDGEN}")],
            &[("CARGO_TARGET_DIR", &tools_target.to_string_lossy())],
        )?;
    }
    Ok(())
}

/// twiggy (for `cargo xtask bench` only: the tests never need it).
pub fn ensure_twiggy() -> Result {
    if !has_version("twiggy", TWIGGY) {
        let tools_target = root().join("target/tools");
        run_in(
            &root(),
            "cargo",
            &["install", "--locked", &format!("twiggy@{TWIGGY}")],
            &[("CARGO_TARGET_DIR", &tools_target.to_string_lossy())],
        )?;
    }
    Ok(())
}

fn ensure_wasm_target() -> Result {
    let targets = output("rustup", &["target", "list", "--installed"]).unwrap_or_default();
    if !targets
        .lines()
        .any(|t| t.trim() == "wasm32-unknown-unknown")
    {
        run("rustup", &["target", "add", "wasm32-unknown-unknown"])?;
    }
    Ok(())
}

/// The npm tools, if `node_modules` is missing or older than the lock.
fn ensure_npm_tools() -> Result {
    let root = root();
    let installed = root.join("node_modules/.package-lock.json");
    let stale = match (
        std::fs::metadata(&installed),
        std::fs::metadata(root.join("package-lock.json")),
    ) {
        (Ok(have), Ok(want)) => have.modified().ok() < want.modified().ok(),
        _ => true,
    };
    if stale || !root.join("node_modules/.bin/wasm-opt").exists() {
        // `npm install`, not `npm ci`: workerd's optional packages for other
        // platforms are not in the lock (the registry here serves Linux only),
        // which `npm ci` refuses; `install` still follows the lock's versions.
        run("npm", &["install", "--no-audit", "--no-fund"])?;
    }
    Ok(())
}

/// Whether `cargo <command>` (clippy, fmt: rustup components) is missing.
pub fn missing_cargo_command(command: &str) -> bool {
    output("cargo", &[command, "--version"]).is_none()
}

/// Debian's Chromium and ChromeDriver (never a downloaded browser).
pub fn ensure_browser() -> Result {
    if std::path::Path::new("/usr/bin/chromium").exists()
        && std::path::Path::new("/usr/bin/chromedriver").exists()
    {
        return Ok(());
    }
    apt_install(&["chromium", "chromium-driver"])
}

/// A Debian package, if `path` (one of its files) is missing.
pub fn ensure_apt(package: &str, path: &str) -> Result {
    if std::path::Path::new(path).exists() {
        return Ok(());
    }
    apt_install(&[package])
}

fn apt_install(packages: &[&str]) -> Result {
    let root_user = output("id", &["-u"]).is_some_and(|u| u.trim() == "0");
    let (program, prefix): (&str, &[&str]) = if root_user {
        ("apt-get", &[])
    } else {
        ("sudo", &["apt-get"])
    };
    run(program, &[prefix, &["update"]].concat())?;
    run(
        program,
        &[
            prefix,
            &["install", "-y", "--no-install-recommends"],
            packages,
        ]
        .concat(),
    )
}
