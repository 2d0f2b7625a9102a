//! Campaign config: served to the agent, written by the shop's admin.

use nudge_core::{Config, Value as CoreValue};
use serde_json::{json, Value};

use worker::{Env, Headers, Request, Response, Result};

use crate::http::{cors, site_config, site_param, Handled};

fn key(site: &str) -> String {
    format!("config:{site}")
}

/// `GET /v1/config?site=`: the config as stored (validated on write) plus the
/// request's geography. The agent fetches it once per page, off the decision path.
pub async fn get(req: Request, env: &Env) -> Handled {
    let site = site_param(&req)?;
    let text = site_config(env, &site).await?;
    let verdict = cors::check(&req, &text)?;
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
        return Ok(cors::apply(
            Response::empty()?.with_status(304).with_headers(headers),
            &verdict,
        )?);
    }
    headers.set("content-type", "application/json; charset=utf-8")?;
    let body = with_geo(&text, &json!({"country": country, "region": region}));
    Ok(cors::apply(
        Response::ok(body)?.with_headers(headers),
        &verdict,
    )?)
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

/// `PUT /v1/admin/sites/{site}/config`: the whole config is validated
/// first (core's diagnostics, core's input limits); any problem refuses it
/// with the full list, and the stored config is unchanged.
pub async fn put(req: Request, env: &Env, site: &str) -> Handled {
    super::admin::put_document(req, env, &key(site), "invalid_config", |text| {
        let value: CoreValue = serde_json::from_str(text).map_err(|e| e.to_string())?;
        Ok(Config::validate(&value))
    })
    .await
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
}
