// Forwarding: every accepted event reaches each destination that wants it
// exactly once, through 500s, 429s and timeouts; refusals go to the dead
// letters, which can be inspected and replayed; consent decides who gets what.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { FORWARD_SECRET, startEdge } from "../support/edge.mjs";
import { startSink, until } from "../support/sink.mjs";

let edge, sink;
let acceptRefused = false;
before(async () => {
  sink = await startSink((id, attempt) => {
    if (id === "f-500" && attempt === 1) return 500;
    if (id === "f-429" && attempt === 1) return 429;
    if (id === "f-slow" && attempt === 1) return "hang";
    if (id === "f-400") return acceptRefused ? 200 : 400;
    return 200;
  });
  edge = await startEdge();
});
after(async () => { await edge?.stop(); await sink?.close(); });

const destinations = (url) => ({ destinations: [
  { id: "crm", kind: "webhook", url: `${url}/crm`, events: ["*"], consent: "analytics", credential: FORWARD_SECRET },
  { id: "ads", kind: "webhook", url: `${url}/ads`, events: ["Order Completed"], consent: "marketing", credential: FORWARD_SECRET },
] });

const event = (id, name, consent = { analytics: true, marketing: false }) => ({
  type: "track", event: name, messageId: id, anonymousId: "fwd-anon", timestamp: new Date().toISOString(),
  properties: { total: 30 }, context: { page: { path: "/" }, consent },
});

const ids = (path) => (sink.delivered[path] || []).map((e) => e.messageId).sort();

test("destinations are validated; credentials are sealed, never named or echoed", async () => {
  const bad = await edge.admin("/v1/admin/sites/demo/destinations", {
    method: "PUT",
    body: JSON.stringify({ destinations: [
      { id: "k", kind: "mailchimp", url: "ftp://x", events: "all", consent: "always", secret: "sk_live_123" },
    ] }),
  });
  assert.equal(bad.status, 400);
  const paths = (await bad.json()).problems.map((p) => p.path);
  assert.deepEqual(paths, ["destinations[0].kind", "destinations[0].events", "destinations[0].consent", "destinations[0].secret", "destinations[0].credential", "destinations[0].url"]);
  const ok = await edge.admin("/v1/admin/sites/demo/destinations", { method: "PUT", body: JSON.stringify(destinations(sink.url)) });
  assert.equal(ok.status, 200);
  assert.ok(!(await ok.text()).includes(FORWARD_SECRET), "the answer never echoes a credential");
});

test("each accepted event reaches each destination exactly once despite 500s, 429s and timeouts", async () => {
  const batch = [
    event("f-ok", "Product Viewed"), event("f-500", "Product Added"), event("f-429", "Cart Viewed"),
    event("f-slow", "Checkout Started"), event("f-order", "Order Completed", { analytics: true, marketing: true }),
    event("f-order-nomkt", "Order Completed"),
  ];
  const post = () => fetch(`${edge.url}/v1/events?site=demo`, { method: "POST", body: JSON.stringify({ batch }) });
  assert.equal((await post()).status, 202);
  assert.equal((await post()).status, 202, "the same batch again (an agent retry)");
  const want = ["f-429", "f-500", "f-ok", "f-order", "f-order-nomkt", "f-slow"];
  await until(() => ids("/crm").length >= want.length);
  await new Promise((r) => setTimeout(r, 1500)); // room for any wrong extra delivery
  assert.deepEqual(ids("/crm"), want, "exactly once each");
  assert.deepEqual(ids("/ads"), ["f-order"], "only the order with marketing consent");
  assert.deepEqual(sink.badSignatures, []);
  assert.ok(sink.attempts.get("/crm f-500") >= 2 && sink.attempts.get("/crm f-slow") >= 2, "retried");
  // The batch travelled as one message: its siblings were not sent again
  // with the events that failed.
  assert.equal(sink.attempts.get("/crm f-ok"), 1, "a sibling of failing events: sent once");
});

test("a batch of large events full of quotes travels within the queue's limits", async () => {
  // Each event's JSON is about 30 KB, half of it escaped quotes: the queue
  // counts a message as sent, so text is sent as text, not as a JSON string.
  const quoted = '"'.repeat(14_000);
  const batch = Array.from({ length: 7 }, (_, i) => ({
    ...event(`f-big-${i}`, "Product Viewed"), properties: { note: quoted },
  }));
  const r = await fetch(`${edge.url}/v1/events?site=demo`, { method: "POST", body: JSON.stringify({ batch }) });
  assert.equal(r.status, 202, await r.text());
  const want = batch.map((e) => e.messageId).sort();
  await until(() => want.every((id) => ids("/crm").includes(id)));
  assert.equal((sink.delivered["/crm"] || []).find((e) => e.messageId === "f-big-3").properties.note, quoted);
});

test("a refused delivery becomes a dead letter that can be replayed", async () => {
  const r = await fetch(`${edge.url}/v1/events?site=demo`, { method: "POST", body: JSON.stringify({ batch: [event("f-400", "Signed Up")] }) });
  assert.equal(r.status, 202);
  let letters = [];
  await until(async () => {
    letters = (await (await edge.admin("/v1/admin/sites/demo/dead-letters")).json()).letters;
    return letters.length > 0;
  });
  assert.equal(letters[0].reason, "HTTP 400");
  assert.equal(letters[0].message.event.messageId, "f-400");
  assert.equal(sink.attempts.get("/crm f-400"), 1, "4xx is not retried");
  acceptRefused = true;
  const replay = await edge.admin("/v1/admin/sites/demo/dead-letters/replay", { method: "POST" });
  assert.deepEqual(await replay.json(), { replayed: 1, left: 0 });
  await until(() => ids("/crm").includes("f-400"));
  assert.deepEqual((await (await edge.admin("/v1/admin/sites/demo/dead-letters")).json()).letters, []);
});
