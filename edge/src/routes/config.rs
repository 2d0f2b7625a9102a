//! Campaign config: served to the agent, written by the shop's admin.

use nudge_core::{Config, Value as CoreValue};
use serde_json::{json, Value};

use worker::{Env, Headers, Request, Response, Result};

use crate::config_policy::problems;
use crate::http::limits::ADMIN_BODY_BYTES;
use crate::http::{cors, query, read_body, refuse, site_config, site_param, Handled, Refusal};

/// `GET /v1/config?site=`: the config as stored (validated on write) plus the
/// request's geography. The agent fetches it once per page, off the decision path.
/// With `program=1`, the same config compiled for the agent (`core::program`,
/// format 1): compiled once per published version, the geography written
/// per request.
pub async fn get(req: Request, env: &Env) -> Handled {
    let site = site_param(&req)?;
    let program = program_param(&req)?;
    let text = site_config(env, &site).await?;
    let verdict = cors::check(&req, &text)?;
    let (country, region) = geo(&req, env)?;
    let etag = format!(
        "\"{}{:08x}\"",
        if program { "p1-" } else { "" },
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
    if program {
        headers.set("content-type", PROGRAM_TYPE)?;
        let geo = nudge_core::config::Geo { country, region };
        let body = nudge_core::program::assemble(&geo, &compiled(&published(&text)));
        return Ok(cors::apply(
            Response::from_bytes(body)?.with_headers(headers),
            &verdict,
        )?);
    }
    headers.set("content-type", "application/json; charset=utf-8")?;
    let body = with_geo(
        &published(&text),
        &json!({"country": country, "region": region}),
    );
    Ok(cors::apply(
        Response::ok(body)?.with_headers(headers),
        &verdict,
    )?)
}

/// The program's media type; the format is also in its first bytes.
const PROGRAM_TYPE: &str = "application/vnd.nudge.program; format=1";

/// `program=1` asks for the compiled config; any other format is refused
/// with the one this edge writes, so an agent newer than its edge says why.
fn program_param(req: &Request) -> std::result::Result<bool, crate::http::EdgeError> {
    match query(req, "program")?.as_deref() {
        None => Ok(false),
        Some("1") => Ok(true),
        Some(_) => Err(refuse(
            400,
            "unsupported_program_format",
            "this edge writes program format 1 (program=1)",
        )),
    }
}

thread_local! {
    static PUBLISHED: crate::http::DerivedCache<std::rc::Rc<str>> = const { std::cell::RefCell::new(Vec::new()) };
    static COMPILED: crate::http::DerivedCache<std::rc::Rc<[u8]>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// What every browser may read of a stored config
/// ([`crate::config_policy::published`]), once per stored text.
pub fn published(stored: &str) -> std::rc::Rc<str> {
    crate::http::derived(&PUBLISHED, stored, crate::config_policy::published)
}

/// A published config compiled for the agent, once per text. The text was
/// validated when it was written; one that no longer reads compiles to a
/// program with only what reads (fail closed: fewer campaigns, never more).
fn compiled(published: &str) -> std::rc::Rc<[u8]> {
    crate::http::derived(&COMPILED, published, |text| {
        let value = serde_json::from_str::<CoreValue>(text).unwrap_or_default();
        let (config, _) = Config::from_value(&value);
        nudge_core::program::compile(&config).into()
    })
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
/// with the full list, and the stored config is unchanged. Accepted, it is a
/// new version in the site's history (`store::versions`) and goes live.
pub async fn put(
    mut req: Request,
    env: &Env,
    site: &str,
    caller: &crate::studio::session::Caller,
) -> Handled {
    let text = read_body(&mut req, ADMIN_BODY_BYTES).await?;
    crate::http::parse_core_json(&text)?;
    let problems = problems(&text);
    if !problems.is_empty() {
        return Err(Refusal::new(
            400,
            "invalid_config",
            format!("{} problems; nothing was stored", problems.len()),
        )
        .with_problems(problems)
        .into());
    }
    crate::studio::campaigns::put_config(&req, env, site, caller, text).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_program_is_the_published_config_compiled_with_the_requests_geography() {
        let stored = include_str!("../../../demo-shop/campaigns.json");
        let served = published(stored);
        let geo = nudge_core::config::Geo {
            country: Some("CA".into()),
            region: Some("QC".into()),
        };
        let bytes = nudge_core::program::assemble(&geo, &compiled(&served));
        let program = nudge_core::program::decode_config(&bytes).expect("decodes");
        assert_eq!(program.geo, geo);
        let (mut config, problems) =
            Config::from_value(&serde_json::from_str::<CoreValue>(&served).expect("JSON"));
        assert!(problems.is_empty(), "{problems:?}");
        config.geo = geo.clone();
        assert_eq!(bytes, nudge_core::program::encode_config(&config));
        // What the JSON holds back, the program holds back: a form's code.
        let welcome = program.campaigns.iter().find(|c| c.id == "welcome");
        let welcome = welcome.expect("the demo's welcome campaign");
        assert_eq!(welcome.content.coupon, None);
        assert!(welcome.content.coupon_sealed);
        assert!(
            !bytes.windows(9).any(|w| w == b"WELCOME10"),
            "no sealed code"
        );
        // Journeys and origins stay at the edge; the program is smaller
        // than the JSON every browser read.
        assert!(!bytes.windows(7).any(|w| w == b"journey"));
        assert!(
            bytes.len() < served.len(),
            "{} >= {}",
            bytes.len(),
            served.len()
        );
        // Compiled once per text: the same allocation the second time.
        assert!(std::rc::Rc::ptr_eq(&compiled(&served), &compiled(&served)));
    }

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
