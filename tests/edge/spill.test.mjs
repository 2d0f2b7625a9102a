// A store that cannot take a batch (its Durable Object overloaded) costs the
// shop nothing: /v1/events still answers 202 once the batch is on the ingest
// queue, and the consumer writes it to the store (once, however often it is
// sent) and forwards it. workerd never overloads, so the edge runs with the
// test-only FAULT_STORE_OVERLOADED=append: the store answers every direct
// append as an overloaded object does, and takes spilled ones.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { FORWARD_SECRET, startEdge } from "../support/edge.mjs";
import { startShop } from "../support/shop.mjs";
import { startSink, until } from "../support/sink.mjs";

let edge, sink, shop;
before(async () => {
  sink = await startSink(() => 200);
  edge = await startEdge({ vars: { FAULT_STORE_OVERLOADED: "append" } });
  // The shop on its own origin, which the site lists: the agent there reads
  // the spilled batch's 202 as it reads any other.
  shop = await startShop({ edge: edge.url });
  const demo = JSON.parse(await readFile(new URL("../../demo-shop/campaigns.json", import.meta.url), "utf8"));
  const config = await edge.admin("/v1/admin/sites/demo/config", {
    method: "PUT", body: JSON.stringify({ ...demo, origins: [shop.origin] }),
  });
  assert.equal(config.status, 200, await config.text());
  const destinations = { destinations: [
    { id: "crm", kind: "webhook", url: `${sink.url}/crm`, events: ["*"], consent: "none", credential: FORWARD_SECRET },
  ] };
  const put = await edge.admin("/v1/admin/sites/demo/destinations", { method: "PUT", body: JSON.stringify(destinations) });
  assert.equal(put.status, 200);
});
after(async () => { await shop?.close(); await edge?.stop(); await sink?.close(); });

const event = (id, anonymousId) => ({
  type: "track", event: "Order Completed", messageId: id, anonymousId, timestamp: new Date().toISOString(),
  properties: { total: 25 }, context: { page: { path: "/thanks" } },
});

async function storedIds() {
  const log = await (await edge.admin("/v1/admin/sites/demo/events?limit=200")).json();
  return log.events.map((e) => e.id);
}

test("a batch the overloaded store cannot take is acknowledged, written once and forwarded once", async () => {
  const batch = [event("spill-1", "spill-a"), event("spill-2", "spill-b")];
  const post = () => fetch(`${edge.url}/v1/events?site=demo`, {
    method: "POST", headers: { origin: shop.origin }, body: JSON.stringify({ batch }),
  });
  const first = await post();
  assert.equal(first.status, 202);
  assert.equal(first.headers.get("access-control-allow-origin"), shop.origin);
  assert.deepEqual(await first.json(), { queued: 2 });
  assert.equal(first.headers.get("set-cookie"), null, "no cookie before the store has proven a browser");
  // The agent's retry of the same batch (its answer lost, say) is spilled too.
  assert.equal((await post()).status, 202);
  await until(async () => (await storedIds()).filter((id) => id.startsWith("spill-")).length === 2);
  await until(() => (sink.delivered["/crm"] || []).length >= 2);
  await new Promise((r) => setTimeout(r, 1500)); // room for a wrong second write or delivery
  assert.deepEqual((await storedIds()).filter((id) => id.startsWith("spill-")).sort(), ["spill-1", "spill-2"]);
  const delivered = (sink.delivered["/crm"] || []).map((e) => e.messageId).sort();
  assert.deepEqual(delivered, ["spill-1", "spill-2"], "each forwarded once");
});

test("a batch still refused as invalid is refused before anything is spilled", async () => {
  const r = await fetch(`${edge.url}/v1/events?site=demo`, { method: "POST", body: JSON.stringify({ batch: [{ type: "track" }] }) });
  assert.equal(r.status, 400);
  assert.equal((await r.json()).error, "invalid_events");
});
