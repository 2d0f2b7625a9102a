//! Journeys' admin endpoints under `/v1/admin/sites/{site}/…`:
//!
//! - `GET journeys`: the live config's journeys with their counters.
//! - `GET journeys/{id}/report[?format=csv]`: one journey's numbers; as CSV,
//!   its per-step report.
//! - `GET journeys/runs?person=`: one person's runs, pending timers, sends
//!   (a person id, user id or anonymous id).
//! - `POST journeys/{id}/dry-run` `{source?: "live"|"draft", person?, events?:
//!   [{event, after_seconds}], days?}`: what the journey (or its studio draft)
//!   would do for that person on a virtual clock from now.
//! - `POST journeys/{id}/test-send` `{path, source?, person?, send?}`: one
//!   send step's message and the request its destination would receive; with
//!   `send`, delivered to the site's test destination.
//! - `POST journeys/run-due`: plays due timers and queues waiting sends now,
//!   as the alarm does (an operator's nudge; harmless when repeated).
//! - `PUT coupon-pools/{pool}` `{codes: [...]}` and `GET coupon-pools/{pool}`.

use nudge_core::stats::Arm;
use serde_json::{json, Value};
use worker::{Env, Request};

use crate::destination::Destinations;
use crate::forward::preview;
use crate::http::limits::{ADMIN_BODY_BYTES, SMALL_BODY_BYTES};
use crate::http::{is_site_key, ok, query, read_body, read_json, refuse, EdgeError, Handled};
use crate::store::journeys::facts::MAX_CODES_PER_UPLOAD;
use crate::store::journeys::studio::{MAX_DRY_RUN_DAYS, MAX_DRY_RUN_EVENTS};
use crate::store::protocol::{
    AddPoolCodes, DryRun, JourneyList, JourneyRuns, ListJourneys, ReadPool, SampleSend,
    TickJourneys,
};
use crate::store::shards::Placed;
use crate::studio::session::{Caller, Role};

/// Asks the store and answers with its answer as it is.
async fn call<A: Placed>(env: &Env, site: &str, ask: A) -> Handled {
    ok(&crate::store::call(env, site, &ask).await?)
}

/// `GET journeys`: the store's list, each holdout with core's comparison of
/// the two groups (the held-out group is the control).
pub async fn list(env: &Env, site: &str) -> Handled {
    ok(&journeys(env, site).await?)
}

async fn journeys(env: &Env, site: &str) -> Result<Value, EdgeError> {
    let JourneyList(mut answer) = crate::store::call(env, site, &ListJourneys {}).await?;
    for journey in answer["journeys"].as_array_mut().into_iter().flatten() {
        let holdout = &mut journey["holdout"];
        if !holdout.is_object() {
            continue;
        }
        holdout["analysis"] = holdout_analysis(&holdout["arms"]);
    }
    Ok(answer)
}

/// `GET journeys/{id}/report[?format=csv]`: one live journey's numbers as
/// the list has them (counters, per-step report, holdout comparison), or
/// its per-step report as CSV, the pattern of campaign reports.
pub async fn report(req: Request, env: &Env, site: &str, id: &str) -> Handled {
    let csv = match query(&req, "format")?.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => return Err(refuse(400, "invalid_format", "format is json or csv")),
    };
    let mut all = journeys(env, site).await?;
    let Some(journey) = all["journeys"]
        .as_array_mut()
        .and_then(|list| list.iter_mut().find(|j| j["id"] == id))
        .map(Value::take)
    else {
        return Err(refuse(
            404,
            "unknown_journey",
            format!("journey {id:?} is not in the live config"),
        ));
    };
    if !csv {
        return ok(&journey);
    }
    let headers = worker::Headers::new();
    headers.set("content-type", "text/csv; charset=utf-8")?;
    headers.set("cache-control", "no-store")?;
    let file = id.replace(
        |c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '_',
        "",
    );
    headers.set(
        "content-disposition",
        &format!("attachment; filename=\"nudge-journey-{file}.csv\""),
    )?;
    Ok(worker::Response::ok(crate::reports::journey_steps_csv(&journey))?.with_headers(headers))
}

/// Core's A/B analysis of a holdout's groups: does sending earn more
/// conversions per run than sending nothing?
fn holdout_analysis(arms: &Value) -> Value {
    let arms: Vec<Arm> = arms
        .as_array()
        .into_iter()
        .flatten()
        .map(|arm| Arm {
            key: arm["key"].as_str().unwrap_or_default().to_owned(),
            weight: arm["weight"].as_f64().unwrap_or(0.0),
            control: arm["key"] == "held_out",
            persons: arm["runs"].as_u64().unwrap_or(0),
            conversions: arm["conversions"].as_u64().unwrap_or(0),
        })
        .collect();
    // Held-out runs are the control: list it first, as campaign reports do.
    let mut arms = arms;
    arms.sort_by_key(|arm| !arm.control);
    crate::reports::compare(&arms, None, crate::reports::Horizon::Sequential)
}

pub async fn runs(req: Request, env: &Env, site: &str) -> Handled {
    let Some(person) = query(&req, "person")?.filter(|p| !p.is_empty() && p.len() <= 200) else {
        return Err(refuse(
            400,
            "invalid_request",
            "expected ?person= (a person id, user id or anonymous id)",
        ));
    };
    call(env, site, JourneyRuns { person }).await
}

/// A small JSON body whose fields are all optional: empty is `{}`.
async fn optional_body(req: &mut Request) -> Result<Value, EdgeError> {
    let text = read_body(req, SMALL_BODY_BYTES).await?;
    if text.trim().is_empty() {
        return Ok(serde_json::json!({}));
    }
    serde_json::from_str(&text)
        .map_err(|e| refuse(400, "invalid_json", format!("the body is not JSON: {e}")))
}

fn bad(message: impl Into<String>) -> EdgeError {
    refuse(400, "invalid_request", message.into())
}

/// `person`: whom the studio plays a journey for (an id, an email or a
/// phone). A real person's attributes, cart and whether an address is a
/// customer's are theirs: only a publisher (or the admin token) looks them
/// up; an editor tries a journey with the sample person.
fn person_of(body: &Value, caller: &Caller) -> Result<Option<String>, EdgeError> {
    let person =
        match &body["person"] {
            Value::Null => None,
            Value::String(p) if !p.is_empty() && p.len() <= 200 => Some(p.clone()),
            _ => return Err(bad(
                "person must be a person id, user id, anonymous id, email address or phone number",
            )),
        };
    if person.is_some() && caller.role < Role::Publisher {
        return Err(refuse(
            403,
            "forbidden_role",
            "playing a journey for a real person needs the publisher role; try it with the sample person",
        ));
    }
    Ok(person)
}

/// `source`: the live journey (the default) or the studio's draft of it.
fn draft_of(body: &Value) -> Result<bool, EdgeError> {
    match &body["source"] {
        Value::Null => Ok(false),
        Value::String(s) if s == "live" => Ok(false),
        Value::String(s) if s == "draft" => Ok(true),
        _ => Err(bad("source must be \"live\" or \"draft\"")),
    }
}

pub async fn dry_run(
    mut req: Request,
    env: &Env,
    site: &str,
    caller: &Caller,
    journey: &str,
) -> Handled {
    let body = optional_body(&mut req).await?;
    let person = person_of(&body, caller)?;
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
    let command = DryRun {
        journey: journey.to_owned(),
        draft: draft_of(&body)?,
        person,
        events,
        days,
        who: None,
    };
    ok(&crate::store::play_journey(env, site, command).await?)
}

/// `POST journeys/{id}/test-send` `{path, source?, person?, send?}`: the
/// message send step `path` delivers (for `person`'s cart and coupon, or a
/// sample person's), the request its destination would receive (secrets
/// hidden), and with `send: true` the message delivered to the site's test
/// destination, marked as a test and addressed to nobody real. It counts in
/// no journey's numbers, caps or de-duplication.
pub async fn test_send(
    mut req: Request,
    env: &Env,
    site: &str,
    caller: &Caller,
    journey: &str,
) -> Handled {
    // Each call may queue a delivery: counted per site and caller.
    crate::http::limits::check(
        env,
        crate::http::limits::Bucket::Identity,
        &format!("test-send/{site}/{}", caller.who),
    )
    .await?;
    let body = optional_body(&mut req).await?;
    let Some(path) = body["path"]
        .as_str()
        .filter(|p| !p.is_empty() && p.len() <= 200)
    else {
        return Err(bad(
            "path must name the send step, e.g. steps[0].wait_for.else[1]",
        ));
    };
    let send = match &body["send"] {
        Value::Null => false,
        Value::Bool(b) => *b,
        _ => return Err(bad("send must be true or false")),
    };
    let command = SampleSend {
        journey: journey.to_owned(),
        draft: draft_of(&body)?,
        path: path.to_owned(),
        person: person_of(&body, caller)?,
        who: None,
    };
    let sample = crate::store::play_journey(env, site, command).await?;
    let destinations = crate::http::cached_kv(env, &crate::forward::destinations::key(site))
        .await?
        .and_then(|text| Destinations::read(&text))
        .unwrap_or_default();
    let step_destination = destinations.by_id(&sample.destination);
    let now = worker::Date::now().as_millis() as i64;
    let mut answer = json!({
        "destination": sample.destination,
        "purpose": sample.purpose,
        "payload": preview::payload(step_destination, &sample.event, now),
        "sent_to": null,
    });
    if send {
        let Some(test) = destinations.test() else {
            return Err(refuse(
                409,
                "no_test_destination",
                "this site has no test destination: your developer marks one destination \"test\": true (PUT …/destinations)",
            ));
        };
        let message = preview::test_message(site, test, &sample.event);
        crate::forward::send(env, &[message.text()]).await?;
        answer["sent_to"] = test.id.as_str().into();
    }
    answer["event"] = sample.event;
    ok(&answer)
}

pub async fn run_due(env: &Env, site: &str) -> Handled {
    call(env, site, TickJourneys {}).await
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
    call(env, site, AddPoolCodes { pool, codes }).await
}

pub async fn pool(env: &Env, site: &str, pool: &str) -> Handled {
    let pool = pool_name(pool)?;
    call(env, site, ReadPool { pool }).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn arms(sent: (u64, u64), held: (u64, u64)) -> Value {
        json!([
            {"key": "sent", "weight": 50, "runs": sent.0, "conversions": sent.1},
            {"key": "held_out", "weight": 50, "runs": held.0, "conversions": held.1},
        ])
    }

    #[test]
    fn a_holdout_is_judged_with_the_campaigns_statistics_and_says_when_it_is_too_early() {
        let clear = holdout_analysis(&arms((5000, 400), (5000, 250)));
        assert_eq!(clear["arms"][0]["key"], "held_out");
        assert_eq!(clear["arms"][0]["verdict"]["kind"], "control");
        assert_eq!(clear["arms"][1]["verdict"]["kind"], "better", "{clear}");
        let small = holdout_analysis(&arms((30, 3), (28, 1)));
        assert_eq!(small["arms"][1]["verdict"]["kind"], "too_early");
        let skewed = holdout_analysis(&arms((9000, 400), (1000, 40)));
        assert_eq!(skewed["srm_warning"], true);
    }
}
