// The live preview: preview.html (the agent's own renderer) in an iframe,
// phone or desktop width, scaled to fit the pane. Protocol: we post
// {type: "nudge-preview", config, campaign, step, variant, coupon, traits}; it
// answers {type: "nudge-preview-result", diagnostics}.

import { h, replace, uid } from "./ui.js";

const PREVIEW_URL = "/studio/preview.html";
const DEVICES = { phone: { width: 390, height: 760 }, desktop: { width: 1280, height: 800 } };

let available = null;
/** Whether preview.html is there (checked once). */
export function previewAvailable() {
  if (available === null) {
    available = fetch(PREVIEW_URL, { method: "GET", cache: "no-store" })
      .then((r) => r.ok && (r.headers.get("content-type") || "").includes("html"))
      .catch(() => false);
  }
  return available;
}

/**
 * The preview pane. `getState()` gives {configText, campaignId, variants:
 * [keys], coupon, hasForm}; call update() when the campaign changes.
 */
export function createPreview(getState) {
  const options = { device: "desktop", step: "offer", variant: "", firstName: "Alex" };
  const stage = h("div", { class: "preview-stage" });
  const status = h("p", { class: "preview-status", "aria-live": "polite" });
  const diagnostics = h("ul", { class: "preview-diagnostics" });
  const pane = h("section", { class: "preview card", "aria-labelledby": "preview-title", dataset: { previewRenders: "0", previewState: "loading" } });

  const deviceName = uid("dev");
  const deviceRadios = h("fieldset", { class: "segmented" }, h("legend", {}, "Device"),
    Object.keys(DEVICES).map((d) => {
      const id = uid("d");
      const input = h("input", { type: "radio", name: deviceName, id, value: d, checked: d === options.device });
      input.addEventListener("change", () => { options.device = d; layout(); send(); });
      return h("span", {}, input, h("label", { for: id }, d === "phone" ? "Phone" : "Desktop"));
    }));
  const stepId = uid("s");
  const stepSelect = h("select", { id: stepId }, h("option", { value: "offer" }, "Offer"), h("option", { value: "form" }, "Form"), h("option", { value: "success" }, "After sign-up"));
  stepSelect.addEventListener("change", () => { options.step = stepSelect.value; send(); });
  const variantId = uid("v");
  const variantSelect = h("select", { id: variantId });
  variantSelect.addEventListener("change", () => { options.variant = variantSelect.value; send(); });
  const nameId = uid("n");
  const nameInput = h("input", { id: nameId, value: options.firstName, size: 10 });
  nameInput.addEventListener("input", () => { options.firstName = nameInput.value; send(); });
  const variantField = h("div", { class: "field inline" }, h("label", { for: variantId }, "Arm"), variantSelect);

  const controls = h("div", { class: "preview-controls" },
    deviceRadios,
    h("div", { class: "field inline" }, h("label", { for: stepId }, "Step"), stepSelect),
    variantField,
    h("div", { class: "field inline" }, h("label", { for: nameId }, "First name"), nameInput));
  replace(pane, h("h2", { id: "preview-title" }, "Preview"), controls, stage, status, diagnostics);

  let frame = null;
  let loaded = false;
  let waiting = null;
  let lastMessage = null;

  const layout = () => {
    if (!frame) return;
    const device = DEVICES[options.device];
    const scale = Math.min(1, (stage.clientWidth || device.width) / device.width);
    frame.style.width = `${device.width}px`;
    frame.style.height = `${device.height}px`;
    frame.style.transform = `scale(${scale})`;
    stage.style.height = `${Math.ceil(device.height * scale)}px`;
    pane.dataset.previewDevice = options.device;
  };

  const send = () => {
    const state = getState();
    const keys = state.variants || [];
    const current = variantSelect.value;
    replace(variantSelect, h("option", { value: "" }, keys.length ? "As bucketed" : "No A/B test"), keys.map((k) => h("option", { value: k }, k)));
    variantSelect.value = keys.includes(current) ? current : "";
    options.variant = variantSelect.value;
    variantField.hidden = keys.length === 0;
    stepSelect.querySelector('[value="form"]').disabled = !state.hasForm;
    stepSelect.querySelector('[value="success"]').disabled = !state.hasForm;
    if (!state.hasForm && options.step !== "offer") { options.step = "offer"; stepSelect.value = "offer"; }
    lastMessage = {
      type: "nudge-preview", config: state.configText, campaign: state.campaignId, step: options.step,
      variant: options.variant || undefined, coupon: state.coupon || undefined,
      traits: options.firstName ? { first_name: options.firstName } : {},
    };
    if (!frame || !loaded) return;
    frame.contentWindow.postMessage(lastMessage, location.origin);
    clearTimeout(waiting);
    waiting = setTimeout(() => {
      if (pane.dataset.previewState === "waiting") status.textContent = "The preview did not answer. It may still be drawing; the rest of the studio works.";
    }, 5000);
    pane.dataset.previewState = "waiting";
  };

  const onMessage = (event) => {
    if (!frame || event.source !== frame.contentWindow || event.origin !== location.origin) return;
    const data = event.data;
    // The page says when it listens (its module may start after "load").
    if (data && data.type === "nudge-preview-ready") { loaded = true; send(); return; }
    if (!data || data.type !== "nudge-preview-result") return;
    clearTimeout(waiting);
    pane.dataset.previewState = "rendered";
    pane.dataset.previewRenders = String(Number(pane.dataset.previewRenders || 0) + 1);
    // The campaign's own problems are already at their fields; here only whether it could be drawn.
    const list = Array.isArray(data.diagnostics) ? data.diagnostics : [];
    const errors = list.filter((d) => String(d?.severity || "error").toLowerCase() !== "warning");
    pane.dataset.previewErrors = String(errors.length);
    status.textContent = errors.length ? "The preview shows nothing until the problems marked in the form are fixed." : "";
    replace(diagnostics, errors.filter((d) => !d.path).slice(0, 3).map((d) => h("li", {}, d.message || String(d))));
  };

  const resize = typeof ResizeObserver === "function" ? new ResizeObserver(() => layout()) : null;

  previewAvailable().then((ok) => {
    if (!ok) {
      pane.dataset.previewState = "unavailable";
      replace(stage, h("p", { class: "notice" }, "Preview unavailable: this studio was built without the agent's preview page. The campaign can still be edited, saved and previewed on the shop."));
      stage.style.height = "auto";
      return;
    }
    frame = h("iframe", { src: PREVIEW_URL, title: "Campaign preview, drawn by the shop's own Nudge agent", class: "preview-frame", loading: "eager" });
    frame.addEventListener("load", () => { loaded = true; send(); });
    window.addEventListener("message", onMessage);
    stage.append(frame);
    resize?.observe(stage);
    layout();
  });

  return {
    element: pane,
    update: send,
    destroy() {
      window.removeEventListener("message", onMessage);
      resize?.disconnect();
      clearTimeout(waiting);
    },
    get lastMessage() { return lastMessage; },
  };
}
