// "Try it": the journey played on a virtual clock at the edge (POST
// …/journeys/{id}/dry-run), storing and sending nothing. The marketer picks a
// person (by email, phone or user id; their real consent, caps and
// attributes apply) or a consenting stranger, lists what the person does and
// when ("Order Completed after 2 hours"), and reads a timeline: what would be
// sent, when, to which destination, and why a step would be skipped.

import { api } from "../api.js";
import { can, site } from "../session.js";
import { formatWhen, h, replace, uid } from "../ui.js";
import { UNIT_SECONDS } from "./fields.js";

const SKIPPED = {
  consent: "skipped: no marketing consent, or the address is on the suppression list",
  cap: "skipped: the person's messaging cap is reached",
  holdout: "skipped: this person is in the journey's holdout group, which is sent nothing",
};
/** Whether a set step's pool code would be handed out now. */
const COUPON = {
  given: "",
  pool_empty: " (skipped: the pool has no codes left)",
  unverified: " (skipped: nobody vouches for this person: codes go to signed-in or verified people only)",
};
const EXITS = {
  goal: "the goal came: the run ends", completed: "the last step ran: the run is complete", end: "an end step ends the run",
  disabled: "the journey is off: the run ends", edited: "ended by an edit", removed: "the journey was removed", merged: "ended by a merge",
};

/** One timeline entry in words. */
export function entryWords(e) {
  switch (e.kind) {
    case "enter": return "Enters the journey";
    // A run is scheduled for "now" as it enters or moves on: not a wait.
    case "wait": return e.until === e.at ? null : `Waits until ${formatWhen(e.until)}`;
    case "send": return `Sends “${e.event}” to ${e.destination}${e.purpose === "transactional" ? " (transactional)" : ""}`;
    case "suppressed": return `A send is ${SKIPPED[e.reason] || `skipped (${e.reason})`}`;
    case "delayed_quiet_hours": return `A send waits for quiet hours to end, until ${formatWhen(e.until)}`;
    case "set": return `Sets ${[e.tag && `tag ${e.tag}`, e.stage && `stage ${e.stage}`, e.coupon_pool && `a coupon from ${e.coupon_pool}${COUPON[e.coupon] || ""}`].filter(Boolean).join(", ")}`;
    case "exit": return `Leaves: ${EXITS[e.reason] || e.reason}`;
    case "event_came": return "The awaited event came: the run takes its path";
    case "cancel_timer": return null;
    default: return null;
  }
}

/** "after 4 h 30 min", "at once". */
export function afterWords(seconds) {
  if (!seconds) return "at once";
  const d = Math.floor(seconds / 86400);
  const hrs = Math.floor((seconds % 86400) / 3600);
  const min = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const parts = [d && `${d} d`, hrs && `${hrs} h`, min && `${min} min`, !d && !hrs && s && `${s} s`].filter(Boolean);
  return `after ${parts.join(" ")}`;
}

export function tryPane(ctx, state, tools) {
  const events = [];
  const personId = uid("who");
  const sourceId = uid("src");
  const daysId = uid("days");
  // A real person's data is a publisher's to look up; an editor tries the sample person.
  const mayPickPerson = can("publish").ok;
  const person = h("input", { id: personId, placeholder: mayPickPerson ? "ada@example.com, +4712345678 or a user id" : "A publisher can play it for a real person", spellcheck: "false", autocomplete: "off", disabled: !mayPickPerson });
  const source = h("select", { id: sourceId });
  const days = h("input", { id: daysId, type: "number", min: "1", max: "400", step: "1", value: "60", inputmode: "numeric" });
  const rows = h("ol", { class: "try-events" });
  const out = h("div", { class: "try-out", "aria-live": "polite" });
  const note = h("p", { class: "hint" });

  const drawSources = () => {
    const options = [];
    if (state.revision !== null) options.push(["draft", state.dirty ? "The saved draft (save to include your latest changes)" : "This draft"]);
    if (state.entry?.live) options.push(["live", "The live journey"]);
    const before = source.value;
    replace(source, options.map(([value, text]) => h("option", { value }, text)));
    if (options.some(([value]) => value === before)) source.value = before;
    note.textContent = options.length ? "" : "Save the draft first: the edge plays what it has.";
  };

  const drawEvents = () => {
    replace(rows, events.map((e, i) => {
      const nameId = uid("ev");
      const afterId = uid("after");
      const name = h("input", { id: nameId, value: e.event, list: "known-events", spellcheck: "false" });
      name.addEventListener("input", () => { e.event = name.value; });
      const amount = h("input", { id: afterId, type: "number", min: "0", step: "1", value: String(e.amount), inputmode: "numeric" });
      amount.addEventListener("input", () => { e.amount = Number(amount.value); });
      const unit = h("select", { "aria-label": `Event ${i + 1}: unit` }, Object.keys(UNIT_SECONDS).map((u) => h("option", { value: u }, u)));
      unit.value = e.unit;
      unit.addEventListener("change", () => { e.unit = unit.value; });
      return h("li", { class: "try-event" },
        h("div", { class: "field" }, h("label", { for: nameId }, `Event ${i + 1}`), name),
        h("div", { class: "field" }, h("label", { for: afterId }, "After"), h("div", { class: "with-extra" }, amount, unit)),
        h("button", { type: "button", class: "quiet danger-text", "aria-label": `Remove event ${i + 1}`, onclick: () => { events.splice(i, 1); drawEvents(); } }, "Remove"));
    }));
  };

  const play = async () => {
    const body = { source: source.value || "live", days: Number(days.value) || 60 };
    if (person.value.trim()) body.person = person.value.trim();
    if (events.length) {
      body.events = events.map((e) => ({ event: e.event.trim(), after_seconds: Math.max(0, Math.round((Number(e.amount) || 0) * UNIT_SECONDS[e.unit])) }));
      // An event entry starts at once unless events are listed: then list it too.
      const entry = state.item.entry?.event;
      if (entry && !body.events.some((e) => e.event === entry)) body.events.unshift({ event: entry, after_seconds: 0 });
    }
    replace(out, h("p", { class: "loading" }, "Playing…"));
    try {
      const { data } = await api.dryRun(site(), state.originalId, body);
      const lines = (data.timeline || []).map((e) => [e, entryWords(e)]).filter(([, words]) => words);
      const sent = lines.filter(([e]) => e.kind === "send").length;
      replace(out,
        h("p", { class: "try-summary" }, `${sent} ${sent === 1 ? "message" : "messages"} in ${body.days} days.`),
        lines.length
          ? h("ol", { class: "timeline" }, lines.map(([e, words]) => h("li", { class: `tl-${e.kind}`, "data-kind": e.kind },
            h("span", { class: "tl-when" }, afterWords(e.after_seconds)), " ", h("span", { class: "tl-what" }, words))))
          : h("p", { class: "muted" }, "Nothing happens: the person does not enter (check what starts it and who may enter)."));
    } catch (error) {
      const problems = Array.isArray(error.problems) ? error.problems : [];
      replace(out, h("p", { class: "error-text" }, error.message),
        problems.length ? h("ul", {}, problems.map((p) => h("li", {}, `${p.path}: ${p.message}`))) : null);
    }
  };

  const element = h("section", { class: "card try-pane", "aria-labelledby": "try-title" },
    h("h2", { id: "try-title" }, "Try it on a clock"),
    h("p", { class: "hint" }, "The edge plays the journey from now on a virtual clock. Nothing is stored or sent."),
    h("div", { class: "field" }, h("label", { for: sourceId }, "Play"), source, note),
    h("div", { class: "field" }, h("label", { for: personId }, "For the person (empty: a stranger who agreed to marketing)"), person),
    h("fieldset", { class: "group" }, h("legend", {}, "What the person does"), rows,
      h("button", { type: "button", class: "quiet", onclick: () => {
        events.push({ event: state.item.exit?.goal || "Order Completed", amount: 1, unit: "hours" });
        drawEvents();
        rows.querySelector("li:last-child input")?.focus();
      } }, "Add an event")),
    h("div", { class: "field" }, h("label", { for: daysId }, "Days to play"), days),
    h("div", { class: "actions" },
      h("button", { type: "button", class: "primary", "data-action": "play", onclick: async () => {
        if (!state.originalId) {
          replace(out, h("p", { class: "error-text" }, "Save the draft first: the edge plays what it has."));
          return;
        }
        // The edge plays the saved draft: save the latest changes first.
        if (state.dirty && state.revision !== null && source.value === "draft" && !(await tools.saveDraft())) return;
        drawSources();
        await play();
      } }, "Play")),
    out);
  drawSources();
  drawEvents();
  return { element, update: drawSources, destroy: () => {} };
}
