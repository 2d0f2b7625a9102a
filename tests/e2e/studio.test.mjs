// The studio's live preview page (/studio/preview.html): the agent's own
// renderer (the studio build) in an iframe, driven by its same-origin parent
// with postMessage, answering with core's diagnostics.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { launch, campaignDom, sleep } from "./harness.mjs";

const shops = [];
after(async () => { for (const shop of shops) await shop.close(); });

async function demoConfig() {
  return JSON.parse(await readFile(new URL("../../demo-shop/campaigns.json", import.meta.url), "utf8"));
}

/** Opens a blank page on `origin` holding the studio's preview page in an iframe. */
async function studioFrame(page, origin, frameUrl) {
  await page.goto(`${origin}/blank`);
  await page.evaluate((src) => new Promise((resolve) => {
    window.__results = [];
    window.addEventListener("message", (e) => window.__results.push(e.data));
    const frame = document.createElement("iframe");
    frame.src = src;
    frame.style.width = "390px";
    frame.style.height = "700px";
    frame.onload = resolve;
    document.body.append(frame);
  }), frameUrl);
}

test("the studio's preview page draws a campaign for its same-origin parent and answers with the diagnostics", async () => {
  const shop = await launch();
  shops.push(shop);
  const { page, errors } = await shop.visitor();
  const config = JSON.stringify(await demoConfig());
  await studioFrame(page, shop.server.url, `${shop.server.url}/studio/preview.html`);
  await page.waitForFunction(() => window.__results.some((m) => m.type === "nudge-preview-ready"));
  const post = (message) => page.evaluate((m) => document.querySelector("iframe").contentWindow.postMessage(m, location.origin), message);
  const result = (n) => page.waitForFunction((n) => window.__results.filter((m) => m.type === "nudge-preview-result")[n], n, { timeout: 5000 }).then((h) => h.jsonValue());

  await post({ type: "nudge-preview", config, campaign: "welcome", step: "success", coupon: "STUDIO10", traits: { first_name: "Ada" } });
  assert.deepEqual((await result(0)).diagnostics, []);
  const frame = page.frames().find((f) => f.url().endsWith("/studio/preview.html"));
  await frame.waitForSelector("nudge-campaign[data-campaign=welcome]", { state: "attached" });
  const dom = await campaignDom(page, "welcome");
  assert.match(dom.text, /Hi Ada! Here is 10% off/);
  assert.equal(dom.elements.find((e) => e.tag === "input" && e.attrs["aria-label"] === "Coupon code").attrs.value, "STUDIO10");
  assert.ok("hidden" in dom.elements.find((e) => e.tag === "form").attrs, "the success step");

  await post({ type: "nudge-preview", config: "{ broken", campaign: "welcome", step: "offer" });
  const broken = (await result(1)).diagnostics;
  assert.equal(broken.length, 1);
  assert.equal(broken[0].severity, "error");
  assert.match(broken[0].message, /not valid JSON/);
  assert.equal(await frame.$$eval("nudge-campaign", (n) => n.length), 0, "the last preview was removed");
  assert.deepEqual(errors, []);
});

test("the studio's preview page ignores messages from another origin", async () => {
  const shop = await launch();
  shops.push(shop);
  const { page } = await shop.visitor();
  // The same server under another name is another origin.
  const other = shop.server.url.replace("127.0.0.1", "localhost");
  await studioFrame(page, other, `${shop.server.url}/studio/preview.html`);
  await page.evaluate((config) => document.querySelector("iframe").contentWindow.postMessage(
    { type: "nudge-preview", config, campaign: "vip", step: "offer" }, "*"), JSON.stringify(await demoConfig()));
  await sleep(1000);
  const frame = page.frames().find((f) => f.url().endsWith("/studio/preview.html"));
  assert.equal(await frame.$$eval("nudge-campaign", (n) => n.length), 0);
  assert.deepEqual(await page.evaluate(() => window.__results), [], "no answer, not even ready (cross-origin)");
});
