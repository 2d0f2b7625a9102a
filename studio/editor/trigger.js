// When the campaign is considered: the trigger, its parameter, and which pages.

import { h, uid } from "../ui.js";
import { bound, getPath, group } from "./fields.js";
import { section } from "./section.js";

export const TRIGGERS = {
  page_view: { label: "When a page is viewed", make: () => true },
  scroll_depth: { label: "When the visitor scrolls down the page", make: () => 50, param: { label: "Scrolled at least (%)", kind: "int", hint: "1 to 100: how far down the page." } },
  exit_intent: { label: "When the visitor is about to leave (exit intent)", make: () => ({ min_seconds_on_page: 3 }), param: { path: "exit_intent.min_seconds_on_page", label: "Not before this many seconds on the page", kind: "number", hint: "Desktop: the pointer leaves through the top. Mobile: back button, fast scroll up, or a return to the tab." } },
  time_on_page: { label: "After some time on the page", make: () => 10, param: { label: "Seconds on the page", kind: "number" } },
  time_on_site: { label: "After some time on the site (all visits)", make: () => 60, param: { label: "Seconds on the site", kind: "number" } },
  inactivity: { label: "When the visitor is inactive", make: () => 30, param: { label: "Seconds without input", kind: "number", hint: "1 second to 1 day." } },
  event: { label: "When the shop sends an event", make: () => "Product Added", param: { label: "Event name", kind: "text", list: "known-events", hint: "As the shop tracks it, e.g. Product Added." } },
};

const URL_KINDS = [
  ["", "On any page"],
  ["equals", "Only on the page"],
  ["prefix", "On pages starting with"],
  ["contains", "On pages whose address contains"],
  ["regex", "On pages matching the pattern"],
];

export const KNOWN_EVENTS = ["Product Viewed", "Product Added", "Product Removed", "Cart Viewed", "Checkout Started", "Order Completed", "Signed Up", "Products Searched"];

/** The trigger's kind: its one key besides `url`. */
export function triggerKind(trigger) {
  return Object.keys(trigger || {}).find((k) => k !== "url") || "page_view";
}

export function triggerSection(ctx) {
  return section(ctx, { title: "Trigger", id: "sec-trigger", hint: "When the campaign is considered; the audience then decides who sees it." }, (refresh) => {
    const trigger = getPath(ctx.model(), "trigger") || {};
    const kind = triggerKind(trigger);
    const kindId = uid("f");
    const kindSelect = h("select", { id: kindId, "data-path": "trigger.kind", disabled: ctx.readOnly },
      Object.entries(TRIGGERS).map(([k, t]) => h("option", { value: k }, t.label)),
      TRIGGERS[kind] ? null : h("option", { value: kind }, `${kind} (unknown to the studio)`));
    kindSelect.value = kind;
    kindSelect.addEventListener("change", () => {
      const url = ctx.model().trigger?.url;
      const next = kindSelect.value;
      ctx.model().trigger = { [next]: TRIGGERS[next].make(), ...(url ? { url } : {}) };
      ctx.changed({ structural: true });
      refresh();
    });
    const spec = TRIGGERS[kind];
    const param = spec?.param
      ? bound(ctx, { path: `trigger.${spec.param.path || kind}`, label: spec.param.label, kind: spec.param.kind, hint: spec.param.hint, list: spec.param.list, emptyValue: spec.param.kind === "text" ? "" : undefined })
      : null;
    // Problems about the trigger as a whole (two kinds, an exit_intent of the wrong shape).
    const fieldset = group(ctx, { path: "trigger", legend: "Trigger" },
      h("div", { class: "field" }, h("label", { for: kindId }, "Show"), kindSelect),
      param,
      kind === "exit_intent" ? h("p", { class: "hint" }, spec.param.hint) : null);
    if (kind === "exit_intent") ctx.registry.register("trigger.exit_intent", { target: param.input, message: param.querySelector(".field-message") });

    const url = trigger.url || {};
    const urlKind = Object.keys(url)[0] || "";
    const urlKindId = uid("f");
    const urlSelect = h("select", { id: urlKindId, "data-path": "trigger.url.kind", disabled: ctx.readOnly },
      URL_KINDS.map(([v, text]) => h("option", { value: v }, text)));
    urlSelect.value = urlKind;
    urlSelect.addEventListener("change", () => {
      const text = Object.values(ctx.model().trigger?.url || {})[0] || "/";
      ctx.model().trigger = ctx.model().trigger || {};
      if (urlSelect.value) ctx.model().trigger.url = { [urlSelect.value]: text };
      else delete ctx.model().trigger.url;
      ctx.changed({ structural: true });
      refresh();
    });
    const urlGroup = group(ctx, { path: "trigger.url", legend: "Pages" },
      h("div", { class: "row" },
        h("div", { class: "field" }, h("label", { for: urlKindId }, "Where"), urlSelect),
        urlKind ? bound(ctx, {
          path: `trigger.url.${urlKind}`, label: urlKind === "regex" ? "Pattern (regular expression)" : "Path",
          placeholder: urlKind === "regex" ? "^/(cart|checkout)$" : "/cart", emptyValue: "",
          hint: urlKind === "equals" ? "The path only, without the domain: /cart." : null,
        }) : null));
    return [fieldset, urlGroup];
  });
}
