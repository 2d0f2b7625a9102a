//! The demo shop and the agent, served from the Worker's static assets, with
//! the shop's clean URLs (demo-shop/routes.json, shared with demo-shop/server.mjs).

use serde_json::Value;
use worker::{Env, Request, Response, Result};

thread_local! {
    static ROUTES: Value =
        serde_json::from_str(include_str!("../../demo-shop/routes.json")).unwrap_or(Value::Null);
}

/// The page a clean URL shows (`/product/trail-runner` → `/product.html`).
fn rewrite(path: &str) -> Option<String> {
    ROUTES.with(|routes| {
        let page = routes["exact"][path].as_str().or_else(|| {
            routes["prefix"]
                .as_object()?
                .iter()
                .find(|(prefix, _)| path.starts_with(prefix.as_str()))
                .and_then(|(_, page)| page.as_str())
        })?;
        Some(format!("/{page}"))
    })
}

/// The agent build this Worker ships (its content hash, from `cargo xtask
/// build-edge`); `None` in builds made another way, which then cache nothing
/// as immutable.
const AGENT_BUILD: Option<&str> = option_env!("NUDGE_AGENT_BUILD");

/// How long browsers keep an agent file. The glue and wasm under the current
/// build's hash never change: a year, immutable (a returning visitor makes
/// no request for them). The loader, whose URL shops embed, is fresh for 5
/// minutes and then used while it revalidates in the background for a week:
/// no request before the agent starts, and a new build reaches visitors on
/// their next page view. Anything else under /nudge/ (an older hash) is
/// revalidated.
fn agent_cache(path: &str, version: Option<&str>) -> Option<&'static str> {
    if !path.starts_with("/nudge/") {
        return None;
    }
    if path == "/nudge/nudge.js" {
        return Some("public, max-age=300, stale-while-revalidate=604800");
    }
    match (version, AGENT_BUILD) {
        (Some(v), Some(build)) if !build.is_empty() && v == build => {
            Some("public, max-age=31536000, immutable")
        }
        _ => Some("no-cache"),
    }
}

pub async fn serve(req: Request, env: &Env) -> Result<Response> {
    let assets = env.assets("ASSETS")?;
    let url = req.url()?;
    let version = url
        .query_pairs()
        .find(|(k, _)| k == "v")
        .map(|(_, v)| v.into_owned());
    let cache = agent_cache(url.path(), version.as_deref());
    let response = match rewrite(url.path()) {
        Some(page) => {
            let mut url = url.clone();
            url.set_path(&page);
            assets.fetch(url.to_string(), None).await?
        }
        None => assets.fetch_request(req).await?,
    };
    let public = crate::http::cors::is_public_agent_file(url.path());
    if !(public || cache.is_some()) || !matches!(response.status_code(), 200 | 304) {
        return Ok(response);
    }
    // A fetched response's headers are immutable: copy them.
    let headers = worker::Headers::new();
    for (name, header) in response.headers().entries() {
        headers.set(&name, &header)?;
    }
    if let Some(value) = cache {
        headers.set("cache-control", value)?;
    }
    if public {
        // The tag is served from the edge's host and runs on the shop's
        // origin: its module import and wasm fetch are cross-origin (CORS
        // mode), and a shop that isolates its pages (COEP) may embed them.
        headers.set("access-control-allow-origin", "*")?;
        headers.set("cross-origin-resource-policy", "cross-origin")?;
        headers.set("timing-allow-origin", "*")?;
    }
    Ok(response.with_headers(headers))
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_the_current_builds_files_are_immutable() {
        use super::agent_cache;
        assert_eq!(
            agent_cache("/nudge/nudge.js", None),
            Some("public, max-age=300, stale-while-revalidate=604800")
        );
        assert_eq!(
            agent_cache("/nudge/nudge_agent_bg.wasm", Some("old")),
            Some("no-cache")
        );
        assert_eq!(agent_cache("/shop.js", None), None);
        if let Some(build) = super::AGENT_BUILD.filter(|b| !b.is_empty()) {
            assert_eq!(
                agent_cache("/nudge/nudge_agent_bg.wasm", Some(build)),
                Some("public, max-age=31536000, immutable")
            );
        }
    }

    #[test]
    fn clean_urls_map_to_pages() {
        assert_eq!(super::rewrite("/").as_deref(), Some("/index.html"));
        assert_eq!(
            super::rewrite("/product/trail-runner").as_deref(),
            Some("/product.html")
        );
        assert_eq!(
            super::rewrite("/order-confirmation").as_deref(),
            Some("/confirmation.html")
        );
        assert_eq!(super::rewrite("/img/logo.svg"), None);
    }
}
