// The editor both campaigns and journeys use: the form (the kind's
// sections), core's validation as the marketer types, and the draft /
// publish / discard actions with their conflicts, each shown only to the
// roles that may use it. What differs between the two is a `kind`:
//   noun, list ("campaigns"), listLabel, listHash, itemHash(id),
//   api: {draft, saveDraft, discardDraft, publish} (the edge's, for this kind),
//   fromTemplate(name) → a new item, or null,
//   live(state, ctx) → sets state.liveConfig, liveVersion and entry (its row
//     in the list), answers the live item (null if none),
//   sections(ctx, state, {saveDraft}) → the form's sections,
//   side?(ctx, state, {saveDraft}) → {element, update(), destroy()} beside
//     the form (the campaign's preview, the journey's dry run),
//   buttons?(state, {saveDraft, reload, fail, readOnly, viewer}) → more buttons,
//   publishNotes?(state) → what the publish dialog says (runs in flight),
//   saved?(state, answer) → reads the kind's extras from a draft or save answer.

import { ApiError } from "./api.js";
import { can, session, site } from "./session.js";
import { announce, blockedButton, confirmDialog, debounce, dialog, formatWhen, h, replace, toast, uid } from "./ui.js";
import { edgeProblems, loadValidator, validate } from "./validation.js";
import { pathWords } from "./words.js";
import { FieldRegistry } from "./editor/fields.js";

export async function renderItemEditor(main, kind, { id, template }) {
  const readOnly = !can("edit").ok;
  const state = {
    originalId: id || null, // the id the item has on the edge (null until its first save)
    item: null,
    revision: null, // the draft's revision; null: no draft yet
    draftMeta: null,
    entry: null, // the item's row in its list (status, live)
    liveVersion: 0,
    liveConfig: { version: 1, campaigns: [] }, // the kind's live() sets it
    dirty: false,
    checker: "pending", // "core" once validateConfig answers, "none" without it
    coreProblems: [],
    otherProblems: [],
    serverProblems: [],
    local: new Map(), // path → message: what the form itself cannot read (bad JSON, not a number)
  };
  let side = null; // the kind's pane beside the form
  let saving = null; // the draft's save in flight, if any
  let edits = 0; // changes made so far: those made during a save keep the draft dirty
  const registry = new FieldRegistry();
  const ctx = {
    model: () => state.item,
    registry,
    readOnly,
    savedGroups: {},
    changed: () => {
      edits += 1;
      state.dirty = true;
      showSaveState();
      scheduleCheck();
    },
    setLocalError: (path, message) => {
      if ((state.local.get(path) || null) === message) return;
      if (message) state.local.set(path, message);
      else state.local.delete(path);
      scheduleCheck();
    },
    reshow: () => showProblems(),
  };

  // ---- the page's parts ----
  const crumbs = h("p", { class: "crumbs" });
  const title = h("h1", {});
  const saveState = h("p", { class: "save-state", "aria-live": "polite" });
  const actions = h("div", { class: "actions-bar", role: "toolbar", "aria-label": `${cap(kind.noun)} actions` });
  const conflict = h("div", { class: "conflict", hidden: true });
  const alertBox = h("div", { class: "alert-box", role: "alert" });
  const summary = h("div", { class: "problem-summary", hidden: true, tabindex: "-1" });
  const form = h("div", { class: "editor-form" });
  const sidePane = h("div", { class: "editor-side" });
  const layout = h("div", { class: "editor-layout" }, form, sidePane);
  const checkerNote = h("p", { class: "notice", hidden: true });

  replace(main, h("p", { class: "loading" }, `Loading the ${kind.noun}…`));

  async function load() {
    const live = await kind.live(state, ctx);
    state.revision = null;
    state.draftMeta = null;
    state.serverProblems = [];
    if (!state.originalId) {
      state.item = kind.fromTemplate(template);
      if (!state.item) throw Object.assign(new Error(`There is no template “${template}”.`), { status: 404 });
      return;
    }
    try {
      const { data: draft, etag } = await kind.api.draft(site(), state.originalId);
      state.item = draft[kind.noun];
      state.revision = draft.revision ?? (etag ? Number(etag.replace(/\D/g, "")) : null);
      state.draftMeta = { by: draft.updated_by, at: draft.updated_at };
      state.serverProblems = edgeProblems(draft.problems);
      kind.saved?.(state, draft);
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 404) throw error;
      if (!live) throw Object.assign(new Error(`There is no ${kind.noun} “${state.originalId}” on ${site()}.`), { status: 404 });
      state.item = structuredClone(live);
      kind.saved?.(state, {});
    }
  }

  function mount() {
    const name = state.item.name || state.originalId || `New ${kind.noun}`;
    replace(crumbs, h("a", { href: kind.listHash }, kind.listLabel), " › ", state.originalId ? name : `New ${kind.noun}`);
    title.textContent = state.originalId ? name : `New ${kind.noun}`;
    state.dirty = !state.originalId;
    replace(form,
      readOnly ? h("p", { class: "notice" }, `You can read this ${kind.noun}. ${can("edit").reason}`) : null,
      h("fieldset", { class: "form-root", disabled: readOnly },
        h("legend", { class: "visually-hidden" }, cap(kind.noun)),
        kind.sections(ctx, state, { saveDraft }),
        jsonSection()));
    side?.destroy();
    side = kind.side ? kind.side(ctx, state, { saveDraft }) : null;
    replace(sidePane, side?.element ?? null);
    layout.classList.toggle("no-side", !side);
    drawActions();
    showSaveState();
    check();
  }

  // ---- validation ----
  let checkSeq = 0;
  async function check() {
    const seq = ++checkSeq;
    const result = await validate(state.liveConfig, state.item, state.originalId, kind.list);
    if (seq !== checkSeq) return;
    if (result) {
      state.checker = "core";
      state.coreProblems = result.mine;
      state.otherProblems = result.others;
      checkerNote.hidden = true;
    } else {
      state.checker = "none";
      checkerNote.hidden = false;
      checkerNote.textContent = "Checking as you type is unavailable (the studio was built without core's validator). Problems are checked when you save a draft, and again at publish.";
    }
    showProblems();
    side?.update();
    // Which check the problems on screen come from ("core", or "none"): tests wait for it.
    layout.dataset.checked = state.checker;
  }
  const scheduleCheck = debounce(check, 150);

  function problems() {
    const local = [...state.local].map(([path, message]) => ({ path, message, severity: "error" }));
    return [...local, ...(state.checker === "core" ? state.coreProblems : state.serverProblems)];
  }

  function errorCount() {
    return problems().filter((p) => p.severity === "error").length;
  }

  function showProblems() {
    const all = problems();
    const unplaced = registry.show(all);
    const errors = all.filter((p) => p.severity === "error");
    const unplacedErrors = new Set(unplaced);
    const others = state.otherProblems.filter((p) => p.severity === "error");
    if (errors.length === 0 && unplaced.length === 0 && others.length === 0) {
      summary.hidden = true;
      summary.replaceChildren();
    } else {
      summary.hidden = false;
      const items = all.filter((p) => p.severity === "error" || unplacedErrors.has(p)).map((p) => {
        const found = registry.find(p.path);
        const where = pathWords(p.path);
        return h("li", { class: p.severity },
          found
            ? h("a", { href: "#", onclick: (event) => { event.preventDefault(); found[1].target.focus?.(); found[1].target.scrollIntoView?.({ block: "center" }); } }, where)
            : h("strong", {}, where),
          `: ${p.message}`);
      });
      replace(summary,
        h("h2", {}, errors.length
          ? `${errors.length} ${errors.length === 1 ? "problem" : "problems"} to fix before publishing`
          : "Notes"),
        h("ul", {}, items),
        others.length ? h("p", { class: "hint" }, `Elsewhere in the site's config: ${others.map((p) => `${p.path}: ${p.message}`).join("; ")}`) : null);
    }
    drawActions();
  }

  // ---- actions ----
  function showSaveState() {
    const parts = [];
    if (state.dirty) parts.push(state.originalId ? "Unsaved changes." : "Not saved yet.");
    else if (state.revision !== null) parts.push("Draft saved.");
    else if (state.entry?.live) parts.push(`No draft: this is the live ${kind.noun}.`);
    if (state.revision !== null && state.draftMeta?.by) parts.push(`Draft revision ${state.revision}, last saved by ${state.draftMeta.by} ${formatWhen(state.draftMeta.at)}.`);
    saveState.textContent = parts.join(" ");
  }

  function drawActions() {
    if (!state.item) return;
    const errors = errorCount();
    const buttons = [];
    if (!readOnly) {
      buttons.push(h("button", { type: "button", onclick: () => saveDraft(), "data-action": "save", "aria-keyshortcuts": "Control+S" }, "Save draft"));
    }
    if (session.current?.role !== "viewer") {
      if (can("publish").ok) {
        const reasonId = uid("why");
        const nothing = !state.dirty && state.revision === null;
        const why = errors ? `Fix the ${errors} ${errors === 1 ? "problem" : "problems"} first.` : nothing ? "No changes to publish." : "";
        buttons.push(h("span", { class: "blocked" },
          h("button", { type: "button", class: "primary", disabled: Boolean(why), "aria-describedby": why ? reasonId : null, onclick: () => publish(), "data-action": "publish" }, "Publish"),
          why ? h("span", { class: "reason", id: reasonId }, why) : null));
      } else {
        buttons.push(blockedButton("Publish", can("publish").reason, { "data-action": "publish" }));
      }
    }
    buttons.push(...(kind.buttons?.(state, { saveDraft, reload, fail, readOnly, viewer: session.current?.role === "viewer" }) ?? []).filter(Boolean));
    if (!readOnly && state.revision !== null) {
      buttons.push(h("button", { type: "button", class: "quiet danger-text", onclick: () => discard(), "data-action": "discard" }, "Discard draft"));
    }
    // Redrawn after every check: a keyboard user keeps their place on the bar.
    const focused = actions.contains(document.activeElement) ? document.activeElement.dataset.action : null;
    replace(actions, buttons);
    if (focused) actions.querySelector(`[data-action="${focused}"]:not(:disabled)`)?.focus();
  }

  // One save at a time. A second ask (the message preview saving first, a
  // second click) waits for the save in flight instead of racing it with the
  // same If-Match revision, which the edge would refuse as a conflict.
  async function saveDraft() {
    while (saving) {
      if (!(await saving)) return false;
      if (!state.dirty) return true;
    }
    saving = saveOnce();
    try {
      return await saving;
    } finally {
      saving = null;
    }
  }

  async function saveOnce() {
    alertBox.replaceChildren();
    const itemId = state.item.id;
    if (!itemId) {
      ctx.setLocalError("id", `Give the ${kind.noun} an id before saving it.`);
      showProblems();
      registry.find("id")?.[1].target.focus();
      return false;
    }
    const sent = edits;
    try {
      const { data } = await kind.api.saveDraft(site(), itemId, state.item, state.revision);
      state.revision = data.revision ?? (state.revision ?? 0) + 1;
      state.draftMeta = { by: session.current?.who, at: new Date().toISOString() };
      state.serverProblems = edgeProblems(data.problems);
      kind.saved?.(state, data);
      state.dirty = edits !== sent;
      conflict.hidden = true;
      toast("Draft saved.");
      announce("Draft saved.");
      if (!state.originalId) {
        state.originalId = itemId;
        history.replaceState(null, "", kind.itemHash(itemId));
        mount();
      } else {
        showSaveState();
        showProblems();
      }
      return true;
    } catch (error) {
      if ((error.status === 409 || error.status === 412) && !state.originalId) {
        // A new item whose id is taken (by a draft or a live one).
        ctx.setLocalError("id", `${error.message} Choose another id.`);
        showProblems();
        registry.find("id")?.[1].target.focus();
      } else if (error.status === 409 || error.status === 412 || error.code === "conflict") {
        showConflict(error);
      } else {
        fail(error);
      }
      return false;
    }
  }

  function fail(error) {
    const problemsList = edgeProblems(error.problems);
    if (problemsList.length) {
      state.serverProblems = problemsList;
      if (state.checker === "core") state.coreProblems = [...state.coreProblems, ...problemsList.filter((p) => !state.coreProblems.some((q) => q.path === p.path && q.message === p.message))];
      showProblems();
    }
    replace(alertBox, h("p", { class: "error-text" }, error.message));
  }

  /** 409: someone else saved. Their version can be loaded; this edit stays visible to copy or restore. */
  function showConflict(error) {
    const mine = structuredClone(state.item);
    const current = error.body?.current;
    const message = error.message || "Someone else changed this draft since you opened it.";
    conflict.hidden = false;
    replace(conflict,
      h("h2", {}, "This draft changed while you were editing"),
      h("p", { class: "conflict-message" }, message),
      current ? h("p", { class: "hint" }, `Saved version: revision ${current.revision}${current.updated_by ? `, by ${current.updated_by}` : ""}${current.updated_at ? `, ${formatWhen(current.updated_at)}` : ""}.`) : null,
      h("div", { class: "actions" },
        h("button", { type: "button", class: "primary", onclick: () => reloadKeeping(mine) }, "Load the saved draft"),
        current?.revision !== undefined ? h("button", { type: "button", onclick: async () => {
          if (!(await confirmDialog("Overwrite their changes?", "Your edit replaces the saved draft; their changes are lost.", "Overwrite", true))) return;
          state.revision = current.revision;
          await saveDraft();
        } }, "Overwrite with my edit") : null));
    announce(message);
    conflict.scrollIntoView?.({ block: "nearest" });
  }

  async function reloadKeeping(mine) {
    try {
      await load();
    } catch (error) {
      fail(error);
      return;
    }
    mount();
    conflict.hidden = false;
    const text = JSON.stringify(mine, null, 2);
    replace(conflict,
      h("h2", {}, "The saved draft is loaded"),
      h("p", {}, "Your edit was not saved. It is below: copy what you need, or put it back into the form (saving it then replaces the draft)."),
      h("details", { open: true }, h("summary", {}, "Your edit (not saved)"), h("pre", { class: "code mine" }, text)),
      h("div", { class: "actions" },
        h("button", { type: "button", onclick: async () => {
          try { await navigator.clipboard.writeText(text); toast("Copied."); } catch { toast("Copying is blocked here; select the text instead.", "error"); }
        } }, "Copy my edit"),
        h("button", { type: "button", onclick: () => {
          const revision = state.revision;
          const meta = state.draftMeta;
          state.item = structuredClone(mine);
          mount();
          state.revision = revision;
          state.draftMeta = meta;
          state.dirty = true;
          showSaveState();
          drawActions();
          conflict.hidden = true;
        } }, "Put my edit back")));
  }

  async function publish() {
    alertBox.replaceChildren();
    // Decided on what is in the editor now: a check still on its way (the
    // last keystroke's) could have left the button enabled on a stale answer.
    await check();
    if (errorCount()) {
      replace(alertBox, h("p", { class: "error-text" }, "Fix the problems listed above before publishing."));
      return;
    }
    if (state.dirty || state.revision === null) {
      if (!(await saveDraft())) return;
      await check();
      if (errorCount()) {
        replace(alertBox, h("p", { class: "error-text" }, "The draft is saved, but it has problems to fix before publishing."));
        return;
      }
    }
    const noteId = uid("note");
    const note = await dialog({
      title: `Publish “${state.item.name || state.item.id}”?`,
      body: (close) => {
        const input = h("input", { id: noteId, placeholder: "What changed, for the history" });
        input.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); close(input.value); } });
        setTimeout(() => input.focus(), 0);
        return h("div", {},
          (kind.publishNotes?.(state) ?? [h("p", {}, "Visitors get the new version within a minute.")]),
          h("div", { class: "field" }, h("label", { for: noteId }, "Note (optional)"), input),
          h("div", { class: "actions" },
            h("button", { type: "button", class: "quiet", onclick: () => close(undefined) }, "Cancel"),
            h("button", { type: "button", class: "primary", "data-action": "confirm-publish", onclick: () => close(input.value) }, "Publish")));
      },
    });
    if (note === undefined) return;
    try {
      const { data } = await kind.api.publish(site(), state.originalId, state.revision, note.trim());
      toast(`Published: version ${data.version}.`);
      announce(`Published: version ${data.version}.`);
      await load();
      mount();
      replace(alertBox, h("p", { class: "success-text" }, `Published as version ${data.version}${data.by ? ` by ${data.by}` : ""} ${formatWhen(data.at)}.`));
    } catch (error) {
      if (error.status === 409) showConflict(error);
      else fail(error);
    }
  }

  /** Loads the item again (after a pause or a switch), keeping unsaved edits. */
  async function reload() {
    const keep = state.dirty ? structuredClone(state.item) : null;
    await load();
    if (keep) state.item = keep;
    mount();
    if (keep) { state.dirty = true; showSaveState(); }
  }

  async function discard() {
    if (!(await confirmDialog("Discard the draft?", state.entry?.live ? `The form goes back to the live ${kind.noun}.` : `This ${kind.noun} was never published: it disappears.`, "Discard", true))) return;
    try {
      await kind.api.discardDraft(site(), state.originalId, state.revision);
      toast("Draft discarded.");
      state.dirty = false;
      if (!state.entry?.live) { location.hash = kind.listHash; return; }
      await load();
      mount();
    } catch (error) {
      if (error.status === 409) showConflict(error);
      else fail(error);
    }
  }

  /** The whole item as JSON, for those who ask: edit and apply, or copy. */
  function jsonSection() {
    const id = uid("json");
    const area = h("textarea", { id, rows: 14, class: "code", spellcheck: "false", "aria-describedby": `${id}-msg` });
    const message = h("p", { class: "error-text", id: `${id}-msg`, role: "alert" });
    const details = h("details", { class: "editor-section card json-section" },
      h("summary", {}, `The ${kind.noun} as JSON`),
      h("div", { class: "field wide" }, h("label", { for: id }, `${cap(kind.noun)} JSON`), area, message),
      readOnly ? null : h("div", { class: "actions" }, h("button", { type: "button", onclick: () => {
        try {
          const value = JSON.parse(area.value);
          if (!value || typeof value !== "object" || Array.isArray(value)) throw new Error(`a ${kind.noun} is a JSON object`);
          if (state.originalId && value.id !== state.originalId) throw new Error(`the id must stay “${state.originalId}”`);
          state.item = value;
          const revision = state.revision;
          state.local.clear();
          mount();
          state.revision = revision;
          state.dirty = true;
          showSaveState();
          drawActions();
          announce("JSON applied.");
        } catch (error) {
          message.textContent = `Not applied: ${error.message}`;
        }
      } }, "Apply the JSON")));
    details.addEventListener("toggle", () => { if (details.open) area.value = JSON.stringify(state.item, null, 2); });
    return details;
  }

  try {
    await load();
  } catch (error) {
    if (error.status === 404) {
      replace(main, h("h1", {}, `${cap(kind.noun)} not found`), h("p", {}, error.message), h("p", {}, h("a", { href: kind.listHash }, `Back to the ${kind.list}`)));
      return null;
    }
    throw error;
  }
  replace(main, crumbs, h("div", { class: "page-head" }, title, saveState), actions, alertBox, conflict, checkerNote, summary, layout);
  loadValidator();
  mount();
  // Ctrl+S / ⌘S saves the draft, as in any editor.
  const onKey = (event) => {
    if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "s" && !readOnly) {
      event.preventDefault();
      saveDraft();
    }
  };
  document.addEventListener("keydown", onKey);

  return {
    leave: () => { side?.destroy(); scheduleCheck.cancel(); document.removeEventListener("keydown", onKey); },
    canLeave: () => readOnly || !state.dirty,
  };
}

function cap(word) {
  return word.charAt(0).toUpperCase() + word.slice(1);
}
