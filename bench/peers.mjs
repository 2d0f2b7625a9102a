// Nudge side by side with what a shop would otherwise install (issue #4), in
// one run on one machine: GrowthBook's script bundle, posthog-js with the
// surveys extension a popup user loads, and ouibounce (exit intent only) as
// the floor. Figures are medians over repeated runs, quoted as ratios; they
// are reported, never asserted (machines are noisy).
//
//   cargo xtask bench      (installs the peers into bench/node_modules first)
import { existsSync, readFileSync } from "node:fs";
import { gzipSync, brotliCompressSync, constants } from "node:zlib";
import { launch, open } from "../tests/e2e/harness.mjs";
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { evalCondition } from "@growthbook/growthbook";
import { workload } from "./rules-workload.mjs";

const RUNS = Number(process.env.BENCH_RUNS || 11);
// Which tables to run (comma-separated: sizes, engines, main, exit); all by default.
const PARTS = new Set((process.env.BENCH_PARTS || "sizes,engines,main,exit").split(","));
const here = (path) => new URL(path, import.meta.url);
const read = (path) => readFileSync(here(path));
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
/** "median (min-max)": every figure is reported with its spread over the runs. */
const spread = (xs, digits = 1) => `${fmt(median(xs), digits)} (${fmt(Math.min(...xs), digits)}-${fmt(Math.max(...xs), digits)})`;
const fmt = (n, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");
const ratio = (a, b) => (b > 0 ? `${(a / b).toFixed(2)}×` : "n/a");

// What a storefront downloads for each (built files, as shipped).
const FILES = {
  Nudge: ["../agent/pkg/nudge.js", "../agent/pkg/nudge_agent.js", "../agent/pkg/nudge_agent_bg.wasm"],
  "GrowthBook (script-tag bundle, auto.min.js)": ["node_modules/@growthbook/growthbook/dist/bundles/auto.min.js"],
  "GrowthBook (targeting SDK bundle, index.min.js)": ["node_modules/@growthbook/growthbook/dist/bundles/index.min.js"],
  "posthog-js (array.js + surveys.js)": ["node_modules/posthog-js/dist/array.js", "node_modules/posthog-js/dist/surveys.js"],
  "ouibounce (floor)": ["node_modules/ouibounce/build/ouibounce.min.js"],
  // Not on every page: Nudge's display module (render/), fetched only where a
  // campaign may show (at idle before its trigger, or with a show on arrival).
  "Nudge's display module (only where a campaign may show)": ["../agent/pkg/nudge_render.js", "../agent/pkg/nudge_render_bg.wasm"],
  // Not a peer: core's start decision alone (config reader, profile, decide),
  // built like the agent: the floor under any Rust/wasm agent built on core.
  "core's start decision alone (bench/core-floor, wasm only)": ["../target/bench/core-floor/nudge_core_floor_bg.wasm"],
};

function sizes() {
  // A part not built (the floor, outside `cargo xtask bench`) is left out.
  const built = Object.entries(FILES).filter(([, files]) => files.every((f) => existsSync(here(f))));
  return built.map(([name, files]) => {
    const t = { name, raw: 0, gzip: 0, brotli: 0 };
    for (const f of files) {
      const raw = read(f);
      t.raw += raw.length;
      t.gzip += gzipSync(raw, { level: 9 }).length;
      t.brotli += brotliCompressSync(raw, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
    }
    return t;
  });
}

// The same nine campaigns, as each peer would carry them: for GrowthBook a
// feature per campaign with the campaign's audience as its targeting rule.
const campaigns = JSON.parse(read("../demo-shop/campaigns.json")).campaigns;
const attributes = {
  visitor: { is_new: true, is_returning: false, sessions: 1, page_views: 1, seconds_on_site: 0 },
  orders: { count: 0 }, is_customer: false, cart: { items: 0, value: 0 }, coupons: { available: 0 },
  tags: [], geo: { country: "US" }, page: { path: "/", category_views: 0 }, device: { type: "desktop" },
};
const features = Object.fromEntries(campaigns.map((c) => [c.id, { defaultValue: false, rules: [{ condition: c.audience || {}, force: true }] }]));

/** The script that stands in for Nudge's tag: the peer's bundle plus its usual set-up. */
const PEERS = {
  "no script (baseline)": () => "",
  Nudge: null, // the real tag, unchanged
  GrowthBook: () => `${read(FILES["GrowthBook (targeting SDK bundle, index.min.js)"][0])}
;(function(){var gb=new growthbook.GrowthBook({attributes:${JSON.stringify(attributes)},features:${JSON.stringify(features)}});
window.__peer={on:Object.keys(${JSON.stringify(features)}).filter(function(k){return gb.isOn(k)})};})();`,
  "posthog-js + surveys": () => `${read(FILES["posthog-js (array.js + surveys.js)"][0])}
;${read(FILES["posthog-js (array.js + surveys.js)"][1])}
;posthog.init("phc_bench",{api_host:location.origin+"/ph",autocapture:true,capture_pageview:true,disable_session_recording:true});`,
  ouibounce: () => `${read(FILES["ouibounce (floor)"][0])}
;(function(){function go(){var m=document.createElement("div");m.id="ouibounce-modal";m.style.display="none";
m.textContent="Wait! 10% off your cart";document.body.appendChild(m);ouibounce(m,{aggressive:true,timer:0});}
if(document.readyState==="loading")document.addEventListener("DOMContentLoaded",go);else go();})();`,
};

// posthog-js talks to its API host: answered locally and at once, with nothing to show.
const POSTHOG_API = JSON.stringify({ featureFlags: {}, surveys: [], sessionRecording: false, supportedCompression: [], config: {} });

const LONG_TASKS = () => {
  window.__long = { count: 0, ms: 0 };
  try {
    new PerformanceObserver((list) => { for (const e of list.getEntries()) { window.__long.count++; window.__long.ms += e.duration; } })
      .observe({ type: "longtask", buffered: true });
  } catch { /* not supported */ }
};

async function visit(shop, peer, path = "/") {
  const { page, context } = await shop.visitor();
  const script = PEERS[peer];
  if (script) await context.route("**/nudge/nudge.js", (r) => r.fulfill({ status: 200, contentType: "text/javascript", body: script() }));
  await context.route("**/ph/**", (r) => r.fulfill({ status: 200, contentType: "application/json", body: POSTHOG_API }));
  await page.addInitScript(LONG_TASKS);
  return { page, context, url: `${shop.server.url}${path}` };
}

/**
 * Main-thread CPU attributed to the script under test, in two parts that do
 * not overlap:
 * - execution, from V8's sampling profiler (one sample every 100 µs): a
 *   sample counts when any frame on its stack comes from the script (its
 *   files under /nudge/, or wasm, which only Nudge uses on this page): its
 *   evaluation, callbacks, promise reactions, wasm instantiation and calls;
 * - compilation, from a Chromium trace of the same load: the main thread's
 *   compile events for the script's files and its wasm compile events, in
 *   thread time (the sampler sees no script frame while V8 compiles).
 * Neither can come out negative, unlike a whole-page metric minus a noisy
 * baseline. The JS heap is reported whole (baseline included), for the same reason.
 */
async function mainThread(shop, peer) {
  const { page, context, url } = await visit(shop, peer);
  // A same-site page first, so the navigation under test stays in this
  // renderer and the profiler sees all of it.
  await page.goto(`${shop.server.url}/shop.js`);
  const cdp = await context.newCDPSession(page);
  await cdp.send("Performance.enable");
  await cdp.send("Profiler.enable");
  await cdp.send("Profiler.setSamplingInterval", { interval: 100 });
  await shop.browser.startTracing(page, { categories: ["devtools.timeline", "v8", "disabled-by-default-devtools.timeline"] });
  await cdp.send("Profiler.start");
  // The same wait for every script: no polling from here, which would itself cost main-thread time.
  await page.goto(url);
  await page.waitForTimeout(1000);
  const { profile } = await cdp.send("Profiler.stop");
  const trace = JSON.parse((await shop.browser.stopTracing()).toString());
  const metrics = Object.fromEntries((await cdp.send("Performance.getMetrics")).metrics.map((m) => [m.name, m.value]));
  const long = await page.evaluate(() => window.__long);
  await context.close();
  const run = attributedMs(profile);
  const compile = compileMs(trace);
  return { cpu: run + compile, run, compile, heap: metrics.JSHeapUsedSize / 1024, long: long.ms };
}

/** Thread-time milliseconds the renderers' main threads spent compiling the script (JS or wasm). */
function compileMs(trace) {
  const events = trace.traceEvents || trace;
  const mains = new Set(events.filter((e) => e.name === "thread_name" && e.args?.name === "CrRendererMain").map((e) => `${e.pid}:${e.tid}`));
  const COMPILE = new Set(["v8.compile", "v8.compileModule", "v8.produceCache", "v8.produceModuleCache"]);
  let us = 0;
  for (const e of events) {
    if (e.ph !== "X" || !mains.has(`${e.pid}:${e.tid}`)) continue;
    const url = e.args?.data?.url || e.args?.fileName || "";
    const ours = (COMPILE.has(e.name) && url.includes("/nudge/")) || e.name.startsWith("v8.wasm.");
    if (ours) us += e.tdur ?? e.dur ?? 0;
  }
  return us / 1000;
}

/** Milliseconds of samples whose stack holds a frame of the script under test. */
function attributedMs(profile) {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const child of n.children || []) parent.set(child, n.id);
  const memo = new Map();
  const ours = (id) => {
    if (id === undefined) return false;
    if (memo.has(id)) return memo.get(id);
    const url = nodes.get(id)?.callFrame.url || "";
    const answer = url.includes("/nudge/") || url.startsWith("wasm://") || ours(parent.get(id));
    memo.set(id, answer);
    return answer;
  };
  let us = 0;
  profile.samples.forEach((id, i) => { if (ours(id)) us += profile.timeDeltas[i] || 0; });
  return us / 1000;
}

// Exit intent to painted popup: the same pointer movement for Nudge's cart
// rescue and for ouibounce's modal (shown by a style change).
const PROBE = () => {
  window.__probe = {};
  // Capture on window runs before any script's own listener: `exit` is when the
  // input happened, `dispatched` when the browser delivered it to the page
  // (Chromium aligns mouse events with animation frames in between).
  addEventListener("mouseout", (e) => {
    if (!e.relatedTarget && !window.__probe.exit) { window.__probe.exit = e.timeStamp; window.__probe.dispatched = performance.now(); }
  }, true);
  const seen = () => {
    if (window.__probe.inserted) return;
    window.__probe.inserted = performance.now();
    requestAnimationFrame(() => { window.__probe.painted = performance.now(); });
  };
  new MutationObserver((records) => {
    for (const r of records) {
      if (r.type === "childList" && [...r.addedNodes].some((n) => n.localName === "nudge-campaign")) seen();
      if (r.type === "attributes" && r.target.id === "ouibounce-modal" && r.target.style.display === "block") seen();
    }
  }).observe(document, { childList: true, subtree: true, attributes: true, attributeFilter: ["style"] });
};

async function exitToPaint(shop, peer) {
  const { page, context } = await visit(shop, peer, "/product/trail-runner");
  await page.addInitScript(PROBE);
  const go = (path) => (peer === "Nudge" ? open(page, `${shop.server.url}${path}`) : page.goto(`${shop.server.url}${path}`));
  await go("/product/trail-runner");
  await page.click("#add-to-cart");
  await go("/cart");
  await page.waitForTimeout(2100); // the cart rescue waits 2 s on the page
  await page.mouse.move(600, 200);
  await page.mouse.move(600, -10, { steps: 3 });
  await page.waitForFunction(() => window.__probe.painted, null, { timeout: 5000 });
  const p = await page.evaluate(() => window.__probe);
  await context.close();
  return { dom: p.inserted - p.exit, paint: p.painted - p.exit, handled: p.painted - p.dispatched };
}

/** core's engine as wasm in Chromium (bench/engine-wasm, built by `cargo xtask bench`). */
async function wasmEngine(shop, workload) {
  const dir = "../target/bench/engine-wasm/";
  const context = await shop.browser.newContext();
  await context.route("http://bench.local/**", (r) => {
    const name = new URL(r.request().url()).pathname.slice(1);
    if (name === "") return r.fulfill({ status: 200, contentType: "text/html", body: "<!doctype html><title>engine</title>" });
    const type = name.endsWith(".wasm") ? "application/wasm" : "text/javascript";
    return r.fulfill({ status: 200, contentType: type, body: read(dir + name) });
  });
  const page = await context.newPage();
  await page.goto("http://bench.local/");
  const result = await page.evaluate(async (text) => {
    const m = await import("/nudge_engine_wasm_bench.js");
    await m.default({ module_or_path: "/nudge_engine_wasm_bench_bg.wasm" });
    const pairs = m.prepare(text);
    const samples = [];
    let matches = 0;
    for (let i = 0; i < 25; i++) {
      const start = performance.now();
      matches = m.round();
      samples.push(((performance.now() - start) * 1e6) / pairs);
    }
    return { samples, matches };
  }, JSON.stringify(workload));
  await context.close();
  return { ns: median(result.samples), samples: result.samples, matches: result.matches };
}

/** GrowthBook's evalCondition on the same workload, in Node (as the issue asks). */
function growthbookEngine(workload) {
  const { conditions, profiles } = workload;
  const samples = [];
  let matches = 0;
  for (let round = 0; round < 25; round++) {
    let n = 0;
    const start = process.hrtime.bigint();
    for (const condition of conditions) for (const profile of profiles) if (evalCondition(profile, condition)) n++;
    samples.push(Number(process.hrtime.bigint() - start) / (conditions.length * profiles.length));
    matches = n;
  }
  return { ns: median(samples), samples, matches };
}

/** core natively (core/benches/engine.rs): ns per condition and decide() scaling. */
function nativeEngine(path) {
  const out = execFileSync("cargo", ["bench", "-q", "-p", "nudge-core", "--bench", "engine"], {
    encoding: "utf8", env: { ...process.env, NUDGE_RULES: path }, stdio: ["ignore", "pipe", "inherit"],
  });
  const r = JSON.parse(out.trim().split("\n").pop());
  return { ns: r.ns_per_condition, matches: r.matches, decide: r.decide_us };
}

async function ruleEngines(shop) {
  const data = workload();
  const path = fileURLToPath(here("../target/bench/rules.json"));
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(data));
  const pairs = data.conditions.length * data.profiles.length;
  const rows = [
    ["Nudge core, native (opt-level 3)", nativeEngine(path)],
    ["Nudge core, wasm in Chromium (as the agent ships: opt-level z, the browser's RegExp)", await wasmEngine(shop, data)],
    ["GrowthBook evalCondition, Node " + process.versions.node, growthbookEngine(data)],
  ];
  const gb = rows[2][1];
  console.log(`\n## Rule engine: ${data.conditions.length} campaign conditions × ${data.profiles.length} visitor profiles (25 rounds of ${pairs} evaluations in this run: median (min-max); ratios from this run's medians)\n`);
  console.log("| engine | ns per condition | vs GrowthBook | pairs matched |\n|---|---:|---:|---:|");
  for (const [name, r] of rows) console.log(`| ${name} | ${r.samples ? spread(r.samples) : fmt(r.ns)} | ${ratio(r.ns, gb.ns)} | ${r.matches} |`);
  if (rows.some(([, r]) => r.matches !== gb.matches)) console.log("\n**The engines disagree on which pairs match: a semantics bug to chase.**");
  const decide = rows[0][1].decide;
  console.log("\n| campaigns | one page-view decide() (native, µs) | per campaign (ns) |\n|---:|---:|---:|");
  for (const [n, us] of Object.entries(decide)) console.log(`| ${n} | ${fmt(us, 2)} | ${fmt((us * 1000) / n, 0)} |`);
}

const shop = await launch({ collectStatus: () => 202 });
try {
  if (PARTS.has("sizes")) {
    const s = sizes();
    const nudge = s[0];
    console.log("## Bytes a storefront downloads\n");
    console.log("| script | raw B | gzip -9 B | brotli B | gzip vs Nudge |\n|---|---:|---:|---:|---:|");
    for (const r of s) console.log(`| ${r.name} | ${r.raw} | ${r.gzip} | ${r.brotli} | ${ratio(r.gzip, nudge.gzip)} |`);
  }

  if (PARTS.has("engines")) await ruleEngines(shop);

  if (PARTS.has("main")) await mainThreadTable(shop);
  if (PARTS.has("exit")) await exitTable(shop);
} finally {
  await shop.close();
}

async function mainThreadTable(shop) {
  const peers = Object.keys(PEERS);
  const runs = Object.fromEntries(peers.map((p) => [p, []]));
  for (let i = 0; i < RUNS; i++) for (const p of peers) runs[p].push(await mainThread(shop, p));
  console.log(`\n## Main thread on the demo shop's home page (${RUNS} runs, interleaved; median (min-max))\n`);
  console.log("CPU: the script's own main-thread time: execution from V8's sampling profiler (100 µs; evaluation, callbacks, promise reactions, wasm instantiation and what they call) plus compilation (JS and wasm) from a Chromium trace. Heap: the page's whole JS heap.\n");
  console.log("| script | main-thread CPU ms | of which compiling | Nudge's CPU vs it | long tasks ms | JS heap KB | Nudge's heap vs it |\n|---|---:|---:|---:|---:|---:|---:|");
  const med = (p, k) => median(runs[p].map((r) => r[k]));
  for (const p of peers) {
    const col = (k, digits = 1) => spread(runs[p].map((r) => r[k]), digits);
    const vs = (k) => (p === "Nudge" || p.startsWith("no script") ? "" : ratio(med("Nudge", k), med(p, k)));
    console.log(`| ${p} | ${col("cpu", 2)} | ${col("compile", 2)} | ${vs("cpu")} | ${col("long")} | ${col("heap", 0)} | ${vs("heap")} |`);
  }
}

async function exitTable(shop) {
  const exits = { Nudge: [], ouibounce: [] };
  for (let i = 0; i < Math.min(RUNS, 7); i++) for (const p of Object.keys(exits)) exits[p].push(await exitToPaint(shop, p));
  console.log("\n## Exit intent -> popup (median; one frame is 16.7 ms)\n");
  console.log("| script | input -> in DOM | input -> painted (next frame) | delivered to the page -> painted |\n|---|---:|---:|---:|");
  for (const [p, xs] of Object.entries(exits)) {
    const m = (k) => `${fmt(median(xs.map((x) => x[k])), 2)} ms`;
    console.log(`| ${p} | ${m("dom")} | ${m("paint")} | ${m("handled")} |`);
  }
}
