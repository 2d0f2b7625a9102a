// One campaign's report: KPI cards, the daily series (uPlot), the funnel, the
// arms with their lift intervals, and the health checks that say whether the
// numbers can be trusted yet.

import { api, isMissingEndpoint } from "./api.js";
import { site } from "./session.js";
import { formatCount, formatLift, formatMoney, formatRate, h, replace, uid } from "./ui.js";
import { loadUplot } from "./uplot.js";

const COLORS = ["#1d4ed8", "#b3261e", "#1e6b35", "#7a4b00", "#6b21a8", "#0e7490"];

const isoDay = (date) => date.toISOString().slice(0, 10);
/** A campaign without an A/B test reports one arm with the key "". */
const armName = (key) => key || "All visitors";
const sum = (rows, key) => rows.reduce((total, r) => total + (typeof r[key] === "number" ? r[key] : 0), 0);
const ratio = (a, b) => (b > 0 ? a / b : null);

export async function renderReport(main, id) {
  const today = new Date();
  const range = { from: isoDay(new Date(today.getTime() - 13 * 86400e3)), to: isoDay(today), window: 7 };
  const fromId = uid("from");
  const toId = uid("to");
  const windowId = uid("win");
  const fromInput = h("input", { id: fromId, type: "date", value: range.from, required: true });
  const toInput = h("input", { id: toId, type: "date", value: range.to, required: true });
  const windowInput = h("input", { id: windowId, type: "number", min: "1", max: "90", step: "1", value: String(range.window), required: true, "aria-describedby": `${windowId}-hint` });
  const methodId = uid("met");
  const methodSelect = h("select", { id: methodId, "aria-describedby": `${methodId}-hint` },
    h("option", { value: "sequential" }, "Sequential"), h("option", { value: "fixed_horizon" }, "Fixed horizon"));
  const csv = h("a", { class: "button quiet", download: `${id}-report.csv` }, "Download CSV");
  const out = h("div", { class: "report", "aria-live": "polite", "aria-busy": "false" });
  let plot = null;

  const form = h("form", { class: "report-range card" },
    h("div", { class: "field inline" }, h("label", { for: fromId }, "From"), fromInput),
    h("div", { class: "field inline" }, h("label", { for: toId }, "To"), toInput),
    h("div", { class: "field inline" }, h("label", { for: windowId }, "Conversion window (days)"), windowInput),
    h("div", { class: "field inline" }, h("label", { for: methodId }, "Intervals"), methodSelect),
    h("p", { class: "hint", id: `${windowId}-hint` }, "A conversion counts if it happens within this many days of first seeing the campaign."),
    h("p", { class: "hint", id: `${methodId}-hint` }, "Sequential intervals stay valid however often you look; fixed horizon is for one look at a sample size planned in advance."),
    h("button", { type: "submit", class: "primary" }, "Show"),
    csv);

  replace(main,
    h("p", { class: "crumbs" }, h("a", { href: "#/" }, "Campaigns"), " › ", h("a", { href: `#/c/${encodeURIComponent(id)}` }, id), " › Report"),
    h("div", { class: "page-head" }, h("h1", {}, `Report: ${id}`)),
    form, out);

  const load = async () => {
    range.from = fromInput.value;
    range.to = toInput.value;
    range.window = Number(windowInput.value) || 7;
    range.method = methodSelect.value;
    csv.href = api.reportUrl(site(), id, range, "csv");
    out.setAttribute("aria-busy", "true");
    plot?.destroy();
    plot = null;
    replace(out, h("p", { class: "loading" }, "Loading the report…"));
    let data;
    try {
      ({ data } = await api.report(site(), id, range));
    } catch (error) {
      out.setAttribute("aria-busy", "false");
      replace(out, h("p", { class: "notice" }, isMissingEndpoint(error) ? "No data yet: the report service does not answer on this server." : error.message));
      return;
    }
    out.setAttribute("aria-busy", "false");
    plot = await draw(out, data);
  };
  form.addEventListener("submit", (event) => { event.preventDefault(); load(); });
  await load();
  return { leave: () => plot?.destroy() };
}

async function draw(out, data) {
  const variants = Array.isArray(data.variants) ? data.variants : [];
  const days = Array.isArray(data.days) ? data.days : [];
  const exposed = sum(variants, "exposed_persons");
  if (variants.length === 0 || exposed === 0) {
    replace(out, h("p", { class: "notice", dataset: { report: "empty" } }, "No data yet: nobody has seen this campaign in these dates."), health(data, variants));
    return null;
  }
  const impressions = sum(variants, "impressions");
  const clicks = sum(variants, "clicks");
  const submits = sum(variants, "submits");
  const conversions = sum(variants, "conversions");
  const revenue = sum(variants, "revenue");
  const cards = h("ul", { class: "kpis", dataset: { report: "ready" } },
    kpi("Exposed persons", formatCount(exposed), "exposed"),
    kpi("Click-through rate", formatRate(ratio(clicks, impressions)), "ctr", `${formatCount(clicks)} clicks of ${formatCount(impressions)} impressions`),
    kpi("Conversion rate", formatRate(ratio(conversions, exposed)), "cr", `${formatCount(conversions)} conversions${data.goal ? ` (${data.goal})` : ""}`),
    kpi("Revenue per exposed person", formatMoney(ratio(revenue, exposed)), "rpe", `${formatMoney(revenue)} in total`));

  const chartBox = h("div", { class: "chart" });
  const chartSection = h("section", { class: "card", "aria-labelledby": "chart-title" },
    h("h2", { id: "chart-title" }, "Every day"),
    h("p", { class: "hint" }, "Solid lines: exposed persons (left axis). Dashed: conversions (right axis)."),
    chartBox,
    dayTable(days, variants));

  replace(out, cards, chartSection, funnel({ exposed, clicks, submits, conversions }), armsTable(data, variants), health(data, variants));

  const uPlot = await loadUplot();
  if (!uPlot || days.length === 0) {
    replace(chartBox, h("p", { class: "muted" }, days.length ? "The chart could not load; the numbers are in the table below." : "No daily numbers yet."));
    return null;
  }
  const dayList = [...new Set(days.map((d) => d.day))].sort();
  const xs = dayList.map((d) => Date.parse(`${d}T00:00:00Z`) / 1000);
  const keys = variants.map((v) => v.key);
  const value = (key, day, field) => {
    const row = days.find((d) => d.day === day && (d.variant ?? "") === (key ?? ""));
    return row && typeof row[field] === "number" ? row[field] : 0;
  };
  const series = [{}];
  const columns = [xs];
  keys.forEach((key, i) => {
    const name = armName(key);
    series.push({ label: `${name}: exposed`, stroke: COLORS[i % COLORS.length], width: 2, scale: "persons" });
    columns.push(dayList.map((d) => value(key, d, "exposed_persons")));
    series.push({ label: `${name}: conversions`, stroke: COLORS[i % COLORS.length], width: 2, dash: [6, 4], scale: "conversions" });
    columns.push(dayList.map((d) => value(key, d, "conversions")));
  });
  const width = Math.max(320, chartBox.clientWidth || 800);
  return new uPlot({
    width, height: 260, series,
    // The legend names the lines; the numbers are in the table below the chart.
    legend: { live: false },
    scales: { x: { time: true }, persons: { auto: true }, conversions: { auto: true } },
    axes: [{}, { scale: "persons", label: "Exposed persons" }, { scale: "conversions", side: 1, label: "Conversions", grid: { show: false } }],
  }, columns, chartBox);
}

function kpi(label, value, key, detail) {
  return h("li", { class: "kpi card", dataset: { kpi: key } },
    h("span", { class: "kpi-label" }, label), h("span", { class: "kpi-value" }, value), detail ? h("span", { class: "kpi-detail" }, detail) : null);
}

function dayTable(days, variants) {
  const several = variants.length > 1;
  return h("details", { class: "day-table" }, h("summary", {}, "The numbers by day"),
    h("table", {},
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Day"), several ? h("th", { scope: "col" }, "Arm") : null,
        ["Exposed", "Impressions", "Clicks", "Sign-ups", "Dismissals", "Conversions", "Revenue"].map((c) => h("th", { scope: "col", class: "num" }, c)))),
      h("tbody", {}, days.map((d) => h("tr", {}, h("td", {}, d.day), several ? h("td", {}, armName(d.variant)) : null,
        ["exposed_persons", "impressions", "clicks", "submits", "dismissals", "conversions"].map((k) => h("td", { class: "num" }, formatCount(d[k]))),
        h("td", { class: "num" }, formatMoney(d.revenue)))))));
}

/** Exposed → clicked → submitted → converted, as bars (data display: plain widths). */
function funnel({ exposed, clicks, submits, conversions }) {
  const steps = [["Exposed", exposed], ["Clicked", clicks], ["Signed up", submits], ["Converted", conversions]];
  return h("section", { class: "card", "aria-labelledby": "funnel-title" },
    h("h2", { id: "funnel-title" }, "Funnel"),
    h("ol", { class: "funnel" }, steps.map(([label, n]) => {
      const share = exposed > 0 ? Math.min(1, n / exposed) : 0;
      return h("li", { dataset: { step: label.toLowerCase() } },
        h("span", { class: "funnel-label" }, label),
        h("span", { class: "funnel-track", "aria-hidden": "true" }, h("span", { class: "funnel-bar", style: { width: `${(share * 100).toFixed(1)}%` } })),
        h("span", { class: "funnel-value" }, `${formatCount(n)} (${formatRate(share)})`));
    })));
}

function armsTable(data, variants) {
  const arms = new Map((data.analysis?.arms || []).map((a) => [a.key, a]));
  const span = Math.max(0.05, ...[...arms.values()].flatMap((a) => (a.lift ? [Math.abs(a.lift.lower), Math.abs(a.lift.upper)] : [])).filter(Number.isFinite));
  return h("section", { class: "card", "aria-labelledby": "arms-title" },
    h("h2", { id: "arms-title" }, variants.length > 1 ? "Arms" : "Results"),
    h("div", { class: "table-wrap" }, h("table", { class: "arms" },
      h("thead", {}, h("tr", {},
        h("th", { scope: "col" }, "Arm"), h("th", { scope: "col", class: "num" }, "Share"), h("th", { scope: "col", class: "num" }, "Exposed"),
        h("th", { scope: "col", class: "num" }, "CTR"), h("th", { scope: "col", class: "num" }, "Conversion"),
        h("th", { scope: "col", class: "num" }, "Revenue / person"),
        h("th", { scope: "col" }, `Lift vs control (${typeof data.analysis?.confidence === "number" ? Math.round(data.analysis.confidence * 100) : 95}% interval)`),
        h("th", { scope: "col", class: "num" }, "Chance to beat control"), h("th", { scope: "col" }, "Verdict"))),
      h("tbody", {}, variants.map((v) => {
        const a = arms.get(v.key) || {};
        const verdict = a.verdict || {};
        return h("tr", { dataset: { arm: v.key ?? "" } },
          h("th", { scope: "row" }, armName(v.key), v.control ? h("span", { class: "badge" }, "control") : null),
          h("td", { class: "num" }, formatRate(v.weight, 0)),
          h("td", { class: "num" }, formatCount(v.exposed_persons)),
          h("td", { class: "num" }, formatRate(v.click_through_rate)),
          h("td", { class: "num" }, formatRate(v.conversion_rate)),
          h("td", { class: "num" }, formatMoney(v.revenue_per_exposed_person)),
          h("td", {}, v.control ? h("span", { class: "muted" }, "baseline") : liftBar(a.lift, span, verdict.kind)),
          h("td", { class: "num" }, typeof a.chance_to_beat_control === "number" ? formatRate(a.chance_to_beat_control, 0) : "–"),
          h("td", { class: `verdict verdict-${verdict.kind || "none"}` }, verdict.message || "–"));
      })))));
}

/** The lift's interval as a bar around zero, with its numbers as text beside it. */
function liftBar(lift, span, kind) {
  if (!lift || !Number.isFinite(lift.estimate)) return h("span", { class: "muted" }, "not enough data");
  const W = 160;
  const x = (r) => Math.max(0, Math.min(W, W / 2 + (r / span) * (W / 2)));
  const colour = kind === "better" ? "#1e6b35" : kind === "worse" ? "#b3261e" : "#595959";
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} 20`);
  svg.setAttribute("width", String(W));
  svg.setAttribute("height", "20");
  svg.setAttribute("aria-hidden", "true");
  const add = (tag, attrs) => {
    const el = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
    svg.append(el);
  };
  add("line", { x1: W / 2, x2: W / 2, y1: 0, y2: 20, stroke: "#1a1a1a", "stroke-width": 1 });
  add("rect", { x: x(lift.lower), y: 6, width: Math.max(2, x(lift.upper) - x(lift.lower)), height: 8, rx: 2, fill: colour, opacity: 0.35 });
  add("circle", { cx: x(lift.estimate), cy: 10, r: 4, fill: colour });
  return h("span", { class: "lift" }, svg,
    h("span", { class: "lift-text" }, `${formatLift(lift.estimate)} (${formatLift(lift.lower)} to ${formatLift(lift.upper)})`));
}

function health(data, variants) {
  const analysis = data.analysis;
  const items = [];
  if (analysis) {
    const p = typeof analysis.srm_p_value === "number" ? analysis.srm_p_value : null;
    items.push(analysis.srm_warning
      ? check("warn", "srm", `Sample ratio mismatch: the arms did not get the share of visitors their weights ask for (p = ${p === null ? "?" : p.toPrecision(2)}). Something is filtering one arm; do not trust the results until it is found.`)
      : check("ok", "srm", `The split matches the weights${p === null ? "" : ` (sample ratio check p = ${p.toPrecision(2)})`}.`));
    const early = (analysis.arms || []).find((a) => a.verdict?.kind === "too_early");
    items.push(early
      ? check("warn", "sample", early.verdict.message || "Too early: not enough visitors yet for a verdict.")
      : check("ok", "sample", "Enough visitors for a verdict."));
    items.push(check("info", "method", analysis.method === "sequential"
      ? "Method: sequential. The intervals stay valid however often you look."
      : analysis.method === "fixed_horizon"
        ? "Method: fixed horizon. Decide only once the planned number of visitors is reached; looking earlier and stopping on a good day overstates the lift."
        : `Method: ${analysis.method || "unknown"}.`));
  } else if (variants.length > 1) {
    items.push(check("info", "sample", "No analysis yet: it appears once every arm has visitors."));
  } else {
    items.push(check("info", "method", "Not an A/B test: the numbers are not compared with a control."));
  }
  if (typeof data.persons_in_several_arms === "number") {
    const share = typeof data.several_arms_share === "number" ? data.several_arms_share : null;
    // The analysis says when contamination matters; without it, over 1% is worth a word.
    const bad = typeof analysis?.multiple_exposure_warning === "boolean" ? analysis.multiple_exposure_warning : share !== null && share > 0.01;
    items.push(check(bad ? "warn" : "ok", "several-arms", `${formatCount(data.persons_in_several_arms)} ${data.persons_in_several_arms === 1 ? "person was" : "persons were"} in more than one arm${share === null ? "" : ` (${formatRate(share)} of them)`}${bad ? ": for example one person on two devices before signing in. They are counted in each arm they saw." : "."}`));
  }
  return h("section", { class: "card", "aria-labelledby": "health-title" },
    h("h2", { id: "health-title" }, "Health checks"),
    h("ul", { class: "health" }, items));
}

function check(kind, key, text) {
  const word = { ok: "OK", warn: "Warning", info: "Note" }[kind];
  return h("li", { class: `health-${kind}`, dataset: { check: key } }, h("strong", {}, `${word}: `), text);
}
