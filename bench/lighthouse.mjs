// Lighthouse 12 (mobile, simulated throttling, Debian's Chromium) on the demo
// home page, the shop on its own origin with the edge Worker (local workerd)
// routed on its paths (tests/support/shop.mjs), four ways: no tag,
// GrowthBook's targeting bundle with the same nine campaigns as features (the
// same stand-in peers.mjs uses), Nudge's tag, and Nudge's tag with its
// display module blocked. Runs interleave; figures are
// medians with their spread, reported and never asserted (issue #20's goals:
// main-thread work added by the tag ≤ GrowthBook's, total blocking time 0,
// layout shift 0).
//
//   cargo xtask bench        (or: node bench/lighthouse.mjs, after build-edge)
//   LIGHTHOUSE_RUNS=5 by default.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { readFileSync } from "node:fs";
import { startEdge } from "../tests/support/edge.mjs";
import { startShop } from "../tests/support/shop.mjs";

const RUNS = Number(process.env.LIGHTHOUSE_RUNS || 5);
const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const here = (path) => new URL(path, import.meta.url);
const lighthouse = here("node_modules/.bin/lighthouse").pathname;

const demo = JSON.parse(readFileSync(here("../demo-shop/campaigns.json"), "utf8"));
const features = Object.fromEntries(demo.campaigns.map((c) => [c.id, { defaultValue: false, rules: [{ condition: c.audience || {}, force: true }] }]));
const growthbook = `${readFileSync(here("node_modules/@growthbook/growthbook/dist/bundles/index.min.js"), "utf8")}
;(function(){var gb=new growthbook.GrowthBook({attributes:{visitor:{is_new:true}},features:${JSON.stringify(features)}});
window.__peer=Object.keys(${JSON.stringify(features)}).filter(function(k){return gb.isOn(k)});})();`;

/** What answers `/nudge/nudge.js` for each way; undefined: the edge's own tag. */
const WAYS = { "no tag": "", GrowthBook: growthbook, Nudge: undefined, "Nudge without its display module": undefined };
// The last way blocks the display module (render/), which the home page
// fetches at idle because its welcome popup waits for a scroll: what a page
// where no campaign may show costs.
const BLOCKED = { "Nudge without its display module": "*nudge_render*" };

// Asynchronous: the shops answer from this process while Lighthouse runs.
const run = promisify(execFile);

async function audit(url, blocked) {
  const block = blocked ? [`--blocked-url-patterns=${blocked}`] : [];
  const { stdout: out } = await run(lighthouse, [url, "--quiet", "--output=json", "--only-categories=performance",
    `--chrome-path=${CHROMIUM}`, "--chrome-flags=--headless=new --no-sandbox --disable-gpu", ...block],
  { maxBuffer: 128e6, timeout: 180_000, env: { ...process.env, CHROME_PATH: CHROMIUM } });
  const a = JSON.parse(out).audits;
  return {
    main: a["mainthread-work-breakdown"].numericValue,
    tbt: a["total-blocking-time"].numericValue,
    tti: a.interactive.numericValue,
    cls: a["cumulative-layout-shift"].numericValue,
  };
}

const median = (xs) => { const s = [...xs].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
const spread = (xs, digits = 0) => `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}-${Math.max(...xs).toFixed(digits)})`;

const edge = await startEdge();
const shops = {};
try {
  // Each shop is its own origin, which the demo's site must list.
  for (const [way, tag] of Object.entries(WAYS)) shops[way] = await startShop({ edge: edge.url, mode: "routed", tag });
  const origins = Object.values(shops).map((shop) => shop.origin);
  const r = await edge.admin("/v1/admin/sites/demo/config", { method: "PUT", body: JSON.stringify({ ...demo, origins }) });
  if (r.status !== 200) throw new Error(`config: ${r.status} ${await r.text()}`);
  // One run thrown away: the first Chromium start and workerd's first answers are slow.
  await audit(`${shops["no tag"].url}/`);
  const results = Object.fromEntries(Object.keys(WAYS).map((w) => [w, []]));
  for (let run = 0; run < RUNS; run++) {
    for (const way of Object.keys(WAYS)) results[way].push(await audit(`${shops[way].url}/`, BLOCKED[way]));
  }
  const base = median(results["no tag"].map((x) => x.main));
  console.log(`\nLighthouse 12.2.3, mobile, simulated throttling; demo home page; ${RUNS} runs each, interleaved; median (min-max)\n`);
  console.log("| page | main-thread work, ms | added by the script, ms (median) | total blocking time, ms | time to interactive, ms | layout shift |");
  console.log("|---|---:|---:|---:|---:|---:|");
  for (const [way, xs] of Object.entries(results)) {
    const main = xs.map((x) => x.main);
    console.log(`| ${way} | ${spread(main)} | ${way === "no tag" ? "" : (median(main) - base).toFixed(0)} | ${spread(xs.map((x) => x.tbt))} | ${spread(xs.map((x) => x.tti))} | ${spread(xs.map((x) => x.cls), 3)} |`);
  }
  const added = (way) => median(results[way].map((x) => x.main)) - base;
  console.log(`\nMain-thread work added (medians): Nudge ${added("Nudge").toFixed(0)} ms (${added("Nudge without its display module").toFixed(0)} ms without its display module), GrowthBook ${added("GrowthBook").toFixed(0)} ms (goal: Nudge's ≤ GrowthBook's).`);
} finally {
  for (const shop of Object.values(shops)) await shop.close();
  await edge.stop();
}
