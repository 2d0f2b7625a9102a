// The edge Worker on local workerd: config, admin writes, event collection.
// Malformed, oversized, unsigned and unknown requests are refused with clear
// errors and change nothing; accepted events are stored once.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startEdge } from "../support/edge.mjs";
import { launchChromium } from "../support/browser.mjs";

let edge;
before(async () => { edge = await startEdge(); });
after(async () => { await edge.stop(); });

const event = (id, extra = {}) => ({
  type: "track", event: "Product Added", messageId: id, anonymousId: "anon-1",
  timestamp: "2026-11-23T10:00:00.000Z", properties: { product_id: "p1", price: 10 }, ...extra,
});
const post = (body, site = "demo") => fetch(`${edge.url}/v1/events?site=${site}`, {
  method: "POST", headers: { "content-type": "text/plain" }, body: typeof body === "string" ? body : JSON.stringify(body),
});
const stored = async () => (await (await edge.admin("/v1/admin/sites/demo/events")).json());

test("config: served with geo, ETag and a short private cache", async () => {
  const r = await fetch(`${edge.url}/v1/config?site=demo`, { headers: { "x-nudge-geo-country": "ca" } });
  assert.equal(r.status, 200);
  assert.match(r.headers.get("cache-control"), /max-age=60, stale-while-revalidate/);
  const config = await r.json();
  assert.deepEqual(config.geo, { country: "CA", region: null });
  assert.equal(config.campaigns.length, 9);
  assert.deepEqual(Object.keys(config.campaigns[0]).slice(0, 3), ["id", "name", "priority"], "key order kept");
  const again = await fetch(`${edge.url}/v1/config?site=demo`, {
    headers: { "x-nudge-geo-country": "ca", "if-none-match": r.headers.get("etag") },
  });
  assert.equal(again.status, 304);
  const elsewhere = await fetch(`${edge.url}/v1/config?site=demo`, {
    headers: { "x-nudge-geo-country": "us", "if-none-match": r.headers.get("etag") },
  });
  assert.equal(elsewhere.status, 200, "another country is another body");
});

test("config compiled for the agent (program=2): the format's bytes with geo, ETag and CORS; format 1 still served; other formats refused", async () => {
  const url = `${edge.url}/v1/config?site=demo&program=2`;
  const r = await fetch(url, { headers: { "x-nudge-geo-country": "ca", origin: edge.url } });
  assert.equal(r.status, 200, await r.clone().text());
  assert.match(r.headers.get("content-type"), /^application\/vnd\.nudge\.program; format=2/);
  assert.match(r.headers.get("vary") || "", /origin/i);
  const bytes = Buffer.from(await r.arrayBuffer());
  assert.equal(bytes.subarray(0, 5).toString("latin1"), "NDGP\x02", "magic and format");
  // The geography comes first (written per request): present, "CA".
  assert.deepEqual([...bytes.subarray(5, 9)], [1, 2, 0x43, 0x41]);
  const json = await (await fetch(`${edge.url}/v1/config?site=demo`, { headers: { "x-nudge-geo-country": "ca" } })).text();
  assert.ok(bytes.length < json.length, `program ${bytes.length} B, JSON ${json.length} B`);
  assert.ok(!bytes.includes("WELCOME10"), "a form's code stays held back");
  assert.ok(bytes.includes("cart-rescue"), "the campaigns are in it");
  // Its own ETag: a JSON answer is never reused for a program, nor the reverse.
  const etag = r.headers.get("etag");
  assert.match(etag, /^"p2-/);
  assert.equal((await fetch(url, { headers: { "x-nudge-geo-country": "ca", "if-none-match": etag } })).status, 304);
  const other = await fetch(url, { headers: { "x-nudge-geo-country": "us" } });
  assert.notDeepEqual(Buffer.from(await other.arrayBuffer()), bytes, "another country, other bytes");
  // The previous build's agents, still running from visitors' caches after a
  // deploy, ask for format 1 and get it, under an ETag of its own.
  const previous = await fetch(`${edge.url}/v1/config?site=demo&program=1`, { headers: { "x-nudge-geo-country": "ca", "if-none-match": etag } });
  assert.equal(previous.status, 200);
  assert.match(previous.headers.get("content-type"), /format=1/);
  assert.match(previous.headers.get("etag"), /^"p1-/);
  const inline = Buffer.from(await previous.arrayBuffer());
  assert.equal(inline.subarray(0, 5).toString("latin1"), "NDGP\x01");
  assert.ok(inline.includes("cart-rescue") && !inline.includes("WELCOME10"));
  // A format this edge does not write: a clear refusal naming the ones it does.
  const newer = await fetch(`${edge.url}/v1/config?site=demo&program=3`);
  assert.equal(newer.status, 400);
  const why = await newer.json();
  assert.equal(why.error, "unsupported_program_format");
  assert.match(why.message, /formats 1 and 2/);
});

test("config: unknown or missing site keys are refused", async () => {
  assert.equal((await fetch(`${edge.url}/v1/config?site=nope`)).status, 404);
  const missing = await fetch(`${edge.url}/v1/config`);
  assert.equal(missing.status, 400);
  assert.equal((await missing.json()).error, "missing_site");
  assert.equal((await fetch(`${edge.url}/v1/config?site=Bad%20Site`)).status, 400);
});

test("admin: writes need the bearer token, and a bad config changes nothing", async () => {
  const before = await (await fetch(`${edge.url}/v1/config?site=demo`)).text();
  const put = (body, token) => fetch(`${edge.url}/v1/admin/sites/demo/config`, {
    method: "PUT", body, headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  assert.equal((await put('{"campaigns": []}')).status, 401);
  assert.equal((await put('{"campaigns": []}', "wrong")).status, 401);
  const bad = await edge.admin("/v1/admin/sites/demo/config", {
    method: "PUT",
    body: JSON.stringify({ campaigns: [
      { id: "a", trigger: { scroll_depth: 140 }, content: { layout: "modal", title: "x" } },
      { id: "b", trigger: { page_view: true }, content: { layout: "popover", title: "x" } },
    ] }),
  });
  assert.equal(bad.status, 400);
  const refusal = await bad.json();
  assert.equal(refusal.error, "invalid_config");
  const paths = refusal.problems.map((p) => p.path);
  assert.ok(paths.includes("campaigns[0].trigger.scroll_depth"), paths.join());
  assert.ok(paths.includes("campaigns[1].content.layout"), paths.join());
  assert.equal((await edge.admin("/v1/admin/sites/demo/config", { method: "PUT", body: "{nope" })).status, 400);
  assert.equal(await (await fetch(`${edge.url}/v1/config?site=demo`)).text(), before, "nothing half-written");
});

test("events: accepted once, repeats dropped by event id", async () => {
  const first = await post({ batch: [event("e-1"), event("e-2")] });
  assert.equal(first.status, 202);
  assert.deepEqual(await first.json(), { accepted: 2, duplicates: 0 });
  const again = await post({ batch: [event("e-2"), event("e-3")] });
  assert.deepEqual(await again.json(), { accepted: 1, duplicates: 1 });
  const log = await stored();
  const ids = log.events.map((e) => e.id).sort();
  assert.deepEqual(ids.filter((id) => id.startsWith("e-")), ["e-1", "e-2", "e-3"]);
  const body = JSON.parse(log.events.find((e) => e.id === "e-1").body);
  assert.equal(body.properties.product_id, "p1");
});

test("events: malformed batches are refused, naming each field, and store nothing", async () => {
  const before = (await stored()).total;
  const cases = [
    ["{not json", "invalid_json"],
    ['{"events": []}', "invalid_batch"],
    ['{"batch": []}', "invalid_batch"],
    [{ batch: [event("m-1"), event("m-2", { anonymousId: "undefined", timestamp: "yesterday" })] }, "invalid_events"],
  ];
  for (const [body, code] of cases) {
    const r = await post(body);
    assert.equal(r.status, 400, JSON.stringify(body));
    const refusal = await r.json();
    assert.equal(refusal.error, code);
    if (code === "invalid_events") {
      assert.deepEqual(refusal.problems.map((p) => p.path), ["batch[1].anonymousId", "batch[1].timestamp"]);
    }
  }
  assert.equal((await stored()).total, before, "nothing stored");
});

test("events: oversized bodies get 413, unknown sites 404", async () => {
  const huge = JSON.stringify({ batch: [event("big", { properties: { blob: "x".repeat(600 * 1024) } })] });
  const r = await post(huge);
  assert.equal(r.status, 413);
  assert.equal((await r.json()).error, "too_large");
  assert.equal((await post({ batch: [event("x-1")] }, "nope")).status, 404);
  assert.equal((await fetch(`${edge.url}/v1/nothing`)).status, 404);
});

test("the demo shop and the agent are served from the Worker", async () => {
  for (const path of ["/", "/cart", "/category/shoes", "/product/trail-runner", "/order-confirmation", "/shop.js", "/nudge/nudge.js"]) {
    const r = await fetch(`${edge.url}${path}`);
    assert.equal(r.status, 200, path);
  }
  const wasm = await fetch(`${edge.url}/nudge/nudge_agent_bg.wasm`);
  assert.equal(wasm.headers.get("content-type"), "application/wasm");
});

test("a returning visitor's page view downloads no agent bytes and asks for none before the agent starts", async () => {
  const browser = await launchChromium();
  try {
    const page = await (await browser.newContext()).newPage();
    const agentFiles = () => page.evaluate(() => performance.getEntriesByType("resource")
      .filter((e) => e.name.includes("/nudge/")).map((e) => ({ url: e.name, bytes: e.transferSize })));
    // Every file the agent may fetch: the loader, the agent, and (fetched at
    // idle, since the welcome popup waits for a scroll) the display module.
    const allFetched = () => page.waitForFunction(() => performance.getEntriesByType("resource")
      .filter((e) => e.name.includes("/nudge/")).length === 5);
    await page.goto(`${edge.url}/`);
    await page.waitForFunction(() => window.nudge && window.nudge.ready);
    await allFetched();
    const first = await agentFiles();
    assert.equal(first.length, 5, JSON.stringify(first));
    assert.ok(first.every((f) => f.bytes > 0), "the first visit downloads them");
    const versioned = first.filter((f) => /[?]v=[0-9a-f]{16}$/.test(f.url));
    assert.equal(versioned.length, 4, "glue and wasm of both modules carry the build's hash");
    for (const { url } of versioned) {
      assert.equal((await fetch(url)).headers.get("cache-control"), "public, max-age=31536000, immutable");
    }
    const loader = await fetch(`${edge.url}/nudge/nudge.js`);
    assert.equal(loader.headers.get("cache-control"), "public, max-age=300, stale-while-revalidate=604800");
    const stale = await fetch(`${edge.url}/nudge/nudge_agent_bg.wasm?v=0000000000000000`);
    assert.equal(stale.headers.get("cache-control"), "no-cache", "another build's hash is never immutable");

    await page.goto(`${edge.url}/cart`);
    await page.waitForFunction(() => window.nudge && window.nudge.ready);
    await allFetched();
    const again = await agentFiles();
    assert.equal(again.length, 5);
    assert.deepEqual(again.map((f) => f.bytes), [0, 0, 0, 0, 0], JSON.stringify(again));
  } finally {
    await browser.close();
  }
});

test("CORS: only the origins the site lists may call from a browser", async () => {
  const listed = "http://localhost:8787";
  const config = await fetch(`${edge.url}/v1/config?site=demo`, { headers: { origin: listed } });
  assert.equal(config.headers.get("access-control-allow-origin"), listed);
  const same = await fetch(`${edge.url}/v1/config?site=demo`, { headers: { origin: edge.url } });
  assert.equal(same.status, 200, "the Worker's own origin");
  assert.equal(same.headers.get("access-control-allow-origin"), null);
  const preflight = await fetch(`${edge.url}/v1/events?site=demo`, { method: "OPTIONS", headers: { origin: listed } });
  assert.equal(preflight.status, 204);
  assert.equal(preflight.headers.get("access-control-allow-origin"), listed);
  const before = (await stored()).total;
  for (const [method, path, body] of [
    ["GET", "/v1/config?site=demo"], ["OPTIONS", "/v1/events?site=demo"],
    ["POST", "/v1/events?site=demo", JSON.stringify({ batch: [event("evil-1")] })],
    ["GET", "/v1/profile?site=demo&anonymousId=anon-1"],
  ]) {
    const r = await fetch(`${edge.url}${path}`, { method, body, headers: { origin: "https://evil.example" } });
    assert.equal(r.status, 403, `${method} ${path}`);
    assert.equal((await r.json()).error, "origin_not_allowed");
  }
  assert.equal((await stored()).total, before, "nothing stored from an unlisted origin");
});

test("events: a flood from one client is cut off with 429", async () => {
  // The limiter counts in fixed 60 s windows, so a flood that starts late in one
  // window may need up to two limits' worth of requests before a refusal.
  const statuses = [];
  for (let i = 0; i < 700 && !statuses.includes(429); i++) {
    const r = await fetch(`${edge.url}/v1/events?site=demo`, { method: "POST", body: "{}" });
    statuses.push(r.status);
    await r.arrayBuffer();
  }
  assert.ok(statuses.includes(400), "the first requests are answered normally");
  assert.ok(statuses.includes(429), `later ones are refused: ${[...new Set(statuses)]}`);
  const refused = await fetch(`${edge.url}/v1/events?site=demo`, { method: "POST", body: "{}" });
  assert.equal(refused.status, 429);
  assert.equal((await refused.json()).error, "rate_limited");
});
