//! Campaign config: served to the agent, written by the shop's admin.

use nudge_core::{Config, Value as CoreValue};
use serde_json::{json, Value};

use worker::{Env, Headers, Request, Response, Result};

use crate::http::{site_param, Refusal};

fn key(site: &str) -> String {
    format!("config:{site}")
}

/// `GET /v1/config?site=`: the config as stored (validated on write) plus the
/// request's geography. The agent fetches it once per page, off the decision path.
pub async fn get(req: Request, env: &Env) -> Result<Response> {
    let site = match site_param(&req) {
        Ok(site) => site,
        Err(refusal) => return refusal.into_response(),
    };
    let Some(text) = crate::http::site_config(env, &site).await? else {
        return Refusal::new(404, "unknown_site", format!("no config for site {site}"))
            .into_response();
    };
    let verdict = match crate::cors::check(&req, &text)? {
        Ok(verdict) => verdict,
        Err(refusal) => return refusal.into_response(),
    };
    let (country, region) = geo(&req, env)?;
    let etag = format!(
        "\"{:08x}\"",
        nudge_core::bucket::fingerprint(&[
            &text,
            country.as_deref().unwrap_or(""),
            region.as_deref().unwrap_or("")
        ])
    );
    let headers = Headers::new();
    headers.set("etag", &etag)?;
    // Private: the body carries this visitor's geography.
    headers.set(
        "cache-control",
        "private, max-age=60, stale-while-revalidate=600",
    )?;
    if req.headers().get("if-none-match")?.as_deref() == Some(etag.as_str()) {
        return crate::cors::apply(
            Response::empty()?.with_status(304).with_headers(headers),
            &verdict,
        );
    }
    headers.set("content-type", "application/json; charset=utf-8")?;
    let body = with_geo(&text, &json!({"country": country, "region": region}));
    crate::cors::apply(Response::ok(body)?.with_headers(headers), &verdict)
}

/// The stored config text with `"geo"` added as its last member (so it wins
/// over any stored one): spliced, not re-serialized, so the marketer's key
/// order (which JSON-equality conditions depend on) is kept byte for byte.
fn with_geo(stored: &str, geo: &Value) -> String {
    let body = stored.trim_end();
    let inner = body.strip_suffix('}').unwrap_or(body).trim_end();
    let separator = if inner.trim_start() == "{" { "" } else { "," };
    format!("{inner}{separator}\"geo\":{geo}}}")
}

/// Country and region from Cloudflare's request data. Local development and
/// tests may override them with `x-nudge-geo-country` / `-region` headers,
/// honoured only when the Worker runs with `GEO_OVERRIDE=allow`.
fn geo(req: &Request, env: &Env) -> Result<(Option<String>, Option<String>)> {
    let override_allowed = env
        .var("GEO_OVERRIDE")
        .map(|v| v.to_string() == "allow")
        .unwrap_or(false);
    if override_allowed {
        let country = req.headers().get("x-nudge-geo-country")?;
        if country.is_some() {
            return Ok((
                country.map(|c| c.to_ascii_uppercase()),
                req.headers().get("x-nudge-geo-region")?,
            ));
        }
    }
    Ok(req
        .cf()
        .map_or((None, None), |cf| (cf.country(), cf.region())))
}

/// `PUT /v1/admin/sites/{site}/config` with `Authorization: Bearer <ADMIN_TOKEN>`.
/// The whole config is validated first; any problem refuses it with the full
/// list, and the stored config is unchanged.
pub async fn put(req: Request, env: &Env) -> Result<Response> {
    crate::http::put_site_document(req, env, "config", "invalid_config", key, |text| {
        let value: CoreValue = serde_json::from_str(text).map_err(|e| e.to_string())?;
        Ok(Config::validate(&value))
    })
    .await
}

pub fn authorized(req: &Request, env: &Env) -> Result<bool> {
    let Ok(secret) = env.secret("ADMIN_TOKEN") else {
        // No secret configured: admin writes are off.
        return Ok(false);
    };
    let expected = format!("Bearer {secret}");
    let given = req.headers().get("authorization")?.unwrap_or_default();
    Ok(constant_time_eq(given.as_bytes(), expected.as_bytes()))
}

/// Compares without an early exit, so timing does not reveal the prefix that matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geo_is_spliced_last_keeping_order() {
        let geo = json!({"country": "CA", "region": null});
        assert_eq!(
            with_geo("{\"z\":1,\"a\":2}\n", &geo),
            r#"{"z":1,"a":2,"geo":{"country":"CA","region":null}}"#
        );
        assert_eq!(
            with_geo("{ }", &geo),
            r#"{"geo":{"country":"CA","region":null}}"#
        );
    }

    #[test]
    fn tokens_compare_fully() {
        assert!(constant_time_eq(b"Bearer abc", b"Bearer abc"));
        assert!(!constant_time_eq(b"Bearer abd", b"Bearer abc"));
        assert!(!constant_time_eq(b"Bearer ab", b"Bearer abc"));
    }
}
