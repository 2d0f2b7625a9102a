//! A site's destinations document: what it may hold (validated before
//! `PUT /v1/admin/sites/{site}/destinations` stores it, `routes::admin`),
//! its credentials sealed, and what the studio may see of it.
//!
//! Two rules keep a site owner from turning the edge against itself or others:
//! - each destination carries its own `credential` (API key, `whsec_…`
//!   signing secret), which the edge stores only sealed for that site and
//!   destination (`credentials`): it never names a Worker secret, so no site
//!   can have the edge send the edge's keys, or another site's, anywhere.
//! - `url` (the webhook's target, or an API base override) must be https.
//!   Plain http to the loopback interface is accepted only where the Worker
//!   variable `ALLOW_LOCAL_DESTINATIONS=allow` says so (local test sinks).

use nudge_core::Diagnostic as D;
use serde_json::Value;
use worker::Env;

use super::channels::{self, KINDS};
use super::credentials::{self, MAX_CREDENTIAL_BYTES};
use crate::destination::{Destination, Destinations};

const CONSENT: &[&str] = &["none", "analytics", "marketing"];
/// Most destinations per site.
const MAX_DESTINATIONS: usize = 50;

pub fn key(site: &str) -> String {
    format!("destinations:{site}")
}

/// Whether this deployment may forward to plain-http loopback sinks.
pub fn local_allowed(env: &Env) -> bool {
    env.var("ALLOW_LOCAL_DESTINATIONS")
        .map(|v| v.to_string() == "allow")
        .unwrap_or(false)
}

/// Whether `url` may receive forwarded events.
pub fn url_allowed(url: &str, allow_local: bool) -> bool {
    let Ok(parsed) = url::Url::parse(url) else {
        return false;
    };
    let host_ok = parsed.host_str().is_some_and(|h| !h.is_empty())
        && parsed.username().is_empty()
        && parsed.password().is_none();
    match parsed.scheme() {
        "https" => host_ok,
        "http" => {
            allow_local
                && matches!(
                    parsed.host_str(),
                    Some("127.0.0.1") | Some("localhost") | Some("[::1]")
                )
        }
        _ => false,
    }
}

/// Every problem in a destinations document, with its path.
pub fn validate(value: &Value, allow_local: bool) -> Vec<D> {
    let mut problems = Vec::new();
    let Some(list) = value["destinations"].as_array() else {
        return vec![D::error("destinations", "is required (an array)")];
    };
    if list.len() > MAX_DESTINATIONS {
        return vec![D::error(
            "destinations",
            format!(
                "at most {MAX_DESTINATIONS} destinations, got {}",
                list.len()
            ),
        )];
    }
    let mut ids = Vec::new();
    for (i, d) in list.iter().enumerate() {
        let at = |field: &str| format!("destinations[{i}].{field}");
        match d["id"].as_str() {
            Some(id) if crate::http::is_site_key(id) && !ids.contains(&id) => ids.push(id),
            Some(id) if ids.contains(&id) => {
                problems.push(D::error(at("id"), format!("duplicate id {id:?}")))
            }
            _ => problems.push(D::error(
                at("id"),
                "must be 1-64 characters of a-z, 0-9, - and _",
            )),
        }
        let kind = d["kind"].as_str();
        match kind {
            Some(kind) if KINDS.contains(&kind) => {}
            Some(kind) => problems.push(D::error(
                at("kind"),
                format!(
                    "{kind:?} is not supported (supported: {})",
                    KINDS.join(", ")
                ),
            )),
            None => problems.push(D::error(at("kind"), "is required")),
        }
        let events_ok = d["events"]
            .as_array()
            .is_some_and(|e| e.len() <= 200 && e.iter().all(Value::is_string));
        if !events_ok {
            problems.push(D::error(
                at("events"),
                "must be an array of event names (\"*\" for all; empty: only journeys' sends)",
            ));
        }
        if !d["consent"].as_str().is_some_and(|c| CONSENT.contains(&c)) {
            problems.push(D::error(
                at("consent"),
                format!("must be one of {}", CONSENT.join(", ")),
            ));
        }
        if !d["secret"].is_null() || !d["sealed"].is_null() {
            let field = if d["secret"].is_null() {
                "sealed"
            } else {
                "secret"
            };
            problems.push(D::error(
                at(field),
                "is not accepted: send the destination's `credential`; the edge seals it",
            ));
        }
        let credential_ok = d["credential"]
            .as_str()
            .is_some_and(|c| !c.trim().is_empty() && c.len() <= MAX_CREDENTIAL_BYTES);
        if !credential_ok {
            // The message never repeats the value.
            problems.push(D::error(
                at("credential"),
                format!("is required: the destination's API key or signing secret (at most {MAX_CREDENTIAL_BYTES} bytes)"),
            ));
        }
        let url = &d["url"];
        let needs_url = kind == Some("webhook") || !url.is_null();
        if needs_url && !url.as_str().is_some_and(|u| url_allowed(u, allow_local)) {
            problems.push(D::error(at("url"), "must be an https URL"));
        }
        problems.extend(channels::validate_kind(i, d));
        if !(d["test"].is_null() || d["test"].is_boolean()) {
            problems.push(D::error(at("test"), "must be true or false"));
        }
    }
    // What passes the checks above reads as `Destination`; anything that
    // still does not (a cap that is not a whole number, say) is named here,
    // so a stored document always reads.
    if problems.is_empty() {
        for (i, d) in list.iter().enumerate() {
            if let Err(e) = serde_json::from_value::<Destination>(d.clone()) {
                problems.push(D::error(format!("destinations[{i}]"), e.to_string()));
            }
        }
    }
    // "Send me a test" goes to the one destination marked `test`.
    if list.iter().filter(|d| d["test"] == true).count() > 1 {
        problems.push(D::error(
            "destinations",
            "at most one destination may be the test destination (\"test\": true)",
        ));
    }
    problems
}

/// Replaces each destination's `credential` with `sealed` (see `credentials`).
pub fn seal_all(document: &mut Value, key: &[u8; 32], site: &str) -> Option<()> {
    for d in document["destinations"].as_array_mut()? {
        let id = d["id"].as_str()?.to_owned();
        let credential = d.as_object_mut()?.remove("credential")?;
        let sealed = credentials::seal(key, site, &id, credential.as_str()?)?;
        d["sealed"] = sealed.into();
    }
    Some(())
}

/// The credential of a stored destination of `site`, if it opens.
pub fn credential_of(destination: &Destination, key: &[u8; 32], site: &str) -> Option<String> {
    credentials::open(key, site, &destination.id, destination.sealed.as_deref()?)
}

/// What the studio may know of a destination: its id, kind, consent and
/// events, for the journey editor's picker. Never its url (a webhook's may
/// carry a token) or its sealed credential.
pub fn public_view(document: &Destinations) -> Value {
    document
        .destinations
        .iter()
        .map(|d| {
            serde_json::json!({"id": d.id, "kind": d.channel.kind(), "consent": d.consent,
                               "events": d.events, "test": d.test})
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn paths(d: Value, allow_local: bool) -> Vec<String> {
        validate(&json!({"destinations": [d]}), allow_local)
            .into_iter()
            .map(|p| p.path)
            .collect()
    }

    #[test]
    fn destinations_carry_credentials_and_never_name_secrets() {
        let d = json!({"id": "hook", "kind": "webhook", "url": "https://x.example/h",
            "events": ["*"], "consent": "none", "credential": "whsec_a2V5"});
        assert!(paths(d.clone(), false).is_empty());
        let mut naming = d.clone();
        naming["secret"] = "NUDGE_MASTER_KEY".into();
        assert_eq!(paths(naming, false), ["destinations[0].secret"]);
        let mut smuggled = d.clone();
        smuggled["sealed"] = "copied-from-another-site".into();
        assert_eq!(paths(smuggled, false), ["destinations[0].sealed"]);
        let mut missing = d;
        missing.as_object_mut().unwrap().remove("credential");
        assert_eq!(paths(missing, false), ["destinations[0].credential"]);
    }

    /// What the field checks let through must still read as a
    /// `Destination`, or forwarding could not read the stored document.
    #[test]
    fn a_document_that_would_not_read_as_destinations_is_refused() {
        let sms = |cap: Value| {
            json!({"id": "sms", "kind": "twilio", "account": format!("AC{}", "0".repeat(32)),
                   "from": "+15551234567", "events": ["Order Completed"],
                   "messages": {"Order Completed": "Thanks"}, "consent": "marketing",
                   "credential": "token", "daily_cap": cap})
        };
        assert!(paths(sms(json!(50)), false).is_empty());
        assert_eq!(paths(sms(json!(-1)), false), ["destinations[0].daily_cap"]);
        assert_eq!(
            paths(sms(json!("ten")), false),
            ["destinations[0].daily_cap"]
        );
    }

    #[test]
    fn the_studio_sees_destinations_without_urls_or_credentials() {
        let key = [3u8; 32];
        let mut doc = json!({"destinations": [{"id": "email", "kind": "webhook",
            "url": "https://hooks.example/t/SECRET", "events": ["*"], "consent": "marketing",
            "credential": "whsec_a2V5"}]});
        seal_all(&mut doc, &key, "demo").unwrap();
        let seen = public_view(&serde_json::from_value(doc).unwrap());
        assert_eq!(
            seen,
            json!([{"id": "email", "kind": "webhook", "consent": "marketing", "events": ["*"], "test": false}])
        );
        assert_eq!(public_view(&Destinations::default()), json!([]));
    }

    #[test]
    fn stored_documents_hold_only_sealed_credentials() {
        let key = [3u8; 32];
        let mut doc =
            json!({"destinations": [{"id": "k", "kind": "klaviyo", "credential": "pk_live_1"}]});
        seal_all(&mut doc, &key, "demo").unwrap();
        assert!(!doc.to_string().contains("pk_live_1"));
        let d: Destination = serde_json::from_value(doc["destinations"][0].clone()).unwrap();
        assert_eq!(
            credential_of(&d, &key, "demo").as_deref(),
            Some("pk_live_1")
        );
        assert_eq!(credential_of(&d, &key, "evil"), None);
    }

    #[test]
    fn urls_must_be_https_unless_local_sinks_are_allowed() {
        let d = |url: &str| {
            json!({"id": "k", "kind": "klaviyo", "url": url,
            "events": ["*"], "consent": "none", "credential": "pk"})
        };
        assert!(paths(d("https://proxy.example"), false).is_empty());
        for bad in [
            "http://evil.example",
            "ftp://x.example",
            "https://user:pw@x.example",
            "javascript:alert(1)",
            "//x.example",
        ] {
            assert_eq!(paths(d(bad), false), ["destinations[0].url"], "{bad}");
        }
        assert_eq!(
            paths(d("http://127.0.0.1:9999/sink"), false),
            ["destinations[0].url"]
        );
        assert!(paths(d("http://127.0.0.1:9999/sink"), true).is_empty());
        assert_eq!(
            paths(d("http://10.0.0.1/sink"), true),
            ["destinations[0].url"]
        );
    }
}
