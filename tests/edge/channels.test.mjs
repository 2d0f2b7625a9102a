// Forwarding in each channel's own shape: Klaviyo's Events API, Drip's events
// API, Twilio SMS for configured events, Meta's Conversions API. One local
// sink stands in for all four APIs (each destination's `url` points at it).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { asAgent, identifyAs, startEdge } from "../support/edge.mjs";
import { startSink, until } from "../support/sink.mjs";
import { userToken2, webhook } from "../support/tokens.mjs";

const SECRETS = { KLAVIYO: "pk_test_klaviyo", DRIP: "drip-token", TWILIO: "twilio-auth", META: "EAAB-meta" };
const TWILIO_SID = `AC${"0123456789abcdef".repeat(2)}`;
let edge, sink;
before(async () => {
  // Klaviyo's first answer to the order is a rate limit: it is retried, and lands once.
  sink = await startSink((id, attempt, path) => (path.startsWith("/klaviyo") && id === "ch-order" && attempt === 1 ? 429 : 200));
  edge = await startEdge();
  const put = await edge.admin("/v1/admin/sites/demo/destinations", { method: "PUT", body: JSON.stringify({ destinations: [
    { id: "klaviyo", kind: "klaviyo", url: `${sink.url}/klaviyo`, events: ["*"], consent: "marketing", credential: SECRETS.KLAVIYO },
    { id: "drip", kind: "drip", url: `${sink.url}/drip`, account: "9876", events: ["identify", "Signed Up", "Order Completed"],
      consent: "marketing", credential: SECRETS.DRIP, map: { "Signed Up": "Joined the newsletter" } },
    { id: "sms", kind: "twilio", url: `${sink.url}/twilio`, account: TWILIO_SID, from: "+15550001111", events: ["Order Completed"],
      messages: { "Order Completed": "Thanks! Order {{properties.order_id}} is confirmed." }, consent: "marketing", credential: SECRETS.TWILIO },
    { id: "meta", kind: "meta", url: `${sink.url}/meta`, pixel: "1234", events: ["Product Viewed", "Order Completed"],
      consent: "marketing", credential: SECRETS.META },
  ] }) });
  assert.equal(put.status, 200, await put.text());
});
after(async () => { await edge?.stop(); await sink?.close(); });

const consent = { analytics: true, marketing: true };
const at = (offset = 0) => new Date(Date.now() - offset).toISOString();
const track = (id, anonymousId, event, properties = {}) => ({
  type: "track", event, messageId: id, anonymousId, timestamp: at(), properties,
  context: { page: { url: "https://shop.test/checkout", path: "/checkout" }, consent },
});
const send = (batch) => fetch(`${edge.url}/v1/events?site=demo`, {
  method: "POST", body: asAgent(batch), headers: { "user-agent": "Mozilla/5.0 (test)" },
});
const sha256 = (s) => createHash("sha256").update(s).digest("hex");
const to = (prefix) => sink.requests.filter((r) => r.path.startsWith(prefix));

test("channel-specific fields are validated", async () => {
  const bad = await edge.admin("/v1/admin/sites/demo/destinations", { method: "PUT", body: JSON.stringify({ destinations: [
    { id: "sms", kind: "twilio", account: "AC1", from: "555", events: ["*"], consent: "marketing", credential: SECRETS.TWILIO },
    { id: "meta", kind: "meta", events: ["*"], consent: "marketing", credential: SECRETS.META },
  ] }) });
  assert.equal(bad.status, 400);
  assert.deepEqual((await bad.json()).problems.map((p) => p.path), [
    "destinations[0].account", "destinations[0].from", "destinations[0].events[0]", "destinations[1].pixel",
  ]);
});

test("each channel gets the event in its API's shape, addressed with the contact on record", async () => {
  const lead = "ch-lead";
  assert.equal((await send([
    { type: "identify", messageId: "ch-identify", anonymousId: lead, timestamp: at(), traits: { email: "Ada@Example.com", phone: "+1 555 123 0000", first_name: "Ada" },
      context: { page: { path: "/" }, consent } },
    track("ch-signup", lead, "Signed Up", { campaign_id: "welcome", field: "email" }),
    track("ch-view", lead, "Product Viewed", { product_id: "p-7", price: 30, currency: "EUR" }),
  ])).status, 202);
  // The shop's backend signs the customer in, vouching for their number: only a
  // verified number is ever texted (what the popup said is not enough).
  const signIn = await identifyAs(edge.url, lead, { userToken: userToken2({ u: "ch-user", p: "+15551230000" }) });
  assert.equal(signIn.status, 200, await signIn.text());
  // A later batch: the order names no one, the edge knows who this browser is.
  assert.equal((await send([track("ch-order", lead, "Order Completed", { order_id: "o-1", total: 60, currency: "EUR", products: [{ product_id: "p-7" }] })])).status, 202);
  // A stranger: no email or phone known; their order carries a number (an SMS relay attempt).
  assert.equal((await send([track("ch-stranger", "ch-anon", "Order Completed", { order_id: "o-2", total: 10, phone: "+15559990000" })])).status, 202);

  await until(() => to("/klaviyo").length >= 5 && to("/drip").length >= 3 && to("/twilio").length >= 1 && to("/meta").length >= 3);
  await new Promise((r) => setTimeout(r, 1500)); // room for any wrong extra delivery

  // Klaviyo: a profile import for the identify, Events API for the rest; the order once despite the 429.
  const klaviyo = to("/klaviyo");
  assert.deepEqual(klaviyo.map((r) => r.id).sort(), ["ch-identify", "ch-order", "ch-signup", "ch-stranger", "ch-view"]);
  assert.ok(sink.attempts.get("/klaviyo/api/events ch-order") >= 2, "the 429 was retried");
  for (const r of klaviyo) {
    assert.equal(r.headers.authorization, "Klaviyo-API-Key pk_test_klaviyo");
    assert.match(r.headers.revision, /^\d{4}-\d{2}-\d{2}$/);
  }
  assert.equal(klaviyo.find((r) => r.id === "ch-identify").path, "/klaviyo/api/profile-import");
  const order = klaviyo.find((r) => r.id === "ch-order").body.data.attributes;
  assert.equal(order.profile.data.attributes.external_id, "ch-user");
  assert.equal(order.metric.data.attributes.name, "Placed Order");
  assert.equal(order.unique_id, "ch-order");
  assert.deepEqual([order.value, order.value_currency], [60, "EUR"]);
  assert.equal(order.profile.data.attributes.email, "Ada@example.com", "what the popup gave, as normalized (domain lowercased): nothing was on record");
  assert.equal(order.profile.data.attributes.phone_number, "+15551230000");
  const stranger = klaviyo.find((r) => r.id === "ch-stranger").body.data.attributes.profile.data.attributes;
  assert.deepEqual(stranger, { anonymous_id: "ch-anon" }, "the number in the event addresses nobody");

  // Drip: only people with an email; its own action names, the destination's map first.
  const drip = to("/drip");
  assert.deepEqual(drip.map((r) => `${r.path} ${r.id}`).sort(), [
    "/drip/v2/9876/events ch-order", "/drip/v2/9876/events ch-signup", "/drip/v2/9876/subscribers ch-identify",
  ]);
  assert.equal(drip[0].headers.authorization, `Basic ${Buffer.from("drip-token:").toString("base64")}`);
  const actions = drip.filter((r) => r.path.endsWith("/events")).map((r) => r.body.events[0].action).sort();
  assert.deepEqual(actions, ["Joined the newsletter", "Placed an order"]);

  // Twilio: one SMS, to the phone on record, with the configured text.
  const sms = to("/twilio");
  assert.equal(sms.length, 1);
  assert.equal(sms[0].path, `/twilio/2010-04-01/Accounts/${TWILIO_SID}/Messages.json`);
  assert.equal(sms[0].headers.authorization, `Basic ${Buffer.from(`${TWILIO_SID}:twilio-auth`).toString("base64")}`);
  const form = new URLSearchParams(sms[0].body);
  assert.deepEqual([form.get("To"), form.get("From"), form.get("Body")], ["+15551230000", "+15550001111", "Thanks! Order o-1 is confirmed."]);

  // Meta: standard names, the event id shared with the pixel, hashed user data.
  const meta = to("/meta");
  assert.deepEqual(meta.map((r) => r.id).sort(), ["ch-order", "ch-stranger", "ch-view"]);
  const purchase = meta.find((r) => r.id === "ch-order").body;
  assert.equal(purchase.access_token, "EAAB-meta");
  const e = purchase.data[0];
  assert.deepEqual([e.event_name, e.event_id, e.action_source], ["Purchase", "ch-order", "website"]);
  assert.ok(Math.abs(e.event_time - Date.now() / 1000) < 120);
  assert.deepEqual(e.user_data.em, [sha256("ada@example.com")]);
  assert.deepEqual(e.user_data.ph, [sha256("15551230000")]);
  assert.equal(e.user_data.client_user_agent, "Mozilla/5.0 (test)");
  assert.deepEqual(e.custom_data, { value: 60, currency: "EUR", content_ids: ["p-7"], content_type: "product", order_id: "o-1" });
  assert.equal(meta.find((r) => r.id === "ch-view").body.data[0].event_name, "ViewContent");
});

test("an unsubscribed person gets no more SMS; other channels still hear of the order", async () => {
  const r = await webhook(`${edge.url}/v1/hooks/email?site=demo`, { type: "unsubscribed", email: "ada@example.com" });
  assert.equal(r.status, 200, await r.text());
  assert.equal((await send([track("ch-order-2", "ch-lead", "Order Completed", { order_id: "o-3", total: 20 })])).status, 202);
  await until(() => to("/klaviyo").some((r) => r.id === "ch-order-2") && to("/meta").some((r) => r.id === "ch-order-2"));
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(to("/twilio").length, 1, "no SMS after unsubscribing");
});
