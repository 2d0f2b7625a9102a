//! Identity across a site's objects (`store::shards`, issue #22): the
//! directory decides who owns a verified identifier, and a merge whose two
//! persons live in two objects runs as a saga of idempotent steps, logged
//! at the directory object of the identifier that proved it (the
//! coordinator), so a crash after any step is finished by running the
//! steps again (`resume`).
//!
//! Identify, with several objects:
//! 1. the browser's object names its person (made if new; the browser's
//!    key checked) and that person's user id;
//! 2. the identifier's directory object binds it to that person unless it
//!    is bound (first binding wins: two identifies at once meet there);
//! 3. bound to a person of the same object: the object identifies as it
//!    always has (a local bind or a local merge, logged and undoable);
//!    bound to a person of another object: the browser's person moves
//!    there (`merge_across`), then the identify is finished there.
//!
//! The merge across objects, each step idempotent by the merge's id:
//! 1. logged at the coordinator (`SagaStep`, step 1);
//! 2. export: the loser's object freezes it (its events are acknowledged
//!    and held apart) and gives back everything it has;
//! 3. import at the winner's object: the rows taken in, then merged as a
//!    local merge (the same rules, log and undo), once per merge id;
//! 4. every directory entry of the loser pointed at the winner;
//! 5. forget: the loser leaves its object, which keeps where its browsers
//!    and id went (their later events are sent there);
//! 6. the held events stored at the winner, then dropped at the loser;
//! 7. logged done.

use sha2::{Digest, Sha256};

use super::protocol::*;
use super::shards::directory_object;
use super::{route, Objects};

/// The step logged once a merge across objects is finished.
pub const DONE: u8 = 7;

/// Links a browser to a verified identifier, across the site's objects.
/// With one object, the object's own identify.
pub async fn identify(
    objects: &impl Objects,
    ask: &Identify,
    campaigns: &[ReportedCampaign],
) -> StoreResult<Identified> {
    let map = objects.map();
    if map.objects() == 1 {
        return route(objects, ask).await;
    }
    let (kind, value) = proven(&ask.proven);
    let browser = route(
        objects,
        &BrowserPerson {
            anonymous_id: ask.anonymous_id.clone(),
            browser_key: ask.browser_key.clone(),
        },
    )
    .await?;
    if kind == "user" && browser.user_id.as_deref().is_some_and(|u| u != value) {
        return Err(StoreError::UserConflict(
            "this browser belongs to another user id".into(),
        ));
    }
    // A link's nonce is single-use across the site, not per object: used
    // once every refusal above is decided.
    if let Some(nonce) = &ask.nonce {
        let fresh = route(
            objects,
            &UseNonce {
                nonce: nonce.clone(),
            },
        )
        .await?;
        if !fresh {
            return Err(StoreError::TokenUsed("this link was already used".into()));
        }
    }
    // Where the browser's person lives, for the entry when that is not the
    // object its id names (an undo split it out elsewhere).
    let mine = whereabouts(objects, browser.person.clone()).await?;
    let bound = route(
        objects,
        &Bind {
            kind: kind.into(),
            value: value.into(),
            person: browser.person.clone(),
            object: (mine.object != map.person(&browser.person)).then_some(mine.object),
        },
    )
    .await?;
    // The directory may name a person that a merge moved since: its
    // current self, and the object it lives in.
    let found = whereabouts(objects, bound.person.clone()).await?;
    // An entry naming a person its object no longer knows (pruned by
    // retention after an identify that never finished) is stale: this
    // identify binds it as the first would.
    let target = if bound.person != browser.person && !found.known {
        let repoint = Repoint {
            kind: kind.into(),
            value: value.into(),
            from: bound.person.clone(),
            into: browser.person.clone(),
            object: None,
            owned: false,
        };
        route(objects, &repoint).await?;
        browser.person.clone()
    } else {
        found.person
    };
    let across = target != browser.person && found.object != mine.object;
    if across {
        // Never two user ids on one person, whichever identifier proved it.
        let theirs = route(
            objects,
            &UserOf {
                person: target.clone(),
            },
        )
        .await?;
        if let (Some(ours), Some(theirs)) = (&browser.user_id, &theirs) {
            if ours != theirs {
                return Err(StoreError::UserConflict(
                    "never merging two different user ids".into(),
                ));
            }
        }
        let step = SagaStep {
            merge: merge_id(&browser.person, &target),
            from: browser.person,
            into: target,
            proof: ask.proof.clone(),
            step: 1,
            object: directory_object(map, kind, value),
        };
        merge_across(objects, &step, campaigns, Fault::None).await?;
    }
    // The browser is where its person is now: the object identifies (a
    // local bind, a local merge, or nothing left to do after a move). The
    // nonce is used already, site-wide.
    let local = Identify {
        nonce: None,
        ..ask.clone()
    };
    let identified = route(objects, &local).await?;
    Ok(Identified {
        merged: identified.merged || across,
        ..identified
    })
}

/// A signed first-party cookie says `fresh` is the browser `known` was
/// (its script storage wiped): with the two in different objects, fresh's
/// person moves into known's, by the rules of a local link (`Db::
/// link_cookie`): never into a signed-in person, never across two user ids.
pub async fn link_cookie(
    objects: &impl Objects,
    known: &str,
    fresh: &str,
    campaigns: &[ReportedCampaign],
) -> StoreResult<()> {
    if known == fresh {
        return Ok(());
    }
    let of = |anonymous_id: &str| PersonOfBrowser {
        anonymous_id: anonymous_id.into(),
    };
    let (Some(into), Some(from)) = (
        route(objects, &of(known)).await?,
        route(objects, &of(fresh)).await?,
    ) else {
        return Ok(());
    };
    // Never into a signed-in person (`Db::link_cookie`'s rule: a signed-in
    // fresh browser's person may move into an anonymous one).
    if into.user_id.is_some() {
        return Ok(());
    }
    let into_lives = whereabouts(objects, into.person.clone()).await?.object;
    if into_lives == whereabouts(objects, from.person.clone()).await?.object {
        return Ok(());
    }
    let step = SagaStep {
        merge: merge_id(&from.person, &into.person),
        object: into_lives,
        from: from.person,
        into: into.person,
        proof: "signed_cookie".into(),
        step: 1,
    };
    merge_across(objects, &step, campaigns, Fault::None).await
}

/// Where a person is now: who it is after any merges across objects that
/// moved it (a chain of at most a few moves), the object it lives in (the
/// one its id names, unless an undo split it out in another: `Relocate`),
/// and whether that object knows it at all.
struct Whereabouts {
    person: String,
    object: u16,
    known: bool,
}

async fn whereabouts(objects: &impl Objects, person: String) -> StoreResult<Whereabouts> {
    let map = objects.map();
    let mut person = person;
    for _ in 0..8 {
        let is = route(
            objects,
            &WhereIs {
                person: person.clone(),
            },
        )
        .await?;
        match is.moved_to {
            // Split out again by an undo: itself, in another object, unless
            // it was merged or moved on from there since (which only that
            // object knows).
            Some(object) if is.person == person => {
                let there = objects
                    .ask(
                        object,
                        &WhereIs {
                            person: person.clone(),
                        },
                    )
                    .await?;
                if there.person != person {
                    person = there.person;
                    continue;
                }
                return Ok(Whereabouts {
                    person,
                    object,
                    known: true,
                });
            }
            Some(_) => person = is.person,
            // Merged into another person in its object.
            None if is.person != person => person = is.person,
            None => {
                return Ok(Whereabouts {
                    object: map.person(&person),
                    person,
                    known: is.known,
                })
            }
        }
    }
    Err(StoreError::Internal(format!(
        "{person} moved too many times"
    )))
}

/// The kind and value a proof names, as the directory keys them.
fn proven(proven: &Proven) -> (&'static str, &str) {
    match proven {
        Proven::UserId(user) => ("user", user.as_str()),
        Proven::EmailHash(hash) => ("email", hash.as_str()),
        Proven::PhoneHash(hash) => ("phone", hash.as_str()),
    }
}

/// One merge's id: the same for the same two persons, so two identifies
/// that both find the merge run it once.
pub fn merge_id(from: &str, into: &str) -> String {
    let digest = Sha256::new()
        .chain_update(from.as_bytes())
        .chain_update(b"\0")
        .chain_update(into.as_bytes())
        .finalize();
    digest[..12].iter().map(|b| format!("{b:02x}")).collect()
}

/// Where a test stops a merge, as a crash would (natively only).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Fault {
    None,
    /// Stop after this step (1 to 6) is done.
    After(u8),
}

/// Runs (or finishes) a merge across objects; every step may already be
/// done. `campaigns` are the live config's, for the held events' reports.
pub async fn merge_across(
    objects: &impl Objects,
    logged: &SagaStep,
    campaigns: &[ReportedCampaign],
    fault: Fault,
) -> StoreResult<()> {
    let map = objects.map();
    let stop = |step: u8| fault == Fault::After(step);
    let mut log = logged.clone();
    log.step = 1;
    // A winner that moved in another merge meanwhile: this one follows it
    // (the merge keeps its id; the log says where it goes now).
    let into_is = whereabouts(objects, log.into).await?;
    log.into = into_is.person;
    // The winner became the loser meanwhile (the same pair merged the
    // other way, and that merge finished first): nothing is left to move,
    // and a loser this merge froze is unfrozen with its held events.
    if log.into == log.from {
        return give_way(objects, &log, campaigns).await;
    }
    route(objects, &log).await?;
    if stop(1) {
        return Ok(());
    }
    let (merge, from, into) = (&log.merge, &log.from, &log.into);
    let export = route(
        objects,
        &ExportPerson {
            merge: merge.clone(),
            person: from.clone(),
            into: into.clone(),
        },
    )
    .await?;
    if stop(2) {
        return Ok(());
    }
    let entries = export.directory_entries();
    // The winner's object: its id's, unless an undo left it in another.
    let into_lives = into_is.object;
    let relocated = (into_lives != map.person(into)).then_some(into_lives);
    let import = ImportPerson {
        merge: merge.clone(),
        into: into.clone(),
        proof: log.proof.clone(),
        export,
    };
    match route(objects, &import).await {
        Ok(_) => {}
        // The winner is leaving in a merge into this merge's loser: two
        // merges of one pair, opposite ways. The one with the greater id
        // gives way (both see the same ids, so exactly one does).
        Err(StoreError::Conflict { current, .. })
            if current["into"].as_str() == Some(from.as_str())
                && current["merge"]
                    .as_str()
                    .is_some_and(|theirs| theirs < merge.as_str()) =>
        {
            give_way(objects, &log, campaigns).await?;
            return Err(StoreError::Overloaded(
                "these two persons are merging the other way; try again".into(),
            ));
        }
        Err(StoreError::Conflict { message, .. }) => return Err(StoreError::Overloaded(message)),
        Err(other) => return Err(other),
    }
    if stop(3) {
        return Ok(());
    }
    for (kind, value) in entries {
        let repoint = Repoint {
            kind,
            value,
            from: from.clone(),
            into: into.clone(),
            object: relocated,
            owned: true,
        };
        route(objects, &repoint).await?;
    }
    if stop(4) {
        return Ok(());
    }
    let forget = ForgetPerson {
        merge: merge.clone(),
        person: from.clone(),
        into: into.clone(),
        into_object: into_lives,
    };
    let browsers = route(objects, &forget).await?;
    // Each browser's own object, where its events arrive first, leads
    // straight to where its person is now: one hop however many times a
    // person moves (a chain of redirects would end in a refusal past
    // `MAX_HOPS`). Its new object is its home for the ones that hash there.
    for anonymous_id in browsers {
        if map.browser(&anonymous_id) != into_lives {
            let redirect = RedirectBrowser {
                anonymous_id,
                object: into_lives,
                merge: merge.clone(),
            };
            route(objects, &redirect).await?;
        }
    }
    if stop(5) {
        return Ok(());
    }
    replay_held(objects, merge, from, campaigns).await?;
    if stop(6) {
        return Ok(());
    }
    // The winner's object may now let the admin undo it.
    let done = MergeDone {
        merge: merge.clone(),
        into: into.clone(),
    };
    route(objects, &done).await?;
    log.step = DONE;
    route(objects, &log).await?;
    Ok(())
}

/// Ends a merge before its import, as if it never began: its loser is
/// unfrozen and keeps the events held meanwhile; the log says done.
async fn give_way(
    objects: &impl Objects,
    log: &SagaStep,
    campaigns: &[ReportedCampaign],
) -> StoreResult<()> {
    let unfreeze = Unfreeze {
        merge: log.merge.clone(),
        person: log.from.clone(),
    };
    let held = route(objects, &unfreeze).await?;
    store_held(objects, &log.merge, held, campaigns).await?;
    route(
        objects,
        &DropHeld {
            merge: log.merge.clone(),
            person: log.from.clone(),
        },
    )
    .await?;
    let done = SagaStep {
        step: DONE,
        ..log.clone()
    };
    route(objects, &done).await?;
    Ok(())
}

/// Stores the events held while `from` moved where it went (their browsers
/// lead there now), then drops them at its old object.
async fn replay_held(
    objects: &impl Objects,
    merge: &str,
    from: &str,
    campaigns: &[ReportedCampaign],
) -> StoreResult<()> {
    let held = route(
        objects,
        &TakeHeld {
            merge: merge.into(),
            person: from.into(),
        },
    )
    .await?;
    store_held(objects, merge, held, campaigns).await?;
    route(
        objects,
        &DropHeld {
            merge: merge.into(),
            person: from.into(),
        },
    )
    .await
}

/// Stores held events where their browsers lead now, with the proof each
/// came with, in batches of the size a browser may send; accepted once
/// already, so no budget refuses them again (the object sees `held`).
async fn store_held(
    objects: &impl Objects,
    merge: &str,
    held: HeldEvents,
    campaigns: &[ReportedCampaign],
) -> StoreResult<()> {
    for events in held.events.chunks(nudge_core::limits::MAX_BATCH_EVENTS) {
        let ids: Vec<&str> = events
            .iter()
            .filter_map(|e| e["messageId"].as_str())
            .collect();
        let batch = Append {
            events: events.to_vec(),
            cookie_browser: None,
            client: format!("merge:{merge}"),
            browser_key: None,
            campaigns: campaigns.to_vec(),
            held: held
                .proofs
                .iter()
                .filter(|(id, _)| ids.contains(&id.as_str()))
                .cloned()
                .collect(),
            objects: 0,
            away: false,
        };
        route(objects, &batch).await?;
    }
    Ok(())
}

/// Finishes every merge across objects left unfinished (a crash, a
/// timeout): what an object's alarm runs for the merges it coordinates.
/// Answers how many it finished; the others wait for the next alarm.
pub async fn resume(
    objects: &impl Objects,
    coordinator: u16,
    campaigns: &[ReportedCampaign],
) -> StoreResult<usize> {
    let open = route(
        objects,
        &OpenSagas {
            object: coordinator,
        },
    )
    .await?;
    // Each on its own: one that must wait (or gives way) holds up no other.
    let mut finished = 0;
    for step in &open {
        let step = SagaStep {
            object: coordinator,
            ..step.clone()
        };
        match merge_across(objects, &step, campaigns, Fault::None).await {
            Ok(()) => finished += 1,
            Err(e) => super::log_error(&format!("merge {}", step.merge), &e),
        }
    }
    Ok(finished)
}

/// Undoes a merge where its log is, and, when the person split out has an
/// id naming another object (the merge moved it across), points the
/// directory's entries of what it got back at it again and has its own
/// object send its commands where it lives now (`Relocate`). With one
/// object, the undo alone.
pub async fn undo_merge(objects: &impl Objects, ask: &UndoMerge) -> StoreResult<Undone> {
    let undone = route(objects, ask).await?;
    let map = objects.map();
    if map.objects() == 1 {
        return Ok(undone);
    }
    let here = super::shards::unqualify(undone.undone).map_or(map.home(), |(object, _)| object);
    let relocated = map.person(&undone.person) != here;
    for (kind, value) in &undone.given_back {
        let repoint = Repoint {
            kind: kind.clone(),
            value: value.clone(),
            from: undone.split_from.clone(),
            into: undone.person.clone(),
            object: relocated.then_some(here),
            owned: true,
        };
        route(objects, &repoint).await?;
    }
    if relocated {
        let relocate = Relocate {
            person: undone.person.clone(),
            object: here,
        };
        route(objects, &relocate).await?;
    }
    Ok(undone)
}
