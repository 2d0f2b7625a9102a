// A journey's steps as a vertical flow of cards, as in Klaviyo's or
// Customer.io's builders: one card per step, a branch's and a "wait for"'s two
// paths side by side, and buttons (reachable by keyboard, labelled with the
// step they act on) to add, move and remove steps. Every field is bound to
// core's path (`steps[1].wait_for.else[0].send.event`), so core's problems
// land at their field.

import { ruleBuilder } from "../rules.js";
import { h, replace, uid } from "../ui.js";
import { bound, getPath, setPath } from "../editor/fields.js";
import { duration } from "./fields.js";
import { PERSON_ATTRIBUTES } from "./words.js";

/** Each kind of step: its words, and the step a new one starts as. */
export const STEP_KINDS = {
  wait: { label: "Wait", make: () => ({ wait: { hours: 1 } }) },
  wait_until: { label: "Wait until a time of day", make: () => ({ wait_until: { time: "09:00", time_zone_offset_minutes: 0 } }) },
  wait_for: { label: "Wait for an event", make: () => ({ wait_for: { event: "Order Completed", within: { hours: 4 }, then: [], else: [] } }) },
  branch: { label: "Branch on a condition", make: () => ({ branch: { if: { "contact.has_email": true }, then: [], else: [] } }) },
  send: { label: "Send a message", make: (tools) => ({ send: { destination: tools.destinations[0]?.id ?? "", event: "" } }) },
  set: { label: "Set a tag, stage or coupon", make: () => ({ set: {} }) },
  end: { label: "End the journey", make: () => ({ end: true }) },
};

export function stepKind(step) {
  return step && typeof step === "object" ? Object.keys(step)[0] : undefined;
}

/**
 * The steps at `path` (`steps`, `steps[2].branch.then`). `tools`:
 * {refresh(focusPath?), destinations: [{id, kind}], poolHint(pool) → Promise<text>}.
 * `trail` numbers nested cards ("3.1").
 */
export function stepList(ctx, tools, path, trail = "") {
  const steps = getPath(ctx.model(), path);
  const list = Array.isArray(steps) ? steps : [];
  const cards = list.map((step, i) => h("li", {}, stepCard(ctx, tools, `${path}[${i}]`, step, i, list, `${trail}${i + 1}`)));
  return h("div", { class: "step-flow" },
    cards.length ? h("ol", { class: "step-list" }, cards) : h("p", { class: "muted empty-steps" }, "No steps here."),
    ctx.readOnly ? null : adder(ctx, tools, path, list, trail));
}

/** "Add a step" at the end of a list: which kind, then the button. */
function adder(ctx, tools, path, list, trail) {
  const id = uid("add");
  const where = trail ? ` in step ${trail.replace(/\.$/, "")}` : "";
  const select = h("select", { id, "data-path": `${path}#add-kind` },
    Object.entries(STEP_KINDS).map(([key, kind]) => h("option", { value: key }, kind.label)));
  const add = h("button", { type: "button", "data-path": `${path}#add` }, "Add step");
  add.addEventListener("click", () => {
    if (!Array.isArray(getPath(ctx.model(), path))) setPath(ctx.model(), path, []);
    const steps = getPath(ctx.model(), path);
    steps.push(STEP_KINDS[select.value].make(tools));
    ctx.changed({ structural: true });
    // Focus the new card's first field.
    tools.refresh(`${path}[${steps.length - 1}]#first`);
  });
  return h("div", { class: "step-adder" },
    h("label", { for: id }, `New step${where}`), select, add);
}

function stepCard(ctx, tools, path, step, index, list, number) {
  const kind = stepKind(step);
  const label = STEP_KINDS[kind]?.label ?? "Unknown step";
  const headingId = uid("step");
  const message = h("p", { class: "field-message", id: uid("msg"), hidden: true });
  const move = (to) => {
    const [moved] = list.splice(index, 1);
    list.splice(to, 0, moved);
    ctx.clearLocalUnder?.("steps");
    ctx.changed({ structural: true });
    tools.refresh(`${path.replace(/\[\d+\]$/, `[${to}]`)}#${to < index ? "up" : "down"}`);
  };
  const controls = ctx.readOnly ? null : h("div", { class: "step-controls" },
    h("button", { type: "button", class: "quiet", disabled: index === 0, "aria-label": `Move step ${number} up`, "data-path": `${path}#up`, onclick: () => move(index - 1) }, "↑ Up"),
    h("button", { type: "button", class: "quiet", disabled: index === list.length - 1, "aria-label": `Move step ${number} down`, "data-path": `${path}#down`, onclick: () => move(index + 1) }, "↓ Down"),
    h("button", { type: "button", class: "quiet danger-text", "aria-label": `Remove step ${number}`, "data-path": `${path}#remove`, onclick: () => {
      list.splice(index, 1);
      ctx.clearLocalUnder?.("steps");
      ctx.changed({ structural: true });
      tools.refresh(list.length ? `${path.replace(/\[\d+\]$/, `[${Math.min(index, list.length - 1)}]`)}#remove` : null);
    } }, "Remove"));
  const card = h("section", { class: `step-card step-${kind}`, "aria-labelledby": headingId, "data-step": path },
    h("header", { class: "step-head" }, h("h3", { id: headingId }, h("span", { class: "step-number" }, `Step ${number}`), ` ${label}`), controls),
    message,
    stepBody(ctx, tools, path, kind, number));
  ctx.registry.register(path, { target: card, message });
  return card;
}

function stepBody(ctx, tools, path, kind, number) {
  const first = `${path}#first`;
  switch (kind) {
    case "wait":
      return duration(ctx, { path: `${path}.wait`, label: "Wait for", focusPath: first });
    case "wait_until":
      return h("div", { class: "row" },
        firstField(bound(ctx, { path: `${path}.wait_until.time`, label: "Until the clock reads", placeholder: "09:00", hint: "24-hour HH:MM. If it is that time now, the run goes on at once." }), first),
        bound(ctx, { path: `${path}.wait_until.time_zone_offset_minutes`, label: "Time zone (minutes from UTC)", kind: "int", placeholder: "0", hint: "60 for UTC+1, -300 for UTC-5." }));
    case "send":
      return sendFields(ctx, tools, path, first);
    case "set":
      return setFields(ctx, tools, path, first);
    case "end":
      return h("p", { class: "muted" }, "The run ends here (counted as ended by a step).");
    case "branch":
      return h("div", {},
        h("p", { class: "hint" }, "Checked when the run reaches this step, against what the edge knows about the person."),
        ruleBuilder(ctx, { path: `${path}.branch.if`, attributes: PERSON_ATTRIBUTES, who: "People", empty: "No rules: everyone takes the “yes” path." }),
        paths(ctx, tools, path, "branch", number, ["If yes", "Otherwise"]));
    case "wait_for":
      return h("div", {},
        h("div", { class: "row" },
          firstField(bound(ctx, { path: `${path}.wait_for.event`, label: "Wait for the event", list: "known-events", placeholder: "Order Completed" }), first),
          duration(ctx, { path: `${path}.wait_for.within`, label: "For at most" })),
        paths(ctx, tools, path, "wait_for", number, ["If it happens in time", "If the time runs out"]));
    default:
      return h("p", { class: "error-text" }, "This step is not one the studio knows. Edit it as JSON below.");
  }
}

/** A branch's or a "wait for"'s two step lists, side by side. */
function paths(ctx, tools, path, kind, number, [yes, no]) {
  return h("div", { class: "step-paths" },
    h("div", { class: "step-path" }, h("h4", {}, yes), stepList(ctx, tools, `${path}.${kind}.then`, `${number}a.`)),
    h("div", { class: "step-path" }, h("h4", {}, no), stepList(ctx, tools, `${path}.${kind}.else`, `${number}b.`)));
}

function sendFields(ctx, tools, path, first) {
  const destinations = tools.destinations;
  const current = getPath(ctx.model(), `${path}.send.destination`);
  const known = destinations.some((d) => d.id === current);
  const destination = destinations.length
    ? bound(ctx, {
      path: `${path}.send.destination`, label: "Destination", kind: "select",
      options: [...destinations.map((d) => [d.id, `${d.id} (${d.kind})`]), ...(known || !current ? [] : [[current, `${current} (not on this site)`]])],
      hint: "Where the message goes: your email or SMS tool, as your developer set it up.",
    })
    : bound(ctx, { path: `${path}.send.destination`, label: "Destination id", placeholder: "email", hint: "This site has no destinations yet: your developer adds them (PUT …/destinations)." });
  return h("div", {},
    h("div", { class: "row" },
      firstField(destination, first),
      bound(ctx, { path: `${path}.send.event`, label: "Event name", list: "known-events", placeholder: "Cart Abandoned", hint: "Your tool starts the message it maps to this name." })),
    bound(ctx, {
      path: `${path}.send.purpose`, label: "Kind of message", kind: "select", emptyValue: "marketing",
      options: [["marketing", "Marketing: needs consent, counts against the caps, waits out quiet hours"], ["transactional", "Transactional: a message the person asked for (a receipt, a confirmation)"]],
    }),
    sendTools(tools, path));
}

/** "What the destination receives" (for a sample person) and "Send me a test". */
function sendTools(tools, path) {
  const out = h("div", { class: "send-out", "aria-live": "polite" });
  const run = async (send) => {
    replace(out, h("p", { class: "loading" }, send ? "Sending a test…" : "Building the message…"));
    try {
      const data = await tools.testSend(path, send);
      const payload = data.payload;
      const request = !payload
        ? h("p", { class: "error-text" }, `This site has no destination “${data.destination}”: the message would be filed as undeliverable.`)
        : payload.not_applicable || payload.problem
          ? h("p", { class: "error-text" }, `The destination would not send it: ${payload.not_applicable || payload.problem}`)
          : h("div", {},
            h("p", { class: "hint" }, `POST ${payload.url}`, h("br"), payload.headers.map((x) => `${x.name}: ${x.value}`).join(" · ")),
            h("pre", { class: "code payload" }, JSON.stringify(payload.body, null, 2)));
      replace(out,
        send ? h("p", { class: "success-text", "data-sent-to": data.sent_to }, `A test was sent to ${data.sent_to}. It counts in no numbers.`) : null,
        h("details", { open: !send }, h("summary", {}, `What ${data.destination} receives (a sample person, marked as a test)`), request));
    } catch (error) {
      replace(out, h("p", { class: "error-text" }, error.message));
    }
  };
  return h("div", { class: "send-tools" },
    h("div", { class: "actions" },
      h("button", { type: "button", class: "quiet", "data-path": `${path}#payload`, onclick: () => run(false) }, "Preview the message"),
      tools.hasTestDestination
        ? h("button", { type: "button", class: "quiet", "data-path": `${path}#test`, onclick: () => run(true) }, "Send me a test")
        : h("span", { class: "hint" }, "“Send me a test” needs a test destination (your developer marks one)."),
    ),
    out);
}

function setFields(ctx, tools, path, first) {
  const poolNote = h("p", { class: "hint", "aria-live": "polite" });
  const showPool = async (pool) => {
    poolNote.textContent = pool ? await tools.poolHint(pool) : "";
  };
  const pool = bound(ctx, {
    path: `${path}.set.coupon_pool`, label: "Give a coupon from the pool", placeholder: "cart10", emptyValue: undefined,
    hint: "One unused code per person, to people the shop or a channel vouches for.", onChange: showPool,
  });
  showPool(getPath(ctx.model(), `${path}.set.coupon_pool`));
  return h("div", {},
    h("p", { class: "hint" }, "At least one of the three. The person's next page sees them."),
    h("div", { class: "row" },
      firstField(bound(ctx, { path: `${path}.set.tag`, label: "Tag", placeholder: "vip" }), first),
      bound(ctx, { path: `${path}.set.stage`, label: "Stage", placeholder: "reminded", hint: "Campaigns see it as journey-id:stage." })),
    h("div", {}, pool, poolNote));
}

/** Marks a card's first input, so a new card can be focused. */
function firstField(field, focusPath) {
  if (field?.input) field.input.dataset.first = focusPath;
  return field;
}
