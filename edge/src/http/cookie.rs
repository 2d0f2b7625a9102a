//! The optional first-party cookie for the anonymous id.
//!
//! Browsers cap what scripts may store (Safari deletes script-written storage
//! after 7 days without a visit), so a returning visitor can arrive with a
//! fresh anonymous id. When the Worker serves the API on the shop's own origin
//! (a route such as `shop.example/nudge/*`), it keeps the first id in an
//! HttpOnly cookie set by the server, which those limits do not touch.
//!
//! The cookie is proof, so it is signed: `<anonymous id>.<HMAC(site's
//! signing key, "cookie.<site>.<id>")>`. A cookie naming someone else's id
//! fails the check and is ignored; only the edge can mint one. On https it is
//! `__Host-` prefixed (Secure, Path=/, no Domain: no subdomain can plant it).
//! It links a browser to a person only on the agent's `POST /v1/events`, as
//! a logged, undoable merge with proof `signed_cookie`; reads never link. It
//! is minted only for a browser that presented its key (`store::events`), so
//! knowing an anonymous id never earns its cookie.
//!
//! On when the `ANONYMOUS_ID_COOKIE` variable names the cookie; the agent
//! sends same-origin credentials only, so on another origin nothing changes.

use worker::{Env, Request, Response, Result};

use crate::keys::{sign, verify, SiteKeys};

/// 400 days: the longest lifetime browsers accept.
const MAX_AGE_S: u32 = 400 * 24 * 3600;

/// The cookie's base name, if the deployment turned it on.
fn base_name(env: &Env) -> Option<String> {
    env.var("ANONYMOUS_ID_COOKIE")
        .ok()
        .map(|v| v.to_string())
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
}

/// The name on this request's scheme: `__Host-` on https (and whether it is).
pub fn full_name(req: &Request, base: &str) -> Result<(String, bool)> {
    let https = req.url()?.scheme() == "https";
    Ok(if https {
        (format!("__Host-{base}"), true)
    } else {
        (base.to_owned(), false)
    })
}

fn signature(keys: &SiteKeys, site: &str, anonymous_id: &str) -> String {
    sign(&keys.signing, &format!("cookie.{site}.{anonymous_id}"))
}

/// The anonymous id a cookie value proves, if its signature holds under a
/// signing key accepted now (after a rotation, the previous one during its
/// window: a cookie is re-signed with the current key on the next visit).
pub fn verified_id(keys: &SiteKeys, site: &str, value: &str) -> Option<String> {
    let (id, sig) = value.rsplit_once('.')?;
    if nudge_core::event::check_identifier(id).is_err() {
        return None;
    }
    let message = format!("cookie.{site}.{id}");
    keys.signing_keys()
        .any(|key| verify(key, &message, sig))
        .then(|| id.to_owned())
}

/// The value of the request's cookie `name`, if it carries one.
pub fn value(req: &Request, name: &str) -> Result<Option<String>> {
    let header = req.headers().get("cookie")?.unwrap_or_default();
    Ok(header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned()))
}

/// The deployment's cookie as one request carries it.
pub struct BrowserCookie {
    name: String,
    secure: bool,
    /// The anonymous id it proves, if the request carried a validly signed one.
    pub id: Option<String>,
    /// The request carried one, signed or not (a refused one may be signed
    /// under a key this isolate has not heard of yet).
    pub presented: bool,
}

impl BrowserCookie {
    /// `None` when the deployment keeps no cookie.
    pub fn of(req: &Request, env: &Env, keys: &SiteKeys, site: &str) -> Result<Option<Self>> {
        let Some(base) = base_name(env) else {
            return Ok(None);
        };
        let (name, secure) = full_name(req, &base)?;
        let presented = value(req, &name)?;
        let id = presented
            .as_deref()
            .and_then(|v| verified_id(keys, site, v));
        Ok(Some(BrowserCookie {
            name,
            secure,
            id,
            presented: presented.is_some(),
        }))
    }

    /// Refreshes the cookie with the id it holds, or starts it with `fresh`.
    pub fn keep(
        &self,
        response: Response,
        keys: &SiteKeys,
        site: &str,
        fresh: &str,
    ) -> Result<Response> {
        self.set(response, keys, site, self.id.as_deref().unwrap_or(fresh))
    }

    /// Expires the cookie (the visitor signed out).
    pub fn clear(&self, mut response: Response) -> Result<Response> {
        let secure = if self.secure { "; Secure" } else { "" };
        response.headers_mut().append(
            "set-cookie",
            &format!(
                "{}=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax{secure}",
                self.name
            ),
        )?;
        Ok(response)
    }

    /// Sets (or refreshes: the lifetime slides with each visit) the cookie.
    fn set(
        &self,
        mut response: Response,
        keys: &SiteKeys,
        site: &str,
        anonymous_id: &str,
    ) -> Result<Response> {
        // Ids the agent makes are cookie-safe; anything else is not stored.
        let cookie_safe = anonymous_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'));
        if !cookie_safe || anonymous_id.is_empty() {
            return Ok(response);
        }
        // Secure needs https; local http runs (wrangler dev) go without it.
        let secure = if self.secure { "; Secure" } else { "" };
        let value = format!("{anonymous_id}.{}", signature(keys, site, anonymous_id));
        response.headers_mut().append(
            "set-cookie",
            &format!(
                "{}={value}; Max-Age={MAX_AGE_S}; Path=/; HttpOnly; SameSite=Lax{secure}",
                self.name
            ),
        )?;
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_cookie_the_edge_signed_names_a_browser() {
        let keys = SiteKeys::derive("test-master-key-0123456789abcdef0123", "demo").unwrap();
        let value = format!("anon-1.{}", signature(&keys, "demo", "anon-1"));
        assert_eq!(
            verified_id(&keys, "demo", &value).as_deref(),
            Some("anon-1")
        );
        // Someone else's id with a made-up or borrowed signature.
        let forged = format!("anon-2.{}", signature(&keys, "demo", "anon-1"));
        assert_eq!(verified_id(&keys, "demo", &forged), None);
        assert_eq!(verified_id(&keys, "demo", "anon-2"), None);
        // Signed for another site.
        assert_eq!(verified_id(&keys, "other", &value), None);
    }
}
