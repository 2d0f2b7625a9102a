// Keys and roles that can be trusted (issue #19 part 2), on local workerd:
// the admin token and the studio's role keys are different secrets; one
// site's signing key, webhook secret, admin token or role key rotates alone
// (the signing key and webhook secret roll over for a stated window, a role
// key ends its sessions at once); sealed destination credentials survive
// every rotation; signing out ends the session on the server; sign-in names
// are normalised before reserved names are checked. Each refusal is checked
// for its status and code, and for nothing having changed.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHmac, randomBytes } from "node:crypto";
import { FORWARD_SECRET, identifyAs, registerBrowser, siteKeys, startEdge } from "../support/edge.mjs";
import { clickToken, userToken } from "../support/tokens.mjs";
import { startSink, until } from "../support/sink.mjs";

let edge, sink;
before(async () => {
  sink = await startSink();
  edge = await startEdge();
});
after(async () => { await edge?.stop(); await sink?.close(); });

const refusal = async (response, status, code) => {
  const body = await response.json();
  assert.equal(response.status, status, `expected ${status} ${code}, got ${JSON.stringify(body)}`);
  assert.equal(body.error, code, JSON.stringify(body));
  return body;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** An admin call with an explicit bearer token (after rotations the helper's generation-0 token is stale). */
const asAdmin = (token, path, { method = "GET", body } = {}) => fetch(`${edge.url}${path}`, {
  method, headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
  body: body === undefined ? undefined : JSON.stringify(body),
});
const rotate = async (site, token, key, expiresIn) => {
  const r = await asAdmin(token, `/v1/admin/sites/${site}/keys/rotate`, { method: "POST", body: { key, ...(expiresIn === undefined ? {} : { expires_in: expiresIn }) } });
  assert.equal(r.status, 200, await r.clone().text());
  return r.json();
};
const generations = async (site, token) => (await (await asAdmin(token, `/v1/admin/sites/${site}/keys`)).json()).keys;
const config = (title) => ({ version: 1, site: "x", campaigns: [
  { id: "hello", name: "Hello", trigger: { scroll_depth: 25 }, content: { layout: "modal", title, body: "Hi" }, frequency: { per_session: 1 } },
] });
const liveTitle = async (site) => (await (await fetch(`${edge.url}/v1/config?site=${site}`)).json()).campaigns?.[0]?.content?.title;

/** A signed-in studio browser for `site`. */
async function signIn(site, key, name) {
  const r = await fetch(`${edge.url}/v1/studio/session`, {
    method: "POST", headers: { "content-type": "application/json", origin: edge.url },
    body: JSON.stringify({ site, key, name }),
  });
  const cookie = (r.headers.get("set-cookie") || "").split(";")[0];
  return {
    response: r, cookie,
    call: (path, { method = "GET", body } = {}) => fetch(`${edge.url}${path}`, {
      method, headers: { cookie, ...(method === "GET" ? {} : { "content-type": "application/json", origin: edge.url }) },
      body: method === "GET" ? undefined : JSON.stringify(body ?? {}),
    }),
  };
}

/** A Standard Webhooks request carrying one `v1,` signature per key. */
function webhook(site, event, keys, id = `msg_${randomBytes(6).toString("hex")}`) {
  const body = JSON.stringify(event);
  const timestamp = Math.floor(Date.now() / 1000);
  const signature = keys.map((key) => `v1,${createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest("base64")}`).join(" ");
  return fetch(`${edge.url}/v1/hooks/email?site=${site}`, {
    method: "POST", body,
    headers: { "content-type": "application/json", "webhook-id": id, "webhook-timestamp": String(timestamp), "webhook-signature": signature },
  });
}

test("a studio key signs a person in and opens nothing else; the admin token signs nobody in", async () => {
  const keys = siteKeys("demo");
  const before = (await (await edge.admin("/v1/admin/sites/demo/events?limit=200")).json()).total;
  for (const key of [keys.publisher, keys.editor, keys.viewer]) {
    await refusal(await asAdmin(key, "/v1/admin/sites/demo/events"), 401, "unauthorized");
    await refusal(await asAdmin(key, "/v1/admin/sites/demo/destinations", { method: "PUT", body: { destinations: [
      { id: "stolen", kind: "webhook", url: `${sink.url}/stolen`, events: ["*"], consent: "analytics", credential: FORWARD_SECRET },
    ] } }), 401, "unauthorized");
    await refusal(await asAdmin(key, "/v1/admin/sites/demo/keys/rotate", { method: "POST", body: { key: "signing" } }), 401, "unauthorized");
  }
  // Nothing changed: no destination took the events, no key moved.
  const r = await fetch(`${edge.url}/v1/events?site=demo`, { method: "POST", body: JSON.stringify({ batch: [
    { type: "track", event: "Probe", messageId: `probe-${randomBytes(4).toString("hex")}`, anonymousId: "probe-anon", timestamp: new Date().toISOString(), properties: {} },
  ] }) });
  assert.equal(r.status, 202);
  await sleep(1500);
  assert.equal(sink.delivered["/stolen"], undefined);
  assert.equal((await (await edge.admin("/v1/admin/sites/demo/events?limit=200")).json()).total, before + 1);
  assert.equal((await generations("demo", keys.admin)).signing.generation, 0);
  // The admin token is no studio key; the publisher's own key is.
  const admin = await signIn("demo", keys.admin, "Pat");
  await refusal(admin.response, 401, "bad_credentials");
  assert.equal(admin.response.headers.get("set-cookie"), null);
  const publisher = await signIn("demo", keys.publisher, "Pat");
  assert.deepEqual(await publisher.response.json(), { site: "demo", role: "publisher", who: "Pat" });
});

test("the signing key rolls over: tokens signed with the old one work within the window and fail after; other sites untouched", async () => {
  const site = "roll-signing";
  const keys = siteKeys(site);
  assert.equal((await asAdmin(keys.admin, `/v1/admin/sites/${site}/config`, { method: "PUT", body: config("Hi") })).status, 200);
  const rotated = await rotate(site, keys.admin, "signing", 3);
  const next = siteKeys(site, { signing: 1 });
  assert.equal(rotated.key, "signing");
  assert.equal(rotated.generation, 1);
  assert.equal(rotated.value, next.signing, "the answer carries the new key, derived at generation 1");
  assert.equal(rotated.previous.generation, 0);
  assert.ok(rotated.previous.accepted_until > Date.now() && rotated.previous.accepted_until <= Date.now() + 3500);
  const listed = await generations(site, keys.admin);
  assert.equal(listed.signing.generation, 1);
  assert.equal(listed.webhook.generation, 0);
  assert.ok(!JSON.stringify(listed).includes(next.signing), "GET keys never shows a key");
  // Within the window: old and new both verify.
  const identify = (anon, proof) => identifyAs(edge.url, anon, proof, site);
  assert.equal((await identify("roll-a", { userToken: userToken("user-old", { site, secret: keys.signing }) })).status, 200);
  assert.equal((await identify("roll-b", { clickToken: clickToken({ u: "user-old" }, { site, secret: keys.signing }) })).status, 200);
  assert.equal((await identify("roll-c", { userToken: userToken("user-new", { site, secret: next.signing }) })).status, 200);
  // After it: only the new one.
  await sleep(3500);
  await registerBrowser(edge.url, "roll-d", site);
  const merges = async () => (await (await asAdmin(keys.admin, `/v1/admin/sites/${site}/merges?limit=200`)).json()).merges.length;
  const mergesBefore = await merges();
  const late = await refusal(await identify("roll-d", { userToken: userToken("user-old", { site, secret: keys.signing }) }), 401, "invalid_token");
  assert.match(late.message, /bad signature/);
  await refusal(await identify("roll-d", { clickToken: clickToken({ u: "user-old" }, { site, secret: keys.signing }) }), 401, "invalid_token");
  assert.equal(await merges(), mergesBefore, "a refused token links nobody");
  assert.equal((await identify("roll-d", { userToken: userToken("user-old", { site, secret: next.signing }) })).status, 200);
  // Another site's keys did not move.
  const demo = siteKeys("demo");
  assert.equal((await generations("demo", demo.admin)).signing.generation, 0);
  assert.equal((await identifyAs(edge.url, "demo-untouched", { userToken: userToken("user-d", { secret: demo.signing }) })).status, 200);
  await refusal(await identifyAs(edge.url, "demo-untouched", { userToken: userToken("user-d", { secret: next.signing }) }), 401, "invalid_token");
});

test("the webhook secret rolls over: old, new, or both in one header within the window; only the new one after", async () => {
  const site = "roll-webhook";
  const keys = siteKeys(site);
  assert.equal((await asAdmin(keys.admin, `/v1/admin/sites/${site}/config`, { method: "PUT", body: config("Hi") })).status, 200);
  const rotated = await rotate(site, keys.admin, "webhook", 3);
  const next = siteKeys(site, { webhook: 1 });
  assert.equal(rotated.value, next.webhook);
  const event = { type: "coupon.issued", user_id: "user-w", data: { code: "W10" } };
  assert.equal((await webhook(site, event, [keys.webhookKey])).status, 200, "the old secret, within the window");
  assert.equal((await webhook(site, event, [next.webhookKey])).status, 200, "the new secret");
  assert.equal((await webhook(site, event, [keys.webhookKey, next.webhookKey])).status, 200, "both signatures in one header (Standard Webhooks)");
  await sleep(3500);
  const id = "msg_after_window";
  await refusal(await webhook(site, event, [keys.webhookKey], id), 401, "bad_signature");
  // Nothing was recorded for the refused id: the same id, properly signed, applies once.
  assert.equal((await webhook(site, event, [next.webhookKey], id)).status, 200);
  assert.equal((await webhook(site, event, [keys.webhookKey, next.webhookKey])).status, 200, "a sender still signing with both is fine");
  // A site that does not exist has no keys to check (its store is never made for a stranger).
  await refusal(await fetch(`${edge.url}/v1/hooks/email?site=no-such-site`, { method: "POST", body: "{}", headers: { "webhook-id": "m", "webhook-timestamp": "1", "webhook-signature": "v1,x" } }), 404, "unknown_site");
  // A rotation with expires_in 0 stops the old secret at once.
  await rotate(site, keys.admin, "webhook", 0);
  await refusal(await webhook(site, event, [next.webhookKey]), 401, "bad_signature");
  assert.equal((await webhook(site, event, [siteKeys(site, { webhook: 2 }).webhookKey])).status, 200);
});

test("rotating the admin token: the old one is refused at once and changes nothing; the new one works", async () => {
  const site = "roll-admin";
  const keys = siteKeys(site);
  assert.equal((await asAdmin(keys.admin, `/v1/admin/sites/${site}/config`, { method: "PUT", body: config("Before") })).status, 200);
  const rotated = await rotate(site, keys.admin, "admin");
  const next = siteKeys(site, { admin: 1 });
  assert.equal(rotated.value, next.admin);
  assert.equal(rotated.previous, null, "no window for the old admin token by default");
  await refusal(await asAdmin(keys.admin, `/v1/admin/sites/${site}/events`), 401, "unauthorized");
  await refusal(await asAdmin(keys.admin, `/v1/admin/sites/${site}/config`, { method: "PUT", body: config("Hijacked") }), 401, "unauthorized");
  await refusal(await asAdmin(keys.admin, `/v1/admin/sites/${site}/keys/rotate`, { method: "POST", body: { key: "admin" } }), 401, "unauthorized");
  assert.equal(await liveTitle(site), "Before", "the old token changed nothing");
  assert.equal((await asAdmin(next.admin, `/v1/admin/sites/${site}/events`)).status, 200);
  assert.equal((await generations(site, next.admin)).admin.generation, 1, "and rotated nothing");
  // Stable refusals for bad requests; nothing moves.
  await refusal(await asAdmin(next.admin, `/v1/admin/sites/${site}/keys/rotate`, { method: "POST", body: { key: "master" } }), 400, "unknown_key");
  await refusal(await asAdmin(next.admin, `/v1/admin/sites/${site}/keys/rotate`, { method: "POST", body: { key: "editor", expires_in: 60 } }), 400, "bad_window");
  await refusal(await asAdmin(next.admin, `/v1/admin/sites/${site}/keys/rotate`, { method: "POST", body: { key: "signing", expires_in: 31 * 86400 } }), 400, "bad_window");
  const after = await generations(site, next.admin);
  assert.deepEqual([after.signing.generation, after.editor.generation, after.admin.generation], [0, 0, 1]);
});

test("rotating the editor key ends editors' sessions at once; viewers' live on", async () => {
  const site = "roll-roles";
  const keys = siteKeys(site);
  assert.equal((await asAdmin(keys.admin, `/v1/admin/sites/${site}/config`, { method: "PUT", body: config("Hi") })).status, 200);
  const ed = await signIn(site, keys.editor, "Ed");
  const vi = await signIn(site, keys.viewer, "Vi");
  assert.equal((await ed.call(`/v1/admin/sites/${site}/campaigns`)).status, 200);
  assert.equal((await vi.call(`/v1/admin/sites/${site}/campaigns`)).status, 200);
  const rotated = await rotate(site, keys.admin, "editor");
  assert.equal(rotated.value, siteKeys(site, { editor: 1 }).editor);
  await refusal(await ed.call(`/v1/admin/sites/${site}/campaigns`), 401, "unauthorized");
  const draft = { id: "sneaky", name: "Sneaky", trigger: { page_views: 1 }, content: { layout: "bar", title: "Sneaky" } };
  await refusal(await ed.call(`/v1/admin/sites/${site}/campaigns/sneaky/draft`, { method: "PUT", body: draft }), 401, "unauthorized");
  await refusal(await ed.call("/v1/studio/session"), 401, "not_signed_in");
  assert.equal((await vi.call(`/v1/admin/sites/${site}/campaigns`)).status, 200, "the viewer's session lives");
  await refusal(await vi.call(`/v1/admin/sites/${site}/campaigns/sneaky/draft`), 404, "no_draft");
  // The old editor key signs nobody in; the new one does.
  await refusal((await signIn(site, keys.editor, "Ed")).response, 401, "bad_credentials");
  const again = await signIn(site, siteKeys(site, { editor: 1 }).editor, "Ed");
  assert.equal(again.response.status, 200);
  assert.equal((await again.call(`/v1/admin/sites/${site}/campaigns`)).status, 200);
});

test("signing out ends the session on the server: a copied cookie stops working", async () => {
  // An editor (a role the studio had before this change too), so that this test fails on the
  // old edge at the copied cookie itself.
  const keys = siteKeys("demo");
  const ed = await signIn("demo", keys.editor, "Ed");
  const copied = ed.cookie;
  assert.equal((await ed.call("/v1/admin/sites/demo/campaigns")).status, 200);
  const out = await ed.call("/v1/studio/session", { method: "DELETE" });
  assert.equal(out.status, 200);
  assert.match(out.headers.get("set-cookie"), /Max-Age=0/);
  const replay = (path, init = {}) => fetch(`${edge.url}${path}`, { ...init, headers: { cookie: copied, "content-type": "application/json", origin: edge.url, "if-none-match": "*" } });
  await refusal(await replay("/v1/admin/sites/demo/campaigns"), 401, "unauthorized");
  await refusal(await replay("/v1/studio/session"), 401, "not_signed_in");
  const draft = { id: "after-sign-out", name: "After", trigger: { scroll_depth: 25 }, content: { layout: "modal", title: "T", body: "B" }, frequency: { per_session: 1 } };
  await refusal(await replay("/v1/admin/sites/demo/campaigns/after-sign-out/draft", { method: "PUT", body: JSON.stringify(draft) }), 401, "unauthorized");
  await refusal(await edge.admin("/v1/admin/sites/demo/campaigns/after-sign-out/draft"), 404, "no_draft");
  // Another session of the same person is its own: it still works.
  const other = await signIn("demo", keys.editor, "Ed");
  assert.equal((await other.call("/v1/admin/sites/demo/campaigns")).status, 200);
});

test("sealed destination credentials deliver after every rotation", async () => {
  const site = "roll-forward";
  let admin = siteKeys(site).admin;
  assert.equal((await asAdmin(admin, `/v1/admin/sites/${site}/config`, { method: "PUT", body: config("Hi") })).status, 200);
  const put = await asAdmin(admin, `/v1/admin/sites/${site}/destinations`, { method: "PUT", body: { destinations: [
    { id: "crm", kind: "webhook", url: `${sink.url}/roll-crm`, events: ["*"], consent: "analytics", credential: FORWARD_SECRET },
  ] } });
  assert.equal(put.status, 200, await put.text());
  const send = async (id) => {
    const r = await fetch(`${edge.url}/v1/events?site=${site}`, { method: "POST", body: JSON.stringify({ batch: [
      { type: "track", event: "Rotated", messageId: id, anonymousId: "fwd-roll", timestamp: new Date().toISOString(), properties: {}, context: { consent: { analytics: true } } },
    ] }) });
    assert.equal(r.status, 202);
    await until(() => (sink.delivered["/roll-crm"] || []).some((e) => e.messageId === id));
  };
  await send("roll-0");
  for (const key of ["signing", "webhook", "admin", "publisher", "editor", "viewer"]) {
    const rotated = await rotate(site, admin, key, key === "signing" || key === "webhook" ? 0 : undefined);
    if (key === "admin") admin = rotated.value;
    await send(`roll-${key}`);
  }
  assert.deepEqual(sink.badSignatures, [], "every delivery was signed with the sealed credential");
  const all = await generations(site, admin);
  assert.deepEqual(Object.values(all).map((k) => k.generation), [1, 1, 1, 1, 1, 1]);
  // Nothing of it reached another site.
  assert.deepEqual(Object.values(await generations("demo", siteKeys("demo").admin)).map((k) => k.generation).filter((g) => g !== 0), []);
});

test("sign-in names are normalised before reserved names are checked", async () => {
  const keys = siteKeys("demo");
  for (const name of ["ａｄｍｉｎ ｔｏｋｅｎ", "admin\u200B token", "Admin\u00A0\u2060Token", "pre\u00ADview\u3000link", "\uFEFFthe config before versions\u200F"]) {
    const r = await signIn("demo", keys.editor, name);
    await refusal(r.response, 400, "bad_name");
    assert.equal(r.response.headers.get("set-cookie"), null, `no session for ${JSON.stringify(name)}`);
  }
  for (const name of ["\u200B\u200C\u200D", " \u3000 ", "\u00AD"]) {
    const r = await signIn("demo", keys.editor, name);
    await refusal(r.response, 400, "empty_name");
    assert.equal(r.response.headers.get("set-cookie"), null);
  }
  const fine = await signIn("demo", keys.editor, "  Ｅｄ \u200B ");
  assert.deepEqual(await fine.response.json(), { site: "demo", role: "editor", who: "Ed" });
});

test("an admin token in its rollover window still works, but only the current one rotates keys", async () => {
  const site = "roll-admin-window";
  const keys = siteKeys(site);
  assert.equal((await asAdmin(keys.admin, `/v1/admin/sites/${site}/config`, { method: "PUT", body: config("Before") })).status, 200);
  await rotate(site, keys.admin, "admin", 3600);
  const next = siteKeys(site, { admin: 1 });
  assert.equal((await asAdmin(keys.admin, `/v1/admin/sites/${site}/events`)).status, 200, "within its window");
  // A leaked token being rotated out cannot rotate the owner out, nor mint itself a signing key.
  for (const key of ["admin", "signing"]) {
    await refusal(await asAdmin(keys.admin, `/v1/admin/sites/${site}/keys/rotate`, { method: "POST", body: { key } }), 403, "current_admin_token_required");
  }
  const now = await generations(site, next.admin);
  assert.deepEqual([now.admin.generation, now.signing.generation], [1, 0], "nothing rotated");
});

test("unproven requests naming made-up sites make no site store", async () => {
  const { readdirSync, statSync } = await import("node:fs");
  const { join } = await import("node:path");
  const files = (dir) => {
    try {
      return readdirSync(dir).flatMap((name) => {
        const path = join(dir, name);
        return statSync(path).isDirectory() ? files(path) : [path];
      });
    } catch { return []; }
  };
  const stores = () => files(join(edge.state, "v3", "do")).filter((f) => f.endsWith(".sqlite")).length;
  const before = stores();
  assert.ok(before > 0, "the count sees the stores the earlier tests made");
  const forged = (site) => `nudge_studio=${Buffer.from(JSON.stringify({ s: site, r: "publisher", w: "x", e: Date.now() + 3600_000, i: "forged", g: 0 })).toString("base64url")}.AAAA`;
  for (let i = 0; i < 5; i++) {
    const site = `ghost-${i}-${randomBytes(3).toString("hex")}`;
    await refusal(await asAdmin("not-a-token", `/v1/admin/sites/${site}/events`), 401, "unauthorized");
    await refusal(await fetch(`${edge.url}/v1/studio/session`, { headers: { cookie: forged(site) } }), 401, "not_signed_in");
    await refusal(await fetch(`${edge.url}/v1/admin/sites/${site}/campaigns`, { headers: { cookie: forged(site) } }), 401, "unauthorized");
    const signIn = await fetch(`${edge.url}/v1/studio/session`, {
      method: "POST", headers: { "content-type": "application/json", origin: edge.url },
      body: JSON.stringify({ site, key: "guess", name: "Eve" }),
    });
    await refusal(signIn, 401, "bad_credentials");
    await refusal(await webhook(site, { type: "unsubscribed", email: "a@example.com" }, [Buffer.from("k")]), 404, "unknown_site");
  }
  assert.equal(stores(), before, "no Durable Object was made for a made-up site");
});
