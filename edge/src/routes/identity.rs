//! Identity from the browser: `POST /v1/identify`, `GET /v1/profile`. The
//! proofs are checked here; the person records live in the site's store.

use serde_json::json;
use worker::{Env, Request};

use crate::http::cookie::BrowserCookie;
use crate::http::limits::{self, Bucket, SMALL_BODY_BYTES};
use crate::http::{
    cors, json_response, query, read_json, refuse, site_config, site_keys, site_param, Handled,
};
use crate::keys::{browser_key_hash, SiteKeys};
use crate::store::protocol::Claim;
use crate::store::protocol::ReadProfile;
use crate::store::protocol::{Identify, Proven};
use crate::tokens;

fn now_s() -> i64 {
    (worker::Date::now().as_millis() / 1000) as i64
}

/// The header the agent sends its browser key in.
pub const BROWSER_KEY_HEADER: &str = "x-nudge-browser-key";

/// Checks what every browser call shares: the site, its rate, its origin.
async fn browser_call(
    req: &Request,
    env: &Env,
) -> Result<(String, cors::Verdict, SiteKeys), crate::http::EdgeError> {
    let site = site_param(req)?;
    let client = limits::client(req);
    limits::check(env, Bucket::Identity, &format!("{site}:{client}")).await?;
    let config = site_config(env, &site).await?;
    let verdict = cors::check(req, &config)?;
    let keys = site_keys(env, &site).await?;
    Ok((site, verdict, keys))
}

/// `check` under each signing key accepted now; where every one says "bad
/// signature", once more under the store's current keys (a rotation through
/// another isolate this one has not heard of: at most one read every 2 s).
async fn signed_by_site<T>(
    env: &Env,
    site: &str,
    keys: &SiteKeys,
    check: impl Fn(&[u8]) -> Result<T, &'static str>,
) -> Result<Result<T, &'static str>, crate::http::EdgeError> {
    let first = under_any(keys, &check);
    if !matches!(first, Err(tokens::BAD_SIGNATURE)) {
        return Ok(first);
    }
    Ok(match crate::http::site_keys_after_miss(env, site).await? {
        Some(fresh) => under_any(&fresh, &check),
        None => first,
    })
}

fn under_any<T>(
    keys: &SiteKeys,
    check: &impl Fn(&[u8]) -> Result<T, &'static str>,
) -> Result<T, &'static str> {
    let mut answer = Err(tokens::BAD_SIGNATURE);
    for key in keys.signing_keys() {
        answer = check(key.as_bytes());
        if !matches!(answer, Err(tokens::BAD_SIGNATURE)) {
            break;
        }
    }
    answer
}

fn valid_anonymous_id(id: &str) -> Result<(), crate::http::EdgeError> {
    nudge_core::event::check_identifier(id)
        .map_err(|reason| refuse(400, "invalid_anonymous_id", format!("anonymousId {reason}")))
}

/// `POST /v1/identify?site=` with `{anonymousId, userToken | clickToken | email | phone | reset}`
/// (`reset` may come with a token: another user signed in on this browser).
pub async fn identify(mut req: Request, env: &Env) -> Handled {
    let (site, verdict, keys) = browser_call(&req, env).await?;
    let body = read_json(&mut req, SMALL_BODY_BYTES).await?;
    let anonymous_id = body["anonymousId"].as_str().unwrap_or_default().to_owned();
    valid_anonymous_id(&anonymous_id)?;
    let cookie = BrowserCookie::of(&req, env, &keys, &site)?;
    // The visitor signed out (`nudge.reset()`), or another user signed in
    // (the agent then sends the new user's proof with it): the browser starts
    // over as a new anonymous visitor. The cookie is cleared; the new id
    // earns its own with its first events that carry its key.
    let reset = !body["reset"].is_null();
    let start_over = |response| match (&cookie, reset) {
        (Some(cookie), true) => cookie.clear(response),
        _ => Ok(response),
    };
    if reset && body["userToken"].is_null() && body["clickToken"].is_null() {
        let response = start_over(json_response(200, &json!({"reset": true}))?)?;
        return Ok(cors::apply(response, &verdict)?);
    }
    let browser = &body["browser"];
    let browser_key =
        super::events::browser_key(browser["anonymousId"].as_str(), browser["key"].as_str());
    let command = if let Some(token) = body["userToken"].as_str() {
        let now = now_s();
        let user = signed_by_site(env, &site, &keys, |secret| {
            tokens::verify_user_token(secret, &site, token, now)
        })
        .await?
        .map_err(|reason| {
            refuse(
                401,
                "invalid_token",
                format!("user token refused: {reason}"),
            )
        })?;
        Identify {
            anonymous_id: anonymous_id.clone(),
            proven: Proven::UserId(user.user_id),
            proof: "user_token".into(),
            nonce: None,
            email: user.email,
            phone: user.phone,
            browser_key,
        }
    } else if let Some(token) = body["clickToken"].as_str() {
        let now = now_s();
        let click = signed_by_site(env, &site, &keys, |secret| {
            tokens::verify_click_token(secret, &site, token, now)
        })
        .await?
        .map_err(|reason| {
            refuse(
                401,
                "invalid_token",
                format!("click token refused: {reason}"),
            )
        })?;
        Identify {
            anonymous_id: anonymous_id.clone(),
            proven: match click.who {
                tokens::Proven::UserId(u) => Proven::UserId(u),
                tokens::Proven::EmailHash(h) => Proven::EmailHash(h),
                tokens::Proven::PhoneHash(h) => Proven::PhoneHash(h),
            },
            proof: "click_token".into(),
            nonce: Some(click.nonce),
            email: click.email,
            phone: click.phone,
            browser_key,
        }
    } else if body["email"].is_string() || body["phone"].is_string() {
        // Typed by a visitor: recorded as a claim, never merged on.
        let email = body["email"].as_str().map(str::to_owned);
        let phone = body["phone"].as_str().map(str::to_owned);
        let valid = email
            .as_deref()
            .is_some_and(|e| nudge_core::capture::normalize_email(e).is_ok())
            || phone
                .as_deref()
                .is_some_and(|p| nudge_core::capture::normalize_phone(p).is_ok());
        if !valid {
            return Err(refuse(
                400,
                "invalid_contact",
                "email or phone is not a valid address",
            ));
        }
        let claim = Claim {
            anonymous_id,
            email,
            phone,
        };
        let mut answer = crate::store::call(env, &site, &claim).await?;
        // A sign-up in a form whose coupon the published config holds back
        // (`coupon_sealed`): the code is given here, to whoever signed up.
        if let Some(campaign) = body["campaign"].as_str() {
            let stored = site_config(env, &site).await?;
            if let Some(code) =
                crate::config_policy::sealed_coupon(&stored, campaign, body["variant"].as_str())
            {
                answer.coupon = Some(code);
            }
        }
        return Ok(cors::apply(json_response(200, &answer)?, &verdict)?);
    } else {
        return Err(refuse(
            400,
            "no_proof",
            "send userToken, clickToken, or an email/phone claim",
        ));
    };
    // Across the site's objects when there are several (`store::saga`):
    // the held events of a merge are reported with the live campaigns.
    let stored = site_config(env, &site).await?;
    let campaigns = crate::reports::published_campaigns(&stored);
    let identified = crate::store::identify(env, &site, &command, &campaigns).await?;
    let answer = json!({"merged": identified.merged});
    let response = start_over(json_response(200, &answer)?)?;
    Ok(cors::apply(response, &verdict)?)
}

/// `GET /v1/profile?site=&anonymousId=` with the browser key header: what the
/// agent should know about this browser's person (orders, coupons, campaign
/// history from every device). The anonymous id alone reads nothing. A read
/// never links browsers (the cookie links only on `POST /v1/events`).
pub async fn profile(req: Request, env: &Env) -> Handled {
    let (site, verdict, _) = browser_call(&req, env).await?;
    let anonymous_id = query(&req, "anonymousId")?.unwrap_or_default();
    valid_anonymous_id(&anonymous_id)?;
    let given = req.headers().get(BROWSER_KEY_HEADER)?.unwrap_or_default();
    let key_hash = browser_key_hash(&given).ok_or_else(|| {
        refuse(
            401,
            "browser_key_required",
            format!("reading a profile needs this browser's key in {BROWSER_KEY_HEADER}"),
        )
    })?;
    let read = ReadProfile {
        anonymous_id,
        key_hash,
    };
    let answer = crate::store::call(env, &site, &read).await?;
    Ok(cors::apply(json_response(200, &answer)?, &verdict)?)
}
