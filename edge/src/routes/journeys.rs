//! Journeys' admin endpoints under `/v1/admin/sites/{site}/…`:
//!
//! - `GET journeys`: the live config's journeys with their counters.
//! - `GET journeys/runs?person=`: one person's runs, pending timers, sends
//!   (a person id, user id or anonymous id).
//! - `POST journeys/{id}/dry-run` `{person?, events?: [{event, after_seconds}], days?}`:
//!   what the journey would do for that person on a virtual clock from now.
//! - `POST journeys/run-due`: plays due timers and queues waiting sends now,
//!   as the alarm does (an operator's nudge; harmless when repeated).
//! - `PUT coupon-pools/{pool}` `{codes: [...]}` and `GET coupon-pools/{pool}`.

use serde_json::Value;
use worker::{Env, Request};

use crate::http::limits::{ADMIN_BODY_BYTES, SMALL_BODY_BYTES};
use crate::http::{is_site_key, ok, query, read_body, read_json, refuse, Handled};
use crate::store::journeys::facts::MAX_CODES_PER_UPLOAD;
use crate::store::journeys::reads::{MAX_DRY_RUN_DAYS, MAX_DRY_RUN_EVENTS};
use crate::store::protocol::Command;

async fn call(env: &Env, site: &str, command: Command) -> Handled {
    let answer: Value = crate::store::call(env, site, &command).await?;
    ok(&answer)
}

pub async fn list(env: &Env, site: &str) -> Handled {
    call(env, site, Command::Journeys).await
}

pub async fn runs(req: Request, env: &Env, site: &str) -> Handled {
    let Some(person) = query(&req, "person")?.filter(|p| !p.is_empty() && p.len() <= 200) else {
        return Err(refuse(
            400,
            "invalid_request",
            "expected ?person= (a person id, user id or anonymous id)",
        ));
    };
    call(env, site, Command::JourneyRuns { person }).await
}

pub async fn dry_run(mut req: Request, env: &Env, site: &str, journey: &str) -> Handled {
    // Every field is optional, so an empty body is `{}`.
    let text = read_body(&mut req, SMALL_BODY_BYTES).await?;
    let body = if text.trim().is_empty() {
        serde_json::json!({})
    } else {
        serde_json::from_str(&text)
            .map_err(|e| refuse(400, "invalid_json", format!("the body is not JSON: {e}")))?
    };
    let bad = |message: String| refuse(400, "invalid_request", message);
    let person = match &body["person"] {
        Value::Null => None,
        Value::String(p) if !p.is_empty() && p.len() <= 200 => Some(p.clone()),
        _ => return Err(bad("person must be a person, user or anonymous id".into())),
    };
    let mut events = Vec::new();
    let listed = match &body["events"] {
        Value::Null => &[][..],
        Value::Array(items) if items.len() <= MAX_DRY_RUN_EVENTS => items.as_slice(),
        _ => {
            return Err(bad(format!(
                "events must be an array of at most {MAX_DRY_RUN_EVENTS} {{event, after_seconds}}"
            )))
        }
    };
    for (i, item) in listed.iter().enumerate() {
        let name = item["event"]
            .as_str()
            .filter(|n| !n.is_empty() && n.len() <= 200);
        let after = item["after_seconds"]
            .as_i64()
            .filter(|s| (0..=MAX_DRY_RUN_DAYS * 86_400).contains(s));
        match (name, after) {
            (Some(name), Some(after)) => events.push((after, name.to_owned())),
            _ => {
                return Err(bad(format!(
                    "events[{i}] must be {{\"event\": name, \"after_seconds\": 0..={}}}",
                    MAX_DRY_RUN_DAYS * 86_400
                )))
            }
        }
    }
    events.sort_by_key(|(after, _)| *after);
    let days = match &body["days"] {
        Value::Null => 60,
        v => match v.as_i64().filter(|d| (1..=MAX_DRY_RUN_DAYS).contains(d)) {
            Some(d) => d,
            None => return Err(bad(format!("days must be 1..={MAX_DRY_RUN_DAYS}"))),
        },
    };
    let command = Command::DryRun {
        journey: journey.to_owned(),
        person,
        events,
        days,
    };
    call(env, site, command).await
}

pub async fn run_due(env: &Env, site: &str) -> Handled {
    call(env, site, Command::JourneysTick).await
}

fn pool_name(pool: &str) -> Result<String, crate::http::EdgeError> {
    if is_site_key(pool) {
        Ok(pool.to_owned())
    } else {
        Err(refuse(
            400,
            "invalid_request",
            "a pool's name is 1-64 characters of a-z, 0-9, - and _",
        ))
    }
}

pub async fn add_codes(mut req: Request, env: &Env, site: &str, pool: &str) -> Handled {
    let pool = pool_name(pool)?;
    let body = read_json(&mut req, ADMIN_BODY_BYTES).await?;
    let Some(items) = body["codes"].as_array() else {
        return Err(refuse(
            400,
            "invalid_request",
            "expected {\"codes\": [\"CODE1\", …]}",
        ));
    };
    if items.len() > MAX_CODES_PER_UPLOAD {
        return Err(refuse(
            400,
            "invalid_request",
            format!(
                "at most {MAX_CODES_PER_UPLOAD} codes per upload, got {}",
                items.len()
            ),
        ));
    }
    let Some(codes) = items
        .iter()
        .map(|c| c.as_str().map(str::to_owned))
        .collect::<Option<Vec<_>>>()
    else {
        return Err(refuse(
            400,
            "invalid_request",
            "every code must be a string",
        ));
    };
    call(env, site, Command::AddPoolCodes { pool, codes }).await
}

pub async fn pool(env: &Env, site: &str, pool: &str) -> Handled {
    let pool = pool_name(pool)?;
    call(env, site, Command::PoolCounts { pool }).await
}
