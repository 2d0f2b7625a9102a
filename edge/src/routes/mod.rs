//! The route table: every endpoint, its method, and the handler that answers.
//! Admin routes are authorized here, once, before their handler runs.

pub mod admin;
pub mod config;
pub mod events;
pub mod hooks;
pub mod identity;
pub mod reports;

use worker::{Env, Method, Request};

use crate::http::{authorize_admin, is_site_key, preflight, query, refuse, Handled};
use crate::store::protocol::Page;

/// Answers an API request (`/v1/…`).
pub async fn api(req: Request, env: &Env) -> Handled {
    let path = req.path();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let method = req.method();
    match (method, segments.as_slice()) {
        (Method::Options, _) => preflight(req, env).await,
        (Method::Get, ["v1", "config"]) => config::get(req, env).await,
        (Method::Post, ["v1", "events"]) => events::post(req, env).await,
        (Method::Post, ["v1", "identify"]) => identity::identify(req, env).await,
        (Method::Get, ["v1", "profile"]) => identity::profile(req, env).await,
        (Method::Post, ["v1", "hooks", channel]) => hooks::hook(req, env, channel).await,
        (method, ["v1", "admin", "sites", site, rest @ ..]) if is_site_key(site) => {
            authorize_admin(&req, env, site)?;
            match (method, rest) {
                (Method::Put, ["config"]) => config::put(req, env, site).await,
                (Method::Put, ["destinations"]) => {
                    crate::forward::destinations::put(req, env, site).await
                }
                (Method::Get, ["events"]) => events::recent(req, env, site).await,
                (Method::Get, ["merges"]) => admin::merges(req, env, site).await,
                (Method::Post, ["merges", "undo"]) => admin::undo_merge(req, env, site).await,
                (Method::Get, ["dead-letters"]) => admin::dead_letters(req, env, site).await,
                (Method::Post, ["dead-letters", "replay"]) => admin::replay(req, env, site).await,
                (Method::Get, ["campaigns", campaign, "report"]) => {
                    reports::campaign(req, env, site, campaign).await
                }
                (Method::Get, ["reports", "summary"]) => reports::summary(req, env, site).await,
                _ => Err(refuse(404, "not_found", "no such admin endpoint")),
            }
        }
        _ => Err(refuse(404, "not_found", "no such endpoint")),
    }
}

/// `?before=&after=&limit=` of a list endpoint.
pub fn page(req: &Request) -> Result<Page, crate::http::EdgeError> {
    let number = |name: &str| -> Result<Option<i64>, crate::http::EdgeError> {
        match query(req, name)? {
            None => Ok(None),
            Some(text) => text.parse().map(Some).map_err(|_| {
                refuse(
                    400,
                    "invalid_request",
                    format!("{name} must be a whole number"),
                )
            }),
        }
    };
    Ok(Page {
        before: number("before")?,
        after: number("after")?,
        limit: number("limit")?.map(|n| n.clamp(1, i64::from(Page::MAX)) as u32),
    })
}
