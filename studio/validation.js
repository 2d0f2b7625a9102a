// Checking a campaign as the marketer types, with core's own validation: the
// agent's studio build (./agent/nudge_agent.js) exports validateConfig(text).
// The full config is checked (the live one with this campaign in its place), so
// duplicate ids and saved groups are judged exactly as at publish.

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
 * The config as it would be after publishing `campaign`: the live config with
 * the campaign whose id is `originalId` replaced (or `campaign` appended).
 */
export function buildConfig(liveConfig, campaign, originalId) {
  const config = liveConfig && typeof liveConfig === "object" ? structuredClone(liveConfig) : {};
  if (config.version === undefined) config.version = 1;
  const campaigns = Array.isArray(config.campaigns) ? config.campaigns : [];
  let index = originalId ? campaigns.findIndex((c) => c && c.id === originalId) : -1;
  if (index < 0) index = campaigns.length;
  campaigns[index] = campaign;
  config.campaigns = campaigns;
  return { config, index, text: JSON.stringify(config) };
}

function severityOf(problem) {
  return String(problem.severity || "error").toLowerCase() === "warning" ? "warning" : "error";
}

/**
 * Splits core's problems into this campaign's (paths made relative to it) and
 * the rest of the config's. Core's "campaign skipped because of the problems
 * above" says nothing more to a marketer and is dropped.
 */
export function splitProblems(problems, index) {
  const prefix = `campaigns[${index}]`;
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
export async function validate(liveConfig, campaign, originalId) {
  const validateConfig = await loadValidator();
  if (!validateConfig) return null;
  const built = buildConfig(liveConfig, campaign, originalId);
  let problems;
  try {
    problems = validateConfig(built.text);
  } catch (error) {
    return { mine: [{ path: "", message: `The check failed: ${error.message || error}`, severity: "error" }], others: [], built };
  }
  return { ...splitProblems(problems, built.index), built };
}

/** Normalises problems the edge returns (campaign-relative paths). */
export function edgeProblems(problems) {
  return (Array.isArray(problems) ? problems : []).map((p) => ({
    // Campaign-relative by contract; a full config path is made relative too.
    path: String(p.path ?? "").replace(/^campaigns\[\d+\]\.?/, ""), message: String(p.message ?? ""), severity: severityOf(p),
  }));
}
