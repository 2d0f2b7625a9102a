//! Answers: JSON bodies, typed refusals, CORS.

use nudge_core::Diagnostic;
use serde_json::{json, Value};
use worker::{Headers, Request, Response, Result};

/// An expected refusal (bad input, unknown site, limits): a status, a stable
/// machine-readable code, a human message and, for bad input, every problem.
pub struct Refusal {
    status: u16,
    code: &'static str,
    message: String,
    problems: Vec<Diagnostic>,
}

impl Refusal {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Refusal {
            status,
            code,
            message: message.into(),
            problems: Vec::new(),
        }
    }

    pub fn with_problems(mut self, problems: Vec<Diagnostic>) -> Self {
        self.problems = problems;
        self
    }

    pub fn into_response(self) -> Result<Response> {
        let problems: Vec<Value> = self
            .problems
            .iter()
            .map(|p| json!({"path": p.path, "message": p.message}))
            .collect();
        let mut body = json!({"error": self.code, "message": self.message});
        if !problems.is_empty() {
            body["problems"] = Value::Array(problems);
        }
        json_response(self.status, &body)
    }
}

pub fn json_response(status: u16, body: &Value) -> Result<Response> {
    let headers = Headers::new();
    headers.set("content-type", "application/json; charset=utf-8")?;
    headers.set("cache-control", "no-store")?;
    Ok(Response::ok(body.to_string())?
        .with_status(status)
        .with_headers(headers))
}

/// The `site` query parameter: present and a plausible site key.
pub fn site_param(req: &Request) -> std::result::Result<String, Refusal> {
    let url = req
        .url()
        .map_err(|_| Refusal::new(400, "bad_request", "unreadable URL"))?;
    let site = url
        .query_pairs()
        .find(|(k, _)| k == "site")
        .map(|(_, v)| v.into_owned());
    match site {
        Some(s) if is_site_key(&s) => Ok(s),
        Some(_) => Err(Refusal::new(
            400,
            "bad_site",
            "site must be 1-64 characters of a-z, 0-9, - and _",
        )),
        None => Err(Refusal::new(
            400,
            "missing_site",
            "the site query parameter is required",
        )),
    }
}

/// For `/v1/admin/sites/{site}/{what}`: the site, once the path's shape and
/// the bearer token are checked; otherwise the refusal to send.
pub fn admin_site(
    req: &Request,
    env: &worker::Env,
    what: &str,
) -> Result<std::result::Result<String, Refusal>> {
    let path = req.path();
    let site = path
        .strip_prefix("/v1/admin/sites/")
        .and_then(|rest| rest.strip_suffix(what))
        .and_then(|rest| rest.strip_suffix('/'))
        .filter(|site| is_site_key(site));
    let Some(site) = site else {
        return Ok(Err(Refusal::new(
            404,
            "not_found",
            format!("expected /v1/admin/sites/{{site}}/{what}"),
        )));
    };
    if !crate::config_api::authorized(req, env)? {
        return Ok(Err(Refusal::new(
            401,
            "unauthorized",
            "a valid bearer token is required",
        )));
    }
    Ok(Ok(site.to_owned()))
}

pub fn is_site_key(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// Preflight for cross-origin calls to the API: answered only for origins
/// the site lists. (The agent posts `text/plain`, which needs none.)
pub async fn preflight(req: &Request, env: &worker::Env) -> Result<Response> {
    let site = match site_param(req) {
        Ok(site) => site,
        Err(refusal) => return refusal.into_response(),
    };
    let Some(config) = site_config(env, &site).await? else {
        return Refusal::new(404, "unknown_site", format!("no site {site}")).into_response();
    };
    let verdict = match crate::cors::check(req, &config)? {
        Ok(verdict) => verdict,
        Err(refusal) => return refusal.into_response(),
    };
    let headers = Headers::new();
    headers.set("access-control-allow-methods", "GET, POST, OPTIONS")?;
    headers.set(
        "access-control-allow-headers",
        "content-type, if-none-match",
    )?;
    headers.set("access-control-max-age", "86400")?;
    crate::cors::apply(
        Response::empty()?.with_status(204).with_headers(headers),
        &verdict,
    )
}

/// The KV namespace holding each site's documents (config, destinations).
const KV_BINDING: &str = "CONFIG";

/// `PUT /v1/admin/sites/{site}/{what}`: stores the body as the site's KV
/// document `key(site)` only if `check` finds no problem in it (a parse error
/// is `Err`); otherwise 400 with every problem, and nothing is written.
pub async fn put_site_document(
    mut req: Request,
    env: &worker::Env,
    what: &str,
    invalid: &'static str,
    key: fn(&str) -> String,
    check: impl FnOnce(&str) -> std::result::Result<Vec<Diagnostic>, String>,
) -> Result<Response> {
    let site = match admin_site(&req, env, what)? {
        Ok(site) => site,
        Err(refusal) => return refusal.into_response(),
    };
    let text = req.text().await?;
    let problems = match check(&text) {
        Ok(problems) => problems,
        Err(e) => {
            return Refusal::new(400, "invalid_json", format!("the body is not JSON: {e}"))
                .into_response()
        }
    };
    if !problems.is_empty() {
        return Refusal::new(
            400,
            invalid,
            format!("{} problems; nothing was stored", problems.len()),
        )
        .with_problems(problems)
        .into_response();
    }
    let key = key(&site);
    env.kv(KV_BINDING)?
        .put(&key, text.clone())?
        .execute()
        .await?;
    remember(&key, Some(text));
    json_response(200, &json!({"stored": true, "site": site}))
}

/// How long this isolate reuses a site's KV documents before asking KV again.
const CONFIG_CACHE_MS: f64 = 30_000.0;

type ConfigCache = std::collections::HashMap<String, (Option<String>, f64)>;

thread_local! {
    /// A cache, not state: losing it costs one KV read, and an entry is at
    /// most 30 s older than KV (a write through this isolate refreshes it).
    static CONFIG_CACHE: std::cell::RefCell<ConfigCache> = std::cell::RefCell::new(ConfigCache::new());
}

/// The site's stored config text, if the site exists.
pub async fn site_config(env: &worker::Env, site: &str) -> Result<Option<String>> {
    cached_kv(env, &format!("config:{site}")).await
}

/// A site's KV document (config, destinations), through this isolate's cache.
pub async fn cached_kv(env: &worker::Env, key: &str) -> Result<Option<String>> {
    let now = worker::Date::now().as_millis() as f64;
    let cached = CONFIG_CACHE.with(|c| {
        c.borrow()
            .get(key)
            .filter(|(_, at)| now - at < CONFIG_CACHE_MS)
            .map(|(text, _)| text.clone())
    });
    if let Some(text) = cached {
        return Ok(text);
    }
    let text = env.kv(KV_BINDING)?.get(key).text().await?;
    remember(key, text.clone());
    Ok(text)
}

/// Records a KV document in this isolate's cache (after a write through it).
pub fn remember(key: &str, text: Option<String>) {
    let now = worker::Date::now().as_millis() as f64;
    CONFIG_CACHE.with(|c| {
        let mut cache = c.borrow_mut();
        if cache.len() > 1000 {
            cache.clear();
        }
        cache.insert(key.to_owned(), (text, now));
    });
}
