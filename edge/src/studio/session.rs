//! Studio sign-in: a site's studio access key (one per role: publisher,
//! editor, viewer) is exchanged for a signed session cookie, HttpOnly and
//! SameSite=Strict (`__Host-` on https), valid 12 hours. Each admin route
//! names the role it needs; the site's bearer admin token works for scripts
//! and acts as a publisher. The two are different secrets: a studio key
//! signs a person into their role and opens nothing else (as a bearer token
//! it is refused), and the admin token does not sign anyone in.
//!
//! The cookie is `<base64url JSON {s: site, r: role, w: who, e: expiry ms,
//! i: session id, g: the role key's generation}>.<HMAC(site's studio key,
//! "studio-session." + payload)>`: only the edge can mint one, and one site's
//! session opens nothing on another. Sessions end on the server too: every
//! admin request reads the site's key generations and revoked sessions from
//! its store (one call), so rotating a role's key ends that role's sessions
//! at once, and signing out revokes the session id (a copied cookie stops
//! working). Writes with the cookie must be JSON and come from the studio's
//! own origin (the `Origin` header browsers send): a page elsewhere cannot
//! make them (no CSRF).

use serde_json::json;
use worker::{Env, Headers, Method, Request, Response};

use crate::http::limits::{self, Bucket, SMALL_BODY_BYTES};
use crate::http::{
    read_json, refuse, site_keys_for_proof, site_keys_fresh, site_keys_unrotated, EdgeError,
    Handled,
};
use crate::keys::{constant_time_eq, open_claims, peek_claims, seal_claims, KeyKind, SiteKeys};
use crate::store::protocol::RevokeSession;

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

    /// The studio access key that opens this role.
    fn key_kind(self) -> KeyKind {
        match self {
            Role::Viewer => KeyKind::Viewer,
            Role::Editor => KeyKind::Editor,
            Role::Publisher => KeyKind::Publisher,
        }
    }

    fn parse(name: &str) -> Option<Role> {
        [Role::Viewer, Role::Editor, Role::Publisher]
            .into_iter()
            .find(|r| r.name() == name)
    }

    /// The role a studio access key opens, compared in constant time. The
    /// admin token opens none: it is the API's secret, not a person's.
    fn of_key(keys: &SiteKeys, given: &str) -> Option<Role> {
        let mut found = None;
        for (key, role) in [
            (&keys.viewer, Role::Viewer),
            (&keys.editor, Role::Editor),
            (&keys.publisher, Role::Publisher),
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

fn cookie_name(req: &Request) -> worker::Result<(String, bool)> {
    crate::http::cookie::full_name(req, COOKIE)
}

/// A session as its cookie carries it.
#[derive(Debug)]
struct Session {
    caller: Caller,
    /// Its id, which sign-out revokes.
    id: String,
    /// Unix ms.
    expires: f64,
}

/// The site and session id of a cookie the edge signed (its session key
/// never rotates, so the signature is checked from the master key alone),
/// before the store is asked whether it was revoked and which generation its
/// role key is at: a forged cookie reaches no store.
fn peek_session(req: &Request, env: &Env) -> Result<Option<(String, String)>, EdgeError> {
    let (name, _) = cookie_name(req)?;
    let Some(value) = crate::http::cookie::value(req, &name)? else {
        return Ok(None);
    };
    let Some(site) = peek_claims(&value)
        .and_then(|claims| claims["s"].as_str().map(str::to_owned))
        .filter(|site| crate::http::is_site_key(site))
    else {
        return Ok(None);
    };
    let keys = site_keys_unrotated(env, &site)?;
    Ok(open_claims(&keys.studio, SESSION_PURPOSE, &value)
        .and_then(|claims| claims["i"].as_str().map(str::to_owned))
        .map(|id| (site, id)))
}

/// The caller the request's cookie proves for `site` now, if it does and the
/// session was not revoked (`revoked` is the store's word on its id).
fn session_of(
    req: &Request,
    keys: &SiteKeys,
    site: &str,
    revoked: bool,
) -> worker::Result<Option<Session>> {
    let (name, _) = cookie_name(req)?;
    let now = worker::Date::now().as_millis() as f64;
    Ok(crate::http::cookie::value(req, &name)?
        .and_then(|v| read_session(keys, site, &v, now))
        .filter(|_| !revoked))
}

/// The session a cookie value proves for `site` at `now`, if it does: signed,
/// unexpired, and minted under its role key's current generation.
fn read_session(keys: &SiteKeys, site: &str, value: &str, now: f64) -> Option<Session> {
    let session = open_claims(&keys.studio, SESSION_PURPOSE, value)?;
    let expires = session["e"].as_f64().filter(|expiry| *expiry > now)?;
    if session["s"] != site {
        return None;
    }
    let role = Role::parse(session["r"].as_str()?)?;
    let generation = keys.generations.of(role.key_kind()).current;
    if session["g"].as_u64() != Some(u64::from(generation)) {
        return None;
    }
    Some(Session {
        caller: Caller {
            role,
            who: session["w"].as_str()?.to_owned(),
        },
        id: session["i"]
            .as_str()
            .filter(|id| !id.is_empty())?
            .to_owned(),
        expires,
    })
}

fn mint_session(keys: &SiteKeys, site: &str, caller: &Caller, id: &str, now: f64) -> String {
    let generation = keys.generations.of(caller.role.key_kind()).current;
    let claims = json!({"s": site, "r": caller.role.name(), "w": caller.who,
                        "e": now + SESSION_MS, "i": id, "g": generation});
    seal_claims(&keys.studio, SESSION_PURPOSE, &claims)
}

/// A fresh session id: 122 random bits from the runtime's CSPRNG.
fn new_session_id() -> Result<String, EdgeError> {
    use worker::js_sys::{global, Function, Reflect};
    use worker::wasm_bindgen::JsCast;
    let failed = |_| EdgeError::Internal("crypto.randomUUID is not available".into());
    let crypto = Reflect::get(&global(), &"crypto".into()).map_err(failed)?;
    let uuid = Reflect::get(&crypto, &"randomUUID".into())
        .map_err(failed)?
        .dyn_into::<Function>()
        .map_err(failed)?
        .call0(&crypto)
        .map_err(failed)?;
    uuid.as_string()
        .ok_or_else(|| EdgeError::Internal("crypto.randomUUID gave no text".into()))
}

/// Authorizes an admin route for `site`: the bearer token, or a session
/// with the role the route needs (and, for writes, a same-origin JSON request).
///
/// The keys come from the site's store on every admin request (not the
/// isolate's cache): a rotated admin token or role key stops at once.
pub async fn authorize(
    req: &Request,
    env: &Env,
    site: &str,
    needs: Needs,
) -> Result<Caller, EdgeError> {
    let bearer = req.headers().get("authorization")?.unwrap_or_default();
    if !bearer.is_empty() {
        let keys = site_keys_for_proof(env, site).await?;
        let token = bearer.strip_prefix("Bearer ").unwrap_or_default();
        if !token.is_empty() && keys.is_admin(token) {
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
    let session = peek_session(req, env)?.filter(|(named, _)| named == site);
    let Some((_, id)) = session else {
        return Err(refuse(
            401,
            "unauthorized",
            "sign in to the studio for this site, or send its bearer token",
        ));
    };
    let (keys, revoked) = site_keys_fresh(env, site, Some(&id)).await?;
    let Some(Session { caller, .. }) = session_of(req, &keys, site, revoked)? else {
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
    let name = super::names::sign_in_name(body["name"].as_str().unwrap_or_default())?;
    // Keys are 256-bit, so guessing is hopeless; the limit keeps it cheap too.
    limits::check(
        env,
        Bucket::Identity,
        &format!("studio:{}", limits::client(&req)),
    )
    .await?;
    // From the store, not a cache: a rotated role key stops signing in at once.
    let keys = site_keys_for_proof(env, site).await?;
    let Some(role) = Role::of_key(&keys, body["key"].as_str().unwrap_or_default()) else {
        return Err(refuse(
            401,
            "bad_credentials",
            "that access key does not open this site",
        ));
    };
    let caller = Caller { role, who: name };
    let (cookie, secure) = cookie_name(&req)?;
    let id = new_session_id()?;
    let value = mint_session(
        &keys,
        site,
        &caller,
        &id,
        worker::Date::now().as_millis() as f64,
    );
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
    // The cookie names its site, whose keys then check it.
    let not_signed_in = || refuse(401, "not_signed_in", "sign in to the studio");
    let (site, id) = peek_session(&req, env)?.ok_or_else(not_signed_in)?;
    let (keys, revoked) = site_keys_fresh(env, &site, Some(&id)).await?;
    let session = session_of(&req, &keys, &site, revoked)?.ok_or_else(not_signed_in)?;
    Ok(session_answer(&site, &session.caller)?)
}

/// `DELETE /v1/studio/session`: signs out. The session's id is revoked in
/// the site's store (until it would have expired), so the cookie stops
/// working everywhere, not only in this browser.
pub async fn sign_out(req: Request, env: &Env) -> Handled {
    if let Some((site, id)) = peek_session(&req, env)? {
        let (keys, revoked) = site_keys_fresh(env, &site, Some(&id)).await?;
        // Only a genuine session is recorded: a forged cookie cannot fill
        // the store with ids.
        if let Some(session) = session_of(&req, &keys, &site, revoked)? {
            let revoke = RevokeSession {
                id: session.id,
                until: session.expires as i64,
            };
            crate::store::call(env, &site, &revoke).await?;
        }
    }
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
    use crate::keys::Generations;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    const MASTER: &str = "test-master-key-0123456789abcdef0123";

    #[test]
    fn each_key_opens_its_role_and_nothing_else() {
        let keys = SiteKeys::derive(MASTER, "demo").unwrap();
        assert_eq!(Role::of_key(&keys, &keys.viewer), Some(Role::Viewer));
        assert_eq!(Role::of_key(&keys, &keys.editor), Some(Role::Editor));
        assert_eq!(Role::of_key(&keys, &keys.publisher), Some(Role::Publisher));
        // The admin token is the API's secret: it signs nobody in.
        assert_eq!(Role::of_key(&keys, &keys.admin), None);
        assert_eq!(Role::of_key(&keys, &keys.signing), None);
        assert_eq!(Role::of_key(&keys, ""), None);
        let other = SiteKeys::derive(MASTER, "other").unwrap();
        assert_eq!(Role::of_key(&keys, &other.publisher), None);
        assert!(Role::Viewer < Role::Editor && Role::Editor < Role::Publisher);
    }

    #[test]
    fn a_session_holds_only_for_its_site_until_it_expires_and_cannot_be_altered() {
        let keys = SiteKeys::derive(MASTER, "demo").unwrap();
        let caller = Caller {
            role: Role::Editor,
            who: "Ann".into(),
        };
        let value = mint_session(&keys, "demo", &caller, "sid-1", 1000.0);
        let read = read_session(&keys, "demo", &value, 2000.0).unwrap();
        assert_eq!(
            (read.caller.role, read.caller.who.as_str(), read.id.as_str()),
            (Role::Editor, "Ann", "sid-1")
        );
        assert!(read_session(&keys, "demo", &value, 1000.0 + SESSION_MS + 1.0).is_none());
        let other = SiteKeys::derive(MASTER, "other").unwrap();
        assert!(read_session(&other, "other", &value, 2000.0).is_none());
        // A promoted role in the payload breaks the signature.
        let (_, signature) = value.split_once('.').unwrap();
        let forged = URL_SAFE_NO_PAD.encode(
            json!({"s": "demo", "r": "publisher", "w": "Ann", "e": 1e15, "i": "x", "g": 0})
                .to_string(),
        );
        assert!(read_session(&keys, "demo", &format!("{forged}.{signature}"), 2000.0).is_none());
        assert!(read_session(&keys, "demo", "garbage", 2000.0).is_none());
    }

    #[test]
    fn rotating_a_role_key_ends_that_roles_sessions_only() {
        let keys = SiteKeys::derive(MASTER, "demo").unwrap();
        let editor = Caller {
            role: Role::Editor,
            who: "Ed".into(),
        };
        let viewer = Caller {
            role: Role::Viewer,
            who: "Vi".into(),
        };
        let ed = mint_session(&keys, "demo", &editor, "e", 1000.0);
        let vi = mint_session(&keys, "demo", &viewer, "v", 1000.0);
        let mut generations = Generations::default();
        generations.editor.current = 1;
        let rotated = SiteKeys::at(MASTER, "demo", &generations, 2000).unwrap();
        assert!(read_session(&rotated, "demo", &ed, 2000.0).is_none());
        assert!(read_session(&rotated, "demo", &vi, 2000.0).is_some());
        assert_eq!(Role::of_key(&rotated, &keys.editor), None);
        assert_eq!(Role::of_key(&rotated, &rotated.editor), Some(Role::Editor));
        // A session from before session ids (no `i`) is not accepted.
        let legacy = seal_claims(
            &keys.studio,
            SESSION_PURPOSE,
            &json!({"s": "demo", "r": "viewer", "w": "Vi", "e": 1e15}),
        );
        assert!(read_session(&keys, "demo", &legacy, 2000.0).is_none());
    }
}
