// Controls the journey editor needs beyond the campaign editor's: a duration
// (`{"hours": 4}`: a whole number and one unit, as core reads waits,
// `within` and cooldowns).

import { h, uid } from "../ui.js";
import { getPath, setPath } from "../editor/fields.js";

/** A duration's units, as core reads them, in seconds. */
export const UNIT_SECONDS = { seconds: 1, minutes: 60, hours: 3600, days: 86400 };
export const UNITS = Object.keys(UNIT_SECONDS).map((unit) => [unit, unit]);

/** The one unit and amount of a duration object (`{hours: 4}` → ["hours", 4]). */
export function durationParts(value) {
  const unit = value && typeof value === "object" ? UNITS.map(([u]) => u).find((u) => u in value) : undefined;
  return unit ? [unit, value[unit]] : ["hours", undefined];
}

/**
 * A labelled amount and unit bound to `path`; problems at `path` (and below,
 * `steps[0].wait.hours`) show under it. `optional`: an empty amount removes the
 * duration (a cooldown), else it is an error the form reports itself.
 */
export function duration(ctx, { path, label, hint, optional = false, focusPath }) {
  const id = uid("d");
  const messageId = `${id}-msg`;
  const hintId = hint ? `${id}-hint` : null;
  const [unit, amount] = durationParts(getPath(ctx.model(), path));
  const number = h("input", { id, type: "number", min: "0", step: "1", inputmode: "numeric", value: amount ?? "", "data-path": `${path}#amount`, disabled: ctx.readOnly });
  if (focusPath) number.dataset.first = focusPath;
  const unitId = uid("u");
  const select = h("select", { id: unitId, "aria-label": `${label}: unit`, "data-path": `${path}#unit`, disabled: ctx.readOnly },
    UNITS.map(([value, words]) => h("option", { value }, words)));
  select.value = unit;
  const message = h("p", { class: "field-message", id: messageId, hidden: true });
  const write = () => {
    const text = number.value.trim();
    if (text === "") {
      ctx.setLocalError(path, optional ? null : "Enter a whole number.");
      if (optional) setPath(ctx.model(), path, undefined);
    } else {
      const n = Number(text);
      const whole = Number.isInteger(n);
      ctx.setLocalError(path, whole ? null : "Enter a whole number.");
      if (whole) setPath(ctx.model(), path, { [select.value]: n });
    }
    ctx.changed({ structural: false });
  };
  number.addEventListener("input", write);
  select.addEventListener("change", write);
  number.setAttribute("aria-describedby", [hintId, messageId].filter(Boolean).join(" "));
  ctx.registry.register(path, { target: number, message, hintId });
  return h("div", { class: "field duration" },
    h("label", { for: id }, label),
    hint ? h("p", { class: "hint", id: hintId }, hint) : null,
    h("div", { class: "with-extra" }, number, select),
    message);
}
