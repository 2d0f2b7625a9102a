//! Cross-origin calls from shop pages: allowed for the origins the site's
//! config lists (and always for the Worker's own origin), refused otherwise,
//! so no other website can feed events into a shop's stream or read its
//! visitors' profiles through their browsers.

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

/// Adds the CORS headers a verdict calls for.
pub fn apply(mut response: Response, verdict: &Verdict) -> Result<Response> {
    if let Verdict::Allowed(origin) = verdict {
        let headers = response.headers_mut();
        headers.set("access-control-allow-origin", origin)?;
        headers.append("vary", "origin")?;
    }
    Ok(response)
}
