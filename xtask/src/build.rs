//! Building what ships: the agent's two builds (loader, glue, wasm) and the
//! edge Worker with its static site (the demo shop, the agent, the studio).
//! The steps they share (a wasm32 release build, wasm-bindgen, wasm-opt) are
//! `wasm.rs`'s.

use std::path::{Path, PathBuf};

use crate::wasm::{build_wasm32, wasm_opt, wasm_opt_with, wasm_web};
use crate::{root, run, worker, Result};

/// The shops' agent (agent/pkg: loader, glue, wasm) and the studio's build
/// (agent/pkg-studio: `--features studio`, glue and wasm), one after the
/// other (they share the target directory); both sizes printed.
pub fn build_agent() -> Result {
    build_agent_package("pkg", &[])?;
    build_agent_package("pkg-studio", &["--features", "studio"])?;
    eprintln!("the shops' agent (agent/pkg), what every page view downloads:");
    run(
        "node",
        &[
            "xtask/size.mjs",
            "agent/pkg/nudge.js",
            "agent/pkg/nudge_agent.js",
            "agent/pkg/nudge_agent_bg.wasm",
        ],
    )?;
    eprintln!("its display module (agent/pkg), fetched only when a campaign may show:");
    run(
        "node",
        &[
            "xtask/size.mjs",
            "agent/pkg/nudge_render.js",
            "agent/pkg/nudge_render_bg.wasm",
        ],
    )?;
    eprintln!("the studio's build (agent/pkg-studio, not downloaded by shops):");
    run(
        "node",
        &[
            "xtask/size.mjs",
            "agent/pkg-studio/nudge_agent.js",
            "agent/pkg-studio/nudge_agent_bg.wasm",
        ],
    )
}

/// The shops' wasm as shipped (wasm-bindgen, then wasm-opt -Oz) with its
/// function names kept (`-g`), for twiggy; returns its path.
pub fn named_agent_wasm() -> Result<PathBuf> {
    let out_dir = "target/bench/agent-named";
    wasm_web("nudge-agent", out_dir, &[])?;
    let wasm = root().join(out_dir).join("nudge_agent_bg.wasm");
    wasm_opt_with(&wasm, &["-Oz", "-g"])?;
    Ok(wasm)
}

/// One of the agent's builds into agent/`out_dir`: the agent's module and,
/// for the shops' build (`pkg`), the display module (render/, loaded when a
/// campaign may show) and the loader, which names the build's files with
/// their content hash.
fn build_agent_package(out_dir: &str, cargo: &[&str]) -> Result {
    build_module("nudge-agent", out_dir, cargo)?;
    if out_dir == "pkg" {
        build_display_module(out_dir)?;
        // The loader names the glue and wasm with their content hash
        // (`?v=`), which the edge serves as immutable: a returning visitor
        // downloads them once per build.
        let define = format!("--define:NUDGE_BUILD=\"{}\"", agent_build()?);
        esbuild(&[
            "agent/loader/nudge.js",
            "--outfile=agent/pkg/nudge.js",
            &define,
        ])?;
    }
    let _ = std::fs::remove_file(root().join("agent").join(out_dir).join(".gitignore"));
    Ok(())
}

/// `package` as a web module in agent/`out_dir`: wasm-bindgen's glue and
/// the wasm, shrunk by wasm-opt, the glue minified with the JS its crates
/// import (wasm-bindgen's `snippets/`, such as render/src/dom.js) bundled
/// in, so each module stays two files.
fn build_module(package: &str, out_dir: &str, cargo: &[&str]) -> Result {
    let stem = package.replace('-', "_");
    let dir = root().join("agent").join(out_dir);
    let _ = std::fs::remove_dir_all(dir.join("snippets"));
    wasm_web(package, &format!("agent/{out_dir}"), cargo)?;
    let wasm = dir.join(format!("{stem}_bg.wasm"));
    wasm_opt(&wasm)?;
    let glue = format!("agent/{out_dir}/{stem}.js");
    // The studio's build imports the renderer's dom.js, whose names stay.
    if out_dir == "pkg" {
        crate::names::shorten(&wasm, &root().join(&glue))?;
    }
    esbuild(&[
        glue.as_str(),
        "--bundle",
        // wasm-bindgen lists a snippet once per imported function in the
        // glue's imports object: the same key, the same module.
        "--log-override:duplicate-object-key=silent",
        "--format=esm",
        "--allow-overwrite",
        &format!("--outfile={glue}"),
    ])?;
    let _ = std::fs::remove_dir_all(dir.join("snippets"));
    Ok(())
}

/// The display module (render/) in agent/`out_dir`: its wasm, shrunk like
/// every shipped wasm, and its own glue (render/src/module.js, with the
/// dom.js it imports), minified. No wasm-bindgen: the module's DOM steps are
/// plain wasm imports of that glue (render/src/dom/raw.rs).
fn build_display_module(out_dir: &str) -> Result {
    let built = build_wasm32(
        "nudge-render",
        &["--no-default-features", "--features", "module"],
        &[],
    )?;
    let dir = root().join("agent").join(out_dir);
    let wasm = dir.join("nudge_render_bg.wasm");
    std::fs::copy(&built, &wasm).map_err(|e| format!("copy {}: {e}", built.display()))?;
    wasm_opt(&wasm)?;
    esbuild(&[
        "render/src/module.js",
        "--bundle",
        "--format=esm",
        "--allow-overwrite",
        &format!("--outfile=agent/{out_dir}/nudge_render.js"),
    ])
}

/// esbuild (from npm) minifying a loader or glue file, with `args`.
fn esbuild(args: &[&str]) -> Result {
    let esbuild = root().join("node_modules/.bin/esbuild");
    let common = [
        "--minify",
        "--target=es2020",
        "--legal-comments=inline",
        "--log-level=warning",
    ];
    run(&esbuild.to_string_lossy(), &[args, &common].concat())
}

/// The shops' build's modules: the agent, and the display module.
const SHOPS_MODULES: [&str; 4] = [
    "nudge_agent.js",
    "nudge_agent_bg.wasm",
    "nudge_render.js",
    "nudge_render_bg.wasm",
];

/// The shops' agent build's id: the first 16 hex digits of SHA-256 over its
/// modules' glue and wasm (agent/pkg).
fn agent_build() -> Result<String> {
    use sha2::{Digest, Sha256};
    let pkg = root().join("agent/pkg");
    let mut hash = Sha256::new();
    for file in SHOPS_MODULES {
        let bytes = std::fs::read(pkg.join(file))
            .map_err(|e| format!("read agent/pkg/{file} (run cargo xtask build-agent): {e}"))?;
        hash.update(&bytes);
    }
    Ok(hash
        .finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// The Worker (`edge/build`, made as worker-build makes it: xtask/src/worker.rs)
/// and its static assets: the demo shop, the agent and the studio.
pub fn build_edge() -> Result {
    let root = root();
    // Which agent build the Worker serves as immutable (edge/src/assets.rs).
    let agent = agent_build()?;
    worker::build(
        "nudge-edge",
        &root.join("edge/build"),
        &[("NUDGE_AGENT_BUILD", &agent)],
    )?;
    let site = root.join("target/edge-site");
    let _ = std::fs::remove_dir_all(&site);
    copy_dir(&root.join("demo-shop/pages"), &site)?;
    copy_dir(&root.join("demo-shop/public"), &site)?;
    for file in SHOPS_MODULES.iter().chain(&["nudge.js"]) {
        copy_file(
            &root.join("agent/pkg").join(file),
            &site.join("nudge").join(file),
        )?;
    }
    copy_studio(&site)
}

/// The studio (`/studio`): plain ES modules and CSS, copied as they are (no
/// build step), with uPlot from npm for the report's time series, and the
/// agent's studio build with its preview page (`agent/studio/preview.html`).
fn copy_studio(site: &Path) -> Result {
    let root = root();
    let studio = site.join("studio");
    copy_dir(&root.join("studio"), &studio)?;
    copy_dir(&root.join("agent/studio"), &studio)?;
    for file in ["nudge_agent.js", "nudge_agent_bg.wasm"] {
        copy_file(
            &root.join("agent/pkg-studio").join(file),
            &studio.join("agent").join(file),
        )?;
    }
    for file in ["uPlot.iife.min.js", "uPlot.min.css"] {
        copy_file(
            &root.join("node_modules/uplot/dist").join(file),
            &studio.join("vendor").join(file),
        )?;
    }
    Ok(())
}

fn copy_file(from: &Path, to: &Path) -> Result {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("create {}: {e}", parent.display()))?;
    }
    std::fs::copy(from, to)
        .map(|_| ())
        .map_err(|e| format!("copy {}: {e}", from.display()))
}

fn copy_dir(from: &Path, to: &Path) -> Result {
    let entries = std::fs::read_dir(from).map_err(|e| format!("read {}: {e}", from.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("read {}: {e}", from.display()))?;
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            copy_file(&entry.path(), &target)?;
        }
    }
    Ok(())
}
