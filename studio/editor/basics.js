// Name, id (new campaigns only), priority, goal, and the status as it is live.

import { h } from "../ui.js";
import { statusBadge } from "../list.js";
import { bound } from "./fields.js";
import { section } from "./section.js";

/** "Welcome: 10% off!" → "welcome-10-off". */
export function slug(text) {
  return text.toLowerCase().normalize("NFKD").replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 48);
}

export function basicsSection(ctx, { isNew, status }) {
  return section(ctx, { title: "Basics", id: "sec-basics" }, () => {
    // A new campaign's id follows its name until the marketer types one.
    let idTouched = !isNew || (Boolean(ctx.model().id) && ctx.model().id !== slug(ctx.model().name || ""));
    const idField = isNew
      ? bound(ctx, { path: "id", label: "Id", emptyValue: "", hint: "Letters, digits, - and _. Used in reports and links; it cannot change after the first save.", onChange: () => { idTouched = true; } })
      : null;
    const nameField = bound(ctx, {
      path: "name", label: "Name", emptyValue: "", wide: true, hint: "For you and your colleagues; visitors never see it.",
      onChange: (name) => {
        if (isNew && !idTouched && idField) {
          idField.input.value = slug(name || "");
          ctx.model().id = idField.input.value;
        }
      },
    });
    return [
      nameField,
      h("div", { class: "row" },
        idField || h("div", { class: "field" }, h("span", { class: "label" }, "Id"), h("p", { class: "static" }, h("code", {}, ctx.model().id))),
        h("div", { class: "field" }, h("span", { class: "label" }, "Status"), h("p", { class: "static" }, statusBadge(status || "draft")))),
      h("div", { class: "row" },
        bound(ctx, { path: "priority", label: "Priority", kind: "int", placeholder: "0", hint: "Higher goes first when two campaigns want the same place." }),
        bound(ctx, { path: "goal", label: "Goal event", list: "known-events", placeholder: "Signed Up", hint: "The event that counts as a conversion, once per person, if it follows their first view within the report's window (7 days unless you choose another)." })),
    ];
  });
}
