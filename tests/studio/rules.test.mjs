// The rule builder's model, without a browser: every audience in GrowthBook's
// shape goes into rows and groups and comes back out as the same condition,
// so switching between the builder and JSON mode never changes what a
// campaign targets.
import { test } from "node:test";
import assert from "node:assert/strict";
import { groupToCondition, toAudience, toGroups } from "../../studio/rules.js";
import { pathWords } from "../../studio/words.js";
import { getPath, parsePath, setPath } from "../../studio/editor/fields.js";

const roundTrips = [
  ["everyone", {}, null],
  ["the demo's welcome", { "visitor.is_new": true, "orders.count": 0, tags: { $nin: ["subscriber"] } }],
  ["two operators on one attribute", { "cart.value": { $gte: 10, $lt: 75 } }],
  ["groups with OR", { $or: [{ "geo.country": "CA", "cart.items": { $gte: 1 } }, { "traits.plan": { $in: ["gold", "silver"] } }] }],
  ["saved groups", { id: { $inGroup: "staff" }, user_id: { $notInGroup: "banned" } }],
  ["versions, regexes, sizes", { "traits.app": { $vgte: "2.1.0" }, "page.path": { $regex: "^/sale" }, tags: { $size: { $gt: 2 } } }],
  ["every other operator", {
    a: { $ne: "x" }, b: { $exists: false }, c: { $ini: ["A"] }, d: { $nini: ["b"] }, e: { $all: ["x", "y"] }, f: { $alli: ["X"] },
    g: { $regexi: "abc" }, h: { $type: "string" }, i: { $not: { $eq: 3 } }, j: { $elemMatch: { $gt: 5 } },
    k: { $veq: "1" }, l: { $vne: "1" }, m: { $vgt: "1" }, n: { $vlt: "1" }, o: { $vlte: "1" }, p: { $lte: 3 }, q: { $gt: 1 },
  }],
  ["$and, $nor and $not at the top stay whole (custom rows)", { "cart.items": 1, $nor: [{ tags: "vip" }], $and: [{ a: 1 }, { b: 2 }], $not: { c: 3 } }],
  ["an equality with an object or array value", { traits: { plan: "gold" }, tags: ["a", "b"] }],
  ["a lone $or of one group is one group", { $or: [{ a: 1 }] }, { a: 1 }],
];

for (const [name, audience, expected = audience] of roundTrips) {
  test(`audience round trip: ${name}`, () => {
    assert.deepEqual(toAudience(toGroups(audience)), expected ?? undefined);
  });
}

test("rows: one per operator; incomplete rows leave nothing behind", () => {
  const [group] = toGroups({ "cart.value": { $gte: 10, $lt: 75 }, tags: { $nin: ["x"] } });
  assert.deepEqual(group.rows.map((r) => [r.attr, r.op]), [["cart.value", "$gte"], ["cart.value", "$lt"], ["tags", "$nin"]]);
  assert.deepEqual(groupToCondition([{ attr: "", op: "$eq", value: "" }, { attr: "a", op: "$eq", value: 1 }]), { a: 1 });
});

test("paths: core's paths read, written and said in words", () => {
  assert.deepEqual(parsePath("variants[1].content.title"), ["variants", 1, "content", "title"]);
  const campaign = {};
  setPath(campaign, "variants[0].content.title", "Hi");
  assert.deepEqual(campaign, { variants: [{ content: { title: "Hi" } }] });
  assert.equal(getPath(campaign, "variants[0].content.title"), "Hi");
  setPath(campaign, "variants[0].content.title", undefined);
  assert.deepEqual(campaign, { variants: [{ content: {} }] });
  assert.equal(pathWords("content.cta.label"), "Content › Button › Label");
  assert.equal(pathWords("variants[1].weight"), "A/B arms › arm 2 › Share");
  assert.equal(pathWords("trigger.scroll_depth"), "Trigger › Scroll depth");
  assert.equal(pathWords("audience.$or[1].cart.items.$gte"), "Audience › group 2 › cart.items.$gte");
});
