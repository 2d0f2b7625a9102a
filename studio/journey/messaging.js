// The site's messaging rules on the journeys screen: caps on marketing
// messages per person (a day, a week) and quiet hours, which every journey's
// marketing sends obey. Publishers change them (a new version in the
// history, checked by core like any other); everyone else reads them.

import { api } from "../api.js";
import { can, site } from "../session.js";
import { h, replace, toast, uid } from "../ui.js";

/** "UTC+1", "UTC-5:30", "UTC". */
export function zoneWords(offset) {
  if (!offset) return "UTC";
  const sign = offset > 0 ? "+" : "-";
  const abs = Math.abs(offset);
  return `UTC${sign}${Math.floor(abs / 60)}${abs % 60 ? `:${String(abs % 60).padStart(2, "0")}` : ""}`;
}

export function rulesWords(config) {
  const caps = config.messaging_caps || {};
  const quiet = config.quiet_hours;
  return [
    caps.per_day === undefined ? "No daily cap." : `At most ${caps.per_day} marketing messages a day per person.`,
    caps.per_week === undefined ? "No weekly cap." : `At most ${caps.per_week} a week.`,
    quiet ? `Quiet hours ${quiet.start}–${quiet.end} (${zoneWords(quiet.time_zone_offset_minutes ?? 0)}): messages wait until they end.` : "No quiet hours.",
  ];
}

export function messagingCard(config, liveVersion, reload) {
  const words = h("ul", {}, rulesWords(config).map((w) => h("li", {}, w)));
  const card = h("section", { class: "card messaging-rules", "aria-labelledby": "messaging-title" },
    h("h2", { id: "messaging-title" }, "The site's messaging rules"),
    h("p", { class: "hint" }, "Every journey's marketing sends obey these; transactional ones (receipts, confirmations) do not."),
    words);
  if (!can("status").ok) return card;
  const caps = config.messaging_caps || {};
  const quiet = config.quiet_hours || null;
  const field = (label, input, hint) => {
    input.id = uid("m");
    return h("div", { class: "field" }, h("label", { for: input.id }, label), hint ? h("p", { class: "hint" }, hint) : null, input);
  };
  const perDay = h("input", { type: "number", min: "0", max: "100", step: "1", inputmode: "numeric", value: caps.per_day ?? "", "data-path": "messaging_caps.per_day" });
  const perWeek = h("input", { type: "number", min: "0", max: "700", step: "1", inputmode: "numeric", value: caps.per_week ?? "", "data-path": "messaging_caps.per_week" });
  const quietOn = h("input", { type: "checkbox", id: uid("q"), checked: Boolean(quiet) });
  const start = h("input", { type: "time", value: quiet?.start ?? "21:00", "data-path": "quiet_hours.start" });
  const end = h("input", { type: "time", value: quiet?.end ?? "08:00", "data-path": "quiet_hours.end" });
  const offset = h("input", { type: "number", min: "-840", max: "840", step: "1", value: quiet?.time_zone_offset_minutes ?? 0, "data-path": "quiet_hours.time_zone_offset_minutes" });
  const out = h("div", { "aria-live": "polite" });
  const save = h("button", { type: "button", class: "primary", "data-action": "save-messaging" }, "Publish these rules");
  save.addEventListener("click", async () => {
    const number = (input) => (input.value.trim() === "" ? undefined : Number(input.value));
    const capsBody = Object.fromEntries([["per_day", number(perDay)], ["per_week", number(perWeek)]].filter(([, v]) => v !== undefined));
    const body = {
      messaging_caps: Object.keys(capsBody).length ? capsBody : null,
      quiet_hours: quietOn.checked ? { start: start.value, end: end.value, time_zone_offset_minutes: Number(offset.value) || 0 } : null,
    };
    save.disabled = true;
    try {
      const { data } = await api.setMessaging(site(), body, liveVersion);
      toast(`Messaging rules published: version ${data.version}.`);
      await reload();
    } catch (error) {
      const problems = Array.isArray(error.problems) ? error.problems : [];
      replace(out, h("p", { class: "error-text", role: "alert" }, error.status === 409 ? "Someone published meanwhile: reload the page and try again." : error.message),
        problems.length ? h("ul", { class: "error-text" }, problems.map((p) => h("li", {}, `${p.path}: ${p.message}`))) : null);
      save.disabled = false;
    }
  });
  card.append(h("details", {}, h("summary", {}, "Change them"),
    h("div", { class: "row" },
      field("Marketing messages a day, at most (empty: no cap)", perDay),
      field("A week, at most (empty: no cap)", perWeek)),
    h("div", { class: "field check" }, quietOn, h("label", { for: quietOn.id }, "Quiet hours: hold marketing messages overnight")),
    h("div", { class: "row" },
      field("From", start), field("Until", end),
      field("Time zone (minutes from UTC)", offset, "60 for UTC+1, -300 for UTC-5; change it yourself at daylight saving.")),
    h("div", { class: "actions" }, save),
    out));
  return card;
}
