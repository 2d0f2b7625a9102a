//! The site owner's endpoints under `/v1/admin/sites/{site}/…`, each behind
//! the site's own admin token (checked by the route table before these run).

use nudge_core::Diagnostic;
use serde_json::json;
use worker::{Env, Request};

use crate::destination::Destinations;
use crate::forward::destinations;
use crate::http::limits::ADMIN_BODY_BYTES;
use crate::http::{
    ok, read_body, read_json, refuse, site_keys, store_site_document, EdgeError, Handled, Refusal,
};
use crate::store::protocol::ListDeadLetters;
use crate::store::protocol::ListMerges;
use crate::store::protocol::RemoveDeadLetters;
use crate::store::protocol::UndoMerge;

/// Stores `req`'s body as the site's KV document `key`. `prepare` reads the
/// text and returns every problem in it and the text to store (the body as
/// sent, or a form of it such as one with sealed credentials); with any
/// problem the answer is 400 with all of them, and nothing is written.
pub async fn put_document(
    mut req: Request,
    env: &Env,
    key: &str,
    invalid: &'static str,
    prepare: impl FnOnce(&str) -> Result<(Vec<Diagnostic>, String), EdgeError>,
) -> Handled {
    let text = read_body(&mut req, ADMIN_BODY_BYTES).await?;
    let (problems, text) = prepare(&text)?;
    if !problems.is_empty() {
        return Err(Refusal::new(
            400,
            invalid,
            format!("{} problems; nothing was stored", problems.len()),
        )
        .with_problems(problems)
        .into());
    }
    store_site_document(env, key, text).await?;
    ok(&json!({"stored": true}))
}

/// `PUT /v1/admin/sites/{site}/destinations`: validated, then stored with
/// every credential sealed (the answer never echoes one).
pub async fn put_destinations(req: Request, env: &Env, site: &str) -> Handled {
    let allow_local = destinations::local_allowed(env);
    let keys = site_keys(env, site).await?;
    put_document(
        req,
        env,
        &destinations::key(site),
        "invalid_destinations",
        |text| {
            let mut document = crate::http::parse_json(text)?;
            let problems = destinations::validate(&document, allow_local);
            if problems.is_empty() {
                destinations::seal_all(&mut document, &keys.credentials, site).ok_or_else(
                    || {
                        refuse(
                            400,
                            "invalid_destinations",
                            "a credential could not be sealed",
                        )
                    },
                )?;
            }
            Ok((problems, document.to_string()))
        },
    )
    .await
}

/// `GET /v1/admin/sites/{site}/destinations`: `{destinations: [{id, kind,
/// consent, events}]}` ([`public_view`]); an empty list for a site with none.
pub async fn list_destinations(env: &Env, site: &str) -> Handled {
    let text = crate::http::cached_kv(env, &destinations::key(site)).await?;
    let (document, left_out) = text
        .and_then(|t| Destinations::read_reporting(&t))
        .unwrap_or_default();
    let mut answer = json!({"destinations": destinations::public_view(&document)});
    // Stored destinations forwarding cannot read (and so leaves out): said
    // here, where the site owner looks, not only in the Worker's log.
    if !left_out.is_empty() {
        answer["left_out"] = json!(left_out);
    }
    ok(&answer)
}

/// `GET …/merges[?person=&before=&limit=]`: the merge log, newest first.
pub async fn merges(req: Request, env: &Env, site: &str) -> Handled {
    let command = ListMerges {
        person: crate::http::query(&req, "person")?,
        page: crate::http::page(&req)?,
    };
    let answer = crate::store::call(env, site, &command).await?;
    ok(&answer)
}

/// `POST …/merges/undo` with `{seq, reason?}`: splits a wrongly merged person
/// again (see `store::identity` for what comes back).
pub async fn undo_merge(mut req: Request, env: &Env, site: &str) -> Handled {
    let body = read_json(&mut req, crate::http::limits::SMALL_BODY_BYTES).await?;
    let Some(seq) = body["seq"].as_i64() else {
        return Err(refuse(
            400,
            "invalid_request",
            "expected {\"seq\": <merge number>, \"reason\"?: text}",
        ));
    };
    let reason = body["reason"]
        .as_str()
        .unwrap_or("undone by an admin")
        .chars()
        .take(500)
        .collect();
    let answer = crate::store::undo_merge(env, site, &UndoMerge { seq, reason }).await?;
    ok(&answer)
}

/// `GET …/dead-letters[?after=&limit=]`, oldest first.
pub async fn dead_letters(req: Request, env: &Env, site: &str) -> Handled {
    let page = crate::http::page(&req)?;
    let answer = crate::store::call(env, site, &ListDeadLetters { page }).await?;
    ok(&answer)
}

/// `POST …/dead-letters/replay`: puts up to one page of dead letters back on
/// the forwarding queue; each is removed only once it is queued again.
pub async fn replay(req: Request, env: &Env, site: &str) -> Handled {
    let page = crate::http::page(&req)?;
    let taken = crate::store::call(env, site, &ListDeadLetters { page }).await?;
    // A letter filed as too large stays filed: sending it again cannot work,
    // and it must not block the page behind it.
    let (messages, seqs): (Vec<String>, Vec<i64>) = taken
        .letters
        .iter()
        .map(|l| (l.message.to_string(), l.seq))
        .filter(|(message, _)| message.len() <= crate::forward::MAX_MESSAGE_BYTES)
        .unzip();
    crate::forward::send(env, &messages).await?;
    crate::store::call(env, site, &RemoveDeadLetters { seqs }).await?;
    ok(&json!({"replayed": messages.len(), "left": taken.total - messages.len() as i64}))
}
