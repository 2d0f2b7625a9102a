// One site over several Durable Objects (issue #22), on workerd: the Worker
// routes each browser to its object by hash, a user seen in two objects
// becomes one person (the merge across objects), later events follow the
// person, and the admin's event listing and merge log read every object.
// (`NUDGE_SITE_SHARDS=N` runs the whole suite this way; this test always does.)
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { rmSync } from "node:fs";
import { asAgent, identifyAs, readProfile, startEdge } from "../support/edge.mjs";
import { userToken } from "../support/tokens.mjs";

const OBJECTS = 4;
let edge;
before(async () => {
  edge = await startEdge({ vars: { SITE_SHARDS: String(OBJECTS) } });
});
after(async () => { await edge.stop(); });

/** The object a browser lives in, as edge/src/store/shards.rs computes it. */
function objectOf(anonymousId) {
  const digest = createHash("sha256").update("browser\0").update(anonymousId).digest();
  const logical = ((digest[0] << 8) | digest[1]) % 1024;
  return logical % OBJECTS;
}

let seq = 0;
const order = (anonymousId, total) => fetch(`${edge.url}/v1/events?site=demo`, {
  method: "POST",
  body: asAgent([{
    type: "track", event: "Order Completed", messageId: `shard-order-${anonymousId}-${++seq}`, anonymousId,
    timestamp: new Date().toISOString(), properties: { total, order_id: `so${seq}` },
  }]),
});
const admin = async (path) => (await edge.admin(`/v1/admin/sites/demo/${path}`)).json();

test("a user seen in two objects becomes one person; later events and the admin's lists follow", async () => {
  const desk = "shard-desk";
  let phone = "shard-phone-0";
  for (let i = 1; objectOf(phone) === objectOf(desk); i++) phone = `shard-phone-${i}`;
  assert.equal((await order(desk, 10)).status, 202);
  assert.equal((await order(phone, 25)).status, 202);
  const first = await identifyAs(edge.url, desk, { userToken: userToken("shard-user") });
  assert.deepEqual(await first.json(), { merged: false });
  const second = await identifyAs(edge.url, phone, { userToken: userToken("shard-user") });
  assert.equal(second.status, 200);
  assert.deepEqual(await second.json(), { merged: true }, "merged across objects");
  for (const browser of [desk, phone]) {
    const facts = await readProfile(edge.url, browser);
    assert.equal(facts.orders, 2, browser);
    assert.equal(facts.total_spent, 35);
    assert.equal(facts.user_id, "shard-user");
  }
  // The phone's next order goes to its own object first, then where its person went.
  assert.equal((await order(phone, 5)).status, 202);
  assert.equal((await readProfile(edge.url, desk)).orders, 3);

  // The listing pages over every object, newest first, each event once.
  const ids = [];
  let cursor = "";
  for (let page = 0; page < 50; page++) {
    const listed = await admin(`events?limit=3${cursor}`);
    ids.push(...listed.events.map((e) => e.id));
    if (listed.next_before == null) break;
    cursor = `&before=${listed.next_before}&before_id=${encodeURIComponent(listed.next_before_id)}`;
  }
  const orders = ids.filter((id) => id.startsWith("shard-order-"));
  assert.equal(orders.length, 3, JSON.stringify(ids));
  assert.equal(new Set(ids).size, ids.length, "no event listed twice");

  // The merge is logged once, numbered for the site (its object above bit 40).
  const merges = (await admin("merges")).merges.filter((m) => m.proof === "user_token");
  assert.equal(merges.length, 1, JSON.stringify(merges));
  assert.equal(Math.floor(merges[0].seq / 2 ** 40), objectOf(desk));
});

test("three identifies of one browser at once, into a person of another object, make one merge", async () => {
  const laptop = "shard-race-laptop";
  let tablet = "shard-race-tablet-0";
  for (let i = 1; objectOf(tablet) === objectOf(laptop); i++) tablet = `shard-race-tablet-${i}`;
  assert.equal((await order(laptop, 7)).status, 202);
  assert.equal((await order(tablet, 3)).status, 202);
  assert.equal((await identifyAs(edge.url, laptop, { userToken: userToken("race-user") })).status, 200);
  // As agents would: each sends, and on a refusal that says "again" retries.
  const identifyUntilDone = async () => {
    for (let attempt = 0; attempt < 20; attempt++) {
      const r = await identifyAs(edge.url, tablet, { userToken: userToken("race-user") });
      if (r.status === 200) return r.json();
      assert.ok([409, 429, 503].includes(r.status), `${r.status}: ${await r.text()}`);
      await new Promise((done) => setTimeout(done, 200));
    }
    throw new Error("never identified");
  };
  const answers = await Promise.all([identifyUntilDone(), identifyUntilDone(), identifyUntilDone()]);
  assert.ok(answers.some((a) => a.merged), JSON.stringify(answers));
  const merges = (await admin("merges?limit=100")).merges
    .filter((m) => m.proof === "user_token" && JSON.stringify(m.moved ?? "").includes(tablet));
  assert.equal(merges.length, 1, JSON.stringify(merges));
  for (const browser of [laptop, tablet]) {
    const facts = await readProfile(edge.url, browser);
    assert.equal(facts.orders, 2, browser);
    assert.equal(facts.total_spent, 10, browser);
  }
});

test("a site's objects refuse to serve under another SITE_SHARDS than they were made for", async () => {
  // A site made with one object; the deployment then says 4 (resharding is not built).
  const one = await startEdge({ vars: { SITE_SHARDS: "1" } });
  const state = one.state;
  const at = (e) => (anonymousId, total) => fetch(`${e.url}/v1/events?site=demo`, {
    method: "POST",
    body: asAgent([{
      type: "track", event: "Order Completed", messageId: `fence-${anonymousId}-${++seq}`, anonymousId,
      timestamp: new Date().toISOString(), properties: { total, order_id: `fo${seq}` },
    }]),
  });
  try {
    assert.equal((await at(one)("fence-shopper", 10)).status, 202);
    await one.stop({ keepState: true });
    const four = await startEdge({ port: one.port, state, seedDemo: false, vars: { SITE_SHARDS: "4" } });
    try {
      // Loudly refused, for this shopper and for a browser of any other object.
      for (const browser of ["fence-shopper", "fence-a", "fence-b", "fence-c"]) {
        const refused = await at(four)(browser, 1);
        assert.equal(refused.status, 500, `${browser}: ${await refused.text()}`);
      }
    } finally {
      await four.stop({ keepState: true });
    }
    // Back to the count it was made for: nothing was split or lost.
    const again = await startEdge({ port: one.port, state, seedDemo: false, vars: { SITE_SHARDS: "1" } });
    try {
      assert.equal((await at(again)("fence-shopper", 5)).status, 202);
      const facts = await readProfile(again.url, "fence-shopper");
      assert.equal(facts.orders, 2);
      assert.equal(facts.total_spent, 15);
    } finally {
      await again.stop();
    }
  } finally {
    rmSync(state, { recursive: true, force: true });
  }
});
