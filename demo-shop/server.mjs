// The demo shop's web server until the edge Worker serves it (issue #3):
// static files with the shop's clean URLs, the agent from agent/pkg, the
// example campaigns at /v1/config (as JSON, and compiled for the agent with
// `?program=2`, as the edge serves them), a collect endpoint at /v1/events that
// records what it receives, a stand-in for the edge's /v1/preview (preview
// links), and the studio's preview page (/studio/preview.html, with the
// studio's agent build from agent/pkg-studio). Binds to 127.0.0.1 only.
//
//   node demo-shop/server.mjs [--port 8787]
//
// Tests import startServer() and pass overrides (a config with a bad campaign,
// hostile program bytes, a failing collect endpoint) without touching files.
import { createServer } from "node:http";
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { extname, join, normalize, dirname } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const agentDir = join(here, "..", "agent", "pkg");
const studioDir = join(here, "..", "agent", "studio");
const studioAgentDir = join(here, "..", "agent", "pkg-studio");

/** The preview the demo's own link (`?nudge_preview=demo-preview`) opens: the welcome popup, for anyone, for an hour. */
async function demoPreview() {
  return {
    config: JSON.parse(await readFile(join(here, "campaigns.json"), "utf8")),
    campaign_id: "welcome",
    variant: null,
    ignore_targeting: true,
    expires_at: new Date(Date.now() + 3600_000).toISOString(),
  };
}

// The edge compiles each published config for agents (`GET /v1/config?program=2`,
// core::program); this stand-in compiles with the same code, the studio's
// build of the agent (`compileConfig`), loaded once.
let compiler = null;
async function compile(text) {
  compiler ??= (async () => {
    const glue = await import(pathToFileURL(join(studioAgentDir, "nudge_agent.js")).href);
    glue.initSync({ module: await readFile(join(studioAgentDir, "nudge_agent_bg.wasm")) });
    return glue;
  })();
  return (await compiler).compileConfig(text);
}
const PROGRAM_TYPE = "application/vnd.nudge.program; format=2";

const TYPES = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8", ".json": "application/json", ".wasm": "application/wasm", ".svg": "image/svg+xml",
};

// Clean URLs of the shop (routes.json, shared with the edge Worker).
const ROUTES = JSON.parse(readFileSync(join(here, "routes.json"), "utf8"));
function route(path) {
  if (Object.hasOwn(ROUTES.exact, path)) return ROUTES.exact[path];
  const prefix = Object.keys(ROUTES.prefix).find((p) => path.startsWith(p));
  return prefix ? ROUTES.prefix[prefix] : null;
}

function safeJoin(root, path) {
  const full = normalize(join(root, path));
  return full.startsWith(root) ? full : null;
}

// `previews` maps preview tokens to the edge's answer for them (other tokens: 403).
// `config` is the JSON served (an object or text), compiled for the agent;
// `program`, bytes or text served to the agent as they are instead.
export async function startServer({ port = 8787, config, program, collectStatus = () => 202, previews, log = false } = {}) {
  const received = [];
  const requests = [];
  const seen = new Set();
  const duplicates = { count: 0 };
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, "http://127.0.0.1");
    const send = (status, body, type = "text/plain; charset=utf-8", headers = {}) => {
      res.writeHead(status, { "content-type": type, "cache-control": "no-store", ...headers });
      res.end(body);
    };
    requests.push(`${req.method} ${url.pathname}`);
    try {
      if (url.pathname === "/v1/preview") {
        const token = url.searchParams.get("token");
        const known = previews ? Object.hasOwn(previews, token) : token === "demo-preview";
        if (!known) {
          const error = { code: "invalid_token", message: "this preview link is invalid or has expired" };
          return send(403, JSON.stringify({ error }), "application/json");
        }
        return send(200, JSON.stringify(previews ? previews[token] : await demoPreview()), "application/json");
      }
      if (url.pathname === "/v1/config") {
        const body = config !== undefined ? config : await readFile(join(here, "campaigns.json"), "utf8");
        const text = typeof body === "string" ? body : JSON.stringify(body);
        const format = url.searchParams.get("program");
        if (format === null) return send(200, text, "application/json");
        // The studio build writes the format its agent reads, as the edge does when asked for it.
        if (format !== "2") return send(400, JSON.stringify({ error: "unsupported_program_format" }), "application/json");
        if (program !== undefined) return send(200, program, PROGRAM_TYPE);
        const compiled = await compile(text);
        // The edge never publishes what does not read as a config.
        if (compiled === undefined) return send(500, "this config does not compile");
        return send(200, compiled, PROGRAM_TYPE);
      }
      if (url.pathname === "/v1/events" && req.method === "POST") {
        let text = "";
        for await (const chunk of req) text += chunk;
        const status = collectStatus(text);
        if (status >= 200 && status < 300) {
          let batch;
          try { batch = JSON.parse(text).batch; } catch { return send(400, "malformed JSON"); }
          // Delivery is at least once (beacons are resent); like the edge, keep one per id.
          for (const event of batch) {
            if (seen.has(event.messageId)) duplicates.count++;
            else { seen.add(event.messageId); received.push(event); }
          }
        }
        return send(status, "");
      }
      let file = null;
      if (url.pathname.startsWith("/nudge/")) file = safeJoin(agentDir, url.pathname.slice("/nudge/".length));
      else if (url.pathname.startsWith("/studio/agent/")) file = safeJoin(studioAgentDir, url.pathname.slice("/studio/agent/".length));
      else if (url.pathname.startsWith("/studio/")) file = safeJoin(studioDir, url.pathname.slice("/studio/".length));
      else file = route(url.pathname) ? join(here, "pages", route(url.pathname)) : safeJoin(join(here, "public"), url.pathname);
      if (!file) return send(404, "not found");
      const body = await readFile(file);
      return send(200, body, TYPES[extname(file)] || "application/octet-stream");
    } catch (err) {
      return send(err.code === "ENOENT" || err.code === "EISDIR" ? 404 : 500, String(err.code || err));
    } finally {
      if (log) console.log(req.method, url.pathname + url.search, res.statusCode);
    }
  });
  await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    received,
    /** Every request, as "METHOD /path". */
    requests,
    duplicates,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf("--port");
  const port = i > 0 ? Number(process.argv[i + 1]) : 8787;
  const { url } = await startServer({ port, log: true });
  console.log(`Nudge demo shop on ${url}  (add ?nudge_debug=1 to see decisions in the console)`);
}
