// Shared set-up for the end-to-end tests: the demo shop's server (in this
// process, on 127.0.0.1, a free port) and Debian's headless Chromium driven by
// playwright-core with real input events. Each test gets a fresh browser
// context: an empty localStorage, like a first-time visitor.
import { startServer } from "../../demo-shop/server.mjs";
import { launchChromium } from "../support/browser.mjs";

export async function launch(serverOptions = {}) {
  const server = await startServer({ port: 0, ...serverOptions });
  const browser = await launchChromium();
  return {
    server,
    browser,
    async visitor(options = {}) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...options });
      const page = await context.newPage();
      const console = [];
      const errors = [];
      page.on("console", (m) => console.push(`${m.type()}: ${m.text()}`));
      page.on("pageerror", (e) => errors.push(String(e)));
      return { context, page, console, errors };
    },
    async close() {
      await browser.close();
      await server.close();
    },
  };
}

/**
 * Shops with their own options, for a test file whose tests each need a
 * differently configured one: `shopWith(options)` launches one, and
 * `closeAll()` (for `after`) closes every one launched.
 */
export function shopPool() {
  const shops = [];
  return {
    async shopWith(options) {
      const shop = await launch(options);
      shops.push(shop);
      return shop;
    },
    async closeAll() {
      for (const shop of shops) await shop.close();
    },
  };
}

/** Opens a shop path and waits until the agent has started (or given up). */
export async function open(page, url) {
  await page.goto(url);
  await page.waitForFunction(() => window.nudge && (window.nudge.ready || window.nudge.failed), null, { timeout: 15000 }).catch(() => {});
}

/** The campaigns on screen: their ids, in DOM order. */
export function shownCampaigns(page) {
  return page.$$eval("nudge-campaign", (hosts) => hosts.map((h) => h.getAttribute("data-campaign")));
}

export async function waitForCampaign(page, id, timeout = 5000) {
  await page.waitForSelector(`nudge-campaign[data-campaign="${id}"]`, { state: "attached", timeout });
}

/** A modal takes focus in the frame after it is inserted. */
export async function waitForFocusInCampaign(page) {
  await page.waitForFunction(() => document.activeElement && document.activeElement.localName === "nudge-campaign", null, { timeout: 2000 });
}

/**
 * What a campaign renders, read through the DevTools protocol (its shadow root
 * is closed to page scripts): its text, elements, and attributes.
 */
export async function campaignDom(page, id) {
  return hostDom(page, (node) => node.nodeName === "NUDGE-CAMPAIGN" && attribute(node, "data-campaign") === id);
}

/** The preview badge (`<nudge-preview>`, a closed shadow root too), as campaignDom reads a campaign. */
export function previewBadgeDom(page) {
  return hostDom(page, (node) => node.nodeName === "NUDGE-PREVIEW");
}

function attribute(node, name) {
  const attrs = node.attributes || [];
  for (let i = 0; i < attrs.length; i += 2) if (attrs[i] === name) return attrs[i + 1];
  return undefined;
}

async function hostDom(page, isHost) {
  const cdp = await page.context().newCDPSession(page);
  const { root } = await cdp.send("DOM.getDocument", { depth: -1, pierce: true });
  const dom = await readHost(root, isHost);
  if (dom) {
    // Clicks a control inside the closed shadow root where a visitor would: at its centre.
    // Where a control inside the closed shadow root is drawn: {x, y, width, height}.
    dom.box = async (predicate) => {
      const target = dom.nodes.find(predicate);
      if (!target) throw new Error("no such element in the campaign");
      const { model } = await cdp.send("DOM.getBoxModel", { backendNodeId: target.backendNodeId });
      const [x1, y1, , , x3, y3] = model.border;
      return { x: x1, y: y1, width: x3 - x1, height: y3 - y1 };
    };
    dom.click = async (predicate) => {
      const { x, y, width, height } = await dom.box(predicate);
      await page.mouse.click(x + width / 2, y + height / 2);
    };
  }
  return dom;
}

async function readHost(root, isHost) {
  const find = (node) => {
    if (isHost(node)) return node;
    for (const child of [...(node.children || []), ...(node.shadowRoots || []), ...(node.contentDocument ? [node.contentDocument] : [])]) {
      const hit = find(child);
      if (hit) return hit;
    }
    return null;
  };
  const host = find(root);
  if (!host) return null;
  const texts = [];
  const elements = [];
  const nodes = [];
  const walk = (node, inStyle) => {
    if (node.nodeType === 3 && !inStyle) texts.push(node.nodeValue);
    if (node.nodeType === 1) {
      const attrs = {};
      for (let i = 0; i < (node.attributes || []).length; i += 2) attrs[node.attributes[i]] = node.attributes[i + 1];
      const text = (node.children || []).filter((c) => c.nodeType === 3).map((c) => c.nodeValue).join("");
      elements.push({ tag: node.localName, attrs });
      nodes.push({ tag: node.localName, attrs, text, backendNodeId: node.backendNodeId });
    }
    for (const child of [...(node.shadowRoots || []), ...(node.children || [])]) walk(child, inStyle || node.localName === "style");
  };
  walk(host, false);
  return { text: texts.join(" ").replace(/\s+/g, " ").trim(), elements, nodes, shadowMode: host.shadowRoots?.[0]?.shadowRootType };
}

/** Scrolls with the mouse wheel, as a visitor does, until `percent` of the page is seen. */
export async function scrollTo(page, percent) {
  for (let i = 0; i < 40; i++) {
    const seen = await page.evaluate(() => (scrollY / Math.max(1, document.documentElement.scrollHeight - innerHeight)) * 100);
    if (seen >= percent) break;
    await page.mouse.wheel(0, 200);
    await page.waitForTimeout(30);
  }
}

/** The coupon code a campaign's success step shows, once it is `expected` (or after 5 s). */
export async function shownCoupon(page, id, expected) {
  let code;
  for (let i = 0; i < 50 && code !== expected; i++) {
    const dom = await campaignDom(page, id);
    code = dom?.elements.find((e) => e.tag === "input" && e.attrs["aria-label"] === "Coupon code")?.attrs.value;
    if (code !== expected) await page.waitForTimeout(100);
  }
  return code;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
