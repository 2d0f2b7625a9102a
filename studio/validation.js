// Checking a campaign or a journey as the marketer types, with core's own
// validation: the agent's studio build (./agent/nudge_agent.js) exports
// validateConfig(text). The full config is checked (the live one with this
// item in its place), so duplicate ids and saved groups are judged exactly as
// at publish.

let validator = null;

/** Loads the validator once; resolves to validateConfig, or null when the build is not there. */
export function loadValidator() {
  if (!validator) {
    validator = (async () => {
      try {
        const agent = await import("./agent/nudge_agent.js");
        await agent.default();
        return typeof agent.validateConfig === "function" ? agent.validateConfig : null;
      } catch (error) {
        console.warn("nudge studio: core's validation is not available here", error);
        return null;
      }
    })();
  }
  return validator;
}

/**
 * The config as it would be after publishing `item` into `list` (campaigns
 * or journeys): the live config with the item whose id is `originalId`
 * replaced (or `item` appended).
 */
export function buildConfig(liveConfig, item, originalId, list = "campaigns") {
  const config = liveConfig && typeof liveConfig === "object" ? structuredClone(liveConfig) : {};
  if (config.version === undefined) config.version = 1;
  if (!Array.isArray(config.campaigns)) config.campaigns = [];
  const items = Array.isArray(config[list]) ? config[list] : [];
  let index = originalId ? items.findIndex((c) => c && c.id === originalId) : -1;
  if (index < 0) index = items.length;
  items[index] = item;
  config[list] = items;
  return { config, index, text: JSON.stringify(config) };
}

function severityOf(problem) {
  return String(problem.severity || "error").toLowerCase() === "warning" ? "warning" : "error";
}

/**
 * Splits core's problems into this item's (paths made relative to it) and
 * the rest of the config's. Core's "campaign skipped because of the problems
 * above" says nothing more to a marketer and is dropped.
 */
export function splitProblems(problems, index, list = "campaigns") {
  const prefix = `${list}[${index}]`;
  const mine = [];
  const others = [];
  for (const p of Array.isArray(problems) ? problems : []) {
    const path = String(p.path ?? "");
    const problem = { path, message: String(p.message ?? ""), severity: severityOf(p) };
    if (path === prefix || path.startsWith(`${prefix}.`)) {
      const relative = path === prefix ? "" : path.slice(prefix.length + 1);
      if (relative === "" && problem.severity === "warning" && /skipped/.test(problem.message)) continue;
      mine.push({ ...problem, path: relative });
    } else {
      others.push(problem);
    }
  }
  return { mine, others };
}

/** Runs core's validation; null when it is not available. */
export async function validate(liveConfig, item, originalId, list = "campaigns") {
  const validateConfig = await loadValidator();
  if (!validateConfig) return null;
  const built = buildConfig(liveConfig, item, originalId, list);
  let problems;
  try {
    problems = validateConfig(built.text);
  } catch (error) {
    return { mine: [{ path: "", message: `The check failed: ${error.message || error}`, severity: "error" }], others: [], built };
  }
  return { ...splitProblems(problems, built.index, list), built };
}

/** Normalises problems the edge returns (item-relative paths). */
export function edgeProblems(problems) {
  return (Array.isArray(problems) ? problems : []).map((p) => ({
    // Item-relative by contract; a full config path is made relative too.
    path: String(p.path ?? "").replace(/^(campaigns|journeys)\[\d+\]\.?/, ""), message: String(p.message ?? ""), severity: severityOf(p),
  }));
}
