// The demo shop as a real shop runs it: on its own origin (127.0.0.1 on a
// port of its own), not the edge Worker's. Its pages carry the README's tag,
// in one of the two install modes:
//   - "tag" (the default): `<script src="<edge>/nudge/nudge.js">`, the tag
//     served from the edge's own host, so the agent's files and every API call
//     are cross-origin;
//   - "routed": the Worker routed on the shop's domain (`/nudge/*`, `/v1/*`,
//     `/studio/agent/*` go to it, as a Cloudflare route would send them; the
//     rest stays the shop's), so the tag is `/nudge/nudge.js` on the shop's origin.
// `csp` sets a Content-Security-Policy header on the shop's pages; `site`
// replaces the tag's data-site; `beforeTag` is HTML put just before the tag
// (after the README's stub, which the demo pages carry); `slow` maps a path of
// the shop's own files to a delay in ms (a deferred script still downloading
// when the agent is ready); `tag`, in "routed" mode, is the script answered
// for `/nudge/nudge.js` instead of the edge's (the bench puts a peer there).
// Binds to 127.0.0.1 only; close() stops it.
import { createServer, request } from "node:http";
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";

const shopDir = fileURLToPath(new URL("../../demo-shop/", import.meta.url));
const ROUTES = JSON.parse(readFileSync(join(shopDir, "routes.json"), "utf8"));
const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml" };
const ROUTED = ["/nudge/", "/v1/", "/studio/agent/"];

function page(path) {
  if (Object.hasOwn(ROUTES.exact, path)) return ROUTES.exact[path];
  const prefix = Object.keys(ROUTES.prefix).find((p) => path.startsWith(p));
  return prefix ? ROUTES.prefix[prefix] : null;
}

function file(dir, path) {
  const root = join(shopDir, dir);
  const full = normalize(join(root, path));
  return full.startsWith(root) ? full : null;
}

export async function startShop({ edge, mode = "tag", csp, site, beforeTag = "", slow = {}, tag }) {
  const edgeUrl = new URL(edge);
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, "http://127.0.0.1");
    if (mode === "routed" && tag !== undefined && url.pathname === "/nudge/nudge.js") {
      return res.writeHead(200, { "content-type": TYPES[".js"], "cache-control": "no-store" }).end(tag);
    }
    if (mode === "routed" && ROUTED.some((p) => url.pathname.startsWith(p))) return proxy(req, res);
    try {
      const name = page(url.pathname);
      if (name) {
        let html = await readFile(join(shopDir, "pages", name), "utf8");
        const src = mode === "routed" ? "/nudge/nudge.js" : `${edgeUrl.origin}/nudge/nudge.js`;
        html = html.replace('<script src="/nudge/nudge.js"', `${beforeTag}<script src="${src}"`);
        if (site) html = html.replace('data-site="demo"', `data-site="${site}"`);
        // A strict policy allows the shop's own inline scripts by nonce.
        const nonce = /'nonce-([^']+)'/.exec(csp || "")?.[1];
        if (nonce) html = html.replaceAll("<script>", `<script nonce="${nonce}">`);
        const headers = { "content-type": TYPES[".html"], "cache-control": "no-store" };
        if (csp) headers["content-security-policy"] = csp;
        res.writeHead(200, headers).end(html);
        return;
      }
      const path = file("public", url.pathname);
      if (!path) return res.writeHead(404).end();
      const body = await readFile(path);
      if (slow[url.pathname]) await new Promise((r) => setTimeout(r, slow[url.pathname]));
      res.writeHead(200, { "content-type": TYPES[extname(path)] || "application/octet-stream" }).end(body);
    } catch {
      res.writeHead(404).end("not found");
    }
  });

  // What a Cloudflare route does: the request reaches the Worker as it was
  // made, to the shop's host (the Worker sees its own origin in the URL).
  function proxy(req, res) {
    const upstream = request({
      host: edgeUrl.hostname, port: edgeUrl.port, method: req.method, path: req.url,
      headers: { ...req.headers, host: req.headers.host },
    }, (answer) => {
      res.writeHead(answer.statusCode, answer.headers);
      answer.pipe(res);
    });
    upstream.on("error", () => res.writeHead(502).end());
    req.pipe(upstream);
  }

  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  return { url, origin: url, close: () => new Promise((r) => { server.close(r); server.closeAllConnections(); }) };
}
