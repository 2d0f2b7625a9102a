// The display module (render/: popups, banners, forms, coupons) is a second
// download that only pages where a campaign may show make: at idle when a
// campaign waits for its trigger, at once when one shows on arrival. A page
// with no eligible campaign never fetches it, and a module that cannot load
// shows nothing and breaks nothing.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { shopPool, open, shownCampaigns, waitForCampaign, campaignDom } from "./harness.mjs";

const { shopWith, closeAll } = shopPool();
after(closeAll);

const RENDER = "GET /nudge/nudge_render_bg.wasm";
const fetched = (shop) => shop.server.requests.filter((r) => r === RENDER).length;

async function waitUntil(condition, what, timeout = 5000) {
  for (let waited = 0; !(await condition()); waited += 25) {
    if (waited > timeout) assert.fail(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Campaign "hello", shown on every page view. */
const onArrival = (layout, title) => ({
  campaigns: [{ id: "hello", trigger: { page_view: true }, content: { layout, title } }],
});

/** An exit-intent rescue on /cart only, for anyone. */
const cartOnly = {
  campaigns: [{
    id: "cart-exit", trigger: { exit_intent: { min_seconds_on_page: 0 }, url: { equals: "/cart" } },
    content: { layout: "modal", title: "Before you go", body: "Your cart is saved." },
  }],
};

test("a page where no campaign may show never downloads the display module; one where a campaign waits fetches it before the trigger", async () => {
  const shop = await shopWith({ config: cartOnly });
  const { page, errors } = await shop.visitor();
  await open(page, `${shop.server.url}/`);
  await open(page, `${shop.server.url}/product/scarf`);
  await page.waitForTimeout(2500); // past the idle fetch's 2 s deadline
  assert.equal(fetched(shop), 0, shop.server.requests.join("\n"));
  assert.ok(shop.server.requests.includes("GET /nudge/nudge_agent_bg.wasm"));

  await open(page, `${shop.server.url}/cart`);
  await waitUntil(() => fetched(shop) === 1, "the idle fetch on /cart");
  // Past the exit-intent grace after arriving (a pointer that moves with
  // the new page is not leaving).
  await page.waitForTimeout(700);
  // The module is here before the pointer leaves: the dialog is in the
  // DOM when the event's dispatch returns, within the task that handled it.
  const drawnInTheSameTask = await page.evaluate(() => {
    document.dispatchEvent(new MouseEvent("mouseout", { clientY: -5, bubbles: true }));
    return document.querySelector('nudge-campaign[data-campaign="cart-exit"]') !== null;
  });
  assert.ok(drawnInTheSameTask);
  const dom = await campaignDom(page, "cart-exit");
  assert.match(dom.text, /Before you go/);
  assert.equal(fetched(shop), 1);
  assert.deepEqual(errors, []);
});

test("a campaign that shows on arrival fetches the module at once and counts its impression when drawn", async () => {
  const shop = await shopWith({ config: onArrival("top_banner", "Hello {{traits.first_name|there}}") });
  const { page, errors } = await shop.visitor();
  await open(page, `${shop.server.url}/`);
  await waitForCampaign(page, "hello");
  assert.match((await campaignDom(page, "hello")).text, /Hello there/);
  const [history] = await page.evaluate(() => window.nudge.debug().profile.campaigns);
  assert.equal(history.id, "hello");
  assert.equal(fetched(shop), 1);
  assert.deepEqual(errors, []);
});

test("when the display module cannot load, nothing shows, nothing throws, and the impression is not spent", async () => {
  const shop = await shopWith({ config: onArrival("modal", "Hello") });
  const { page, context, console: log, errors } = await shop.visitor();
  let refused = 0;
  await context.route("**/nudge/nudge_render_bg.wasm*", (route) => { refused++; return route.fulfill({ status: 404, body: "" }); });
  await open(page, `${shop.server.url}/?nudge_debug=1`);
  await waitUntil(() => refused > 0, "the module asked for");
  await page.waitForTimeout(300);
  assert.deepEqual(await shownCampaigns(page), []);
  assert.ok(log.some((l) => l.includes("campaign display unavailable")), log.join("\n"));
  assert.ok(log.some((l) => l.includes("campaign hello not shown: the display module did not load")), log.join("\n"));
  assert.deepEqual(await page.evaluate(() => window.nudge.debug().profile.campaigns), []);
  // The shop's own page works, and the next page tries again and shows it.
  await page.click("a[href='/category/shoes'], a[href^='/category/']");
  await context.unroute("**/nudge/nudge_render_bg.wasm*");
  await open(page, `${shop.server.url}/`);
  await waitForCampaign(page, "hello");
  assert.deepEqual(errors, []);
});

test("the module's own glue: a placement the page refuses is said in words, a closed campaign frees its handler, and one drawn again under its id works", async () => {
  const inline = (id, selector) => ({
    id, trigger: { page_view: true }, content: { layout: "inline", selector, title: `Inline ${id}` },
  });
  const shop = await shopWith({
    config: {
      campaigns: [
        inline("nowhere", "#no-such-slot"),
        inline("garbled", "[[not a selector"),
        { id: "hello", trigger: { page_view: true }, content: { layout: "modal", title: "Hello", body: "Welcome." },
          frequency: { per_session: 5, snooze_days_after_dismiss: 0 } },
      ],
    },
  });
  const { page, console: log, errors } = await shop.visitor();
  await open(page, `${shop.server.url}/?nudge_debug=1`);
  await waitForCampaign(page, "hello");
  await waitUntil(() => log.some((l) => l.includes("campaign garbled not shown")), "the refusals in debug mode");
  assert.ok(log.some((l) => l.includes('campaign nowhere not shown: no element matches "#no-such-slot"')), log.join("\n"));
  assert.ok(log.some((l) => l.includes('campaign garbled not shown: invalid selector "[[not a selector"')), log.join("\n"));
  assert.deepEqual(await shownCampaigns(page), ["hello"]);

  // The close button: the campaign leaves, and the dismissal is recorded.
  const dom = await campaignDom(page, "hello");
  await dom.click((n) => n.tag === "button" && n.attrs.class === "x");
  await waitUntil(async () => (await shownCampaigns(page)).length === 0, "the campaign closed");
  const dismissed = () => page.evaluate(() => window.nudge.debug().profile.campaigns.find((c) => c.id === "hello").dismissed);
  const first = await dismissed();
  assert.ok(first > 0, "the dismissal is recorded");

  // A single-page app's next page: drawn again, and its controls answer.
  await page.evaluate(() => history.pushState({}, "", "/category/shoes"));
  await waitForCampaign(page, "hello");
  await page.keyboard.press("Escape");
  await waitUntil(async () => (await shownCampaigns(page)).length === 0, "closed again, by Esc");
  await page.waitForTimeout(100); // past the handlers' frees
  assert.ok((await dismissed()) > first, "the second dismissal is recorded");
  assert.deepEqual(errors, []);
});
