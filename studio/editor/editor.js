// The campaign editor: the form (sections), core's validation as the marketer
// types, the live preview beside it, and the draft / publish / pause / preview
// link / discard actions, each shown only to the roles that may use it.

import { api, ApiError } from "../api.js";
import { createPreview } from "../preview.js";
import { can, session, site } from "../session.js";
import { template as templateCampaign } from "../templates.js";
import { announce, blockedButton, confirmDialog, debounce, dialog, formatWhen, h, replace, toast, uid } from "../ui.js";
import { buildConfig, edgeProblems, loadValidator, validate } from "../validation.js";
import { pathWords } from "../words.js";
import { audienceSection } from "./audience.js";
import { basicsSection, slug } from "./basics.js";
import { contentSection } from "./content.js";
import { FieldRegistry } from "./fields.js";
import { frequencySection } from "./frequency.js";
import { KNOWN_EVENTS, triggerSection } from "./trigger.js";
import { variantsSection } from "./variants.js";

export async function renderEditor(main, { id, template }) {
  const readOnly = !can("edit").ok;
  const state = {
    originalId: id || null, // the id the campaign has on the edge (null until its first save)
    campaign: null,
    revision: null, // the draft's revision; null: no draft yet
    draftMeta: null,
    entry: null, // the campaign's row in the list (status, live)
    liveVersion: 0,
    liveConfig: { version: 1, campaigns: [] },
    dirty: false,
    checker: "pending", // "core" once validateConfig answers, "none" without it
    coreProblems: [],
    otherProblems: [],
    serverProblems: [],
    local: new Map(), // path → message: what the form itself cannot read (bad JSON, not a number)
  };
  let preview = null;
  const registry = new FieldRegistry();
  const ctx = {
    model: () => state.campaign,
    registry,
    readOnly,
    savedGroups: {},
    changed: () => {
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
  const actions = h("div", { class: "actions-bar", role: "toolbar", "aria-label": "Campaign actions" });
  const conflict = h("div", { class: "conflict", hidden: true });
  const alertBox = h("div", { class: "alert-box", role: "alert" });
  const summary = h("div", { class: "problem-summary", hidden: true, tabindex: "-1" });
  const form = h("div", { class: "editor-form" });
  const side = h("div", { class: "editor-side" });
  const layout = h("div", { class: "editor-layout" }, form, side);
  const checkerNote = h("p", { class: "notice", hidden: true });

  replace(main, h("p", { class: "loading" }, "Loading the campaign…"));

  async function load() {
    const { data } = await api.campaigns(site());
    state.liveConfig = data.config && typeof data.config === "object" ? data.config : { version: 1, campaigns: [] };
    state.liveVersion = data.version ?? 0;
    ctx.savedGroups = state.liveConfig.saved_groups || {};
    const list = Array.isArray(data.campaigns) ? data.campaigns : [];
    state.entry = state.originalId ? list.find((c) => c.id === state.originalId) || null : null;
    const live = state.originalId ? (state.liveConfig.campaigns || []).find((c) => c && c.id === state.originalId) : null;
    state.revision = null;
    state.draftMeta = null;
    state.serverProblems = [];
    if (!state.originalId) {
      state.campaign = templateCampaign(template);
      if (!state.campaign) throw Object.assign(new Error(`There is no template “${template}”.`), { status: 404 });
      state.campaign = { id: slug(state.campaign.name || ""), ...state.campaign };
      return;
    }
    try {
      const { data: draft, etag } = await api.draft(site(), state.originalId);
      state.campaign = draft.campaign;
      state.revision = draft.revision ?? (etag ? Number(etag.replace(/\D/g, "")) : null);
      state.draftMeta = { by: draft.updated_by, at: draft.updated_at };
      state.serverProblems = edgeProblems(draft.problems);
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 404) throw error;
      if (!live) throw Object.assign(new Error(`There is no campaign “${state.originalId}” on ${site()}.`), { status: 404 });
      state.campaign = structuredClone(live);
    }
  }

  function mount() {
    const name = state.campaign.name || state.originalId || "New campaign";
    replace(crumbs, h("a", { href: "#/" }, "Campaigns"), " › ", state.originalId ? name : "New campaign");
    title.textContent = state.originalId ? name : "New campaign";
    state.dirty = !state.originalId;
    const status = state.entry?.status || (state.originalId ? "draft" : "draft");
    replace(form,
      readOnly ? h("p", { class: "notice" }, `You can read this campaign. ${can("edit").reason}`) : null,
      h("fieldset", { class: "form-root", disabled: readOnly },
        h("legend", { class: "visually-hidden" }, "Campaign"),
        basicsSection(ctx, { isNew: !state.originalId, status }),
        contentSection(ctx),
        triggerSection(ctx),
        audienceSection(ctx),
        frequencySection(ctx),
        variantsSection(ctx),
        jsonSection()),
      h("datalist", { id: "known-events" }, KNOWN_EVENTS.map((e) => h("option", { value: e }))));
    preview?.destroy();
    preview = createPreview(previewState);
    replace(side, preview.element);
    drawActions();
    showSaveState();
    check();
  }

  function previewState() {
    const campaign = structuredClone(state.campaign);
    if (!campaign.id) campaign.id = "new-campaign";
    const built = buildConfig(state.liveConfig, campaign, state.originalId);
    return {
      configText: built.text,
      campaignId: campaign.id,
      variants: Array.isArray(campaign.variants) ? campaign.variants.map((v) => v && v.key).filter(Boolean) : [],
      coupon: campaign.content?.coupon,
      hasForm: Boolean(campaign.content?.form),
    };
  }

  // ---- validation ----
  let checkSeq = 0;
  async function check() {
    const seq = ++checkSeq;
    const result = await validate(state.liveConfig, state.campaign, state.originalId);
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
    preview?.update();
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
    else if (state.entry?.live) parts.push("No draft: this is the live campaign.");
    if (state.revision !== null && state.draftMeta?.by) parts.push(`Draft revision ${state.revision}, last saved by ${state.draftMeta.by} ${formatWhen(state.draftMeta.at)}.`);
    saveState.textContent = parts.join(" ");
  }

  function drawActions() {
    if (!state.campaign) return;
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
      const status = state.entry?.status;
      if (state.entry?.live && status !== "ended") {
        const paused = status === "paused";
        const label = paused ? "Resume" : "Pause";
        buttons.push(can("status").ok
          ? h("button", { type: "button", onclick: () => setStatus(paused ? "active" : "paused"), "data-action": "status" }, label)
          : blockedButton(label, can("status").reason));
      }
    }
    if (can("previewLink").ok && state.originalId) {
      buttons.push(h("button", { type: "button", onclick: () => previewLink(), "data-action": "preview-link" }, "Preview on the shop"));
    }
    if (!readOnly && state.revision !== null) {
      buttons.push(h("button", { type: "button", class: "quiet danger-text", onclick: () => discard(), "data-action": "discard" }, "Discard draft"));
    }
    if (state.originalId) buttons.push(h("a", { class: "button quiet", href: `#/c/${encodeURIComponent(state.originalId)}/report`, "data-action": "report" }, "Report"));
    // Redrawn after every check: a keyboard user keeps their place on the bar.
    const focused = actions.contains(document.activeElement) ? document.activeElement.dataset.action : null;
    replace(actions, buttons);
    if (focused) actions.querySelector(`[data-action="${focused}"]:not(:disabled)`)?.focus();
  }

  async function saveDraft() {
    alertBox.replaceChildren();
    const campaignId = state.campaign.id;
    if (!campaignId) {
      ctx.setLocalError("id", "Give the campaign an id before saving it.");
      showProblems();
      registry.find("id")?.[1].target.focus();
      return false;
    }
    try {
      const { data } = await api.saveDraft(site(), campaignId, state.campaign, state.revision);
      state.revision = data.revision ?? (state.revision ?? 0) + 1;
      state.draftMeta = { by: session.current?.who, at: new Date().toISOString() };
      state.serverProblems = edgeProblems(data.problems);
      state.dirty = false;
      conflict.hidden = true;
      toast("Draft saved.");
      announce("Draft saved.");
      if (!state.originalId) {
        state.originalId = campaignId;
        history.replaceState(null, "", `#/c/${encodeURIComponent(campaignId)}`);
        mount();
      } else {
        showSaveState();
        showProblems();
      }
      return true;
    } catch (error) {
      if ((error.status === 409 || error.status === 412) && !state.originalId) {
        // A new campaign whose id is taken (by a draft or a live campaign).
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
    const mine = structuredClone(state.campaign);
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
          state.campaign = structuredClone(mine);
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
    if (errorCount()) return;
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
      title: `Publish “${state.campaign.name || state.campaign.id}”?`,
      body: (close) => {
        const input = h("input", { id: noteId, placeholder: "What changed, for the history" });
        input.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); close(input.value); } });
        setTimeout(() => input.focus(), 0);
        return h("div", {},
          h("p", {}, "Visitors get the new version within a minute."),
          h("div", { class: "field" }, h("label", { for: noteId }, "Note (optional)"), input),
          h("div", { class: "actions" },
            h("button", { type: "button", class: "quiet", onclick: () => close(undefined) }, "Cancel"),
            h("button", { type: "button", class: "primary", "data-action": "confirm-publish", onclick: () => close(input.value) }, "Publish")));
      },
    });
    if (note === undefined) return;
    try {
      const { data } = await api.publish(site(), state.originalId, state.revision, note.trim());
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

  async function setStatus(status) {
    alertBox.replaceChildren();
    const verb = status === "paused" ? "Pause" : "Resume";
    if (!(await confirmDialog(`${verb} the campaign?`, status === "paused" ? "Visitors stop seeing it within a minute. Its draft, if any, is kept." : "Visitors can see it again within a minute.", verb))) return;
    try {
      const { data } = await api.setStatus(site(), state.originalId, status, state.liveVersion);
      toast(`${status === "paused" ? "Paused" : "Resumed"}: version ${data.version}.`);
      const keep = state.dirty ? structuredClone(state.campaign) : null;
      await load();
      if (keep) state.campaign = keep;
      mount();
      if (keep) { state.dirty = true; showSaveState(); }
    } catch (error) {
      fail(error);
    }
  }

  async function discard() {
    if (!(await confirmDialog("Discard the draft?", state.entry?.live ? "The form goes back to the live campaign." : "This campaign was never published: it disappears.", "Discard", true))) return;
    try {
      await api.discardDraft(site(), state.originalId, state.revision);
      toast("Draft discarded.");
      state.dirty = false;
      if (!state.entry?.live) { location.hash = "#/"; return; }
      await load();
      mount();
    } catch (error) {
      if (error.status === 409) showConflict(error);
      else fail(error);
    }
  }

  async function previewLink() {
    const variants = Array.isArray(state.campaign.variants) ? state.campaign.variants.map((v) => v.key).filter(Boolean) : [];
    const sourceId = uid("src");
    const variantId = uid("var");
    const ignoreId = uid("ign");
    const pathId = uid("path");
    const url = state.campaign.trigger?.url;
    const defaultPath = url?.equals || url?.prefix || "/";
    await dialog({
      title: "Preview on the shop",
      body: (close) => {
        const source = h("select", { id: sourceId },
          h("option", { value: "draft", disabled: state.revision === null }, "The draft"),
          h("option", { value: "live", disabled: !state.entry?.live }, "The live version"));
        source.value = state.revision !== null ? "draft" : "live";
        const variant = h("select", { id: variantId }, h("option", { value: "" }, "As bucketed"), variants.map((k) => h("option", { value: k }, k)));
        const ignore = h("input", { type: "checkbox", id: ignoreId, checked: true });
        const path = h("input", { id: pathId, value: defaultPath });
        const out = h("div", { class: "link-out", "aria-live": "polite" });
        const create = h("button", { type: "button", class: "primary", "data-action": "create-link" }, "Create the link");
        create.addEventListener("click", async () => {
          if (state.dirty && source.value === "draft") {
            replace(out, h("p", { class: "hint" }, "Saving your changes first…"));
            if (!(await saveDraft())) { replace(out, h("p", { class: "error-text" }, "Save the draft first.")); return; }
          }
          try {
            const body = { source: source.value, ignore_targeting: ignore.checked, path: path.value || "/" };
            if (variant.value) body.variant = variant.value;
            const { data } = await api.previewLink(site(), state.originalId, body);
            const linkId = uid("link");
            const link = h("input", { id: linkId, readonly: true, value: data.url, class: "code" });
            replace(out,
              h("div", { class: "field" }, h("label", { for: linkId }, `Link (valid until ${formatWhen(data.expires_at)})`), link),
              h("div", { class: "actions" },
                h("button", { type: "button", onclick: async () => {
                  try { await navigator.clipboard.writeText(data.url); toast("Link copied."); } catch { link.select(); toast("Copying is blocked here: the link is selected, press Ctrl+C.", "error"); }
                } }, "Copy"),
                h("a", { class: "button", href: data.url, target: "_blank", rel: "noopener" }, "Open")));
            link.focus();
            link.select();
          } catch (error) {
            replace(out, h("p", { class: "error-text" }, error.message));
          }
        });
        return h("div", {},
          h("div", { class: "field" }, h("label", { for: sourceId }, "Show"), source),
          variants.length ? h("div", { class: "field" }, h("label", { for: variantId }, "Arm"), variant) : null,
          h("div", { class: "field check" }, ignore, h("label", { for: ignoreId }, "Show it whatever the audience, schedule, status and caps say (its trigger still applies)")),
          h("div", { class: "field" }, h("label", { for: pathId }, "Shop page"), path),
          h("div", { class: "actions" }, h("button", { type: "button", class: "quiet", onclick: () => close() }, "Close"), create),
          out);
      },
    });
  }

  /** The whole campaign as JSON, for those who ask: edit and apply, or copy. */
  function jsonSection() {
    const id = uid("json");
    const area = h("textarea", { id, rows: 14, class: "code", spellcheck: "false", "aria-describedby": `${id}-msg` });
    const message = h("p", { class: "error-text", id: `${id}-msg`, role: "alert" });
    const details = h("details", { class: "editor-section card json-section" },
      h("summary", {}, "The campaign as JSON"),
      h("div", { class: "field wide" }, h("label", { for: id }, "Campaign JSON"), area, message),
      readOnly ? null : h("div", { class: "actions" }, h("button", { type: "button", onclick: () => {
        try {
          const value = JSON.parse(area.value);
          if (!value || typeof value !== "object" || Array.isArray(value)) throw new Error("a campaign is a JSON object");
          if (state.originalId && value.id !== state.originalId) throw new Error(`the id must stay “${state.originalId}”`);
          state.campaign = value;
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
    details.addEventListener("toggle", () => { if (details.open) area.value = JSON.stringify(state.campaign, null, 2); });
    return details;
  }

  try {
    await load();
  } catch (error) {
    if (error.status === 404) {
      replace(main, h("h1", {}, "Campaign not found"), h("p", {}, error.message), h("p", {}, h("a", { href: "#/" }, "Back to the campaigns")));
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
    leave: () => { preview?.destroy(); scheduleCheck.cancel(); document.removeEventListener("keydown", onKey); },
    canLeave: () => readOnly || !state.dirty,
  };
}
