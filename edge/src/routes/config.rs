//! Campaign config: served to the agent, written by the shop's admin.

use nudge_core::program::Format;
use nudge_core::{Config, Value as CoreValue};
use serde_json::{json, Value};

use worker::{Env, Headers, Request, Response, Result};

use crate::config_policy::problems;
use crate::http::limits::ADMIN_BODY_BYTES;
use crate::http::{cors, query, read_body, refuse, site_config, site_param, Handled, Refusal};

/// `GET /v1/config?site=`: the config as stored (validated on write) plus the
/// request's geography. The agent fetches it once per page, off the decision path.
/// With `program=<format>`, the same config compiled for the agent
/// (`core::program`): compiled once per published version and format, the
/// geography written per request. Format 2 is what this build's agent asks
/// for; format 1 is still served to agents of the previous build, which
/// visitors' caches keep running for a while after a deploy.
pub async fn get(req: Request, env: &Env) -> Handled {
    let site = site_param(&req)?;
    let program = program_param(&req)?;
    let text = site_config(env, &site).await?;
    let verdict = cors::check(&req, &text)?;
    let (country, region) = geo(&req, env)?;
    let etag = format!(
        "\"{}{:08x}\"",
        match program {
            None => "",
            Some(Format::Inline) => "p1-",
            Some(Format::Packed) => "p2-",
        },
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
    if let Some(format) = program {
        headers.set("content-type", program_type(format))?;
        let geo = nudge_core::config::Geo { country, region };
        let compiled = compiled(&published(&text), format);
        let body = nudge_core::program::assemble(format, &geo, &compiled);
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
fn program_type(format: Format) -> &'static str {
    match format {
        Format::Inline => "application/vnd.nudge.program; format=1",
        Format::Packed => "application/vnd.nudge.program; format=2",
    }
}

/// `program=<format>` asks for the compiled config; a format this edge does
/// not write is refused with the ones it does, so an agent newer than its
/// edge says why.
fn program_param(req: &Request) -> std::result::Result<Option<Format>, crate::http::EdgeError> {
    match query(req, "program")?.as_deref() {
        None => Ok(None),
        Some(n) => match Format::from_number(n) {
            Some(format) => Ok(Some(format)),
            None => Err(refuse(
                400,
                "unsupported_program_format",
                "this edge writes program formats 1 and 2 (program=2)",
            )),
        },
    }
}

thread_local! {
    static PUBLISHED: crate::http::DerivedCache<std::rc::Rc<str>> = const { std::cell::RefCell::new(Vec::new()) };
    static COMPILED: crate::http::DerivedCache<std::rc::Rc<[u8]>> = const { std::cell::RefCell::new(Vec::new()) };
    static COMPILED_INLINE: crate::http::DerivedCache<std::rc::Rc<[u8]>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// What every browser may read of a stored config
/// ([`crate::config_policy::published`]), once per stored text.
pub fn published(stored: &str) -> std::rc::Rc<str> {
    crate::http::derived(&PUBLISHED, stored, crate::config_policy::published)
}

/// A published config compiled for the agent, once per text and format.
/// The text was validated when it was written; one that no longer reads
/// compiles to a program with only what reads (fail closed: fewer
/// campaigns, never more).
fn compiled(published: &str, format: Format) -> std::rc::Rc<[u8]> {
    let cache = match format {
        Format::Packed => &COMPILED,
        Format::Inline => &COMPILED_INLINE,
    };
    crate::http::derived(cache, published, |text| {
        let value = serde_json::from_str::<CoreValue>(text).unwrap_or_default();
        let (config, _) = Config::from_value(&value);
        nudge_core::program::compile(&config, format).into()
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
        let packed = compiled(&served, Format::Packed);
        let bytes = nudge_core::program::assemble(Format::Packed, &geo, &packed);
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
        let content = nudge_core::program::decode_content(&welcome.content.bytes).expect("reads");
        assert_eq!(content.coupon, None);
        assert!(content.coupon_sealed);
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
        let once = |format| compiled(&served, format);
        assert!(std::rc::Rc::ptr_eq(
            &once(Format::Packed),
            &once(Format::Packed)
        ));
        assert!(std::rc::Rc::ptr_eq(
            &once(Format::Inline),
            &once(Format::Inline)
        ));
        // The previous build's agents get format 1, as that build wrote it.
        let mut inline = nudge_core::program::assemble(Format::Inline, &geo, &once(Format::Inline));
        assert_eq!(inline[4], 1);
        inline[4] = 2;
        assert!(
            nudge_core::program::decode_config(&inline).is_err(),
            "not format 2 in disguise"
        );
    }

    #[test]
    fn the_loader_asks_for_the_format_this_builds_agent_reads() {
        let loader = include_str!("../../../agent/loader/nudge.js");
        let asks = format!("\"program={}\"", nudge_core::program::FORMAT);
        assert!(
            loader.contains(&asks),
            "agent/loader/nudge.js asks with {asks}"
        );
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
