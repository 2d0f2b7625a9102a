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

pub async fn serve(req: Request, env: &Env) -> Result<Response> {
    let assets = env.assets("ASSETS")?;
    match rewrite(&req.path()) {
        Some(page) => {
            let mut url = req.url()?;
            url.set_path(&page);
            assets.fetch(url.to_string(), None).await
        }
        None => assets.fetch_request(req).await,
    }
}

#[cfg(test)]
mod tests {
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
