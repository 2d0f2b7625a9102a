// The shop on its own origin, as real shops are: the demo shop's pages served
// from 127.0.0.1 on a port of their own, the README's tag pointing at the edge
// Worker on another (local workerd). The main shop paths run through it in
// Chromium, in both install modes (the tag from the edge's host; the Worker
// routed on the shop's domain), under a strict Content-Security-Policy, and
// from an origin the site does not list.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { launchChromium } from "../support/browser.mjs";
import { startEdge, storedEvents as stored } from "../support/edge.mjs";
import { startShop } from "../support/shop.mjs";
import { clickToken, userToken } from "../support/tokens.mjs";
import { campaignDom, previewBadgeDom, scrollTo, shownCampaigns, shownCoupon, waitForCampaign, waitForFocusInCampaign } from "../e2e/harness.mjs";

let edge, browser, shop, routed, stranger;
const demo = JSON.parse(await readFile(new URL("../../demo-shop/campaigns.json", import.meta.url), "utf8"));

before(async () => {
  edge = await startEdge();
  browser = await launchChromium();
  shop = await startShop({ edge: edge.url });
  routed = await startShop({ edge: edge.url, mode: "routed" });
  // An origin the site does not list: the tag is copied onto another website.
  stranger = await startShop({ edge: edge.url });
  const r = await edge.admin("/v1/admin/sites/demo/config", {
    method: "PUT", body: JSON.stringify({ ...demo, origins: [shop.origin] }),
  });
  assert.equal(r.status, 200, await r.text());
});
after(async () => {
  await browser?.close();
  for (const s of [shop, routed, stranger]) await s?.close();
  await edge?.stop();
});

/** A first-time visitor's tab, with its page errors and console kept. */
async function visitor(options = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...options });
  const page = await context.newPage();
  const errors = [];
  const console = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => console.push(`${m.type()}: ${m.text()}`));
  return { context, page, errors, console };
}

async function visit(page, url) {
  await page.goto(url);
  await page.waitForFunction(() => window.nudge && (window.nudge.ready || window.nudge.failed), null, { timeout: 15_000 });
  return page.evaluate(() => (window.nudge.failed ? "failed" : "ready"));
}

const storedEvents = (page, last) => stored(edge, page, last);

test("the README's tag on the shop's own origin: the agent starts from the edge's host", async () => {
  const { page, errors, console, context } = await visitor();
  const files = [];
  page.on("response", (r) => { if (r.url().startsWith(`${edge.url}/nudge/`)) files.push(r); });
  assert.equal(await visit(page, `${shop.url}/`), "ready");
  assert.equal(new URL(page.url()).origin, shop.origin);
  const wasm = files.find((r) => r.url().includes("nudge_agent_bg.wasm"));
  const glue = files.find((r) => r.url().includes("nudge_agent.js"));
  assert.ok(wasm && glue, "the agent's files came from the edge");
  for (const r of [wasm, glue]) assert.equal(r.headers()["access-control-allow-origin"], "*");
  assert.equal(wasm.headers()["content-type"], "application/wasm", "streaming compile");
  assert.ok(!console.some((m) => /instantiateStreaming|MIME/.test(m)), console.join("\n"));
  const config = await page.evaluate(() => window.nudge.debug());
  assert.equal(config.profile.pv, 1, JSON.stringify(config.profile) + "\n" + console.join("\n"));
  // The welcome popup waits for its scroll: the display module comes from
  // the edge too, at idle, cross-origin, under the build's immutable hash.
  for (let waited = 0; !files.some((r) => r.url().includes("nudge_render_bg.wasm")) && waited < 5000; waited += 50) await page.waitForTimeout(50);
  const display = files.filter((r) => r.url().includes("nudge_render"));
  assert.equal(display.length, 2, files.map((r) => r.url()).join("\n"));
  for (const r of display) {
    assert.equal(r.headers()["access-control-allow-origin"], "*");
    assert.match(r.headers()["cache-control"], /immutable/);
  }
  // An answer without CORS headers (the Worker's own pages) must not be reused for the shop's page.
  const own = await fetch(`${edge.url}/v1/config?site=demo`);
  assert.match(own.headers.get("vary") || "", /origin/i);
  assert.deepEqual(errors, []);
  await context.close();
});

test("welcome on scroll, and the sign-up reveals the held-back coupon through the edge", async () => {
  const { page, errors, context } = await visitor();
  await visit(page, `${shop.url}/`);
  await page.mouse.move(640, 400);
  await scrollTo(page, 30);
  await waitForCampaign(page, "welcome");
  assert.match((await campaignDom(page, "welcome")).text, /Hi there! Here is 10% off/);
  await waitForFocusInCampaign(page);
  await page.keyboard.type("ada@example.com");
  await page.keyboard.press("Enter");
  assert.equal(await shownCoupon(page, "welcome", "WELCOME10"), "WELCOME10", "the coupon came in the answer to the cross-origin sign-up");
  const names = (await storedEvents(page, "Signed Up")).map((e) => e.event || e.type);
  for (const expected of ["page", "Signed Up"]) assert.ok(names.includes(expected), names.join());
  assert.deepEqual(errors, []);
  await context.close();
});

test("exit intent on the cart shows the cart rescue", async () => {
  const { page, errors, context } = await visitor();
  await visit(page, `${shop.url}/product/trail-runner`);
  await page.evaluate(() => document.querySelector("#add-to-cart").click());
  await visit(page, `${shop.url}/cart`);
  await page.waitForTimeout(2100); // the campaign waits 2 s on the page
  await page.mouse.move(640, 300);
  await page.mouse.move(640, 150, { steps: 5 });
  await page.mouse.move(640, -10, { steps: 5 });
  await waitForCampaign(page, "cart-rescue");
  assert.match((await campaignDom(page, "cart-rescue")).text, /your cart is waiting/);
  const names = (await storedEvents(page, "Cart Viewed")).map((e) => e.event || e.type);
  for (const expected of ["Product Added", "Cart Viewed"]) assert.ok(names.includes(expected), names.join());
  assert.deepEqual(errors, []);
  await context.close();
});

test("consent denied: campaigns still show and nothing reaches the edge", async () => {
  const { page, errors, context } = await visitor();
  await page.addInitScript(() => { window.nudge = window.nudge || []; window.nudge.push(["consent", "denied"]); });
  await visit(page, `${shop.url}/`);
  await page.evaluate(() => window.nudge.track("Private Thing", {}));
  await scrollTo(page, 30);
  await waitForCampaign(page, "welcome");
  await page.waitForTimeout(1000);
  assert.deepEqual(await storedEvents(page), []);
  assert.deepEqual(errors, []);
  await context.close();
});

test("a shop that emits only GA4 events (dataLayer): the edge stores them as Nudge's events", async () => {
  const { page, errors, context } = await visitor();
  await visit(page, `${shop.url}/product/rain-shell?analytics=gtm`);
  await page.click("#add-to-cart");
  await visit(page, `${shop.url}/cart?analytics=gtm`);
  const added = (await storedEvents(page, "Cart Viewed")).find((e) => e.event === "Product Added");
  assert.ok(added, "Product Added from the dataLayer");
  assert.deepEqual([added.properties.product_id, added.properties.price], ["rain-shell", 179]);
  assert.deepEqual(errors, []);
  await context.close();
});

test("a studio preview link shows the draft on the shop's origin, in that tab only, sending nothing", async () => {
  const base = "/v1/admin/sites/demo";
  const draft = {
    id: "preview-on-origin", name: "Preview on the shop's origin", trigger: { page_view: true },
    audience: { "orders.count": { $gte: 100 } },
    content: { layout: "top_banner", body: "Draft banner on the shop" },
  };
  const saved = await edge.admin(`${base}/campaigns/preview-on-origin/draft`, {
    method: "PUT", headers: { "if-none-match": "*" }, body: JSON.stringify(draft),
  });
  assert.equal(saved.status, 200, await saved.text());
  const link = await edge.admin(`${base}/campaigns/preview-on-origin/preview-link`, {
    method: "POST", body: JSON.stringify({ source: "draft", ignore_targeting: true, path: "/category/shoes" }),
  });
  const token = new URL((await link.json()).url).searchParams.get("nudge_preview");
  const { page, errors, context } = await visitor();
  const studioBuild = page.waitForResponse((r) => r.url().startsWith(`${edge.url}/studio/agent/nudge_agent_bg.wasm`));
  await visit(page, `${shop.url}/category/shoes?nudge_preview=${encodeURIComponent(token)}`);
  assert.equal((await studioBuild).headers()["access-control-allow-origin"], "*", "the studio's build loads cross-origin");
  await waitForCampaign(page, "preview-on-origin", 10_000);
  assert.match((await campaignDom(page, "preview-on-origin")).text, /Draft banner on the shop/);
  assert.match((await previewBadgeDom(page)).text, /Nudge preview/);
  await page.waitForTimeout(1500);
  assert.deepEqual(await storedEvents(page), [], "the preview tab sent no events");
  assert.deepEqual(errors, []);
  await context.close();
});

test("cross-device: a phone arriving through a signed email link gets the customer's profile", async () => {
  const desktop = await visitor();
  await visit(desktop.page, `${shop.url}/product/wool-coat`);
  await desktop.page.evaluate(() => document.querySelector("#add-to-cart").click());
  await visit(desktop.page, `${shop.url}/checkout`);
  await desktop.page.fill("input[name=first_name]", "Ada");
  await desktop.page.fill("input[name=email]", "ada@example.com");
  await desktop.page.fill("input[name=address]", "1 Fjord Road");
  await desktop.page.evaluate(([id, token]) => window.nudge.identify(id, {}, { token }), ["user-origin", userToken("user-origin")]);
  await desktop.page.click("button[type=submit]");
  await desktop.page.waitForURL("**/order-confirmation");
  await desktop.page.waitForFunction(() => window.nudge && window.nudge.ready);
  const stored = await storedEvents(desktop.page, "Order Completed");
  assert.ok(stored.some((e) => e.userId === "user-origin"), "identified cross-origin");

  const phone = await visitor({ viewport: { width: 390, height: 760 }, hasTouch: true, isMobile: true });
  const profile = phone.page.waitForResponse((r) => r.url().startsWith(`${edge.url}/v1/profile?`) && r.request().method() === "GET", { timeout: 15_000 });
  await phone.page.goto(`${shop.url}/?nudge_t=${clickToken({ u: "user-origin" })}`);
  await phone.page.waitForFunction(() => window.nudge && window.nudge.ready && window.nudge.debug().profile.orders === 1, null, { timeout: 15_000 });
  assert.equal((await profile).status(), 200, "the profile read (with its preflighted key header) crossed origins");
  assert.ok(!phone.page.url().includes("nudge_t"));
  await scrollTo(phone.page, 60);
  await phone.page.waitForTimeout(300);
  assert.ok(!(await shownCampaigns(phone.page)).includes("welcome"), "a customer gets no first-order coupon");
  assert.deepEqual([...desktop.errors, ...phone.errors], []);
  await desktop.context.close();
  await phone.context.close();
});

test("a callback registered through the stub before the agent loads sees a show decided on the first page view", async () => {
  const site = "stub-origin";
  const stubShop = await startShop({
    edge: edge.url, site,
    beforeTag: "<script>window.shown = []; nudge.on('show', function (d) { window.shown.push(d.campaign_id); });</script>",
  });
  const r = await edge.admin(`/v1/admin/sites/${site}/config`, {
    method: "PUT",
    body: JSON.stringify({
      version: 1, origins: [stubShop.origin],
      campaigns: [{ id: "hello", name: "Hello", trigger: { page_view: true }, content: { layout: "top_banner", body: "Hello from the edge" } }],
    }),
  });
  assert.equal(r.status, 200, await r.text());
  const { page, errors, context, console } = await visitor();
  try {
    await visit(page, `${stubShop.url}/?nudge_debug=1`);
    await waitForCampaign(page, "hello", 10_000).catch((e) => { throw new Error(`${e.message}\n${console.join("\n")}`); });
    await page.waitForFunction(() => window.shown.length > 0, null, { timeout: 2000 }).catch(() => {});
    assert.deepEqual(await page.evaluate(() => window.shown), ["hello"]);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
    await stubShop.close();
  }
});

test("a shop script still downloading when the agent is ready: one page view, with the shop's properties, and what it showed stays", async () => {
  const site = "slow-script";
  // shop.js (deferred) calls nudge.page({ type: "home" }); it arrives late.
  const slowShop = await startShop({ edge: edge.url, site, slow: { "/shop.js": 1500 } });
  const r = await edge.admin(`/v1/admin/sites/${site}/config`, {
    method: "PUT",
    body: JSON.stringify({
      version: 1, origins: [slowShop.origin],
      campaigns: [{ id: "home-hello", name: "Home hello", trigger: { page_view: true }, audience: { "page.type": "home" }, content: { layout: "top_banner", body: "Hello, home" } }],
    }),
  });
  assert.equal(r.status, 200, await r.text());
  const { page, errors, context } = await visitor();
  // The tag also arrives after the page is parsed (readyState "interactive"),
  // while the shop's deferred script is still on its way.
  await page.route(`${edge.url}/nudge/nudge.js`, async (route) => { await new Promise((r) => setTimeout(r, 300)); await route.continue(); });
  try {
    assert.equal(await visit(page, `${slowShop.url}/`), "ready");
    await waitForCampaign(page, "home-hello", 5000);
    // The shop's own rendering ran, and nothing after it closed the banner.
    await page.waitForFunction(() => document.querySelectorAll("#featured > *").length > 0, null, { timeout: 5000 });
    await page.waitForTimeout(300);
    assert.deepEqual(await shownCampaigns(page), ["home-hello"]);
    assert.equal(await page.evaluate(() => window.nudge.debug().profile.pv), 1);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
    await slowShop.close();
  }
});

test("the home page does not move while it loads (layout shift 0) on a phone, with the tag and without it", async () => {
  // shop.js arrives after the first paint (as under Lighthouse's load): its
  // grids fill placeholder cards in place, and nothing the tag does moves the page.
  const slowShop = await startShop({ edge: edge.url, slow: { "/shop.js": 600 } });
  const r = await edge.admin("/v1/admin/sites/demo/config", {
    method: "PUT", body: JSON.stringify({ ...demo, origins: [shop.origin, slowShop.origin] }),
  });
  assert.equal(r.status, 200, await r.text());
  try {
    for (const tag of [true, false]) {
      const { page, errors, context } = await visitor({ viewport: { width: 412, height: 823 }, deviceScaleFactor: 1.75, isMobile: true, hasTouch: true });
      await page.addInitScript(() => {
        window.shifts = [];
        new PerformanceObserver((list) => {
          for (const e of list.getEntries()) window.shifts.push({ value: e.value, input: e.hadRecentInput });
        }).observe({ type: "layout-shift", buffered: true });
      });
      if (!tag) await page.route(`${edge.url}/nudge/nudge.js`, (route) => route.abort());
      await page.goto(`${slowShop.url}/`);
      await page.waitForFunction(() => document.querySelectorAll("#featured a[href^='/product/']").length === 4, null, { timeout: 10_000 });
      if (tag) await page.waitForFunction(() => window.nudge && window.nudge.ready, null, { timeout: 10_000 });
      await page.waitForTimeout(500);
      const shifts = await page.evaluate(() => window.shifts);
      assert.deepEqual(shifts, [], `${tag ? "with" : "without"} the tag`);
      assert.deepEqual(errors, []);
      await context.close();
    }
  } finally {
    await slowShop.close();
    await edge.admin("/v1/admin/sites/demo/config", { method: "PUT", body: JSON.stringify({ ...demo, origins: [shop.origin] }) });
  }
});

test("the Worker routed on the shop's domain: same-origin calls and the first-party cookie", async () => {
  const { page, errors, context } = await visitor();
  const requests = [];
  page.on("request", (r) => requests.push(r.url()));
  assert.equal(await visit(page, `${routed.url}/`), "ready");
  await scrollTo(page, 30);
  await waitForCampaign(page, "welcome");
  const names = (await storedEvents(page, "page")).map((e) => e.event || e.type);
  assert.ok(names.includes("page"), "events were collected");
  assert.ok(requests.every((u) => u.startsWith(routed.url)), `everything from the shop's origin: ${requests.filter((u) => !u.startsWith(routed.url))}`);
  const cookies = await context.cookies(routed.url);
  assert.ok(cookies.some((c) => c.name === "nudge_aid" && c.httpOnly), "the anonymous id kept in a first-party HttpOnly cookie");
  assert.deepEqual(errors, []);
  await context.close();
});

test("a Content-Security-Policy naming what the README lists runs the agent; one that forbids wasm leaves the shop unaffected", async () => {
  const policy = (wasm) => [
    "default-src 'self'",
    `script-src 'self' 'nonce-shop' ${edge.url}${wasm ? " 'wasm-unsafe-eval'" : ""}`,
    `connect-src 'self' ${edge.url}`,
    // No 'unsafe-inline': campaigns style their shadow roots with constructed stylesheets.
    "style-src 'self'",
    "img-src 'self' data:",
  ].join("; ");
  const strict = await startShop({ edge: edge.url, csp: policy(true) });
  const noWasm = await startShop({ edge: edge.url, csp: policy(false) });
  const config = await edge.admin("/v1/admin/sites/demo/config", {
    method: "PUT", body: JSON.stringify({ ...demo, origins: [shop.origin, strict.origin, noWasm.origin] }),
  });
  assert.equal(config.status, 200);
  try {
    const a = await visitor();
    assert.equal(await visit(a.page, `${strict.url}/`), "ready");
    await scrollTo(a.page, 30);
    await waitForCampaign(a.page, "welcome");
    // Styled: the modal's panel is a centred card in the viewport, not an unstyled block at the page's end.
    const panel = await (await campaignDom(a.page, "welcome")).box((n) => n.attrs.role === "dialog");
    assert.ok(panel.y >= 0 && panel.y + panel.height <= 800 && panel.width < 800 && panel.x > 100, JSON.stringify(panel));
    assert.ok((await storedEvents(a.page, "page")).length > 0, "events sent under connect-src");
    assert.deepEqual(a.errors, []);
    const violations = a.console.filter((m) => /Content Security Policy/.test(m) && !/style attributes/.test(m));
    assert.deepEqual(violations, [], "only the demo shop's own style attributes are refused");
    await a.context.close();

    const b = await visitor();
    assert.equal(await visit(b.page, `${noWasm.url}/product/trail-runner`), "failed");
    await b.page.click("#add-to-cart");
    assert.match(await b.page.textContent("body"), /Trail Runner/);
    assert.deepEqual(b.errors, [], "nothing thrown into the page");
    await b.context.close();
  } finally {
    await strict.close();
    await noWasm.close();
    await edge.admin("/v1/admin/sites/demo/config", { method: "PUT", body: JSON.stringify({ ...demo, origins: [shop.origin] }) });
  }
});

test("an origin the site does not list: the shop works, nothing is collected, and debug mode says why", async () => {
  const { page, errors, console, context } = await visitor();
  const posts = [];
  page.on("response", (r) => { if (r.url().startsWith(`${edge.url}/v1/events`)) posts.push(r.status()); });
  assert.equal(await visit(page, `${stranger.url}/?nudge_debug=1`), "ready");
  await scrollTo(page, 30);
  await page.waitForTimeout(300);
  assert.deepEqual(await shownCampaigns(page), [], "no campaigns: the config was refused");
  assert.ok(console.some((m) => /not in this site's origins/.test(m)), console.join("\n"));
  assert.deepEqual(await storedEvents(page), []);
  assert.ok(posts.length > 0 && posts.every((s) => s === 403), `events refused: ${posts}`);
  assert.deepEqual(errors, []);
  await context.close();
});
