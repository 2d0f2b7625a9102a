// Identity across devices and channels: only proofs link people, offsite
// events land on the right person, and nothing unproven merges anyone.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { asAgent, browserKey, identifyAs, readProfile, registerBrowser, startEdge } from "../support/edge.mjs";
import { userToken, clickToken, webhook } from "../support/tokens.mjs";

let edge;
before(async () => { edge = await startEdge(); });
after(async () => { await edge.stop(); });

const identify = ({ anonymousId, ...proof }) => identifyAs(edge.url, anonymousId, proof);
// What the agent of that browser reads, with its key.
const profile = (anonymousId) => readProfile(edge.url, anonymousId);
let seq = 0;
const order = (anonymousId, total) => fetch(`${edge.url}/v1/events?site=demo`, {
  method: "POST",
  body: asAgent([{
    type: "track", event: "Order Completed", messageId: `order-${anonymousId}-${++seq}`, anonymousId,
    timestamp: new Date().toISOString(), properties: { total, order_id: `o${seq}` },
  }]),
});

test("junk ids and bad proofs are refused", async () => {
  for (const anonymousId of ["undefined", "null", "", "  "]) {
    assert.equal((await identify({ anonymousId, userToken: userToken("u1") })).status, 400, anonymousId);
  }
  const forged = await identify({ anonymousId: "anon-x", userToken: userToken("user-42", { secret: "not-the-site-secret-at-all" }) });
  assert.equal(forged.status, 401);
  assert.match((await forged.json()).message, /bad signature/);
  const expired = await identify({ anonymousId: "anon-x", userToken: userToken("user-42", { expires: 1000 }) });
  assert.equal(expired.status, 401);
  assert.equal((await identify({ anonymousId: "anon-x" })).status, 400);
  const junk = await fetch(`${edge.url}/v1/profile?site=demo&anonymousId=undefined`, { headers: { "x-nudge-browser-key": browserKey("undefined") } });
  assert.equal((await junk.json()).error, "invalid_anonymous_id");
});

test("a desktop customer and their phone become one person through a signed email link", async () => {
  assert.equal((await order("desk-1", 120)).status, 202);
  assert.deepEqual(await (await identify({ anonymousId: "desk-1", userToken: userToken("user-42") })).json(), { merged: false });
  assert.equal((await profile("desk-1")).orders, 1);
  assert.equal((await profile("phone-1")).orders, 0, "the phone is a stranger at first");

  const link = clickToken({ u: "user-42" });
  const merged = await identify({ anonymousId: "phone-1", clickToken: link });
  assert.equal(merged.status, 200);
  assert.deepEqual(await merged.json(), { merged: true });
  const facts = await profile("phone-1");
  assert.equal(facts.orders, 1);
  assert.equal(facts.user_id, "user-42");
  assert.ok(facts.segments.includes("customer"));
  // The link is single-use.
  const again = await identify({ anonymousId: "phone-2", clickToken: link });
  assert.equal(again.status, 409);
  assert.equal((await again.json()).error, "token_used");
  assert.equal((await profile("phone-2")).orders, 0);
});

test("two different user ids are never merged", async () => {
  await identify({ anonymousId: "shared-tablet", userToken: userToken("user-7") });
  const conflict = await identify({ anonymousId: "shared-tablet", clickToken: clickToken({ u: "user-42" }) });
  assert.equal(conflict.status, 409);
  assert.equal((await conflict.json()).error, "user_conflict");
  assert.equal((await profile("shared-tablet")).user_id, "user-7");
});

test("typing someone else's email into a popup merges nothing", async () => {
  await order("victim-1", 80);
  await identify({ anonymousId: "victim-1", clickToken: clickToken({ e: "victim@example.com" }) });
  const claim = await identify({ anonymousId: "attacker-1", email: "Victim@Example.com" });
  assert.equal(claim.status, 200);
  assert.equal((await claim.json()).merged, false);
  const facts = await profile("attacker-1");
  assert.equal(facts.orders, 0);
  assert.deepEqual(facts.coupons, []);
  assert.equal((await profile("victim-1")).orders, 1);
});

test("a coupon issued by an email webhook reaches every device of the person", async () => {
  const url = `${edge.url}/v1/hooks/klaviyo?site=demo`;
  const event = { type: "coupon.issued", user_id: "user-42", data: { code: "BACK15", expires_at: "2099-01-01T00:00:00Z" } };
  const r = await webhook(url, event, { id: "msg_coupon_1" });
  assert.equal(r.status, 200);
  for (const device of ["desk-1", "phone-1"]) {
    const coupons = (await profile(device)).coupons;
    assert.deepEqual(coupons.map((c) => c.code), ["BACK15"], device);
  }
  // Replayed, stale, unsigned or forged: refused, and nothing changes.
  assert.equal((await webhook(url, event, { id: "msg_coupon_1" })).status, 409);
  assert.equal((await webhook(url, { ...event, data: { code: "OLD" } }, { timestamp: Math.floor(Date.now() / 1000) - 3600 })).status, 401);
  assert.equal((await webhook(url, { ...event, data: { code: "FORGED" } }, { key: Buffer.from("wrong-key") })).status, 401);
  assert.equal((await fetch(url, { method: "POST", body: JSON.stringify(event) })).status, 401);
  assert.deepEqual((await profile("desk-1")).coupons.map((c) => c.code), ["BACK15"]);
});

test("campaign history follows the person across devices, for frequency caps", async () => {
  const shown = { type: "track", event: "Campaign Shown", messageId: "shown-1", anonymousId: "desk-1",
    timestamp: new Date().toISOString(), properties: { campaign_id: "welcome" } };
  await fetch(`${edge.url}/v1/events?site=demo`, { method: "POST", body: asAgent([shown]) });
  // Delivered twice: counted once.
  await fetch(`${edge.url}/v1/events?site=demo`, { method: "POST", body: asAgent([shown]) });
  const welcome = (await profile("phone-1")).campaigns.find((c) => c.id === "welcome");
  assert.equal(welcome.total, 1);
  assert.equal(welcome.imp.length, 1);
});

test("a wrong merge can be undone: each person gets back what was theirs", async () => {
  await order("undo-desk", 50);
  await identify({ anonymousId: "undo-desk", userToken: userToken("user-undo") });
  await order("undo-phone", 20);
  assert.deepEqual(await (await identify({ anonymousId: "undo-phone", clickToken: clickToken({ u: "user-undo" }) })).json(), { merged: true });
  assert.equal((await profile("undo-phone")).orders, 2);

  const log = await (await edge.admin("/v1/admin/sites/demo/merges")).json();
  const merge = log.merges.find((m) => m.moved.identifiers.some((i) => i.value === "undo-phone"));
  assert.equal(merge.proof, "click_token");
  assert.equal(merge.undone_at, null);
  const undo = (body) => edge.admin("/v1/admin/sites/demo/merges/undo", { method: "POST", body: JSON.stringify(body) });
  const undone = await undo({ seq: merge.seq, reason: "support ticket 12" });
  assert.equal(undone.status, 200, await undone.clone().text());
  assert.equal((await undone.json()).undone, merge.seq);

  const phone = await profile("undo-phone");
  assert.deepEqual([phone.orders, phone.total_spent, phone.user_id], [1, 20, null]);
  const desk = await profile("undo-desk");
  assert.deepEqual([desk.orders, desk.total_spent, desk.user_id], [1, 50, "user-undo"]);

  assert.equal((await undo({ seq: merge.seq })).status, 409, "only once");
  assert.equal((await undo({ seq: 999999 })).status, 404);
  assert.equal((await undo({})).status, 400);
  assert.equal((await fetch(`${edge.url}/v1/admin/sites/demo/merges/undo`, { method: "POST", body: "{}" })).status, 401);
  const after = (await (await edge.admin("/v1/admin/sites/demo/merges")).json()).merges.find((m) => m.seq === merge.seq);
  assert.equal(after.undo_reason, "support ticket 12");
  assert.ok(after.undone_at > 0);
});

test("the first-party cookie brings a browser whose storage was wiped back to its person", async () => {
  const post = (anonymousId, cookie) => fetch(`${edge.url}/v1/events?site=demo`, {
    method: "POST", headers: cookie ? { cookie } : {},
    body: JSON.stringify({ batch: [{ type: "track", event: "Order Completed", messageId: `ck-${anonymousId}-${++seq}`, anonymousId,
      timestamp: new Date().toISOString(), properties: { total: 5 } }], browser: { anonymousId, key: browserKey(anonymousId) } }),
  });
  const first = await post("ck-old");
  assert.equal(first.status, 202);
  const setCookie = first.headers.get("set-cookie");
  assert.match(setCookie, /^nudge_aid=ck-old\.[A-Za-z0-9_-]{43}; Max-Age=34560000; Path=\/; HttpOnly; SameSite=Lax$/, "signed by the edge");
  const cookie = setCookie.split(";")[0];

  // Script storage wiped: a new id, but the cookie came along. A read links nothing.
  await registerBrowser(edge.url, "ck-new");
  const viaProfile = await fetch(`${edge.url}/v1/profile?site=demo&anonymousId=ck-new`,
    { headers: { cookie, "x-nudge-browser-key": browserKey("ck-new") } });
  assert.equal((await viaProfile.json()).orders, 0, "never linked on a GET");
  assert.equal((await post("ck-new", cookie)).status, 202);
  assert.equal((await profile("ck-new")).orders, 2, "linked on the agent's POST: the old browser's order and its own");
  assert.equal((await profile("ck-stranger")).orders, 0, "no cookie, no link");

  // A new id that already sent events of its own joins by a (logged, undoable) merge.
  assert.equal((await post("ck-new-2")).status, 202);
  assert.equal((await post("ck-new-2", `theme=dark; ${cookie}`)).status, 202);
  assert.equal((await profile("ck-new-2")).orders, 4, "its own two orders and the person's two");
  const merges = (await (await edge.admin("/v1/admin/sites/demo/merges")).json()).merges;
  assert.ok(merges.some((m) => m.proof === "signed_cookie" && m.moved.identifiers.some((i) => i.value === "ck-new-2")));

  // Signing out (nudge.reset()) starts the cookie over with the new id.
  const reset = await fetch(`${edge.url}/v1/identify?site=demo`, {
    method: "POST", headers: { cookie }, body: JSON.stringify({ anonymousId: "ck-fresh", reset: "true" }),
  });
  assert.equal(reset.status, 200);
  assert.match(reset.headers.get("set-cookie"), /^nudge_aid=; Max-Age=0;/, "cleared: the new id earns its own with its key");
});
