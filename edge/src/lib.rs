//! Nudge's edge companion: a Cloudflare Worker on `nudge-core`.
//!
//! Map (ARCHITECTURE.md has the data flows):
//! - `routes`: the route table and one module per endpoint family (config,
//!   events, identity, hooks, admin, reports). Handlers return `Result<Response,
//!   EdgeError>` and use `?`.
//! - `http`: what routes share: the error type, bounded body reading, CORS,
//!   the signed first-party cookie, rate limits, the site's KV documents.
//! - `store`: each site's SQLite Durable Object, spoken to through a typed
//!   command protocol; its logic runs on a SQL seam with native tests.
//! - `reports`: what a campaign report says (typed, then JSON or CSV), from
//!   the store's rollups and the published config.
//! - `forward`: the queue consumer, destinations, one file per channel.
//! - `keys`, `tokens`: per-site keys derived from one master secret; user,
//!   click and webhook token formats.
//! - `studio`: the marketer's studio on the edge: sign-in and roles, drafts,
//!   publish, history, preview links (its pages are static files).
//! - `assets`: the demo shop, the agent and the studio (static files).
//!
//! Every byte from the internet is hostile: it gets a clear refusal (a
//! status and a stable error code), bounded cost, and changes nothing.

// Input and the platform can fail anywhere: a panic here breaks a shop's page
// (agent) or answers a bare 500 (edge). Tests may unwrap.
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

mod assets;
mod config_policy;
mod destination;
mod forward;
mod http;
mod ingest;
mod keys;
mod reports;
mod routes;
mod site;
mod store;
mod studio;
mod tokens;
mod wire;

use worker::*;

pub use site::Site;

/// Delivers queued events to offsite destinations (and files dead letters).
#[event(queue)]
async fn queue(batch: MessageBatch<String>, env: Env, _ctx: Context) -> Result<()> {
    if ingest::QUEUES.contains(&batch.queue().as_str()) {
        return ingest::consume(batch, env).await;
    }
    forward::consume(batch, env).await
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let path = req.path();
    // The studio's pages and API carry a content security policy, whatever
    // answers them (a file, JSON, a refusal).
    let studio = http::security::studio_headers(&path);
    let response = if !path.starts_with("/v1/") {
        assets::serve(req, &env).await?
    } else {
        let label = format!("{:?} {path}", req.method());
        let origin = req.headers().get("origin")?;
        match routes::api(req, &env).await {
            Ok(response) => response,
            Err(error) => {
                http::cors::share_refusal(error.into_response(&label)?, &path, origin.as_deref())?
            }
        }
    };
    match studio {
        Some(headers) => http::security::with_headers(response, &headers),
        None => Ok(response),
    }
}
