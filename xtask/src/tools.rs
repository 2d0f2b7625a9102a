//! Installing the pinned toolchain: only what is missing, versions checked.
//! See ../shared/TOOLCHAIN.md for why each pin and flag is what it is.

use std::process::Command;

use crate::{root, run, Result};

const WASM_BINDGEN: &str = "0.2.130";
const WASM_PACK: &str = "0.15.1";
const WORKER_BUILD: &str = "0.8.7";

fn output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn has_version(program: &str, version: &str) -> bool {
    output(program, &["--version"]).is_some_and(|v| v.contains(version))
}

/// Rust's wasm target, wasm-bindgen-cli, wasm-pack, worker-build, and the npm tools
/// (wasm-opt, esbuild, playwright-core, wrangler with the Node 22 it requires).
pub fn ensure_build_tools() -> Result {
    let targets = output("rustup", &["target", "list", "--installed"]).unwrap_or_default();
    if !targets
        .lines()
        .any(|t| t.trim() == "wasm32-unknown-unknown")
    {
        run("rustup", &["target", "add", "wasm32-unknown-unknown"])?;
    }
    // No --locked: it fails for this version (TOOLCHAIN.md).
    if !has_version("wasm-bindgen", WASM_BINDGEN) {
        run(
            "cargo",
            &["install", "wasm-bindgen-cli", "--version", WASM_BINDGEN],
        )?;
    }
    if !has_version("wasm-pack", WASM_PACK) {
        run("cargo", &["install", "wasm-pack", "--version", WASM_PACK])?;
    }
    if !has_version("worker-build", WORKER_BUILD) {
        run(
            "cargo",
            &["install", "worker-build", "--version", WORKER_BUILD],
        )?;
    }
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
