// The audience rule builder: rows (attribute, operator, value) combined with
// AND inside a group, groups combined with OR, in GrowthBook's condition
// shape: one group is `{...rows}`, several are `{"$or": [{...}, {...}]}`.
// A JSON mode edits the same condition as text and round-trips with the rows.

import { getPath, setPath } from "./editor/fields.js";
import { h, replace, uid } from "./ui.js";

/** The attributes core gives audiences (core::decide::build_attributes). */
export const ATTRIBUTES = [
  ["visitor.is_new", "bool", "New visitor (first visit, no order)"],
  ["visitor.is_returning", "bool", "Returning visitor"],
  ["visitor.sessions", "number", "Visits so far"],
  ["visitor.page_views", "number", "Pages viewed, all visits"],
  ["visitor.session_page_views", "number", "Pages viewed this visit"],
  ["visitor.seconds_on_site", "number", "Seconds on the site, all visits"],
  ["visitor.max_scroll_depth", "number", "Deepest scroll (%)"],
  ["visitor.days_since_first_visit", "number", "Days since the first visit"],
  ["is_customer", "bool", "Has ordered before"],
  ["cart.items", "number", "Items in the cart"],
  ["cart.value", "number", "Cart value"],
  ["orders.count", "number", "Orders"],
  ["orders.total_spent", "number", "Total spent"],
  ["orders.days_since_last", "number", "Days since the last order"],
  ["coupons.available", "number", "Unused coupons"],
  ["coupons.latest", "string", "Latest unused coupon code"],
  ["tags", "list", "Tags"],
  ["segments", "list", "Segments (from the edge)"],
  ["traits.first_name", "string", "Trait: first name"],
  ["traits.email", "string", "Trait: email"],
  ["page.path", "string", "Page path"],
  ["page.url", "string", "Page address"],
  ["page.search", "string", "Page query string"],
  ["page.referrer", "string", "Referrer"],
  ["page.title", "string", "Page title"],
  ["page.type", "string", "Page type (product, category, cart…)"],
  ["page.category", "string", "Page category"],
  ["page.category_views", "number", "Views of this category"],
  ["page.product_id", "string", "Product id"],
  ["page.scroll_depth", "number", "Scroll on this page (%)"],
  ["page.seconds", "number", "Seconds on this page"],
  ["utm.source", "string", "UTM source"],
  ["utm.medium", "string", "UTM medium"],
  ["utm.campaign", "string", "UTM campaign"],
  ["utm.term", "string", "UTM term"],
  ["utm.content", "string", "UTM content"],
  ["device.type", "string", "Device (mobile, tablet, desktop)"],
  ["device.language", "string", "Browser language"],
  ["device.width", "number", "Screen width (px)"],
  ["device.touch", "bool", "Touch screen"],
  ["geo.country", "string", "Country (ISO code, e.g. CA)"],
  ["geo.region", "string", "Region"],
  ["consent.analytics", "bool", "Consented to analytics"],
  ["consent.marketing", "bool", "Consented to marketing"],
  ["id", "string", "Visitor id (user id, else anonymous id)"],
  ["user_id", "string", "User id"],
  ["anonymous_id", "string", "Anonymous id"],
];

export const OPERATORS = {
  $eq: "is", $ne: "is not",
  $gt: "is more than", $gte: "is at least", $lt: "is less than", $lte: "is at most",
  $in: "is one of", $nin: "is none of", $ini: "is one of (any case)", $nini: "is none of (any case)",
  $all: "has all of", $alli: "has all of (any case)", $size: "has this many items", $elemMatch: "has an item matching (JSON)",
  $exists: "is set or not", $regex: "matches the pattern", $regexi: "matches the pattern (any case)",
  $inGroup: "is in the saved group", $notInGroup: "is not in the saved group",
  $veq: "version is", $vne: "version is not", $vgt: "version is after", $vgte: "version is at least",
  $vlt: "version is before", $vlte: "version is at most",
  $type: "is of the type", $not: "does not match (JSON)",
  $json: "custom condition (JSON)",
};

const COMMON = {
  bool: ["$eq", "$ne", "$exists"],
  number: ["$eq", "$ne", "$gte", "$gt", "$lte", "$lt", "$in", "$nin", "$exists"],
  string: ["$eq", "$ne", "$in", "$nin", "$ini", "$nini", "$regex", "$regexi", "$exists", "$inGroup", "$notInGroup"],
  list: ["$in", "$nin", "$all", "$alli", "$size", "$elemMatch", "$exists"],
};
const LIST_OPS = new Set(["$in", "$nin", "$ini", "$nini", "$all", "$alli"]);
const JSON_OPS = new Set(["$elemMatch", "$not", "$json"]);
const TEXT_OPS = new Set(["$regex", "$regexi", "$veq", "$vne", "$vgt", "$vgte", "$vlt", "$vlte"]);
const TYPES = ["string", "number", "boolean", "array", "object", "null", "undefined"];

export function attributeType(attr, attributes = ATTRIBUTES) {
  return attributes.find(([name]) => name === attr)?.[1] || null;
}

const isPlainObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const isOperatorObject = (v) => isPlainObject(v) && Object.keys(v).length > 0 && Object.keys(v).every((k) => k.startsWith("$"));

/** A condition object → rows (one per operator); `$and`, `$nor`, `$not`… become custom JSON rows. */
function rowsOf(condition) {
  const rows = [];
  for (const [attr, cond] of Object.entries(condition || {})) {
    if (attr.startsWith("$")) rows.push({ attr: "", op: "$json", value: { [attr]: cond } });
    else if (isOperatorObject(cond)) for (const [op, arg] of Object.entries(cond)) rows.push({ attr, op, value: arg });
    else rows.push({ attr, op: "$eq", value: cond });
  }
  return rows;
}

/** The audience → groups of rows. */
export function toGroups(audience) {
  if (!isPlainObject(audience) || Object.keys(audience).length === 0) return [];
  const keys = Object.keys(audience);
  if (keys.length === 1 && keys[0] === "$or" && Array.isArray(audience.$or) && audience.$or.length > 0
      && audience.$or.every((g) => isPlainObject(g) && Object.keys(g).length > 0)) {
    return audience.$or.map((g) => ({ rows: rowsOf(g) }));
  }
  return [{ rows: rowsOf(audience) }];
}

/** One group's rows → a condition object (rows on one attribute share its operator object). */
export function groupToCondition(rows) {
  const byAttr = new Map();
  const out = {};
  for (const row of rows) {
    if (row.op === "$json") {
      if (isPlainObject(row.value)) Object.assign(out, row.value);
      continue;
    }
    if (!row.attr) continue;
    if (!byAttr.has(row.attr)) byAttr.set(row.attr, []);
    byAttr.get(row.attr).push(row);
  }
  for (const [attr, list] of byAttr) {
    const only = list.length === 1 ? list[0] : null;
    // `{attr: value}` is GrowthBook's equality (objects and arrays compare as JSON).
    if (only && only.op === "$eq" && !isOperatorObject(only.value)) out[attr] = only.value;
    else out[attr] = Object.fromEntries(list.map((r) => [r.op, r.value]));
  }
  return out;
}

/** Groups → the audience (undefined: everyone). */
export function toAudience(groups) {
  const conditions = groups.map((g) => groupToCondition(g.rows)).filter((c) => Object.keys(c).length > 0);
  if (conditions.length === 0) return undefined;
  if (conditions.length === 1) return conditions[0];
  return { $or: conditions };
}

/** How a row's value is edited, from its operator and attribute type. */
function valueKind(row, attributes) {
  if (row.op === "$exists") return "exists";
  if (row.op === "$inGroup" || row.op === "$notInGroup") return "group";
  if (row.op === "$type") return "type";
  if (JSON_OPS.has(row.op)) return "json";
  if (LIST_OPS.has(row.op)) return "list";
  if (TEXT_OPS.has(row.op)) return "text";
  if (row.op === "$size") return "number";
  if (isPlainObject(row.value) || Array.isArray(row.value)) return "json";
  const type = row.valueType || attributeType(row.attr, attributes) || inferType(row.value);
  if (type === "bool") return row.op === "$eq" || row.op === "$ne" ? "bool" : "text";
  if (type === "number") return "number";
  return "text";
}

function inferType(value) {
  if (typeof value === "boolean") return "bool";
  if (typeof value === "number") return "number";
  return "string";
}

/** The type one list item or scalar is read as. */
function scalarType(row, attributes) {
  const type = row.valueType || attributeType(row.attr, attributes);
  if (type === "list" || type === "string") return "string";
  if (type) return type;
  return inferType(Array.isArray(row.value) ? row.value[0] : row.value);
}

function parseScalar(text, type) {
  if (type === "number") {
    const n = Number(text);
    if (text.trim() === "" || !Number.isFinite(n)) return { error: `“${text}” is not a number.` };
    return { value: n };
  }
  if (type === "bool") {
    if (text === "true" || text === "false") return { value: text === "true" };
    return { error: "Use true or false." };
  }
  return { value: text };
}

function showValue(row, kind) {
  if (kind === "json") return row.value === undefined ? "" : JSON.stringify(row.value, null, 1).replace(/\n\s*/g, " ");
  if (kind === "list") return Array.isArray(row.value) ? row.value.map(String).join(", ") : "";
  return row.value === undefined || row.value === null ? "" : String(row.value);
}

/** Default value when an operator is picked. */
function defaultValue(op, row, savedGroups, attributes) {
  if (op === "$exists") return true;
  if (op === "$inGroup" || op === "$notInGroup") return Object.keys(savedGroups)[0] || "";
  if (op === "$type") return "string";
  if (LIST_OPS.has(op)) return Array.isArray(row.value) ? row.value : [];
  if (JSON_OPS.has(op)) return op === "$json" ? { $and: [] } : {};
  if (op === "$size") return 1;
  const type = scalarType(row, attributes);
  if (type === "bool") return true;
  if (type === "number") return typeof row.value === "number" ? row.value : 0;
  return typeof row.value === "string" ? row.value : "";
}

function operatorsFor(row, attributes) {
  const type = row.valueType || attributeType(row.attr, attributes) || (row.attr.startsWith("traits.") ? "string" : null);
  const common = type ? COMMON[type] : Object.keys(OPERATORS).filter((o) => o !== "$json");
  const more = Object.keys(OPERATORS).filter((o) => !common.includes(o));
  return { common, more };
}

/**
 * The builder, bound to `path` in ctx.model() (a campaign's `audience`, a
 * journey step's `steps[2].branch.if`), offering `attributes` ([name, type,
 * words]: the agent's by default; journeys pass the edge's person
 * attributes), `who` for its summary and `unknown` to describe a name not in
 * the list. ctx: {model(), changed(),
 * setLocalError(path, message), registry, readOnly, savedGroups}.
 */
export function ruleBuilder(ctx, {
  path = "audience", attributes = ATTRIBUTES, who = "Visitors", empty = "Everyone: no rules yet.",
  unknown = "An attribute the studio does not know: check the spelling",
} = {}) {
  const root = h("div", { class: "rules" });
  const listId = uid("attributes");
  const condition = () => getPath(ctx.model(), path);
  const setCondition = (value) => setPath(ctx.model(), path, value);
  let groups = toGroups(condition());
  let mode = "rules";
  let jsonText = "";

  const prefixFor = (gi) => (groups.length > 1 ? `${path}.$or[${gi}]` : path);
  const commit = () => {
    setCondition(toAudience(groups));
    ctx.changed({ structural: false });
  };

  const draw = () => {
    if (mode === "json") return drawJson();
    const status = groups.length === 0
      ? h("p", { class: "audience-summary" }, empty)
      : h("p", { class: "audience-summary" }, groups.length === 1 ? `${who} who match all of these rules.` : `${who} who match all the rules of at least one of these ${groups.length} groups.`);
    const parts = [status];
    groups.forEach((group, gi) => {
      if (gi > 0) parts.push(h("p", { class: "or", "aria-hidden": "true" }, "or"));
      parts.push(drawGroup(group, gi));
    });
    parts.push(h("div", { class: "rule-actions" },
      ctx.readOnly ? null : h("button", { type: "button", class: "quiet", onclick: () => {
        groups.push({ rows: [{ attr: "", op: "$eq", value: "" }] });
        clearLocal();
        commit();
        draw();
        root.querySelectorAll(".rule-group")[groups.length - 1]?.querySelector("input")?.focus();
      } }, groups.length === 0 ? "Add a rule" : "Add another group (or)"),
      h("button", { type: "button", class: "quiet", onclick: () => { mode = "json"; jsonText = JSON.stringify(condition() ?? {}, null, 2); draw(); root.querySelector("textarea")?.focus(); } }, "Edit as JSON")));
    replace(root, parts);
    ctx.registry.register(path, { target: root, message: ensureMessage() });
    if (root.isConnected) ctx.reshow?.();
  };

  let rootMessage;
  const ensureMessage = () => {
    if (!rootMessage) rootMessage = h("p", { class: "field-message", id: uid("msg"), hidden: true });
    root.append(rootMessage);
    return rootMessage;
  };

  // Local (parse) errors are keyed by the row's path; a redraw re-derives them.
  const localPaths = new Set();
  const clearLocal = () => {
    for (const path of localPaths) ctx.setLocalError(path, null);
    localPaths.clear();
  };
  const setLocal = (path, message) => {
    if (message) localPaths.add(path);
    else localPaths.delete(path);
    ctx.setLocalError(path, message);
  };

  const drawGroup = (group, gi) => {
    const prefix = prefixFor(gi);
    const legend = groups.length > 1 ? `Group ${gi + 1}: all of these` : "All of these";
    const rows = group.rows.map((row, ri) => drawRow(group, gi, row, ri));
    const message = h("p", { class: "field-message", id: uid("msg"), hidden: true });
    const fieldset = h("fieldset", { class: "rule-group" }, h("legend", {}, legend), message, rows,
      ctx.readOnly ? null : h("div", { class: "rule-actions" },
        h("button", { type: "button", class: "quiet", onclick: () => {
          group.rows.push({ attr: "", op: "$eq", value: "" });
          commit();
          draw();
          const inputs = root.querySelectorAll(".rule-group")[gi]?.querySelectorAll(".rule input[list]");
          inputs?.[inputs.length - 1]?.focus();
        } }, "Add a rule (and)"),
        h("button", { type: "button", class: "quiet danger-text", onclick: () => { groups.splice(gi, 1); clearLocal(); commit(); draw(); } },
          groups.length > 1 ? `Remove group ${gi + 1}` : "Remove all rules")));
    if (groups.length > 1) ctx.registry.register(prefix, { target: fieldset, message });
    return fieldset;
  };

  const drawRow = (group, gi, row, ri) => {
    const prefix = prefixFor(gi);
    const name = `rule ${ri + 1}${groups.length > 1 ? ` of group ${gi + 1}` : ""}`;
    const rowPath = () => (row.op === "$json" ? `${prefix}.${Object.keys(row.value || {})[0] || ""}` : `${prefix}.${row.attr}${row.op === "$eq" && groupToCondition(group.rows)[row.attr] === row.value ? "" : `.${row.op}`}`);
    const message = h("p", { class: "field-message", id: uid("msg"), hidden: true });
    const attrId = uid("a");
    const opId = uid("o");
    const valueId = uid("v");
    const attrInput = h("input", { id: attrId, list: listId, value: row.attr, placeholder: "cart.items or traits.plan", spellcheck: "false", autocomplete: "off", disabled: ctx.readOnly || row.op === "$json", "data-path": `${prefix}#${gi}.${ri}.attr` });
    const described = attributeType(row.attr, attributes) ? attributes.find(([a]) => a === row.attr)[2] : row.attr.startsWith("traits.") ? "A trait the shop sent" : row.attr && row.op !== "$json" ? unknown : "";
    attrInput.addEventListener("input", () => { row.attr = attrInput.value.trim(); commit(); });
    attrInput.addEventListener("change", () => { clearLocal(); draw(); root.querySelector(`[data-path="${CSS.escape(`${prefix}#${gi}.${ri}.op`)}"]`)?.focus(); });

    const { common, more } = operatorsFor(row, attributes);
    const opSelect = h("select", { id: opId, disabled: ctx.readOnly, "data-path": `${prefix}#${gi}.${ri}.op` },
      OPERATORS[row.op] ? null : h("option", { value: row.op }, `${row.op} (unknown to Nudge)`),
      h("optgroup", { label: "Common" }, common.map((o) => h("option", { value: o }, OPERATORS[o]))),
      h("optgroup", { label: "More" }, more.map((o) => h("option", { value: o }, `${OPERATORS[o]} (${o})`))));
    opSelect.value = row.op;
    opSelect.addEventListener("change", () => {
      row.op = opSelect.value;
      if (row.op === "$json") row.attr = "";
      row.value = defaultValue(row.op, row, ctx.savedGroups || {}, attributes);
      clearLocal();
      commit();
      draw();
      root.querySelector(`[data-path="${CSS.escape(`${prefix}#${gi}.${ri}.op`)}"]`)?.focus();
    });

    const kind = valueKind(row, attributes);
    let valueEl;
    const onValue = (parse) => (event) => {
      const result = parse(event.target.value);
      setLocal(rowPath(), result.error || null);
      if (!result.error) { row.value = result.value; commit(); } else ctx.changed({ structural: false });
    };
    if (kind === "bool" || kind === "exists") {
      const [yes, no] = kind === "exists" ? ["is set", "is not set"] : ["yes (true)", "no (false)"];
      valueEl = h("select", { id: valueId, disabled: ctx.readOnly }, h("option", { value: "true" }, yes), h("option", { value: "false" }, no));
      valueEl.value = String(row.value === true || (kind === "exists" && row.value !== false));
      valueEl.addEventListener("change", onValue((t) => ({ value: t === "true" })));
    } else if (kind === "group") {
      const names = Object.keys(ctx.savedGroups || {});
      if (row.value && !names.includes(row.value)) names.push(row.value);
      valueEl = names.length
        ? h("select", { id: valueId, disabled: ctx.readOnly }, names.map((n) => h("option", { value: n }, n)))
        : h("input", { id: valueId, placeholder: "saved group name", disabled: ctx.readOnly });
      valueEl.value = row.value || "";
      valueEl.addEventListener(names.length ? "change" : "input", onValue((t) => (t ? { value: t } : { error: "Pick a saved group." })));
    } else if (kind === "type") {
      valueEl = h("select", { id: valueId, disabled: ctx.readOnly }, TYPES.map((t) => h("option", { value: t }, t)));
      valueEl.value = row.value || "string";
      valueEl.addEventListener("change", onValue((t) => ({ value: t })));
    } else if (kind === "json") {
      valueEl = h("textarea", { id: valueId, rows: 2, spellcheck: "false", disabled: ctx.readOnly, class: "code" });
      valueEl.value = showValue(row, kind);
      valueEl.addEventListener("input", onValue((t) => {
        try {
          const value = JSON.parse(t);
          if (row.op === "$json" && !isPlainObject(value)) return { error: "A custom condition is a JSON object, like {\"$and\": [...]}." };
          return { value };
        } catch (error) {
          return { error: `Not valid JSON: ${error.message}` };
        }
      }));
    } else if (kind === "list") {
      const type = scalarType(row, attributes);
      valueEl = h("input", { id: valueId, disabled: ctx.readOnly, placeholder: type === "number" ? "1, 2, 3" : "vip, subscriber" });
      valueEl.value = showValue(row, kind);
      valueEl.addEventListener("input", onValue((t) => {
        const items = t.split(",").map((s) => s.trim()).filter((s) => s !== "");
        const parsed = items.map((s) => parseScalar(s, type));
        const bad = parsed.find((p) => p.error);
        return bad ? { error: bad.error } : { value: parsed.map((p) => p.value) };
      }));
    } else if (kind === "number") {
      valueEl = h("input", { id: valueId, type: "number", step: "any", disabled: ctx.readOnly });
      valueEl.value = showValue(row, kind);
      valueEl.addEventListener("input", onValue((t) => parseScalar(t, "number")));
    } else {
      valueEl = h("input", { id: valueId, disabled: ctx.readOnly, spellcheck: "false" });
      valueEl.value = showValue(row, kind);
      valueEl.addEventListener("input", onValue((t) => ({ value: t })));
    }
    valueEl.dataset.path = `${prefix}#${gi}.${ri}.value`;

    // Attributes the studio does not know: say how the value is read.
    const typeSelect = !attributeType(row.attr, attributes) && row.op !== "$json" && ["text", "number", "bool", "list"].includes(kind)
      ? (() => {
        const id = uid("t");
        const select = h("select", { id, disabled: ctx.readOnly, "data-path": `${prefix}#${gi}.${ri}.type` },
          h("option", { value: "string" }, "text"), h("option", { value: "number" }, "number"), h("option", { value: "bool" }, "yes/no"));
        select.value = scalarType(row, attributes);
        select.addEventListener("change", () => {
          row.valueType = select.value;
          row.value = defaultValue(row.op, { ...row, value: undefined }, ctx.savedGroups || {}, attributes);
          commit();
          draw();
        });
        return h("div", { class: "rule-cell" }, h("label", { for: id }, "Read as"), select);
      })()
      : null;

    const remove = ctx.readOnly ? null : h("button", { type: "button", class: "quiet danger-text", "aria-label": `Remove ${name}`, onclick: () => {
      group.rows.splice(ri, 1);
      if (group.rows.length === 0) groups.splice(gi, 1);
      clearLocal();
      commit();
      draw();
    } }, "Remove");
    const rowEl = h("div", { class: "rule", role: "group", "aria-label": name },
      row.op === "$json"
        ? h("div", { class: "rule-cell" }, h("span", { class: "label" }, "Attribute"), h("span", { class: "static" }, "Several (JSON)"))
        : h("div", { class: "rule-cell" }, h("label", { for: attrId }, "Attribute"), attrInput,
          described ? h("span", { class: "hint" }, described) : null),
      h("div", { class: "rule-cell" }, h("label", { for: opId }, "Condition"), opSelect),
      h("div", { class: "rule-cell grow" }, h("label", { for: valueId }, kind === "list" ? "Values (comma-separated)" : "Value"), valueEl),
      typeSelect, remove, message);
    valueEl.setAttribute("aria-describedby", message.id);
    ctx.registry.register(rowPath(), { target: valueEl, message });
    if (row.attr && row.op !== "$json") ctx.registry.register(`${prefix}.${row.attr}`, { target: valueEl, message });
    return rowEl;
  };

  const drawJson = () => {
    const id = uid("json");
    const message = h("p", { class: "field-message", id: `${id}-msg`, hidden: true });
    const area = h("textarea", { id, rows: 10, class: "code", spellcheck: "false", disabled: ctx.readOnly, "aria-describedby": `${id}-hint ${id}-msg`, "data-path": `${path}.json` });
    area.value = jsonText;
    const parseError = h("p", { class: "error-text", role: "alert" });
    area.addEventListener("input", () => {
      jsonText = area.value;
      const text = area.value.trim();
      if (text === "") {
        parseError.textContent = "";
        setLocal(path, null);
        setCondition(undefined);
        ctx.changed({ structural: false });
        return;
      }
      try {
        const value = JSON.parse(text);
        if (!isPlainObject(value)) throw new Error("a condition must be a JSON object");
        parseError.textContent = "";
        setLocal(path, null);
        setCondition(Object.keys(value).length === 0 ? undefined : value);
        ctx.changed({ structural: false });
      } catch (error) {
        parseError.textContent = `Not valid JSON: ${error.message}`;
        setLocal(path, `The JSON cannot be read: ${error.message}`);
      }
    });
    replace(root,
      h("div", { class: "field wide" },
        h("label", { for: id }, "Rules as JSON"),
        h("p", { class: "hint", id: `${id}-hint` }, "GrowthBook-style conditions; several groups are {\"$or\": [{…}, {…}]}. Empty means everyone."),
        area, parseError, message),
      h("div", { class: "rule-actions" },
        h("button", { type: "button", class: "quiet", onclick: () => {
          if (parseError.textContent) { area.focus(); return; }
          mode = "rules";
          groups = toGroups(condition());
          draw();
        } }, "Back to the rule builder")));
    ctx.registry.register(path, { target: area, message });
    if (root.isConnected) ctx.reshow?.();
  };

  const datalist = h("datalist", { id: listId }, attributes.map(([name, , text]) => h("option", { value: name }, text)));
  draw();
  return h("div", { class: "rule-builder" }, datalist, root);
}
