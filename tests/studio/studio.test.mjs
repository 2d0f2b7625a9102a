// The studio in a real browser against the edge on local workerd, as
// marketers use it: sign in, create a campaign from a template, see core's
// errors at their fields while Publish waits, watch the preview follow the
// title, publish it to the shop, meet a colleague's newer save (409), roll
// back, and read a report; a viewer can do none of the writing.
//
// Pieces built elsewhere (the studio's agent build for validation and the
// preview page, the report endpoints) are probed when the test runs: a test
// that needs one that is missing is reported as skipped, with the reason.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launchChromium } from "../support/browser.mjs";
import { studioSignIn } from "../support/studio.mjs";
import { startEdge, siteKeys } from "../support/edge.mjs";

let edge, browser;
const keys = siteKeys("demo");
const has = {};
const TITLE = "Hello from the studio";

before(async () => {
  edge = await startEdge();
  browser = await launchChromium();
  const ok = async (path) => (await fetch(`${edge.url}${path}`)).status === 200;
  has.validator = await ok("/studio/agent/nudge_agent.js");
  has.preview = await ok("/studio/preview.html");
  const today = new Date().toISOString().slice(0, 10);
  const report = await edge.admin(`/v1/admin/sites/demo/campaigns/welcome/report?from=${today}&to=${today}&window=7`);
  has.report = report.status === 200;
});
after(async () => { await browser?.close(); await edge?.stop(); });

/** A fresh browser signed in to the studio with `key` (the role it opens). */
const studio = (key, name) => studioSignIn(browser, edge, key, name);

/**
 * Text of a page with its frames and shadow roots, closed ones too (read
 * through the DevTools protocol): all of it, or only what `nudge-campaign`
 * hosts draw (`campaigns: true`).
 */
async function textOf(page, { campaigns = false } = {}) {
  const cdp = await page.context().newCDPSession(page);
  const { root } = await cdp.send("DOM.getDocument", { depth: -1, pierce: true });
  await cdp.detach();
  const out = [];
  const walk = (node, inside, hidden) => {
    const here = inside || node.nodeName === "NUDGE-CAMPAIGN";
    if (node.nodeType === 3 && here && !hidden) out.push(node.nodeValue);
    const skip = hidden || node.localName === "style" || node.localName === "script";
    for (const child of [...(node.shadowRoots || []), ...(node.children || []), ...(node.contentDocument ? [node.contentDocument] : [])]) walk(child, here, skip);
  };
  walk(root, !campaigns, false);
  return out.join(" ").replace(/\s+/g, " ");
}

/** A new shopper on the shop's home page who scrolls past 40% (the welcome offers' trigger). */
async function shopperScrolls() {
  const shop = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  await shop.goto(`${edge.url}/`);
  await shop.waitForFunction(() => window.nudge && window.nudge.ready);
  for (let i = 0; i < 40; i++) {
    const seen = await shop.evaluate(() => (scrollY / Math.max(1, document.documentElement.scrollHeight - innerHeight)) * 100);
    if (seen >= 40) break;
    await shop.mouse.wheel(0, 200);
    await shop.waitForTimeout(30);
  }
  return shop;
}

async function until(check, what, timeout = 10_000) {
  const end = Date.now() + timeout;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

const liveIds = async () => (await (await fetch(`${edge.url}/v1/config?site=demo`)).json()).campaigns.map((c) => c.id);
const fieldAt = (page, path) => page.locator(`[data-path="${path}"]`);

test("the studio is served at /studio and /studio/; sign-in shows the role and the campaigns", async () => {
  for (const path of ["/studio", "/studio/"]) {
    const r = await fetch(`${edge.url}${path}`);
    assert.equal(r.status, 200, path);
    assert.match(await r.text(), /<title>Nudge studio<\/title>/, path);
  }
  const uplot = await fetch(`${edge.url}/studio/vendor/uPlot.iife.min.js`);
  assert.equal(uplot.status, 200, "uPlot is vendored with the studio");

  const { page, context, errors } = await studio(keys.editor, "Ed");
  assert.match(await page.locator("#who").innerText(), /demo · Ed · editor/i);
  const rows = await page.locator("table.campaigns tbody tr").count();
  assert.equal(rows, 9);
  await page.fill("input[type=search]", "vip");
  assert.equal(await page.locator("table.campaigns tbody tr").count(), 1);
  // A wrong key is refused with a message, and no session.
  const stranger = await (await browser.newContext()).newPage();
  await stranger.goto(`${edge.url}/studio/`);
  await stranger.fill("#sign-in-name", "Mallory");
  await stranger.fill("#sign-in-key", "not-a-key");
  await stranger.click("form.sign-in button[type=submit]");
  await stranger.waitForSelector("text=do not match");
  await stranger.context().close();
  assert.deepEqual(errors, []);
  await context.close();
});

test("a new campaign from the welcome template: core's error at the field blocks Publish, the preview follows the title, publishing reaches the shop", async (t) => {
  if (!has.validator) return t.skip("the studio's agent build (studio/agent/nudge_agent.js, validateConfig) is not in target/edge-site yet");
  const { page, context, errors } = await studio(keys.publisher, "Pat");
  await page.click("text=New campaign");
  await page.click("[data-template=welcome]");
  await page.waitForSelector("#sec-content");
  await fieldAt(page, "id").fill("studio-welcome");
  await fieldAt(page, "priority").fill("50");

  // An impossible scroll depth: core's message at the field, Publish disabled.
  const depth = fieldAt(page, "trigger.scroll_depth");
  await depth.fill("140");
  await until(async () => (await depth.getAttribute("aria-invalid")) === "true", "the scroll depth marked invalid");
  const messageId = (await depth.getAttribute("aria-describedby")).split(" ").find((id) => id.endsWith("-msg"));
  assert.match(await page.locator(`#${messageId}`).innerText(), /1\.\.=100/);
  assert.ok(await page.locator("[data-action=publish]").isDisabled(), "Publish waits for the fix");
  assert.match(await page.locator(".problem-summary").innerText(), /1 problem to fix/);
  await depth.fill("20");
  await until(async () => (await depth.getAttribute("aria-invalid")) === null, "the error cleared");
  assert.ok(!(await page.locator("[data-action=publish]").isDisabled()));

  if (has.preview) {
    await page.waitForSelector(".preview[data-preview-state=rendered]");
    await fieldAt(page, "content.title").fill(TITLE);
    await until(async () => (await textOf(page, { campaigns: true })).includes(TITLE), "the preview to show the typed title");
  } else {
    t.diagnostic("preview.html is not built yet: the preview part was not checked");
  }

  await page.click("[data-action=publish]");
  await page.fill("dialog input", "studio test launch");
  await page.click("[data-action=confirm-publish]");
  await page.waitForSelector("text=Published as version");
  assert.ok((await liveIds()).includes("studio-welcome"));

  // A shopper in another browser gets it.
  const shop = await shopperScrolls();
  await shop.waitForSelector('nudge-campaign[data-campaign="studio-welcome"]', { state: "attached", timeout: 5000 });
  if (has.preview) assert.ok((await textOf(shop, { campaigns: true })).includes(TITLE));
  await shop.evaluate(() => window.dispatchEvent(new Event("pagehide")));
  await shop.context().close();
  assert.deepEqual(errors, []);
  await context.close();
});

test("a second editor's stale save gets the 409 message, and their edit stays visible after loading the newer draft", async () => {
  const ann = await studio(keys.editor, "Ann");
  const bob = await studio(keys.editor, "Bob");
  for (const s of [ann, bob]) {
    await s.page.goto(`${edge.url}/studio/#/c/vip`);
    await s.page.waitForSelector("#sec-content");
  }
  await fieldAt(ann.page, "content.body").fill("VIP: Ann's words");
  await ann.page.click("[data-action=save]");
  await ann.page.waitForSelector("text=Draft saved.");
  await fieldAt(bob.page, "content.body").fill("VIP: Bob's words");
  await bob.page.click("[data-action=save]");
  await bob.page.waitForSelector(".conflict:not([hidden])");
  assert.match(await bob.page.locator(".conflict-message").innerText(), /Ann/, "the message names who saved");
  await bob.page.click("text=Load the saved draft");
  await bob.page.waitForSelector("pre.mine");
  assert.match(await bob.page.locator("pre.mine").innerText(), /Bob's words/, "Bob's edit is kept in view");
  assert.equal(await fieldAt(bob.page, "content.body").inputValue(), "VIP: Ann's words");
  // Ann throws her draft away again: the shop never saw it.
  await ann.page.click("[data-action=discard]");
  await ann.page.click("dialog button.danger");
  await ann.page.waitForSelector("text=Draft discarded.");
  await ann.context.close();
  await bob.context.close();
});

test("a shopper's exposure, sign-up and conversion through the shop appear in the report", async (t) => {
  if (!has.report) return t.skip("the report endpoint (GET …/campaigns/{id}/report) does not answer yet");
  // Every new shopper gets a welcome offer on scroll: an exposure to count.
  const shop = await shopperScrolls();
  await shop.waitForSelector("nudge-campaign", { state: "attached", timeout: 5000 });
  const shownId = await shop.locator("nudge-campaign").first().getAttribute("data-campaign");
  // The shopper signs up in the popup's form (focus is in its email field):
  // the campaign's goal, "Signed Up", converts them.
  await shop.waitForFunction(() => document.activeElement && document.activeElement.localName === "nudge-campaign");
  await shop.keyboard.type("shopper@example.com");
  await shop.keyboard.press("Enter");
  await shop.waitForTimeout(300);
  await shop.evaluate(() => window.dispatchEvent(new Event("pagehide")));
  const today = new Date().toISOString().slice(0, 10);
  let report;
  await until(async () => {
    const r = await edge.admin(`/v1/admin/sites/demo/campaigns/${shownId}/report?from=${today}&to=${today}&window=7`);
    report = await r.json();
    const arms = report.variants || [];
    return arms.some((v) => v.exposed_persons > 0) && arms.some((v) => v.submits > 0 && v.conversions > 0);
  }, "the exposure, the sign-up and the conversion to be counted", 20_000);
  assert.equal(report.goal, "Signed Up");
  await shop.context().close();

  const { page, context } = await studio(keys.viewer, "Vi");
  await page.goto(`${edge.url}/studio/#/c/${shownId}/report`);
  await page.waitForSelector(".kpis[data-report=ready]");
  const exposed = await page.locator("[data-kpi=exposed] .kpi-value").innerText();
  assert.ok(Number(exposed.replace(/\D/g, "")) >= 1, exposed);
  const conversion = await page.locator("[data-kpi=cr] .kpi-value").innerText();
  assert.ok(parseFloat(conversion) > 0, `conversion rate shown: ${conversion}`);
  assert.equal(await page.locator(".funnel li").count(), 4);
  assert.ok(await page.locator(".health li").count() >= 1);
  assert.match(await page.locator("a[download]").getAttribute("href"), /format=csv/);
  await context.close();
});

/** Controls without a label, and text under 4.5:1 contrast with its background, on the page as shown. */
function accessibilityProblems(page) {
  return page.evaluate(() => {
    const problems = [];
    for (const el of document.querySelectorAll("main input, main select, main textarea")) {
      if (el.type === "hidden" || el.closest("[hidden]")) continue;
      const named = el.labels?.length || el.getAttribute("aria-label") || el.getAttribute("aria-labelledby");
      if (!named) problems.push(`no label: ${el.outerHTML.slice(0, 80)}`);
    }
    const rgb = (text) => (text.match(/[\d.]+/g) || []).map(Number);
    const luminance = ([r, g, b]) => {
      const c = [r, g, b].map((v) => { const x = v / 255; return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4; });
      return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
    };
    const background = (el) => {
      for (let node = el; node; node = node.parentElement) {
        const [r, g, b, a = 1] = rgb(getComputedStyle(node).backgroundColor);
        if (a > 0.5) return [r, g, b];
      }
      return [255, 255, 255];
    };
    for (const el of document.querySelectorAll("body *")) {
      if (el.disabled || el.closest("[disabled], [hidden], svg, .preview-stage")) continue;
      const hasText = [...el.childNodes].some((n) => n.nodeType === 3 && n.nodeValue.trim());
      if (!hasText || !el.getClientRects().length) continue;
      const fg = luminance(rgb(getComputedStyle(el).color));
      const bg = luminance(background(el));
      const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
      if (ratio < 4.5) problems.push(`contrast ${ratio.toFixed(2)}: ${el.textContent.trim().slice(0, 40)}`);
    }
    return problems;
  });
}

test("every control has a label and text keeps 4.5:1 contrast: list, editor with all its sections, history, journey editor", async () => {
  const { page, context } = await studio(keys.publisher, "Pat");
  assert.deepEqual(await accessibilityProblems(page), [], "the campaign list");
  await page.goto(`${edge.url}/studio/#/c/free-shipping-test`);
  await page.waitForSelector("#sec-variants .arm");
  await page.click("#sec-audience >> text=Edit as JSON");
  assert.deepEqual(await accessibilityProblems(page), [], "the editor");
  // Keyboard: the first field is reachable with Tab and shows where focus is.
  await page.locator('[data-path="name"]').focus();
  assert.notEqual(await page.locator('[data-path="name"]').evaluate((el) => getComputedStyle(el).outlineStyle), "none");
  await page.goto(`${edge.url}/studio/#/history`);
  await page.waitForSelector(".versions li a");
  assert.deepEqual(await accessibilityProblems(page), [], "the history");
  // The journey editor with every kind of step card (branch, wait for, send, set).
  await page.goto(`${edge.url}/studio/#/journeys/new/post-purchase`);
  await page.waitForSelector("#sec-steps .step-branch");
  await page.locator('[data-path="steps#add-kind"]').selectOption("wait_for");
  await page.locator('[data-path="steps#add"]').click();
  await page.locator('[data-path="steps[4].wait_for.else#add-kind"]').selectOption("set");
  await page.locator('[data-path="steps[4].wait_for.else#add"]').click();
  await page.waitForSelector('[data-path="steps[4].wait_for.else[0].set.tag"]');
  assert.deepEqual(await accessibilityProblems(page), [], "the journey editor");
  await context.close();
});

test("a viewer sees no publish button, and a publish call with their session is refused (403)", async () => {
  const { page, context } = await studio(keys.viewer, "Vi");
  assert.match(await page.locator("#who").innerText(), /viewer/i);
  assert.equal(await page.locator("a.button.primary", { hasText: "New campaign" }).count(), 0);
  await page.goto(`${edge.url}/studio/#/c/vip`);
  await page.waitForSelector("#sec-content");
  assert.equal(await page.locator("[data-action=publish]").count(), 0);
  assert.equal(await page.locator("[data-action=save]").count(), 0);
  assert.ok(await fieldAt(page, "content.body").isDisabled());
  const refused = await page.evaluate(async () => {
    const r = await fetch("/v1/admin/sites/demo/campaigns/vip/publish", {
      method: "POST", headers: { "content-type": "application/json", "if-match": '"1"' }, body: JSON.stringify({ note: "" }),
    });
    return { status: r.status, body: await r.json() };
  });
  assert.equal(refused.status, 403);
  assert.equal(refused.body.error, "forbidden_role");
  await context.close();
});

test("roll back from the history restores the version before the last publish", async (t) => {
  if (!(await liveIds()).includes("studio-welcome")) return t.skip("needs the campaign the publish test makes (it needs the studio's agent build)");
  const { page, context } = await studio(keys.publisher, "Pat");
  await page.click("nav >> text=History");
  await page.waitForSelector(".versions li a");
  // The newest is the studio's publish; roll back to the one before it.
  const versions = await page.locator(".versions li a").evaluateAll((links) => links.map((a) => Number(a.dataset.version)));
  const target = versions[1];
  await page.click(`.versions a[data-version="${target}"]`);
  await page.waitForSelector(".diff, .version-detail .muted");
  await page.click("[data-action=rollback]");
  await page.click("dialog button.danger");
  await until(async () => !(await liveIds()).includes("studio-welcome"), "the shop's config to lose the campaign");
  await page.waitForSelector(`text=Version ${versions[0] + 1}`);
  await context.close();
});

test("journeys read in words with their numbers; a publisher turns one on (a new version), a viewer cannot", async () => {
  const { page, context, errors } = await studio(keys.publisher, "Pat");
  await page.click("nav >> text=Journeys");
  await page.waitForSelector("section.journey[data-journey=birthday]");
  const card = page.locator("section.journey[data-journey=birthday]");
  assert.match(await card.innerText(), /On the day of the person's birthday/);
  assert.match(await card.innerText(), /Wait until 09:00/);
  assert.match(await card.innerText(), /Send “?"?Happy Birthday"?”? to email/);
  assert.match(await card.locator(".badge").innerText(), /Off/);
  assert.deepEqual(await accessibilityProblems(page), [], "the journeys screen");
  await card.locator("button", { hasText: "Turn on" }).click();
  await page.waitForFunction(() => document.querySelector("section.journey[data-journey=birthday] .badge")?.textContent === "On");
  const config = await (await edge.admin("/v1/admin/sites/demo/versions?limit=1")).json();
  assert.match(config.versions[0].note, /journey birthday enabled/);
  const publicConfig = await (await fetch(`${edge.url}/v1/config?site=demo`)).text();
  assert.ok(!publicConfig.includes("journeys"), "browsers never get the journeys");
  assert.deepEqual(errors, []);
  await context.close();

  const viewer = await studio(keys.viewer, "Vi");
  await viewer.page.goto(`${edge.url}/studio/#/journeys`);
  await viewer.page.waitForSelector("section.journey[data-journey=birthday]");
  assert.equal(await viewer.page.locator("section.journey button:not([aria-disabled=true]):not([disabled])").count(), 0);
  await viewer.context.close();
});
