//! Proofs of identity and of origin, all HMAC-SHA256:
//! - user tokens, signed by the shop's backend for a logged-in customer;
//! - click tokens, carried by email/SMS links (`?nudge_t=`), expiring and single-use;
//! - Standard Webhooks signatures on inbound offsite events.
//!
//! Formats (the shop's side is a few lines in any language; see README):
//! - user token:  `u1.<b64url(user_id)>.<expires unix s>.<b64url(sig)>`,
//!   sig = HMAC(site signing key, "u1.<site>.<user_id>.<expires>")
//! - user token with contact details the shop vouches for (a verified email
//!   or phone, the only way besides an SMS link for a number to receive SMS):
//!   `u2.<b64url(json {"u": user_id, "e": email?, "p": phone?})>.<expires>.<b64url(sig)>`,
//!   sig = HMAC(site signing key, "u2.<site>.<payload part>.<expires>")
//! - click token: `c1.<b64url(json {"u": user_id?, "e": email?, "p": phone?, "x": expires, "n": nonce})>.<b64url(sig)>`,
//!   sig = HMAC(site signing key, "c1.<site>.<payload part>"); at most 30 days long.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// Who a verified token says the visitor is.
#[derive(Debug, PartialEq)]
pub enum Proven {
    UserId(String),
    /// SHA-256 (hex) of the normalized email address.
    EmailHash(String),
    /// SHA-256 (hex) of the E.164 phone number (an SMS link).
    PhoneHash(String),
}

#[derive(Debug, PartialEq)]
pub struct ClickToken {
    pub who: Proven,
    pub nonce: String,
    pub expires: i64,
    /// The address the link was sent to, which it proves.
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// A verified user token: the user id and the contact details it vouches for.
#[derive(Debug, PartialEq)]
pub struct UserToken {
    pub user_id: String,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// What a token signed under another key is refused with (callers try the
/// site's previous key on it, during a rollover).
pub const BAD_SIGNATURE: &str = "bad signature";

/// Click tokens may not live longer than this (used nonces are kept longer).
pub const MAX_CLICK_TOKEN_S: i64 = 30 * 24 * 3600;

fn mac(secret: &[u8], message: &str) -> Option<HmacSha256> {
    let mut mac = HmacSha256::new_from_slice(secret).ok()?;
    mac.update(message.as_bytes());
    Some(mac)
}

/// Constant-time check of a base64url signature over `message`.
fn signed(secret: &[u8], message: &str, signature_b64: &str) -> bool {
    let (Some(mac), Ok(signature)) = (mac(secret, message), URL_SAFE_NO_PAD.decode(signature_b64))
    else {
        return false;
    };
    mac.verify_slice(&signature).is_ok()
}

/// Verifies a user token (`u1` or `u2`) for `site` at `now` (unix seconds).
pub fn verify_user_token(
    secret: &[u8],
    site: &str,
    token: &str,
    now: i64,
) -> Result<UserToken, &'static str> {
    let parts: Vec<&str> = token.split('.').collect();
    if let ["u2", payload_b64, expires, signature] = parts.as_slice() {
        let expires: i64 = expires.parse().map_err(|_| "the expiry is not a number")?;
        if !signed(
            secret,
            &format!("u2.{site}.{payload_b64}.{expires}"),
            signature,
        ) {
            return Err(BAD_SIGNATURE);
        }
        if expires < now {
            return Err("expired");
        }
        let payload: serde_json::Value = URL_SAFE_NO_PAD
            .decode(payload_b64)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or("the payload is not base64url JSON")?;
        let user_id = payload["u"].as_str().ok_or("no user id")?.to_owned();
        nudge_core::event::check_identifier(&user_id)
            .map_err(|_| "the user id is not a real identifier")?;
        let text = |k: &str| payload[k].as_str().map(str::to_owned);
        return Ok(UserToken {
            user_id,
            email: text("e"),
            phone: text("p"),
        });
    }
    let ["u1", user_b64, expires, signature] = parts.as_slice() else {
        return Err("not a user token (u1.<user>.<expires>.<signature> or u2.<payload>.<expires>.<signature>)");
    };
    let user_id = URL_SAFE_NO_PAD
        .decode(user_b64)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or("the user id is not base64url UTF-8")?;
    let expires: i64 = expires.parse().map_err(|_| "the expiry is not a number")?;
    if !signed(secret, &format!("u1.{site}.{user_id}.{expires}"), signature) {
        return Err(BAD_SIGNATURE);
    }
    if expires < now {
        return Err("expired");
    }
    nudge_core::event::check_identifier(&user_id)
        .map_err(|_| "the user id is not a real identifier")?;
    Ok(UserToken {
        user_id,
        email: None,
        phone: None,
    })
}

/// Verifies a click token's signature and expiry (single use is the caller's
/// job: it records the nonce).
pub fn verify_click_token(
    secret: &[u8],
    site: &str,
    token: &str,
    now: i64,
) -> Result<ClickToken, &'static str> {
    let parts: Vec<&str> = token.split('.').collect();
    let ["c1", payload_b64, signature] = parts.as_slice() else {
        return Err("not a click token (c1.<payload>.<signature>)");
    };
    if !signed(secret, &format!("c1.{site}.{payload_b64}"), signature) {
        return Err(BAD_SIGNATURE);
    }
    let payload: serde_json::Value = URL_SAFE_NO_PAD
        .decode(payload_b64)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or("the payload is not base64url JSON")?;
    let expires = payload["x"].as_i64().ok_or("no expiry")?;
    if expires < now {
        return Err("expired");
    }
    if expires - now > MAX_CLICK_TOKEN_S {
        return Err("lives longer than 30 days");
    }
    let nonce = payload["n"]
        .as_str()
        .filter(|n| n.len() >= 8)
        .ok_or("no nonce")?
        .to_owned();
    let (email, phone) = (payload["e"].as_str(), payload["p"].as_str());
    let who = match (payload["u"].as_str(), email, phone) {
        (Some(user), _, _) => {
            nudge_core::event::check_identifier(user)
                .map_err(|_| "the user id is not a real identifier")?;
            Proven::UserId(user.to_owned())
        }
        (None, Some(email), _) => {
            Proven::EmailHash(email_hash(email).ok_or("the email is not valid")?)
        }
        (None, None, Some(phone)) => {
            Proven::PhoneHash(phone_hash(phone).ok_or("the phone is not valid")?)
        }
        _ => return Err("names no user id, email or phone"),
    };
    Ok(ClickToken {
        who,
        nonce,
        expires,
        email: email.map(str::to_owned),
        phone: phone.map(str::to_owned),
    })
}

/// SHA-256 (hex) of a normalized email (trimmed, lowercased); `None` if it is not an email.
pub fn email_hash(email: &str) -> Option<String> {
    let normalized = nudge_core::capture::normalize_email(email)
        .ok()?
        .to_lowercase();
    Some(sha256_hex(&normalized))
}

/// SHA-256 (hex) of an E.164 phone number.
pub fn phone_hash(phone: &str) -> Option<String> {
    let normalized = nudge_core::capture::normalize_phone(phone).ok()?;
    Some(sha256_hex(&normalized))
}

/// SHA-256 of `text`, as lowercase hex.
pub fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What a webhook signed under another secret is refused with.
pub const NO_VALID_SIGNATURE: &str = "no valid v1 signature";

/// How far a webhook's timestamp may be from now (Standard Webhooks' default).
pub const WEBHOOK_TOLERANCE_S: i64 = 5 * 60;

/// The key bytes of a Standard Webhooks secret (`whsec_<base64>`).
fn webhook_key(secret: &str) -> Result<Vec<u8>, &'static str> {
    STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .map_err(|_| "the webhook secret is not whsec_/base64")
}

/// The `webhook-signature` header value for a Standard Webhooks message.
pub fn sign_webhook(
    secret: &str,
    id: &str,
    timestamp: &str,
    body: &str,
) -> Result<String, &'static str> {
    let mac = mac(&webhook_key(secret)?, &format!("{id}.{timestamp}.{body}"))
        .ok_or("the webhook secret is not a usable key")?;
    Ok(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// Verifies Standard Webhooks headers: `webhook-signature` holds space-separated
/// `v1,<base64 HMAC(secret, "<id>.<timestamp>.<body>")>`; the secret is `whsec_<base64>`.
pub fn verify_webhook(
    secret: &str,
    id: &str,
    timestamp: &str,
    body: &str,
    signatures: &str,
    now: i64,
) -> Result<(), &'static str> {
    let key = webhook_key(secret)?;
    let at: i64 = timestamp
        .parse()
        .map_err(|_| "webhook-timestamp is not a number")?;
    if (now - at).abs() > WEBHOOK_TOLERANCE_S {
        return Err("webhook-timestamp is outside the tolerance");
    }
    let message = format!("{id}.{timestamp}.{body}");
    let valid = signatures
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1,"))
        .any(|sig| match (mac(&key, &message), STANDARD.decode(sig)) {
            (Some(mac), Ok(sig)) => mac.verify_slice(&sig).is_ok(),
            _ => false,
        });
    if valid {
        Ok(())
    } else {
        Err(NO_VALID_SIGNATURE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(secret: &[u8], message: &str) -> String {
        URL_SAFE_NO_PAD.encode(mac(secret, message).unwrap().finalize().into_bytes())
    }

    #[test]
    fn user_tokens() {
        let user = URL_SAFE_NO_PAD.encode("user-42");
        let token = format!("u1.{user}.2000.{}", sign(b"s", "u1.demo.user-42.2000"));
        assert_eq!(
            verify_user_token(b"s", "demo", &token, 1000).map(|t| t.user_id),
            Ok("user-42".into())
        );
        let payload = URL_SAFE_NO_PAD.encode(r#"{"u":"user-42","p":"+15551234567"}"#);
        let v2 = format!(
            "u2.{payload}.2000.{}",
            sign(b"s", &format!("u2.demo.{payload}.2000"))
        );
        let verified = verify_user_token(b"s", "demo", &v2, 1000).unwrap();
        assert_eq!(verified.phone.as_deref(), Some("+15551234567"));
        assert_eq!(
            verify_user_token(b"s", "other", &v2, 1000),
            Err(BAD_SIGNATURE)
        );
        assert_eq!(
            verify_user_token(b"s", "demo", &token, 3000),
            Err("expired")
        );
        assert_eq!(
            verify_user_token(b"s", "other", &token, 1000),
            Err(BAD_SIGNATURE)
        );
        assert_eq!(
            verify_user_token(b"t", "demo", &token, 1000),
            Err(BAD_SIGNATURE)
        );
        let undefined = URL_SAFE_NO_PAD.encode("undefined");
        let junk = format!(
            "u1.{undefined}.2000.{}",
            sign(b"s", "u1.demo.undefined.2000")
        );
        assert!(verify_user_token(b"s", "demo", &junk, 1000).is_err());
    }

    #[test]
    fn click_tokens() {
        let payload = URL_SAFE_NO_PAD.encode(r#"{"e":"Ada@Example.com","x":2000,"n":"nonce-123"}"#);
        let token = format!("c1.{payload}.{}", sign(b"s", &format!("c1.demo.{payload}")));
        let verified = verify_click_token(b"s", "demo", &token, 1000).unwrap();
        assert_eq!(
            verified.who,
            Proven::EmailHash(email_hash("ada@example.com").unwrap())
        );
        assert_eq!(
            verify_click_token(b"s", "demo", &token, 2001).unwrap_err(),
            "expired"
        );
        let tampered = token.replacen("c1.", "c1.x", 1);
        assert!(verify_click_token(b"s", "demo", &tampered, 1000).is_err());
    }

    #[test]
    fn webhooks() {
        let secret = format!("whsec_{}", STANDARD.encode(b"hook-secret"));
        let sig = STANDARD.encode(
            mac(b"hook-secret", "msg_1.1000.{}")
                .unwrap()
                .finalize()
                .into_bytes(),
        );
        assert_eq!(
            verify_webhook(
                &secret,
                "msg_1",
                "1000",
                "{}",
                &format!("v1,bogus v1,{sig}"),
                1100
            ),
            Ok(())
        );
        assert_eq!(
            sign_webhook(&secret, "msg_1", "1000", "{}"),
            Ok(format!("v1,{sig}"))
        );
        assert!(sign_webhook("whsec_not base64!", "msg_1", "1000", "{}").is_err());
        assert!(
            verify_webhook(&secret, "msg_1", "1000", "{ }", &format!("v1,{sig}"), 1100).is_err()
        );
        assert!(verify_webhook(
            &secret,
            "msg_1",
            "1000",
            "{}",
            &format!("v1,{sig}"),
            1000 + 301
        )
        .is_err());
    }
}
