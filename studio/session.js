// Who is signed in, and what their role may do. The edge decides (403
// forbidden_role); this only hides or disables what would be refused, and says why.

import { api, ApiError } from "./api.js";
import { h, replace, uid } from "./ui.js";

/** The signed-in session: {site, role, who}, or null. */
export const session = { current: null };

const RANK = { viewer: 1, editor: 2, publisher: 3 };

// What each action needs, and the reason shown to those who lack it.
const NEEDS = {
  edit: ["editor", "Editing needs the editor or publisher role; you can read reports and history."],
  previewLink: ["editor", "Preview links need the editor or publisher role."],
  publish: ["publisher", "Publishing needs the publisher role; save a draft and ask a publisher."],
  status: ["publisher", "Pausing and resuming (campaigns and journeys) need the publisher role."],
  rollback: ["publisher", "Rolling back needs the publisher role."],
};

/** {ok, reason}: whether the signed-in role may do `action`. */
export function can(action) {
  const [needed, reason] = NEEDS[action] || ["publisher", "Your role cannot do this."];
  const rank = RANK[session.current?.role] || 0;
  return rank >= RANK[needed] ? { ok: true, reason: "" } : { ok: false, reason };
}

export function site() {
  return session.current?.site || "";
}

/** Asks the edge who is signed in (null if nobody). */
export async function loadSession() {
  try {
    const { data } = await api.session.get();
    session.current = data && data.role ? data : null;
  } catch (error) {
    if (!(error instanceof ApiError) || (error.status !== 401 && error.status !== 404)) throw error;
    session.current = null;
  }
  return session.current;
}

export async function signOut() {
  try {
    await api.session.signOut();
  } finally {
    session.current = null;
  }
}

const ROLE_WORDS = {
  viewer: "Viewer: reports and history",
  editor: "Editor: drafts and preview links",
  publisher: "Publisher: publish, pause and roll back",
};

export function roleDescription(role) {
  return ROLE_WORDS[role] || role;
}

/** The sign-in form; calls `onSignedIn(session)` once the edge accepts. */
export function renderSignIn(main, onSignedIn) {
  const remembered = (() => {
    try { return JSON.parse(localStorage.getItem("nudge-studio-sign-in") || "{}"); } catch { return {}; }
  })();
  const errorId = uid("err");
  const siteInput = h("input", { id: "sign-in-site", name: "site", required: true, autocomplete: "organization", value: remembered.site || "demo", spellcheck: "false" });
  const nameInput = h("input", { id: "sign-in-name", name: "name", required: true, autocomplete: "name", value: remembered.name || "" });
  const keyInput = h("input", { id: "sign-in-key", name: "key", type: "password", required: true, autocomplete: "current-password", spellcheck: "false" });
  const error = h("p", { class: "error-text", id: errorId, role: "alert" });
  const submit = h("button", { type: "submit", class: "primary" }, "Sign in");
  const form = h("form", { class: "sign-in card", "aria-describedby": errorId },
    h("h1", {}, "Sign in to Nudge studio"),
    h("p", { class: "muted" }, "Use the access key the site's owner gave you. It decides your role: viewer, editor or publisher."),
    h("div", { class: "field" }, h("label", { for: "sign-in-site" }, "Site"), siteInput),
    h("div", { class: "field" }, h("label", { for: "sign-in-name" }, "Your name"),
      h("p", { class: "hint", id: "sign-in-name-hint" }, "Shown in the history next to what you change."), nameInput),
    h("div", { class: "field" }, h("label", { for: "sign-in-key" }, "Access key"), keyInput),
    error, submit);
  nameInput.setAttribute("aria-describedby", "sign-in-name-hint");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    submit.disabled = true;
    const body = { site: siteInput.value.trim(), key: keyInput.value.trim(), name: nameInput.value.trim() };
    try {
      const { data } = await api.session.signIn(body);
      session.current = { site: data.site || body.site, role: data.role, who: data.who || body.name };
      try { localStorage.setItem("nudge-studio-sign-in", JSON.stringify({ site: body.site, name: body.name })); } catch { /* private mode */ }
      onSignedIn(session.current);
    } catch (e) {
      error.textContent = e.code === "bad_credentials"
        ? "That site and access key do not match. Check both and try again."
        : e.message;
      keyInput.focus();
    } finally {
      submit.disabled = false;
    }
  });
  replace(main, form);
  (remembered.name ? keyInput : nameInput).focus();
}
