// The edge's studio API, same origin. Every call resolves to the parsed JSON
// or throws an ApiError with the edge's stable code, its message and problems.

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || `The server answered ${status}.`);
    this.status = status;
    this.code = body?.error || (status === 0 ? "network" : `http_${status}`);
    this.problems = Array.isArray(body?.problems) ? body.problems : [];
    this.body = body || {};
  }
}

/**
 * One request. Non-GET requests always carry `content-type: application/json`
 * and a JSON body (`{}` when there is nothing to say): the edge's CSRF guard
 * refuses anything else on a cookie session.
 */
export async function request(method, path, { body, headers = {}, raw = false } = {}) {
  const init = { method, headers: { accept: "application/json", ...headers }, credentials: "same-origin" };
  if (method !== "GET" && method !== "HEAD") {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body === undefined ? {} : body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    throw new ApiError(0, { error: "network", message: `The studio could not reach the server (${error.message}).` });
  }
  if (raw) return response;
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    if (!data || typeof data !== "object") {
      data = { error: `http_${response.status}`, message: `The server answered ${response.status} ${response.statusText}.` };
    }
    throw new ApiError(response.status, data);
  }
  return { data: data ?? {}, etag: response.headers.get("etag"), status: response.status };
}

const enc = encodeURIComponent;
const site = (s) => `/v1/admin/sites/${enc(s)}`;
const ifMatch = (n) => ({ "if-match": `"${n}"` });

/** Drafts and publish of one kind of item (`campaigns`, `journeys`). */
function drafts(list) {
  const at = (s, id) => `${site(s)}/${list}/${enc(id)}`;
  return {
    draft: (s, id) => request("GET", `${at(s, id)}/draft`),
    /** Creates the draft (revision null) or replaces revision `revision`. */
    saveDraft: (s, id, item, revision) => request("PUT", `${at(s, id)}/draft`, {
      body: item,
      headers: revision === null || revision === undefined ? { "if-none-match": "*" } : ifMatch(revision),
    }),
    discardDraft: (s, id, revision) => request("DELETE", `${at(s, id)}/draft`, { headers: ifMatch(revision) }),
    publish: (s, id, revision, note) => request("POST", `${at(s, id)}/publish`, {
      body: { note }, headers: ifMatch(revision),
    }),
  };
}

export const api = {
  session: {
    get: () => request("GET", "/v1/studio/session"),
    signIn: (body) => request("POST", "/v1/studio/session", { body }),
    signOut: () => request("DELETE", "/v1/studio/session"),
  },
  campaigns: (s) => request("GET", `${site(s)}/campaigns`),
  ...drafts("campaigns"),
  /** The same four for journeys: journeyDrafts.draft(s, id), … */
  journeyDrafts: drafts("journeys"),
  /** Plays a journey (`source`: "live" or "draft") on a virtual clock: {timeline}. */
  dryRun: (s, id, body) => request("POST", `${site(s)}/journeys/${enc(id)}/dry-run`, { body }),
  /** One send step's message, the request its destination would get, and with `send` a test delivery. */
  testSend: (s, id, body) => request("POST", `${site(s)}/journeys/${enc(id)}/test-send`, { body }),
  destinations: (s) => request("GET", `${site(s)}/destinations`),
  pool: (s, pool) => request("GET", `${site(s)}/coupon-pools/${enc(pool)}`),
  setStatus: (s, id, status, liveVersion) => request("POST", `${site(s)}/campaigns/${enc(id)}/status`, {
    body: { status }, headers: ifMatch(liveVersion),
  }),
  versions: (s, before, limit = 30) => {
    const q = new URLSearchParams({ limit: String(limit) });
    if (before !== undefined && before !== null) q.set("before", String(before));
    return request("GET", `${site(s)}/versions?${q}`);
  },
  version: (s, v) => request("GET", `${site(s)}/versions/${enc(v)}`),
  rollback: (s, v, liveVersion) => request("POST", `${site(s)}/versions/${enc(v)}/rollback`, { headers: ifMatch(liveVersion) }),
  previewLink: (s, id, body) => request("POST", `${site(s)}/campaigns/${enc(id)}/preview-link`, { body }),
  reportUrl: (s, id, { from, to, window, method }, format) => {
    const q = new URLSearchParams({ from, to, window: String(window) });
    if (method) q.set("method", method);
    if (format) q.set("format", format);
    return `${site(s)}/campaigns/${enc(id)}/report?${q}`;
  },
  report: (s, id, range) => request("GET", api.reportUrl(s, id, range)),
  summary: (s, days = 7) => request("GET", `${site(s)}/reports/summary?days=${days}`),
  journeys: (s) => request("GET", `${site(s)}/journeys`),
  /** One journey's numbers; `csv`: its per-step report as a CSV file. */
  journeyReportUrl: (s, id, format) => `${site(s)}/journeys/${enc(id)}/report${format ? `?format=${format}` : ""}`,
  /** The site's messaging caps and quiet hours (null removes either), as a new version. */
  setMessaging: (s, body, liveVersion) => request("POST", `${site(s)}/journeys/settings`, { body, headers: ifMatch(liveVersion) }),
  setJourney: (s, id, enabled, liveVersion) => request("POST", `${site(s)}/journeys/${enc(id)}/status`, {
    body: { enabled }, headers: ifMatch(liveVersion),
  }),
};

/** True when the endpoint is not there yet (404 without a known error code, or 501). */
export function isMissingEndpoint(error) {
  return error instanceof ApiError && (error.status === 501 || (error.status === 404 && (error.code === "not_found" || error.code.startsWith("http_"))));
}
