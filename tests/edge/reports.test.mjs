// Campaign reports through the real Worker: events posted as the agent
// sends them, then the report read back as JSON and CSV, with exact numbers;
// bad query parameters refused with a stable code.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { asAgent, identifyAs, startEdge } from "../support/edge.mjs";
import { userToken, clickToken } from "../support/tokens.mjs";

let edge;
before(async () => { edge = await startEdge(); });
after(async () => { await edge.stop(); });

const DAY = 86_400_000;
const today = Math.floor(Date.now() / DAY);
const date = (day) => new Date(day * DAY).toISOString().slice(0, 10);
// Three days ago: every event below is in the past, whatever the hour now.
const D0 = today - 3;
const at = (day, hour) => new Date(day * DAY + hour * 3_600_000).toISOString();

let seq = 0;
const track = (anonymousId, event, when, properties = {}, extra = {}) => ({
  type: "track", event, messageId: `rep-${++seq}`, anonymousId, timestamp: when, properties, ...extra,
});
const post = async (batch) => {
  const r = await fetch(`${edge.url}/v1/events?site=demo`, { method: "POST", body: asAgent(batch) });
  assert.equal(r.status, 202, await r.clone().text());
  return r.json();
};
const report = (campaign, query = "") => edge.admin(`/v1/admin/sites/demo/campaigns/${campaign}/report${query}`);
const range = `?from=${date(D0)}&to=${date(today)}`;
const AB = "free-shipping-test"; // demo config: control / plain / urgency, goal "Checkout Started"
const shown = (anonymousId, variant, when, extra = {}) =>
  track(anonymousId, "Campaign Shown", when, { campaign_id: AB, variant, control: variant === "control", ...extra });

test("an A/B campaign's report: exposures, actions, conversions and revenue per arm and day", async () => {
  const plain = { campaign_id: AB, variant: "plain" };
  const first = [shown("rep-a", "plain", at(D0, 10)), track("rep-a", "Campaign Clicked", at(D0, 10), plain)];
  await post(first);
  assert.deepEqual(await post(first), { accepted: 0, duplicates: 2 }, "delivered twice: counted once");
  await post([track("rep-a", "Checkout Started", at(D0 + 1, 11))]); // lag 1: a conversion
  await post([track("rep-a", "Checkout Started", at(D0 + 1, 12))]); // not a second one
  await post([track("rep-a", "Order Completed", at(D0 + 2, 9), { total: 30.5 })]);
  await post([shown("rep-b", "urgency", at(D0, 12)), track("rep-b", "Campaign Dismissed", at(D0, 12), { campaign_id: AB, variant: "urgency" })]);
  await post([shown("rep-c", "control", at(D0 + 1, 8))]);
  // The studio's preview, tagged either way, and an arm the test does not have: never counted.
  await post([shown("rep-p", "plain", at(D0, 10), { preview: true })]);
  await post([{ ...shown("rep-q", "urgency", at(D0, 11)), context: { preview: true } }]);
  await post([shown("rep-z", "no-such-arm", at(D0, 10))]);

  const r = await report(AB, `${range}&window=7`);
  assert.equal(r.status, 200, await r.clone().text());
  const body = await r.json();
  assert.equal(body.campaign, AB);
  assert.equal(body.goal, "Checkout Started");
  assert.deepEqual([body.from, body.to, body.window_days], [date(D0), date(today), 7]);
  assert.deepEqual(body.variants, [
    { key: "control", control: true, weight: 0.34, exposed_persons: 1, impressions: 1, clicks: 0, click_through_rate: null,
      submits: 0, dismissals: 0, conversions: 0, conversion_rate: 0, revenue: 0, revenue_per_exposed_person: 0 },
    { key: "plain", control: false, weight: 0.33, exposed_persons: 1, impressions: 1, clicks: 1, click_through_rate: 1,
      submits: 0, dismissals: 0, conversions: 1, conversion_rate: 1, revenue: 30.5, revenue_per_exposed_person: 30.5 },
    { key: "urgency", control: false, weight: 0.33, exposed_persons: 1, impressions: 1, clicks: 0, click_through_rate: 0,
      submits: 0, dismissals: 1, conversions: 0, conversion_rate: 0, revenue: 0, revenue_per_exposed_person: 0 },
  ]);
  assert.equal(body.days.length, 4 * 3, "every day × every arm");
  assert.deepEqual(body.days.find((d) => d.day === date(D0) && d.variant === "plain"),
    { day: date(D0), variant: "plain", exposed_persons: 1, impressions: 1, clicks: 1, submits: 0, dismissals: 0, conversions: 1, revenue: 30.5 });
  assert.deepEqual(body.days.find((d) => d.day === date(D0 + 1) && d.variant === "control").exposed_persons, 1);
  assert.deepEqual([body.persons_in_several_arms, body.several_arms_share], [0, 0]);

  // The window is chosen when reading: the conversion came 1 day after the exposure.
  const oneDay = await (await report(AB, `${range}&window=1`)).json();
  assert.equal(oneDay.variants[1].conversions, 0);
  assert.equal(oneDay.variants[1].revenue, 0, "the order came on day 2");
  const threeDays = await (await report(AB, `${range}&window=3`)).json();
  assert.deepEqual([threeDays.variants[1].conversions, threeDays.variants[1].revenue], [1, 30.5]);
  // A range that starts after the exposures has no exposed persons.
  const later = await (await report(AB, `?from=${date(D0 + 2)}&to=${date(today)}`)).json();
  assert.deepEqual(later.variants.map((v) => v.exposed_persons), [0, 0, 0]);
});

test("the report as CSV: one row per day × arm, for spreadsheets", async () => {
  const r = await report(AB, `${range}&format=csv`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get("content-type"), /^text\/csv/);
  assert.equal(r.headers.get("content-disposition"), `attachment; filename="nudge-${AB}-${date(D0)}-${date(today)}.csv"`);
  const lines = (await r.text()).split("\r\n");
  assert.equal(lines[0], "day,variant,control,exposed_persons,impressions,clicks,submits,dismissals,conversions,revenue");
  assert.equal(lines.length, 1 + 4 * 3 + 1, "header, rows, the final line break");
  assert.ok(lines.includes(`${date(D0)},plain,false,1,1,1,0,0,1,30.5`), lines.join("\n"));
  assert.ok(lines.includes(`${date(D0 + 1)},control,true,1,1,0,0,0,0,0`));
});

test("a person's devices are one exposed person, converting once", async () => {
  // welcome: no A/B test (the arm ""), goal "Signed Up".
  const welcome = { campaign_id: "welcome" };
  await post([track("rep-desk", "Campaign Shown", at(D0, 9), welcome)]);
  await identifyAs(edge.url, "rep-desk", { userToken: userToken("rep-user") });
  await post([track("rep-phone", "Page Viewed", at(D0, 10))]);
  const merged = await identifyAs(edge.url, "rep-phone", { clickToken: clickToken({ u: "rep-user" }) });
  assert.deepEqual(await merged.json(), { merged: true });
  await post([track("rep-phone", "Signed Up", at(D0 + 1, 9), { ...welcome, field: "email" })]);
  await post([track("rep-desk", "Signed Up", at(D0 + 1, 10), { ...welcome, field: "email" })]);
  const body = await (await report("welcome", range)).json();
  assert.equal(body.variants.length, 1);
  const [arm] = body.variants;
  assert.deepEqual([arm.key, arm.weight, arm.exposed_persons, arm.impressions, arm.submits, arm.conversions], ["", 1, 1, 1, 2, 1]);
});

test("the summary lists every campaign with data, for the studio's list", async () => {
  const r = await edge.admin("/v1/admin/sites/demo/reports/summary?days=7");
  assert.equal(r.status, 200);
  const body = await r.json();
  assert.deepEqual([body.days, body.window_days, body.to], [7, 7, date(today)]);
  const ab = body.campaigns.find((c) => c.campaign === AB);
  // Impressions of the arms that show something: the control's exposure is not one.
  assert.deepEqual(ab, { campaign: AB, exposed_persons: 3, impressions: 2, clicks: 1, click_through_rate: 0.5,
    conversions: 1, conversion_rate: 1 / 3, revenue: 30.5 });
  assert.deepEqual(body.campaigns.map((c) => c.campaign).sort(), [AB, "welcome"]);
});

test("bad parameters are refused with a stable code", async () => {
  const refused = async (path, status, code) => {
    const r = await edge.admin(path);
    assert.equal(r.status, status, path);
    assert.equal((await r.json()).error, code, path);
  };
  const base = `/v1/admin/sites/demo/campaigns/${AB}/report`;
  for (const window of ["0", "91", "seven", "7.5"]) await refused(`${base}?window=${window}`, 400, "invalid_window");
  for (const day of ["2026-02-30", "2026-9-01", "today"]) await refused(`${base}?from=${day}`, 400, "invalid_date");
  await refused(`${base}?from=${date(today)}&to=${date(today - 1)}`, 400, "invalid_range");
  await refused(`${base}?from=${date(today - 400)}&to=${date(today)}`, 400, "invalid_range");
  await refused(`${base}?format=xml`, 400, "invalid_format");
  await refused("/v1/admin/sites/demo/campaigns/no%20such/report", 400, "invalid_campaign");
  await refused("/v1/admin/sites/demo/campaigns/ghost/report", 404, "unknown_campaign");
  await refused("/v1/admin/sites/demo/reports/summary?days=0", 400, "invalid_days");
  await refused("/v1/admin/sites/demo/reports/summary?window=100", 400, "invalid_window");
  // 400 days are fine.
  assert.equal((await edge.admin(`${base}?from=${date(today - 399)}&to=${date(today)}`)).status, 200);
  const anonymous = await fetch(`${edge.url}${base}`);
  assert.equal(anonymous.status, 401);
  const otherSite = await fetch(`${edge.url}${base}`, { headers: { authorization: "Bearer nope" } });
  assert.equal(otherSite.status, 401);
});
