//! Studio sign-in: a site's access key (one per role) is exchanged for a
//! signed session cookie, HttpOnly and SameSite=Strict (`__Host-` on https),
//! valid 12 hours. Each admin route names the role it needs; the site's
//! bearer admin token still works for scripts and acts as a publisher.
//!
//! The cookie is `<base64url JSON {s: site, r: role, w: who, e: expiry ms}>.
//! <HMAC(site's studio key, "studio-session." + payload)>`: only the edge can
//! mint one, and one site's session opens nothing on another. Writes with the
//! cookie must be JSON and come from the studio's own origin (the `Origin`
//! header browsers send): a page elsewhere cannot make them (no CSRF).

use serde_json::json;
use worker::{Env, Headers, Method, Request, Response};

use crate::http::limits::{self, Bucket, SMALL_BODY_BYTES};
use crate::http::{read_json, refuse, site_keys, EdgeError, Handled};
use crate::keys::{constant_time_eq, open_claims, peek_claims, seal_claims, SiteKeys};

const COOKIE: &str = "nudge_studio";
const SESSION_MS: f64 = 12.0 * 3600.0 * 1000.0;
/// What a session's signature is for (see `keys::seal_claims`).
const SESSION_PURPOSE: &str = "studio-session";

/// What a signed-in person may do; each role includes the ones below it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Reports only.
    Viewer,
    /// Drafts and preview links.
    Editor,
    /// Publish, pause, roll back.
    Publisher,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Editor => "editor",
            Role::Publisher => "publisher",
        }
    }

    fn parse(name: &str) -> Option<Role> {
        [Role::Viewer, Role::Editor, Role::Publisher]
            .into_iter()
            .find(|r| r.name() == name)
    }

    /// The role an access key opens, compared in constant time.
    fn of_key(keys: &SiteKeys, given: &str) -> Option<Role> {
        let mut found = None;
        for (key, role) in [
            (&keys.viewer, Role::Viewer),
            (&keys.editor, Role::Editor),
            (&keys.admin, Role::Publisher),
        ] {
            if constant_time_eq(key.as_bytes(), given.as_bytes()) {
                found = Some(role);
            }
        }
        found
    }
}

/// What an admin route needs.
#[derive(Clone, Copy, Debug)]
pub enum Needs {
    /// A studio session with at least this role, or the bearer token.
    Role(Role),
    /// The bearer admin token only (destinations, merges, raw events: not studio work).
    Token,
}

/// Who is calling an admin route.
#[derive(Debug, Clone)]
pub struct Caller {
    pub role: Role,
    /// The signed-in person's name, or "admin token".
    pub who: String,
}

/// Where sessions may live: the `STUDIO_HOST` variable names the studio's own
/// host (e.g. `studio.shop.example`), so that no script on the shop's pages
/// shares an origin with a signed-in marketer. Empty (local runs): any host.
fn check_studio_host(req: &Request, env: &Env) -> Result<(), EdgeError> {
    let host = env
        .var("STUDIO_HOST")
        .map(|v| v.to_string())
        .unwrap_or_default();
    if host.is_empty() || req.url()?.host_str() == Some(host.as_str()) {
        return Ok(());
    }
    Err(refuse(
        403,
        "not_studio_host",
        format!(
            "the studio signs in only at {host}: a session on the shop's own origin \
             would be open to every script on the shop"
        ),
    ))
}

/// Names the edge writes into the history itself.
const RESERVED_NAMES: &[&str] = &["admin token", "preview link", "the config before versions"];

fn cookie_name(req: &Request) -> worker::Result<(String, bool)> {
    crate::http::cookie::full_name(req, COOKIE)
}

fn session_of(req: &Request, keys: &SiteKeys, site: &str) -> worker::Result<Option<Caller>> {
    let (name, _) = cookie_name(req)?;
    let now = worker::Date::now().as_millis() as f64;
    Ok(crate::http::cookie::value(req, &name)?.and_then(|v| read_session(keys, site, &v, now)))
}

/// The caller a cookie value proves for `site` at `now`, if it does.
fn read_session(keys: &SiteKeys, site: &str, value: &str, now: f64) -> Option<Caller> {
    let session = open_claims(&keys.studio, SESSION_PURPOSE, value)?;
    let fresh = session["e"].as_f64().is_some_and(|expiry| expiry > now);
    if session["s"] != site || !fresh {
        return None;
    }
    Some(Caller {
        role: Role::parse(session["r"].as_str()?)?,
        who: session["w"].as_str()?.to_owned(),
    })
}

fn mint_session(keys: &SiteKeys, site: &str, caller: &Caller, now: f64) -> String {
    let claims =
        json!({"s": site, "r": caller.role.name(), "w": caller.who, "e": now + SESSION_MS});
    seal_claims(&keys.studio, SESSION_PURPOSE, &claims)
}

/// Authorizes an admin route for `site`: the bearer token, or a session
/// with the role the route needs (and, for writes, a same-origin JSON request).
pub fn authorize(req: &Request, env: &Env, site: &str, needs: Needs) -> Result<Caller, EdgeError> {
    let keys = site_keys(env, site)?;
    let bearer = req.headers().get("authorization")?.unwrap_or_default();
    if !bearer.is_empty() {
        let expected = format!("Bearer {}", keys.admin);
        if constant_time_eq(bearer.as_bytes(), expected.as_bytes()) {
            return Ok(Caller {
                role: Role::Publisher,
                who: "admin token".into(),
            });
        }
        return Err(refuse(
            401,
            "unauthorized",
            "a valid bearer token for this site is required",
        ));
    }
    let Needs::Role(needed) = needs else {
        return Err(refuse(
            401,
            "unauthorized",
            "a valid bearer token for this site is required",
        ));
    };
    check_studio_host(req, env)?;
    let Some(caller) = session_of(req, &keys, site)? else {
        return Err(refuse(
            401,
            "unauthorized",
            "sign in to the studio for this site, or send its bearer token",
        ));
    };
    if req.method() != Method::Get {
        same_origin_json(req)?;
    }
    if caller.role < needed {
        return Err(refuse(
            403,
            "forbidden_role",
            format!(
                "this needs the {} role; you are signed in as {} ({})",
                needed.name(),
                caller.who,
                caller.role.name()
            ),
        ));
    }
    Ok(caller)
}

/// A cookie-authenticated write must be JSON (which a plain HTML form cannot
/// send) and come from this origin.
fn same_origin_json(req: &Request) -> Result<(), EdgeError> {
    let url = req.url()?;
    let own = url.origin().ascii_serialization();
    let origin = req.headers().get("origin")?;
    let json = req
        .headers()
        .get("content-type")?
        .is_some_and(|t| t.starts_with("application/json"));
    if origin.as_deref() == Some(own.as_str()) && json {
        Ok(())
    } else {
        Err(refuse(
            403,
            "cross_origin",
            "studio writes must be JSON requests from the studio's own origin",
        ))
    }
}

/// `POST /v1/studio/session` `{site, key, name}`: signs in.
pub async fn sign_in(mut req: Request, env: &Env) -> Handled {
    check_studio_host(&req, env)?;
    same_origin_json(&req)?;
    let body = read_json(&mut req, SMALL_BODY_BYTES).await?;
    let site = body["site"].as_str().unwrap_or_default();
    if !crate::http::is_site_key(site) {
        return Err(refuse(
            400,
            "bad_site",
            "site must be 1-64 characters of a-z, 0-9, - and _",
        ));
    }
    let name = body["name"].as_str().unwrap_or_default().trim();
    let name_ok = (1..=80).contains(&name.chars().count())
        && !name.chars().any(char::is_control)
        && !RESERVED_NAMES.contains(&name.to_lowercase().as_str());
    if !name_ok {
        return Err(refuse(
            400,
            "bad_name",
            "your name (1-80 characters) is recorded with what you publish",
        ));
    }
    // Keys are 256-bit, so guessing is hopeless; the limit keeps it cheap too.
    limits::check(
        env,
        Bucket::Identity,
        &format!("studio:{}", limits::client(&req)),
    )
    .await?;
    let keys = site_keys(env, site)?;
    let Some(role) = Role::of_key(&keys, body["key"].as_str().unwrap_or_default()) else {
        return Err(refuse(
            401,
            "bad_credentials",
            "that access key does not open this site",
        ));
    };
    let caller = Caller {
        role,
        who: name.to_owned(),
    };
    let (cookie, secure) = cookie_name(&req)?;
    let value = mint_session(&keys, site, &caller, worker::Date::now().as_millis() as f64);
    let secure = if secure { "; Secure" } else { "" };
    let mut response = session_answer(site, &caller)?;
    response.headers_mut().append(
        "set-cookie",
        &format!(
            "{cookie}={value}; Max-Age={}; Path=/; HttpOnly; SameSite=Strict{secure}",
            (SESSION_MS / 1000.0) as u64
        ),
    )?;
    Ok(response)
}

fn session_answer(site: &str, caller: &Caller) -> worker::Result<Response> {
    let headers = Headers::new();
    headers.set("content-type", "application/json; charset=utf-8")?;
    headers.set("cache-control", "no-store")?;
    Ok(Response::ok(
        json!({"site": site, "role": caller.role.name(), "who": caller.who}).to_string(),
    )?
    .with_headers(headers))
}

/// `GET /v1/studio/session`: who is signed in (the cookie names its site).
pub async fn current(req: Request, env: &Env) -> Handled {
    check_studio_host(&req, env)?;
    let (name, _) = cookie_name(&req)?;
    // The cookie names its site, whose key then checks it.
    let site = crate::http::cookie::value(&req, &name)?
        .and_then(|v| peek_claims(&v))
        .and_then(|session| session["s"].as_str().map(str::to_owned))
        .filter(|site| crate::http::is_site_key(site));
    let not_signed_in = || refuse(401, "not_signed_in", "sign in to the studio");
    let site = site.ok_or_else(not_signed_in)?;
    let keys = site_keys(env, &site)?;
    let caller = session_of(&req, &keys, &site)?.ok_or_else(not_signed_in)?;
    Ok(session_answer(&site, &caller)?)
}

/// `DELETE /v1/studio/session`: signs out.
pub async fn sign_out(req: Request) -> Handled {
    let (cookie, secure) = cookie_name(&req)?;
    let secure = if secure { "; Secure" } else { "" };
    let mut response = crate::http::json_response(200, &json!({"signed_out": true}))?;
    response.headers_mut().append(
        "set-cookie",
        &format!("{cookie}=; Max-Age=0; Path=/; HttpOnly; SameSite=Strict{secure}"),
    )?;
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    const MASTER: &str = "test-master-key-0123456789abcdef0123";

    #[test]
    fn each_key_opens_its_role_and_nothing_else() {
        let keys = SiteKeys::derive(MASTER, "demo").unwrap();
        assert_eq!(Role::of_key(&keys, &keys.viewer), Some(Role::Viewer));
        assert_eq!(Role::of_key(&keys, &keys.editor), Some(Role::Editor));
        assert_eq!(Role::of_key(&keys, &keys.admin), Some(Role::Publisher));
        assert_eq!(Role::of_key(&keys, &keys.signing), None);
        assert_eq!(Role::of_key(&keys, ""), None);
        let other = SiteKeys::derive(MASTER, "other").unwrap();
        assert_eq!(Role::of_key(&keys, &other.admin), None);
        assert!(Role::Viewer < Role::Editor && Role::Editor < Role::Publisher);
    }

    #[test]
    fn a_session_holds_only_for_its_site_until_it_expires_and_cannot_be_altered() {
        let keys = SiteKeys::derive(MASTER, "demo").unwrap();
        let caller = Caller {
            role: Role::Editor,
            who: "Ann".into(),
        };
        let value = mint_session(&keys, "demo", &caller, 1000.0);
        let read = read_session(&keys, "demo", &value, 2000.0).unwrap();
        assert_eq!((read.role, read.who.as_str()), (Role::Editor, "Ann"));
        assert!(read_session(&keys, "demo", &value, 1000.0 + SESSION_MS + 1.0).is_none());
        let other = SiteKeys::derive(MASTER, "other").unwrap();
        assert!(read_session(&other, "other", &value, 2000.0).is_none());
        // A promoted role in the payload breaks the signature.
        let (_, signature) = value.split_once('.').unwrap();
        let forged = URL_SAFE_NO_PAD
            .encode(json!({"s": "demo", "r": "publisher", "w": "Ann", "e": 1e15}).to_string());
        assert!(read_session(&keys, "demo", &format!("{forged}.{signature}"), 2000.0).is_none());
        assert!(read_session(&keys, "demo", "garbage", 2000.0).is_none());
    }
}
