// The whole demo on the Worker: the shop and the agent served by the edge,
// and the agent's events collected by it.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launchChromium } from "../support/browser.mjs";
import { startEdge } from "../support/edge.mjs";

let edge, browser;
before(async () => {
  edge = await startEdge();
  browser = await launchChromium();
});
after(async () => { await browser?.close(); await edge?.stop(); });

test("a visit's events reach the edge's event log, once each", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(`${edge.url}/product/rain-shell`);
  await page.waitForFunction(() => window.nudge && window.nudge.ready);
  await page.click("#add-to-cart");
  await page.goto(`${edge.url}/cart`);
  await page.waitForFunction(() => window.nudge && window.nudge.ready);
  const anonymousId = await page.evaluate(() => window.nudge.debug().profile.aid);
  await page.evaluate(() => window.dispatchEvent(new Event("pagehide")));
  let mine = [];
  for (let i = 0; i < 60; i++) {
    const log = await (await edge.admin("/v1/admin/sites/demo/events")).json();
    mine = log.events.map((e) => JSON.parse(e.body)).filter((e) => e.anonymousId === anonymousId);
    if (mine.some((e) => e.event === "Cart Viewed")) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const names = mine.map((e) => e.event || e.type);
  for (const expected of ["page", "Product Viewed", "Product Added", "Cart Viewed"]) assert.ok(names.includes(expected), names.join());
  assert.equal(new Set(mine.map((e) => e.messageId)).size, mine.length, "stored once each");
  assert.deepEqual(errors, []);
  await context.close();
});
