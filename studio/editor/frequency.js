// How often and when: frequency caps and the schedule.

import { h } from "../ui.js";
import { bound, getPath, group, toggle } from "./fields.js";
import { section } from "./section.js";

export function frequencySection(ctx) {
  return section(ctx, { title: "Frequency and schedule", id: "sec-frequency", hint: "How often one visitor may see the campaign, and when it runs." }, (refresh) => [
    group(ctx, { path: "frequency", legend: "Frequency caps" },
      h("div", { class: "row" },
        bound(ctx, { path: "frequency.per_session", label: "At most per visit", kind: "int", placeholder: "1 (default)" }),
        bound(ctx, { path: "frequency.max_impressions", label: "At most in total", kind: "int", placeholder: "no limit" })),
      toggle(ctx, { path: "frequency.per_days", label: "Limit per number of days", make: () => ({ days: 7, max: 1 }), onToggle: refresh }),
      getPath(ctx.model(), "frequency.per_days") ? h("div", { class: "row" },
        bound(ctx, { path: "frequency.per_days.max", label: "At most this many times", kind: "int" }),
        bound(ctx, { path: "frequency.per_days.days", label: "In any period of days", kind: "int" })) : null,
      h("div", { class: "row" },
        bound(ctx, { path: "frequency.snooze_days_after_dismiss", label: "Days to wait after a dismissal", kind: "int", placeholder: "0" }),
        bound(ctx, { path: "frequency.stop_after_conversion", label: "Stop showing it once the visitor converted", kind: "checkbox", defaultValue: true }))),
    group(ctx, { path: "schedule", legend: "Schedule" },
      h("p", { class: "hint" }, `Times are in your time zone (${Intl.DateTimeFormat().resolvedOptions().timeZone}) and stored in UTC. Empty: from publishing on, with no end.`),
      h("div", { class: "row" },
        bound(ctx, { path: "schedule.start", label: "Start", kind: "datetime" }),
        bound(ctx, { path: "schedule.end", label: "End", kind: "datetime" }))),
  ]);
}
