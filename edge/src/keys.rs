//! Per-site keys, derived from one master secret, in generations.
//!
//! Every site gets its own token-signing key, inbound-webhook secret, admin
//! token and studio access keys (one per role), each
//! `HMAC-SHA256(NUDGE_MASTER_KEY, "nudge/<purpose>/<site>")` at generation 0
//! and `"nudge/<purpose>/<site>/g<n>"` at generation n. A key leaked by one
//! shop (its backend signs user tokens with it) opens nothing on another
//! site, the Worker stores a single secret however many sites it serves, and
//! `cargo xtask site-keys <site>` prints any generation offline.
//!
//! Which generation is current is the site's own state, kept in its store
//! (`store::keys`), so one site's key rotates alone: the signing key and the
//! webhook secret roll over (the previous generation is still accepted until
//! a stated time, as Stripe does, so links already emailed keep working); the
//! admin token and the studio's role keys are replaced at once. The admin
//! token and the studio keys are different secrets: a studio key signs a
//! person into their role and opens nothing else.
//!
//! Two keys never rotate: the studio's session key (sessions end by their
//! role's generation and by revocation, `studio::session`) and the key that
//! seals destination credentials (`forward::credentials`): the owner sent
//! those once, and they must survive every rotation.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// The Worker secret every per-site key is derived from.
pub const MASTER_SECRET: &str = "NUDGE_MASTER_KEY";

/// A key the site's owner can rotate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyKind {
    /// Signs user and click tokens, the backend channel, the first-party cookie.
    Signing,
    /// Signs the email/SMS tools' webhooks.
    Webhook,
    /// The bearer token of the site's admin API.
    Admin,
    /// The studio's access keys, one per role.
    Publisher,
    Editor,
    Viewer,
}

/// How long a rolled-over key stays accepted unless the rotation says (7 days).
pub const DEFAULT_ROLLOVER_S: i64 = 7 * 24 * 3600;
/// The longest a rolled-over signing key or webhook secret may stay (30 days,
/// the longest a click token lives).
pub const MAX_ROLLOVER_S: i64 = 30 * 24 * 3600;
/// The longest an old admin token may stay (1 hour: time to update a script,
/// not to keep using a leaked token).
pub const MAX_ADMIN_OVERLAP_S: i64 = 3600;

impl KeyKind {
    pub const ALL: [KeyKind; 6] = [
        KeyKind::Signing,
        KeyKind::Webhook,
        KeyKind::Admin,
        KeyKind::Publisher,
        KeyKind::Editor,
        KeyKind::Viewer,
    ];

    pub fn name(self) -> &'static str {
        match self {
            KeyKind::Signing => "signing",
            KeyKind::Webhook => "webhook",
            KeyKind::Admin => "admin",
            KeyKind::Publisher => "publisher",
            KeyKind::Editor => "editor",
            KeyKind::Viewer => "viewer",
        }
    }

    pub fn parse(name: &str) -> Option<KeyKind> {
        KeyKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The derivation label's purpose (generation 0 labels are the ones
    /// deployed shops hold: never change them).
    fn purpose(self) -> &'static str {
        match self {
            KeyKind::Signing => "signing",
            KeyKind::Webhook => "webhook",
            KeyKind::Admin => "admin",
            KeyKind::Publisher => "studio-publisher",
            KeyKind::Editor => "studio-editor",
            KeyKind::Viewer => "studio-viewer",
        }
    }

    /// The window a rotation gives the old key by default, and the longest it
    /// may ask for (seconds). Role keys have none: rotating one ends that
    /// role's sessions at once.
    pub fn window_s(self) -> (i64, i64) {
        match self {
            KeyKind::Signing | KeyKind::Webhook => (DEFAULT_ROLLOVER_S, MAX_ROLLOVER_S),
            KeyKind::Admin => (0, MAX_ADMIN_OVERLAP_S),
            KeyKind::Publisher | KeyKind::Editor | KeyKind::Viewer => (0, 0),
        }
    }
}

/// One key's generations: the current one, and the one before it while it
/// is still accepted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Generation {
    pub current: u32,
    /// The generation rotated away from, accepted until `previous_until`.
    #[serde(default)]
    pub previous: Option<u32>,
    /// Unix milliseconds.
    #[serde(default)]
    pub previous_until: Option<i64>,
    /// When `current` became current (unix ms; absent for generation 0).
    #[serde(default)]
    pub rotated_at: Option<i64>,
}

impl Generation {
    /// The previous generation, if it is still accepted at `now` (ms).
    pub fn previous_at(&self, now: i64) -> Option<u32> {
        match (self.previous, self.previous_until) {
            (Some(previous), Some(until)) if now < until => Some(previous),
            _ => None,
        }
    }
}

/// A site's current generations, as its store keeps them (all 0 until a
/// first rotation).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Generations {
    #[serde(default)]
    pub signing: Generation,
    #[serde(default)]
    pub webhook: Generation,
    #[serde(default)]
    pub admin: Generation,
    #[serde(default)]
    pub publisher: Generation,
    #[serde(default)]
    pub editor: Generation,
    #[serde(default)]
    pub viewer: Generation,
}

impl Generations {
    pub fn of(&self, kind: KeyKind) -> &Generation {
        match kind {
            KeyKind::Signing => &self.signing,
            KeyKind::Webhook => &self.webhook,
            KeyKind::Admin => &self.admin,
            KeyKind::Publisher => &self.publisher,
            KeyKind::Editor => &self.editor,
            KeyKind::Viewer => &self.viewer,
        }
    }

    pub fn of_mut(&mut self, kind: KeyKind) -> &mut Generation {
        match kind {
            KeyKind::Signing => &mut self.signing,
            KeyKind::Webhook => &mut self.webhook,
            KeyKind::Admin => &mut self.admin,
            KeyKind::Publisher => &mut self.publisher,
            KeyKind::Editor => &mut self.editor,
            KeyKind::Viewer => &mut self.viewer,
        }
    }
}

/// One site's keys at its current generations.
pub struct SiteKeys {
    /// Signs user tokens (the shop's backend), click tokens (email/SMS links),
    /// the backend channel and the first-party cookie. Text: base64url, used as bytes.
    pub signing: String,
    /// The signing key rotated away from, while it is still accepted.
    pub signing_previous: Option<String>,
    /// Verifies the site's inbound webhooks: `whsec_<base64>` (Standard Webhooks).
    pub webhook: String,
    pub webhook_previous: Option<String>,
    /// `Authorization: Bearer <admin>` on the site's admin endpoints (the
    /// API, destinations, raw events, keys). Never a studio key.
    pub admin: String,
    pub admin_previous: Option<String>,
    /// The studio's access keys, one per role (`studio::session`).
    pub publisher: String,
    pub editor: String,
    pub viewer: String,
    /// Signs studio sessions and preview links (never leaves the edge, never rotates).
    pub studio: String,
    /// Seals the site's destination credentials at rest (`forward::credentials`);
    /// never rotates, so sealed credentials survive every rotation.
    pub credentials: [u8; 32],
    /// The generations these keys are at (sessions name their role's).
    pub generations: Generations,
}

fn derive(master: &[u8], purpose: &str, site: &str, generation: u32) -> Option<[u8; 32]> {
    let mut mac = Hmac::<Sha256>::new_from_slice(master).ok()?;
    if generation == 0 {
        mac.update(format!("nudge/{purpose}/{site}").as_bytes());
    } else {
        mac.update(format!("nudge/{purpose}/{site}/g{generation}").as_bytes());
    }
    Some(mac.finalize().into_bytes().into())
}

/// `kind`'s key for `site` at `generation`, as text (what owners are given).
pub fn key_text(master: &[u8], kind: KeyKind, site: &str, generation: u32) -> Option<String> {
    let bytes = derive(master, kind.purpose(), site, generation)?;
    Some(match kind {
        KeyKind::Webhook => format!("whsec_{}", STANDARD.encode(bytes)),
        _ => URL_SAFE_NO_PAD.encode(bytes),
    })
}

impl SiteKeys {
    /// Generation 0 of every key. `None` when the master key is shorter than
    /// 32 bytes (a deployment mistake: identity, webhooks and admin then
    /// answer 503). (Tests: the Worker always reads the generations.)
    #[cfg(test)]
    pub fn derive(master: &str, site: &str) -> Option<SiteKeys> {
        SiteKeys::at(master, site, &Generations::default(), 0)
    }

    /// The keys at `generations`, with the previous signing key, webhook
    /// secret and admin token where they are still accepted at `now` (ms).
    pub fn at(master: &str, site: &str, generations: &Generations, now: i64) -> Option<SiteKeys> {
        if master.len() < 32 {
            return None;
        }
        let master = master.as_bytes();
        let current = |kind: KeyKind| key_text(master, kind, site, generations.of(kind).current);
        let previous = |kind: KeyKind| {
            generations
                .of(kind)
                .previous_at(now)
                .and_then(|g| key_text(master, kind, site, g))
        };
        Some(SiteKeys {
            signing: current(KeyKind::Signing)?,
            signing_previous: previous(KeyKind::Signing),
            webhook: current(KeyKind::Webhook)?,
            webhook_previous: previous(KeyKind::Webhook),
            admin: current(KeyKind::Admin)?,
            admin_previous: previous(KeyKind::Admin),
            publisher: current(KeyKind::Publisher)?,
            editor: current(KeyKind::Editor)?,
            viewer: current(KeyKind::Viewer)?,
            studio: URL_SAFE_NO_PAD.encode(derive(master, "studio-session", site, 0)?),
            credentials: derive(master, "credentials", site, 0)?,
            generations: generations.clone(),
        })
    }

    /// The signing keys accepted now: the current one, then the previous.
    pub fn signing_keys(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.signing.as_str()).chain(self.signing_previous.as_deref())
    }

    /// The webhook secrets accepted now: the current one, then the previous.
    pub fn webhook_secrets(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.webhook.as_str()).chain(self.webhook_previous.as_deref())
    }

    /// Whether `given` is an admin token accepted now (constant time per key).
    pub fn is_admin(&self, given: &str) -> bool {
        let mut found = constant_time_eq(self.admin.as_bytes(), given.as_bytes());
        if let Some(previous) = &self.admin_previous {
            found |= constant_time_eq(previous.as_bytes(), given.as_bytes());
        }
        found
    }
}

/// The deployment's master key, if it is set.
pub fn master(env: &worker::Env) -> Option<String> {
    Some(env.secret(MASTER_SECRET).ok()?.to_string())
}

/// The key that seals `site`'s destination credentials: it has no
/// generations, so credentials sealed once open after every rotation.
pub fn credentials_key(master: &str, site: &str) -> Option<[u8; 32]> {
    if master.len() < 32 {
        return None;
    }
    derive(master.as_bytes(), "credentials", site, 0)
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
    fn generation_zero_is_what_deployed_shops_hold_and_later_ones_differ() {
        // The labels of generation 0 are fixed forever (xtask's vectors pin
        // the same values, computed with Node).
        let master = "test-master-key-0123456789abcdef-local-only";
        let keys = SiteKeys::derive(master, "demo").unwrap();
        assert_eq!(keys.signing, "_SXs3kS22FD8Zo0FqAu9Ekr_LhsVIvTSX5-nxSCOKQE");
        assert_eq!(keys.admin, "ruJ8d_sGwvt13W26X22I7GLEr1biYfi9-VIVMZCJg2s");
        assert_eq!(keys.editor, "_EjzH3Hgchh4CL7dOYtPQP-LWEL_iEvrNeD2KiXZm1U");
        // The publisher's studio key is its own secret, not the admin token.
        assert_ne!(keys.publisher, keys.admin);
        let generations = Generations {
            signing: Generation {
                current: 1,
                previous: Some(0),
                previous_until: Some(10_000),
                rotated_at: Some(1),
            },
            ..Generations::default()
        };
        let rolled = SiteKeys::at(master, "demo", &generations, 5_000).unwrap();
        assert_ne!(rolled.signing, keys.signing);
        assert_eq!(
            rolled.signing_previous.as_deref(),
            Some(keys.signing.as_str())
        );
        assert_eq!(rolled.signing_keys().count(), 2);
        // Only the signing key moved; the rest (credentials too) did not.
        assert_eq!(rolled.webhook, keys.webhook);
        assert_eq!(rolled.admin, keys.admin);
        assert_eq!(rolled.credentials, keys.credentials);
        assert_eq!(rolled.studio, keys.studio);
        // After the window only the new key is accepted.
        let later = SiteKeys::at(master, "demo", &generations, 10_000).unwrap();
        assert_eq!(later.signing_previous, None);
        assert_eq!(
            key_text(master.as_bytes(), KeyKind::Signing, "demo", 1).unwrap(),
            rolled.signing
        );
        // Another site's generation 1 is another key.
        assert_ne!(
            key_text(master.as_bytes(), KeyKind::Signing, "other", 1),
            key_text(master.as_bytes(), KeyKind::Signing, "demo", 1)
        );
    }

    #[test]
    fn an_old_admin_token_passes_only_within_its_window() {
        let master = "test-master-key-0123456789abcdef-local-only";
        let old = SiteKeys::derive(master, "demo").unwrap();
        let mut generations = Generations {
            admin: Generation {
                current: 1,
                previous: None,
                previous_until: None,
                rotated_at: Some(1),
            },
            ..Generations::default()
        };
        let new = SiteKeys::at(master, "demo", &generations, 5).unwrap();
        assert!(new.is_admin(&new.admin));
        assert!(!new.is_admin(&old.admin));
        assert!(!new.is_admin(&new.publisher));
        assert!(!new.is_admin(""));
        generations.admin.previous = Some(0);
        generations.admin.previous_until = Some(10);
        let overlapping = SiteKeys::at(master, "demo", &generations, 5).unwrap();
        assert!(overlapping.is_admin(&old.admin));
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
