//! The edge Worker's bundle (`edge/build`), made as workers-rs's
//! `worker-build` 0.8.7 makes it, from the tools the agent's build already
//! has: cargo for wasm32, the pinned wasm-bindgen (`--target module`, with the
//! state reset and abort handler the shim's recovery needs), npm's wasm-opt,
//! then worker-build's shim (`xtask/worker/shim.js`) filled in with the
//! module's handlers and Durable Object classes, bundled by esbuild.
//!
//! Why not worker-build itself: compiling it costs a fresh machine minutes
//! (its HTTP client, TLS and CLI crates), and at build time it tries to
//! download wasm-bindgen, wasm-opt and esbuild from GitHub. Leaving out what a
//! deploy does not need: the `producers` section naming the SDK (metadata),
//! the `package.json`, and `worker/shim.mjs`, an alias of `index.js` kept for
//! old configs (wrangler.toml names `build/index.js`).

use std::path::Path;

use crate::wasm::{build_wasm32, wasm_opt_with};
use crate::{root, run, run_in, Result};

/// The functions wasm-bindgen exports for the shim itself, not handlers.
const SYSTEM_FNS: &[&str] = &["__wbg_reset_state", "__worker_init_state"];
/// Handlers the runtime calls with `(argument, env, ctx)`.
const EVENT_HANDLERS: &[&str] = &["fetch", "queue", "scheduled", "email", "connect"];

/// Builds `package` (the edge) into `out` (`edge/build`); `env` reaches cargo
/// (build-time settings such as which agent build is served).
pub fn build(package: &str, out: &Path, env: &[(&str, &str)]) -> Result {
    let root = root();
    let wasm = build_wasm32(package, &["--lib"], env)?;
    // A fresh directory: nothing of an earlier build (or of worker-build) stays.
    let _ = std::fs::remove_dir_all(out);
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let out_text = out.to_string_lossy();
    run(
        "wasm-bindgen",
        &[
            &wasm.to_string_lossy(),
            "--out-dir",
            &out_text,
            "--out-name",
            "index",
            "--no-typescript",
            "--target",
            "module",
            "--experimental-reset-state-function",
            "--force-enable-abort-handler",
        ],
    )?;
    // As worker-build runs it for a release build: `-O` (speed, not the
    // agent's `-Oz`), exception handling for wasm-bindgen's catch wrappers
    // and no newer encodings workerd may not read, names kept for traces.
    wasm_opt_with(
        &out.join("index_bg.wasm"),
        &["-O", "--enable-exception-handling", "--debuginfo"],
    )?;
    let bindings = read(&out.join("index.js"))?;
    let shim = read(&root.join("xtask/worker/shim.js"))?.replace("$HANDLERS", &handlers(&bindings))
        + &class_exports(&bindings);
    write(&out.join("shim.js"), &shim)?;
    let esbuild = root.join("node_modules/.bin/esbuild");
    run_in(
        out,
        &esbuild.to_string_lossy(),
        &[
            "--external:./index_bg.wasm",
            "--external:cloudflare:*",
            "--format=esm",
            "--bundle",
            "./shim.js",
            "--outfile=index.js",
            "--allow-overwrite",
            "--minify",
        ],
        &[],
    )?;
    // wasm-bindgen's `module` target imports the wasm in the source phase,
    // which esbuild keeps; wrangler's bundler takes the plain import.
    let bundled = read(&out.join("index.js"))?.replace("import source ", "import ");
    write(&out.join("index.js"), &bundled)?;
    std::fs::remove_file(out.join("shim.js")).map_err(|e| e.to_string())?;
    let snippets = out.join("snippets");
    if snippets.exists() {
        std::fs::remove_dir_all(&snippets).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// The `export …` declarations of wasm-bindgen's module, each from its
/// keyword to the end of the text (as worker-build reads them).
fn export_decls(bindings: &str) -> impl Iterator<Item = &str> {
    bindings.match_indices("export ").filter_map(move |(i, _)| {
        let at_boundary = i == 0
            || bindings[..i]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_whitespace() || c == ';' || c == '}');
        at_boundary.then(|| &bindings[i..])
    })
}

/// The exported functions, as methods of the shim's entrypoint class.
fn handlers(bindings: &str) -> String {
    let mut names = Vec::new();
    for decl in export_decls(bindings) {
        let name = if let Some(rest) = decl
            .strip_prefix("export function")
            .or_else(|| decl.strip_prefix("export async function"))
        {
            rest.find('(').map(|end| rest[..end].trim())
        } else if let Some(rest) = decl.strip_prefix("export {") {
            rest.find(" as ")
                .map(|at| &rest[at + 4..])
                .and_then(|rest| rest.find('}').map(|end| rest[..end].trim()))
        } else {
            None
        };
        if let Some(name) = name.filter(|n| !SYSTEM_FNS.contains(n)) {
            names.push(name);
        }
    }
    names
        .iter()
        .map(|name| {
            if EVENT_HANDLERS.contains(name) {
                format!(
                    "Entrypoint.prototype.{name} = function {name} (arg) {{\n  \
                     return exports.{name}.call(this, arg, this.env, this.ctx);\n}}\n"
                )
            } else {
                format!("Entrypoint.prototype.{name} = exports.{name};\n")
            }
        })
        .collect()
}

/// The exported classes (the Durable Objects), behind the shim's proxy that
/// rebuilds an instance after the module was reset.
fn class_exports(bindings: &str) -> String {
    let mut out = String::new();
    for decl in export_decls(bindings) {
        let name = if let Some(rest) = decl.strip_prefix("export class ") {
            rest.find('{').map(|end| rest[..end].trim())
        } else if let Some((name, def)) = decl
            .strip_prefix("export var ")
            .and_then(|rest| rest.split_once('='))
        {
            def.trim_start().starts_with("class").then(|| name.trim())
        } else {
            None
        };
        if let Some(name) = name {
            out += &format!("export const {name} = new Proxy(exports.{name}, classProxyHooks);\n");
        }
    }
    out
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn write(path: &Path, text: &str) -> Result {
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shapes of wasm-bindgen 0.2.130's `--target module` output.
    const BINDINGS: &str = "import source wasmModule from './index_bg.wasm';\n\
        export class Site { constructor() {} }\n\
        export class ContainerStartupOptions {}\n\
        export function fetch(req, env, ctx) { return 1; }\n\
        export function __wbg_reset_state() {}\n\
        export function __worker_init_state() {}\n\
        export async function queue(batch, env, ctx) {}\n\
        export { scheduled2 as scheduled }\n\
        export function setPanicHook() {}\n\
        const text = 'not export here';";

    #[test]
    fn handlers_wrap_the_runtime_events_and_pass_other_functions_through() {
        let out = handlers(BINDINGS);
        assert!(out.contains(
            "Entrypoint.prototype.fetch = function fetch (arg) {\n  return exports.fetch.call(this, arg, this.env, this.ctx);\n}"
        ));
        assert!(out.contains("Entrypoint.prototype.queue = function queue (arg)"));
        assert!(out.contains("Entrypoint.prototype.scheduled = function scheduled (arg)"));
        assert!(out.contains("Entrypoint.prototype.setPanicHook = exports.setPanicHook;"));
        assert!(!out.contains("__wbg_reset_state"));
        assert!(!out.contains("__worker_init_state"));
    }

    #[test]
    fn every_exported_class_is_proxied() {
        let out = class_exports(BINDINGS);
        assert_eq!(
            out,
            "export const Site = new Proxy(exports.Site, classProxyHooks);\n\
             export const ContainerStartupOptions = new Proxy(exports.ContainerStartupOptions, classProxyHooks);\n"
        );
        assert_eq!(
            class_exports("const x = 1; export var Y = class {};"),
            "export const Y = new Proxy(exports.Y, classProxyHooks);\n"
        );
    }
}
