//! `cargo xtask site-keys <site>`: a site's keys, for its owner; with
//! `--rotate <key> --edge <url>`, rotates one of them.
//!
//! The edge derives every site's keys from the one Worker secret
//! `NUDGE_MASTER_KEY` (edge/src/keys.rs): each is
//! `HMAC-SHA256(master, "nudge/<purpose>/<site>")` at generation 0 and
//! `HMAC-SHA256(master, "nudge/<purpose>/<site>/g<n>")` at generation n;
//! the site's store says which generation is current. This is the same
//! derivation, duplicated on purpose: the edge crate builds on `worker` (a
//! cdylib for wasm) and is no dependency for a native dev tool. The tests
//! below pin it to vectors computed with Node's `crypto.createHmac`, as
//! tests/support/edge.mjs `siteKeys` does, so the copies cannot drift apart
//! silently.
//!
//! Generations come from the flags (`--signing 2`), offline, or from the
//! edge (`--edge <url>`: `GET /v1/admin/sites/<site>/keys`). Talking to the
//! edge shells out to `curl` (as the README's own commands do) rather than
//! adding an HTTP and TLS stack to this tool; the admin token goes to curl
//! on its standard input, never on a command line other users can list.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::Result;

/// The Worker secret every per-site key is derived from.
const MASTER_SECRET: &str = "NUDGE_MASTER_KEY";
/// The edge refuses (503) shorter master keys.
const MIN_MASTER_BYTES: usize = 32;

/// The keys a site's owner can rotate, with their derivation purposes
/// (edge/src/keys.rs `KeyKind`).
const KINDS: [(&str, &str); 6] = [
    ("signing", "signing"),
    ("webhook", "webhook"),
    ("admin", "admin"),
    ("publisher", "studio-publisher"),
    ("editor", "studio-editor"),
    ("viewer", "studio-viewer"),
];

/// Each key's generation, in `KINDS` order (all 0 until a first rotation).
type Generations = [u32; 6];

/// One site's keys, as the edge derives them.
#[derive(Debug, PartialEq)]
struct SiteKeys {
    /// Signs user tokens and click tokens (base64url, used as text bytes).
    signing: String,
    /// Signs inbound webhooks: `whsec_<base64>` (Standard Webhooks).
    webhook: String,
    /// `Authorization: Bearer <admin>` on /v1/admin/sites/<site>/… (no studio key).
    admin: String,
    /// The studio's access keys, one per role.
    publisher: String,
    editor: String,
    viewer: String,
}

fn hmac(master: &[u8], purpose: &str, site: &str, generation: u32) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(master).expect("HMAC takes keys of any length");
    if generation == 0 {
        mac.update(format!("nudge/{purpose}/{site}").as_bytes());
    } else {
        mac.update(format!("nudge/{purpose}/{site}/g{generation}").as_bytes());
    }
    mac.finalize().into_bytes().into()
}

fn derive_at(master: &str, site: &str, generations: &Generations) -> SiteKeys {
    let master = master.as_bytes();
    let key = |index: usize| {
        let bytes = hmac(master, KINDS[index].1, site, generations[index]);
        if KINDS[index].0 == "webhook" {
            format!("whsec_{}", STANDARD.encode(bytes))
        } else {
            URL_SAFE_NO_PAD.encode(bytes)
        }
    };
    SiteKeys {
        signing: key(0),
        webhook: key(1),
        admin: key(2),
        publisher: key(3),
        editor: key(4),
        viewer: key(5),
    }
}

#[cfg(test)]
fn derive(master: &str, site: &str) -> SiteKeys {
    derive_at(master, site, &[0; 6])
}

/// The edge's rule for site keys (edge/src/http `is_site_key`).
fn is_site_key(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

const USAGE: &str = "usage: cargo xtask site-keys <site> [--signing N] [--webhook N] [--admin N] \
[--publisher N] [--editor N] [--viewer N] [--edge <url> [--rotate <key> [--expires-in <seconds>]]]";

/// What the command line asks.
#[derive(Debug, Default, PartialEq)]
struct Options {
    site: String,
    /// Generations named on the command line (the rest are 0, or the edge's).
    generations: Generations,
    named: [bool; 6],
    edge: Option<String>,
    rotate: Option<String>,
    expires_in: Option<u64>,
}

fn parse(args: &[String]) -> Result<Options> {
    let mut options = Options::default();
    let mut site = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .cloned()
                .ok_or(format!("site-keys: {name} needs a value\n{USAGE}"))
        };
        let flag = arg.strip_prefix("--").unwrap_or_default();
        if let Some(index) = KINDS.iter().position(|(name, _)| *name == flag) {
            let text = value(arg)?;
            options.generations[index] = text.parse().map_err(|_| {
                format!("site-keys: {arg} takes a generation (0, 1, 2, …), not {text:?}")
            })?;
            options.named[index] = true;
        } else if arg == "--edge" {
            let url = value(arg)?;
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(format!(
                    "site-keys: --edge takes the Worker's URL (https://…), not {url:?}"
                ));
            }
            options.edge = Some(url.trim_end_matches('/').to_owned());
        } else if arg == "--rotate" {
            let key = value(arg)?;
            if !KINDS.iter().any(|(name, _)| *name == key) {
                return Err(format!(
                    "site-keys: --rotate takes one of signing, webhook, admin, publisher, editor, viewer, not {key:?}"
                ));
            }
            options.rotate = Some(key);
        } else if arg == "--expires-in" {
            let text = value(arg)?;
            options.expires_in = Some(text.parse().map_err(|_| {
                format!("site-keys: --expires-in takes whole seconds, not {text:?}")
            })?);
        } else if arg.starts_with("--") || site.is_some() {
            return Err(format!("site-keys: unexpected {arg:?}\n{USAGE}"));
        } else {
            site = Some(arg.clone());
        }
    }
    let site = site.ok_or(USAGE.to_owned())?;
    if !is_site_key(&site) {
        return Err(format!(
            "site-keys: {site:?} is not a site key (1-64 characters of a-z, 0-9, - and _)"
        ));
    }
    if options.rotate.is_some() && options.edge.is_none() {
        return Err(
            "site-keys: --rotate needs --edge <url>: the site's store keeps its generations".into(),
        );
    }
    if options.expires_in.is_some() && options.rotate.is_none() {
        return Err("site-keys: --expires-in goes with --rotate".into());
    }
    options.site = site;
    Ok(options)
}

/// Checks the master key.
fn master_key(master: Option<String>) -> Result<String> {
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
    Ok(master)
}

/// Checks the site and the master key, and derives the keys at generation 0.
#[cfg(test)]
fn keys_for(site: Option<&str>, master: Option<String>) -> Result<SiteKeys> {
    let args: Vec<String> = site.into_iter().map(str::to_owned).collect();
    let options = parse(&args)?;
    Ok(derive_at(
        &master_key(master)?,
        &options.site,
        &options.generations,
    ))
}

/// `curl` against the edge with the site's admin token (on curl's stdin).
fn curl(
    method: &str,
    url: &str,
    token: &str,
    body: Option<&str>,
) -> Result<(u16, serde_json::Value)> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut command = Command::new("curl");
    command
        .args(["-sS", "-X", method, "-H", "@-", "-w", "\n%{http_code}", url])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    if let Some(body) = body {
        command.args(["--data-binary", body]);
    }
    let mut child = command.spawn().map_err(|e| {
        format!(
            "site-keys: could not run curl ({e}); install it, or use the curl command in README"
        )
    })?;
    let headers = format!("authorization: Bearer {token}\ncontent-type: application/json\n");
    child
        .stdin
        .take()
        .ok_or("site-keys: curl has no stdin")?
        .write_all(headers.as_bytes())
        .map_err(|e| format!("site-keys: writing to curl: {e}"))?;
    let output = child
        .wait_with_output()
        .map_err(|e| format!("site-keys: curl: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "site-keys: curl failed ({}) for {url}",
            output.status
        ));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let (body, status) = text
        .trim_end()
        .rsplit_once('\n')
        .unwrap_or(("", text.trim()));
    let status: u16 = status.trim().parse().unwrap_or(0);
    let json = serde_json::from_str(body).unwrap_or(serde_json::Value::Null);
    Ok((status, json))
}

fn refused(what: &str, status: u16, answer: &serde_json::Value) -> String {
    let hint = if status == 401 {
        "\n  (if the admin token was rotated, pass its generation: --admin N)"
    } else {
        ""
    };
    format!(
        "site-keys: {what}: {status} {} {}{hint}",
        answer["error"].as_str().unwrap_or("?"),
        answer["message"].as_str().unwrap_or_default()
    )
}

/// Unix milliseconds as `YYYY-MM-DD HH:MM UTC`: core's ISO 8601 text
/// (`2026-01-01T00:00:00.000Z`), cut to the minute.
fn utc(ms: i64) -> String {
    let iso = nudge_core::time::to_iso8601(ms);
    format!(
        "{} {} UTC",
        iso.get(..10).unwrap_or_default(),
        iso.get(11..16).unwrap_or_default()
    )
}

/// The generations the edge holds for the site (`GET …/keys`), and when
/// each previous one is still accepted.
fn edge_generations(edge: &str, site: &str, admin: &str) -> Result<(Generations, Vec<String>)> {
    let (status, answer) = curl(
        "GET",
        &format!("{edge}/v1/admin/sites/{site}/keys"),
        admin,
        None,
    )?;
    if status != 200 {
        return Err(refused("reading the generations", status, &answer));
    }
    let mut generations = [0; 6];
    let mut notes = Vec::new();
    for (index, (name, _)) in KINDS.iter().enumerate() {
        let key = &answer["keys"][name];
        generations[index] = key["generation"].as_u64().unwrap_or(0) as u32;
        if let Some(until) = key["previous"]["accepted_until"].as_i64() {
            notes.push(format!(
                "{name}: generation {} is still accepted until {}",
                key["previous"]["generation"],
                utc(until)
            ));
        }
    }
    Ok((generations, notes))
}

pub fn site_keys(args: &[String]) -> Result {
    let options = parse(args)?;
    let master = match std::env::var(MASTER_SECRET) {
        Ok(master) => Some(master),
        Err(std::env::VarError::NotPresent) => None,
        Err(std::env::VarError::NotUnicode(_)) => {
            return Err(format!("site-keys: {MASTER_SECRET} is not valid UTF-8"))
        }
    };
    let trimmed = master.as_deref().is_some_and(|m| m.trim() != m);
    let master = master_key(master)?;
    if trimmed {
        eprintln!(
            "note: {MASTER_SECRET} starts or ends with whitespace; the edge uses it byte for \
             byte, so these keys only match if the Worker secret has it too"
        );
    }
    let site = options.site.as_str();
    let mut generations = options.generations;
    let mut notes = Vec::new();
    if let Some(edge) = &options.edge {
        let admin = derive_at(&master, site, &generations).admin;
        if let Some(key) = &options.rotate {
            let body = match options.expires_in {
                Some(seconds) => format!(r#"{{"key":"{key}","expires_in":{seconds}}}"#),
                None => format!(r#"{{"key":"{key}"}}"#),
            };
            let url = format!("{edge}/v1/admin/sites/{site}/keys/rotate");
            let (status, answer) = curl("POST", &url, &admin, Some(&body))?;
            if status != 200 {
                return Err(refused(&format!("rotating the {key} key"), status, &answer));
            }
            let generation = answer["generation"].as_u64().unwrap_or(0) as u32;
            let index = KINDS.iter().position(|(name, _)| name == key).unwrap_or(0);
            let mut at = generations;
            at[index] = generation;
            let derived = derive_at(&master, site, &at);
            let value = answer["value"].as_str().unwrap_or_default();
            let expected = [
                &derived.signing,
                &derived.webhook,
                &derived.admin,
                &derived.publisher,
                &derived.editor,
                &derived.viewer,
            ][index];
            if value != expected.as_str() {
                return Err(format!(
                    "site-keys: the edge's new {key} key is not what {MASTER_SECRET} derives at \
                     generation {generation}: is this the deployment's master key?"
                ));
            }
            println!(
                "Rotated the {key} key of site \"{site}\": generation {generation} is current."
            );
            match answer["previous"]["accepted_until"].as_i64() {
                Some(until) => println!(
                    "The previous one is still accepted until {}; then only this one:",
                    utc(until)
                ),
                None => println!("The previous one is no longer accepted. The new one:"),
            }
            println!("    {value}");
            return Ok(());
        }
        let (read, read_notes) = edge_generations(edge, site, &admin)?;
        for (index, generation) in read.iter().enumerate() {
            if !options.named[index] {
                generations[index] = *generation;
            }
        }
        notes = read_notes;
    }
    let keys = derive_at(&master, site, &generations);
    let g = |index: usize| match generations[index] {
        0 => String::new(),
        n => format!("  (generation {n})"),
    };
    println!("Keys of site \"{site}\" (derived from {MASTER_SECRET}; keep them secret):");
    println!();
    println!("  signing key    for the shop's backend: signs user tokens (u1/u2) and email/SMS");
    println!("                 click tokens (c1)");
    println!("    {}{}", keys.signing, g(0));
    println!();
    println!("  webhook secret for the email/SMS tool: signs webhooks to /v1/hooks/<channel>?site={site}");
    println!("    {}{}", keys.webhook, g(1));
    println!();
    println!(
        "  admin token    Authorization: Bearer … on /v1/admin/sites/{site}/… (API, destinations,"
    );
    println!("                 raw events, keys); it opens no studio session");
    println!("    {}{}", keys.admin, g(2));
    println!();
    println!("  studio access keys (sign in at /studio; none works as a bearer token):");
    println!(
        "    publisher (publish, pause, roll back)  {}{}",
        keys.publisher,
        g(3)
    );
    println!(
        "    editor (drafts, preview links)         {}{}",
        keys.editor,
        g(4)
    );
    println!(
        "    viewer (reports only)                  {}{}",
        keys.viewer,
        g(5)
    );
    if options.edge.is_none() && generations == [0; 6] {
        println!();
        println!("  (generation 0 of each: after a rotation pass --edge <url> to read the current");
        println!("  generations, or name them: --signing N, --admin N, …)");
    }
    for note in notes {
        println!("  {note}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Computed with Node, exactly as tests/support/edge.mjs `siteKeys`:
    //   const d = (p) => createHmac("sha256", master).update(`nudge/${p}/${site}`).digest();
    //   d("signing").toString("base64url"), "whsec_" + d("webhook").toString("base64"),
    //   d("admin").toString("base64url"), d("studio-publisher"), d("studio-editor"),
    //   d("studio-viewer") (base64url)
    #[test]
    fn derivation_matches_the_edge_and_its_node_tests() {
        assert_eq!(
            derive("test-master-key-0123456789abcdef-local-only", "demo"),
            SiteKeys {
                signing: "_SXs3kS22FD8Zo0FqAu9Ekr_LhsVIvTSX5-nxSCOKQE".into(),
                webhook: "whsec_abZAk0eW6f9EDetkeiZZ6Tk63wK3w9cQYcVdVgXaDVA=".into(),
                admin: "ruJ8d_sGwvt13W26X22I7GLEr1biYfi9-VIVMZCJg2s".into(),
                publisher: "OTWUXfZhw2QuYtRUNucB_KQhHjr-p1rxTx_YzPmY4cQ".into(),
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
                publisher: "HMzgy8FrC3te7zb2MTaHCVDrwSeFRce21io4SiUnfH0".into(),
                editor: "xq6b0oo1imQwbMHlGxzdcTR02B09uYf2-MyLZP8wdOM".into(),
                viewer: "R7nB6OLBjWwNXsfx96WkliZBicIwJRTdLtwDRrN0ZaE".into(),
            }
        );
    }

    // Later generations, with Node: createHmac("sha256", master).update(`nudge/signing/${site}/g1`), …
    #[test]
    fn later_generations_add_their_number_to_the_label() {
        let keys = derive_at(
            "test-master-key-0123456789abcdef-local-only",
            "demo",
            &[1, 2, 1, 0, 0, 0],
        );
        assert_eq!(keys.signing, "8K4mvJlYCIzIXpuokfxR6IyG9gjf0402dNEvNz8TC1o");
        assert_eq!(
            keys.webhook,
            "whsec_mUIAEc2eR1GKYig54/L8N1Ncn4UpRVnYH0TVdivTcRM="
        );
        assert_eq!(keys.admin, "0FHNRKvYGgJpmGAl_NhYwUbLdD82j1yvU_iriHbD8lY");
        // Generation 0 of the others is unchanged.
        assert_eq!(keys.editor, "_EjzH3Hgchh4CL7dOYtPQP-LWEL_iEvrNeD2KiXZm1U");
        let other = derive_at(
            "0123456789abcdef0123456789abcdef",
            "shop_2-x",
            &[1, 2, 1, 0, 0, 0],
        );
        assert_eq!(other.signing, "_H6gnz4VuU27Ul_t2ks7gsXmtonbGdpBO65KD6KaVsE");
        assert_eq!(
            other.webhook,
            "whsec_DEsitCpWkl2sH7WbDYWrMQW9EBVFwFzUR9gfTdaxTfc="
        );
        assert_eq!(other.admin, "kEyluTWbV4lvbpidtICw22pKfoUiv4Jc0F8zYEPWbSQ");
    }

    #[test]
    fn the_command_line_names_generations_and_a_rotation() {
        let args = |text: &str| -> Vec<String> { text.split(' ').map(str::to_owned).collect() };
        let options = parse(&args("demo --signing 2 --admin 1")).unwrap();
        assert_eq!(options.generations, [2, 0, 1, 0, 0, 0]);
        assert_eq!(options.named, [true, false, true, false, false, false]);
        let rotate = parse(&args("demo --edge https://e.example/ --rotate editor")).unwrap();
        assert_eq!(rotate.rotate.as_deref(), Some("editor"));
        assert_eq!(rotate.edge.as_deref(), Some("https://e.example"));
        let error = |text: &str| parse(&args(text)).unwrap_err();
        assert!(error("demo --rotate signing").contains("needs --edge"));
        assert!(error("demo --edge https://e --rotate master").contains("one of signing"));
        assert!(error("demo --signing two").contains("generation"));
        assert!(error("demo --edge ftp://e").contains("Worker's URL"));
        assert!(error("demo --expires-in 60").contains("goes with --rotate"));
        assert!(error("demo other").contains("unexpected"));
        assert!(error("demo --signing").contains("needs a value"));
    }

    #[test]
    fn windows_end_at_a_readable_utc_time() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc(1_767_225_600_000), "2026-01-01 00:00 UTC");
        assert_eq!(utc(1_709_210_096_000), "2024-02-29 12:34 UTC");
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
