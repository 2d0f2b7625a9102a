//! The optional first-party cookie for the anonymous id.
//!
//! Browsers cap what scripts may store (Safari deletes script-written storage
//! after 7 days without a visit), so a returning visitor can arrive with a
//! fresh anonymous id. When the Worker serves the API on the shop's own origin
//! (a route such as `shop.example/nudge/*`), it can keep the first id in an
//! HttpOnly cookie set by the server, which those limits do not touch. A
//! browser that comes back with a new id and the cookie is linked to the
//! cookie's person (a merge with proof `first_party_cookie`, undoable).
//!
//! On when the `ANONYMOUS_ID_COOKIE` variable names the cookie; the agent
//! sends same-origin credentials only, so on another origin nothing changes.

use worker::{Env, Request, Response, Result};

/// 400 days: the longest lifetime browsers accept.
const MAX_AGE_S: u32 = 400 * 24 * 3600;

/// The cookie's name, if the deployment turned it on.
pub fn name(env: &Env) -> Option<String> {
    env.var("ANONYMOUS_ID_COOKIE")
        .ok()
        .map(|v| v.to_string())
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
}

/// The anonymous id the request's cookie holds, if it is a plausible one.
fn read(req: &Request, name: &str) -> Result<Option<String>> {
    let header = req.headers().get("cookie")?.unwrap_or_default();
    Ok(header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
        .filter(|value| nudge_core::event::check_identifier(value).is_ok()))
}

/// The deployment's cookie as one request carries it.
pub struct BrowserCookie {
    name: String,
    /// The anonymous id it holds, if the request carried a plausible one.
    pub id: Option<String>,
}

impl BrowserCookie {
    /// `None` when the deployment keeps no cookie.
    pub fn of(req: &Request, env: &Env) -> Result<Option<Self>> {
        let Some(name) = name(env) else {
            return Ok(None);
        };
        let id = read(req, &name)?;
        Ok(Some(BrowserCookie { name, id }))
    }

    /// Refreshes the cookie with the id it holds, or starts it with `fresh`.
    pub fn keep(&self, response: Response, req: &Request, fresh: &str) -> Result<Response> {
        set(
            response,
            req,
            &self.name,
            self.id.as_deref().unwrap_or(fresh),
        )
    }
}

/// Sets (or refreshes: the lifetime slides with each visit) the cookie.
pub fn set(response: Response, req: &Request, name: &str, anonymous_id: &str) -> Result<Response> {
    // Ids the agent makes are cookie-safe; anything else is not stored.
    let cookie_safe = anonymous_id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !cookie_safe {
        return Ok(response);
    }
    // Secure needs https; local http runs (wrangler dev) go without it.
    let secure = if req.url()?.scheme() == "https" {
        "; Secure"
    } else {
        ""
    };
    let mut response = response;
    response.headers_mut().append(
        "set-cookie",
        &format!(
            "{name}={anonymous_id}; Max-Age={MAX_AGE_S}; Path=/; HttpOnly; SameSite=Lax{secure}"
        ),
    )?;
    Ok(response)
}
