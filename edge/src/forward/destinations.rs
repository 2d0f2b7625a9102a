//! A site's destinations document: `PUT /v1/admin/sites/{site}/destinations`,
//! validated before it is stored.
//!
//! Two rules keep a site owner from turning the edge against itself or others:
//! - `secret` names a Worker secret reserved for destinations (`DEST_…`);
//!   the edge's own keys (`NUDGE_MASTER_KEY`, anything else) can never be
//!   sent to a destination.
//! - `url` (the webhook's target, or an API base override) must be https.
//!   Plain http to the loopback interface is accepted only where the Worker
//!   variable `ALLOW_LOCAL_DESTINATIONS=allow` says so (local test sinks).

use nudge_core::Diagnostic as D;
use serde_json::Value;
use worker::{Env, Request};

use super::channels::{self, KINDS};
use crate::http::Handled;
use crate::keys::DESTINATION_SECRET_PREFIX;

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
            .is_some_and(|e| !e.is_empty() && e.len() <= 200 && e.iter().all(Value::is_string));
        if !events_ok {
            problems.push(D::error(
                at("events"),
                "must be a non-empty array of event names (\"*\" for all)",
            ));
        }
        if !d["consent"].as_str().is_some_and(|c| CONSENT.contains(&c)) {
            problems.push(D::error(
                at("consent"),
                format!("must be one of {}", CONSENT.join(", ")),
            ));
        }
        let secret_ok = d["secret"].as_str().is_some_and(|s| {
            s.len() > DESTINATION_SECRET_PREFIX.len()
                && s.len() <= 64
                && s.starts_with(DESTINATION_SECRET_PREFIX)
                && s.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        });
        if !secret_ok {
            problems.push(D::error(
                at("secret"),
                format!(
                    "must name a Worker secret reserved for destinations ({DESTINATION_SECRET_PREFIX}…, A-Z, 0-9, _), never hold the secret itself"
                ),
            ));
        }
        let url = &d["url"];
        let needs_url = kind == Some("webhook") || !url.is_null();
        if needs_url && !url.as_str().is_some_and(|u| url_allowed(u, allow_local)) {
            problems.push(D::error(at("url"), "must be an https URL"));
        }
        problems.extend(channels::validate_kind(i, d));
    }
    problems
}

/// `PUT /v1/admin/sites/{site}/destinations`.
pub async fn put(req: Request, env: &Env, site: &str) -> Handled {
    let allow_local = local_allowed(env);
    crate::routes::admin::put_document(req, env, &key(site), "invalid_destinations", |text| {
        let value: nudge_core::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let value = serde_json::to_value(&value).map_err(|e| e.to_string())?;
        Ok(validate(&value, allow_local))
    })
    .await
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
    fn destinations_cannot_name_the_edge_own_secrets() {
        let d = |secret: &str| {
            json!({"id": "hook", "kind": "webhook", "url": "https://x.example/h",
            "events": ["*"], "consent": "none", "secret": secret})
        };
        assert!(paths(d("DEST_HOOK"), false).is_empty());
        for stolen in [
            "NUDGE_MASTER_KEY",
            "SITE_SECRET",
            "ADMIN_TOKEN",
            "DEST_",
            "dest_hook",
        ] {
            assert_eq!(
                paths(d(stolen), false),
                ["destinations[0].secret"],
                "{stolen}"
            );
        }
    }

    #[test]
    fn urls_must_be_https_unless_local_sinks_are_allowed() {
        let d = |url: &str| {
            json!({"id": "k", "kind": "klaviyo", "url": url,
            "events": ["*"], "consent": "none", "secret": "DEST_K"})
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
