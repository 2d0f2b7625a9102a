// What the campaign shows: layout, texts with merge fields, image, button,
// form (with its success step and coupon), dismiss label and accent colour.

import { h, uid } from "../ui.js";
import { bound, getPath, group, setPath, toggle } from "./fields.js";
import { mergeFieldPicker, section } from "./section.js";

export const LAYOUTS = [
  ["modal", "Modal (centred, over the page)"],
  ["slide_in", "Slide-in (corner)"],
  ["top_banner", "Top banner"],
  ["bottom_banner", "Bottom banner"],
  ["inline", "Inline (inside the shop's page)"],
];

/** Adds the "Insert field…" picker beside a bound text field. */
export function withMergeFields(field, label, readOnly) {
  const row = h("div", { class: "with-extra" });
  field.input.replaceWith(row);
  row.append(field.input, mergeFieldPicker(field.input, label, readOnly));
  return field;
}

export function contentSection(ctx) {
  return section(ctx, { title: "Content", id: "sec-content", hint: "What the visitor sees. Texts may hold personal fields, filled in for each visitor." }, (refresh) => {
    const layout = getPath(ctx.model(), "content.layout");
    const parts = [
      bound(ctx, { path: "content.layout", label: "Layout", kind: "select", options: LAYOUTS, onChange: refresh }),
    ];
    if (layout === "inline") {
      parts.push(h("div", { class: "row" },
        bound(ctx, { path: "content.selector", label: "Where on the page (CSS selector)", placeholder: "#recommendations", hint: "The element of the shop's page the campaign goes into." }),
        bound(ctx, { path: "content.position", label: "Position", kind: "select", emptyValue: "append", options: [["append", "At the end of it"], ["prepend", "At the start of it"], ["before", "Before it"], ["after", "After it"]] })));
    }
    parts.push(group(ctx, { path: "content", legend: "Texts" },
      withMergeFields(bound(ctx, { path: "content.title", label: "Title", wide: true }), "the title", ctx.readOnly),
      withMergeFields(bound(ctx, { path: "content.body", label: "Body", kind: "textarea", wide: true }), "the body", ctx.readOnly),
      bound(ctx, { path: "content.dismiss_label", label: "Dismiss button label", placeholder: "Close" })));

    parts.push(group(ctx, { path: "content.image", legend: "Image" },
      toggle(ctx, { path: "content.image", label: "Show an image", make: () => ({ src: "", alt: "" }), onToggle: refresh }),
      getPath(ctx.model(), "content.image") ? h("div", { class: "row" },
        bound(ctx, { path: "content.image.src", label: "Image address", placeholder: "/img/offer.svg or https://…", emptyValue: "" }),
        bound(ctx, { path: "content.image.alt", label: "Description for screen readers", hint: "Leave empty for a decorative image.", emptyValue: "" })) : null));

    parts.push(group(ctx, { path: "content.cta", legend: "Button" },
      toggle(ctx, { path: "content.cta", label: "Add a button", make: () => ({ label: "Shop now", url: "/" }), onToggle: refresh }),
      getPath(ctx.model(), "content.cta") ? h("div", { class: "row" },
        bound(ctx, { path: "content.cta.label", label: "Button label", emptyValue: "" }),
        bound(ctx, { path: "content.cta.url", label: "Button link", placeholder: "/checkout", hint: "A page of the shop (/cart) or a full https:// address." })) : null));

    const form = getPath(ctx.model(), "content.form");
    parts.push(group(ctx, { path: "content.form", legend: "Form" },
      toggle(ctx, { path: "content.form", label: "Collect an email address or phone number", make: () => ({ field: "email", placeholder: "you@example.com", button: "Sign up", success: "Thank you!" }), onToggle: refresh }),
      form ? [
        h("div", { class: "row" },
          bound(ctx, { path: "content.form.field", label: "Ask for", kind: "select", options: [["email", "Email address"], ["phone", "Phone number"]] }),
          bound(ctx, { path: "content.form.placeholder", label: "Placeholder", placeholder: form.field === "phone" ? "+1 555 123 4567" : "you@example.com" })),
        h("div", { class: "row" },
          bound(ctx, { path: "content.form.button", label: "Submit button", placeholder: "Sign up" }),
          withMergeFields(bound(ctx, { path: "content.form.success", label: "Success message", placeholder: "Thank you!", hint: "Shown after the visitor signs up, with the coupon if there is one." }), "the success message", ctx.readOnly)),
      ] : null));

    parts.push(h("div", { class: "row" },
      bound(ctx, { path: "content.coupon", label: "Coupon code", placeholder: "e.g. WELCOME10", hint: form ? "Revealed after the sign-up (the edge keeps it out of the public config)." : "Shown with the campaign." }),
      accentField(ctx)));
    return parts;
  });
}

/** A colour picker and its text twin, both bound to content.accent. */
export function accentField(ctx, path = "content.accent", label = "Accent colour") {
  const textField = bound(ctx, { path, label, placeholder: "#1d4ed8", hint: "#rgb or #rrggbb; empty for the default." });
  const value = getPath(ctx.model(), path);
  const picker = h("input", {
    type: "color", id: uid("c"), "aria-label": `${label}: colour picker`, disabled: ctx.readOnly,
    value: /^#[0-9a-f]{6}$/i.test(value || "") ? value : expand(value) || "#1d4ed8",
  });
  picker.addEventListener("input", () => {
    textField.input.value = picker.value;
    setPath(ctx.model(), path, picker.value);
    ctx.setLocalError(path, null);
    ctx.changed({ structural: false });
  });
  textField.input.addEventListener("input", () => {
    const full = expand(textField.input.value);
    if (full) picker.value = full;
  });
  const row = h("div", { class: "with-extra" });
  textField.input.replaceWith(row);
  row.append(textField.input, picker);
  return textField;
}

function expand(c) {
  if (/^#[0-9a-f]{6}$/i.test(c || "")) return c.toLowerCase();
  const m = /^#([0-9a-f])([0-9a-f])([0-9a-f])$/i.exec(c || "");
  return m ? `#${m[1]}${m[1]}${m[2]}${m[2]}${m[3]}${m[3]}`.toLowerCase() : null;
}
