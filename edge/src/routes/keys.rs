//! A site's keys, rotated one at a time by its owner (bearer admin token
//! only; `studio::needs` gives these routes no studio role):
//!
//! - `GET /v1/admin/sites/{site}/keys`: each key's generation and, during a
//!   rollover, until when the previous one is still accepted. Never a key.
//! - `POST /v1/admin/sites/{site}/keys/rotate` `{"key", "expires_in"?}`: the
//!   key's next generation becomes current and the answer carries it (the
//!   only time the API shows a key: the owner needs it, and the master key
//!   it derives from stays with the deployment). The signing key and the
//!   webhook secret roll over like Stripe's: the old one is still accepted
//!   for `expires_in` seconds (default 7 days, at most 30, 0 = it stops now),
//!   so links already emailed keep working. The old admin token stops at
//!   once (or within `expires_in`, at most an hour). A role key has no
//!   window: rotating it ends that role's studio sessions at once.
//!
//! Other sites, the master key, studio sessions of other roles and sealed
//! destination credentials are untouched (`keys`).

use serde_json::{json, Value};
use worker::{Env, Request};

use crate::http::limits::SMALL_BODY_BYTES;
use crate::http::{ok, read_json, refuse, site_keys_fresh, EdgeError, Handled};
use crate::keys::{constant_time_eq, Generation, Generations, KeyKind, SiteKeys};
use crate::store::protocol::RotateKey;

/// What the API says of one key's generation (never the key).
fn describe(generation: &Generation, now: i64) -> Value {
    let previous = generation.previous_at(now).map(
        |previous| json!({"generation": previous, "accepted_until": generation.previous_until}),
    );
    json!({
        "generation": generation.current,
        "rotated_at": generation.rotated_at,
        "previous": previous,
    })
}

fn describe_all(generations: &Generations, now: i64) -> Value {
    let mut keys = serde_json::Map::new();
    for kind in KeyKind::ALL {
        keys.insert(kind.name().into(), describe(generations.of(kind), now));
    }
    Value::Object(keys)
}

fn now_ms() -> i64 {
    worker::Date::now().as_millis() as i64
}

/// `GET …/keys`.
pub async fn list(env: &Env, site: &str) -> Handled {
    let (keys, _) = site_keys_fresh(env, site, None).await?;
    ok(&json!({"site": site, "keys": describe_all(&keys.generations, now_ms())}))
}

/// The window the request asks the old key to keep, in seconds, checked
/// against what `kind` allows.
fn window_s(kind: KeyKind, asked: &Value) -> Result<i64, EdgeError> {
    let (default, max) = kind.window_s();
    if asked.is_null() {
        return Ok(default);
    }
    let Some(seconds) = asked.as_i64().filter(|s| (0..=max).contains(s)) else {
        let message = if max == 0 {
            format!(
                "rotating the {} key ends its sessions at once: expires_in must be 0 or absent",
                kind.name()
            )
        } else {
            format!("expires_in must be whole seconds from 0 to {max}")
        };
        return Err(refuse(400, "bad_window", message));
    };
    Ok(seconds)
}

/// The text of `kind`'s current key.
fn current(keys: &SiteKeys, kind: KeyKind) -> &str {
    match kind {
        KeyKind::Signing => &keys.signing,
        KeyKind::Webhook => &keys.webhook,
        KeyKind::Admin => &keys.admin,
        KeyKind::Publisher => &keys.publisher,
        KeyKind::Editor => &keys.editor,
        KeyKind::Viewer => &keys.viewer,
    }
}

/// `POST …/keys/rotate`. Only the current admin token rotates: one that is
/// itself being rotated out (still accepted elsewhere within its window)
/// cannot rotate the owner out or mint itself a fresh signing key. Only a
/// site with a config has rotated keys: one without is at generation 0
/// everywhere (`http::site_keys_for_proof` reads no store for it).
pub async fn rotate(mut req: Request, env: &Env, site: &str) -> Handled {
    crate::http::site_config(env, site).await?;
    let (keys, _) = site_keys_fresh(env, site, None).await?;
    let bearer = req.headers().get("authorization")?.unwrap_or_default();
    let token = bearer.strip_prefix("Bearer ").unwrap_or_default();
    if !constant_time_eq(keys.admin.as_bytes(), token.as_bytes()) {
        return Err(refuse(
            403,
            "current_admin_token_required",
            "only the current admin token rotates keys, not one in its rollover window",
        ));
    }
    let body = read_json(&mut req, SMALL_BODY_BYTES).await?;
    let Some(kind) = body["key"].as_str().and_then(KeyKind::parse) else {
        return Err(refuse(
            400,
            "unknown_key",
            "key must be one of signing, webhook, admin, publisher, editor, viewer",
        ));
    };
    let window = window_s(kind, &body["expires_in"])?;
    let rotate = RotateKey {
        key: kind,
        window_ms: window * 1000,
    };
    crate::store::call(env, site, &rotate).await?;
    // Read back (and cached in this isolate): the answer is what is in force.
    let (keys, _) = site_keys_fresh(env, site, None).await?;
    let now = now_ms();
    let mut answer = describe(keys.generations.of(kind), now);
    answer["key"] = kind.name().into();
    answer["value"] = current(&keys, kind).into();
    answer["site"] = site.into();
    Ok(crate::http::json_response(200, &answer)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_bounded_by_what_each_key_allows() {
        let code = |r: Result<i64, EdgeError>| match r {
            Err(EdgeError::Refused(refusal)) => refusal.code,
            _ => "accepted",
        };
        assert_eq!(
            window_s(KeyKind::Signing, &Value::Null).ok(),
            Some(7 * 86400)
        );
        assert_eq!(window_s(KeyKind::Webhook, &json!(0)).ok(), Some(0));
        assert_eq!(
            code(window_s(KeyKind::Signing, &json!(31 * 86400))),
            "bad_window"
        );
        assert_eq!(code(window_s(KeyKind::Signing, &json!(-1))), "bad_window");
        assert_eq!(code(window_s(KeyKind::Signing, &json!("7d"))), "bad_window");
        assert_eq!(window_s(KeyKind::Admin, &Value::Null).ok(), Some(0));
        assert_eq!(code(window_s(KeyKind::Admin, &json!(7200))), "bad_window");
        assert_eq!(window_s(KeyKind::Editor, &json!(0)).ok(), Some(0));
        assert_eq!(code(window_s(KeyKind::Editor, &json!(60))), "bad_window");
    }

    #[test]
    fn a_description_names_generations_never_keys() {
        let generation = Generation {
            current: 2,
            previous: Some(1),
            previous_until: Some(5000),
            rotated_at: Some(1000),
        };
        assert_eq!(
            describe(&generation, 2000),
            json!({"generation": 2, "rotated_at": 1000, "previous": {"generation": 1, "accepted_until": 5000}})
        );
        assert_eq!(describe(&generation, 5000)["previous"], Value::Null);
    }
}
