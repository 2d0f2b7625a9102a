// One person, several devices and channels, through real browsers on the
// Worker: a desktop customer, their phone arriving from a signed email link,
// and a coupon sent by email showing up on the site.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launchChromium } from "../support/browser.mjs";
import { shownCoupon } from "../e2e/harness.mjs";
import { startEdge } from "../support/edge.mjs";
import { userToken, clickToken, webhook } from "../support/tokens.mjs";

let edge, browser;
before(async () => {
  edge = await startEdge();
  browser = await launchChromium();
});
after(async () => { await browser?.close(); await edge?.stop(); });

async function visit(page, path) {
  await page.goto(`${edge.url}${path}`);
  await page.waitForFunction(() => window.nudge && window.nudge.ready);
}

async function scrollDown(page) {
  for (let i = 0; i < 30; i++) {
    const seen = await page.evaluate(() => (scrollY / Math.max(1, document.documentElement.scrollHeight - innerHeight)) * 100);
    if (seen >= 60) break;
    await page.mouse.wheel(0, 200);
    await page.waitForTimeout(30);
  }
  await page.waitForTimeout(300);
}

const shown = (page) => page.$$eval("nudge-campaign", (hosts) => hosts.map((h) => h.getAttribute("data-campaign")));

async function buyOnDesktop(userId) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await visit(page, "/product/wool-coat");
  await page.evaluate(() => document.querySelector("#add-to-cart").click());
  await visit(page, "/checkout");
  await page.fill("input[name=first_name]", "Ada");
  await page.fill("input[name=email]", "ada@example.com");
  await page.fill("input[name=address]", "1 Fjord Road");
  // What the shop's backend renders for a logged-in customer: a signed user token.
  await page.evaluate(([id, token]) => window.nudge.identify(id, {}, { token }), [userId, userToken(userId)]);
  await page.click("button[type=submit]");
  await page.waitForURL("**/order-confirmation");
  await page.waitForFunction(() => window.nudge && window.nudge.ready);
  await page.evaluate(() => window.dispatchEvent(new Event("pagehide")));
  const anonymousId = await page.evaluate(() => window.nudge.debug().profile.aid);
  for (let i = 0; i < 50; i++) {
    const facts = await (await edge.admin(`/v1/admin/sites/demo/events?limit=200`)).json();
    const stored = facts.events.map((e) => JSON.parse(e.body));
    const mine = stored.filter((e) => e.anonymousId === anonymousId);
    if (mine.some((e) => e.event === "Order Completed") && mine.some((e) => e.userId === userId)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { context, page, anonymousId };
}

test("the phone that arrives through a signed email link is never offered the first-purchase coupon", async () => {
  const desktop = await buyOnDesktop("user-ada");
  const phoneOptions = { viewport: { width: 390, height: 760 }, hasTouch: true, isMobile: true };

  // A stranger's phone gets the welcome offer: the test can tell.
  const stranger = await (await browser.newContext(phoneOptions)).newPage();
  await visit(stranger, "/");
  await scrollDown(stranger);
  assert.ok((await shown(stranger)).includes("welcome"));

  const phone = await (await browser.newContext(phoneOptions)).newPage();
  await phone.goto(`${edge.url}/?nudge_t=${clickToken({ u: "user-ada" })}&utm_source=email`);
  await phone.waitForFunction(() => window.nudge && window.nudge.ready && window.nudge.debug().profile.orders === 1, null, { timeout: 10_000 });
  assert.ok(!phone.url().includes("nudge_t"), "the token left the address bar");
  await phone.waitForTimeout(200);
  assert.equal(await phone.evaluate(() => window.nudge.debug().profile.pv), 1, "taking the token is not a second page view");
  assert.ok(phone.url().includes("utm_source=email"));
  await scrollDown(phone);
  assert.ok(!(await shown(phone)).includes("welcome"));
  await desktop.context.close();
});

test("a coupon issued by an email webhook shows the coupon-reminder banner on the next page", async () => {
  const desktop = await buyOnDesktop("user-bea");
  const r = await webhook(`${edge.url}/v1/hooks/klaviyo?site=demo`, {
    type: "coupon.issued", user_id: "user-bea", data: { code: "COMEBACK20", expires_at: "2099-01-01T00:00:00Z" },
  });
  assert.equal(r.status, 200);
  await visit(desktop.page, "/category/shoes");
  await desktop.page.waitForSelector('nudge-campaign[data-campaign="coupon-reminder"]', { state: "attached", timeout: 10_000 });
  const profile = await desktop.page.evaluate(() => window.nudge.debug().profile);
  assert.deepEqual(profile.coupons.map((c) => c.code), ["COMEBACK20"]);
  await desktop.context.close();
});

test("an email typed into the welcome popup links nobody", async () => {
  const victim = await buyOnDesktop("user-cy");
  const context = await browser.newContext();
  const page = await context.newPage();
  await visit(page, "/");
  await scrollDown(page);
  await page.waitForSelector('nudge-campaign[data-campaign="welcome"]', { state: "attached" });
  await page.waitForFunction(() => document.activeElement && document.activeElement.localName === "nudge-campaign");
  await page.keyboard.type("ada@example.com");
  await page.keyboard.press("Enter");
  // The welcome coupon is a form's: the config every browser reads holds it
  // back, and the edge gives it in the answer to the sign-up.
  const served = await (await fetch(`${edge.url}/v1/config?site=demo`)).text();
  assert.ok(!served.includes("WELCOME10") && served.includes('"coupon_sealed":true'));
  assert.equal(await shownCoupon(page, "welcome", "WELCOME10"), "WELCOME10", "revealed from the edge's answer");
  await page.evaluate(() => window.dispatchEvent(new Event("pagehide")));
  // The edge's view of this browser must have arrived before the assertions
  // mean anything: the profile fetch (sent with the browser key the first
  // accepted events brought) is awaited and read, not waited out.
  const fetched = page.waitForResponse((r) => r.url().includes("/v1/profile?") && r.request().method() === "GET", { timeout: 15_000 });
  await visit(page, "/cart");
  const response = await fetched;
  assert.equal(response.status(), 200);
  assert.ok(response.request().headers()["x-nudge-browser-key"], "sent with the browser key");
  const facts = await response.json();
  assert.equal(facts.orders ?? 0, 0, "the edge linked this browser to nobody");
  assert.equal(facts.user_id ?? null, null);
  assert.deepEqual(facts.coupons ?? [], []);
  // And the merged local profile (a macrotask after the answer was read).
  await page.evaluate(() => new Promise((r) => setTimeout(r, 50)));
  const profile = await page.evaluate(() => window.nudge.debug().profile);
  assert.equal(profile.aid, new URL(response.url()).searchParams.get("anonymousId"));
  assert.equal(profile.orders, 0);
  assert.deepEqual(profile.coupons, []);
  await context.close();
  await victim.context.close();
});
