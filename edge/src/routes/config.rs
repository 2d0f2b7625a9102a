//! Campaign config: served to the agent, written by the shop's admin.

use nudge_core::{Config, Diagnostic, Value as CoreValue};
use serde_json::{json, Value};

use worker::{Env, Headers, Request, Response, Result};

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

/// The parts of a config only the edge reads: journeys (their events, pool
/// names and audiences are the shop's business, not every visitor's) and
/// the messaging rules they share. Browsers never download them.
const EDGE_ONLY: &[&str] = &["journeys", "messaging_caps", "quiet_hours"];

/// What every browser may read of a stored config: the same text, except
/// that a form's coupon code is held back (`coupon_sealed`; the code is given
/// in the answer to the sign-up, `routes::identity`) and the edge-only parts
/// are left out. Text with neither is served byte for byte.
pub fn published(stored: &str) -> std::rc::Rc<str> {
    crate::http::derived(&PUBLISHED, stored, |stored| {
        let Ok(mut config) = serde_json::from_str::<CoreValue>(stored) else {
            return stored.into();
        };
        let mut changed = seal_coupons(&mut config);
        if let CoreValue::Object(root) = &mut config {
            for key in EDGE_ONLY {
                changed |= root.remove(key).is_some();
            }
        }
        if changed {
            config.to_json().into()
        } else {
            stored.into()
        }
    })
}

/// Removes the coupon of every content (campaign or variant) that has a form
/// or inherits one, marking it `coupon_sealed`; true if any was.
pub fn seal_coupons(config: &mut CoreValue) -> bool {
    fn seal(content: &mut nudge_core::Map, has_form: bool) -> bool {
        if has_form && content.remove("coupon").is_some() {
            content.insert("coupon_sealed", true);
            return true;
        }
        false
    }
    let mut sealed = false;
    let CoreValue::Object(root) = config else {
        return false;
    };
    let Some(CoreValue::Array(campaigns)) = root.get_mut("campaigns") else {
        return false;
    };
    for campaign in campaigns.iter_mut() {
        let CoreValue::Object(campaign) = campaign else {
            continue;
        };
        let base_form =
            matches!(campaign.get("content"), Some(CoreValue::Object(c)) if c.contains_key("form"));
        if let Some(CoreValue::Object(content)) = campaign.get_mut("content") {
            sealed |= seal(content, base_form);
        }
        if let Some(CoreValue::Array(variants)) = campaign.get_mut("variants") {
            for variant in variants.iter_mut() {
                let CoreValue::Object(variant) = variant else {
                    continue;
                };
                if let Some(CoreValue::Object(content)) = variant.get_mut("content") {
                    let form = base_form || content.contains_key("form");
                    sealed |= seal(content, form);
                }
            }
        }
    }
    sealed
}

/// The coupon a sign-up in `campaign` (arm `variant`, if any) reveals.
pub fn sealed_coupon(stored: &str, campaign: &str, variant: Option<&str>) -> Option<String> {
    let config: CoreValue = serde_json::from_str(stored).ok()?;
    let found = config
        .get("campaigns")?
        .as_array()?
        .iter()
        .find(|c| c.get("id").and_then(CoreValue::as_str) == Some(campaign))?;
    let content = found.get("content")?;
    content.get("form")?;
    let arm = variant.and_then(|key| {
        found
            .get("variants")?
            .as_array()?
            .iter()
            .find(|v| v.get("key").and_then(CoreValue::as_str) == Some(key))?
            .get("content")?
            .get("coupon")
    });
    arm.or_else(|| content.get("coupon"))?
        .as_str()
        .map(str::to_owned)
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

/// Every problem with a config text: not JSON (within core's limits), core's
/// diagnostics, and personal data in targeting.
pub fn problems(text: &str) -> Vec<Diagnostic> {
    match serde_json::from_str::<CoreValue>(text) {
        Ok(value) => {
            let mut problems = Config::validate(&value);
            // Journeys run at the edge only: the agent skips them, the edge checks them.
            problems.extend(nudge_core::journey::validate(&value));
            problems.extend(personal_data(&value));
            problems
        }
        Err(e) => vec![Diagnostic::error("", format!("not JSON: {e}"))],
    }
}

/// Email addresses and phone numbers in the parts of a config that target
/// people (saved groups, audiences). The config is sent to every visitor's
/// browser, so a list of customers' addresses there would be published to
/// all of them: refused, with where. (People the edge knows are targeted
/// through the segments `/v1/profile` gives each browser about itself.)
fn personal_data(config: &CoreValue) -> Vec<Diagnostic> {
    fn walk(value: &CoreValue, path: &str, targeting: bool, out: &mut Vec<Diagnostic>) {
        match value {
            CoreValue::String(s) if targeting => {
                let email = s.contains('@') && nudge_core::capture::normalize_email(s).is_ok();
                let digits = s.bytes().filter(u8::is_ascii_digit).count();
                let phone = s.trim_start().starts_with('+')
                    && digits >= 8
                    && nudge_core::capture::normalize_phone(s).is_ok();
                if email || phone {
                    let what = if email {
                        "an email address"
                    } else {
                        "a phone number"
                    };
                    out.push(Diagnostic::error(
                        path,
                        format!(
                            "is {what}: the config is sent to every visitor's browser, so targeting \
                             may not name people; use the segments the edge gives each browser"
                        ),
                    ));
                }
            }
            CoreValue::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(item, &format!("{path}[{i}]"), targeting, out);
                }
            }
            CoreValue::Object(map) => {
                for (key, item) in map.iter() {
                    let inside = targeting || key == "audience" || key == "saved_groups";
                    let at = if path.is_empty() {
                        key.to_owned()
                    } else {
                        format!("{path}.{key}")
                    };
                    walk(item, &at, inside, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(config, "", false, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journeys_are_checked_with_the_config() {
        let config = r#"{"campaigns": [], "journeys": [{"id": "cart", "entry": {"event": "Product Added"},
            "steps": [{"wait": {"hours": 100000}}, {"send": {"destination": "email", "event": "Cart Abandoned"}}]}]}"#;
        let found = problems(config);
        assert!(
            found
                .iter()
                .any(|p| p.path == "journeys[0].steps[0].wait.hours"),
            "{found:?}"
        );
        let fixed = config.replace("100000", "4");
        assert!(problems(&fixed).is_empty(), "{:?}", problems(&fixed));
    }

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
    fn a_form_coupon_is_held_back_and_given_for_its_campaign() {
        let stored = r#"{"campaigns": [
            {"id": "welcome", "content": {"layout": "modal", "title": "Hi", "form": {"field": "email"}, "coupon": "WELCOME10"},
             "variants": [{"key": "a", "content": {"coupon": "ARM-A"}}, {"key": "b", "content": {"title": "B"}}]},
            {"id": "banner", "content": {"layout": "bar", "title": "Code SHOWN5", "coupon": "SHOWN5"}}]}"#;
        let served = published(stored);
        assert!(
            !served.contains("WELCOME10") && !served.contains("ARM-A"),
            "{served}"
        );
        assert!(
            served.contains("SHOWN5"),
            "a coupon shown without a form is the campaign's text"
        );
        assert_eq!(served.matches("\"coupon_sealed\":true").count(), 2);
        // Key order is kept (JSON-equality conditions depend on it).
        assert!(served.find("\"welcome\"") < served.find("\"banner\""));
        assert_eq!(
            sealed_coupon(stored, "welcome", None).as_deref(),
            Some("WELCOME10")
        );
        assert_eq!(
            sealed_coupon(stored, "welcome", Some("a")).as_deref(),
            Some("ARM-A")
        );
        assert_eq!(
            sealed_coupon(stored, "welcome", Some("b")).as_deref(),
            Some("WELCOME10")
        );
        assert_eq!(
            sealed_coupon(stored, "banner", None),
            None,
            "no form, nothing to give"
        );
        assert_eq!(sealed_coupon(stored, "nope", None), None);
        // The demo config as served still reads, with its welcome coupon held back.
        let demo = include_str!("../../../demo-shop/campaigns.json");
        let served: CoreValue = serde_json::from_str(&published(demo)).unwrap();
        assert!(nudge_core::Config::validate(&served).is_empty());
        assert!(!published(demo).contains("WELCOME10"));
    }

    #[test]
    fn targeting_may_not_name_people() {
        let config: CoreValue = serde_json::from_str(
            r#"{"saved_groups": {"vips": ["ada@example.com", "u-1"]},
                "campaigns": [{"id": "c", "audience": {"$or": [{"traits.phone": "+1 555 123 4567"}, {"country": "CA"}]},
                               "content": {"title": "Write to help@shop.example"}}]}"#,
        )
        .unwrap();
        let paths: Vec<String> = personal_data(&config).into_iter().map(|p| p.path).collect();
        assert_eq!(
            paths,
            [
                "saved_groups.vips[0]",
                "campaigns[0].audience.$or[0].traits.phone"
            ],
            "content texts may mention the shop's own address"
        );
        let demo: CoreValue =
            serde_json::from_str(include_str!("../../../demo-shop/campaigns.json")).unwrap();
        assert!(personal_data(&demo).is_empty());
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
