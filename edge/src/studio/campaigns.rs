//! The studio's campaign endpoints under `/v1/admin/sites/{site}/`: the list,
//! pause and resume (a journey's on and off), the version history with its
//! diff, and roll back; drafts and publish are in `drafts`, shared with
//! journeys. The store (`store::versions`) keeps versions and drafts and
//! refuses stale writes; here requests are read, answers shaped for the
//! studio, and each new live version is copied to KV for `GET /v1/config`.

use serde_json::{json, Value};
use worker::{Env, Request, Response};

use super::live::{call, config_of, go_live, if_match, iso, matched_body};
use super::session::Caller;
use crate::http::{ok, refuse, EdgeError, Handled};
use crate::store::protocol::{
    Draft, Item, NewVersion, Overview, PutConfig, Rollback, RuleChange, SetJourney, SetMessaging,
    SetStatus, StudioAsk, Version, Versions,
};

/// The studio's status of a campaign in the live config.
fn status(campaign: &Value, now: i64) -> &'static str {
    let time = |key: &str| {
        campaign["schedule"][key]
            .as_str()
            .and_then(nudge_core::time::parse_iso8601)
    };
    match campaign["status"].as_str() {
        Some("paused") => "paused",
        Some("draft") => "draft",
        _ if time("start").is_some_and(|start| start > now) => "scheduled",
        _ if time("end").is_some_and(|end| end <= now) => "ended",
        _ => "live",
    }
}

/// "Exit intent on /cart", "Scroll 25%", … for the list.
fn trigger_summary(trigger: &Value) -> String {
    let what = if let Some(percent) = trigger["scroll_depth"].as_f64() {
        format!("Scroll {percent}%")
    } else if !trigger["exit_intent"].is_null() {
        "Exit intent".into()
    } else if let Some(s) = trigger["time_on_page"].as_f64() {
        format!("{s} s on the page")
    } else if let Some(s) = trigger["time_on_site"].as_f64() {
        format!("{s} s on the site")
    } else if let Some(s) = trigger["inactivity"].as_f64() {
        format!("{s} s without input")
    } else if let Some(event) = trigger["event"].as_str() {
        format!("Event \"{event}\"")
    } else {
        "Page view".into()
    };
    let url = &trigger["url"];
    let place = ["equals", "prefix", "contains", "regex"]
        .iter()
        .find_map(|kind| url[*kind].as_str().map(|p| (*kind, p)));
    match place {
        Some(("equals", path)) => format!("{what} on {path}"),
        Some(("prefix", path)) => format!("{what} on {path}…"),
        Some((_, pattern)) => format!("{what} on pages matching {pattern}"),
        None => what,
    }
}

fn list_item(campaign: &Value, now: i64) -> Value {
    json!({
        "id": campaign["id"],
        "name": campaign["name"].as_str().or(campaign["id"].as_str()),
        "status": status(campaign, now),
        "layout": campaign["content"]["layout"],
        "trigger": trigger_summary(&campaign["trigger"]),
        "goal": campaign["goal"],
        "live": true,
        "has_draft": false,
        "draft_revision": null,
    })
}

/// `GET campaigns`: the live config and every campaign, live or draft.
pub async fn list(env: &Env, site: &str, caller: &Caller) -> Handled {
    let answer = call(env, site, caller, Overview {}).await?;
    let now = worker::Date::now().as_millis() as i64;
    let mut config = config_of(answer.config.as_deref());
    if answer.config.is_none() {
        config["site"] = site.into();
    }
    let mut items: Vec<Value> = config["campaigns"]
        .as_array()
        .map(|list| list.iter().map(|c| list_item(c, now)).collect())
        .unwrap_or_default();
    for touched in &answer.published {
        if let Some(item) = items
            .iter_mut()
            .find(|i| i["id"] == touched.campaign.as_str())
        {
            item["updated_by"] = touched.by.as_str().into();
            item["updated_at"] = iso(touched.at).into();
        }
    }
    for draft in &answer.drafts {
        // Journeys' drafts are listed with the journeys.
        let Item::Campaign(id) = Item::from_key(&draft.campaign) else {
            continue;
        };
        let id = Value::from(id);
        let index = match items.iter().position(|i| i["id"] == id) {
            Some(index) => index,
            None => {
                let body = call(
                    env,
                    site,
                    caller,
                    Draft {
                        item: Item::Campaign(id.as_str().unwrap_or_default().to_owned()),
                    },
                )
                .await?;
                let mut item = list_item(&body.body, now);
                item["id"] = id.clone();
                item["status"] = "draft".into();
                item["live"] = false.into();
                items.push(item);
                items.len() - 1
            }
        };
        let item = &mut items[index];
        item["has_draft"] = true.into();
        item["draft_revision"] = draft.revision.into();
        item["updated_by"] = draft.by.as_str().into();
        item["updated_at"] = iso(draft.at).into();
    }
    ok(&json!({"version": answer.version, "config": config, "campaigns": items}))
}

/// `POST campaigns/{id}/status` `{status: "paused"|"active"}` with `If-Match`
/// of the live version.
pub async fn set_status(req: Request, env: &Env, site: &str, caller: &Caller, id: &str) -> Handled {
    switch(
        req,
        env,
        site,
        caller,
        Item::Campaign(id.into()),
        |body, expected| {
            let status = match body["status"].as_str() {
                Some(s @ ("paused" | "active")) => s.to_owned(),
                _ => return Err("status must be \"paused\" or \"active\""),
            };
            Ok(SetStatus {
                campaign: id.into(),
                status,
                expected,
            })
        },
    )
    .await
}

/// `POST journeys/{id}/status` `{enabled: bool}` with `If-Match` of the live
/// version: the journey turned on or off, as a new version.
pub async fn set_journey(
    req: Request,
    env: &Env,
    site: &str,
    caller: &Caller,
    id: &str,
) -> Handled {
    switch(
        req,
        env,
        site,
        caller,
        Item::Journey(id.into()),
        |body, expected| {
            let enabled = body["enabled"]
                .as_bool()
                .ok_or("expected {\"enabled\": true|false}")?;
            Ok(SetJourney {
                journey: id.into(),
                enabled,
                expected,
            })
        },
    )
    .await
}

/// `POST journeys/settings` `{messaging_caps?, quiet_hours?}` (a key left out
/// stays as it is, `null` removes it) with `If-Match` of the live version: the
/// site's messaging rules, which every journey's marketing sends obey, as a
/// new version.
pub async fn set_messaging(mut req: Request, env: &Env, site: &str, caller: &Caller) -> Handled {
    let expected = if_match(&req)?;
    let body = crate::http::read_json(&mut req, crate::http::limits::SMALL_BODY_BYTES).await?;
    if !body.is_object() {
        return Err(refuse(
            400,
            "invalid_request",
            "expected {\"messaging_caps\": {…} or null, \"quiet_hours\": {…} or null}",
        ));
    }
    // A key left out is left as it is; `null` removes the rule.
    let action = SetMessaging {
        caps: RuleChange::of(body.get("messaging_caps")),
        quiet_hours: RuleChange::of(body.get("quiet_hours")),
        expected,
    };
    go_live(env, site, caller, call(env, site, caller, action).await?).await
}

/// A live switch (a campaign's status, a journey's): the body read into an
/// action against the live version named by `If-Match`, then live.
async fn switch<A: StudioAsk<Answer = NewVersion>>(
    mut req: Request,
    env: &Env,
    site: &str,
    caller: &Caller,
    item: Item,
    action: impl FnOnce(&Value, i64) -> Result<A, &'static str>,
) -> Handled {
    let (expected, body) = matched_body(&mut req, &item).await?;
    let action = action(&body, expected).map_err(|m| refuse(400, "invalid_request", m))?;
    go_live(env, site, caller, call(env, site, caller, action).await?).await
}

/// `GET versions[?before=&limit=]`, newest first.
pub async fn versions(req: Request, env: &Env, site: &str, caller: &Caller) -> Handled {
    let page = crate::http::page(&req)?;
    let answer = call(env, site, caller, Versions { page }).await?;
    let versions: Vec<Value> = answer
        .versions
        .into_iter()
        .map(|v| {
            json!({"version": v.version, "at": iso(v.at), "by": v.by, "action": v.action,
                   "campaign": v.campaign, "note": v.note})
        })
        .collect();
    ok(&json!({"versions": versions, "next_before": answer.next_before}))
}

/// `GET versions/{v}`: the version's config and what changed from the one before.
pub async fn version(env: &Env, site: &str, caller: &Caller, version: &str) -> Handled {
    let version = parse_version(version)?;
    let answer = call(env, site, caller, Version { version }).await?;
    let parse = |text: Option<&str>| {
        text.and_then(|t| serde_json::from_str::<Value>(t).ok())
            .unwrap_or(Value::Null)
    };
    let config = parse(Some(&answer.config));
    let previous = parse(answer.previous.as_deref());
    let v = answer.summary;
    ok(&json!({
        "version": v.version, "at": iso(v.at), "by": v.by,
        "action": v.action, "campaign": v.campaign, "note": v.note,
        "changes": super::diff::changes(&previous, &config), "config": config,
    }))
}

fn parse_version(text: &str) -> Result<i64, EdgeError> {
    text.parse().ok().filter(|v: &i64| *v > 0).ok_or_else(|| {
        refuse(
            400,
            "invalid_request",
            "a version is a positive whole number",
        )
    })
}

/// `POST versions/{v}/rollback` with `If-Match` of the live version: a new
/// version whose config is version v's.
pub async fn rollback(
    req: Request,
    env: &Env,
    site: &str,
    caller: &Caller,
    version: &str,
) -> Handled {
    let version = parse_version(version)?;
    let expected = if_match(&req)?;
    let action = Rollback { version, expected };
    go_live(env, site, caller, call(env, site, caller, action).await?).await
}

/// A config written through `PUT …/config` (already validated): a version
/// by the caller, then live. `If-Match` is optional here (scripts).
pub async fn put_config(
    req: &Request,
    env: &Env,
    site: &str,
    caller: &Caller,
    text: String,
) -> Result<Response, EdgeError> {
    let expected = match req.headers().get("if-match")? {
        Some(_) => Some(if_match(req)?),
        None => None,
    };
    let answer = call(env, site, caller, PutConfig { text, expected }).await?;
    let version = answer.version;
    go_live(env, site, caller, answer).await?;
    ok(&json!({"stored": true, "version": version}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_the_status_field_and_the_schedule() {
        let now = nudge_core::time::parse_iso8601("2026-11-23T12:00:00Z").unwrap();
        let at = |s: Value| status(&s, now);
        assert_eq!(at(json!({})), "live");
        assert_eq!(at(json!({"status": "paused"})), "paused");
        assert_eq!(at(json!({"status": "draft"})), "draft");
        assert_eq!(
            at(json!({"schedule": {"start": "2026-12-01"}})),
            "scheduled"
        );
        assert_eq!(at(json!({"schedule": {"end": "2026-11-01"}})), "ended");
        assert_eq!(
            at(json!({"schedule": {"start": "2026-11-01", "end": "2026-12-01"}})),
            "live"
        );
    }

    #[test]
    fn triggers_read_as_words() {
        assert_eq!(
            trigger_summary(
                &json!({"exit_intent": {"min_seconds_on_page": 2}, "url": {"equals": "/cart"}})
            ),
            "Exit intent on /cart"
        );
        assert_eq!(trigger_summary(&json!({"scroll_depth": 25})), "Scroll 25%");
        assert_eq!(trigger_summary(&json!({"page_view": true})), "Page view");
    }
}
