//! Preview on the real shop: an editor asks for a signed link
//! (`…?nudge_preview=<token>`, valid 24 hours) to a campaign's draft (or live
//! version), optionally one variant, optionally ignoring targeting and caps.
//! The agent that sees it fetches `GET /v1/preview` and shows that campaign
//! in that browser tab only, sending no events (so nothing counts in reports).
//!
//! The token is `p1.<base64url JSON {s: site, c: campaign, src, v: variant,
//! i: ignore targeting, e: expiry ms}>.<HMAC(site's studio key)>`: it names
//! what to show, not the content, so the tab sees the draft as it is now.

use serde_json::{json, Value};
use worker::{Env, Headers, Request, Response};

use super::live::call;
use super::session::Caller;
use crate::http::limits::SMALL_BODY_BYTES;
use crate::http::{cors, query, read_json, refuse, site_config, site_keys, site_param};
use crate::http::{EdgeError, Handled};
use crate::keys::{open_claims, seal_claims, SiteKeys};
use crate::store::protocol::{Draft, Item, Overview};

const LINK_MS: i64 = 24 * 3600 * 1000;

/// What a preview link's signature is for (see `keys::seal_claims`).
const PREVIEW_PURPOSE: &str = "preview";

fn mint(keys: &SiteKeys, claims: &Value) -> String {
    format!("p1.{}", seal_claims(&keys.studio, PREVIEW_PURPOSE, claims))
}

/// The claims a token proves for `site` at `now`.
fn read(keys: &SiteKeys, site: &str, token: &str, now: i64) -> Result<Value, EdgeError> {
    let invalid = || {
        refuse(
            403,
            "invalid_preview",
            "this preview link is not valid for this shop",
        )
    };
    let claims = token
        .strip_prefix("p1.")
        .and_then(|sealed| open_claims(&keys.studio, PREVIEW_PURPOSE, sealed))
        .ok_or_else(invalid)?;
    if claims["s"] != site {
        return Err(invalid());
    }
    if claims["e"].as_i64().is_none_or(|expiry| expiry <= now) {
        return Err(refuse(
            410,
            "preview_expired",
            "this preview link has expired; ask for a new one in the studio",
        ));
    }
    Ok(claims)
}

/// A path on the shop: absolute, not protocol-relative, no control characters.
fn shop_path(path: Option<&str>) -> Result<String, EdgeError> {
    let path = path.unwrap_or("/");
    let ok = path.starts_with('/')
        && !path.starts_with("//")
        && path.len() <= 500
        && !path
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '\\');
    if ok {
        Ok(path.to_owned())
    } else {
        Err(refuse(
            400,
            "invalid_request",
            "path must be a page of the shop, like /cart",
        ))
    }
}

/// `POST campaigns/{id}/preview-link` `{source, variant?, ignore_targeting, path?}`.
pub async fn link(mut req: Request, env: &Env, site: &str, caller: &Caller, id: &str) -> Handled {
    let body = read_json(&mut req, SMALL_BODY_BYTES).await?;
    let source = match body["source"].as_str().unwrap_or("draft") {
        s @ ("draft" | "live") => s,
        _ => {
            return Err(refuse(
                400,
                "invalid_request",
                "source is \"draft\" or \"live\"",
            ))
        }
    };
    let variant = body["variant"].as_str().filter(|v| !v.is_empty());
    if variant.is_some_and(|v| v.len() > 64) {
        return Err(refuse(400, "invalid_request", "variant is a variant's key"));
    }
    let path = shop_path(body["path"].as_str())?;
    // The campaign must exist where the link points.
    let campaign = campaign_at(env, site, caller, id, source).await?;
    if let Some(variant) = variant {
        let known = campaign["variants"]
            .as_array()
            .is_some_and(|list| list.iter().any(|v| v["key"] == variant));
        if !known {
            return Err(refuse(
                400,
                "invalid_request",
                format!("campaign {id} has no variant {variant:?}"),
            ));
        }
    }
    let keys = site_keys(env, site).await?;
    let expires = worker::Date::now().as_millis() as i64 + LINK_MS;
    let token = mint(
        &keys,
        &json!({"s": site, "c": id, "src": source, "v": variant,
                "i": body["ignore_targeting"].as_bool().unwrap_or(false), "e": expires}),
    );
    let config: Value = serde_json::from_str(&site_config(env, site).await?).unwrap_or_default();
    let origin = match config["origins"][0].as_str() {
        Some(origin) => origin.trim_end_matches('/').to_owned(),
        None => req.url()?.origin().ascii_serialization(),
    };
    let separator = if path.contains('?') { '&' } else { '?' };
    crate::http::ok(&json!({
        "url": format!("{origin}{path}{separator}nudge_preview={token}"),
        "expires_at": nudge_core::time::to_iso8601(expires),
    }))
}

/// The campaign as a draft (falling back to live once published) or live.
async fn campaign_at(
    env: &Env,
    site: &str,
    caller: &Caller,
    id: &str,
    source: &str,
) -> Result<Value, EdgeError> {
    if source == "draft" {
        let draft = call(
            env,
            site,
            caller,
            Draft {
                item: Item::Campaign(id.into()),
            },
        )
        .await;
        match draft {
            Ok(answer) => return Ok(answer.body),
            Err(EdgeError::Refused(r)) if r.status == 404 => {}
            Err(other) => return Err(other),
        }
    }
    let overview = call(env, site, caller, Overview {}).await?;
    super::live::config_of(overview.config.as_deref())["campaigns"]
        .as_array()
        .and_then(|list| list.iter().find(|c| c["id"] == id).cloned())
        .ok_or_else(|| {
            refuse(
                404,
                "not_found",
                format!("campaign {id} has no draft and is not live"),
            )
        })
}

/// `GET /v1/preview?site=&token=`: what the agent shows in a preview tab.
pub async fn get(req: Request, env: &Env) -> Handled {
    let site = site_param(&req)?;
    let text = site_config(env, &site).await?;
    let verdict = cors::check(&req, &text)?;
    let client = crate::http::limits::client(&req);
    let bucket = crate::http::limits::Bucket::Identity;
    crate::http::limits::check(env, bucket, &format!("preview:{site}:{client}")).await?;
    let keys = site_keys(env, &site).await?;
    let token = query(&req, "token")?.unwrap_or_default();
    let claims = read(&keys, &site, &token, worker::Date::now().as_millis() as i64)?;
    let id = claims["c"].as_str().unwrap_or_default().to_owned();
    let source = claims["src"].as_str().unwrap_or("draft").to_owned();
    let previewer = Caller {
        role: super::session::Role::Viewer,
        who: "preview link".into(),
    };
    let campaign = campaign_at(env, &site, &previewer, &id, &source).await?;
    let config = preview_config(&text, campaign)?;
    let body = json!({
        "config": config, "campaign_id": id, "variant": claims["v"],
        "ignore_targeting": claims["i"], "expires_at": nudge_core::time::to_iso8601(claims["e"].as_i64().unwrap_or_default()),
    });
    let headers = Headers::new();
    headers.set("content-type", "application/json; charset=utf-8")?;
    headers.set("cache-control", "no-store")?;
    Ok(cors::apply(
        Response::ok(body.to_string())?.with_headers(headers),
        &verdict,
    )?)
}

/// What a preview link shows: the public config (`GET /v1/config`'s, with no
/// journeys, caps, quiet hours or held-back coupon codes) whose only campaign
/// is the previewed one, its form's coupon held back too. A link travels in
/// chats and browser histories: it must not reveal more than any visitor
/// reads, plus the one campaign it names.
fn preview_config(stored: &str, campaign: Value) -> Result<Value, EdgeError> {
    let mut config: Value =
        serde_json::from_str(&crate::config_policy::published(stored)).unwrap_or_default();
    let mut only: nudge_core::Value = serde_json::from_value(json!({ "campaigns": [campaign] }))
        .map_err(|e| EdgeError::Internal(format!("preview campaign: {e}")))?;
    crate::config_policy::seal_coupons(&mut only);
    config["campaigns"] = serde_json::to_value(only)?["campaigns"].take();
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    const MASTER: &str = "test-master-key-0123456789abcdef0123";

    #[test]
    fn a_link_opens_only_its_site_until_it_expires_and_cannot_be_altered() {
        let keys = SiteKeys::derive(MASTER, "demo").unwrap();
        let token = mint(&keys, &json!({"s": "demo", "c": "welcome", "e": 5000}));
        assert_eq!(read(&keys, "demo", &token, 1000).unwrap()["c"], "welcome");
        let status = |r: Result<Value, EdgeError>| match r {
            Err(EdgeError::Refused(r)) => r.status,
            _ => 0,
        };
        assert_eq!(status(read(&keys, "demo", &token, 6000)), 410);
        let other = SiteKeys::derive(MASTER, "other").unwrap();
        assert_eq!(status(read(&other, "other", &token, 1000)), 403);
        let forged = format!(
            "p1.{}.{}",
            URL_SAFE_NO_PAD.encode(json!({"s": "demo", "c": "vip", "e": 5000}).to_string()),
            token.rsplit('.').next().unwrap()
        );
        assert_eq!(status(read(&keys, "demo", &forged, 1000)), 403);
        assert_eq!(status(read(&keys, "demo", "nonsense", 1000)), 403);
    }

    #[test]
    fn a_preview_shows_only_the_public_config_and_its_campaign() {
        let stored = json!({
            "campaigns": [{"id": "live-one", "content": {"title": "x"}}],
            "journeys": [{"id": "cart", "entry": {"event": "Product Added"}, "steps": []}],
            "messaging_caps": {"per_day": 2},
            "quiet_hours": {"start": "21:00", "end": "08:00"},
            "origins": ["https://shop.example"],
        })
        .to_string();
        let draft = json!({"id": "signup", "content": {"form": {"fields": ["email"]}, "coupon": "SECRET10"},
            "variants": [{"key": "b", "content": {"coupon": "SECRET20"}}]});
        let config = preview_config(&stored, draft).unwrap();
        for key in ["journeys", "messaging_caps", "quiet_hours"] {
            assert!(config.get(key).is_none(), "{key} leaked: {config}");
        }
        assert_eq!(config["origins"][0], "https://shop.example");
        assert_eq!(config["campaigns"].as_array().unwrap().len(), 1);
        let campaign = &config["campaigns"][0];
        assert_eq!(campaign["id"], "signup");
        assert!(!config.to_string().contains("SECRET"), "{config}");
        assert_eq!(campaign["content"]["coupon_sealed"], true);
        assert_eq!(campaign["variants"][0]["content"]["coupon_sealed"], true);
    }

    #[test]
    fn links_stay_on_the_shop() {
        assert_eq!(shop_path(None).unwrap(), "/");
        assert_eq!(shop_path(Some("/cart")).unwrap(), "/cart");
        for bad in ["//evil.example", "https://evil.example", "/a b", "/\\evil"] {
            assert!(shop_path(Some(bad)).is_err(), "{bad}");
        }
    }
}
