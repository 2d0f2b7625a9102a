//! The studio's way to the site's config versions (`store::versions`): one
//! call for every studio action, the live config in an answer, going live
//! (the new version copied to KV), and the `If-Match` every write carries.
//! Below the studio's handlers (`campaigns`, `drafts`, `preview`), which
//! share it.

use serde_json::{json, Value};
use worker::{Env, Request};

use super::session::Caller;
use crate::http::{cached_kv, ok, read_json, refuse, EdgeError, Handled};
use crate::store::protocol::{AdoptConfig, Head, Item, NewVersion, Overview, Studio, StudioAsk};

fn config_key(site: &str) -> String {
    format!("config:{site}")
}

/// Runs a studio action in the site's store.
pub async fn call<A: StudioAsk>(
    env: &Env,
    site: &str,
    caller: &Caller,
    action: A,
) -> Result<A::Answer, EdgeError> {
    let live = cached_kv(env, &config_key(site)).await?;
    let studio = Studio {
        live,
        by: caller.who.clone(),
        action,
    };
    Ok(crate::store::call(env, site, &studio).await?)
}

/// Copies a new live version to KV and answers `{version, at, by}`. Two
/// publishes at once may reach KV in either order, so once this one is
/// written, a newer head (if any) is written again: KV ends on the newest.
pub async fn go_live(env: &Env, site: &str, caller: &Caller, new: NewVersion) -> Handled {
    let spread = crate::store::shard_map(env)?.objects() > 1;
    let mut live = (new.version, spread.then(|| new.config.clone()));
    crate::http::store_site_document(env, &config_key(site), new.config).await?;
    let head = call(env, site, caller, Head {}).await?;
    if head.version != new.version {
        let newest = call(env, site, caller, Overview {}).await?;
        if let Some(text) = newest.config {
            live = (newest.version, spread.then(|| text.clone()));
            crate::http::store_site_document(env, &config_key(site), text).await?;
        }
    }
    // Every object of the site runs journeys on the live config (each
    // reads its newest version, as the home does).
    if let (version, Some(config)) = live {
        crate::store::call(env, site, &AdoptConfig { version, config }).await?;
    }
    ok(&json!({"version": new.version, "at": iso(new.at), "by": new.by}))
}

/// A store answer's time (ms since 1970) in ISO 8601.
pub fn iso(ms: i64) -> String {
    nudge_core::time::to_iso8601(ms)
}

/// The live config of a store answer (its text), or an empty one.
pub fn config_of(text: Option<&str>) -> Value {
    text.and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or_else(|| json!({"version": 1, "campaigns": []}))
}

/// The number in `If-Match: "3"` (or `W/"3"`); 428 without one.
pub fn if_match(req: &Request) -> Result<i64, EdgeError> {
    let header = req.headers().get("if-match")?.ok_or_else(|| {
        refuse(
            428,
            "precondition_required",
            "send If-Match with the revision or version you edited, so nobody's work is overwritten",
        )
    })?;
    header
        .trim()
        .trim_start_matches("W/")
        .trim_matches('"')
        .parse()
        .map_err(|_| {
            refuse(
                400,
                "bad_if_match",
                "If-Match must be a quoted number, e.g. \"3\"",
            )
        })
}

/// Campaign and journey ids share core's rule.
pub fn check_id(item: &Item) -> Result<(), EdgeError> {
    let id = item.id();
    let ok = (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        let noun = item.noun();
        let code = match item {
            Item::Campaign(_) => "bad_campaign_id",
            Item::Journey(_) => "bad_journey_id",
        };
        Err(refuse(
            400,
            code,
            format!("a {noun} id is 1-64 characters of a-z, A-Z, 0-9, - and _"),
        ))
    }
}

/// A write's `If-Match` number and small JSON body.
pub async fn matched_body(req: &mut Request, item: &Item) -> Result<(i64, Value), EdgeError> {
    check_id(item)?;
    let expected = if_match(req)?;
    let body = read_json(req, crate::http::limits::SMALL_BODY_BYTES).await?;
    Ok((expected, body))
}
