// Config paths in words, for marketers: "content.cta.label" → "Content › Button › Label".

import { parsePath } from "./editor/fields.js";

const WORDS = {
  id: "Id", name: "Name", status: "Status", priority: "Priority", goal: "Goal", requires: "Requires version",
  schedule: "Schedule", start: "Start", end: "End",
  trigger: "Trigger", url: "Pages", equals: "Exactly", prefix: "Starts with", contains: "Contains", regex: "Pattern",
  page_view: "Page view", scroll_depth: "Scroll depth", exit_intent: "Exit intent", min_seconds_on_page: "Seconds on the page first",
  time_on_page: "Time on page", time_on_site: "Time on site", inactivity: "Inactivity", event: "Event",
  audience: "Audience",
  content: "Content", layout: "Layout", selector: "Place on the page", position: "Position", title: "Title", body: "Body",
  image: "Image", src: "Address", alt: "Description", cta: "Button", label: "Label",
  form: "Form", field: "Asks for", placeholder: "Placeholder", button: "Submit button", success: "Success message",
  coupon: "Coupon", coupon_sealed: "Coupon held back", dismiss_label: "Dismiss label", accent: "Accent colour",
  frequency: "Frequency", per_session: "Per visit", per_days: "Per days", days: "Days", max: "At most",
  max_impressions: "In total", stop_after_conversion: "Stop after conversion", snooze_days_after_dismiss: "Wait after dismissal",
  variants: "A/B arms", key: "Key", weight: "Share", control: "Control arm",
  coverage: "Visitors in the test", hash_attribute: "Split by",
};

/** A campaign-relative path in words; audience conditions keep their own keys. */
export function pathWords(path) {
  if (!path) return "The campaign";
  if (path === "audience" || path.startsWith("audience.") || path.startsWith("audience[")) {
    const rest = path.slice("audience".length).replace(/^\./, "");
    // Attribute names hold dots themselves (cart.items): shown as they are.
    return rest ? `Audience › ${rest.replace(/^\$or\[(\d+)\]\.?/, (_, i) => `group ${Number(i) + 1} › `)}` : "Audience";
  }
  const out = [];
  let previous = "";
  for (const key of parsePath(path)) {
    if (typeof key === "number") out.push(previous === "variants" ? `arm ${key + 1}` : `#${key + 1}`);
    else out.push(WORDS[key] || key.replace(/_/g, " "));
    previous = key;
  }
  return out.join(" › ");
}
