// Small DOM helpers shared by every screen. Marketer text only ever reaches
// the page as text nodes or attribute values (never innerHTML), as in the agent.

let nextId = 0;
/** A page-unique id for label/aria wiring. */
export function uid(prefix = "f") {
  nextId += 1;
  return `${prefix}-${nextId}`;
}

// Set as properties, not attributes: they are live state, not markup.
const PROPS = new Set(["value", "checked", "disabled", "hidden", "selected", "indeterminate", "open"]);

/**
 * Creates an element: h("button", {class: "primary", onclick}, "Save").
 * Children may be strings, numbers, nodes, arrays or null (skipped).
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null) continue;
    if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "style" && typeof value === "object") Object.assign(el.style, value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (PROPS.has(key)) el[key] = value;
    else if (value === false) continue;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replaces an element's children. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** Says `text` to screen readers (and nothing visible). */
export function announce(text) {
  const el = document.getElementById("announcer");
  if (!el) return;
  el.textContent = "";
  // A fresh text node after a tick is announced even if the text repeats.
  setTimeout(() => { el.textContent = text; }, 30);
}

/** A short message at the bottom of the screen (also announced). */
export function toast(text, kind = "info") {
  const box = document.getElementById("toasts");
  if (!box) return;
  const item = h("p", { class: `toast ${kind}` }, text);
  box.append(item);
  setTimeout(() => item.remove(), kind === "error" ? 9000 : 4500);
}

/** Runs `fn` once `ms` after the last call. */
export function debounce(fn, ms) {
  let timer;
  const run = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  run.flush = (...args) => { clearTimeout(timer); fn(...args); };
  run.cancel = () => clearTimeout(timer);
  return run;
}

/**
 * A modal dialog (<dialog>, focus kept inside by the browser, Esc closes).
 * `body` is a node or a function given `close(result)`; resolves with the result
 * (undefined when dismissed).
 */
export function dialog({ title, body, actions = [] }) {
  return new Promise((resolve) => {
    const titleId = uid("dlg");
    const dlg = h("dialog", { class: "dialog", "aria-labelledby": titleId });
    let result;
    const close = (value) => { result = value; dlg.close(); };
    const content = typeof body === "function" ? body(close) : body;
    const buttons = actions.map((a) => h("button", {
      type: "button", class: a.class || "", onclick: () => close(a.value),
    }, a.label));
    dlg.append(h("h2", { id: titleId }, title), content || "", buttons.length ? h("div", { class: "actions" }, buttons) : "");
    const opener = document.activeElement;
    dlg.addEventListener("close", () => {
      dlg.remove();
      // Back where the dialog was opened from, for keyboard users.
      if (opener?.isConnected) opener.focus();
      resolve(result);
    });
    document.body.append(dlg);
    dlg.showModal();
  });
}

/** Asks a yes/no question; resolves true only for the confirm button. */
export async function confirmDialog(title, text, confirmLabel, danger = false) {
  const answer = await dialog({
    title,
    body: h("p", {}, text),
    actions: [
      { label: "Cancel", value: false, class: "quiet" },
      { label: confirmLabel, value: true, class: danger ? "danger" : "primary" },
    ],
  });
  return answer === true;
}

// ---- formatting ----

const numberFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const moneyFormat = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });

export function formatCount(n) {
  return typeof n === "number" && Number.isFinite(n) ? numberFormat.format(n) : "–";
}

export function formatMoney(n) {
  return typeof n === "number" && Number.isFinite(n) ? moneyFormat.format(n) : "–";
}

/** 0.0412 → "4.1%"; null (no denominator) → "–". */
export function formatRate(r, digits = 1) {
  return typeof r === "number" && Number.isFinite(r) ? `${(r * 100).toFixed(digits)}%` : "–";
}

/** A signed relative change: 0.052 → "+5.2%". */
export function formatLift(r) {
  if (typeof r !== "number" || !Number.isFinite(r)) return "–";
  const text = `${(r * 100).toFixed(1)}%`;
  return r > 0 ? `+${text}` : text.replace("-", "−");
}

export function formatWhen(iso) {
  if (!iso) return "–";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/** A JSON value in one short line, for diffs and summaries. */
export function shortJson(value) {
  if (value === undefined || value === null) return "(not set)";
  if (typeof value === "string") return `“${value}”`;
  const text = JSON.stringify(value);
  return text.length > 160 ? `${text.slice(0, 157)}…` : text;
}

/** A button whose action is refused for this role: disabled, with the reason next to it. */
export function blockedButton(label, reason, props = {}) {
  const reasonId = uid("why");
  return h("span", { class: "blocked" },
    h("button", { type: "button", ...props, disabled: true, "aria-describedby": reasonId }, label),
    h("span", { class: "reason", id: reasonId }, reason));
}
