//! `POST /v1/events?site=`: a batch of Segment-shaped events from the agent.
//!
//! The whole batch is validated with core's event model first: one bad event
//! refuses the batch with every problem listed and the indexes of the bad
//! events (`rejected`), so the agent drops only those and resends the rest;
//! nothing is stored. A valid batch is written to the site's store (keyed by
//! event id, so repeats are dropped) and queued for forwarding before the
//! 202: once acknowledged, an event is durable.

use nudge_core::event::Event;
use nudge_core::limits::{MAX_BATCH_EVENTS, MAX_EVENT_BYTES};
use nudge_core::{Diagnostic, Value as CoreValue};
use serde_json::{json, Value};
use worker::{Env, Request};

use crate::http::cookie::BrowserCookie;
use crate::http::limits::{self, Bucket};
use crate::http::{
    cors, json_response, parse_core_json, read_body, site_config, site_keys, site_param, EdgeError,
    Handled, Refusal,
};
use crate::store::archive;
use crate::store::protocol::{Append, BrowserKey, StoreError};
use crate::store::protocol::{EventCursor, EventPage, RecentEvents};
use crate::store::shards::Placed;

pub async fn post(mut req: Request, env: &Env) -> Handled {
    let site = site_param(&req)?;
    let client = limits::client(&req);
    limits::check(env, Bucket::Events, &format!("{site}:{client}")).await?;
    let config = site_config(env, &site).await?;
    let verdict = cors::check(&req, &config)?;
    let mut keys = site_keys(env, &site).await?;
    let mut cookie = BrowserCookie::of(&req, env, &keys, &site)?;
    // A cookie the cached keys refuse may be signed under a key rotated in
    // through another isolate: ask the store once (at most every 2 s).
    if cookie
        .as_ref()
        .is_some_and(|c| c.presented && c.id.is_none())
    {
        if let Some(fresh) = crate::http::site_keys_after_miss(env, &site).await? {
            keys = fresh;
            cookie = BrowserCookie::of(&req, env, &keys, &site)?;
        }
    }
    // For channels that match people (Meta's Conversions API): where and with what the event was sent.
    let user_agent = req.headers().get("user-agent")?;
    let ip = req.headers().get("cf-connecting-ip")?;
    let text = read_body(&mut req, limits::EVENTS_BODY_BYTES).await?;
    let (events, browser_key) = read_batch(&text)?;
    // Core's wire form, as JSON values for the store and the queue (no text round trip).
    let mut wire: Vec<Value> = events
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<_, _>>()?;
    for event in &mut wire {
        if let Some(context) = event["context"].as_object_mut() {
            if let Some(ua) = &user_agent {
                context.insert("userAgent".into(), ua.as_str().into());
            }
            if let Some(ip) = &ip {
                context.insert("ip".into(), ip.as_str().into());
            }
        }
    }
    // One call: the store inserts each new event and applies its facts in
    // one transaction before answering.
    let append = Append {
        events: wire,
        cookie_browser: cookie.as_ref().and_then(|c| c.id.clone()),
        client,
        browser_key,
        campaigns: crate::reports::published_campaigns(&config).to_vec(),
        held: Vec::new(),
        objects: 0,
        away: false,
    };
    let appended = match crate::store::call(env, &site, &append).await {
        Ok(appended) => appended,
        // The object takes no more requests now: the batch is durable on
        // the ingest queue instead, written and forwarded from there.
        Err(StoreError::Overloaded(why)) => {
            // Bounded per client: the store's budgets cannot count these now.
            limits::check(env, Bucket::Spill, &format!("{site}:{}", append.client)).await?;
            worker::console_log!("events for {site}: store overloaded ({why}): spilled");
            let queued = append.events.len();
            crate::ingest::spill(env, &site, append).await?;
            let response = json_response(202, &json!({"queued": queued}))?;
            return Ok(cors::apply(response, &verdict)?);
        }
        Err(other) => return Err(other.into()),
    };
    // A signed cookie naming a browser of another of the site's objects:
    // linked there (one object links in the append itself).
    if let (Some(known), Some(fresh)) = (&append.cookie_browser, &appended.verified_browser) {
        crate::store::link_cookie(env, &site, known, fresh, &append.campaigns).await?;
    }
    let mut wire = append.events;
    // Events for a browser this request did not prove are not forwarded.
    wire.retain(|e| {
        !appended
            .unproven
            .iter()
            .any(|id| e["messageId"] == id.as_str())
    });
    // Queued for the site's destinations before the acknowledgement: a failure
    // here is a 500, the agent sends the batch again, and the consumer skips
    // deliveries already made.
    crate::forward::enqueue(env, &site, &wire).await?;
    let body = json!({"accepted": appended.accepted, "duplicates": appended.duplicates});
    let mut response = json_response(202, &body)?;
    // The cookie is minted only for a browser that proved itself with its
    // key: an anonymous id alone (anyone can send events naming one) never
    // earns a cookie that could later link someone into that person.
    if let (Some(cookie), Some(browser)) = (&cookie, &appended.verified_browser) {
        response = cookie.keep(response, &keys, &site, browser)?;
    }
    Ok(cors::apply(response, &verdict)?)
}

/// The `browser` member the agent sends with its batches and identify calls:
/// `{"anonymousId", "key"}`. A malformed one is ignored (the batch still
/// counts); the agent will present it again.
/// Its two members are read by each caller from its own body type.
pub fn browser_key(anonymous_id: Option<&str>, key: Option<&str>) -> Option<BrowserKey> {
    let anonymous_id = anonymous_id?;
    nudge_core::event::check_identifier(anonymous_id).ok()?;
    Some(BrowserKey {
        anonymous_id: anonymous_id.to_owned(),
        key_hash: crate::keys::browser_key_hash(key?)?,
    })
}

/// Parses `{"batch": [...], "browser"?: {...}}` and every event in it,
/// collecting all problems.
fn read_batch(text: &str) -> Result<(Vec<CoreValue>, Option<BrowserKey>), EdgeError> {
    let body = parse_core_json(text)?;
    let Some(batch) = body.get("batch").and_then(CoreValue::as_array) else {
        return Err(
            Refusal::new(400, "invalid_batch", "expected {\"batch\": [events]}")
                .with_problems(vec![Diagnostic::error(
                    "batch",
                    "is required and must be an array",
                )])
                .into(),
        );
    };
    if batch.is_empty() || batch.len() > MAX_BATCH_EVENTS {
        return Err(Refusal::new(
            400,
            "invalid_batch",
            format!(
                "a batch holds 1 to {MAX_BATCH_EVENTS} events, got {}",
                batch.len()
            ),
        )
        .into());
    }
    let mut events = Vec::with_capacity(batch.len());
    let mut problems = Vec::new();
    let mut rejected = Vec::new();
    for (i, item) in batch.iter().enumerate() {
        let path = format!("batch[{i}]");
        // Normalized (core's wire form of the validated event), then sized.
        let event = Event::from_wire(item, &path).and_then(|event| {
            let wire = event.to_wire();
            let size = wire.to_json().len();
            if size > MAX_EVENT_BYTES {
                Err(vec![Diagnostic::error(
                    path.as_str(),
                    format!("is {size} bytes; at most {MAX_EVENT_BYTES}"),
                )])
            } else {
                Ok(keep_preview(item, wire))
            }
        });
        match event {
            Ok(event) => events.push(event),
            Err(mut found) => {
                problems.append(&mut found);
                rejected.push(i);
            }
        }
    }
    if problems.is_empty() {
        let browser = body.get("browser");
        let member = |name: &str| browser?.get(name)?.as_str();
        Ok((events, browser_key(member("anonymousId"), member("key"))))
    } else {
        Err(Refusal::new(
            400,
            "invalid_events",
            format!(
                "{} problems in {} events; nothing was stored",
                problems.len(),
                rejected.len()
            ),
        )
        .with_problems(problems)
        .with("rejected", json!(rejected))
        .into())
    }
}

/// The studio's preview tags its events `context.preview: true`; core's
/// wire form keeps only the context it knows, so the tag is carried over
/// (reports leave preview traffic out).
fn keep_preview(sent: &CoreValue, mut wire: CoreValue) -> CoreValue {
    let preview = sent
        .get("context")
        .and_then(|c| c.get("preview"))
        .and_then(CoreValue::as_bool);
    if let (Some(true), CoreValue::Object(event)) = (preview, &mut wire) {
        if let Some(CoreValue::Object(context)) = event.get_mut("context") {
            context.insert("preview", true);
        }
    }
    wire
}

/// `GET /v1/admin/sites/{site}/events[?before=&before_id=&limit=]`: stored
/// events, newest first: from the store, continued from the R2 archive's
/// parts where the store's own do not fill the page (`store::archive`).
/// `next_before` and `next_before_id` say where the next page starts.
pub async fn recent(req: Request, env: &Env, site: &str) -> Handled {
    let page = crate::http::page(&req)?;
    let before_id = crate::http::query(&req, "before_id")?;
    if before_id.as_ref().is_some_and(|id| id.len() > MAX_ID_BYTES) {
        return Err(Refusal::new(400, "invalid_request", "before_id is too long").into());
    }
    let ask = RecentEvents { page, before_id };
    let cursor = ask.cursor();
    let bucket = env.bucket(archive::ARCHIVE_BUCKET).ok();
    // Each object's page goes on from its own archive parts; the pages
    // are then merged newest first (`store::placement`).
    let mut pages = Vec::new();
    for (object, mut events) in crate::store::call_each(env, site, &ask).await? {
        continue_from_archive(&mut events, bucket.as_ref(), &cursor).await;
        pages.push((object, events));
    }
    let map = crate::store::shard_map(env)?;
    let events = ask.gather(map, pages)?;
    Ok(json_response(200, &events)?)
}

/// Fills `events` from the archive parts its store named, where the
/// store's own events did not fill the page.
async fn continue_from_archive(
    events: &mut EventPage,
    bucket: Option<&worker::Bucket>,
    cursor: &EventCursor,
) {
    let parts = std::mem::take(&mut events.parts);
    if parts.is_empty() {
        return;
    }
    for part in &parts {
        let read = match bucket {
            Some(bucket) => read_part(bucket, &part.key).await,
            None => Err("the EVENTS bucket is not bound".into()),
        };
        match read {
            Ok(read) => {
                if archive::continue_page(events, read, cursor) {
                    break;
                }
            }
            Err(why) => {
                worker::console_error!("event archive {}: {why}", part.key);
                events.unreadable_parts.push(part.key.clone());
            }
        }
    }
    archive::set_next(events, &parts, cursor.limit);
}

/// One archive part's events; none for a part deleted by retention meanwhile.
async fn read_part(
    bucket: &worker::Bucket,
    key: &str,
) -> Result<Vec<crate::store::protocol::StoredEvent>, String> {
    let object = bucket.get(key).execute().await.map_err(|e| e.to_string())?;
    let Some(object) = object else {
        return Ok(Vec::new());
    };
    if object.size() > archive::MAX_PART_READ {
        return Err(format!("{} bytes: too large", object.size()));
    }
    let bytes = match object.body() {
        Some(body) => body.bytes().await.map_err(|e| e.to_string())?,
        None => return Ok(Vec::new()),
    };
    archive::read_part(&bytes)
}

/// The longest event id a cursor may name (ids are checked identifiers).
const MAX_ID_BYTES: usize = 256;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_events_are_named_by_index() {
        let good = r#"{"type":"track","event":"A","messageId":"m1","anonymousId":"a1","timestamp":"2026-01-01T00:00:00Z"}"#;
        let text = format!(r#"{{"batch":[{good},{{"type":"track"}},{good}]}}"#);
        let refusal = |text: &str| match read_batch(text) {
            Err(EdgeError::Refused(refusal)) => refusal,
            other => panic!("expected a refusal, got {other:?}"),
        };
        let bad = refusal(&text);
        assert_eq!(bad.status, 400);
        assert_eq!(bad.body()["rejected"], json!([1]));
        let too_many = format!(
            r#"{{"batch":[{}]}}"#,
            vec![good; MAX_BATCH_EVENTS + 1].join(",")
        );
        assert_eq!(refusal(&too_many).code, "invalid_batch");
        // An id with a line break would travel on in headers and burn the
        // forwarding retries: refused with its path, nothing stored.
        let crlf = good.replace(r#""m1""#, r#""a\r\nb""#);
        let bad = refusal(&format!(r#"{{"batch":[{crlf}]}}"#));
        assert_eq!((bad.status, bad.code), (400, "invalid_events"));
        assert_eq!(bad.body()["problems"][0]["path"], "batch[0].messageId");
    }
}
