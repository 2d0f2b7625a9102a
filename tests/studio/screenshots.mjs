// Screenshots of the studio for docs/screenshots/ (1280×800): the campaign
// list, the editor with its live preview, a report after some visits, and
// the journeys (cart abandonment on, so the visits enter it) and the journey
// editor's step cards.
// Run after `cargo xtask build-edge`: node tests/studio/screenshots.mjs
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { launchChromium } from "../support/browser.mjs";
import { startEdge, siteKeys } from "../support/edge.mjs";

const out = fileURLToPath(new URL("../../docs/screenshots/", import.meta.url));
mkdirSync(out, { recursive: true });
const edge = await startEdge();
const browser = await launchChromium();
try {
  // Cart abandonment on (the demo ships it off), so the shoppers enter it.
  const { readFile } = await import("node:fs/promises");
  const demo = JSON.parse(await readFile(new URL("../../demo-shop/campaigns.json", import.meta.url), "utf8"));
  for (const journey of demo.journeys) if (journey.id === "cart-abandonment") journey.enabled = true;
  await edge.admin("/v1/admin/sites/demo/config", { method: "PUT", body: JSON.stringify(demo) });
  // Shoppers, so the list and the report have numbers: each scrolls the home
  // page (welcome offers), adds socks to the cart (the free-shipping A/B test)
  // and every other one goes on to the checkout (that test's goal).
  for (let i = 0; i < 16; i++) {
    const shop = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    const ready = () => shop.waitForFunction(() => window.nudge && window.nudge.ready);
    await shop.goto(`${edge.url}/`);
    await ready();
    for (let s = 0; s < 30; s++) { await shop.mouse.wheel(0, 200); await shop.waitForTimeout(15); }
    await shop.goto(`${edge.url}/product/wool-socks`);
    await ready();
    await shop.evaluate(() => document.querySelector("#add-to-cart").click());
    await shop.waitForTimeout(400);
    if (i % 2 === 0) {
      await shop.goto(`${edge.url}/checkout`);
      await ready();
    }
    await shop.evaluate(() => window.dispatchEvent(new Event("pagehide")));
    await shop.waitForTimeout(300);
    await shop.context().close();
  }
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  await page.goto(`${edge.url}/studio/`);
  await page.fill("#sign-in-name", "Pat");
  await page.fill("#sign-in-key", siteKeys("demo").publisher);
  await page.click("form.sign-in button[type=submit]");
  await page.waitForSelector("table.campaigns");
  await page.screenshot({ path: `${out}studio-list.png` });

  await page.goto(`${edge.url}/studio/#/c/cart-rescue`);
  await page.waitForSelector("#sec-content");
  await page.waitForSelector(".preview[data-preview-state=rendered], .preview[data-preview-state=unavailable]", { timeout: 10_000 }).catch(() => {});
  await page.waitForTimeout(500);
  await page.screenshot({ path: `${out}studio-editor.png` });

  await page.goto(`${edge.url}/studio/#/c/free-shipping-test/report`);
  await page.waitForSelector(".kpis, .report .notice", { timeout: 10_000 });
  await page.waitForTimeout(800);
  await page.screenshot({ path: `${out}studio-report.png` });
  await page.screenshot({ path: `${out}studio-report-full.png`, fullPage: true });

  await page.goto(`${edge.url}/studio/#/journeys`);
  await page.waitForSelector("section.journey .step-report");
  await page.evaluate(() => { document.querySelector('section[data-journey="cart-abandonment"]').scrollIntoView(); scrollBy(0, -10); });
  await page.waitForTimeout(300);
  await page.screenshot({ path: `${out}studio-journeys.png` });

  await page.goto(`${edge.url}/studio/#/journeys/new/cart-abandonment`);
  await page.waitForSelector("#sec-steps .step-wait_for");
  // The demo already has a journey with the template's id.
  await page.locator('[data-path="id"]').fill("cart-email");
  await page.evaluate(() => { document.getElementById("sec-steps").scrollIntoView(); scrollBy(0, -70); });
  await page.waitForTimeout(300);
  await page.screenshot({ path: `${out}studio-journey-editor.png` });

  // The live cart abandonment journey played for a stranger who orders after 2 hours
  // (leaving the unsaved new journey above: its "unsaved changes" question is answered).
  page.once("dialog", (d) => d.accept());
  await page.goto(`${edge.url}/studio/#/j/cart-abandonment`);
  await page.waitForSelector(".try-pane");
  await page.click(".try-pane >> text=Add an event");
  await page.locator(".try-event input[type=number]").fill("2");
  await page.click("[data-action=play]");
  await page.waitForSelector(".timeline li");
  await page.evaluate(() => { document.querySelector(".try-pane").scrollIntoView(); scrollBy(0, -80); });
  await page.waitForTimeout(300);
  await page.screenshot({ path: `${out}studio-journey-try.png` });
  console.log(`screenshots in ${out}`);
} finally {
  await browser.close();
  await edge.stop();
}
