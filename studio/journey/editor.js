// The journey editor: the journey kind of the studio's item editor
// (../item-editor.js). What starts a run, who may enter, the steps as cards,
// what ends a run early, and the site's messaging rules, with "try it on a
// clock" beside them (./try.js); drafts, publish,
// conflicts and the history are the campaigns' own. Before a changed journey
// is published, the dialog says what happens to the runs in progress.

import { api } from "../api.js";
import { slug } from "../editor/basics.js";
import { bound, getPath, setPath, toggle } from "../editor/fields.js";
import { section } from "../editor/section.js";
import { KNOWN_EVENTS } from "../editor/trigger.js";
import { renderItemEditor } from "../item-editor.js";
import { ruleBuilder } from "../rules.js";
import { site } from "../session.js";
import { formatCount, h, uid } from "../ui.js";
import { duration } from "./fields.js";
import { stepList } from "./steps.js";
import { journeyTemplate } from "./templates.js";
import { tryPane } from "./try.js";
import { rulesWords } from "./messaging.js";
import { ENTRY_KINDS, EVENT_PROPERTIES, PERSON_ATTRIBUTES } from "./words.js";

export function renderJourneyEditor(main, { id, template }) {
  return renderItemEditor(main, JOURNEY, { id, template });
}

const JOURNEY = {
  noun: "journey",
  list: "journeys",
  listLabel: "Journeys",
  listHash: "#/journeys",
  itemHash: (id) => `#/j/${encodeURIComponent(id)}`,
  api: api.journeyDrafts,

  fromTemplate(name) {
    const journey = journeyTemplate(name || "blank");
    return journey ? { id: slug(journey.name || ""), ...journey } : null;
  },

  async live(state, ctx) {
    const [{ data }, journeys, destinations] = await Promise.all([
      api.campaigns(site()),
      api.journeys(site()).then((r) => r.data).catch(() => ({})),
      api.destinations(site()).then((r) => r.data.destinations).catch(() => []),
    ]);
    state.liveConfig = data.config && typeof data.config === "object" ? data.config : { version: 1, campaigns: [] };
    state.liveVersion = data.version ?? 0;
    state.destinations = Array.isArray(destinations) ? destinations : [];
    ctx.savedGroups = {};
    const live = state.originalId ? (state.liveConfig.journeys || []).find((j) => j && j.id === state.originalId) : null;
    const listed = (journeys.journeys || []).find((j) => j.id === state.originalId);
    state.entry = live ? { live: true, enabled: live.enabled !== false, stats: listed?.stats || {} } : null;
    return live;
  },

  saved(state, answer) {
    state.inFlight = answer.in_flight || null;
  },

  sections(ctx, state, tools) {
    return [
      basics(ctx, state),
      entrySection(ctx),
      section(ctx, { title: "Who may enter", id: "sec-audience", hint: "Checked when a run would start, against what the edge knows about the person. Rules in a group must all match; any one group is enough." },
        () => ruleBuilder(ctx, { path: "audience", attributes: PERSON_ATTRIBUTES, who: "People", empty: "Everyone: no rules yet." })),
      stepsSection(ctx, state, tools),
      exitSection(ctx, state),
      holdoutSection(ctx),
      siteRules(state),
      h("datalist", { id: "known-events" }, KNOWN_EVENTS.map((e) => h("option", { value: e }))),
    ];
  },

  side: (ctx, state, tools) => tryPane(ctx, state, tools),

  buttons(state) {
    return [h("a", { class: "button quiet", href: "#/journeys", "data-action": "journeys" }, "All journeys")];
  },

  /** What the publish dialog says first: the runs in progress and what happens to them. */
  publishNotes(state) {
    const flight = state.inFlight;
    const notes = [h("p", {}, "The edge runs the new version from the next step each run reaches.")];
    if (!flight || !flight.active) {
      notes.push(h("p", { class: "muted", "data-in-flight": "0" }, "No runs are in progress."));
      return notes;
    }
    const kept = flight.kept ? `${formatCount(flight.kept)} keep going on the new version` : "";
    const ended = flight.ended
      ? `${formatCount(flight.ended)} end at their next step (counted as “ended by an edit”), because steps were added, removed or changed in kind`
      : "";
    notes.push(h("p", { class: flight.ended ? "notice" : "muted", "data-in-flight": String(flight.active) },
      `${formatCount(flight.active)} ${flight.active === 1 ? "run is" : "runs are"} in progress: ${[kept, ended].filter(Boolean).join("; ")}.`));
    return notes;
  },
};

function basics(ctx, state) {
  const isNew = !state.originalId;
  return section(ctx, { title: "Basics", id: "sec-basics" }, () => {
    let idTouched = !isNew;
    const idField = isNew
      ? bound(ctx, { path: "id", label: "Id", emptyValue: "", hint: "Letters, digits, - and _. It cannot change after the first save.", onChange: () => { idTouched = true; } })
      : h("div", { class: "field" }, h("span", { class: "label" }, "Id"), h("p", { class: "static" }, h("code", {}, ctx.model().id)));
    const name = bound(ctx, {
      path: "name", label: "Name", emptyValue: "", wide: true, hint: "For you and your colleagues.",
      onChange: (text) => {
        if (isNew && !idTouched) {
          idField.input.value = slug(text || "");
          ctx.model().id = idField.input.value;
        }
      },
    });
    const status = isNew
      ? bound(ctx, { path: "enabled", label: "Turn it on when it is published", kind: "checkbox", defaultValue: true })
      : h("div", { class: "field" }, h("span", { class: "label" }, "Status"),
        h("p", { class: "static" }, state.entry?.enabled ? "On" : "Off", h("span", { class: "hint" }, " (turn it on or off from the journeys list)")));
    return [name, h("div", { class: "row" }, idField, status)];
  });
}

function entrySection(ctx) {
  return section(ctx, { title: "What starts it", id: "sec-entry" }, (refresh) => {
    const entry = ctx.model().entry || {};
    const kind = Object.keys(entry)[0] || "event";
    const id = uid("entry");
    const select = h("select", { id, "data-path": "entry#kind" }, Object.entries(ENTRY_KINDS).map(([key, k]) => h("option", { value: key }, k.label)));
    select.value = kind;
    select.addEventListener("change", () => {
      ctx.model().entry = ENTRY_KINDS[select.value].make();
      ctx.changed({ structural: true });
      refresh();
    });
    const message = h("p", { class: "field-message", id: `${id}-msg`, hidden: true });
    ctx.registry.register("entry", { target: select, message });
    const fields = {
      event: () => h("div", {},
        bound(ctx, { path: "entry.event", label: "Event name", list: "known-events", placeholder: "Product Added", hint: "Exactly as the shop tracks it." }),
        h("fieldset", { class: "group" }, h("legend", {}, "Only when the event's properties match (optional)"),
          ruleBuilder(ctx, { path: "entry.where", attributes: EVENT_PROPERTIES, who: "Events", empty: "Every such event starts a run.", unknown: "A property the shop sends with the event" }))),
      category_views: () => h("div", { class: "row" },
        bound(ctx, { path: "entry.category_views.min", label: "Views of one category", kind: "int", placeholder: "3" }),
        bound(ctx, { path: "entry.category_views.within_hours", label: "Within (hours)", kind: "int", placeholder: "24" })),
      inactive_days: () => bound(ctx, { path: "entry.inactive_days", label: "Days without a visit", kind: "int", placeholder: "90", hint: "Checked each night, just after the site's midnight." }),
      date_trait: () => bound(ctx, { path: "entry.date_trait", label: "Date trait", placeholder: "birthday", hint: "A date the shop sends with identify (1990-04-17). Follow it with “Wait until a time of day”." }),
    }[kind];
    return [
      h("div", { class: "field" }, h("label", { for: id }, "Start a run"), select, message),
      fields ? fields() : null,
      duration(ctx, { path: "cooldown", label: "Cooldown before the same person may enter again", optional: true, hint: "Counted from their previous entry. Empty: none." }),
    ];
  });
}

function stepsSection(ctx, state, editor) {
  const tools = {
    destinations: state.destinations || [],
    hasTestDestination: (state.destinations || []).some((d) => d.test),
    refresh: () => {},
    /** The step's message as it would leave (`send`: also to the test destination). */
    testSend: async (path, send) => {
      if (!state.originalId) throw new Error("Save the draft first: the edge builds the message from what it has.");
      if (state.dirty && !(await editor.saveDraft())) throw new Error("Save the draft first.");
      const { data } = await api.testSend(site(), state.originalId, { source: state.revision !== null ? "draft" : "live", path, send });
      return data;
    },
    poolHint: async (pool) => {
      try {
        const { data } = await api.pool(site(), pool);
        return data.available > 0 ? `${formatCount(data.available)} codes left in ${pool}.` : `Pool ${pool} has no codes left: upload more, or this step gives nothing.`;
      } catch {
        return "";
      }
    },
  };
  return section(ctx, { title: "Steps", id: "sec-steps", hint: "Steps run one after another without delay until a wait. A run whose last step has run is complete." }, (refresh) => {
    tools.refresh = (focusPath) => {
      refresh();
      if (!focusPath) return;
      const root = document.getElementById("sec-steps");
      const target = root?.querySelector(`[data-path="${CSS.escape(focusPath)}"]:not(:disabled)`)
        ?? root?.querySelector(`[data-first="${CSS.escape(focusPath)}"]`)
        ?? root?.querySelector(`[data-step="${CSS.escape(focusPath.replace(/#.*$/, ""))}"] button:not(:disabled)`);
      target?.focus();
    };
    return stepList(ctx, tools, "steps");
  });
}

function exitSection(ctx, state) {
  return section(ctx, { title: "What ends it early", id: "sec-exit", hint: "A run ends at once, on whatever step it waits, when one of these happens." }, () => {
    const campaigns = (state.liveConfig.campaigns || []).filter((c) => c && c.id);
    const tidy = () => {
      const exit = ctx.model().exit;
      if (exit && !exit.goal && !(exit.converted_campaigns || []).length) delete ctx.model().exit;
    };
    const goal = bound(ctx, { path: "exit.goal", label: "The person sends the event", list: "known-events", placeholder: "Order Completed", onChange: tidy });
    const chosen = new Set(getPath(ctx.model(), "exit.converted_campaigns") || []);
    const boxes = campaigns.map((c) => {
      const id = uid("conv");
      const box = h("input", { type: "checkbox", id, checked: chosen.has(c.id), disabled: ctx.readOnly });
      box.addEventListener("change", () => {
        if (box.checked) chosen.add(c.id);
        else chosen.delete(c.id);
        setPath(ctx.model(), "exit.converted_campaigns", chosen.size ? [...chosen] : undefined);
        tidy();
        ctx.changed({ structural: false });
      });
      return h("div", { class: "field check" }, box, h("label", { for: id }, `${c.name || c.id} converts`));
    });
    const message = h("p", { class: "field-message", id: uid("msg"), hidden: true });
    const group = h("fieldset", { class: "group" }, h("legend", {}, "Or an on-site campaign converts"), message,
      boxes.length ? boxes : h("p", { class: "muted" }, "This site has no campaigns yet."));
    ctx.registry.register("exit.converted_campaigns", { target: group, message });
    return [goal, group];
  });
}

/** The holdout: a share of entrants sent nothing, to learn what the journey earns. */
function holdoutSection(ctx) {
  return section(ctx, { title: "Measure what it earns", id: "sec-holdout", hint: "Held-out people run the journey's clock but are sent and given nothing. The journeys list then compares orders and revenue per run with and without the journey, and says when it is too early to tell." }, (refresh) => [
    toggle(ctx, { path: "holdout", label: "Hold out a share of the people who enter", make: () => ({ percent: 10 }), onToggle: () => refresh() }),
    getPath(ctx.model(), "holdout") !== undefined
      ? bound(ctx, { path: "holdout.percent", label: "Held out (%)", kind: "int", placeholder: "10", hint: "0 to 90. Each person stays in the same group for every run. Smaller shops need a larger share to learn anything within weeks." })
      : null,
  ]);
}

/** The site's caps and quiet hours, which every journey's marketing sends obey. */
function siteRules(state) {
  return h("section", { class: "editor-section card", id: "sec-site-rules", "aria-labelledby": "sec-site-rules-title" },
    h("h2", { id: "sec-site-rules-title" }, "The site's messaging rules"),
    h("p", { class: "hint" }, "Marketing sends of every journey obey these; transactional ones do not. Publishers change them on the journeys list."),
    h("ul", {}, rulesWords(state.liveConfig).map((w) => h("li", {}, w))));
}
