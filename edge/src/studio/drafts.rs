//! Drafts and publish for the studio's two kinds of item, campaigns and
//! journeys ([`Item`]), under `/v1/admin/sites/{site}/{campaigns|journeys}/{id}/`:
//!
//! - `GET draft`: the draft, its revision (also the ETag) and core's problems
//!   with it, paths relative to the item (`steps[1].wait.hours`);
//! - `PUT draft` with `If-Match` of the revision edited, or `If-None-Match: *`
//!   to start one: saved even when invalid (a work in progress);
//! - `DELETE draft` with `If-Match`;
//! - `POST publish` `{note}` with `If-Match` of the draft's revision: the
//!   draft goes live as a new version if the whole config validates.
//!
//! A journey's draft also says what publishing it does to the runs in
//! progress (`in_flight`: `active`, `kept`, `ended`; see
//! `store::versions`). The store keeps the drafts and refuses stale writes;
//! versions, history and roll back are shared with everything else.

use serde_json::{json, Value};
use worker::{Env, Request};

use super::live::{call, check_id, config_of, go_live, if_match, iso, matched_body};
use super::session::Caller;
use crate::http::limits::ADMIN_BODY_BYTES;
use crate::http::{ok, read_json, refuse, EdgeError, Handled};
use crate::store::protocol::{DiscardDraft, Draft, Item, Publish, SaveDraft};

/// Core's problems with `body` placed into `config` as `item` (replacing the
/// live one of the same id, or appended), with paths relative to the item
/// (`content.title`, `steps[0].wait.hours`); problems elsewhere in the
/// config keep theirs.
pub fn item_problems(config: &Value, item: &Item, body: &Value) -> Vec<Value> {
    let mut config = config.clone();
    let list_name = item.list();
    if !config[list_name].is_array() {
        config[list_name] = json!([]);
    }
    let list = config[list_name].as_array_mut();
    let index = list.map(
        |list| match list.iter().position(|c| c["id"] == body["id"]) {
            Some(i) => {
                list[i] = body.clone();
                i
            }
            None => {
                list.push(body.clone());
                list.len() - 1
            }
        },
    );
    let prefix = format!("{list_name}[{}]", index.unwrap_or_default());
    crate::config_policy::problems(&config.to_string())
        .into_iter()
        .filter(|p| !p.message.starts_with("campaign skipped"))
        .map(|p| {
            let path = match p.path.strip_prefix(&prefix) {
                Some(rest) => rest.trim_start_matches('.').to_owned(),
                None => p.path.clone(),
            };
            let severity = format!("{:?}", p.severity).to_lowercase();
            json!({"path": path, "message": p.message, "severity": severity})
        })
        .collect()
}

fn with_etag(body: &Value, revision: i64) -> Handled {
    let mut response = crate::http::json_response(200, body)?;
    response
        .headers_mut()
        .set("etag", &format!("\"{revision}\""))?;
    Ok(response)
}

/// `GET …/{id}/draft`.
pub async fn draft(env: &Env, site: &str, caller: &Caller, item: Item) -> Handled {
    check_id(&item)?;
    let answer = call(env, site, caller, Draft { item: item.clone() })
        .await
        .map_err(|e| match e {
            EdgeError::Refused(r) if r.status == 404 => refuse(404, "no_draft", r.message),
            other => other,
        })?;
    let problems = item_problems(&config_of(answer.config.as_deref()), &item, &answer.body);
    let mut body = json!({
        "revision": answer.revision, "updated_by": answer.by,
        "updated_at": iso(answer.at), "problems": problems,
    });
    body[item.noun()] = answer.body;
    if let Some(in_flight) = answer.in_flight {
        body["in_flight"] = json!(in_flight);
    }
    with_etag(&body, answer.revision)
}

/// `PUT …/{id}/draft`.
pub async fn save_draft(
    mut req: Request,
    env: &Env,
    site: &str,
    caller: &Caller,
    item: Item,
) -> Handled {
    check_id(&item)?;
    let creating = req.headers().get("if-none-match")?.as_deref() == Some("*");
    let expected = if creating {
        None
    } else {
        Some(if_match(&req)?)
    };
    let body = read_json(&mut req, ADMIN_BODY_BYTES).await?;
    let noun = item.noun();
    let code = match item {
        Item::Campaign(_) => "invalid_campaign",
        Item::Journey(_) => "invalid_journey",
    };
    if !body.is_object() {
        return Err(refuse(400, code, format!("a draft is a {noun} object")));
    }
    if body["id"] != item.id() {
        return Err(refuse(
            400,
            code,
            format!("the {noun}'s id must be {:?}, as in the address", item.id()),
        ));
    }
    let action = SaveDraft {
        item: item.clone(),
        expected,
        body: body.clone(),
    };
    let answer = call(env, site, caller, action).await?;
    let config = config_of(answer.config.as_deref());
    let mut out =
        json!({"revision": answer.revision, "problems": item_problems(&config, &item, &body)});
    if let Some(in_flight) = answer.in_flight {
        out["in_flight"] = json!(in_flight);
    }
    with_etag(&out, answer.revision)
}

/// `DELETE …/{id}/draft` with `If-Match`.
pub async fn discard_draft(
    req: Request,
    env: &Env,
    site: &str,
    caller: &Caller,
    item: Item,
) -> Handled {
    check_id(&item)?;
    let expected = if_match(&req)?;
    let action = DiscardDraft { item, expected };
    ok(&call(env, site, caller, action).await?)
}

fn note_of(body: &Value) -> String {
    body["note"]
        .as_str()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .take(500)
        .collect()
}

/// `POST …/{id}/publish`.
pub async fn publish(
    mut req: Request,
    env: &Env,
    site: &str,
    caller: &Caller,
    item: Item,
) -> Handled {
    let (expected, body) = matched_body(&mut req, &item).await?;
    let action = Publish {
        item,
        expected,
        note: note_of(&body),
    };
    go_live(env, site, caller, call(env, site, caller, action).await?).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_point_at_the_campaigns_own_fields() {
        let config = json!({"version": 1, "campaigns": [
            {"id": "other", "trigger": {"page_view": true}, "content": {"layout": "modal", "title": "x"}}
        ]});
        let item = Item::Campaign("new".into());
        let campaign = json!({"id": "new", "trigger": {"scroll_depth": 140},
                              "content": {"layout": "modal", "title": "Hi"}});
        let problems = item_problems(&config, &item, &campaign);
        assert!(
            problems.iter().any(|p| p["path"] == "trigger.scroll_depth"),
            "{problems:?}"
        );
        assert!(problems
            .iter()
            .all(|p| !p["path"].as_str().unwrap().starts_with("campaigns[1]")));
        let fixed = json!({"id": "new", "trigger": {"scroll_depth": 25},
                           "content": {"layout": "modal", "title": "Hi"}});
        assert!(item_problems(&config, &item, &fixed).is_empty());
    }

    #[test]
    fn problems_point_at_the_journeys_own_steps() {
        let config = json!({"version": 1, "campaigns": [], "journeys": [
            {"id": "old", "entry": {"event": "Signed Up"}, "steps": []}
        ]});
        let item = Item::Journey("cart".into());
        let journey = json!({"id": "cart", "entry": {"event": "Product Added"},
                             "steps": [{"wait": {"hours": 0}}]});
        let problems = item_problems(&config, &item, &journey);
        assert!(
            problems.iter().any(|p| p["path"] == "steps[0].wait.hours"),
            "{problems:?}"
        );
        let fixed = json!({"id": "cart", "entry": {"event": "Product Added"},
                           "steps": [{"wait": {"hours": 4}}]});
        assert!(item_problems(&config, &item, &fixed).is_empty());
    }
}
