// The campaign editor: the campaign kind of the studio's item editor
// (../item-editor.js): its sections, the live preview beside them, and the
// campaign's own actions (pause and resume, a preview link to the shop, the
// report).

import { api } from "../api.js";
import { renderItemEditor } from "../item-editor.js";
import { createPreview } from "../preview.js";
import { can, site } from "../session.js";
import { template as templateCampaign } from "../templates.js";
import { blockedButton, confirmDialog, dialog, formatWhen, h, replace, toast, uid } from "../ui.js";
import { buildConfig } from "../validation.js";
import { audienceSection } from "./audience.js";
import { basicsSection, slug } from "./basics.js";
import { contentSection } from "./content.js";
import { frequencySection } from "./frequency.js";
import { KNOWN_EVENTS, triggerSection } from "./trigger.js";
import { variantsSection } from "./variants.js";

export function renderEditor(main, { id, template }) {
  return renderItemEditor(main, CAMPAIGN, { id, template });
}

const CAMPAIGN = {
  noun: "campaign",
  list: "campaigns",
  listLabel: "Campaigns",
  listHash: "#/",
  itemHash: (id) => `#/c/${encodeURIComponent(id)}`,
  api: { draft: api.draft, saveDraft: api.saveDraft, discardDraft: api.discardDraft, publish: api.publish },

  fromTemplate(name) {
    const campaign = templateCampaign(name);
    return campaign ? { id: slug(campaign.name || ""), ...campaign } : null;
  },

  async live(state, ctx) {
    const { data } = await api.campaigns(site());
    state.liveConfig = data.config && typeof data.config === "object" ? data.config : { version: 1, campaigns: [] };
    state.liveVersion = data.version ?? 0;
    ctx.savedGroups = state.liveConfig.saved_groups || {};
    const list = Array.isArray(data.campaigns) ? data.campaigns : [];
    state.entry = state.originalId ? list.find((c) => c.id === state.originalId) || null : null;
    return state.originalId ? (state.liveConfig.campaigns || []).find((c) => c && c.id === state.originalId) : null;
  },

  sections(ctx, state) {
    const status = state.entry?.status || "draft";
    return [
      basicsSection(ctx, { isNew: !state.originalId, status }),
      contentSection(ctx),
      triggerSection(ctx),
      audienceSection(ctx),
      frequencySection(ctx),
      variantsSection(ctx),
      h("datalist", { id: "known-events" }, KNOWN_EVENTS.map((e) => h("option", { value: e }))),
    ];
  },

  side(ctx, state) {
    const preview = createPreview(() => {
      const campaign = structuredClone(state.item);
      if (!campaign.id) campaign.id = "new-campaign";
      const built = buildConfig(state.liveConfig, campaign, state.originalId);
      return {
        configText: built.text,
        campaignId: campaign.id,
        variants: Array.isArray(campaign.variants) ? campaign.variants.map((v) => v && v.key).filter(Boolean) : [],
        coupon: campaign.content?.coupon,
        hasForm: Boolean(campaign.content?.form),
      };
    });
    return { element: preview.element, update: () => preview.update(), destroy: () => preview.destroy() };
  },

  buttons(state, tools) {
    const buttons = [];
    const status = state.entry?.status;
    if (state.entry?.live && status !== "ended" && !tools.viewer) {
      const paused = status === "paused";
      const label = paused ? "Resume" : "Pause";
      buttons.push(can("status").ok
        ? h("button", { type: "button", onclick: () => setStatus(state, tools, paused ? "active" : "paused"), "data-action": "status" }, label)
        : blockedButton(label, can("status").reason));
    }
    if (can("previewLink").ok && state.originalId) {
      buttons.push(h("button", { type: "button", onclick: () => previewLink(state, tools), "data-action": "preview-link" }, "Preview on the shop"));
    }
    if (state.originalId) buttons.push(h("a", { class: "button quiet", href: `#/c/${encodeURIComponent(state.originalId)}/report`, "data-action": "report" }, "Report"));
    return buttons;
  },
};

async function setStatus(state, tools, status) {
  const verb = status === "paused" ? "Pause" : "Resume";
  if (!(await confirmDialog(`${verb} the campaign?`, status === "paused" ? "Visitors stop seeing it within a minute. Its draft, if any, is kept." : "Visitors can see it again within a minute.", verb))) return;
  try {
    const { data } = await api.setStatus(site(), state.originalId, status, state.liveVersion);
    toast(`${status === "paused" ? "Paused" : "Resumed"}: version ${data.version}.`);
    await tools.reload();
  } catch (error) {
    tools.fail(error);
  }
}

async function previewLink(state, tools) {
  const variants = Array.isArray(state.item.variants) ? state.item.variants.map((v) => v.key).filter(Boolean) : [];
  const sourceId = uid("src");
  const variantId = uid("var");
  const ignoreId = uid("ign");
  const pathId = uid("path");
  const url = state.item.trigger?.url;
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
          if (!(await tools.saveDraft())) { replace(out, h("p", { class: "error-text" }, "Save the draft first.")); return; }
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
