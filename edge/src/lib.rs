//! Nudge's edge companion: a Cloudflare Worker on `nudge-core`.
//!
//! Routes (all JSON, each tied to a site key):
//! - `GET  /v1/config?site=`: the site's validated campaigns + request geo (ETag, short cache).
//! - `POST /v1/events?site=`: a batch from the agent; validated with core's event model,
//!   de-duplicated by event id and stored durably (the site's SQLite Durable Object) before the 202.
//! - `POST /v1/identify?site=`: links the browser to a proven identity (user token, click token);
//!   a typed email is only a claim.
//! - `GET  /v1/profile?site=&anonymousId=`: the person's facts from every device and channel.
//! - `POST /v1/hooks/{channel}?site=`: signed offsite events (coupon issued, unsubscribed, ...).
//! - `PUT  /v1/admin/sites/{site}/config`: campaign config, behind a bearer secret;
//!   validated with core's diagnostics (400 lists every problem, nothing half-written).
//! - `PUT  /v1/admin/sites/{site}/destinations`, `GET .../dead-letters`, `POST .../dead-letters/replay`:
//!   offsite forwarding (`forward.rs`, request shapes per channel in `channels.rs`).
//! - `GET  /v1/admin/sites/{site}/merges`, `POST .../merges/undo`: the identity merge log, and undo.
//! - anything else: the demo shop and the agent, from static assets.
//!
//! Errors: a handler's `Err` is logged with its detail and answered with a plain 500
//! (workers-rs style); expected refusals are typed [`http::Refusal`]s with a JSON body.

mod assets;
mod channels;
mod collect;
mod config_api;
mod cookie;
mod cors;
mod forward;
mod http;
mod identity_api;
mod site;
mod tokens;

use worker::*;

pub use site::Site;

/// Delivers queued events to offsite destinations (and files dead letters).
#[event(queue)]
async fn queue(batch: MessageBatch<String>, env: Env, _ctx: Context) -> Result<()> {
    forward::consume(batch, env).await
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let path = req.path();
    let label = format!("{:?} {path}", req.method());
    let result = match (req.method(), path.as_str()) {
        (Method::Get, "/v1/config") => config_api::get(req, &env).await,
        (Method::Put, p) if p.starts_with("/v1/admin/sites/") && p.ends_with("/destinations") => {
            forward::put(req, &env).await
        }
        (Method::Put, p) if p.starts_with("/v1/admin/sites/") => config_api::put(req, &env).await,
        (Method::Get, p) if p.starts_with("/v1/admin/sites/") && p.ends_with("/dead-letters") => {
            forward::dead_letters(req, &env).await
        }
        (Method::Post, p)
            if p.starts_with("/v1/admin/sites/") && p.ends_with("/dead-letters/replay") =>
        {
            forward::replay(req, &env).await
        }
        (Method::Get, p) if p.starts_with("/v1/admin/sites/") && p.ends_with("/merges") => {
            identity_api::merges(req, &env).await
        }
        (Method::Post, p) if p.starts_with("/v1/admin/sites/") && p.ends_with("/merges/undo") => {
            identity_api::undo_merge(req, &env).await
        }
        (Method::Get, p) if p.starts_with("/v1/admin/sites/") => collect::recent(req, &env).await,
        (Method::Post, "/v1/events") => collect::post(req, &env).await,
        (Method::Post, "/v1/identify") => identity_api::identify(req, &env).await,
        (Method::Get, "/v1/profile") => identity_api::profile(req, &env).await,
        (Method::Post, p) if p.starts_with("/v1/hooks/") => identity_api::hook(req, &env).await,
        (Method::Options, p) if p.starts_with("/v1/") => http::preflight(&req, &env).await,
        (_, p) if p.starts_with("/v1/") => {
            http::Refusal::new(404, "not_found", "no such endpoint").into_response()
        }
        _ => assets::serve(req, &env).await,
    };
    result.or_else(|error| {
        // The detail goes to the log, never to the client.
        console_error!("{label}: {error}");
        Response::error("internal error", 500)
    })
}
