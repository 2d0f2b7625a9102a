//! Cross-origin calls from shop pages: allowed for the origins the site's
//! config lists (and always for the Worker's own origin), refused otherwise,
//! so no other website can feed events into a shop's stream or read its
//! visitors' profiles through their browsers.
//!
//! Two things are readable from any origin, because a shop's tag is usually
//! served from the edge's host, not the shop's: the agent's public files
//! (`/nudge/*`, and the studio build under `/studio/agent/*` that debug mode
//! and preview tabs load), which a module import and a wasm fetch may only
//! use with `Access-Control-Allow-Origin`; and the refusals of the browser
//! endpoints, which carry no data, so the agent can act on a 400 or 429 and
//! debug mode can say why a config was refused instead of a bare CORS error.

use worker::{Request, Response, Result};

use super::{refuse, EdgeError};

/// What the `Origin` header means for this site's request.
pub enum Verdict {
    /// No `Origin` (not a browser's cross-origin call) or the Worker's own.
    SameOrigin,
    /// A listed origin: answer with `Access-Control-Allow-Origin` for it.
    Allowed(String),
}

/// Checks `req`'s origin against the `origins` of the stored config text.
pub fn check(req: &Request, config_text: &str) -> std::result::Result<Verdict, EdgeError> {
    let Some(origin) = req.headers().get("origin")? else {
        return Ok(Verdict::SameOrigin);
    };
    let own = req.url()?.origin().ascii_serialization();
    if origin.eq_ignore_ascii_case(&own) {
        return Ok(Verdict::SameOrigin);
    }
    let listed = serde_json::from_str::<serde_json::Value>(config_text)
        .ok()
        .and_then(|c| c["origins"].as_array().cloned())
        .unwrap_or_default();
    if listed
        .iter()
        .filter_map(|o| o.as_str())
        .any(|o| o.eq_ignore_ascii_case(&origin))
    {
        Ok(Verdict::Allowed(origin))
    } else {
        Err(refuse(
            403,
            "origin_not_allowed",
            format!("{origin} is not in this site's origins"),
        ))
    }
}

/// Adds the CORS headers a verdict calls for. Every answer varies by
/// `Origin`, the same-origin ones too: a browser must not reuse an answer
/// cached for the Worker's own pages (no CORS header) for a shop's page.
pub fn apply(mut response: Response, verdict: &Verdict) -> Result<Response> {
    let headers = response.headers_mut();
    if let Verdict::Allowed(origin) = verdict {
        headers.set("access-control-allow-origin", origin)?;
    }
    headers.append("vary", "origin")?;
    Ok(response)
}

/// The agent's files: public, the same for everyone, never credentialed.
pub fn is_public_agent_file(path: &str) -> bool {
    path.starts_with("/nudge/") || path.starts_with("/studio/agent/")
}

/// The endpoints a shop's page calls from the visitor's browser.
fn is_browser_endpoint(path: &str) -> bool {
    matches!(
        path,
        "/v1/config" | "/v1/events" | "/v1/identify" | "/v1/profile" | "/v1/preview"
    )
}

/// Makes a refusal (or a plain 500) of a browser endpoint readable by the page
/// that asked, whatever its origin: the body is an error code and a message,
/// never data, and the request changed nothing. Without it a 400 would look
/// like a network failure to the agent (retried forever) and a 403 for an
/// unlisted origin would be a bare CORS error in the shop's console.
pub fn share_refusal(mut response: Response, path: &str, origin: Option<&str>) -> Result<Response> {
    if let Some(origin) = origin.filter(|_| is_browser_endpoint(path)) {
        let headers = response.headers_mut();
        headers.set("access-control-allow-origin", origin)?;
        headers.append("vary", "origin")?;
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_agents_files_are_public() {
        for path in [
            "/nudge/nudge.js",
            "/nudge/nudge_agent.js",
            "/nudge/nudge_agent_bg.wasm",
            "/nudge/nudge_render.js",
            "/nudge/nudge_render_bg.wasm",
            "/studio/agent/nudge_agent.js",
            "/studio/agent/nudge_agent_bg.wasm",
        ] {
            assert!(is_public_agent_file(path), "{path}");
        }
        for path in [
            "/studio/",
            "/studio/index.html",
            "/",
            "/shop.js",
            "/v1/config",
        ] {
            assert!(!is_public_agent_file(path), "{path}");
        }
    }

    #[test]
    fn refusals_are_shared_with_pages_only_on_browser_endpoints() {
        for path in [
            "/v1/config",
            "/v1/events",
            "/v1/identify",
            "/v1/profile",
            "/v1/preview",
        ] {
            assert!(is_browser_endpoint(path), "{path}");
        }
        for path in [
            "/v1/admin/sites/demo/events",
            "/v1/studio/session",
            "/v1/hooks/email",
        ] {
            assert!(!is_browser_endpoint(path), "{path}");
        }
    }
}
