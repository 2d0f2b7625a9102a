// The display module's DOM steps, called from its wasm (render/src/dom/):
// through wasm-bindgen where the studio's agent links the drawing code, and
// through module.js, the display module's own glue, where shops load it.
//
// Why JS: each web-sys method is its own binding, with its own glue and, for
// methods that may throw, its own error path in the wasm; building a
// campaign through them cost the module about 30 KB of wasm. Here one call
// makes an element with its class and text, and the mechanics that decide
// nothing (where focus goes, the clipboard, which part is hidden) stay in
// the DOM's own language. What is drawn, and what a visitor's act means,
// is decided in Rust (draw.rs, controls.rs).
//
// No function here throws into the page: a refusal is an answer (null, or
// the reason as text). Marketer and visitor text only ever becomes a text
// node or an attribute value, never markup.

const previousFocus = new WeakMap();
// The campaigns on screen: id -> shadow root, in the order they were drawn.
const open = new Map();

// A closed shadow root on a new <tag> host, styled by `css`: a constructed
// stylesheet (not inline style to a Content-Security-Policy), or a <style>
// element where the browser has none (Safari before 16.4).
export function host(tag, id, accent, css) {
  try {
    const h = document.createElement(tag);
    if (id) h.setAttribute("data-campaign", id);
    // Through the CSSOM, not a style attribute: a shop's CSP may forbid those.
    if (accent) h.style.setProperty("--nudge-accent", accent);
    const root = h.attachShadow({ mode: "closed" });
    try {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(css);
      root.adoptedStyleSheets = [sheet];
    } catch (_) {
      el(root, "style", "", css);
    }
    return root;
  } catch (_) {
    return null;
  }
}

// A <tag> with `cls` and `text` (either may be empty), appended to `parent`.
export function el(parent, tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text) e.textContent = text;
  parent.appendChild(e);
  return e;
}

// Attribute names are ours and valid; values are text.
export function attr(e, name, value) {
  e.setAttribute(name, value);
}

// Puts the root's host on the page: at the end of the body, or next to (or
// inside) the shop's element `selector` (`at`: 0 append, 1 prepend, 2
// before, 3 after). 0 when placed; else why not: 1 the selector is invalid,
// 2 no element matches it, 3 the page refused (the words are dom/mod.rs's).
export function place(root, selector, at) {
  let anchor = document.body || document.documentElement;
  if (selector) {
    try {
      anchor = document.querySelector(selector);
    } catch (_) {
      return 1;
    }
    if (!anchor) return 2;
  }
  try {
    anchor[["append", "prepend", "before", "after"][at] || "append"](root.host);
    return 0;
  } catch (_) {
    return 3;
  }
}

// A modal takes focus: its first field or action (not the close button),
// else the panel, in the next frame (focusing forces style and layout at
// once, which would hold the insertion back ~10 ms; in a frame callback the
// work is the frame's own). Focus goes back where it was when it closes.
export function takeFocus(root, panel) {
  const active = document.activeElement;
  if (active && active.focus) previousFocus.set(root, active);
  const target = focusables(panel).find((e) => e.className !== "x") || panel;
  const go = () => target.isConnected && target.focus();
  if (window.requestAnimationFrame) requestAnimationFrame(go);
  else go();
}

// Removes the root's host, and gives focus back if the campaign took it.
export function remove(root) {
  root.host.remove();
  const back = previousFocus.get(root);
  if (back) back.focus();
}

// One handler per campaign, on its shadow root (which sees the real target
// of each event): `report(what, value)` hears the class of the control
// clicked ("x", "dm", "bd", "cta"), "Escape", or "submit" with the field's
// value, and answers whether to prevent the browser's default. A modal
// keeps Tab inside; the coupon's copy button is handled here.
export function listen(root, modal, report) {
  const on = (e) => {
    let what = "";
    let value = "";
    if (e.type === "click") {
      const control = e.target.closest && e.target.closest("a,button,.bd");
      if (!control) return;
      what = control.className;
      if (what === "go cc") return copy(control.parentNode);
    } else if (e.type === "keydown") {
      what = e.key;
      if (what === "Tab") return modal && trap(root, e);
      if (what !== "Escape") return;
    } else {
      e.preventDefault();
      what = "submit";
      const input = root.querySelector("form input");
      value = input ? input.value : "";
    }
    if (report(what, value)) e.preventDefault();
  };
  for (const type of ["click", "keydown", "submit"]) root.addEventListener(type, on);
}

// The form's field refused `reason`.
export function refuse(root, reason) {
  const input = root.querySelector("form input");
  const error = root.querySelector(".er");
  if (error) error.textContent = reason;
  if (input) {
    input.setAttribute("aria-invalid", "true");
    input.focus();
  }
}

// The form's success step: the form hidden, its message shown, and the
// coupon row with `coupon` (not for a coupon the edge still holds back).
export function succeed(root, coupon) {
  const form = root.querySelector("form");
  const success = root.querySelector("[role=status]");
  if (!form || !success) return;
  form.setAttribute("hidden", "");
  success.removeAttribute("hidden");
  if (coupon) unhide(root, ".cp");
}

// The coupon the edge gave for a sealed form coupon.
export function reveal(root, code) {
  const input = root.querySelector(".cp input");
  if (!input) return;
  input.value = code;
  input.setAttribute("value", code);
  unhide(root, ".cp");
}

function unhide(root, selector) {
  const e = root.querySelector(selector);
  if (e) e.removeAttribute("hidden");
}

// Elements that can take focus now: in document order, none inside a hidden part.
function focusables(panel) {
  return [...panel.querySelectorAll("button,a[href],input")].filter((e) => !e.closest("[hidden]"));
}

function trap(root, key) {
  const items = focusables(root.querySelector(".p"));
  const first = items[0];
  const last = items[items.length - 1];
  if (!first) return;
  // Inside a closed shadow root, the shadow root knows the focused element.
  const active = root.activeElement;
  if (key.shiftKey && (active === first || !active)) {
    key.preventDefault();
    last.focus();
  } else if (!key.shiftKey && active === last) {
    key.preventDefault();
    first.focus();
  }
}

// Copies the coupon row's code: the field's value at the click (a sealed
// coupon arrives after the drawing). navigator.clipboard is missing on
// http:// and in old browsers, and may refuse: the code then stays selected
// for a manual copy.
function copy(row) {
  const input = row.querySelector("input");
  const status = row.querySelector(".st");
  if (!input || !status) return;
  input.select();
  status.textContent = "Press Ctrl+C to copy";
  const clipboard = navigator.clipboard;
  if (clipboard && clipboard.writeText) {
    clipboard.writeText(input.value).then(
      () => (status.textContent = "Copied!"),
      () => {},
    );
  }
}

// ---- the campaigns on screen, by id (render/src/screen.rs) ----

export function keep(id, root) {
  open.delete(id);
  open.set(id, root);
}

export function rootOf(id) {
  return open.get(id) || null;
}

export function ids() {
  return [...open.keys()];
}

// Removes campaign `id`, if on screen. Called from the agent while the
// campaign's own handler runs (a click on its close button): the handler's
// closure belongs to the JS heap and outlives the call.
export function close(id) {
  const root = open.get(id);
  if (!root) return;
  open.delete(id);
  remove(root);
}

// A click on `element` goes to `f` (the studio's preview badge).
export function onClick(element, f) {
  element.addEventListener("click", f);
}
