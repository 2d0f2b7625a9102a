// The event log leaves the store for R2 (edge/src/store/archive.rs), on
// workerd with its local R2: events sent by the shop on its own origin are
// put in parts by the site object's alarm once their period is over (one
// second here, EVENT_ARCHIVE_PERIOD_SECONDS), listed exactly as before, still
// refused as duplicates when resent, and still there after a restart on the
// same state.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { startEdge } from "../support/edge.mjs";
import { startShop } from "../support/shop.mjs";
import { until } from "../support/sink.mjs";

const VARS = { EVENT_ARCHIVE_PERIOD_SECONDS: "1", EVENT_ARCHIVE_SETTLE_SECONDS: "0" };
let edge, shop;
before(async () => {
  edge = await startEdge({ vars: VARS });
  shop = await startShop({ edge: edge.url });
  const demo = JSON.parse(await readFile(new URL("../../demo-shop/campaigns.json", import.meta.url), "utf8"));
  const config = await edge.admin("/v1/admin/sites/demo/config", {
    method: "PUT", body: JSON.stringify({ ...demo, origins: [shop.origin] }),
  });
  assert.equal(config.status, 200, await config.text());
});
// A restarted edge shares the first one's state directory: removed here.
after(async () => {
  await shop?.close();
  await edge?.stop();
  if (edge) rmSync(edge.state, { recursive: true, force: true });
});

const event = (id, i) => ({
  type: "track", event: "Product Viewed", messageId: id, anonymousId: `arch-${i % 3}`,
  timestamp: new Date().toISOString(), properties: { product_id: `p${i}`, note: "é ✓ \"quoted\"" },
  context: { page: { path: `/p/${i}` } },
});

const post = (batch) => fetch(`${edge.url}/v1/events?site=demo`, {
  method: "POST", headers: { origin: shop.origin }, body: JSON.stringify({ batch }),
});

async function listing(limit = 200) {
  const all = [];
  let before = "";
  for (;;) {
    const r = await edge.admin(`/v1/admin/sites/demo/events?limit=${limit}${before}`);
    assert.equal(r.status, 200, await r.clone().text());
    const page = await r.json();
    assert.equal(page.parts, undefined, "the parts are the Worker's to read, not the answer's");
    all.push(...page.events);
    if (page.next_before == null) return { events: all, total: page.total, archived: page.archived };
    before = `&before=${page.next_before}&before_id=${encodeURIComponent(page.next_before_id)}`;
  }
}

const tick = async () => (await (await edge.admin("/v1/admin/sites/demo/journeys/run-due", { method: "POST" })).json());

test("events from the shop's origin go to R2 once their period is over, and list as before", async () => {
  for (let b = 0; b < 3; b++) {
    const batch = Array.from({ length: 20 }, (_, i) => event(`arch-${b}-${String(i).padStart(2, "0")}`, i));
    const r = await post(batch);
    assert.equal(r.status, 202, await r.text());
    assert.equal(r.headers.get("access-control-allow-origin"), shop.origin);
    await new Promise((r) => setTimeout(r, 400));
  }
  const stored = await listing();
  const ours = (l) => l.events.filter((e) => e.id.startsWith("arch-"));
  assert.equal(ours(stored).length, 60);
  // Their periods over, the site object's alarm puts them in parts (run-due
  // plays the same step at once, should the alarm be late).
  await until(async () => { await tick(); return (await listing()).archived >= 60; });
  const after = await listing();
  assert.deepEqual(ours(after), ours(stored), "the same events, bodies and order, now read from R2");
  assert.equal(after.total, stored.total);
  // Paged through the parts a few events at a time, pages ending inside a
  // batch (its events share their receive time): every event once, in order.
  for (const limit of [7, 20]) {
    const paged = ours(await listing(limit));
    assert.deepEqual(paged.map((e) => e.id), ours(stored).map((e) => e.id), `pages of ${limit}`);
  }

  // The agent resends an event whose answer it lost: still one event.
  const again = await post([event("arch-0-00", 0)]);
  assert.equal(again.status, 202);
  assert.deepEqual(await again.json(), { accepted: 0, duplicates: 1 });
});

test("archived events survive a restart on the same state", async () => {
  const before = await listing();
  await edge.stop({ keepState: true });
  edge = await startEdge({ port: edge.port, state: edge.state, seedDemo: false, vars: VARS });
  const after = await listing();
  assert.deepEqual(after.events, before.events);
  assert.ok(after.events.filter((e) => e.id.startsWith("arch-")).length === 60);
});
