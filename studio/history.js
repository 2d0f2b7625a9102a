// The site's versions, newest first: who, when, what and why; one version's
// changes in words; and "Roll back to this version" for publishers.

import { api } from "./api.js";
import { can, site } from "./session.js";
import { announce, blockedButton, confirmDialog, formatWhen, h, replace, shortJson, toast } from "./ui.js";
import { pathWords } from "./words.js";

const PAGE = 30;
const ACTIONS = {
  publish: "Published", rollback: "Rolled back", status: "Status changed", api: "Changed through the API", import: "Imported",
  journey: "Journey turned on or off", settings: "Messaging rules changed",
};

export async function renderHistory(main, selected) {
  const list = h("ol", { class: "versions" });
  const detail = h("section", { class: "version-detail card", "aria-live": "polite", "aria-label": "The selected version" },
    h("p", { class: "muted" }, "Select a version to see what changed."));
  const more = h("button", { type: "button", class: "quiet", hidden: true }, "Older versions");
  const errorBox = h("div", { role: "alert" });
  let liveVersion = null;
  let nextBefore = null;

  replace(main,
    h("div", { class: "page-head" }, h("h1", {}, "History")),
    h("p", { class: "muted" }, "Every change that reached shoppers. Rolling back makes a new version with an older one's config."),
    errorBox,
    h("div", { class: "history-layout" }, h("div", { class: "versions-pane card" }, h("h2", {}, "Versions"), list, more), detail));

  const loadLive = async () => {
    const { data } = await api.campaigns(site());
    liveVersion = data.version ?? 0;
  };

  const loadPage = async () => {
    let data;
    try {
      ({ data } = await api.versions(site(), nextBefore, PAGE));
    } catch (error) {
      replace(errorBox, h("p", { class: "error-text" }, error.status === 404 ? "No history yet." : error.message));
      return;
    }
    const versions = Array.isArray(data.versions) ? data.versions : [];
    if (versions.length === 0 && list.children.length === 0) list.append(h("li", { class: "muted" }, "No versions yet."));
    for (const v of versions) {
      list.append(h("li", {},
        h("a", { href: `#/history/${v.version}`, "aria-current": String(v.version) === String(selected) ? "true" : null, dataset: { version: v.version } },
          h("span", { class: "version-number" }, `Version ${v.version}`),
          v.version === liveVersion ? h("span", { class: "badge status-live" }, "Live") : null,
          h("span", { class: "version-what" }, `${ACTIONS[v.action] || v.action || "Changed"}${v.campaign ? `: ${itemName(v.campaign)}` : ""}`),
          h("span", { class: "version-who" }, `${v.by || "someone"}, ${formatWhen(v.at)}`),
          v.note ? h("span", { class: "version-note" }, `“${v.note}”`) : null)));
    }
    nextBefore = data.next_before ?? null;
    more.hidden = nextBefore === null || versions.length < PAGE;
  };
  more.addEventListener("click", loadPage);

  const showVersion = async (v) => {
    replace(detail, h("p", { class: "loading" }, `Loading version ${v}…`));
    let data;
    try {
      ({ data } = await api.version(site(), v));
    } catch (error) {
      replace(detail, h("p", { class: "error-text" }, error.message));
      return;
    }
    const changes = Array.isArray(data.changes) ? data.changes : [];
    const isLive = Number(data.version) === Number(liveVersion);
    const rollback = isLive
      ? h("p", { class: "muted" }, "This is the live version.")
      : can("rollback").ok
        ? h("button", { type: "button", class: "danger", "data-action": "rollback", onclick: () => rollBack(data.version) }, "Roll back to this version")
        : blockedButton("Roll back to this version", can("rollback").reason);
    replace(detail,
      h("h2", {}, `Version ${data.version}`),
      h("p", {}, `${ACTIONS[data.action] || data.action || "Changed"}${data.campaign ? ` (${itemName(data.campaign)})` : ""} by ${data.by || "someone"}, ${formatWhen(data.at)}.`),
      data.note ? h("p", { class: "version-note" }, `Note: “${data.note}”`) : null,
      h("h3", {}, "What changed from the version before"),
      changes.length ? h("table", { class: "diff" },
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Campaign or journey"), h("th", { scope: "col" }, "Field"), h("th", { scope: "col" }, "Before"), h("th", { scope: "col" }, "After"))),
        h("tbody", {}, changes.map((c) => h("tr", {},
          h("td", {}, itemName(c.campaign)),
          h("td", {}, changeWords(c)),
          h("td", { class: "before" }, h("del", {}, shortJson(c.before))),
          h("td", { class: "after" }, h("ins", {}, shortJson(c.after)))))))
        : h("p", { class: "muted" }, "No differences."),
      rollback);
  };

  const rollBack = async (v) => {
    if (!(await confirmDialog(`Roll back to version ${v}?`, `Shoppers get version ${v}'s campaigns again within a minute. This makes a new version; nothing is deleted, and drafts are kept.`, "Roll back", true))) return;
    try {
      const { data } = await api.rollback(site(), v, liveVersion);
      toast(`Rolled back: version ${data.version} is live.`);
      announce(`Rolled back: version ${data.version} is live.`);
      location.hash = `#/history/${data.version}`;
    } catch (error) {
      const text = error.status === 409
        ? `${error.message} Reload the history to see the newest version before rolling back.`
        : error.message;
      replace(errorBox, h("p", { class: "error-text" }, text));
    }
  };

  try {
    await loadLive();
  } catch (error) {
    replace(errorBox, h("p", { class: "error-text" }, error.message));
  }
  await loadPage();
  if (selected) await showVersion(selected);
  return null;
}

/** The history names a journey `journey:<id>` and a campaign by its id. */
export function itemName(key) {
  if (!key) return "(site)";
  return key.startsWith("journey:") ? `${key.slice("journey:".length)} (journey)` : key;
}

/** "Added", "Removed" or the field in words. */
function changeWords(change) {
  if (!change.path) {
    const noun = String(change.campaign || "").startsWith("journey:") ? "journey" : "campaign";
    if (change.before === null || change.before === undefined) return `Added the ${noun}`;
    if (change.after === null || change.after === undefined) return `Removed the ${noun}`;
    return `The whole ${noun}`;
  }
  return pathWords(change.path);
}
