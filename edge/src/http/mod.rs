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

use crate::keys::{Generations, SiteKeys};
use crate::store::protocol::ReadKeys;

/// `status` with `body` as JSON (a `Value` or a store's typed answer).
pub fn json_response<T: serde::Serialize + ?Sized>(status: u16, body: &T) -> Result<Response> {
    let headers = Headers::new();
    headers.set("content-type", "application/json; charset=utf-8")?;
    headers.set("cache-control", "no-store")?;
    Ok(Response::ok(serde_json::to_string(body)?)?
        .with_status(status)
        .with_headers(headers))
}

/// 200 with `body` as JSON.
pub fn ok<T: serde::Serialize + ?Sized>(body: &T) -> Handled {
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
    // A declared length within the limit is read in one call: the runtime
    // reads no more than it (streaming a small body chunk by chunk cost
    // about a sixth of `/v1/events`' CPU in locks and reads, BENCHMARKS §5).
    // Not when a transfer coding is named too: then the length is not what
    // frames the body, so it is streamed and counted. Checked again all the same.
    let coded = req.headers().get("transfer-encoding")?.is_some();
    let mut bytes = Vec::new();
    if let (Some(length), false) = (declared, coded) {
        bytes = req.bytes().await?;
        if bytes.len() > limit {
            return Err(too_large());
        }
        if bytes.len() != length {
            return Err(refuse(
                400,
                "invalid_body",
                "the body's length is not its content-length",
            ));
        }
    } else if let Ok(mut stream) = req.stream() {
        // (No body at all, a GET or an empty POST, has no stream.)
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

fn master_key(env: &Env) -> std::result::Result<String, EdgeError> {
    crate::keys::master(env)
        .filter(|m| m.len() >= 32)
        .ok_or_else(|| {
            refuse(
                503,
                "not_configured",
                "this deployment has no NUDGE_MASTER_KEY secret (32 bytes or more)",
            )
        })
}

/// How long this isolate reuses a site's key generations on the hot paths
/// (events, identify, webhooks) before asking its store again.
const GENERATIONS_CACHE_MS: f64 = 60_000.0;
/// A proof the cached keys refuse asks the store again, at most this often.
const REFRESH_AFTER_MISS_MS: f64 = 2_000.0;

type GenerationsCache = std::collections::HashMap<String, (Generations, f64)>;

thread_local! {
    /// A cache, not state: the store holds the generations. Entries are at
    /// most a minute old; a proof the cached keys refuse reads them anew, so
    /// a new key works at once everywhere, and an old key whose window ended
    /// (or an admin token rotated through another isolate) can pass here for
    /// at most that minute. Admin routes and sign-in never use it.
    static GENERATIONS: std::cell::RefCell<GenerationsCache> = std::cell::RefCell::new(GenerationsCache::new());
}

fn now_ms() -> f64 {
    worker::Date::now().as_millis() as f64
}

/// Records a site's generations in this isolate's cache (after a read or a rotation).
pub fn remember_generations(site: &str, generations: &Generations) {
    GENERATIONS.with(|c| {
        let mut cache = c.borrow_mut();
        if cache.len() > 1000 {
            cache.clear();
        }
        cache.insert(site.to_owned(), (generations.clone(), now_ms()));
    });
}

fn keys_at(
    master: &str,
    site: &str,
    generations: &Generations,
) -> std::result::Result<SiteKeys, EdgeError> {
    SiteKeys::at(master, site, generations, now_ms() as i64).ok_or_else(|| {
        refuse(
            503,
            "not_configured",
            "this deployment has no NUDGE_MASTER_KEY secret (32 bytes or more)",
        )
    })
}

/// The site's keys at its generations as its store holds them now, and
/// whether `session` (a studio session id) was revoked: one store call.
pub async fn site_keys_fresh(
    env: &Env,
    site: &str,
    session: Option<&str>,
) -> std::result::Result<(SiteKeys, bool), EdgeError> {
    let master = master_key(env)?;
    let read = ReadKeys {
        session: session.map(str::to_owned),
    };
    let state = crate::store::call(env, site, &read).await?;
    remember_generations(site, &state.generations);
    Ok((
        keys_at(&master, site, &state.generations)?,
        state.session_revoked,
    ))
}

/// The keys that check a request's proof before anything else touches the
/// site's store: from the store for a site with a config; at generation 0
/// for a site without one (rotating needs a config, so it has never
/// rotated), reading no store, so an unproven request naming a made-up site
/// cannot make that site's Durable Object.
pub async fn site_keys_for_proof(
    env: &Env,
    site: &str,
) -> std::result::Result<SiteKeys, EdgeError> {
    if cached_kv(env, &format!("config:{site}")).await?.is_none() {
        return site_keys_unrotated(env, site);
    }
    Ok(site_keys_fresh(env, site, None).await?.0)
}

/// The site's keys at generation 0, computed from the master key alone: for
/// keys that never rotate (the studio sessions' signing key) and sites that
/// have no config.
pub fn site_keys_unrotated(env: &Env, site: &str) -> std::result::Result<SiteKeys, EdgeError> {
    keys_at(&master_key(env)?, site, &Generations::default())
}

/// The site's keys for the hot paths, through this isolate's cache of its
/// generations (a minute); 503 when the deployment has no master key.
pub async fn site_keys(env: &Env, site: &str) -> std::result::Result<SiteKeys, EdgeError> {
    let master = master_key(env)?;
    let now = now_ms();
    let cached = GENERATIONS.with(|c| {
        c.borrow()
            .get(site)
            .filter(|(_, at)| now - at < GENERATIONS_CACHE_MS)
            .map(|(generations, _)| generations.clone())
    });
    match cached {
        Some(generations) => keys_at(&master, site, &generations),
        None => Ok(site_keys_fresh(env, site, None).await?.0),
    }
}

/// After the cached keys refused a proof: the store's keys, if the cache is
/// old enough to be worth asking again (a rotation through another isolate),
/// else `None` (the refusal stands; floods of bad proofs cost one read per 2 s).
pub async fn site_keys_after_miss(
    env: &Env,
    site: &str,
) -> std::result::Result<Option<SiteKeys>, EdgeError> {
    let now = now_ms();
    let recent = GENERATIONS.with(|c| {
        c.borrow()
            .get(site)
            .is_some_and(|(_, at)| now - at < REFRESH_AFTER_MISS_MS)
    });
    if recent {
        return Ok(None);
    }
    Ok(Some(site_keys_fresh(env, site, None).await?.0))
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
/// config as published, its campaigns for the reports), with the text: a
/// cache, not state (losing it costs one parse). Shared by every site the
/// isolate serves, so a hit is the same text, never only the same
/// fingerprint (a 32-bit FNV collision is cheap to craft: a tenant must not
/// get its config served as another's).
pub type DerivedCache<T> = std::cell::RefCell<Vec<(u32, std::rc::Rc<str>, T)>>;

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
            .find(|(f, cached, _)| *f == fingerprint && **cached == *text)
            .map(|(_, _, value)| value.clone())
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
        cache.push((fingerprint, text.into(), value.clone()));
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

/// `?before=&after=&limit=` of a list endpoint.
pub fn page(req: &Request) -> std::result::Result<crate::store::protocol::Page, EdgeError> {
    let number = |name: &str| -> std::result::Result<Option<i64>, EdgeError> {
        match query(req, name)? {
            None => Ok(None),
            Some(text) => text.parse().map(Some).map_err(|_| {
                refuse(
                    400,
                    "invalid_request",
                    format!("{name} must be a whole number"),
                )
            }),
        }
    };
    Ok(crate::store::protocol::Page {
        before: number("before")?,
        after: number("after")?,
        limit: number("limit")?
            .map(|n| n.clamp(1, i64::from(crate::store::protocol::Page::MAX)) as u32),
    })
}
