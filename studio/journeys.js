// The journeys screen: each journey of the live config in words (what starts
// it, its steps, what ends it) with its numbers, a link to edit it, and a
// switch to turn it on or off (publishers; a new version, as pausing a
// campaign is); the open drafts; and the templates a new journey starts from.

import { api } from "./api.js";
import { messagingCard } from "./journey/messaging.js";
import { holdoutReport, stepReport } from "./journey/report.js";
import { JOURNEY_TEMPLATES } from "./journey/templates.js";
import { EXIT_WORDS } from "./journey/words.js";
import { can, site } from "./session.js";
import { blockedButton, formatCount, formatWhen, h, replace, toast } from "./ui.js";

export function entryWords(entry) {
  if (!entry) return "–";
  if (entry.event) return `“${entry.event}”`;
  if (entry.category_views) {
    const { min, within_hours: hours } = entry.category_views;
    return `${min} views of one category within ${hours} h`;
  }
  if (entry.inactive_days) return `No visit for ${entry.inactive_days} days`;
  if (entry.date_trait) return `On the day of the person's ${entry.date_trait}`;
  return "–";
}

function goalWords(goals) {
  if (!goals?.length) return "None: it runs to its last step";
  return goals.map((g) => g.startsWith("Campaign Converted/")
    ? `the “${g.slice("Campaign Converted/".length)}” campaign converting`
    : `“${g}”`).join(" or ");
}

export async function renderJourneys(main) {
  replace(main, h("h1", {}, "Journeys"), h("p", { class: "loading" }, "Loading journeys…"));
  const [{ data }, config] = await Promise.all([
    api.journeys(site()),
    api.campaigns(site()).then((r) => r.data.config || {}).catch(() => ({})),
  ]);
  const journeys = Array.isArray(data.journeys) ? data.journeys : [];
  const json = new Map((config.journeys || []).filter((j) => j && j.id).map((j) => [j.id, j]));
  const body = journeys.length
    ? journeys.map((j) => card(j, json.get(j.id), data.live_version, () => renderJourneys(main)))
    : h("p", { class: "empty" }, "No journeys are live yet. Start one from a template.");
  const drafts = (Array.isArray(data.drafts) ? data.drafts : []).filter((d) => !journeys.some((j) => j.id === d.id));
  const newButton = can("edit").ok
    ? h("a", { class: "button primary", href: "#/journeys/new", "data-action": "new-journey" }, "New journey")
    : null;
  replace(main,
    h("div", { class: "page-head" }, h("h1", {}, "Journeys"), newButton),
    drafts.length ? h("section", { class: "card journey-drafts" }, h("h2", {}, "Drafts not yet published"),
      h("ul", {}, drafts.map((d) => h("li", {},
        h("a", { href: `#/j/${encodeURIComponent(d.id)}` }, d.name || d.id),
        ` · ${entryWords(d.entry)} · saved by ${d.by || "someone"} ${formatWhen(d.at)}`)))) : null,
    h("p", { class: "muted" }, "Timed flows across email, SMS and the site, run by the edge. Numbers since each journey started."),
    body,
    messagingCard(config, data.live_version ?? 0, () => renderJourneys(main)),
    h("p", { class: "muted" },
      `${formatCount(data.pending_timers ?? 0)} waiting steps · live version ${data.live_version ?? 0}`));
  return null;
}

function card(j, journeyJson, liveVersion, reload) {
  const s = j.stats || {};
  const n = (key) => formatCount(s[key] ?? 0);
  const skipped = (s.suppressed_cap ?? 0) + (s.suppressed_consent ?? 0);
  const ended = Object.entries(EXIT_WORDS).filter(([key]) => s[key]).map(([key, words]) => `${words}: ${formatCount(s[key])}`);
  const allowed = can("status");
  const label = j.enabled ? "Turn off" : "Turn on";
  const toggle = allowed.ok
    ? h("button", { type: "button", class: j.enabled ? "" : "primary", onclick: async (event) => {
      event.target.disabled = true;
      try {
        await api.setJourney(site(), j.id, !j.enabled, liveVersion);
        toast(`${j.name || j.id} is ${j.enabled ? "off" : "on"}.`);
        await reload();
      } catch (error) {
        toast(error.status === 409 ? "Someone published meanwhile: the list is reloaded, try again." : error.message, "error");
        event.target.disabled = false;
        if (error.status === 409) await reload();
      }
    } }, label)
    : blockedButton(label, allowed.reason);
  return h("section", { class: "journey card", dataset: { journey: j.id } },
    h("div", { class: "page-head" },
      h("h2", {}, j.name || j.id, " ", h("span", { class: `badge status-${j.enabled ? "live" : "paused"}` }, j.enabled ? "On" : "Off")),
      h("div", { class: "actions" },
        h("a", { class: "button", href: `#/j/${encodeURIComponent(j.id)}`, "data-action": "edit-journey" }, can("edit").ok ? "Edit" : "Open"),
        h("a", { class: "button quiet", href: api.journeyReportUrl(site(), j.id, "csv"), download: `nudge-journey-${j.id}.csv`, "data-action": "journey-csv" }, "Steps as CSV"),
        toggle)),
    h("dl", { class: "journey-facts" },
      h("dt", {}, "Starts on"), h("dd", {}, entryWords(j.entry)),
      // The step table below names each step; without one (no steps), the words.
      j.step_report?.length ? null : [h("dt", {}, "Steps"), h("dd", {}, h("ol", { class: "steps" }, (j.steps || []).map((line) => {
        const depth = line.length - line.trimStart().length;
        return h("li", { style: `margin-left: ${depth / 2}em` }, line.trim());
      })))],
      h("dt", {}, "Ends early on"), h("dd", {}, goalWords(j.goals))),
    h("table", { class: "journey-numbers" },
      h("caption", { class: "visually-hidden" }, `${j.name || j.id}: numbers`),
      h("thead", {}, h("tr", {}, ["Entered", "In progress", "Messages sent", "Skipped (cap or consent)", "Conversions"]
        .map((t) => h("th", { scope: "col", class: "num" }, t)))),
      h("tbody", {}, h("tr", {},
        h("td", { class: "num" }, n("entered")), h("td", { class: "num" }, n("in_progress")),
        h("td", { class: "num" }, n("sent")), h("td", { class: "num" }, formatCount(skipped)),
        h("td", { class: "num" }, n("conversions"))))),
    ended.length ? h("p", { class: "muted" }, ended.join(" · ")) : null,
    holdoutReport(j.holdout),
    stepReport(journeyJson, j.step_report, s.entered),
    s.coupon_pool_empty ? h("p", { class: "error-text" }, `A coupon pool ran out ${formatCount(s.coupon_pool_empty)} times: upload more codes.`) : null,
    s.coupon_unverified ? h("p", { class: "muted" }, `No coupon for ${formatCount(s.coupon_unverified)} visitors who were not signed in or verified.`) : null);
}

/** `#/journeys/new`: the templates a new journey starts from. */
export function renderJourneyTemplates(main) {
  replace(main,
    h("p", { class: "crumbs" }, h("a", { href: "#/journeys" }, "Journeys"), " › New journey"),
    h("h1", {}, "New journey"),
    h("p", { class: "muted" }, "Start from a flow that works for most shops, or from a blank one. Everything can be changed before it is published."),
    h("ul", { class: "templates" }, JOURNEY_TEMPLATES.map((t) => h("li", { class: "card template" },
      h("h2", {}, h("a", { href: `#/journeys/new/${t.key}`, "data-template": t.key }, t.title)),
      h("p", {}, t.summary)))));
  return null;
}
