// The marketing rules of the demo shop, driven through a real headless
// Chromium with real input events: scrolling, the pointer leaving the window,
// the back button on a phone, and time passing.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launch, open, shownCampaigns, waitForCampaign, waitForFocusInCampaign, campaignDom, scrollTo } from "./harness.mjs";

let shop;
before(async () => { shop = await launch(); });
after(async () => { await shop.close(); });

async function addToCart(page, productId = "trail-runner") {
  await open(page, `${shop.server.url}/product/${productId}`);
  // Set-up, not the behaviour under test: a click without scrolling, so the
  // welcome popup (25% scroll) cannot get in the way on a small screen.
  await page.evaluate(() => document.querySelector("#add-to-cart").click());
}

async function history(page) {
  return page.evaluate(() => window.nudge.debug().profile.campaigns);
}

test("scrolling a quarter of the page shows the welcome popup, an accessible dialog", async () => {
  const { page, errors } = await shop.visitor();
  await open(page, shop.server.url + "/");
  await page.mouse.move(640, 400);
  await scrollTo(page, 10);
  await page.waitForTimeout(200);
  assert.deepEqual(await shownCampaigns(page), [], "not before 25%");
  await scrollTo(page, 30);
  await waitForCampaign(page, "welcome");
  const dom = await campaignDom(page, "welcome");
  assert.equal(dom.shadowMode, "closed");
  const dialog = dom.elements.find((e) => e.attrs.role === "dialog");
  assert.equal(dialog.attrs["aria-modal"], "true");
  assert.match(dom.text, /Hi there! Here is 10% off/);
  // Focus moves into the dialog (the email field); Esc closes it and hands focus back.
  await waitForFocusInCampaign(page);
  await page.keyboard.press("Escape");
  assert.deepEqual(await shownCampaigns(page), []);
  assert.notEqual(await page.evaluate(() => document.activeElement.localName), "nudge-campaign");
  const [welcome] = await history(page);
  assert.equal(welcome.id, "welcome");
  assert.ok(welcome.dismissed > 0, "dismissal recorded");
  assert.deepEqual(errors, []);
});

test("Tab stays inside the modal", async () => {
  const { page } = await shop.visitor();
  await open(page, shop.server.url + "/");
  await scrollTo(page, 30);
  await waitForCampaign(page, "welcome");
  await waitForFocusInCampaign(page);
  for (let i = 0; i < 12; i++) {
    await page.keyboard.press(i % 3 === 0 ? "Shift+Tab" : "Tab");
    assert.equal(await page.evaluate(() => document.activeElement.localName), "nudge-campaign", `after ${i + 1} presses`);
  }
});

test("the pointer leaving through the top of the cart shows the cart rescue, once per session", async () => {
  const { page } = await shop.visitor();
  await addToCart(page);
  await open(page, shop.server.url + "/cart");
  await page.mouse.move(640, 300);
  await page.mouse.move(640, 150, { steps: 5 });
  await page.mouse.move(640, -10, { steps: 5 });
  await page.waitForTimeout(300);
  assert.deepEqual(await shownCampaigns(page), [], "too soon after arriving (min 2 s on page)");
  await page.waitForTimeout(2000);
  await page.mouse.move(640, 300, { steps: 5 });
  await page.mouse.move(640, -10, { steps: 5 });
  await waitForCampaign(page, "cart-rescue");
  const dom = await campaignDom(page, "cart-rescue");
  assert.match(dom.text, /your cart is waiting/);
  assert.ok(dom.elements.some((e) => e.tag === "a" && e.attrs.href === "/checkout"));

  // The per-session cap holds across a reload.
  await page.reload();
  await page.waitForFunction(() => window.nudge.ready);
  await page.waitForTimeout(2100);
  await page.mouse.move(640, 300, { steps: 5 });
  await page.mouse.move(640, -10, { steps: 5 });
  await page.waitForTimeout(300);
  assert.deepEqual(await shownCampaigns(page), []);
  const rescue = (await history(page)).find((h) => h.id === "cart-rescue");
  assert.equal(rescue.total, 1);
});

test("an empty cart gets no rescue, and clicking the shop's own links is not exit intent", async () => {
  const { page } = await shop.visitor();
  await open(page, shop.server.url + "/cart");
  await page.waitForTimeout(2100);
  await page.mouse.move(640, 300, { steps: 5 });
  await page.mouse.move(640, -10, { steps: 5 });
  await page.waitForTimeout(300);
  assert.deepEqual(await shownCampaigns(page), [], "empty cart");

  await addToCart(page);
  await open(page, shop.server.url + "/cart");
  await page.waitForTimeout(2100);
  await page.click("#to-checkout");
  await page.waitForURL("**/checkout");
  await page.waitForFunction(() => window.nudge.ready);
  assert.equal((await history(page)).filter((h) => h.id === "cart-rescue").length, 0);
});

test("on a phone, the back button on the cart shows the cart rescue instead of leaving", async () => {
  const { page } = await shop.visitor({ viewport: { width: 390, height: 760 }, hasTouch: true, isMobile: true });
  await addToCart(page);
  await open(page, shop.server.url + "/cart");
  await page.waitForTimeout(2100);
  // A tap on plain text (not a link) is the user activation browsers require.
  const title = await page.locator("main h1").boundingBox();
  await page.touchscreen.tap(title.x + 10, title.y + title.height / 2);
  await page.waitForFunction(() => history.state && history.state.nudgeSentinel);
  await page.goBack({ waitUntil: "commit" }).catch(() => {});
  await waitForCampaign(page, "cart-rescue");
  assert.equal(new URL(page.url()).pathname, "/cart");
});

test("the welcome popup is capped across reloads and never offered after an order", async () => {
  const { page } = await shop.visitor();
  await open(page, shop.server.url + "/");
  await scrollTo(page, 30);
  await waitForCampaign(page, "welcome");
  await page.reload();
  await page.waitForFunction(() => window.nudge.ready);
  await scrollTo(page, 60);
  await page.waitForTimeout(300);
  assert.deepEqual(await shownCampaigns(page), [], "per-session cap");

  // A new visitor who buys first is never offered the first-purchase coupon.
  const { page: buyer, context } = await shop.visitor();
  await context.clock.install();
  await addToCart(buyer, "wool-socks");
  await open(buyer, shop.server.url + "/checkout");
  await buyer.fill("input[name=first_name]", "Ada");
  await buyer.fill("input[name=email]", "ada@example.com");
  await buyer.fill("input[name=address]", "1 Fjord Road");
  await buyer.click("button[type=submit]");
  await buyer.waitForURL("**/order-confirmation");
  await buyer.waitForFunction(() => window.nudge.ready);
  await waitForCampaign(buyer, "post-purchase-cross-sell");
  const crossSell = await campaignDom(buyer, "post-purchase-cross-sell");
  assert.match(crossSell.text, /Complete the look/);
  assert.equal(await buyer.evaluate(() => document.querySelector("#recommendations nudge-campaign") !== null), true, "inline, in the shop's slot");
  await open(buyer, shop.server.url + "/");
  assert.deepEqual(await shownCampaigns(buyer), [], "same visit: no welcome-back yet");
  // Back the next day: a new session.
  await buyer.clock.fastForward("24:00:00");
  await open(buyer, shop.server.url + "/");
  await waitForCampaign(buyer, "returning-customer");
  await scrollTo(buyer, 80);
  await buyer.waitForTimeout(300);
  assert.ok(!(await shownCampaigns(buyer)).includes("welcome"));
  assert.match((await campaignDom(buyer, "returning-customer")).text, /Welcome back, Ada!/);
});

test("first visit from Canada, three pages and over a minute on site shows the Canada banner", async () => {
  const run = async (country, pages) => {
    const { page, context } = await shop.visitor();
    await context.clock.install();
    const paths = ["/", "/category/shoes", "/product/trail-runner"].slice(0, pages);
    for (const path of paths) await open(page, `${shop.server.url}${path}?nudge_debug=1&nudge_country=${country}`);
    await page.clock.fastForward(62_000);
    await page.waitForTimeout(200);
    return shownCampaigns(page);
  };
  assert.deepEqual(await run("CA", 3), ["canada-first-visit"]);
  assert.deepEqual(await run("US", 3), []);
  assert.deepEqual(await run("CA", 2), []);
});

test("browse abandonment after the third look at a category with an empty cart", async () => {
  const { page } = await shop.visitor();
  for (let i = 1; i <= 3; i++) {
    await open(page, shop.server.url + "/category/outerwear");
    if (i < 3) assert.deepEqual(await shownCampaigns(page), []);
  }
  await waitForCampaign(page, "browse-abandonment");
  assert.match((await campaignDom(page, "browse-abandonment")).text, /best sellers in outerwear/);
});

test("A/B test: the arm is stable for a visitor and the control sees nothing", async () => {
  const arms = new Map();
  for (let i = 0; i < 6; i++) {
    const { page } = await shop.visitor();
    await addToCart(page, "beanie");
    // The impression counts when drawn: after the display module arrives,
    // if the add came before its idle fetch did (a control arm at once).
    await page.waitForFunction(() => window.nudge.debug().profile.campaigns.some((h) => h.id === "free-shipping-test"));
    const entry = (await history(page)).find((h) => h.id === "free-shipping-test");
    const shown = await shownCampaigns(page);
    assert.equal(shown.includes("free-shipping-test"), entry.variant !== "control");
    arms.set(entry.variant, (arms.get(entry.variant) || 0) + 1);
    // Same visitor, another add: same arm.
    await page.click("#add-to-cart");
    const again = (await history(page)).find((h) => h.id === "free-shipping-test");
    assert.equal(again.variant, entry.variant);
  }
  assert.ok([...arms.keys()].every((k) => ["control", "plain", "urgency"].includes(k)));
});

test("on a phone, coming back to a tab that was hidden is exit intent too", async () => {
  const { page } = await shop.visitor({ viewport: { width: 390, height: 760 }, hasTouch: true, isMobile: true });
  await addToCart(page);
  await open(page, shop.server.url + "/cart");
  await page.waitForTimeout(2100);
  // Headless Chromium has no other tab to switch to: flip visibility as the browser would.
  const setHidden = (hidden) => page.evaluate((h) => {
    Object.defineProperty(document, "hidden", { configurable: true, get: () => h });
    Object.defineProperty(document, "visibilityState", { configurable: true, get: () => (h ? "hidden" : "visible") });
    document.dispatchEvent(new Event("visibilitychange"));
  }, hidden);
  await setHidden(true);
  await page.waitForTimeout(2100);
  assert.deepEqual(await shownCampaigns(page), []);
  await setHidden(false);
  await waitForCampaign(page, "cart-rescue");
});
