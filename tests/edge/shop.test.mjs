// The whole demo on the Worker: the shop and the agent served by the edge,
// and the agent's events collected by it.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launchChromium } from "../support/browser.mjs";
import { startEdge, storedEvents as stored } from "../support/edge.mjs";
import { open, waitForCampaign, campaignDom, previewBadgeDom, shownCampaigns } from "../e2e/harness.mjs";

let edge, browser;
before(async () => {
  edge = await startEdge();
  browser = await launchChromium();
});
after(async () => { await browser?.close(); await edge?.stop(); });

const storedEvents = (page, last) => stored(edge, page, last);

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
  const mine = await storedEvents(page, "Cart Viewed");
  const names = mine.map((e) => e.event || e.type);
  for (const expected of ["page", "Product Viewed", "Product Added", "Cart Viewed"]) assert.ok(names.includes(expected), names.join());
  assert.equal(new Set(mine.map((e) => e.messageId)).size, mine.length, "stored once each");
  assert.deepEqual(errors, []);
  await context.close();
});

test("a shop that emits only GA4 events (gtag): the edge stores them as Nudge's events", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  const ready = () => page.waitForFunction(() => window.nudge && window.nudge.ready);
  await page.goto(`${edge.url}/product/rain-shell?analytics=gtag`);
  await ready();
  await page.click("#add-to-cart");
  await page.goto(`${edge.url}/checkout`);
  await ready();
  await page.fill("input[name=first_name]", "Ada");
  await page.fill("input[name=email]", "ada@example.com");
  await page.fill("input[name=address]", "1 Road");
  await page.click("button[type=submit]");
  await page.waitForURL("**/order-confirmation");
  await ready();
  const mine = await storedEvents(page, "Order Completed");
  const names = mine.map((e) => e.event || e.type);
  for (const expected of ["Product Viewed", "Product Added", "Checkout Started", "Order Completed"]) {
    assert.ok(names.includes(expected), names.join());
  }
  const added = mine.find((e) => e.event === "Product Added").properties;
  assert.deepEqual([added.product_id, added.price, added.quantity, added.category], ["rain-shell", 179, 1, "outerwear"]);
  const order = mine.find((e) => e.event === "Order Completed").properties;
  assert.match(order.order_id, /^FF-/);
  assert.deepEqual([order.revenue, order.total, order.currency], [179, 179, "USD"]);
  assert.equal(names.filter((n) => n === "Order Completed").length, 1);
  assert.deepEqual(errors, []);
  await context.close();
});

test("a studio preview link shows a draft on the real shop, in that tab only, and nothing it does is collected", async () => {
  const base = "/v1/admin/sites/demo";
  const draft = {
    id: "preview-on-shop", name: "Preview on the shop", trigger: { page_view: true },
    audience: { "orders.count": { $gte: 100 } }, // nobody: the link ignores targeting
    content: { layout: "top_banner", body: "Draft banner" },
    variants: [{ key: "a", weight: 0.5 }, { key: "b", weight: 0.5, content: { body: "Draft banner, variant B" } }],
  };
  const saved = await edge.admin(`${base}/campaigns/preview-on-shop/draft`, {
    method: "PUT", headers: { "if-none-match": "*" }, body: JSON.stringify(draft),
  });
  assert.equal(saved.status, 200);
  const link = await edge.admin(`${base}/campaigns/preview-on-shop/preview-link`, {
    method: "POST", body: JSON.stringify({ source: "draft", variant: "b", ignore_targeting: true, path: "/category/shoes" }),
  });
  const { url } = await link.json();
  const token = new URL(url).searchParams.get("nudge_preview");
  const before = (await (await edge.admin(`${base}/events?limit=200`)).json()).total;

  const context = await browser.newContext();
  const page = await context.newPage();
  await open(page, `${edge.url}/category/shoes?nudge_preview=${encodeURIComponent(token)}`);
  await waitForCampaign(page, "preview-on-shop", 10000);
  assert.match((await campaignDom(page, "preview-on-shop")).text, /Draft banner, variant B/);
  assert.match((await previewBadgeDom(page)).text, /Nudge preview: Preview on the shop/);
  await page.evaluate(() => window.dispatchEvent(new Event("pagehide")));
  await new Promise((r) => setTimeout(r, 3500));
  const after = (await (await edge.admin(`${base}/events?limit=200`)).json()).total;
  assert.equal(after, before, "the preview tab sent no events");
  // Another browser sees the live shop: the draft is not there.
  const other = await (await browser.newContext()).newPage();
  await open(other, `${edge.url}/category/shoes`);
  await new Promise((r) => setTimeout(r, 500));
  assert.ok(!(await shownCampaigns(other)).includes("preview-on-shop"));
  await context.close();
});
