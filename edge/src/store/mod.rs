//! Each site's store: one SQLite-backed Durable Object (`Site`) holding the
//! event log, the persons behind the events and the forwarding bookkeeping.
//!
//! - `protocol`: the commands the Worker sends it, each a type with its own
//!   answer type (`protocol::Ask`), and its typed refusals.
//! - `sql`: the SQL seam (the object's SQLite; rusqlite in native tests).
//! - `schema`: numbered migrations, tracked by `PRAGMA user_version`.
//! - `persons`, `identity`, `merges`: persons, contact details, suppression, links, the merge log and undo.
//! - `events`: the event log and the facts events carry; inbound webhooks.
//! - `archive`: the event log's way out, to R2 parts (the ids stay, for de-duplication).
//! - `deliveries`: what was forwarded, SMS claims and budgets, dead letters.
//! - `reports`: campaign reports, rolled up with each event; their reads.
//! - `retention`, `rate`: pruning on an alarm; events per minute.
//! - `versions`: the config's immutable versions and the studio's drafts.
//! - `keys`: which generation of each rotatable key is current; revoked studio sessions.
//! - `journeys`: journeys' runs, timers, outbox and facts; `pools`: coupon
//!   pools' codes leased between a site's objects. The Durable Object
//!   itself and its alarm (journey timers and the daily chores share it) are
//!   `crate::site`, above the store: its alarm hands sends to `forward`.
//!
//! - `shards`, `placement`: a site's objects (`SITE_SHARDS`), where each
//!   command goes among them and how their answers make one; `fence`: the
//!   count an object was made for, kept; `calls`: how
//!   the Worker reaches them (`call` routes; `saga`, `spread` run across).
//!
//! One object per site keeps every lookup a local SQLite query; a site that
//! outgrows one spreads its persons over several by browser (issue #22).

pub mod archive;
pub mod deliveries;
pub mod directory;
pub mod events;
pub mod fence;
pub mod hooks;
pub mod identity;
pub mod journeys;
pub mod keys;
pub mod merges;
pub mod moves;
pub mod persons;
pub mod placement;
pub mod pools;
pub mod protocol;
pub mod rate;
pub mod reports;
pub mod retention;
pub mod saga;
pub mod schema;
pub mod shards;
pub mod spread;
pub mod sql;
pub mod versions;

#[cfg(test)]
mod tests;

mod calls;
pub use calls::{
    call, call_each, copy_suppressions, fence_object, identify, lease_codes, link_cookie,
    play_journey, pull_live_config, resume_merges, route, shard_map, undo_merge, Objects,
};

use nudge_core::journey::Journeys;
use serde_json::Value;

use persons::Db;
use protocol::{Ask, Command, StoreError, StoreResult};

/// Runs `ask` against the store's SQL as the object would, through the
/// wire's JSON both ways, and reads its typed answer (native tests).
#[cfg(test)]
pub fn ask<A: Ask>(db: &Db<'_>, ask: &A, journeys: &Journeys) -> StoreResult<A::Answer> {
    ask_in(db, ask, journeys, 1)
}

/// As `ask`, in one of a site's `objects` objects.
#[cfg(test)]
pub fn ask_in<A: Ask>(
    db: &Db<'_>,
    ask: &A,
    journeys: &Journeys,
    objects: u16,
) -> StoreResult<A::Answer> {
    let tagged = protocol::Tagged {
        command: A::COMMAND,
        ask,
    };
    let text = serde_json::to_string(&tagged).map_err(sql::internal)?;
    let mut command: Command = serde_json::from_str(&text).map_err(sql::internal)?;
    set_objects(&mut command, objects);
    let answer = dispatch(db, command, journeys)?;
    serde_json::from_value(answer).map_err(sql::internal)
}

/// Tells a command how many objects the site's budgets and directory are
/// spread over (`SITE_SHARDS`): the object sets it on what it receives; it
/// is never on the wire.
pub fn set_objects(command: &mut Command, objects: u16) {
    match command {
        Command::Append(batch) => batch.objects = objects,
        Command::AppendSpilled(spilled) => {
            for batch in &mut spilled.batches {
                batch.objects = objects;
            }
        }
        Command::Hook(hook) => hook.objects = objects,
        _ => {}
    }
}

/// A store refusal where the caller is not an HTTP handler (the queue
/// consumers): a platform error for the runtime, which retries the message.
impl From<StoreError> for worker::Error {
    fn from(error: StoreError) -> Self {
        worker::Error::RustError(format!("site store: {error:?}"))
    }
}

/// Logs a failure the store carries on after (the Worker's log; stderr natively).
pub fn log_error(what: &str, error: &StoreError) {
    #[cfg(target_arch = "wasm32")]
    worker::console_error!("site store: {what}: {error:?}");
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("site store: {what}: {error:?}");
}

/// Stores `batch`, and feeds its new, proven events to journeys.
fn append(
    db: &Db<'_>,
    batch: &protocol::Append,
    journeys: &Journeys,
) -> StoreResult<protocol::Appended> {
    let appended = db.append(batch)?;
    // A journey's trouble never costs the batch: the events and their facts
    // are stored either way (a retry would find them duplicates and never
    // feed journeys again).
    for (person, event) in &appended.fresh {
        if let Err(e) = db.journeys_on_event(journeys, person, event) {
            log_error("journeys", &e);
        }
    }
    Ok(appended)
}

/// The person a command is placed by (`placement`: the object its id names).
fn placed_by_person(command: &Command) -> Option<&str> {
    match command {
        Command::ExportPerson(c) => Some(&c.person),
        Command::ImportPerson(c) => Some(&c.into),
        Command::MergeDone(c) => Some(&c.into),
        Command::ForgetPerson(c) => Some(&c.person),
        Command::Unfreeze(c) => Some(&c.person),
        Command::TakeHeld(c) => Some(&c.person),
        Command::DropHeld(c) => Some(&c.person),
        Command::UserOf(c) => Some(&c.person),
        _ => None,
    }
}

/// The answer to `ask` as JSON, of `ask`'s own answer type: `dispatch`
/// cannot answer a command with another's.
fn answer<A: Ask>(_ask: &A, answer: StoreResult<A::Answer>) -> StoreResult<Value> {
    serde_json::to_value(answer?).map_err(|e| StoreError::Internal(e.to_string()))
}

/// Runs one command against the store's SQL (native tests call this too).
/// `journeys` are the live config's, for the events that enter or end runs.
pub fn dispatch(db: &Db<'_>, command: Command, journeys: &Journeys) -> StoreResult<Value> {
    // A person whose id names this object but who lives in another, as
    // itself (an undo split it out there): its commands go there.
    if let Some(person) = placed_by_person(&command) {
        if let Some(object) = db.relocated(person)? {
            return Err(StoreError::Moved { object });
        }
    }
    match command {
        Command::Append(batch) => answer(&batch, append(db, &batch, journeys)),
        Command::AppendSpilled(spilled) => {
            let appended = spilled
                .batches
                .iter()
                .map(|batch| append(db, batch, journeys))
                .collect();
            answer(&spilled, appended)
        }
        Command::Identify(c) => answer(&c, db.identify(&c)),
        Command::Claim(c) => answer(
            &c,
            db.claim(&c.anonymous_id, c.email.as_deref(), c.phone.as_deref()),
        ),
        Command::Profile(c) => answer(&c, db.profile_for(&c.anonymous_id, &c.key_hash)),
        Command::Hook(c) => {
            let applied = db.hook(&c.id, &c.channel, &c.event, c.objects)?;
            // An inbound event (a click, an unsubscribe) can end or enter
            // runs too, named by its type (`email.clicked`).
            if let Some(kind) = c.event["type"].as_str() {
                let signal = serde_json::json!({"type": "track", "event": kind});
                if let Err(e) = db.journeys_on_event(journeys, &applied.person, &signal) {
                    log_error("journeys", &e);
                }
            }
            answer(&c, Ok(applied))
        }
        Command::Merges(c) => answer(&c, db.merges(c.person.as_deref(), &c.page)),
        Command::UndoMerge(c) => answer(&c, db.undo_merge(c.seq, &c.reason)),
        Command::RecentEvents(c) => answer(&c, db.recent_events(&c.cursor())),
        Command::Deliveries(c) => answer(&c, db.deliveries(&c.checks)),
        Command::Outcomes(c) => answer(&c, db.record_outcomes(&c)),
        Command::DeadLetter(c) => answer(&c, db.dead_letter(&c.reason, &c.message)),
        Command::DeadLetters(c) => answer(&c, db.dead_letters(&c.page)),
        Command::RemoveDeadLetters(c) => answer(&c, db.remove_dead_letters(&c.seqs)),
        Command::Studio(call) => db.studio(call),
        Command::Report(c) => answer(
            &c,
            db.report(&c.campaign, c.from_day, c.to_day, c.window_days),
        ),
        Command::ReportSummary(c) => {
            answer(&c, db.report_summary(c.from_day, c.to_day, c.window_days))
        }
        Command::Journeys(c) => answer(&c, db.journey_list(journeys)),
        Command::JourneyRuns(c) => answer(&c, db.person_journeys(&c.person)),
        Command::DryRun(c) => answer(&c, db.dry_run_asked(journeys, &c)),
        Command::SampleSend(c) => answer(&c, db.sample_send_asked(journeys, &c)),
        Command::StudioPersonOf(c) => answer(&c, db.studio_person(&c.person)),
        Command::AddPoolCodes(c) => answer(&c, db.add_pool_codes(&c.pool, &c.codes)),
        Command::PoolCounts(c) => answer(&c, db.pool_counts(&c.pool)),
        Command::LeaseCodes(c) => answer(&c, db.lease_codes(&c)),
        Command::Keys(c) => answer(&c, db.key_state(c.session.as_deref())),
        Command::RotateKey(c) => answer(&c, db.rotate_key(c.key, c.window_ms)),
        Command::RevokeSession(c) => answer(&c, db.revoke_session(&c.id, c.until)),
        Command::BrowserPerson(c) => answer(&c, db.browser_person(&c)),
        Command::UserOf(c) => answer(&c, db.user_id_of(&c.person)),
        Command::WhereIs(c) => answer(&c, db.where_is(&c)),
        Command::PersonOfBrowser(c) => answer(&c, db.person_of_browser(&c.anonymous_id)),
        Command::Bind(c) => answer(&c, db.bind(&c)),
        Command::Repoint(c) => answer(&c, db.repoint(&c)),
        Command::SagaStep(c) => answer(&c, db.saga_step(&c)),
        Command::OpenSagas(c) => answer(&c, db.open_sagas(saga::DONE)),
        Command::ExportPerson(c) => answer(&c, db.export_person(&c)),
        Command::ImportPerson(c) => answer(&c, db.import_person(&c)),
        Command::MergeDone(c) => answer(&c, db.merge_done(&c)),
        Command::ForgetPerson(c) => answer(&c, db.forget_person(&c)),
        Command::TakeHeld(c) => answer(&c, db.take_held(&c)),
        Command::DropHeld(c) => answer(&c, db.drop_held(&c)),
        Command::AdoptConfig(c) => answer(&c, db.adopt_config(&c)),
        Command::Relocate(c) => answer(&c, db.relocate(&c)),
        Command::RedirectBrowser(c) => answer(&c, db.redirect_browser(&c)),
        Command::LiveConfig(c) => answer(&c, db.live_config_after(c.after)),
        Command::ShardCount(c) => answer(&c, db.served_objects()),
        Command::UseNonce(c) => answer(&c, db.use_nonce(&c.nonce)),
        Command::Unfreeze(c) => answer(&c, db.unfreeze(&c)),
        Command::Suppress(c) => answer(&c, db.take_suppressions(&c)),
        // The object runs the tick itself (it awaits the queue); see `site`.
        Command::JourneysTick(_) => Err(StoreError::Internal(
            "journeys_tick runs on the object, not in dispatch".into(),
        )),
    }
}
