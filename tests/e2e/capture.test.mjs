// Lead capture and the event pipeline: the popup's form, identify + "Signed
// Up", the coupon, and batches reaching the collect endpoint with retries.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { launch, open, waitForCampaign, waitForFocusInCampaign, campaignDom, scrollTo, sleep } from "./harness.mjs";

const shops = [];
after(async () => { for (const shop of shops) await shop.close(); });

test("the email form validates inline, then identifies, tracks Signed Up and reveals the coupon", async () => {
  const shop = await launch();
  shops.push(shop);
  const { page } = await shop.visitor();
  await open(page, `${shop.server.url}/`);
  await scrollTo(page, 30);
  await waitForCampaign(page, "welcome");
  // Focus starts in the email field.
  await waitForFocusInCampaign(page);
  await page.keyboard.type("not-an-email");
  await page.keyboard.press("Enter");
  let dom = await campaignDom(page, "welcome");
  assert.match(dom.text, /missing an @/);
  assert.equal(dom.elements.find((e) => e.tag === "input" && e.attrs.type === "email").attrs["aria-invalid"], "true");
  await page.keyboard.press("Control+A");
  await page.keyboard.type("Ada@Example.com");
  await page.keyboard.press("Enter");
  dom = await campaignDom(page, "welcome");
  assert.match(dom.text, /Your code is ready/);
  const coupon = dom.elements.find((e) => e.tag === "input" && e.attrs["aria-label"] === "Coupon code");
  assert.equal(coupon.attrs.value, "WELCOME10");
  const form = dom.elements.find((e) => e.tag === "form");
  assert.ok("hidden" in form.attrs);
  // The copy button puts the code on the clipboard and says so.
  await page.context().grantPermissions(["clipboard-read", "clipboard-write"]);
  await dom.click((n) => n.tag === "button" && n.text === "Copy");
  await page.waitForTimeout(200);
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), "WELCOME10");
  assert.match((await campaignDom(page, "welcome")).text, /Copied!/);
  const history = await page.evaluate(() => window.nudge.debug().profile);
  assert.ok(history.tags.includes("subscriber"));
  assert.ok(history.campaigns.find((c) => c.id === "welcome").converted > 0, "goal Signed Up converts the campaign");

  // The collect endpoint receives identify (the claim) and Signed Up.
  await page.evaluate(() => window.dispatchEvent(new Event("pagehide")));
  for (let i = 0; i < 50 && !shop.server.received.some((e) => e.event === "Signed Up"); i++) await sleep(100);
  const identify = shop.server.received.find((e) => e.type === "identify" && e.traits.email);
  assert.equal(identify.traits.email, "Ada@example.com");
  assert.equal(identify.userId, undefined, "an email typed into a popup is a claim, not a user id");
  assert.ok(shop.server.received.some((e) => e.event === "Signed Up" && e.properties.campaign_id === "welcome"));
});

test("every event reaches the collect endpoint, through failures and page loads", async () => {
  let calls = 0;
  // The endpoint fails the first three requests.
  const shop = await launch({ collectStatus: () => (++calls <= 3 ? 503 : 202) });
  shops.push(shop);
  const { page } = await shop.visitor();
  await open(page, `${shop.server.url}/category/shoes`);
  await open(page, `${shop.server.url}/product/trail-runner`);
  await page.click("#add-to-cart");
  await open(page, `${shop.server.url}/cart`);
  const sentIds = await page.evaluate(() => window.nudge.debug().queued_events);
  assert.ok(sentIds > 0);
  for (let i = 0; i < 150; i++) {
    const queued = await page.evaluate(() => window.nudge.debug().queued_events);
    if (queued === 0 && calls > 3) break;
    await sleep(100);
  }
  assert.equal(await page.evaluate(() => window.nudge.debug().queued_events), 0, "outbox drained");
  const ids = shop.server.received.map((e) => e.messageId);
  const unique = new Set(ids);
  const names = shop.server.received.map((e) => e.event || e.type);
  for (const expected of ["page", "Product List Viewed", "Product Viewed", "Product Added", "Cart Viewed"]) {
    assert.ok(names.includes(expected), `${expected} arrived: ${names}`);
  }
  const pages = shop.server.received.filter((e) => e.type === "page");
  assert.equal(pages.length, 3, "one page event per page view: none lost, repeats dropped by id");
  assert.equal(ids.length, unique.size);
  const added = shop.server.received.find((e) => e.event === "Product Added");
  assert.equal(added.properties.product_id, "trail-runner");
  assert.equal(added.context.page.path, "/product/trail-runner");
  assert.match(added.timestamp, /^\d{4}-\d\d-\d\dT/);
});

test("consent denied: nothing leaves the browser, decisions still work", async () => {
  const shop = await launch();
  shops.push(shop);
  const { page } = await shop.visitor();
  await page.addInitScript(() => { window.nudge = window.nudge || []; window.nudge.push(["consent", "denied"]); });
  await open(page, `${shop.server.url}/`);
  await page.evaluate(() => window.nudge.track("Private Thing", {}));
  await scrollTo(page, 30);
  await waitForCampaign(page, "welcome");
  await page.evaluate(() => window.dispatchEvent(new Event("pagehide")));
  await sleep(1000);
  assert.deepEqual(shop.server.received, []);
});

test("single-page navigation with pushState counts as a page view", async () => {
  const shop = await launch();
  shops.push(shop);
  const { page } = await shop.visitor();
  await open(page, `${shop.server.url}/`);
  await page.evaluate(() => history.pushState({}, "", "/category/shoes"));
  await page.evaluate(() => history.pushState({}, "", "/category/outerwear"));
  await page.goBack();
  await page.waitForTimeout(100);
  const profile = await page.evaluate(() => window.nudge.debug().profile);
  assert.equal(profile.pv, 4);
});

test("elements marked data-nudge-track are tracked on click, with their props", async () => {
  const shop = await launch();
  shops.push(shop);
  const { page } = await shop.visitor();
  await open(page, `${shop.server.url}/`);
  await page.evaluate(() => {
    const b = document.createElement("button");
    b.id = "size-guide";
    b.setAttribute("data-nudge-track", "Size Guide Opened");
    b.setAttribute("data-nudge-props", '{"size":"M"}');
    b.innerHTML = "<span>Size guide</span>";
    document.querySelector("main").prepend(b);
  });
  await page.click("#size-guide span");
  await page.evaluate(() => window.dispatchEvent(new Event("pagehide")));
  for (let i = 0; i < 50 && !shop.server.received.some((e) => e.event === "Size Guide Opened"); i++) await sleep(100);
  const hit = shop.server.received.find((e) => e.event === "Size Guide Opened");
  assert.deepEqual(hit.properties, { size: "M" });
});

test("the profile is shared by tabs: a cart change in one tab is seen by the other", async () => {
  const shop = await launch();
  shops.push(shop);
  const { page: first, context } = await shop.visitor();
  await open(first, `${shop.server.url}/`);
  const second = await context.newPage();
  await open(second, `${shop.server.url}/category/shoes`);
  await open(first, `${shop.server.url}/product/day-pack`);
  await first.click("#add-to-cart");
  await second.waitForFunction(() => window.nudge.debug().profile.cart[0] === 1, null, { timeout: 5000 });
  const [a, b] = await Promise.all([first, second].map((p) => p.evaluate(() => window.nudge.debug().profile)));
  assert.equal(a.aid, b.aid, "one visitor");
  assert.equal(b.pv, a.pv);
});
