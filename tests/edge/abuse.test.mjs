// Abuse and data (issue #19, part 3), at the HTTP level on local workerd: each
// test asserts the refusal (status and stable error code) and that nothing
// changed. The store-level rules (coupon pools, merges and unsubscribes,
// bounded histories) are tested natively in edge/src/store/tests/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { asAgent, browserKey, identifyAs, readProfile, siteKeys, startEdge } from "../support/edge.mjs";
import { userToken, webhook } from "../support/tokens.mjs";

let edge;
before(async () => { edge = await startEdge(); });
after(async () => { await edge?.stop(); });

let seq = 0;
const track = (anonymousId, event, extra = {}) => ({ type: "track", event, messageId: `abuse-${++seq}`, anonymousId,
  timestamp: new Date().toISOString(), properties: {}, ...extra });
const post = (batch, site = "demo") => fetch(`${edge.url}/v1/events?site=${site}`, { method: "POST", body: asAgent(batch) });
const stored = async () => (await (await edge.admin("/v1/admin/sites/demo/events?limit=200")).json()).total;
const refusal = async (response, status, code) => {
  const body = await response.json();
  assert.equal(response.status, status, JSON.stringify(body));
  assert.equal(body.error, code, JSON.stringify(body));
  return body;
};

test("ids with control characters are refused with 400 and nothing is stored", async () => {
  const before = await stored();
  for (const id of ["a\r\nb", "a\nb", "a\tb", "a\u0000b", "a\u007fb"]) {
    const body = await refusal(await post([track("abuse-ctl", "Page", { messageId: id })]), 400, "invalid_events");
    assert.equal(body.problems[0].path, "batch[0].messageId", JSON.stringify(body));
    await refusal(await post([track(`abuse${id}ctl`, "Page")]), 400, "invalid_events");
  }
  assert.equal(await stored(), before, "nothing stored");
  // A control: a plain id is accepted.
  assert.equal((await post([track("abuse-ctl", "Page")])).status, 202);
  assert.equal(await stored(), before + 1);
});

test("a webhook for a site with no config is refused and applies nothing", async () => {
  const site = "abuse-no-such-site";
  const key = siteKeys(site).webhookKey;
  const id = "msg_abuse_unknown_site";
  const hook = () => webhook(`${edge.url}/v1/hooks/email?site=${site}`, { type: "unsubscribed", email: "x@example.com" }, { key, id });
  await refusal(await hook(), 404, "unknown_site");
  // Nothing was recorded: once the site exists, the same webhook id is applied (not a 409 replay).
  const put = await edge.admin(`/v1/admin/sites/${site}/config`, { method: "PUT", body: JSON.stringify({ campaigns: [] }) });
  assert.equal(put.status, 200, await put.text());
  assert.equal((await hook()).status, 200);
  await refusal(await hook(), 409, "already_processed");
});

test("a webhook id with control characters is refused", async () => {
  const key = siteKeys("demo").webhookKey;
  const r = await webhook(`${edge.url}/v1/hooks/email?site=demo`, { type: "email.opened", email: "x@example.com" }, { key, id: "msg\tabuse" });
  await refusal(r, 400, "bad_webhook_id");
});

test("a preview link answers only the public config and its campaign", async () => {
  const link = await edge.admin("/v1/admin/sites/demo/campaigns/welcome/preview-link", {
    method: "POST", body: JSON.stringify({ source: "live" }),
  });
  assert.equal(link.status, 200);
  const token = new URL((await link.json()).url).searchParams.get("nudge_preview");
  const r = await fetch(`${edge.url}/v1/preview?site=demo&token=${encodeURIComponent(token)}`);
  const text = await r.text();
  assert.equal(r.status, 200, text);
  const { config } = JSON.parse(text);
  for (const key of ["journeys", "messaging_caps", "quiet_hours"]) assert.equal(config[key], undefined, `${key} leaked`);
  assert.deepEqual(config.campaigns.map((c) => c.id), ["welcome"]);
  assert.equal(config.campaigns[0].content.coupon_sealed, true);
  assert.ok(!text.includes("WELCOME10"), "the form's coupon code is held back");
});

test("the studio's pages and API carry a content security policy, nosniff and no framing", async () => {
  const csp = async (path, init) => {
    const r = await fetch(`${edge.url}${path}`, init);
    await r.arrayBuffer();
    assert.equal(r.headers.get("x-content-type-options"), "nosniff", path);
    return r.headers.get("content-security-policy") ?? "";
  };
  for (const path of ["/studio/", "/studio/app.js", "/studio/studio.css"]) {
    const policy = await csp(path);
    assert.match(policy, /frame-ancestors 'none'/, path);
    assert.match(policy, /script-src 'self' 'wasm-unsafe-eval';/, path);
  }
  // The preview page (the assets redirect /studio/preview.html to /studio/preview): framed by the studio only.
  assert.match(await csp("/studio/preview.html"), /frame-ancestors 'self'$/);
  assert.match(await csp("/studio/preview"), /frame-ancestors 'self'$/);
  // Refusals too: an unauthenticated admin call and a bad sign-in.
  assert.equal(await csp("/v1/admin/sites/demo/config"), "default-src 'none'; frame-ancestors 'none'");
  assert.equal(await csp("/v1/studio/session", { method: "POST", body: "{}" }), "default-src 'none'; frame-ancestors 'none'");
  // The shop and its API are left alone.
  assert.equal((await fetch(`${edge.url}/v1/config?site=demo`)).headers.get("content-security-policy"), null);
});

test("another user on the same browser: the next user's events and sign-in never reach the previous one", async () => {
  const order = (anonymousId, total) => track(anonymousId, "Order Completed", { properties: { total, order_id: `o-${anonymousId}` } });
  const first = await post([order("sw-alice", 10)]);
  assert.equal(first.status, 202);
  const cookie = first.headers.get("set-cookie").split(";")[0];
  assert.equal((await identifyAs(edge.url, "sw-alice", { userToken: userToken("sw-alice-user") })).status, 200);
  const merges = async () => (await (await edge.admin("/v1/admin/sites/demo/merges?limit=200")).json()).merges.length;
  const mergesBefore = await merges();
  // Bob signs in on Alice's browser: the agent's fresh id, whose first events still carry Alice's cookie.
  const events = await fetch(`${edge.url}/v1/events?site=demo`, { method: "POST", headers: { cookie }, body: asAgent([order("sw-bob", 99)]) });
  assert.equal(events.status, 202);
  const signIn = await fetch(`${edge.url}/v1/identify?site=demo`, { method: "POST", headers: { cookie }, body: JSON.stringify({
    anonymousId: "sw-bob", userToken: userToken("sw-bob-user"), reset: true, browser: { anonymousId: "sw-bob", key: browserKey("sw-bob") } }) });
  assert.equal(signIn.status, 200, await signIn.text());
  assert.match(signIn.headers.get("set-cookie") ?? "", /^nudge_aid=; Max-Age=0;/, "the cookie starts over");
  const bob = await readProfile(edge.url, "sw-bob");
  assert.equal(bob.user_id, "sw-bob-user");
  assert.equal(bob.orders, 1);
  const alice = await readProfile(edge.url, "sw-alice");
  assert.equal(alice.user_id, "sw-alice-user");
  assert.equal(alice.orders, 1, "nothing of Bob reached Alice");
  assert.equal(await merges(), mergesBefore, "no merge");
});

test("invented browsers, each with its own key, take no coupon pool code; a signed-in user does", async () => {
  const site = "abuse-pool";
  const admin = async (path, body, method = "PUT") => {
    const r = await edge.admin(`/v1/admin/sites/${site}/${path}`, { method, body: body && JSON.stringify(body) });
    const text = await r.text();
    assert.equal(r.status, 200, text);
    return JSON.parse(text);
  };
  await admin("config", { campaigns: [], journeys: [{ id: "gift", entry: { event: "Gift Wanted" }, steps: [{ set: { coupon_pool: "gift" } }] }] });
  await admin("coupon-pools/gift", { codes: Array.from({ length: 20 }, (_, i) => `GIFT-${i}`) });
  const want = (anonymousId) => post([track(anonymousId, "Gift Wanted", { context: { consent: { analytics: true, marketing: true } } })], site);
  // 60 made-up browsers, each proven by a key of its own, half with a typed address.
  for (let i = 0; i < 60; i++) {
    const anonymousId = `abuse-bot-${i}`;
    if (i % 2) {
      const typed = await post([{ type: "identify", messageId: `abuse-typed-${i}`, anonymousId, timestamp: new Date().toISOString(),
        traits: { email: `${anonymousId}@example.com` } }], site);
      assert.equal(typed.status, 202);
    }
    assert.equal((await want(anonymousId)).status, 202);
  }
  await admin("journeys/run-due", undefined, "POST");
  assert.deepEqual(await admin("coupon-pools/gift", undefined, "GET"), { pool: "gift", available: 20, taken: 0 });
  const stats = (await admin("journeys", undefined, "GET")).journeys[0].stats;
  assert.equal(stats.entered, 60);
  assert.equal(stats.coupon_unverified, 60);
  // A control: a signed-in user gets one.
  const signIn = await identifyAs(edge.url, "abuse-user", { userToken: userToken("abuse-user-1", { site, secret: siteKeys(site).signing }) }, site);
  assert.equal(signIn.status, 200, await signIn.text());
  assert.equal((await want("abuse-user")).status, 202);
  await admin("journeys/run-due", undefined, "POST");
  assert.equal((await admin("coupon-pools/gift", undefined, "GET")).taken, 1);
  // One of the pool's codes (which one depends on the object that deals it: NUDGE_SITE_SHARDS).
  const codes = (await readProfile(edge.url, "abuse-user", site)).coupons.map((c) => c.code);
  assert.equal(codes.length, 1, String(codes));
  assert.match(codes[0], /^GIFT-\d+$/);
});
