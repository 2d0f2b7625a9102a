// The display module's glue, written for it (its wasm side: module.rs, and
// the imports in dom/raw.rs), in place of wasm-bindgen's generated glue and
// runtime (2.6 KB gzip of the module's 3.8 KB of JS). The build bundles it
// with dom.js into agent/pkg/nudge_render.js.
//
// The agent calls `show(id, content, act)`, `close(id)` and
// `revealCoupon(id, code)`, after the loader's `init`. Nothing here throws
// into the page: a DOM step that fails is an answer (dom.js), a throw in
// the agent's callback stays here, and a visitor's act that the wasm could
// not take (a bug's trap) changes nothing.
import * as dom from "./dom.js";

let wasm; // the instance's exports
// A leading U+FEFF in a text is the text's own (as wasm-bindgen decodes).
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
const encoder = new TextEncoder();

// JS objects the wasm holds by handle (shadow roots, elements, the agent's
// callback): the wasm gives each back with `drop`. 0 is null.
const held = [null];
const unused = [];
function hold(object) {
  if (object == null) return 0;
  const handle = unused.length ? unused.pop() : held.length;
  held[handle] = object;
  return handle;
}

const memory = () => new Uint8Array(wasm.memory.buffer);
const text = (at, length) => decoder.decode(memory().subarray(at, at + length));
// Bytes copied into memory from the wasm's `alloc`, which the export they
// are handed to frees.
function give(bytes) {
  const at = wasm.alloc(bytes.length) >>> 0; // an address, unsigned
  memory().set(bytes, at);
  return at;
}

// Campaign handlers that still answer (their address in the wasm, with a
// token of their own: a freed address is given to the next handler), and
// the root each listens on. A root that left the page stops its handler,
// which is freed in a task of its own: never during its own call (a click
// on the close button closes the campaign from inside it).
const answering = new Map();
const handlerOf = new WeakMap();
function unlisten(address) {
  if (answering.delete(address)) setTimeout(() => wasm.forget(address));
}
function closeCampaign(id) {
  const root = dom.rootOf(id);
  dom.close(id);
  const [address, token] = (root && handlerOf.get(root)) || [];
  if (token && answering.get(address) === token) unlisten(address);
}

const imports = {
  dom: {
    host: (tag, tagLength, id, idLength, accent, accentLength, css, cssLength) =>
      hold(dom.host(text(tag, tagLength), text(id, idLength), text(accent, accentLength), text(css, cssLength))),
    el: (parent, tag, tagLength, cls, clsLength, content, contentLength) =>
      hold(dom.el(held[parent], text(tag, tagLength), text(cls, clsLength), text(content, contentLength))),
    attr: (element, name, nameLength, value, valueLength) =>
      dom.attr(held[element], text(name, nameLength), text(value, valueLength)),
    place: (root, selector, selectorLength, at) => dom.place(held[root], text(selector, selectorLength), at),
    takeFocus: (root, panel) => dom.takeFocus(held[root], held[panel]),
    listen: (handle, modal, address) => {
      const root = held[handle];
      const token = {};
      answering.set(address, token);
      handlerOf.set(root, [address, token]);
      dom.listen(root, modal !== 0, (what, value) => {
        if (answering.get(address) !== token) return false;
        try {
          const w = encoder.encode(what);
          const v = encoder.encode(value);
          return wasm.report(address, give(w), w.length, give(v), v.length) !== 0;
        } catch (_) {
          return false;
        }
      });
    },
    unlisten,
    refuse: (root, reason, reasonLength) => dom.refuse(held[root], text(reason, reasonLength)),
    succeed: (root, coupon) => dom.succeed(held[root], coupon !== 0),
    keep: (id, idLength, root) => dom.keep(text(id, idLength), held[root]),
    close: (id, idLength) => closeCampaign(text(id, idLength)),
    act: (act, id, idLength, code, value, valueLength) => {
      try {
        held[act](text(id, idLength), code, text(value, valueLength));
      } catch (_) {
        // The agent's own trouble: not the page's, and the campaign stays.
      }
    },
    drop: (handle) => {
      held[handle] = undefined;
      unused.push(handle);
    },
    clone: (handle) => hold(held[handle]),
  },
};

/** Draws campaign `id` from its content bytes; what the visitor does goes
 *  to `act(id, code, value)`. `undefined` when drawn, or why not. */
export function show(id, content, act) {
  const name = encoder.encode(id);
  const answer = wasm.show(give(name), name.length, give(content), content.length, hold(act)) >>> 0;
  if (!answer) return undefined;
  const length = new DataView(wasm.memory.buffer).getUint32(answer, true);
  const why = text(answer + 4, length);
  wasm.free(answer, length + 4);
  return why;
}

/** Removes campaign `id` from the page, if there, and gives focus back. */
export function close(id) {
  closeCampaign(id);
}

/** Shows the coupon the edge gave for campaign `id`'s sealed form coupon. */
export function revealCoupon(id, code) {
  const root = dom.rootOf(id);
  if (root) dom.reveal(root, code);
}

/** Fetches and starts the wasm (`{ module_or_path }`, as the loader asks),
 *  once: the handlers' addresses are this instance's. */
export default async function init(options) {
  if (wasm) return;
  const response = await fetch(options.module_or_path);
  if (!response.ok) throw new Error("HTTP " + response.status + " for the display module");
  const streaming =
    WebAssembly.instantiateStreaming && (response.headers.get("Content-Type") || "").startsWith("application/wasm");
  const made = streaming
    ? await WebAssembly.instantiateStreaming(response, imports)
    : await WebAssembly.instantiate(await response.arrayBuffer(), imports);
  wasm = made.instance.exports;
}
