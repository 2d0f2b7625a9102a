//! The demo shop and the agent, served from the Worker's static assets, with
//! the shop's clean URLs (the same table as demo-shop/server.mjs).

use worker::{Env, Request, Response, Result};

fn rewrite(path: &str) -> Option<&'static str> {
    Some(match path {
        "/" => "/index.html",
        "/cart" => "/cart.html",
        "/checkout" => "/checkout.html",
        "/order-confirmation" => "/confirmation.html",
        p if p.starts_with("/category/") => "/category.html",
        p if p.starts_with("/product/") => "/product.html",
        _ => return None,
    })
}

pub async fn serve(req: Request, env: &Env) -> Result<Response> {
    let assets = env.assets("ASSETS")?;
    match rewrite(&req.path()) {
        Some(page) => {
            let mut url = req.url()?;
            url.set_path(page);
            assets.fetch(url.to_string(), None).await
        }
        None => assets.fetch_request(req).await,
    }
}
