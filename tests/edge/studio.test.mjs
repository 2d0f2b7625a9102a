// The studio's API on local workerd: sign-in and roles, drafts with If-Match
// (409 on a stale write), publish (the shop's config changes), pause, the
// history with its diff, roll back, and signed preview links. What the
// marketer does in the studio's pages goes through exactly these calls.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startEdge, siteKeys } from "../support/edge.mjs";

let edge;
before(async () => { edge = await startEdge(); });
after(async () => { await edge.stop(); });

const keys = siteKeys("demo");
const base = "/v1/admin/sites/demo";

/** A signed-in browser: keeps the session cookie, sends Origin and JSON as the studio does. */
async function signIn(key, name, site = "demo") {
  const r = await fetch(`${edge.url}/v1/studio/session`, {
    method: "POST", headers: { "content-type": "application/json", origin: edge.url },
    body: JSON.stringify({ site, key, name }),
  });
  const cookie = (r.headers.get("set-cookie") || "").split(";")[0];
  const session = {
    status: r.status, body: await r.json(), setCookie: r.headers.get("set-cookie"), cookie,
    call: (path, { method = "GET", body, headers = {} } = {}) => fetch(`${edge.url}${path}`, {
      method, headers: {
        cookie, ...(method === "GET" ? {} : { "content-type": "application/json", origin: edge.url }), ...headers,
      },
      body: method === "GET" ? undefined : JSON.stringify(body ?? {}),
    }),
  };
  return session;
}

const welcome = (title) => ({
  id: "spring-welcome", name: "Spring welcome", priority: 5, trigger: { scroll_depth: 25 },
  content: { layout: "modal", title, body: "10% off your first order", form: { field: "email", button: "Get it", success: "Your code:" }, coupon: "SPRING10" },
  frequency: { per_session: 1 }, goal: "Signed Up",
});

test("sign-in: each access key opens its role, in an HttpOnly SameSite=Strict cookie; a wrong key opens nothing", async () => {
  const editor = await signIn(keys.editor, "Ed");
  assert.equal(editor.status, 200);
  assert.deepEqual(editor.body, { site: "demo", role: "editor", who: "Ed" });
  assert.match(editor.setCookie, /HttpOnly/);
  assert.match(editor.setCookie, /SameSite=Strict/);
  const me = await editor.call("/v1/studio/session");
  assert.deepEqual(await me.json(), { site: "demo", role: "editor", who: "Ed" });
  assert.equal((await signIn(keys.publisher, "Pat")).body.role, "publisher");
  assert.equal((await signIn(keys.viewer, "Vi")).body.role, "viewer");
  const wrong = await signIn(siteKeys("other").admin, "Mallory");
  assert.equal(wrong.status, 401);
  assert.equal(wrong.body.error, "bad_credentials");
  assert.equal(wrong.setCookie, null);
  // Another site's session opens nothing here.
  const other = await signIn(siteKeys("other").editor, "Oz", "other");
  assert.equal((await other.call(`${base}/campaigns`)).status, 401);
  // A sign-in from another origin is refused (no login CSRF).
  const cross = await fetch(`${edge.url}/v1/studio/session`, {
    method: "POST", headers: { "content-type": "application/json", origin: "https://evil.example" },
    body: JSON.stringify({ site: "demo", key: keys.editor, name: "x" }),
  });
  assert.equal(cross.status, 403);
});

test("drafts: created, saved with If-Match, and a stale save gets 409 naming who saved", async () => {
  const ann = await signIn(keys.editor, "Ann");
  const bob = await signIn(keys.editor, "Bob");
  const created = await ann.call(`${base}/campaigns/spring-welcome/draft`, { method: "PUT", body: welcome("Hello"), headers: { "if-none-match": "*" } });
  assert.equal(created.status, 200);
  assert.deepEqual(await created.json(), { revision: 1, problems: [] });
  const opened = await bob.call(`${base}/campaigns/spring-welcome/draft`);
  assert.equal(opened.headers.get("etag"), '"1"');
  assert.equal((await opened.json()).campaign.content.title, "Hello");
  const bobSaves = await bob.call(`${base}/campaigns/spring-welcome/draft`, { method: "PUT", body: welcome("Hello from Bob"), headers: { "if-match": '"1"' } });
  assert.equal((await bobSaves.json()).revision, 2);
  const annStale = await ann.call(`${base}/campaigns/spring-welcome/draft`, { method: "PUT", body: welcome("Ann's"), headers: { "if-match": '"1"' } });
  assert.equal(annStale.status, 409);
  const conflict = await annStale.json();
  assert.equal(conflict.error, "conflict");
  assert.match(conflict.message, /Bob saved this draft \(revision 2\)/);
  assert.equal(conflict.current.revision, 2);
  const noPrecondition = await ann.call(`${base}/campaigns/spring-welcome/draft`, { method: "PUT", body: welcome("x") });
  assert.equal(noPrecondition.status, 428);
  // An invalid value is saved (work in progress) with its problem at the field.
  const bad = { ...welcome("Hello from Bob"), trigger: { scroll_depth: 140 } };
  const saved = await bob.call(`${base}/campaigns/spring-welcome/draft`, { method: "PUT", body: bad, headers: { "if-match": '"2"' } });
  const { problems } = await saved.json();
  assert.equal(problems[0].path, "trigger.scroll_depth");
  assert.match(problems[0].message, /1\.\.=100/);
});

test("roles: a viewer reads but cannot edit or publish; an editor cannot publish", async () => {
  const viewer = await signIn(keys.viewer, "Vi");
  assert.equal((await viewer.call(`${base}/campaigns`)).status, 200);
  const edit = await viewer.call(`${base}/campaigns/vip/draft`, { method: "PUT", body: { id: "vip" }, headers: { "if-none-match": "*" } });
  assert.equal(edit.status, 403);
  assert.equal((await edit.json()).error, "forbidden_role");
  const editor = await signIn(keys.editor, "Ed");
  const publish = await editor.call(`${base}/campaigns/spring-welcome/publish`, { method: "POST", headers: { "if-match": '"3"' } });
  assert.equal(publish.status, 403);
  // Raw admin routes need the bearer token, whatever the session.
  const publisher = await signIn(keys.publisher, "Pat");
  assert.equal((await publisher.call(`${base}/events`)).status, 401);
  // A cookie write without Origin or JSON is refused (CSRF).
  const formPost = await fetch(`${edge.url}${base}/campaigns/vip/status`, {
    method: "POST", headers: { cookie: publisher.cookie, "content-type": "application/x-www-form-urlencoded", "if-match": '"1"' },
    body: "status=paused",
  });
  assert.equal(formPost.status, 403);
  assert.equal((await formPost.json()).error, "cross_origin");
});

test("publish: invalid is refused at the field, valid goes live for shoppers; history, diff and roll back", async () => {
  const pat = await signIn(keys.publisher, "Pat");
  const refused = await pat.call(`${base}/campaigns/spring-welcome/publish`, { method: "POST", headers: { "if-match": '"3"' } });
  assert.equal(refused.status, 400, await refused.clone().text());
  const problems = (await refused.json()).problems;
  assert.ok(problems.some((p) => p.path.endsWith("trigger.scroll_depth")), JSON.stringify(problems));
  const live = async () => (await (await fetch(`${edge.url}/v1/config?site=demo`)).json()).campaigns.map((c) => c.id);
  assert.ok(!(await live()).includes("spring-welcome"));
  // Fix and publish.
  const fixed = await pat.call(`${base}/campaigns/spring-welcome/draft`, { method: "PUT", body: welcome("Spring is here"), headers: { "if-match": '"3"' } });
  assert.equal((await fixed.json()).revision, 4);
  const published = await pat.call(`${base}/campaigns/spring-welcome/publish`, { method: "POST", body: { note: "spring launch" }, headers: { "if-match": '"4"' } });
  assert.equal(published.status, 200);
  const { version } = await published.json();
  assert.ok((await live()).includes("spring-welcome"), "shoppers get it");
  const served = (await (await fetch(`${edge.url}/v1/config?site=demo`)).json()).campaigns.find((c) => c.id === "spring-welcome");
  assert.equal(served.content.coupon_sealed, true, "the form's coupon stays sealed");
  // The list shows it live, by Pat.
  const list = await (await pat.call(`${base}/campaigns`)).json();
  assert.equal(list.version, version);
  const item = list.campaigns.find((c) => c.id === "spring-welcome");
  assert.equal(item.status, "live");
  assert.equal(item.trigger, "Scroll 25%");
  assert.equal(item.updated_by, "Pat");
  // History and its readable diff.
  const history = await (await pat.call(`${base}/versions`)).json();
  assert.equal(history.versions[0].version, version);
  assert.equal(history.versions[0].note, "spring launch");
  assert.equal(history.versions.at(-1).action, "api", "the seeding PUT is a version too");
  const detail = await (await pat.call(`${base}/versions/${version}`)).json();
  assert.deepEqual(detail.changes.map((c) => [c.campaign, c.path]), [["spring-welcome", ""]]);
  // Pause: a version of its own; a stale If-Match is a 409.
  const paused = await pat.call(`${base}/campaigns/spring-welcome/status`, { method: "POST", body: { status: "paused" }, headers: { "if-match": `"${version}"` } });
  assert.equal(paused.status, 200);
  const stale = await pat.call(`${base}/campaigns/spring-welcome/status`, { method: "POST", body: { status: "active" }, headers: { "if-match": `"${version}"` } });
  assert.equal(stale.status, 409);
  const pauseDiff = await (await pat.call(`${base}/versions/${version + 1}`)).json();
  assert.deepEqual(pauseDiff.changes.map((c) => [c.campaign, c.path, c.after]), [["spring-welcome", "status", "paused"]]);
  // Roll back to before the campaign existed.
  const back = await pat.call(`${base}/versions/${version - 1}/rollback`, { method: "POST", headers: { "if-match": `"${version + 1}"` } });
  assert.equal(back.status, 200);
  assert.equal((await back.json()).version, version + 2);
  assert.ok(!(await live()).includes("spring-welcome"), "rolled back for shoppers too");
});

test("preview links: signed, for the draft, readable by the shop's agent; forged or foreign ones are refused", async () => {
  const ed = await signIn(keys.editor, "Ed");
  const draft = { ...welcome("Preview me"), variants: [{ key: "a", weight: 0.5 }, { key: "b", weight: 0.5, content: { title: "B side" } }] };
  const saved = await ed.call(`${base}/campaigns/spring-welcome/draft`, { method: "PUT", body: draft, headers: { "if-none-match": "*" } });
  assert.equal(saved.status, 200);
  const link = await ed.call(`${base}/campaigns/spring-welcome/preview-link`, { method: "POST", body: { source: "draft", variant: "b", ignore_targeting: true, path: "/cart" } });
  assert.equal(link.status, 200);
  const { url, expires_at } = await link.json();
  assert.match(url, /^http:\/\/localhost:8787\/cart\?nudge_preview=p1\./, "on the shop's origin");
  assert.ok(Date.parse(expires_at) > Date.now() + 23 * 3600e3);
  const token = new URL(url).searchParams.get("nudge_preview");
  const preview = await fetch(`${edge.url}/v1/preview?site=demo&token=${encodeURIComponent(token)}`);
  assert.equal(preview.status, 200);
  const body = await preview.json();
  assert.equal(body.campaign_id, "spring-welcome");
  assert.equal(body.variant, "b");
  assert.equal(body.ignore_targeting, true);
  assert.deepEqual(body.config.campaigns.map((c) => c.content.title), ["Preview me"]);
  const forged = token.replace(/^p1\.[^.]+/, `p1.${Buffer.from(JSON.stringify({ s: "demo", c: "vip", e: 9e15 })).toString("base64url")}`);
  assert.equal((await fetch(`${edge.url}/v1/preview?site=demo&token=${encodeURIComponent(forged)}`)).status, 403);
  assert.equal((await fetch(`${edge.url}/v1/preview?site=demo&token=nonsense`)).status, 403);
  const unknownVariant = await ed.call(`${base}/campaigns/spring-welcome/preview-link`, { method: "POST", body: { variant: "zzz" } });
  assert.equal(unknownVariant.status, 400);
  const offsite = await ed.call(`${base}/campaigns/spring-welcome/preview-link`, { method: "POST", body: { path: "//evil.example" } });
  assert.equal(offsite.status, 400);
});

test("sign-in: names the edge writes itself are refused; with STUDIO_HOST, sessions live only on the studio's own host", async () => {
  const impostor = await signIn(keys.editor, "Admin Token");
  assert.equal(impostor.status, 400);
  assert.equal(impostor.body.error, "bad_name");
  // A deployment whose studio is at studio.shop.example: the shop's host (here 127.0.0.1) refuses sessions.
  const shopHost = await startEdge({ vars: { STUDIO_HOST: "studio.shop.example" } });
  try {
    const r = await fetch(`${shopHost.url}/v1/studio/session`, {
      method: "POST", headers: { "content-type": "application/json", origin: shopHost.url },
      body: JSON.stringify({ site: "demo", key: keys.editor, name: "Ed" }),
    });
    assert.equal(r.status, 403);
    assert.equal((await r.json()).error, "not_studio_host");
    // A cookie minted elsewhere opens nothing here either; the bearer token still works for scripts.
    const cookie = (await signIn(keys.publisher, "Pat")).cookie;
    const list = await fetch(`${shopHost.url}${base}/campaigns`, { headers: { cookie } });
    assert.equal(list.status, 403);
    assert.equal((await shopHost.admin(`${base}/campaigns`)).status, 200);
  } finally {
    await shopHost.stop();
  }
});
