// Each step of a live journey and how it is doing (the edge's `step_report`,
// counted per step since the journey last changed shape): how many runs
// reached it, as a bar against the runs that entered; how many wait in it
// now; what it sent, and the orders (and revenue) that followed it as the
// run's last message within 7 days; what it skipped and why; and how many
// runs left the journey there, by reason.

import { getPath } from "../editor/fields.js";
import { formatCount, formatRate, h, replace } from "../ui.js";
import { loadUplot } from "../uplot.js";
import { UNIT_SECONDS } from "./fields.js";
import { afterWords } from "./try.js";
import { EXIT_WORDS } from "./words.js";

/** How runs left the journey at a step: the list's words, lower case (a run completes after the last step, not at one). */
const LEFT = Object.fromEntries(Object.entries(EXIT_WORDS)
  .filter(([key]) => key !== "exited_completed")
  .map(([key, words]) => [key, words.charAt(0).toLowerCase() + words.slice(1)]));

function durationWords(d) {
  const unit = d && Object.keys(UNIT_SECONDS).find((u) => u in d);
  return unit ? afterWords(d[unit] * UNIT_SECONDS[unit]).replace(/^after /, "") : "?";
}

/** A step of the journey's JSON in a few words ("Wait 4 h", "Send “Cart Abandoned” to email"). */
export function stepWords(step) {
  const kind = step && typeof step === "object" ? Object.keys(step)[0] : "";
  const v = step?.[kind];
  switch (kind) {
    case "wait": return `Wait ${durationWords(v)}`;
    case "wait_until": return `Wait until ${v?.time ?? "?"}`;
    case "wait_for": return `Wait up to ${durationWords(v?.within)} for “${v?.event ?? "?"}”`;
    case "branch": return "Branch";
    case "send": return `Send “${v?.event ?? "?"}” to ${v?.destination ?? "?"}`;
    case "set": return `Set ${[v?.tag && `tag ${v.tag}`, v?.stage && `stage ${v.stage}`, v?.coupon_pool && `a coupon from ${v.coupon_pool}`].filter(Boolean).join(", ")}`;
    case "end": return "End";
    default: return kind || "Step";
  }
}

/** "steps[0].wait_for.else[1]" → "1b.2": the editor's numbering. */
export function stepNumber(path) {
  return path.replace(/^steps\[(\d+)\]/, (_, i) => String(Number(i) + 1))
    .replace(/\.(?:branch|wait_for)\.then\[(\d+)\]/g, (_, i) => `a.${Number(i) + 1}`)
    .replace(/\.(?:branch|wait_for)\.else\[(\d+)\]/g, (_, i) => `b.${Number(i) + 1}`);
}

/** The funnel: runs that reached each step, as bars (uPlot), the send steps' messages beside them. */
async function drawFunnel(box, rows) {
  const uPlot = await loadUplot();
  if (!uPlot || !box.isConnected) {
    replace(box, h("p", { class: "muted" }, "The chart could not load; the numbers are in the table below."));
    return;
  }
  const xs = rows.map((_, i) => i + 1);
  const reached = rows.map((r) => r.reached ?? 0);
  const sent = rows.map((r) => (r.kind === "send" ? r.sent ?? 0 : null));
  const label = (v) => (Number.isInteger(v) && rows[v - 1] ? stepNumber(rows[v - 1].path) : "");
  const bars = (size, align) => uPlot.paths.bars({ size: [size, 48], align });
  replace(box);
  new uPlot({
    width: Math.max(320, Math.min(1000, box.clientWidth || 800)), height: 190,
    legend: { live: false },
    cursor: { show: false },
    scales: { x: { time: false, range: [0.4, rows.length + 0.6] }, y: { range: (u, min, max) => [0, Math.max(1, max)] } },
    axes: [
      { label: "Step", splits: () => xs, values: (u, splits) => splits.map(label) },
      { label: "Runs" },
    ],
    series: [
      {},
      { label: "Reached", fill: "rgba(37, 99, 235, 0.55)", stroke: "#1d4ed8", paths: bars(0.7, -1), points: { show: false } },
      { label: "Messages sent", fill: "rgba(15, 118, 110, 0.7)", stroke: "#0f766e", paths: bars(0.35, 1), points: { show: false } },
    ],
  }, [xs, reached, sent], box);
}

export function stepReport(journey, rows, entered) {
  if (!Array.isArray(rows) || rows.length === 0) return null;
  const chart = h("div", { class: "journey-funnel", role: "img", "aria-label": `Runs that reached each of the ${rows.length} steps; the table below has the numbers` });
  // Drawn once the card is on the page (uPlot measures its box).
  requestAnimationFrame(() => drawFunnel(chart, rows));
  const base = Math.max(1, entered || 0, ...rows.map((r) => r.reached || 0));
  const n = (x) => formatCount(x ?? 0);
  return h("div", {}, chart, h("div", { class: "table-wrap" }, h("table", { class: "step-report" },
    h("caption", {}, "Each step since the journey last changed shape"),
    h("thead", {}, h("tr", {}, ["Step", "Reached", "Waiting now", "Sent", "Orders after it (7 days)", "Skipped", "Left the journey here"]
      .map((t, i) => h("th", { scope: "col", class: i > 0 ? "num" : null }, t)))),
    h("tbody", {}, rows.map((r) => {
      const step = journey ? getPath(journey, r.path) : null;
      const skipped = [
        r.suppressed_consent && `${n(r.suppressed_consent)} no consent`,
        r.suppressed_cap && `${n(r.suppressed_cap)} cap reached`,
        r.suppressed_holdout && `${n(r.suppressed_holdout)} held out`,
        r.delayed_quiet_hours && `${n(r.delayed_quiet_hours)} delayed by quiet hours`,
      ].filter(Boolean).join(", ");
      const left = Object.entries(LEFT).filter(([k]) => r[k]).map(([k, words]) => `${n(r[k])} ${words}`).join(", ");
      const share = (r.reached || 0) / base;
      return h("tr", { "data-path": r.path },
        h("th", { scope: "row" }, h("span", { class: "step-number" }, stepNumber(r.path)), " ", step ? stepWords(step) : r.kind),
        h("td", { class: "num reached" },
          h("span", { class: "funnel-track", "aria-hidden": "true" }, h("span", { class: "funnel-bar", style: { width: `${(share * 100).toFixed(1)}%` } })),
          h("span", { class: "funnel-value" }, `${n(r.reached)} (${formatRate(Math.min(1, share))})`)),
        h("td", { class: "num" }, n(r.waiting)),
        h("td", { class: "num" }, r.kind === "send" ? n(r.sent) : "–"),
        h("td", { class: "num orders" }, r.kind === "send"
          ? `${n(r.conversions)}${r.revenue_cents ? ` · ${(r.revenue_cents / 100).toLocaleString(undefined, { maximumFractionDigits: 2 })}` : ""}`
          : "–"),
        h("td", {}, skipped || "–"),
        h("td", {}, left || "–"));
    })))));
}

/**
 * The holdout's two groups side by side (the edge's `holdout`): runs, runs
 * with an order within the window, revenue per run, and core's verdict on
 * whether sending earns more orders than sending nothing.
 */
export function holdoutReport(holdout) {
  if (!holdout || !Array.isArray(holdout.arms)) return null;
  const arm = (key) => holdout.arms.find((a) => a.key === key) || {};
  const verdict = (holdout.analysis?.arms || []).find((a) => !a.control);
  const rate = (a) => (a.runs > 0 ? formatRate(a.conversions / a.runs) : "–");
  const money = (x) => (typeof x === "number" ? x.toLocaleString(undefined, { maximumFractionDigits: 2 }) : "–");
  const row = (label, a) => h("tr", { "data-arm": a.key },
    h("th", { scope: "row" }, label),
    h("td", { class: "num" }, formatCount(a.runs ?? 0)),
    h("td", { class: "num" }, formatCount(a.conversions ?? 0)),
    h("td", { class: "num" }, rate(a)),
    h("td", { class: "num" }, money(a.revenue_per_run)));
  return h("div", { class: "holdout-report" },
    h("div", { class: "table-wrap" }, h("table", { class: "step-report" },
      h("caption", {}, `Sent against held out (${holdout.percent}% held out; orders within ${holdout.window_days} days of entering)`),
      h("thead", {}, h("tr", {}, ["Group", "Runs", "With an order", "Order rate", "Revenue per run"].map((t, i) => h("th", { scope: "col", class: i ? "num" : null }, t)))),
      h("tbody", {}, row("Sent the journey", arm("sent")), row("Held out", arm("held_out"))))),
    verdict ? h("p", { class: `verdict verdict-${verdict.verdict?.kind}`, "data-verdict": verdict.verdict?.kind }, verdict.verdict?.message) : null);
}
