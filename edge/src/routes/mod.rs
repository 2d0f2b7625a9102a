//! The route table: every endpoint, its method, and the handler that answers.
//! Admin routes are authorized here, once, before their handler runs: each
//! needs the bearer token or a studio session with a role (`studio::needs`).

pub mod admin;
pub mod config;
pub mod events;
pub mod hooks;
pub mod identity;
pub mod journeys;
pub mod keys;
pub mod reports;

use worker::{Env, Method, Request};

use crate::http::{is_site_key, preflight, refuse, Handled};
use crate::store::protocol::Item;
use crate::studio::{self, campaigns, drafts, session};

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
        (Method::Get, ["v1", "preview"]) => studio::preview::get(req, env).await,
        (Method::Post, ["v1", "studio", "session"]) => session::sign_in(req, env).await,
        (Method::Get, ["v1", "studio", "session"]) => session::current(req, env).await,
        (Method::Delete, ["v1", "studio", "session"]) => session::sign_out(req, env).await,
        (method, ["v1", "admin", "sites", site, rest @ ..]) if is_site_key(site) => {
            let caller = session::authorize(&req, env, site, studio::needs(&method, rest)).await?;
            let by = &caller;
            match (method, rest) {
                (Method::Get, ["campaigns"]) => campaigns::list(env, site, by).await,
                (
                    method,
                    [list @ ("campaigns" | "journeys"), id, action @ ("draft" | "publish")],
                ) => {
                    let item = match *list {
                        "campaigns" => Item::Campaign((*id).into()),
                        _ => Item::Journey((*id).into()),
                    };
                    match (method, *action) {
                        (Method::Get, "draft") => drafts::draft(env, site, by, item).await,
                        (Method::Put, "draft") => {
                            drafts::save_draft(req, env, site, by, item).await
                        }
                        (Method::Delete, "draft") => {
                            drafts::discard_draft(req, env, site, by, item).await
                        }
                        (Method::Post, "publish") => {
                            drafts::publish(req, env, site, by, item).await
                        }
                        _ => Err(refuse(405, "method_not_allowed", "not with this method")),
                    }
                }
                (Method::Post, ["campaigns", id, "status"]) => {
                    campaigns::set_status(req, env, site, by, id).await
                }
                (Method::Post, ["campaigns", id, "preview-link"]) => {
                    studio::preview::link(req, env, site, by, id).await
                }
                (Method::Get, ["versions"]) => campaigns::versions(req, env, site, by).await,
                (Method::Get, ["versions", v]) => campaigns::version(env, site, by, v).await,
                (Method::Post, ["versions", v, "rollback"]) => {
                    campaigns::rollback(req, env, site, by, v).await
                }
                (Method::Put, ["config"]) => config::put(req, env, site, by).await,
                (Method::Get, ["destinations"]) => admin::list_destinations(env, site).await,
                (Method::Put, ["destinations"]) => admin::put_destinations(req, env, site).await,
                (Method::Get, ["events"]) => events::recent(req, env, site).await,
                (Method::Get, ["keys"]) => keys::list(env, site).await,
                (Method::Post, ["keys", "rotate"]) => keys::rotate(req, env, site).await,
                (Method::Get, ["merges"]) => admin::merges(req, env, site).await,
                (Method::Post, ["merges", "undo"]) => admin::undo_merge(req, env, site).await,
                (Method::Get, ["dead-letters"]) => admin::dead_letters(req, env, site).await,
                (Method::Post, ["dead-letters", "replay"]) => admin::replay(req, env, site).await,
                (Method::Get, ["campaigns", campaign, "report"]) => {
                    reports::campaign(req, env, site, campaign).await
                }
                (Method::Get, ["reports", "summary"]) => reports::summary(req, env, site).await,
                (Method::Get, ["journeys"]) => journeys::list(env, site).await,
                (Method::Get, ["journeys", "runs"]) => journeys::runs(req, env, site).await,
                (Method::Get, ["journeys", id, "report"]) => {
                    journeys::report(req, env, site, id).await
                }
                (Method::Post, ["journeys", "run-due"]) => journeys::run_due(env, site).await,
                (Method::Post, ["journeys", "settings"]) => {
                    campaigns::set_messaging(req, env, site, by).await
                }
                (Method::Post, ["journeys", id, "status"]) => {
                    campaigns::set_journey(req, env, site, by, id).await
                }
                (Method::Post, ["journeys", id, "dry-run"]) => {
                    journeys::dry_run(req, env, site, by, id).await
                }
                (Method::Post, ["journeys", id, "test-send"]) => {
                    journeys::test_send(req, env, site, by, id).await
                }
                (Method::Put, ["coupon-pools", pool]) => {
                    journeys::add_codes(req, env, site, pool).await
                }
                (Method::Get, ["coupon-pools", pool]) => journeys::pool(env, site, pool).await,
                _ => Err(refuse(404, "not_found", "no such admin endpoint")),
            }
        }
        _ => Err(refuse(404, "not_found", "no such endpoint")),
    }
}
