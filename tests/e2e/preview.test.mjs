// Preview on the real shop (?nudge_preview=<token>): the previewed campaign
// in its forced variant for anyone, nothing of the visit sent or kept, the
// badge's exit, refused and expired links.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { launch, open, shownCampaigns, waitForCampaign, campaignDom, previewBadgeDom, scrollTo, sleep } from "./harness.mjs";

const shops = [];
after(async () => { for (const shop of shops) await shop.close(); });

async function demoConfig() {
  return JSON.parse(await readFile(new URL("../../demo-shop/campaigns.json", import.meta.url), "utf8"));
}

/** The demo's campaigns plus a paused, capped A/B popup for big spenders only. */
async function previewConfig() {
  const config = await demoConfig();
  config.campaigns.push({
    id: "spring-sale",
    name: "Spring sale",
    status: "paused",
    trigger: { page_view: true },
    audience: { "orders.count": { $gte: 10 } },
    content: { layout: "modal", title: "Spring sale", body: "20% off everything.", cta: { label: "Shop the sale", url: "/category/shoes" } },
    variants: [
      { key: "calm", weight: 0.5 },
      { key: "urgency", weight: 0.5, content: { title: "Last day of the spring sale!" } },
    ],
    frequency: { per_session: 1, max_impressions: 1 },
  });
  return config;
}

const inAnHour = () => new Date(Date.now() + 3600_000).toISOString();

/** The edge's requests that could count in a report or link an identity. */
const sent = (shop) => shop.server.requests.filter((r) => /^(POST|GET) \/v1\/(events|identify|profile)$/.test(r));

test("a preview link shows the campaign's forced variant to anyone, sends and keeps nothing, and its badge ends it", async () => {
  const config = await previewConfig();
  const shop = await launch({
    config,
    previews: { "tok-good": { config, campaign_id: "spring-sale", variant: "urgency", ignore_targeting: true, expires_at: inAnHour() } },
  });
  shops.push(shop);
  const { page, errors } = await shop.visitor();
  // The shop's own analytics hook: a preview must not count there either.
  await page.addInitScript(() => {
    window.__shown = [];
    window.addEventListener("nudge:show", (e) => window.__shown.push(e.detail.campaign_id));
  });
  await open(page, `${shop.server.url}/product/scarf?color=red&nudge_preview=tok-good`);
  assert.ok(shop.server.requests.includes("GET /v1/preview"));
  // A preview's tab runs the studio's build: the shops' has no preview code.
  assert.ok(shop.server.requests.includes("GET /studio/agent/nudge_agent_bg.wasm"));
  assert.ok(!shop.server.requests.includes("GET /nudge/nudge_agent_bg.wasm"));
  assert.equal(new URL(page.url()).search, "?color=red", "the token left the address bar; the rest stayed");

  // Paused, for 10+ orders only, capped: shown anyway, in the forced arm.
  await waitForCampaign(page, "spring-sale");
  let dom = await campaignDom(page, "spring-sale");
  assert.match(dom.text, /Last day of the spring sale!/);
  const badge = await previewBadgeDom(page);
  assert.equal(badge.text, "Nudge preview: Spring sale — exit");

  // A visit's worth of activity: dismiss, add to cart, another page (the
  // preview lasts for the tab; the per-session and lifetime caps are lifted).
  await page.keyboard.press("Escape");
  await page.click("#add-to-cart");
  await open(page, `${shop.server.url}/cart`);
  await waitForCampaign(page, "spring-sale");
  assert.ok(await previewBadgeDom(page));
  await page.evaluate(() => window.dispatchEvent(new Event("pagehide")));
  await sleep(3500); // past the agent's flush interval
  assert.deepEqual(sent(shop), [], "no events, identity or profile requests from a preview's tab");
  assert.deepEqual(shop.server.received, []);
  const stored = await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith("nudge:")));
  assert.deepEqual(stored, [], "no profile, outbox or key written");
  assert.deepEqual(await page.evaluate(() => window.__shown), [], "no nudge.on / nudge:show for the shop");

  // Exit: the preview is forgotten, the page reloads as a visitor's.
  await page.keyboard.press("Escape");
  await (await previewBadgeDom(page)).click((n) => n.tag === "a" && n.text === "exit");
  await page.waitForFunction(() => window.nudge && window.nudge.ready && !sessionStorage.getItem("nudge_preview"), null, { timeout: 10000 });
  await page.waitForTimeout(300);
  assert.equal(await previewBadgeDom(page), null);
  assert.ok(shop.server.requests.includes("GET /nudge/nudge_agent_bg.wasm"), "the shops' build again");
  assert.ok(!(await shownCampaigns(page)).includes("spring-sale"), "paused and not for this visitor");
  await page.evaluate(() => window.dispatchEvent(new Event("pagehide")));
  for (let i = 0; i < 50 && sent(shop).length === 0; i++) await sleep(100);
  assert.ok(sent(shop).includes("POST /v1/events"), "a normal visit again: events are sent");
  assert.deepEqual(errors, []);
});

test("an invalid or expired preview link leaves the shop working as for any visitor", async () => {
  const config = await demoConfig();
  const expired = { config, campaign_id: "vip", variant: null, ignore_targeting: true, expires_at: "2020-01-01T00:00:00Z" };
  const shop = await launch({ previews: { "tok-old": expired } });
  shops.push(shop);
  for (const [token, reason] of [
    ["not-a-token", "preview not shown: this preview link is invalid or has expired (invalid_token)"],
    ["tok-old", "preview not shown: the preview has expired"],
  ]) {
    const { page, console: log, errors } = await shop.visitor();
    await open(page, `${shop.server.url}/?nudge_preview=${token}`);
    assert.ok(log.some((l) => l.includes(reason)), log.join("\n"));
    assert.equal(new URL(page.url()).search, "");
    assert.equal(await page.evaluate(() => sessionStorage.getItem("nudge_preview")), null);
    assert.equal(await previewBadgeDom(page), null);
    // The live campaigns run: the welcome popup at 25% scroll ...
    await scrollTo(page, 30);
    await waitForCampaign(page, "welcome");
    await page.keyboard.press("Escape");
    // ... the shop works, and events flow.
    await page.goto(`${shop.server.url}/product/scarf`);
    await page.click("#add-to-cart");
    assert.equal(await page.textContent("#cart-count"), "1");
    await page.evaluate(() => window.dispatchEvent(new Event("pagehide")));
    for (let i = 0; i < 50 && !shop.server.received.some((e) => e.event === "Product Added"); i++) await sleep(100);
    assert.ok(shop.server.received.some((e) => e.event === "Product Added"));
    assert.deepEqual(errors, []);
    shop.server.received.length = 0;
  }
});
