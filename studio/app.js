// The studio's shell: session check, header, and a hash router over the screens.
//   #/                 campaigns          #/new             templates
//   #/new/<template>   editor (new)       #/c/<id>          editor
//   #/c/<id>/report    report             #/history[/<v>]   versions
//   #/journeys         journeys           #/journeys/new[/<t>] journey templates, editor (new)
//   #/j/<id>           journey editor

import { loadSession, renderSignIn, roleDescription, session, signOut } from "./session.js";
import { h, replace, toast } from "./ui.js";

const main = document.getElementById("main");
const header = document.getElementById("top");
let current = null; // {leave?, canLeave?} of the screen on show
let lastHash = location.hash;

async function screenFor(hash) {
  const parts = hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  const [first, second, third] = parts;
  if (!first) return (await import("./list.js")).renderList(main);
  if (first === "new" && !second) return (await import("./templates.js")).renderTemplatePicker(main);
  if (first === "new") return (await import("./editor/editor.js")).renderEditor(main, { template: second });
  if (first === "c" && second && third === "report") return (await import("./report.js")).renderReport(main, second);
  if (first === "c" && second) return (await import("./editor/editor.js")).renderEditor(main, { id: second });
  if (first === "history") return (await import("./history.js")).renderHistory(main, second);
  if (first === "journeys" && second === "new" && third) return (await import("./journey/editor.js")).renderJourneyEditor(main, { template: third });
  if (first === "journeys" && second === "new") return (await import("./journeys.js")).renderJourneyTemplates(main);
  if (first === "journeys") return (await import("./journeys.js")).renderJourneys(main);
  if (first === "j" && second) return (await import("./journey/editor.js")).renderJourneyEditor(main, { id: second });
  replace(main, h("h1", {}, "Not found"), h("p", {}, h("a", { href: "#/" }, "Back to the campaigns")));
  return null;
}

async function route() {
  if (current?.canLeave && !current.canLeave()) {
    if (!window.confirm("You have unsaved changes. Leave without saving them?")) {
      history.replaceState(null, "", lastHash || "#/");
      return;
    }
  }
  current?.leave?.();
  current = null;
  lastHash = location.hash;
  for (const link of header.querySelectorAll("[data-nav]")) {
    const section = location.hash.startsWith("#/history") ? "history" : location.hash.startsWith("#/journeys") || location.hash.startsWith("#/j/") ? "journeys" : "campaigns";
    const active = link.dataset.nav === section;
    if (active) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  try {
    current = await screenFor(location.hash);
  } catch (error) {
    if (error.status === 401) return start();
    replace(main, h("h1", {}, "Something went wrong"), h("p", { class: "error-text" }, error.message),
      h("p", {}, h("a", { href: "#/" }, "Back to the campaigns")));
  }
  main.focus({ preventScroll: true });
}

function showHeader() {
  const s = session.current;
  header.hidden = false;
  replace(document.getElementById("who"),
    h("span", { class: "site" }, s.site), " · ", s.who || "", " · ",
    h("span", { class: `role role-${s.role}`, title: roleDescription(s.role) }, s.role));
}

async function start() {
  header.hidden = true;
  current?.leave?.();
  current = null;
  let signedIn = null;
  try {
    signedIn = await loadSession();
  } catch (error) {
    replace(main, h("h1", {}, "The studio cannot reach the server"), h("p", { class: "error-text" }, error.message));
    return;
  }
  if (!signedIn) {
    renderSignIn(main, () => { showHeader(); route(); });
    return;
  }
  showHeader();
  route();
}

document.getElementById("sign-out").addEventListener("click", async () => {
  if (current?.canLeave && !current.canLeave() && !window.confirm("You have unsaved changes. Sign out anyway?")) return;
  try {
    await signOut();
  } catch (error) {
    toast(error.message, "error");
  }
  current = null;
  location.hash = "#/";
  start();
});

window.addEventListener("hashchange", () => { if (session.current) route(); });
window.addEventListener("beforeunload", (event) => {
  if (current?.canLeave && !current.canLeave()) event.preventDefault();
});
// A 401 anywhere (the session expired): back to the sign-in form.
window.addEventListener("nudge-signed-out", () => start());

start();
