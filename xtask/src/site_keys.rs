//! `cargo xtask site-keys <site>`: a site's keys, for its owner.
//!
//! The edge derives every site's keys from the one Worker secret
//! `NUDGE_MASTER_KEY` (edge/src/keys.rs): each is
//! `HMAC-SHA256(master, "nudge/<purpose>/<site>")`. This is the same
//! derivation, duplicated on purpose: the edge crate builds on `worker` (a
//! cdylib for wasm) and is no dependency for a native dev tool. The tests
//! below pin it to vectors computed with Node's `crypto.createHmac`, as
//! tests/support/edge.mjs `siteKeys` does, so the copies cannot drift apart
//! silently.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::Result;

/// The Worker secret every per-site key is derived from.
const MASTER_SECRET: &str = "NUDGE_MASTER_KEY";
/// The edge refuses (503) shorter master keys.
const MIN_MASTER_BYTES: usize = 32;

/// One site's keys, as the edge derives them.
#[derive(Debug, PartialEq)]
struct SiteKeys {
    /// Signs user tokens and click tokens (base64url, used as text bytes).
    signing: String,
    /// Signs inbound webhooks: `whsec_<base64>` (Standard Webhooks).
    webhook: String,
    /// `Authorization: Bearer <admin>` on /v1/admin/sites/<site>/…, and the
    /// studio's access key for publishers.
    admin: String,
    /// The studio's access keys for editors and viewers.
    editor: String,
    viewer: String,
}

fn hmac(master: &[u8], purpose: &str, site: &str) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(master).expect("HMAC takes keys of any length");
    mac.update(format!("nudge/{purpose}/{site}").as_bytes());
    mac.finalize().into_bytes().into()
}

fn derive(master: &str, site: &str) -> SiteKeys {
    let master = master.as_bytes();
    SiteKeys {
        signing: URL_SAFE_NO_PAD.encode(hmac(master, "signing", site)),
        webhook: format!("whsec_{}", STANDARD.encode(hmac(master, "webhook", site))),
        admin: URL_SAFE_NO_PAD.encode(hmac(master, "admin", site)),
        editor: URL_SAFE_NO_PAD.encode(hmac(master, "studio-editor", site)),
        viewer: URL_SAFE_NO_PAD.encode(hmac(master, "studio-viewer", site)),
    }
}

/// The edge's rule for site keys (edge/src/http `is_site_key`).
fn is_site_key(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// Checks the site and the master key, and derives the keys.
fn keys_for(site: Option<&str>, master: Option<String>) -> Result<SiteKeys> {
    let site = site.ok_or("usage: cargo xtask site-keys <site>")?;
    if !is_site_key(site) {
        return Err(format!(
            "site-keys: {site:?} is not a site key (1-64 characters of a-z, 0-9, - and _)"
        ));
    }
    let master = master.ok_or(format!(
        "site-keys: set {MASTER_SECRET} in the environment to the deployment's master key \
         (the value given to `wrangler secret put {MASTER_SECRET}`)"
    ))?;
    if master.len() < MIN_MASTER_BYTES {
        return Err(format!(
            "site-keys: {MASTER_SECRET} is {} bytes; the edge needs {MIN_MASTER_BYTES} or more \
             (generate one with `openssl rand -base64 48`)",
            master.len()
        ));
    }
    Ok(derive(&master, site))
}

pub fn site_keys(site: Option<&str>) -> Result {
    let master = match std::env::var(MASTER_SECRET) {
        Ok(master) => Some(master),
        Err(std::env::VarError::NotPresent) => None,
        Err(std::env::VarError::NotUnicode(_)) => {
            return Err(format!("site-keys: {MASTER_SECRET} is not valid UTF-8"))
        }
    };
    let trimmed = master.as_deref().is_some_and(|m| m.trim() != m);
    let keys = keys_for(site, master)?;
    let site = site.unwrap_or_default();
    if trimmed {
        eprintln!(
            "note: {MASTER_SECRET} starts or ends with whitespace; the edge uses it byte for \
             byte, so these keys only match if the Worker secret has it too"
        );
    }
    println!("Keys of site \"{site}\" (derived from {MASTER_SECRET}; keep them secret):");
    println!();
    println!("  signing key    for the shop's backend: signs user tokens (u1/u2) and email/SMS");
    println!("                 click tokens (c1)");
    println!("    {}", keys.signing);
    println!();
    println!("  webhook secret for the email/SMS tool: signs webhooks to /v1/hooks/<channel>?site={site}");
    println!("    {}", keys.webhook);
    println!();
    println!("  admin token    Authorization: Bearer … on /v1/admin/sites/{site}/…");
    println!("    {}", keys.admin);
    println!();
    println!("  studio access keys (sign in at /studio): the admin token above for publishers");
    println!("  (publish, pause, roll back), and");
    println!("    editor (drafts, preview links)  {}", keys.editor);
    println!("    viewer (reports only)           {}", keys.viewer);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Computed with Node, exactly as tests/support/edge.mjs `siteKeys`:
    //   const d = (p) => createHmac("sha256", master).update(`nudge/${p}/${site}`).digest();
    //   d("signing").toString("base64url"), "whsec_" + d("webhook").toString("base64"),
    //   d("admin").toString("base64url"), d("studio-editor"), d("studio-viewer") (base64url)
    #[test]
    fn derivation_matches_the_edge_and_its_node_tests() {
        assert_eq!(
            derive("test-master-key-0123456789abcdef-local-only", "demo"),
            SiteKeys {
                signing: "_SXs3kS22FD8Zo0FqAu9Ekr_LhsVIvTSX5-nxSCOKQE".into(),
                webhook: "whsec_abZAk0eW6f9EDetkeiZZ6Tk63wK3w9cQYcVdVgXaDVA=".into(),
                admin: "ruJ8d_sGwvt13W26X22I7GLEr1biYfi9-VIVMZCJg2s".into(),
                editor: "_EjzH3Hgchh4CL7dOYtPQP-LWEL_iEvrNeD2KiXZm1U".into(),
                viewer: "p2rioVh5JN8U2sFgPVpq84UAEsGL33htNAFqXvMDJr0".into(),
            }
        );
        assert_eq!(
            derive("0123456789abcdef0123456789abcdef", "shop_2-x"),
            SiteKeys {
                signing: "h8RczxYDllXgAZJs3Nj-mPGqP5221wdyazdXJjKx4zU".into(),
                webhook: "whsec_JGtIdc7FwGarXdgM3Y/8sumAQRSIf4+QjoiSK7T/3mc=".into(),
                admin: "9nmGTLYYxCOyvSpGNXu-pfVYg1hVyCScO6b7NZsrZNU".into(),
                editor: "xq6b0oo1imQwbMHlGxzdcTR02B09uYf2-MyLZP8wdOM".into(),
                viewer: "R7nB6OLBjWwNXsfx96WkliZBicIwJRTdLtwDRrN0ZaE".into(),
            }
        );
    }

    #[test]
    fn refuses_what_the_edge_would_refuse() {
        let master = || Some("0123456789abcdef0123456789abcdef".to_string());
        assert!(keys_for(Some("shop_2-x"), master()).is_ok());
        assert!(keys_for(None, master()).unwrap_err().contains("usage"));
        for bad in ["", "Shop", "a.b", "ü", &"a".repeat(65)] {
            assert!(
                keys_for(Some(bad), master())
                    .unwrap_err()
                    .contains("not a site key"),
                "{bad:?}"
            );
        }
        assert!(keys_for(Some("a"), None)
            .unwrap_err()
            .contains("set NUDGE_MASTER_KEY"));
        let short = keys_for(Some("a"), Some("x".repeat(31))).unwrap_err();
        assert!(short.contains("31 bytes"), "{short}");
        assert!(keys_for(Some(&"a".repeat(64)), Some("x".repeat(32))).is_ok());
    }
}
