// The preview page's script (preview.html): draws what the studio posts
// with the agent's renderer and answers with its diagnostics.
import init, { previewCampaign } from "./agent/nudge_agent.js";

const agent = init({ module_or_path: new URL("./agent/nudge_agent_bg.wasm", import.meta.url) });
const again = document.getElementById("again");
let last = null;

// After a dismiss, the last preview can be shown again.
const update = () => { again.hidden = !last || !!document.querySelector("nudge-campaign"); };
new MutationObserver(update).observe(document.body, { childList: true, subtree: true });

async function show(message) {
  last = message;
  let diagnostics;
  try {
    await agent;
    diagnostics = previewCampaign(String(message.config ?? ""), String(message.campaign ?? ""), {
      step: message.step, variant: message.variant ?? undefined, coupon: message.coupon ?? undefined, traits: message.traits,
    });
  } catch (err) {
    diagnostics = [{ path: "", message: `the preview could not run: ${err}`, severity: "error" }];
  }
  update();
  return diagnostics;
}

addEventListener("message", async (event) => {
  if (event.origin !== location.origin || event.source !== parent) return;
  const message = event.data;
  if (!message || message.type !== "nudge-preview") return;
  const diagnostics = await show(message);
  parent.postMessage({ type: "nudge-preview-result", diagnostics }, location.origin);
});
again.addEventListener("click", () => { if (last) show(last); });
if (parent !== window) parent.postMessage({ type: "nudge-preview-ready" }, location.origin);
