// The agent never breaks the shop: hostile visitor text stays text, a broken
// config or a missing agent leaves the page working, and debug mode says why.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { shopPool, open, shownCampaigns, waitForCampaign, campaignDom, scrollTo } from "./harness.mjs";

const { shopWith, closeAll } = shopPool();
after(closeAll);

/** The shop's own behaviour still works: add to cart updates the header. */
async function assertShopWorks(page, url) {
  await page.goto(`${url}/product/scarf`);
  await page.click("#add-to-cart");
  assert.equal(await page.textContent("#cart-count"), "1");
}

test("a first name full of markup is shown as text and never runs", async () => {
  const shop = await shopWith();
  const { page, context, errors } = await shop.visitor();
  await context.clock.install();
  let dialogs = 0;
  page.on("dialog", (d) => { dialogs++; d.dismiss(); });
  const evil = "<img src=x onerror=alert(1)>";
  await open(page, `${shop.server.url}/product/beanie`);
  await page.click("#add-to-cart");
  await open(page, `${shop.server.url}/checkout`);
  await page.fill("input[name=first_name]", evil);
  await page.fill("input[name=email]", "eve@example.com");
  await page.fill("input[name=address]", "1 Road");
  await page.click("button[type=submit]");
  await page.waitForURL("**/order-confirmation");
  await page.waitForFunction(() => window.nudge.ready);
  await page.clock.fastForward("24:00:00");
  await open(page, `${shop.server.url}/`);
  await waitForCampaign(page, "returning-customer");
  const dom = await campaignDom(page, "returning-customer");
  assert.ok(dom.text.includes(`Welcome back, ${evil}!`), dom.text);
  assert.ok(!dom.elements.some((e) => e.tag === "img"), "no element was created from the name");
  await page.waitForTimeout(200);
  assert.equal(dialogs, 0);
  assert.deepEqual(errors, []);
});

test("a config with a bad campaign: the rest runs and debug mode names the problem", async () => {
  const config = JSON.parse(await (await import("node:fs/promises")).readFile(new URL("../../demo-shop/campaigns.json", import.meta.url), "utf8"));
  config.campaigns.unshift({ id: "broken", trigger: { scroll_depth: 140 }, content: { layout: "modal", title: "x" } });
  const shop = await shopWith({ config });
  const { page, console: log, errors } = await shop.visitor();
  await open(page, `${shop.server.url}/?nudge_debug=1`);
  // The shops' build runs the compiled program (the usable campaigns) and
  // carries no messages; debug mode has the studio's build read the JSON and name them.
  const named = () => log.some((l) => l.includes("config: campaigns[0].trigger.scroll_depth: must be 1..=100, got 140"));
  for (let waited = 0; !named() && waited < 5000; waited += 50) await page.waitForTimeout(50);
  assert.ok(named(), log.join("\n"));
  await scrollTo(page, 30);
  await waitForCampaign(page, "welcome");
  await page.keyboard.press("Escape");
  await assertShopWorks(page, shop.server.url);
  assert.deepEqual(errors, []);
});

// What the agent reads is the program the edge compiled; bytes that are not
// one (another format, cut short, corrupted, JSON) are refused whole.
for (const [what, program, why] of [
  ["not a program", "{ this is not json", "not a Nudge program"],
  ["a program cut short", "NDGP\x02\x00\x00\x00\x00\x03", "a count past the end"],
  ["a program of a later format", "NDGP\x03", "a program format this agent does not read"],
  // The previous build's format: what a stale loader's request gets during a deploy.
  ["a program of the previous format", "NDGP\x01\x00\x00\x00\x00\x00", "a program format this agent does not read"],
]) {
  test(`${what}: no campaigns, the page works, debug mode says why`, async () => {
    const shop = await shopWith({ program: Buffer.from(program, "latin1") });
    const { page, console: log, errors } = await shop.visitor();
    await open(page, `${shop.server.url}/?nudge_debug=1`);
    await page.waitForFunction(() => window.nudge.ready);
    assert.ok(log.some((l) => l.includes("config refused: malformed program at byte") && l.includes(why)), log.join("\n"));
    await scrollTo(page, 80);
    assert.deepEqual(await shownCampaigns(page), []);
    await assertShopWorks(page, shop.server.url);
    assert.deepEqual(errors, []);
  });
}

// During a deploy a browser may run the previous loader (it is cached for
// minutes, then revalidated) against the new glue and wasm: that loader
// fetched the config's JSON and handed the agent its text. The new agent
// must fail closed: no campaign, nothing thrown, the shop untouched.
test("a loader from before programs (JSON text handed to the agent): no campaigns, nothing thrown", async () => {
  const source = await (await import("node:fs/promises")).readFile(new URL("../../agent/loader/nudge.js", import.meta.url), "utf8");
  const asBytes = "r.arrayBuffer().then(function (b) { return new Uint8Array(b); })";
  assert.ok(source.includes(asBytes), "the loader reads the program as bytes");
  const previous = source.replace(asBytes, "r.text()").replace('"program=2"', '"json=1"');
  const shop = await shopWith();
  const { page, context, console: log, errors } = await shop.visitor();
  await context.route("**/nudge/nudge.js*", (route) => route.fulfill({ status: 200, contentType: "text/javascript", body: previous }));
  await open(page, `${shop.server.url}/?nudge_debug=1`);
  assert.ok(await page.evaluate(() => Boolean(window.nudge.ready)), "the agent started");
  assert.ok(log.some((l) => l.includes("config refused: malformed program at byte 0: not a Nudge program")), log.join("\n"));
  await scrollTo(page, 80);
  assert.deepEqual(await shownCampaigns(page), []);
  await assertShopWorks(page, shop.server.url);
  assert.deepEqual(errors, []);
});

test("when the WebAssembly cannot load (blocked, missing), the shop works unchanged", async () => {
  const shop = await shopWith();
  const { page, context, errors } = await shop.visitor();
  let refused = 0;
  await context.route("**/nudge/nudge_agent_bg.wasm*", (route) => { refused++; return route.fulfill({ status: 404, body: "" }); });
  await page.goto(`${shop.server.url}/product/scarf`);
  // The loader gave up (it sets nudge.failed) because the wasm was asked for
  // and refused: not a pass because nothing ran at all.
  await page.waitForFunction(() => window.nudge && window.nudge.failed, null, { timeout: 15000 });
  assert.ok(refused > 0, "the agent's wasm was requested and refused");
  assert.equal(await page.evaluate(() => window.nudge.ready), undefined);
  // Calls still succeed (queued, never thrown) ...
  assert.equal(await page.evaluate(() => window.nudge.track("Still Fine", {}) === window.nudge), true);
  // ... and on this very page the shop's own add-to-cart, which calls
  // nudge.track itself, still updates the cart in the header.
  assert.equal(await page.textContent("#cart-count"), "0");
  await page.click("#add-to-cart");
  assert.equal(await page.textContent("#cart-count"), "1");
  await page.reload();
  assert.equal(await page.textContent("#cart-count"), "1", "the shop kept its cart");
  assert.deepEqual(errors, []);
});

test("a corrupted stored profile is replaced, never thrown", async () => {
  const shop = await shopWith();
  const { page, errors } = await shop.visitor();
  // Written from a page of the shop without the agent, as another script would.
  const store = async (value) => {
    await page.goto(`${shop.server.url}/shop.css`);
    await page.evaluate((v) => localStorage.setItem("nudge:demo:profile", v), value);
  };
  for (const junk of ["{corrupt", JSON.stringify({ v: 99, something: "else" }), "null", "[1,2]"]) {
    await store(junk);
    await open(page, `${shop.server.url}/?nudge_debug=1`);
    const profile = await page.evaluate(() => window.nudge.debug().profile);
    assert.equal(profile.v, 2, junk);
    assert.equal(profile.pv, 1, junk);
  }
  assert.deepEqual(errors, []);
});

test("a shop callback that throws or calls back into nudge does not break anything", async () => {
  const shop = await shopWith();
  const { page, errors } = await shop.visitor();
  await open(page, `${shop.server.url}/`);
  await page.evaluate(() => {
    window.seen = [];
    window.nudge.on("show", (d) => { window.seen.push(d.campaign_id); window.nudge.track("Saw Popup", { id: d.campaign_id }); });
    window.nudge.on("show", () => { throw new Error("shop bug"); });
  });
  await scrollTo(page, 30);
  await waitForCampaign(page, "welcome");
  assert.deepEqual(await page.evaluate(() => window.seen), ["welcome"]);
  assert.deepEqual(errors, []);
});
