//! Per-site keys, derived from one master secret.
//!
//! Every site gets its own token-signing key, inbound-webhook secret and admin
//! token, each `HMAC-SHA256(NUDGE_MASTER_KEY, "nudge/<purpose>/<site>")`. A key
//! leaked by one shop (its backend signs user tokens with it) opens nothing on
//! another site, and the Worker stores a single secret however many sites it
//! serves. `cargo xtask site-keys <site>` prints a site's three keys for its
//! owner (it needs the master key in the environment). Rotating every site is
//! changing the master key; ARCHITECTURE.md has the trade-off.
//!
//! Destinations authenticate with credentials the site owner sends once; the
//! edge keeps them sealed under the site's `credentials` key
//! (`forward::credentials`), so no site can use another's.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The Worker secret every per-site key is derived from.
pub const MASTER_SECRET: &str = "NUDGE_MASTER_KEY";

/// One site's keys.
pub struct SiteKeys {
    /// Signs user tokens (the shop's backend), click tokens (email/SMS links),
    /// browser keys and the first-party cookie. Text: base64url, used as bytes.
    pub signing: String,
    /// Verifies the site's inbound webhooks: `whsec_<base64>` (Standard Webhooks).
    pub webhook: String,
    /// `Authorization: Bearer <admin>` on the site's admin endpoints; also
    /// the studio's access key for the publisher role.
    pub admin: String,
    /// The studio's access keys for the editor and viewer roles (`studio`).
    pub editor: String,
    pub viewer: String,
    /// Signs studio sessions and preview links (never leaves the edge).
    pub studio: String,
    /// Seals the site's destination credentials at rest (`forward::credentials`).
    pub credentials: [u8; 32],
}

fn derive(master: &[u8], purpose: &str, site: &str) -> Option<[u8; 32]> {
    let mut mac = Hmac::<Sha256>::new_from_slice(master).ok()?;
    mac.update(format!("nudge/{purpose}/{site}").as_bytes());
    Some(mac.finalize().into_bytes().into())
}

impl SiteKeys {
    /// `None` when the master key is shorter than 32 bytes (a deployment
    /// mistake: identity, webhooks and admin then answer 503).
    pub fn derive(master: &str, site: &str) -> Option<SiteKeys> {
        if master.len() < 32 {
            return None;
        }
        let master = master.as_bytes();
        Some(SiteKeys {
            signing: URL_SAFE_NO_PAD.encode(derive(master, "signing", site)?),
            webhook: format!(
                "whsec_{}",
                STANDARD.encode(derive(master, "webhook", site)?)
            ),
            admin: URL_SAFE_NO_PAD.encode(derive(master, "admin", site)?),
            editor: URL_SAFE_NO_PAD.encode(derive(master, "studio-editor", site)?),
            viewer: URL_SAFE_NO_PAD.encode(derive(master, "studio-viewer", site)?),
            studio: URL_SAFE_NO_PAD.encode(derive(master, "studio-session", site)?),
            credentials: derive(master, "credentials", site)?,
        })
    }

    /// The deployment's keys for `site`, if the master key is set.
    pub fn of(env: &worker::Env, site: &str) -> Option<SiteKeys> {
        let master = env.secret(MASTER_SECRET).ok()?.to_string();
        SiteKeys::derive(&master, site)
    }
}

/// HMAC-SHA256 of `message` under `key`, base64url.
pub fn sign(key: &str, message: &str) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(key.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return String::new(), // HMAC takes keys of any length
    };
    mac.update(message.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// Whether `signature` is `sign(key, message)`, compared in constant time.
pub fn verify(key: &str, message: &str, signature: &str) -> bool {
    let Ok(given) = URL_SAFE_NO_PAD.decode(signature) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key.as_bytes()) else {
        return false;
    };
    mac.update(message.as_bytes());
    mac.verify_slice(&given).is_ok()
}

/// Signed claims: `<base64url JSON>.<HMAC(key, "<purpose>.<payload>")>`
/// (studio sessions, preview links). The purpose keeps one kind of token
/// from passing for another under the same key.
pub fn seal_claims(key: &str, purpose: &str, claims: &serde_json::Value) -> String {
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signature = sign(key, &format!("{purpose}.{payload}"));
    format!("{payload}.{signature}")
}

/// The claims [`seal_claims`] made, if `token` is one, for `purpose`, under `key`.
pub fn open_claims(key: &str, purpose: &str, token: &str) -> Option<serde_json::Value> {
    let (payload, signature) = token.split_once('.')?;
    if !verify(key, &format!("{purpose}.{payload}"), signature) {
        return None;
    }
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
}

/// The claims of a sealed token, without checking its signature: only to
/// learn which site's key checks it.
pub fn peek_claims(token: &str) -> Option<serde_json::Value> {
    let (payload, _) = token.split_once('.')?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
}

/// What the store keeps of a browser key: the secret a browser must show to
/// read its person's profile. The agent makes it (32 random bytes, base64url)
/// with its anonymous id and presents it with its events and identify calls;
/// the store registers the first one it sees for that id and never replaces
/// it. The anonymous id alone, which travels in forwarded payloads, reads
/// nothing. (An edge-issued key was tried first: its first answer often went
/// to a `sendBeacon`, which cannot read answers, and was lost.) `None` for
/// anything that is not a plausible key.
pub fn browser_key_hash(key: &str) -> Option<String> {
    let plausible = (22..=128).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    plausible.then(|| crate::tokens::sha256_hex(key))
}

/// Compares two secrets without an early exit.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const MASTER: &str = "test-master-key-0123456789abcdef0123";

    #[test]
    fn each_site_and_purpose_has_its_own_key() {
        let a = SiteKeys::derive(MASTER, "a").unwrap();
        let b = SiteKeys::derive(MASTER, "b").unwrap();
        assert_ne!(a.signing, b.signing);
        assert_ne!(a.admin, b.admin);
        assert_ne!(a.webhook, b.webhook);
        assert_ne!(a.signing, a.admin);
        assert_ne!(a.admin, a.editor);
        assert_ne!(a.editor, a.viewer);
        assert_ne!(a.studio, a.signing);
        assert!(a.webhook.starts_with("whsec_"));
        assert!(SiteKeys::derive("short", "a").is_none());
    }

    #[test]
    fn signatures_verify_only_for_their_message_and_key() {
        let keys = SiteKeys::derive(MASTER, "demo").unwrap();
        let signature = sign(&keys.signing, "cookie.demo.anon-1");
        assert!(verify(&keys.signing, "cookie.demo.anon-1", &signature));
        assert!(!verify(&keys.signing, "cookie.demo.anon-2", &signature));
        let other = SiteKeys::derive(MASTER, "other").unwrap();
        assert!(!verify(&other.signing, "cookie.demo.anon-1", &signature));
        assert!(!verify(&keys.signing, "cookie.demo.anon-1", "not base64 !"));
    }

    #[test]
    fn only_plausible_browser_keys_are_kept_and_only_as_hashes() {
        let key = "Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4cXV1eHF1dXg";
        assert_eq!(browser_key_hash(key).unwrap().len(), 64);
        assert_eq!(browser_key_hash("short"), None);
        assert_eq!(browser_key_hash(&"a".repeat(129)), None);
        assert_eq!(browser_key_hash("has spaces in it, not base64url!!"), None);
    }

    #[test]
    fn secrets_compare_fully() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abd", b"abc"));
        assert!(!constant_time_eq(b"ab", b"abc"));
    }
}
