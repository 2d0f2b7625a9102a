// Crashes under load (issue #22's fault runs; `cargo xtask test-objects`
// runs them again over 64 objects): while six browsers send events as the
// agent does (a batch resent until a 202 says it is stored), workerd is
// killed with SIGKILL, its whole process group, five times in about 40 s,
// and restarted on the same state. Afterwards every acknowledged event is
// stored exactly once, the campaign report's exposures equal a recount of
// the acknowledged ones, each browser's orders are counted once each, and
// the event archive (run every second here, so the kills land in its steps
// too) holds every event once. Meanwhile eight signed-in shoppers order on
// another site whose journey thanks them by email and SMS at once: each
// acknowledged order starts one run, each send has one outbox key, and no
// phone gets a text twice. (That every send arrives is not checked: the
// local queue lives in workerd's memory, and a kill loses what it holds;
// Cloudflare's queues are durable, and delivery with retries has its own
// tests.)
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { FORWARD_SECRET, asAgent, identifyAs, readProfile, registerBrowser, siteKeys, startEdge } from "../support/edge.mjs";
import { startSink, until } from "../support/sink.mjs";
import { userToken2 } from "../support/tokens.mjs";

const VARS = {
  RATE_LIMITS: "off", EVENTS_PER_MINUTE_PER_CLIENT: "100000000", EVENTS_PER_MINUTE_PER_SITE: "100000000",
  EVENT_ARCHIVE_PERIOD_SECONDS: "1", EVENT_ARCHIVE_SETTLE_SECONDS: "0",
};
const AB = "free-shipping-test"; // the demo config's A/B campaign
const VARIANTS = ["control", "plain", "urgency"];
const BROWSERS = 6;
const KILLS = 5;
const KILL_EVERY_MS = 6_000;

// The journeys' site: a journey that sends an email and an SMS as an order
// comes in, to a local sink.
const JOURNEY_SITE = "faults-journeys";
const SHOPPERS = 8;
const TWILIO_SID = `AC${"0123456789abcdef".repeat(2)}`;
const phoneOf = (n) => `+1555010${String(n).padStart(4, "0")}`;

let edge, sink;
before(async () => {
  sink = await startSink();
  edge = await startEdge({ vars: VARS });
  await setUpJourneys();
});
// The restarted edges share the first one's state directory: removed here.
after(async () => {
  await edge?.stop();
  if (edge) rmSync(edge.state, { recursive: true, force: true });
  await sink?.close();
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** SIGKILL for workerd and wrangler at once, then the same state again. */
async function crashAndRestart() {
  const { pid, port, state } = edge;
  try { process.kill(-pid, "SIGKILL"); } catch { /* gone already */ }
  for (let i = 0; i < 100; i++) {
    try { process.kill(-pid, 0); } catch { break; }
    await sleep(50);
  }
  edge = await startEdge({ port, state, seedDemo: false, vars: VARS });
}

/** One browser: batches sent until acknowledged, as the agent's outbox does. */
async function browser(n, running, acked) {
  const anonymousId = `fault-${n}`;
  const variant = VARIANTS[n % VARIANTS.length];
  let b = 0;
  while (running()) {
    const id = (k) => `fault-${n}-${b}-${k}`;
    const when = new Date().toISOString();
    const batch = [
      { type: "track", event: "Campaign Shown", messageId: id(0), anonymousId, timestamp: when,
        properties: { campaign_id: AB, variant, control: variant === "control" } },
      { type: "track", event: "Product Viewed", messageId: id(1), anonymousId, timestamp: when,
        properties: { product_id: `p${b}` } },
    ];
    if (b % 4 === 3) {
      batch.push({ type: "track", event: "Order Completed", messageId: id(2), anonymousId, timestamp: when,
        properties: { order_id: `o-${n}-${b}`, total: 10 } });
    }
    for (;;) {
      try {
        const r = await fetch(`${edge.url}/v1/events?site=demo`, { method: "POST", body: asAgent(batch) });
        if (r.status === 202) {
          await r.body?.cancel();
          for (const e of batch) acked.set(e.messageId, e);
          break;
        }
        await r.body?.cancel();
      } catch { /* the edge is down: the agent tries again */ }
      await sleep(150);
    }
    b++;
  }
}

async function setUpJourneys() {
  const put = async (path, body) => {
    const r = await edge.admin(`/v1/admin/sites/${JOURNEY_SITE}/${path}`, { method: "PUT", body: JSON.stringify(body) });
    assert.equal(r.status, 200, await r.text());
  };
  await put("config", { campaigns: [], journeys: [{
    id: "thanks", entry: { event: "Order Completed" },
    steps: [{ send: { destination: "email", event: "Thanks" } }, { send: { destination: "sms", event: "Related Products" } }],
  }] });
  await put("destinations", { destinations: [
    { id: "email", kind: "webhook", url: `${sink.url}/email`, events: ["Never Forwarded"], consent: "marketing", credential: FORWARD_SECRET },
    { id: "sms", kind: "twilio", url: `${sink.url}/sms`, account: TWILIO_SID, from: "+15550001111",
      events: ["Related Products"], messages: { "Related Products": "Thanks for your order" }, consent: "marketing", credential: "twilio-auth" },
  ] });
  // Each shopper signed in with a verified phone.
  for (let n = 0; n < SHOPPERS; n++) {
    const anonymousId = `fault-shopper-${n}`;
    await registerBrowser(edge.url, anonymousId, JOURNEY_SITE);
    const token = userToken2({ u: `fault-user-${n}`, p: phoneOf(n) }, { site: JOURNEY_SITE, secret: siteKeys(JOURNEY_SITE).signing });
    const r = await identifyAs(edge.url, anonymousId, { userToken: token }, JOURNEY_SITE);
    assert.equal(r.status, 200, await r.text());
  }
}

/** A signed-in shopper orders once, at `delayMs` into the load: resent until acknowledged. */
async function shopper(n, delayMs, ordered) {
  await sleep(delayMs);
  const anonymousId = `fault-shopper-${n}`;
  const order = { type: "track", event: "Order Completed", messageId: `fault-order-${n}`, anonymousId,
    timestamp: new Date().toISOString(), properties: { order_id: `fault-o-${n}`, total: 20 },
    context: { page: { path: "/order-confirmation" }, consent: { analytics: true, marketing: true } } };
  for (;;) {
    try {
      const r = await fetch(`${edge.url}/v1/events?site=${JOURNEY_SITE}`, { method: "POST", body: asAgent([order]) });
      await r.body?.cancel();
      if (r.status === 202) return ordered.add(anonymousId);
    } catch { /* the edge is down: the agent tries again */ }
    await sleep(150);
  }
}

async function listing() {
  const all = [];
  let cursor = "";
  for (;;) {
    const page = await (await edge.admin(`/v1/admin/sites/demo/events?limit=200${cursor}`)).json();
    all.push(...page.events);
    if (page.next_before == null) return { events: all, archived: page.archived, total: page.total };
    cursor = `&before=${page.next_before}&before_id=${encodeURIComponent(page.next_before_id)}`;
  }
}

test("five crashes under load: every acknowledged event stored once, reports and facts equal a recount, journeys send at most once", { timeout: 240_000 }, async (t) => {
  const acked = new Map();
  const ordered = new Set();
  let stop = false;
  const browsers = Array.from({ length: BROWSERS }, (_, n) => browser(n, () => !stop, acked));
  // The orders spread over the kills: their runs and sends are cut at every step.
  const shoppers = Array.from({ length: SHOPPERS }, (_, n) => shopper(n, (n * KILLS * KILL_EVERY_MS) / SHOPPERS, ordered));
  for (let k = 0; k < KILLS; k++) {
    await sleep(KILL_EVERY_MS);
    await crashAndRestart();
  }
  await sleep(3_000);
  stop = true;
  await Promise.all([...browsers, ...shoppers]);

  // Stored exactly once, and nothing unacknowledged of ours left over (a
  // batch stored whose 202 a crash lost was sent again and acknowledged).
  const stored = (await listing()).events.filter((e) => e.id.startsWith("fault-"));
  const ids = stored.map((e) => e.id);
  assert.equal(new Set(ids).size, ids.length, "no event stored twice");
  assert.deepEqual([...ids].sort(), [...acked.keys()].sort(), "every acknowledged event, and only those");
  assert.ok(acked.size > 200, `a real load: ${acked.size} events acknowledged`);
  t.diagnostic(`${KILLS} crashes; ${acked.size} events acknowledged, each stored once`);

  // The report's exposures equal a recount of the acknowledged ones.
  const shown = [...acked.values()].filter((e) => e.event === "Campaign Shown");
  const today = new Date().toISOString().slice(0, 10);
  const r = await edge.admin(`/v1/admin/sites/demo/campaigns/${AB}/report?from=${today}&to=${today}`);
  assert.equal(r.status, 200, await r.clone().text());
  const report = await r.json();
  for (const variant of VARIANTS) {
    const arm = report.variants.find((v) => v.key === variant);
    const recount = shown.filter((e) => e.properties.variant === variant).length;
    assert.equal(arm.impressions, recount, `${variant}: impressions`);
    const persons = new Set(shown.filter((e) => e.properties.variant === variant).map((e) => e.anonymousId)).size;
    assert.equal(arm.exposed_persons, persons, `${variant}: exposed persons`);
  }

  // Each browser's orders, counted once each in the person's facts.
  for (let n = 0; n < BROWSERS; n++) {
    const orders = [...acked.values()].filter((e) => e.anonymousId === `fault-${n}` && e.event === "Order Completed");
    const profile = await readProfile(edge.url, `fault-${n}`);
    assert.equal(profile.orders, orders.length, `fault-${n}: orders`);
  }

  // The archive, crashed in its steps too, holds every event once.
  await until(async () => {
    await edge.admin("/v1/admin/sites/demo/journeys/run-due", { method: "POST" });
    const l = await listing();
    return l.archived === l.total;
  }, 60_000);
  const archived = (await listing()).events.filter((e) => e.id.startsWith("fault-"));
  assert.deepEqual(archived.map((e) => e.id), ids, "the same events, once each, from the archive");

  // The journeys: one run per acknowledged order, finished; one outbox key
  // per send; no phone texted twice.
  assert.equal(ordered.size, SHOPPERS);
  const runsOf = async (n) => {
    const r = await edge.admin(`/v1/admin/sites/${JOURNEY_SITE}/journeys/runs?person=fault-shopper-${n}`);
    assert.equal(r.status, 200, await r.clone().text());
    return (await r.json()).runs;
  };
  await until(async () => {
    await edge.admin(`/v1/admin/sites/${JOURNEY_SITE}/journeys/run-due`, { method: "POST" });
    for (let n = 0; n < SHOPPERS; n++) if (!(await runsOf(n)).every((run) => run.exit)) return false;
    return true;
  }, 60_000);
  for (let n = 0; n < SHOPPERS; n++) {
    const runs = await runsOf(n);
    assert.equal(runs.length, 1, `fault-shopper-${n}: one run for one order (${JSON.stringify(runs)})`);
    assert.equal(runs[0].exit, "completed", JSON.stringify(runs[0]));
  }
  await sleep(5_000); // what the queue still holds arrives
  const emails = sink.requests.filter((r) => r.path === "/email");
  const keysByShopper = new Map();
  for (const e of emails) {
    const keys = keysByShopper.get(e.body.anonymousId) ?? new Set();
    keysByShopper.set(e.body.anonymousId, keys.add(e.id));
  }
  for (const [shopperId, keys] of keysByShopper) assert.equal(keys.size, 1, `${shopperId}: one outbox key for its email, not ${[...keys]}`);
  const texts = sink.requests.filter((r) => r.path.startsWith("/sms")).map((r) => new URLSearchParams(r.body).get("To"));
  assert.equal(new Set(texts).size, texts.length, `no phone texted twice: ${texts}`);
  for (const phone of texts) assert.ok(Array.from({ length: SHOPPERS }, (_, n) => phoneOf(n)).includes(phone), phone);
  t.diagnostic(`journeys: ${SHOPPERS} orders, ${SHOPPERS} runs completed; ${keysByShopper.size} emails (${emails.length} deliveries) and ${texts.length} texts arrived`);
});
