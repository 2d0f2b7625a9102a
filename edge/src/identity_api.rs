//! Identity and offsite state: `POST /v1/identify`, `GET /v1/profile`,
//! `POST /v1/hooks/{channel}`. The proofs are checked here; the person
//! records live in the site's store (`crate::site::Site`).

use serde_json::{json, Value};
use worker::{Env, Method, Request, RequestInit, Response, Result};

use crate::cors::Verdict;
use crate::http::{json_response, site_param, Refusal};
use crate::tokens;

fn now_s() -> i64 {
    (worker::Date::now().as_millis() / 1000) as i64
}

/// Calls the site's store (`crate::site::Site`).
pub async fn site_store(env: &Env, site: &str, path: &str, body: Option<&Value>) -> Result<Value> {
    let stub = env.durable_object("SITE")?.id_from_name(site)?.get_stub()?;
    let mut init = RequestInit::new();
    match body {
        Some(body) => init
            .with_method(Method::Post)
            .with_body(Some(body.to_string().into())),
        None => init.with_method(Method::Get),
    };
    let mut answer = stub
        .fetch_with_request(Request::new_with_init(
            &format!("https://site{path}"),
            &init,
        )?)
        .await?;
    if answer.status_code() != 200 {
        return Err(worker::Error::RustError(format!(
            "the site store answered {}",
            answer.status_code()
        )));
    }
    answer.json().await
}

fn site_secret(env: &Env) -> Option<Vec<u8>> {
    env.secret("SITE_SECRET")
        .ok()
        .map(|s| s.to_string().into_bytes())
        .filter(|s| s.len() >= 16)
}

/// `POST /v1/identify?site=` with `{anonymousId, userToken | clickToken | email | phone}`.
/// The site's CORS verdict for a browser call, or the refusal to send.
async fn browser_call(
    req: &Request,
    env: &Env,
) -> Result<std::result::Result<(String, Verdict), Response>> {
    let site = match site_param(req) {
        Ok(site) => site,
        Err(refusal) => return Ok(Err(refusal.into_response()?)),
    };
    let Some(config) = crate::http::site_config(env, &site).await? else {
        return Ok(Err(Refusal::new(
            404,
            "unknown_site",
            format!("no site {site}"),
        )
        .into_response()?));
    };
    match crate::cors::check(req, &config)? {
        Ok(verdict) => Ok(Ok((site, verdict))),
        Err(refusal) => Ok(Err(refusal.into_response()?)),
    }
}

pub async fn identify(req: Request, env: &Env) -> Result<Response> {
    let (site, verdict) = match browser_call(&req, env).await? {
        Ok(ok) => ok,
        Err(response) => return Ok(response),
    };
    let response = identify_for(req, env, &site).await?;
    crate::cors::apply(response, &verdict)
}

/// `{anonymousId, reset: true}`: the visitor signed out (`nudge.reset()`), and
/// the browser starts over as a new anonymous visitor, cookie included.
fn reset(req: &Request, env: &Env, anonymous_id: &str) -> Result<Response> {
    let response = json_response(200, &json!({"reset": true}))?;
    match crate::cookie::name(env) {
        Some(name) => crate::cookie::set(response, req, &name, anonymous_id),
        None => Ok(response),
    }
}

async fn identify_for(mut req: Request, env: &Env, site: &str) -> Result<Response> {
    let site = site.to_owned();
    let body: Value = match serde_json::from_str(&req.text().await?) {
        Ok(body) => body,
        Err(e) => {
            return Refusal::new(400, "invalid_json", format!("the body is not JSON: {e}"))
                .into_response()
        }
    };
    let anonymous_id = body["anonymousId"].as_str().unwrap_or_default();
    if let Err(reason) = nudge_core::event::check_identifier(anonymous_id) {
        return Refusal::new(400, "invalid_anonymous_id", format!("anonymousId {reason}"))
            .into_response();
    }
    if !body["reset"].is_null() {
        return reset(&req, env, anonymous_id);
    }
    let command = if let Some(token) = body["userToken"].as_str() {
        let Some(secret) = site_secret(env) else {
            return no_secret();
        };
        match tokens::verify_user_token(&secret, &site, token, now_s()) {
            Ok(user_id) => {
                json!({"anonymous_id": anonymous_id, "user_id": user_id, "proof": "user_token"})
            }
            Err(reason) => {
                return Refusal::new(
                    401,
                    "invalid_token",
                    format!("user token refused: {reason}"),
                )
                .into_response()
            }
        }
    } else if let Some(token) = body["clickToken"].as_str() {
        let Some(secret) = site_secret(env) else {
            return no_secret();
        };
        match tokens::verify_click_token(&secret, &site, token, now_s()) {
            Ok(click) => {
                let (key, value) = match click.who {
                    tokens::Proven::UserId(u) => ("user_id", u),
                    tokens::Proven::EmailHash(h) => ("email_hash", h),
                };
                json!({"anonymous_id": anonymous_id, key: value, "proof": "click_token", "nonce": click.nonce})
            }
            Err(reason) => {
                return Refusal::new(
                    401,
                    "invalid_token",
                    format!("click token refused: {reason}"),
                )
                .into_response()
            }
        }
    } else if body["email"].is_string() || body["phone"].is_string() {
        // Typed by a visitor: recorded as a claim, never merged on.
        let claim =
            json!({"anonymous_id": anonymous_id, "email": body["email"], "phone": body["phone"]});
        let answer = site_store(env, &site, "/claim", Some(&claim)).await?;
        return json_response(200, &answer);
    } else {
        return Refusal::new(
            400,
            "no_proof",
            "send userToken, clickToken, or an email/phone claim",
        )
        .into_response();
    };
    let answer = site_store(env, &site, "/identify", Some(&command)).await?;
    match answer["error"].as_str() {
        Some(code @ ("token_used" | "user_conflict")) => Refusal::new(
            409,
            if code == "token_used" {
                "token_used"
            } else {
                "user_conflict"
            },
            answer["message"].as_str().unwrap_or(code),
        )
        .into_response(),
        Some(_) => Refusal::new(
            400,
            "not_identified",
            answer["message"].as_str().unwrap_or("nothing proven"),
        )
        .into_response(),
        None => json_response(200, &json!({"merged": answer["merged"]})),
    }
}

fn no_secret() -> Result<Response> {
    Refusal::new(
        503,
        "not_configured",
        "identity verification is not configured for this deployment",
    )
    .into_response()
}

/// `GET /v1/profile?site=&anonymousId=`: what the agent should know about this
/// browser's person (orders, coupons, campaign history from every device).
pub async fn profile(req: Request, env: &Env) -> Result<Response> {
    let (site, verdict) = match browser_call(&req, env).await? {
        Ok(ok) => ok,
        Err(response) => return Ok(response),
    };
    let url = req.url()?;
    let anonymous_id = url
        .query_pairs()
        .find(|(k, _)| k == "anonymousId")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    if let Err(reason) = nudge_core::event::check_identifier(&anonymous_id) {
        return Refusal::new(400, "invalid_anonymous_id", format!("anonymousId {reason}"))
            .into_response();
    }
    let cookie = crate::cookie::BrowserCookie::of(&req, env)?;
    let browser = cookie.as_ref().and_then(|c| c.id.clone());
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("anonymous_id", &anonymous_id);
    if let Some(browser) = &browser {
        query.append_pair("browser", browser);
    }
    let answer = site_store(env, &site, &format!("/profile?{}", query.finish()), None).await?;
    let mut response = json_response(200, &answer)?;
    if let Some(cookie) = &cookie {
        response = cookie.keep(response, &req, &anonymous_id)?;
    }
    crate::cors::apply(response, &verdict)
}

/// `POST /v1/hooks/{channel}?site=`: an offsite event, signed Standard-Webhooks style.
pub async fn hook(mut req: Request, env: &Env) -> Result<Response> {
    let site = match site_param(&req) {
        Ok(site) => site,
        Err(refusal) => return refusal.into_response(),
    };
    let channel = req
        .path()
        .strip_prefix("/v1/hooks/")
        .unwrap_or_default()
        .to_owned();
    if !crate::http::is_site_key(&channel) {
        return Refusal::new(404, "not_found", "expected /v1/hooks/{channel}").into_response();
    }
    let headers = req.headers();
    let (Some(id), Some(timestamp), Some(signature)) = (
        headers.get("webhook-id")?,
        headers.get("webhook-timestamp")?,
        headers.get("webhook-signature")?,
    ) else {
        return Refusal::new(
            401,
            "unsigned",
            "webhook-id, webhook-timestamp and webhook-signature are required",
        )
        .into_response();
    };
    let Ok(secret) = env.secret("WEBHOOK_SECRET") else {
        return no_secret();
    };
    let body = req.text().await?;
    if body.len() > crate::collect::MAX_BODY_BYTES {
        return Refusal::new(413, "too_large", "the webhook body is too large").into_response();
    }
    if let Err(reason) = tokens::verify_webhook(
        &secret.to_string(),
        &id,
        &timestamp,
        &body,
        &signature,
        now_s(),
    ) {
        return Refusal::new(401, "bad_signature", reason).into_response();
    }
    let event: Value = match serde_json::from_str(&body) {
        Ok(event) => event,
        Err(e) => {
            return Refusal::new(400, "invalid_json", format!("the body is not JSON: {e}"))
                .into_response()
        }
    };
    let answer = site_store(
        env,
        &site,
        "/hook",
        Some(&json!({"id": id, "channel": channel, "event": event})),
    )
    .await?;
    match answer["error"].as_str() {
        Some("already_processed") => Refusal::new(
            409,
            "already_processed",
            format!("webhook {id} was already applied"),
        )
        .into_response(),
        Some(code) => Refusal::new(
            400,
            "invalid_event",
            answer["message"].as_str().unwrap_or(code),
        )
        .into_response(),
        None => json_response(200, &json!({"applied": true})),
    }
}

/// `GET /v1/admin/sites/{site}/merges[?person=]`: the merge log, for audit.
pub async fn merges(req: Request, env: &Env) -> Result<Response> {
    let site = match crate::http::admin_site(&req, env, "merges")? {
        Ok(site) => site,
        Err(refusal) => return refusal.into_response(),
    };
    let person = req
        .url()?
        .query_pairs()
        .find(|(k, _)| k == "person")
        .map(|(_, v)| v.into_owned());
    let answer = site_store(env, &site, "/merges", Some(&json!({"person": person}))).await?;
    json_response(200, &answer)
}

/// `POST /v1/admin/sites/{site}/merges/undo` with `{seq, reason?}`: splits a
/// wrongly merged person again (see `Site::undo_merge` for what comes back).
pub async fn undo_merge(mut req: Request, env: &Env) -> Result<Response> {
    let site = match crate::http::admin_site(&req, env, "merges/undo")? {
        Ok(site) => site,
        Err(refusal) => return refusal.into_response(),
    };
    let body: Value = serde_json::from_str(&req.text().await?).unwrap_or(Value::Null);
    let (Some(seq), reason) = (body["seq"].as_i64(), &body["reason"]) else {
        return Refusal::new(
            400,
            "invalid_request",
            "expected {\"seq\": <merge number>, \"reason\"?: text}",
        )
        .into_response();
    };
    let answer = site_store(
        env,
        &site,
        "/undo-merge",
        Some(&json!({"seq": seq, "reason": reason})),
    )
    .await?;
    match answer["error"].as_str() {
        Some("not_found") => Refusal::new(
            404,
            "not_found",
            answer["message"].as_str().unwrap_or_default(),
        )
        .into_response(),
        Some(_) => Refusal::new(
            409,
            "cannot_undo",
            answer["message"].as_str().unwrap_or_default(),
        )
        .into_response(),
        None => json_response(200, &answer),
    }
}
