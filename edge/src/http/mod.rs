//! What every route shares: JSON answers, the site parameter, bounded body
//! reading, admin authorization, rate limits and the site's KV documents.

pub mod cookie;
pub mod cors;
pub mod error;
pub mod limits;
pub mod security;

use futures_util::StreamExt;
use serde_json::Value;
use worker::{Env, Headers, Request, Response, Result};

pub use error::{refuse, EdgeError, Handled, Refusal};

use crate::keys::SiteKeys;

pub fn json_response(status: u16, body: &Value) -> Result<Response> {
    let headers = Headers::new();
    headers.set("content-type", "application/json; charset=utf-8")?;
    headers.set("cache-control", "no-store")?;
    Ok(Response::ok(body.to_string())?
        .with_status(status)
        .with_headers(headers))
}

/// 200 with `body` as JSON.
pub fn ok(body: &Value) -> Handled {
    Ok(json_response(200, body)?)
}

/// A query parameter's value.
pub fn query(req: &Request, name: &str) -> Result<Option<String>> {
    Ok(req
        .url()?
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned()))
}

/// The `site` query parameter: present and a plausible site key.
pub fn site_param(req: &Request) -> std::result::Result<String, EdgeError> {
    match query(req, "site")? {
        Some(s) if is_site_key(&s) => Ok(s),
        Some(_) => Err(refuse(
            400,
            "bad_site",
            "site must be 1-64 characters of a-z, 0-9, - and _",
        )),
        None => Err(refuse(
            400,
            "missing_site",
            "the site query parameter is required",
        )),
    }
}

pub fn is_site_key(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// The request body as text, refused with 413 past `limit` bytes whatever
/// the body claims: a declared `content-length` over the limit is refused
/// before reading, and a chunked body is read only up to the limit.
pub async fn read_body(req: &mut Request, limit: usize) -> std::result::Result<String, EdgeError> {
    let too_large = || refuse(413, "too_large", format!("the body exceeds {limit} bytes"));
    let declared = req
        .headers()
        .get("content-length")?
        .and_then(|l| l.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut bytes = Vec::with_capacity(declared.unwrap_or(0).min(limit));
    // No body at all (a GET, an empty POST) has no stream.
    if let Ok(mut stream) = req.stream() {
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            if bytes.len() + chunk.len() > limit {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
    }
    String::from_utf8(bytes).map_err(|_| refuse(400, "invalid_body", "the body is not UTF-8"))
}

/// Reads a JSON body of at most `limit` bytes.
pub async fn read_json(req: &mut Request, limit: usize) -> std::result::Result<Value, EdgeError> {
    parse_json(&read_body(req, limit).await?)
}

/// Parses untrusted JSON within core's limits (depth, keys, string length,
/// nodes: `nudge_core::limits`), the same bounds the agent reads with.
pub fn parse_core_json(text: &str) -> std::result::Result<nudge_core::Value, EdgeError> {
    serde_json::from_str(text)
        .map_err(|e| refuse(400, "invalid_json", format!("the body is not JSON: {e}")))
}

/// [`parse_core_json`], as a `serde_json` value for the routes that index into it.
pub fn parse_json(text: &str) -> std::result::Result<Value, EdgeError> {
    Ok(serde_json::to_value(parse_core_json(text)?)?)
}

/// The site's keys, or 503 when the deployment has no master key.
pub fn site_keys(env: &Env, site: &str) -> std::result::Result<SiteKeys, EdgeError> {
    SiteKeys::of(env, site).ok_or_else(|| {
        refuse(
            503,
            "not_configured",
            "this deployment has no NUDGE_MASTER_KEY secret (32 bytes or more)",
        )
    })
}

/// Preflight for cross-origin calls to the API: answered only for origins
/// the site lists. (The agent posts `text/plain`, which needs none; its
/// profile read sends the browser key header, which does.)
pub async fn preflight(req: Request, env: &Env) -> Handled {
    let site = site_param(&req)?;
    let config = site_config(env, &site).await?;
    let verdict = cors::check(&req, &config)?;
    let headers = Headers::new();
    headers.set("access-control-allow-methods", "GET, POST, OPTIONS")?;
    headers.set(
        "access-control-allow-headers",
        "content-type, if-none-match, x-nudge-browser-key",
    )?;
    headers.set("access-control-max-age", "86400")?;
    Ok(cors::apply(
        Response::empty()?.with_status(204).with_headers(headers),
        &verdict,
    )?)
}

/// What isolates keep of forms derived from a site document's text (the
/// config as published, its campaigns for the reports), by the text's
/// fingerprint: a cache, not state (losing it costs one parse).
pub type DerivedCache<T> = std::cell::RefCell<Vec<(u32, T)>>;

/// `derive(text)`, through `cache` (the 16 most recent texts).
pub fn derived<T: Clone>(
    cache: &'static std::thread::LocalKey<DerivedCache<T>>,
    text: &str,
    derive: impl FnOnce(&str) -> T,
) -> T {
    let fingerprint = nudge_core::bucket::fingerprint(&[text]);
    let hit = cache.with(|c| {
        c.borrow()
            .iter()
            .find(|(f, _)| *f == fingerprint)
            .map(|(_, value)| value.clone())
    });
    if let Some(hit) = hit {
        return hit;
    }
    let value = derive(text);
    cache.with(|c| {
        let mut cache = c.borrow_mut();
        if cache.len() >= 16 {
            cache.remove(0);
        }
        cache.push((fingerprint, value.clone()));
    });
    value
}

/// The KV namespace holding each site's documents (config, destinations).
pub const KV_BINDING: &str = "CONFIG";

/// How long this isolate reuses a site's KV documents before asking KV again.
const CONFIG_CACHE_MS: f64 = 30_000.0;

type ConfigCache = std::collections::HashMap<String, (Option<String>, f64)>;

thread_local! {
    /// A cache, not state: losing it costs one KV read, and an entry is at
    /// most 30 s older than KV (a write through this isolate refreshes it).
    static CONFIG_CACHE: std::cell::RefCell<ConfigCache> = std::cell::RefCell::new(ConfigCache::new());
}

/// The site's stored config text; 404 for a site that does not exist.
pub async fn site_config(env: &Env, site: &str) -> std::result::Result<String, EdgeError> {
    cached_kv(env, &format!("config:{site}"))
        .await?
        .ok_or_else(|| refuse(404, "unknown_site", format!("no site {site}")))
}

/// A site's KV document (config, destinations), through this isolate's cache.
pub async fn cached_kv(env: &Env, key: &str) -> Result<Option<String>> {
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
            // Misses first: requests naming random sites must not push the
            // real sites' documents out of the cache.
            cache.retain(|_, (text, _)| text.is_some());
            if cache.len() > 1000 {
                cache.clear();
            }
        }
        cache.insert(key.to_owned(), (text, now));
    });
}

/// Stores `text` as the site's KV document `key` (after validation).
pub async fn store_site_document(env: &Env, key: &str, text: String) -> Result<()> {
    env.kv(KV_BINDING)?
        .put(key, text.clone())?
        .execute()
        .await?;
    remember(key, Some(text));
    Ok(())
}
