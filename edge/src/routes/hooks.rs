//! `POST /v1/hooks/{channel}?site=`: offsite events (a coupon an email gave,
//! an unsubscribe), signed Standard-Webhooks style with the *site's* webhook
//! secret: a signature made for one site is refused on every other. The
//! channel `backend` is the shop's own server vouching for a customer's
//! contact details (`identify`); it signs with the site's signing key, so an
//! email or SMS tool holding the webhook secret cannot mark a number verified.

use serde_json::json;
use worker::{Env, Request};

use crate::http::limits::{self, Bucket, SMALL_BODY_BYTES};
use crate::http::{
    is_site_key, ok, parse_json, read_body, refuse, site_config, site_keys, site_param, Handled,
};
use crate::keys::SiteKeys;
use crate::tokens;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::store::hooks::BACKEND_CHANNEL;
use crate::store::protocol::Hook;

pub async fn hook(mut req: Request, env: &Env, channel: &str) -> Handled {
    let site = site_param(&req)?;
    if !is_site_key(channel) {
        return Err(refuse(404, "not_found", "expected /v1/hooks/{channel}"));
    }
    // Only a site that exists: a webhook for a made-up site name would
    // otherwise create its store and persons (every site name has keys).
    site_config(env, &site).await?;
    let headers = req.headers();
    let (Some(id), Some(timestamp), Some(signature)) = (
        headers.get("webhook-id")?,
        headers.get("webhook-timestamp")?,
        headers.get("webhook-signature")?,
    ) else {
        return Err(refuse(
            401,
            "unsigned",
            "webhook-id, webhook-timestamp and webhook-signature are required",
        ));
    };
    if !valid_webhook_id(&id) {
        return Err(refuse(
            400,
            "bad_webhook_id",
            "webhook-id must be 1-200 printable ASCII characters",
        ));
    }
    let keys = site_keys(env, &site).await?;
    let body = read_body(&mut req, SMALL_BODY_BYTES).await?;
    let now = (worker::Date::now().as_millis() / 1000) as i64;
    let check =
        |keys: &SiteKeys| verify_under_any(keys, channel, &id, &timestamp, &body, &signature, now);
    let mut verdict = check(&keys);
    // Signed under a key rotated in through another isolate? Ask the store
    // once (at most every 2 s per site and isolate).
    if verdict == Err(tokens::NO_VALID_SIGNATURE) {
        if let Some(fresh) = crate::http::site_keys_after_miss(env, &site).await? {
            verdict = check(&fresh);
        }
    }
    verdict.map_err(|reason| refuse(401, "bad_signature", reason))?;
    // Counted after the signature: unsigned floods cannot use up the budget
    // of the site's real webhooks.
    limits::check(env, Bucket::Hooks, &format!("{site}:{channel}")).await?;
    let event = parse_json(&body)?;
    let hook = Hook {
        id,
        channel: channel.to_owned(),
        event,
        objects: 0,
    };
    crate::store::call(env, &site, &hook).await?;
    ok(&json!({"applied": true}))
}

/// Verifies a webhook under each secret the channel accepts now: the current
/// one, and during a rollover the previous one. (A sender rolling over may
/// also put both signatures in one header, as Standard Webhooks allows.)
fn verify_under_any(
    keys: &SiteKeys,
    channel: &str,
    id: &str,
    timestamp: &str,
    body: &str,
    signature: &str,
    now: i64,
) -> Result<(), &'static str> {
    // The shop's own backend signs with the site's signing key (which the
    // email/SMS tools never hold): only it may vouch for contact details.
    let secrets: Vec<String> = if channel == BACKEND_CHANNEL {
        keys.signing_keys()
            .map(|key| format!("whsec_{}", STANDARD.encode(key.as_bytes())))
            .collect()
    } else {
        keys.webhook_secrets().map(str::to_owned).collect()
    };
    let mut verdict = Err(tokens::NO_VALID_SIGNATURE);
    for secret in &secrets {
        verdict = tokens::verify_webhook(secret, id, timestamp, body, signature, now);
        if verdict != Err(tokens::NO_VALID_SIGNATURE) {
            break;
        }
    }
    verdict
}

/// A webhook id is the key its event is stored and de-duplicated under:
/// printable ASCII only, so no control character reaches the log or a header.
fn valid_webhook_id(id: &str) -> bool {
    (1..=200).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_ids_are_printable() {
        assert!(valid_webhook_id("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"));
        for bad in ["", "a\tb", "a\u{7f}b", "a\u{1}b", "é"] {
            assert!(!valid_webhook_id(bad), "{bad:?}");
        }
        assert!(!valid_webhook_id(&"x".repeat(201)));
    }
}
