// A/B variants: arms with weights (shown as percentages that must add up to
// 100), a control arm that shows nothing, and per-arm content overrides.

import { h, uid } from "../ui.js";
import { accentField, withMergeFields } from "./content.js";
import { bound, getPath, group, setPath } from "./fields.js";
import { section } from "./section.js";

const round = (n) => Math.round(n * 10000) / 10000;

export function variantsSection(ctx) {
  return section(ctx, { title: "A/B test", id: "sec-variants", hint: "Split visitors between versions to measure which works better." }, (refresh) => {
    const variants = getPath(ctx.model(), "variants");
    const toggleId = uid("t");
    const on = Array.isArray(variants);
    const toggleInput = h("input", { id: toggleId, type: "checkbox", checked: on, disabled: ctx.readOnly });
    toggleInput.addEventListener("change", () => {
      if (toggleInput.checked) {
        ctx.model().variants = [{ key: "control", weight: 0.5, control: true }, { key: "b", weight: 0.5 }];
      } else {
        delete ctx.model().variants;
      }
      ctx.changed({ structural: true });
      refresh();
    });
    const parts = [h("div", { class: "field check toggle" }, toggleInput, h("label", { for: toggleId }, "Run an A/B test"))];
    if (!on) return parts;

    const total = variants.reduce((sum, v) => sum + (typeof v.weight === "number" ? v.weight : 0), 0);
    const totalOk = Math.abs(total - 1) <= 0.01;
    const totalText = h("p", { class: totalOk ? "sum ok" : "sum bad", "aria-live": "polite" },
      `Weights add up to ${Math.round(total * 1000) / 10}%${totalOk ? "." : ": they must add up to 100%."}`);
    const updateTotal = () => {
      const vs = ctx.model().variants || [];
      const t = vs.reduce((sum, v) => sum + (typeof v.weight === "number" ? v.weight : 0), 0);
      const ok = Math.abs(t - 1) <= 0.01;
      totalText.className = ok ? "sum ok" : "sum bad";
      totalText.textContent = `Weights add up to ${Math.round(t * 1000) / 10}%${ok ? "." : ": they must add up to 100%."}`;
    };

    const arms = variants.map((v, i) => {
      const base = `variants[${i}]`;
      const overrides = v.control ? h("p", { class: "hint" }, "The control arm shows nothing; its visitors are counted so the others can be compared with them.") : [
        withMergeFields(bound(ctx, { path: `${base}.content.title`, label: "Title (this arm)", placeholder: ctx.model().content?.title || "same as the campaign" }), "this arm's title", ctx.readOnly),
        withMergeFields(bound(ctx, { path: `${base}.content.body`, label: "Body (this arm)", kind: "textarea", placeholder: ctx.model().content?.body || "same as the campaign" }), "this arm's body", ctx.readOnly),
        h("div", { class: "row" }, ctaLabelOverride(ctx, i), accentField(ctx, `${base}.content.accent`, "Accent colour (this arm)")),
      ];
      return group(ctx, { path: base, legend: `Arm ${i + 1}${v.key ? `: ${v.key}` : ""}`, className: "arm" },
        h("div", { class: "row" },
          bound(ctx, { path: `${base}.key`, label: "Key", emptyValue: "", hint: "Short name used in reports." }),
          bound(ctx, { path: `${base}.weight`, label: "Share of visitors (%)", kind: "percent", onChange: updateTotal }),
          bound(ctx, { path: `${base}.control`, label: "Control arm", kind: "checkbox", defaultValue: false, onChange: refresh })),
        overrides,
        ctx.readOnly ? null : h("button", { type: "button", class: "quiet danger-text", onclick: () => {
          ctx.model().variants.splice(i, 1);
          ctx.changed({ structural: true });
          refresh();
        } }, `Remove arm ${i + 1}`));
    });

    parts.push(group(ctx, { path: "variants", legend: "Arms" }, totalText, arms,
      ctx.readOnly ? null : h("div", { class: "rule-actions" },
        h("button", { type: "button", class: "quiet", onclick: () => {
          const keys = new Set(ctx.model().variants.map((v) => v.key));
          let letter = 98; // "b"
          while (keys.has(String.fromCharCode(letter))) letter += 1;
          ctx.model().variants.push({ key: String.fromCharCode(letter), weight: 0 });
          ctx.changed({ structural: true });
          refresh();
        } }, "Add an arm"),
        h("button", { type: "button", class: "quiet", onclick: () => {
          const vs = ctx.model().variants;
          vs.forEach((v, i) => { v.weight = i === vs.length - 1 ? round(1 - round(1 / vs.length) * (vs.length - 1)) : round(1 / vs.length); });
          ctx.changed({ structural: true });
          refresh();
        } }, "Split evenly"))));
    parts.push(h("div", { class: "row" },
      bound(ctx, { path: "coverage", label: "Visitors in the test (%)", kind: "percent", placeholder: "100", hint: "The rest see nothing and are not counted." }),
      bound(ctx, { path: "hash_attribute", label: "Split visitors by", placeholder: "id", hint: "The attribute that keeps a visitor in one arm (id: the user id, else the browser)." })));
    return parts;
  });
}

/** An arm's button label: overrides the whole `cta`, so the campaign's link is kept. */
function ctaLabelOverride(ctx, i) {
  const path = `variants[${i}].content.cta`;
  const field = bound(ctx, { path: `${path}.label`, label: "Button label (this arm)", placeholder: ctx.model().content?.cta?.label || "same as the campaign", registerAs: path });
  // bound() already wrote `cta.label`; complete the override with the campaign's link.
  field.input.addEventListener("input", () => {
    const label = field.input.value;
    const baseCta = ctx.model().content?.cta || {};
    setPath(ctx.model(), path, label ? { ...baseCta, label } : undefined);
  });
  return field;
}
