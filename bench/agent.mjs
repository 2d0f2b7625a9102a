// Nudge agent figures (issue #2): what a page downloads, main-thread cost from
// the script tag to rules ready, trigger-to-render for a scroll and an
// exit-intent popup with the display module prefetched (issue #20, part 3),
// and the first show of a page-view campaign without it. Medians over repeated runs in headless Chromium; these
// are reported figures, not pass/fail tests (machines are noisy).
//
//   cargo xtask bench        (builds the agent first)
import { readFileSync } from "node:fs";
import { gzipSync, brotliCompressSync, constants } from "node:zlib";
import { launch, open, scrollTo, waitForCampaign } from "../tests/e2e/harness.mjs";

const RUNS = Number(process.env.BENCH_RUNS || 15);
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const fmt = (n, digits = 1) => n.toFixed(digits);

// Timestamps taken inside the page: campaign insertion and the frame after it.
const PROBE = () => {
  window.__probe = { scrolls: [], scrollsDelivered: [] };
  addEventListener("scroll", (e) => {
    window.__probe.scrolls.push(e.timeStamp);
    window.__probe.scrollsDelivered.push(performance.now());
  }, { capture: true, passive: true });
  // Capture on window runs before the agent's own listener: `dispatched` is
  // when the browser delivered the event, `exit` when the input happened.
  addEventListener("mouseout", (e) => {
    if (!e.relatedTarget) { window.__probe.exit = e.timeStamp; window.__probe.dispatched = performance.now(); }
  }, true);
  new MutationObserver((records) => {
    for (const r of records) for (const n of r.addedNodes) {
      if (n.localName === "nudge-campaign" && !window.__probe.inserted) {
        window.__probe.inserted = performance.now();
        requestAnimationFrame(() => { window.__probe.painted = performance.now(); });
      }
    }
  }).observe(document, { childList: true, subtree: true });
};

async function mainThread(shop, withAgent) {
  const { page, context } = await shop.visitor();
  // The baseline is the same page with an empty script in place of the tag's.
  if (!withAgent) await context.route("**/nudge/nudge.js", (r) => r.fulfill({ status: 200, contentType: "text/javascript", body: "" }));
  const cdp = await context.newCDPSession(page);
  await cdp.send("Performance.enable");
  await page.goto(`${shop.server.url}/`);
  await page.waitForTimeout(1000);
  const metrics = Object.fromEntries((await cdp.send("Performance.getMetrics")).metrics.map((m) => [m.name, m.value]));
  const ready = await page.evaluate(() => window.nudge.ready || null);
  await context.close();
  return { script: metrics.ScriptDuration * 1000, task: metrics.TaskDuration * 1000, heap: metrics.JSHeapUsedSize, ready };
}

async function readyTiming(shop) {
  const { page, context } = await shop.visitor();
  await open(page, `${shop.server.url}/`);
  const t = await page.evaluate(() => {
    const nav = performance.getEntriesByType("resource").filter((e) => e.name.includes("/nudge/"));
    const loaderStart = nav.find((e) => e.name.endsWith("nudge.js"))?.responseEnd ?? 0;
    return { loaderToReady: window.nudge.ready.at - loaderStart, start: window.nudge.ready.startMs };
  });
  await context.close();
  return t;
}

/** The display module (render/) has been fetched at idle and started. */
async function displayModuleHere(page) {
  await page.waitForFunction(() => performance.getEntriesByType("resource").some((e) => e.name.includes("nudge_render_bg.wasm")));
  await page.waitForTimeout(200); // compiled and instantiated
}

async function scrollToRender(shop) {
  const { page, context } = await shop.visitor();
  await page.addInitScript(PROBE);
  await open(page, `${shop.server.url}/`);
  await displayModuleHere(page);
  await page.mouse.move(600, 400);
  await scrollTo(page, 30);
  await waitForCampaign(page, "welcome");
  await page.waitForFunction(() => window.__probe.painted);
  const p = await page.evaluate(() => window.__probe);
  await context.close();
  const trigger = p.scrolls.filter((s) => s <= p.inserted).pop();
  const delivered = p.scrollsDelivered.filter((s) => s <= p.inserted).pop();
  return { dom: p.inserted - trigger, paint: p.painted - trigger, handler: p.inserted - delivered, handledPaint: p.painted - delivered };
}

async function exitToRender(shop) {
  const { page, context } = await shop.visitor();
  await page.addInitScript(PROBE);
  await open(page, `${shop.server.url}/product/trail-runner`);
  await page.click("#add-to-cart");
  await open(page, `${shop.server.url}/cart`);
  await displayModuleHere(page);
  await page.waitForTimeout(2100);
  await page.mouse.move(600, 200);
  await page.mouse.move(600, -10, { steps: 3 });
  await waitForCampaign(page, "cart-rescue");
  await page.waitForFunction(() => window.__probe.painted);
  const p = await page.evaluate(() => window.__probe);
  await context.close();
  return { dom: p.inserted - p.exit, handler: p.inserted - p.dispatched, paint: p.painted - p.exit };
}

// A campaign that shows on arrival, on a first visit: the display module is
// not here yet (nothing waited for a trigger), so the show waits for its
// download and start. From the agent's first decision (the loader's
// `nudge.ready.at`) to the popup in the DOM and painted.
const ON_ARRIVAL = { campaigns: [{ id: "arrival", trigger: { page_view: true }, content: { layout: "modal", title: "Welcome" } }] };

async function firstShowWithoutPrefetch(shop) {
  const { page, context } = await shop.visitor();
  await page.addInitScript(PROBE);
  await open(page, `${shop.server.url}/`);
  await waitForCampaign(page, "arrival");
  await page.waitForFunction(() => window.__probe.painted);
  const t = await page.evaluate(() => ({ ready: window.nudge.ready.at, ...window.__probe }));
  await context.close();
  return { dom: t.inserted - t.ready, paint: t.painted - t.ready };
}

function bytes(files) {
  const rows = files.map((f) => {
    const raw = readFileSync(new URL(`../agent/pkg/${f}`, import.meta.url));
    return { f, raw: raw.length, gzip: gzipSync(raw, { level: 9 }).length,
      brotli: brotliCompressSync(raw, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length };
  });
  rows.push(rows.reduce((t, r) => ({ f: "**total**", raw: t.raw + r.raw, gzip: t.gzip + r.gzip, brotli: t.brotli + r.brotli }), { raw: 0, gzip: 0, brotli: 0 }));
  return rows;
}

const shop = await launch({ collectStatus: () => 202 });
const arrivalShop = await launch({ config: ON_ARRIVAL, collectStatus: () => 202 });
try {
  const base = [], agent = [], ready = [], scroll = [], exit = [], arrival = [];
  for (let i = 0; i < RUNS; i++) {
    base.push(await mainThread(shop, false));
    agent.push(await mainThread(shop, true));
    ready.push(await readyTiming(shop));
    scroll.push(await scrollToRender(shop));
  }
  for (let i = 0; i < Math.min(RUNS, 7); i++) exit.push(await exitToRender(shop));
  for (let i = 0; i < Math.min(RUNS, 7); i++) arrival.push(await firstShowWithoutPrefetch(arrivalShop));

  console.log(`## Nudge agent figures (median of ${RUNS} runs, headless Chromium, demo shop home page)\n`);
  console.log("What every page view downloads (first visit):\n");
  console.log("| file | raw B | gzip -9 B | brotli B |\n|---|---:|---:|---:|");
  for (const r of bytes(["nudge.js", "nudge_agent.js", "nudge_agent_bg.wasm"])) console.log(`| ${r.f} | ${r.raw} | ${r.gzip} | ${r.brotli} |`);
  console.log("\nThe display module, only where a campaign may show (first visit):\n");
  console.log("| file | raw B | gzip -9 B | brotli B |\n|---|---:|---:|---:|");
  for (const r of bytes(["nudge_render.js", "nudge_render_bg.wasm"])) console.log(`| ${r.f} | ${r.raw} | ${r.gzip} | ${r.brotli} |`);
  const delta = (k) => median(agent.map((a) => a[k])) - median(base.map((b) => b[k]));
  console.log("\n| measure | median |\n|---|---:|");
  console.log(`| main-thread script time added (CDP ScriptDuration, vs. no agent) | ${fmt(delta("script"))} ms |`);
  console.log(`| main-thread task time added (CDP TaskDuration, vs. no agent) | ${fmt(delta("task"))} ms |`);
  console.log(`| JS heap added | ${fmt(delta("heap") / 1024, 0)} KB |`);
  console.log(`| \`start()\`: config + profile + first decision (synchronous) | ${fmt(median(ready.map((r) => r.start)), 2)} ms |`);
  console.log(`| loader downloaded -> rules ready (wall clock, incl. wasm compile + config fetch) | ${fmt(median(ready.map((r) => r.loaderToReady)))} ms |`);
  console.log(`| scroll event -> popup in DOM | ${fmt(median(scroll.map((s) => s.dom)), 2)} ms |`);
  console.log(`| scroll event -> next frame after insertion | ${fmt(median(scroll.map((s) => s.paint)), 2)} ms |`);
  console.log(`| scroll event (delivered to the page) -> popup in DOM | ${fmt(median(scroll.map((s) => s.handler)), 2)} ms |`);
  console.log(`| scroll event (delivered to the page) -> next frame after insertion | ${fmt(median(scroll.map((s) => s.handledPaint)), 2)} ms |`);
  console.log(`| exit-intent mouseout (input time) -> popup in DOM | ${fmt(median(exit.map((s) => s.dom)), 2)} ms |`);
  console.log(`| exit-intent mouseout (delivered to the page) -> popup in DOM | ${fmt(median(exit.map((s) => s.handler)), 2)} ms |`);
  console.log(`| exit-intent mouseout -> next frame after insertion | ${fmt(median(exit.map((s) => s.paint)), 2)} ms |`);
  console.log(`| first show without prefetch (page-view campaign, first visit): first decision -> popup in DOM | ${fmt(median(arrival.map((s) => s.dom)), 2)} ms |`);
  console.log(`| first show without prefetch: first decision -> next frame after insertion | ${fmt(median(arrival.map((s) => s.paint)), 2)} ms |`);
} finally {
  await shop.close();
  await arrivalShop.close();
}
