//! Destination credentials (API keys, signing secrets), sealed at rest.
//!
//! A site owner sends each destination's `credential` once, with the
//! destinations document; the edge stores only `sealed`: AES-256-GCM-SIV
//! under a key derived for that site (`keys::SiteKeys::credentials`), with the
//! site and the destination id as associated data. So a credential is never
//! readable from KV or from any answer, and a sealed blob copied to another
//! site or destination does not open: one tenant can never have the edge send
//! another tenant's credential anywhere. (Naming shared Worker secrets, as
//! before, let any site name any other site's secret.)
//!
//! GCM-SIV is nonce-misuse resistant, so the nonce can be derived (HMAC of
//! the destination id and the credential) instead of drawn from an RNG: the
//! same credential sealed twice gives the same blob, which reveals nothing
//! but that equality.

use aes_gcm_siv::aead::{Aead, KeyInit, Payload};
use aes_gcm_siv::{Aes256GcmSiv, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Longest credential accepted (API keys are far shorter).
pub const MAX_CREDENTIAL_BYTES: usize = 4096;
const NONCE_BYTES: usize = 12;

fn cipher(key: &[u8; 32]) -> Aes256GcmSiv {
    Aes256GcmSiv::new(key.into())
}

fn associated(site: &str, destination: &str) -> String {
    format!("nudge/credential/{site}/{destination}")
}

/// `credential` sealed for `destination` of `site`, as base64 text.
pub fn seal(key: &[u8; 32], site: &str, destination: &str, credential: &str) -> Option<String> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).ok()?;
    mac.update(destination.as_bytes());
    mac.update(&[0]);
    mac.update(credential.as_bytes());
    let digest = mac.finalize().into_bytes();
    let nonce = Nonce::from_slice(&digest[..NONCE_BYTES]);
    let aad = associated(site, destination);
    let sealed = cipher(key)
        .encrypt(
            nonce,
            Payload {
                msg: credential.as_bytes(),
                aad: aad.as_bytes(),
            },
        )
        .ok()?;
    let mut out = digest[..NONCE_BYTES].to_vec();
    out.extend_from_slice(&sealed);
    Some(STANDARD.encode(out))
}

/// The credential inside `sealed`, if it was sealed for this site and destination.
pub fn open(key: &[u8; 32], site: &str, destination: &str, sealed: &str) -> Option<String> {
    let bytes = STANDARD.decode(sealed).ok()?;
    if bytes.len() <= NONCE_BYTES {
        return None;
    }
    let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
    let aad = associated(site, destination);
    let plain = cipher(key)
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad: aad.as_bytes(),
            },
        )
        .ok()?;
    String::from_utf8(plain).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_credential_opens_only_for_its_site_and_destination() {
        let key = [7u8; 32];
        let sealed = seal(&key, "demo", "klaviyo", "pk_live_secret").unwrap();
        assert!(!sealed.contains("pk_live"));
        assert_eq!(
            open(&key, "demo", "klaviyo", &sealed).as_deref(),
            Some("pk_live_secret")
        );
        assert_eq!(
            open(&key, "evil", "klaviyo", &sealed),
            None,
            "copied to another site"
        );
        assert_eq!(
            open(&key, "demo", "other", &sealed),
            None,
            "copied to another destination"
        );
        assert_eq!(
            open(&[8u8; 32], "demo", "klaviyo", &sealed),
            None,
            "another site's key"
        );
        let mut tampered = STANDARD.decode(&sealed).unwrap();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert_eq!(
            open(&key, "demo", "klaviyo", &STANDARD.encode(tampered)),
            None
        );
        assert_eq!(open(&key, "demo", "klaviyo", "not base64!"), None);
    }
}
