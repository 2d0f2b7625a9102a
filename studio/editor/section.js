// A part of the editor form that can draw itself again when its shape
// changes (a layout with a selector, a trigger with another parameter),
// keeping focus where it was when the same control is still there.

import { h } from "../ui.js";

export function section(ctx, { title, id, hint }, draw) {
  const body = h("div", { class: "section-body" });
  const headingId = `${id}-title`;
  const el = h("section", { class: "editor-section card", id, "aria-labelledby": headingId },
    h("h2", { id: headingId }, title), hint ? h("p", { class: "hint" }, hint) : null, body);
  const refresh = () => {
    const focused = document.activeElement;
    const focusPath = body.contains(focused) ? focused?.dataset?.path : null;
    body.replaceChildren(...[draw(refresh)].flat().filter(Boolean));
    if (focusPath) body.querySelector(`[data-path="${CSS.escape(focusPath)}"]`)?.focus();
    ctx.reshow();
  };
  body.replaceChildren(...[draw(refresh)].flat().filter(Boolean));
  return el;
}

export const MERGE_FIELDS = [
  ["{{traits.first_name|}}", "First name (nothing if unknown)"],
  ["{{first_name|there}}", "First name, or “there”"],
  ["{{coupon}}", "The campaign's coupon code"],
  ["{{coupons.latest}}", "Latest coupon the visitor was sent"],
  ["{{cart.value}}", "Cart value"],
  ["{{cart.items}}", "Items in the cart"],
  ["{{page.category|this category}}", "Category of this page"],
  ["{{orders.count}}", "Number of orders"],
  ["{{geo.country}}", "Country"],
];

/**
 * An "Insert field" picker for a text input: puts a merge field at the
 * cursor, then fires `input` so the binding sees it.
 */
export function mergeFieldPicker(input, label, disabled) {
  const select = h("select", { class: "merge-picker", "aria-label": `Insert a personal field into ${label}`, disabled },
    h("option", { value: "" }, "Insert field…"),
    MERGE_FIELDS.map(([value, text]) => h("option", { value }, text)));
  select.addEventListener("change", () => {
    const field = select.value;
    select.value = "";
    if (!field) return;
    const start = input.selectionStart ?? input.value.length;
    const end = input.selectionEnd ?? input.value.length;
    input.value = input.value.slice(0, start) + field + input.value.slice(end);
    input.focus();
    input.setSelectionRange(start + field.length, start + field.length);
    input.dispatchEvent(new Event("input", { bubbles: true }));
  });
  return select;
}
