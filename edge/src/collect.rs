//! `POST /v1/events?site=`: a batch of Segment-shaped events from the agent.
//!
//! The whole batch is validated with core's event model first: one bad event
//! refuses the batch with every problem listed, and nothing is stored. A valid
//! batch is written to the site's store (a SQLite Durable Object, keyed by
//! event id so repeats are dropped) before the 202 is sent: once acknowledged,
//! an event is durable.

use nudge_core::event::Event;
use nudge_core::{Diagnostic, Value as CoreValue};
use serde_json::{json, Value};
use worker::{Env, Request, Response, Result};

use crate::http::{json_response, site_param, Refusal};

/// Largest accepted body. The agent sends at most 20 events of ~1 KB.
pub const MAX_BODY_BYTES: usize = 512 * 1024;
pub const MAX_BATCH: usize = 500;

pub async fn post(mut req: Request, env: &Env) -> Result<Response> {
    let site = match site_param(&req) {
        Ok(site) => site,
        Err(refusal) => return refusal.into_response(),
    };
    let client = req
        .headers()
        .get("cf-connecting-ip")?
        .unwrap_or_else(|| "local".into());
    // Load tests of a deployment (and `cargo xtask bench`) run with EVENTS_RATE_LIMIT=off.
    let limited = env
        .var("EVENTS_RATE_LIMIT")
        .map(|v| v.to_string() != "off")
        .unwrap_or(true);
    if limited
        && !env
            .rate_limiter("EVENTS_LIMITER")?
            .limit(format!("{site}:{client}"))
            .await?
            .success
    {
        return Refusal::new(
            429,
            "rate_limited",
            "too many requests from this client for this site; retry later",
        )
        .into_response();
    }
    let Some(config) = crate::http::site_config(env, &site).await? else {
        return Refusal::new(404, "unknown_site", format!("no site {site}")).into_response();
    };
    let verdict = match crate::cors::check(&req, &config)? {
        Ok(verdict) => verdict,
        Err(refusal) => return refusal.into_response(),
    };
    // The first-party cookie's id, when the deployment keeps one (see cookie.rs).
    let cookie = crate::cookie::BrowserCookie::of(&req, env)?;
    let browser = cookie.as_ref().and_then(|c| c.id.clone());
    // For channels that match people (Meta's Conversions API): where and with what the event was sent.
    let user_agent = req.headers().get("user-agent")?;
    let ip = req.headers().get("cf-connecting-ip")?;
    let declared = req
        .headers()
        .get("content-length")?
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(0);
    if declared > MAX_BODY_BYTES {
        return too_large();
    }
    let text = req.text().await?;
    if text.len() > MAX_BODY_BYTES {
        return too_large();
    }
    let events = match read_batch(&text) {
        Ok(events) => events,
        Err(refusal) => return refusal.into_response(),
    };
    // One call: the site's store inserts each new event and applies its facts
    // in one transaction before answering.
    let mut wire: Vec<Value> = events
        .iter()
        .map(|e| serde_json::from_str(&e.to_wire().to_json()))
        .collect::<std::result::Result<_, _>>()?;
    for event in &mut wire {
        if let Some(context) = event["context"].as_object_mut() {
            if let Some(ua) = &user_agent {
                context.insert("userAgent".into(), ua.as_str().into());
            }
            if let Some(ip) = &ip {
                context.insert("ip".into(), ip.as_str().into());
            }
        }
    }
    let counts = crate::identity_api::site_store(
        env,
        &site,
        "/append",
        Some(&json!({"events": wire, "browser": browser})),
    )
    .await?;
    // Queued for the site's destinations before the acknowledgement: a failure
    // here is a 500, the agent sends the batch again, and the consumer skips
    // deliveries already made.
    crate::forward::enqueue(env, &site, &wire).await?;
    let mut response = json_response(202, &counts)?;
    if let (Some(cookie), Some(id)) = (
        &cookie,
        wire.first().and_then(|e| e["anonymousId"].as_str()),
    ) {
        response = cookie.keep(response, &req, id)?;
    }
    crate::cors::apply(response, &verdict)
}

fn too_large() -> Result<Response> {
    Refusal::new(
        413,
        "too_large",
        format!("the body exceeds {MAX_BODY_BYTES} bytes"),
    )
    .into_response()
}

/// Parses `{"batch": [...]}` and every event in it, collecting all problems.
fn read_batch(text: &str) -> std::result::Result<Vec<Event>, Refusal> {
    let body: CoreValue = serde_json::from_str(text)
        .map_err(|e| Refusal::new(400, "invalid_json", format!("the body is not JSON: {e}")))?;
    let Some(batch) = body.get("batch").and_then(CoreValue::as_array) else {
        return Err(
            Refusal::new(400, "invalid_batch", "expected {\"batch\": [events]}").with_problems(
                vec![Diagnostic::error(
                    "batch",
                    "is required and must be an array",
                )],
            ),
        );
    };
    if batch.is_empty() || batch.len() > MAX_BATCH {
        return Err(Refusal::new(
            400,
            "invalid_batch",
            format!("a batch holds 1 to {MAX_BATCH} events, got {}", batch.len()),
        ));
    }
    let mut events = Vec::with_capacity(batch.len());
    let mut problems = Vec::new();
    for (i, item) in batch.iter().enumerate() {
        match Event::from_wire(item, &format!("batch[{i}]")) {
            Ok(event) => events.push(event),
            Err(mut found) => problems.append(&mut found),
        }
    }
    if problems.is_empty() {
        Ok(events)
    } else {
        Err(Refusal::new(
            400,
            "invalid_events",
            format!("{} problems; nothing was stored", problems.len()),
        )
        .with_problems(problems))
    }
}

/// `GET /v1/admin/sites/{site}/events`: the newest stored events, for support
/// and tests (bearer token required).
pub async fn recent(req: Request, env: &Env) -> Result<Response> {
    let site = match crate::http::admin_site(&req, env, "events")? {
        Ok(site) => site,
        Err(refusal) => return refusal.into_response(),
    };
    let recent = crate::identity_api::site_store(env, &site, "/recent", None).await?;
    json_response(200, &recent)
}
