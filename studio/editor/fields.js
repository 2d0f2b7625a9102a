// The editor's form plumbing: paths into the campaign object, labelled inputs
// bound to a path, and the registry that puts each problem at its field.
//
// Paths are core's (`content.cta.label`, `variants[1].weight`), relative to the
// campaign, so a problem core reports at `campaigns[3].content.cta.label`
// lands on the input bound to `content.cta.label`.

import { h, uid } from "../ui.js";

/** "variants[1].content.title" → ["variants", 1, "content", "title"]. */
export function parsePath(path) {
  const keys = [];
  for (const part of path.split(".")) {
    const match = /^([^[]*)((?:\[\d+\])*)$/.exec(part);
    if (!match) { keys.push(part); continue; }
    if (match[1]) keys.push(match[1]);
    for (const index of match[2].matchAll(/\[(\d+)\]/g)) keys.push(Number(index[1]));
  }
  return keys;
}

export function getPath(object, path) {
  let current = object;
  for (const key of parsePath(path)) {
    if (current === null || typeof current !== "object") return undefined;
    current = current[key];
  }
  return current;
}

/** Sets a value, creating objects on the way; `undefined` deletes the key. */
export function setPath(object, path, value) {
  const keys = parsePath(path);
  let current = object;
  for (const [i, key] of keys.slice(0, -1).entries()) {
    if (current[key] === null || typeof current[key] !== "object") {
      if (value === undefined) return;
      current[key] = typeof keys[i + 1] === "number" ? [] : {};
    }
    current = current[key];
  }
  const last = keys[keys.length - 1];
  if (value === undefined) delete current[last];
  else current[last] = value;
}

/**
 * Where each path's problems are shown. Entries belong to inputs (or to a
 * fieldset, for problems about a whole group); a problem goes to the entry with
 * the longest path that is a prefix of its own at a segment boundary, so
 * `audience.$or[0].cart.items.$gte` finds the rule row `audience.$or[0].cart.items`.
 */
export class FieldRegistry {
  constructor() {
    this.entries = new Map();
  }

  /** `target` gets aria-invalid; `message` holds the text; `describe` (optional) keeps hint ids. */
  register(path, { target, message, hintId = null }) {
    this.entries.set(path, { target, message, hintId });
  }

  find(path) {
    let best = null;
    for (const [key, entry] of this.entries) {
      if (!entry.target.isConnected) continue;
      const boundary = path === key || (path.startsWith(key) && (key === "" || path[key.length] === "." || path[key.length] === "["));
      if (boundary && key !== "" && (!best || key.length > best[0].length)) best = [key, entry];
    }
    return best;
  }

  /** Shows `problems` ({path, message, severity}); returns those no field took. */
  show(problems) {
    for (const [key, entry] of this.entries) {
      if (!entry.target.isConnected) continue;
      entry.message.replaceChildren();
      entry.message.hidden = true;
      entry.target.removeAttribute("aria-invalid");
      entry.target.setAttribute("aria-describedby", [entry.hintId, entry.message.id].filter(Boolean).join(" "));
    }
    const unplaced = [];
    for (const problem of problems) {
      const found = this.find(problem.path);
      if (!found) { unplaced.push(problem); continue; }
      const [key, entry] = found;
      const error = problem.severity !== "warning";
      if (error) entry.target.setAttribute("aria-invalid", "true");
      entry.message.hidden = false;
      // A problem below the field's own path says where (a rule's operator, a list item).
      const where = problem.path.length > key.length ? ` (${problem.path.slice(key.length).replace(/^\./, "")})` : "";
      entry.message.append(h("span", { class: error ? "problem error" : "problem warning" },
        `${error ? "" : "Note: "}${problem.message}${where}`));
    }
    return unplaced;
  }
}

/**
 * A labelled control bound to `path` in `ctx.model()`. Kinds: text, textarea,
 * number, int, select, checkbox, percent (0..1 shown as 0..100), color, datetime.
 * `ctx` = {model(): campaign, changed(), registry, readOnly}.
 */
export function bound(ctx, {
  path, label, kind = "text", hint, options, placeholder, emptyValue, defaultValue, list, wide, extra, registerAs, onChange,
}) {
  const id = uid("f");
  const hintId = hint ? `${id}-hint` : null;
  const messageId = `${id}-msg`;
  const value = getPath(ctx.model(), path);
  let input;
  if (kind === "textarea") {
    input = h("textarea", { id, rows: 3, placeholder });
    input.value = value ?? "";
  } else if (kind === "select") {
    input = h("select", { id }, options.map(([v, text]) => h("option", { value: v }, text)));
    input.value = value === undefined ? (emptyValue ?? options[0][0]) : String(value);
  } else if (kind === "checkbox") {
    input = h("input", { id, type: "checkbox", checked: value === undefined ? Boolean(defaultValue) : Boolean(value) });
  } else {
    const type = { number: "number", int: "number", percent: "number", color: "text", datetime: "datetime-local" }[kind] || "text";
    input = h("input", { id, type, placeholder, list, step: kind === "int" ? "1" : kind === "number" || kind === "percent" ? "any" : undefined, inputmode: kind === "int" ? "numeric" : undefined, spellcheck: kind === "text" ? undefined : "false" });
    input.value = display(kind, value);
  }
  const message = h("p", { class: "field-message", id: messageId, hidden: true });
  input.setAttribute("aria-describedby", [hintId, messageId].filter(Boolean).join(" "));
  input.dataset.path = path;
  if (ctx.readOnly) input.disabled = true;

  const write = () => {
    const parsed = read(kind, input, emptyValue, defaultValue);
    ctx.setLocalError(path, parsed.error || null);
    if (parsed.error) { ctx.changed({ structural: false }); return; }
    setPath(ctx.model(), path, parsed.value);
    onChange?.(parsed.value);
    ctx.changed({ structural: false });
  };
  input.addEventListener(kind === "select" || kind === "checkbox" ? "change" : "input", write);

  ctx.registry.register(registerAs ?? path, { target: input, message, hintId });
  const labelEl = h("label", { for: id }, label);
  const hintEl = hint ? h("p", { class: "hint", id: hintId }, hint) : null;
  const wrap = kind === "checkbox"
    ? h("div", { class: "field check" }, input, labelEl, hintEl, message)
    : h("div", { class: `field${wide ? " wide" : ""}` }, labelEl, hintEl, extra ? h("div", { class: "with-extra" }, input, extra) : input, message);
  wrap.input = input;
  return wrap;
}

function display(kind, value) {
  if (value === undefined || value === null) return "";
  if (kind === "percent") return typeof value === "number" ? String(Math.round(value * 10000) / 100) : String(value);
  if (kind === "datetime") return isoToLocal(value);
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function read(kind, input, emptyValue, defaultValue) {
  if (kind === "checkbox") {
    return { value: input.checked === Boolean(defaultValue) && defaultValue !== undefined ? undefined : input.checked };
  }
  const text = input.value;
  if (kind === "select") return { value: text === emptyValue ? undefined : text };
  if (kind === "number" || kind === "int" || kind === "percent") {
    if (input.validity?.badInput) return { error: "Enter a number." };
    if (text.trim() === "") return { value: undefined };
    const n = Number(text);
    if (!Number.isFinite(n)) return { error: "Enter a number." };
    return { value: kind === "percent" ? Math.round(n * 100) / 10000 : n };
  }
  if (kind === "datetime") {
    if (text === "") return { value: undefined };
    const date = new Date(text);
    if (Number.isNaN(date.getTime())) return { error: "Enter a date and time." };
    return { value: date.toISOString().replace(/\.000Z$/, "Z") };
  }
  return { value: text === "" && emptyValue === undefined ? undefined : text };
}

/** "2026-12-01T09:00:00Z" → "2026-12-01T10:00" in the browser's time zone. */
export function isoToLocal(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** A fieldset whose own problems (path `path`) show under its legend. */
export function group(ctx, { path, legend, hint, className }, ...children) {
  const id = uid("g");
  const message = h("p", { class: "field-message", id: `${id}-msg`, hidden: true });
  const hintEl = hint ? h("p", { class: "hint", id: `${id}-hint` }, hint) : null;
  const fieldset = h("fieldset", { class: `group ${className || ""}` }, h("legend", {}, legend), hintEl, message, children);
  if (path !== undefined) ctx.registry.register(path, { target: fieldset, message, hintId: hintEl ? hintEl.id : null });
  return fieldset;
}

/** A checkbox that adds or removes an optional object (an image, a button, a form). */
export function toggle(ctx, { path, label, hint, make, onToggle }) {
  const id = uid("t");
  const present = getPath(ctx.model(), path) !== undefined;
  const input = h("input", { id, type: "checkbox", checked: present, disabled: ctx.readOnly });
  input.addEventListener("change", () => {
    setPath(ctx.model(), path, input.checked ? make() : undefined);
    ctx.changed({ structural: true });
    onToggle?.(input.checked);
  });
  return h("div", { class: "field check toggle" }, input, h("label", { for: id }, label),
    hint ? h("p", { class: "hint" }, hint) : null);
}
