// The campaign list: status, layout, trigger and the last 7 days' numbers,
// with a search box and a status filter.

import { api } from "./api.js";
import { can, site } from "./session.js";
import { blockedButton, formatCount, formatRate, formatWhen, h, replace, uid } from "./ui.js";

export const STATUS_WORDS = {
  draft: "Draft", scheduled: "Scheduled", live: "Live", paused: "Paused", ended: "Ended",
};

export const LAYOUT_WORDS = {
  modal: "Modal", slide_in: "Slide-in", top_banner: "Top banner", bottom_banner: "Bottom banner", inline: "Inline",
};

export function statusBadge(status) {
  return h("span", { class: `badge status-${status || "unknown"}` }, STATUS_WORDS[status] || status || "Unknown");
}

export async function renderList(main) {
  const heading = h("h1", {}, "Campaigns");
  const newButton = can("edit").ok
    ? h("a", { class: "button primary", href: "#/new" }, "New campaign")
    : blockedButton("New campaign", can("edit").reason);
  replace(main, h("div", { class: "page-head" }, heading, newButton), h("p", { class: "loading" }, "Loading campaigns…"));

  const [list, summary] = await Promise.allSettled([api.campaigns(site()), api.summary(site(), 7)]);
  if (list.status === "rejected") throw list.reason;
  const campaigns = Array.isArray(list.value.data.campaigns) ? list.value.data.campaigns : [];
  const numbers = new Map();
  const summaryRows = summary.status === "fulfilled" ? summary.value.data?.campaigns : null;
  for (const row of Array.isArray(summaryRows) ? summaryRows : []) numbers.set(row.campaign, row);
  const noNumbers = summary.status === "rejected" || !Array.isArray(summaryRows);

  const searchId = uid("search");
  const filterId = uid("filter");
  const search = h("input", { id: searchId, type: "search", placeholder: "Name or id", autocomplete: "off" });
  const filter = h("select", { id: filterId },
    h("option", { value: "" }, "All statuses"),
    Object.entries(STATUS_WORDS).map(([value, label]) => h("option", { value }, label)));
  const count = h("p", { class: "muted count", "aria-live": "polite" });
  const body = h("tbody");
  const table = h("table", { class: "campaigns" },
    h("caption", { class: "visually-hidden" }, "Campaigns, with the last 7 days' numbers"),
    h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, "Campaign"), h("th", { scope: "col" }, "Status"), h("th", { scope: "col" }, "Layout"),
      h("th", { scope: "col" }, "Trigger"), h("th", { scope: "col", class: "num" }, "Exposed (7 d)"),
      h("th", { scope: "col", class: "num" }, "CTR"), h("th", { scope: "col", class: "num" }, "Conversion"),
      h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")))),
    body);

  const draw = () => {
    const text = search.value.trim().toLowerCase();
    const status = filter.value;
    const shown = campaigns.filter((c) => (!status || c.status === status)
      && (!text || `${c.name || ""} ${c.id}`.toLowerCase().includes(text)));
    count.textContent = `${shown.length} of ${campaigns.length} campaigns`;
    replace(body, shown.length ? shown.map((c) => row(c, numbers.get(c.id))) : h("tr", {},
      h("td", { colspan: "8", class: "empty" }, campaigns.length ? "No campaign matches." : "No campaigns yet.")));
  };
  search.addEventListener("input", draw);
  filter.addEventListener("change", draw);
  draw();

  replace(main,
    h("div", { class: "page-head" }, heading, newButton),
    h("div", { class: "filters" },
      h("div", { class: "field inline" }, h("label", { for: searchId }, "Search"), search),
      h("div", { class: "field inline" }, h("label", { for: filterId }, "Status"), filter),
      count),
    noNumbers ? h("p", { class: "notice" }, "No report data yet: the last 7 days' numbers appear here once the report service answers.") : null,
    h("div", { class: "table-wrap" }, table),
    h("p", { class: "muted" }, `Live version ${list.value.data.version ?? 0}.`));
  return null;
}

function row(c, n) {
  const name = c.name || c.id;
  const editable = can("edit").ok;
  return h("tr", { dataset: { campaign: c.id } },
    h("th", { scope: "row" },
      h("a", { href: `#/c/${encodeURIComponent(c.id)}` }, name),
      h("span", { class: "id" }, c.id),
      c.has_draft ? h("span", { class: "draft-note", title: `Draft by ${c.updated_by || "someone"}, ${formatWhen(c.updated_at)}` },
        c.live ? "Unpublished changes" : "Not published yet") : null),
    h("td", {}, statusBadge(c.status)),
    h("td", {}, LAYOUT_WORDS[c.layout] || c.layout || "–"),
    h("td", {}, c.trigger || "–"),
    h("td", { class: "num" }, n ? formatCount(n.exposed_persons) : "–"),
    h("td", { class: "num" }, n ? formatRate(n.click_through_rate) : "–"),
    h("td", { class: "num" }, n ? formatRate(n.conversion_rate) : "–"),
    h("td", { class: "row-actions" },
      h("a", { href: `#/c/${encodeURIComponent(c.id)}`, "aria-label": `${editable ? "Edit" : "Open"} ${name}` }, editable ? "Edit" : "Open"),
      " ",
      h("a", { href: `#/c/${encodeURIComponent(c.id)}/report`, "aria-label": `Report for ${name}` }, "Report")));
}
