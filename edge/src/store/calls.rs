//! How the Worker reaches a site's store: each command to the object or
//! objects it goes to (`placement`), over the `SITE` Durable Object
//! namespace (or native SQLite stores in tests, `Objects`), its answers
//! gathered, moves followed; and the entry points of what runs across a
//! site's objects (identify, cookie links, merges resumed, suppressions
//! copied, coupon codes leased, the studio's plays for a person).

use worker::{Env, Method, Request, RequestInit};

use super::persons::Db;
use super::protocol::{self, Ask, StoreError, StoreResult, Tagged};
use super::shards::{self, Placed, Placement, ShardMap};
use super::{directory, pools, saga, spread};

/// Sends `ask` to `site`'s store, to the object or objects it goes to
/// (`placement`), and reads its answer, of the command's own type
/// (`protocol::Ask`). A platform failure on the way (an object unreachable,
/// an answer that does not read) is `StoreError::Internal`: a 500 for the
/// Worker.
pub async fn call<A: Placed>(env: &Env, site: &str, ask: &A) -> StoreResult<A::Answer> {
    route(&SiteObjects::of(env, site)?, ask).await
}

/// Links a browser to a verified identity: one object's identify, or the
/// directory and a merge across objects (`saga::identify`).
pub async fn identify(
    env: &Env,
    site: &str,
    ask: &protocol::Identify,
    campaigns: &[protocol::ReportedCampaign],
) -> StoreResult<protocol::Identified> {
    saga::identify(&SiteObjects::of(env, site)?, ask, campaigns).await
}

/// Links a fresh browser to the one its signed cookie names when the two
/// are in different objects (`saga::link_cookie`); nothing with one object.
pub async fn link_cookie(
    env: &Env,
    site: &str,
    known: &str,
    fresh: &str,
    campaigns: &[protocol::ReportedCampaign],
) -> StoreResult<()> {
    let objects = SiteObjects::of(env, site)?;
    if objects.map().objects() == 1 {
        return Ok(());
    }
    saga::link_cookie(&objects, known, fresh, campaigns).await
}

/// Undoes a merge; across objects, its directory entries and its person's
/// own object follow (`saga::undo_merge`).
pub async fn undo_merge(
    env: &Env,
    site: &str,
    ask: &protocol::UndoMerge,
) -> StoreResult<protocol::Undone> {
    saga::undo_merge(&SiteObjects::of(env, site)?, ask).await
}

/// Finishes the merges across objects that `object` coordinates and that
/// were left unfinished (its alarm).
pub async fn resume_merges(
    env: &Env,
    site: &str,
    object: u16,
    campaigns: &[protocol::ReportedCampaign],
) -> StoreResult<usize> {
    saga::resume(&SiteObjects::of(env, site)?, object, campaigns).await
}

/// Copies suppressions an object made to every object of the site
/// (`spread`); the ones copied.
pub async fn copy_suppressions(
    env: &Env,
    site: &str,
    outbox: Vec<protocol::Suppression>,
) -> StoreResult<Vec<protocol::Suppression>> {
    spread::copy_suppressions(&SiteObjects::of(env, site)?, outbox).await
}

/// Leases the coupon codes object `here` wants from their pools' homes,
/// takes them in and makes the runs waiting for them due (`pools`; its alarm).
pub async fn lease_codes(env: &Env, site: &str, here: u16, db: &Db<'_>) -> StoreResult<usize> {
    pools::lease_step(&SiteObjects::of(env, site)?, here, db).await
}

/// Checks that object `here` serves with the count of objects the site was
/// made for (`fence`).
pub async fn fence_object(env: &Env, site: &str, here: u16, db: &Db<'_>) -> StoreResult<()> {
    super::fence::fence(&SiteObjects::of(env, site)?, here, db).await
}

/// Pulls the live config from the home into object `here` where a publish's
/// push did not reach it (`directory::pull_live_config`).
pub async fn pull_live_config(env: &Env, site: &str, here: u16, db: &Db<'_>) -> StoreResult<bool> {
    directory::pull_live_config(&SiteObjects::of(env, site)?, here, db).await
}

/// A dry run or a sample send (`Played`): at the home, which keeps the
/// drafts; with several objects, the person it plays for read first where
/// they live (`StudioPersonOf`).
pub async fn play_journey<A: Played>(env: &Env, site: &str, ask: A) -> StoreResult<A::Answer> {
    play_in(&SiteObjects::of(env, site)?, ask).await
}

/// `play_journey` among `objects`.
pub async fn play_in<A: Played>(objects: &impl Objects, mut ask: A) -> StoreResult<A::Answer> {
    if objects.map().objects() == 1 {
        return route(objects, &ask).await;
    }
    if let Some(person) = ask.person() {
        let who = route(objects, &protocol::StudioPersonOf { person }).await?;
        ask.set_who(who);
    }
    let answer = route(objects, &ask).await?;
    // The home counted the pools' codes it holds; the others hold codes too.
    let mut available = std::collections::BTreeMap::new();
    for pool in A::pools_in(&answer) {
        let counts = route(objects, &protocol::ReadPool { pool: pool.clone() }).await?;
        available.insert(pool, counts.available);
    }
    Ok(A::recount(answer, &available))
}

/// A play of a journey for a person, at the home.
pub trait Played: Placed {
    /// The person's name, when it plays for one.
    fn person(&self) -> Option<String>;
    fn set_who(&mut self, who: protocol::StudioPerson);

    /// The coupon pools the answer judged by the home's own codes.
    fn pools_in(_answer: &Self::Answer) -> Vec<String> {
        Vec::new()
    }

    /// The answer judged again by the pools' codes over every object.
    fn recount(
        answer: Self::Answer,
        _available: &std::collections::BTreeMap<String, i64>,
    ) -> Self::Answer {
        answer
    }
}

impl Played for protocol::DryRun {
    fn person(&self) -> Option<String> {
        self.person.clone()
    }

    fn set_who(&mut self, who: protocol::StudioPerson) {
        self.who = Some(who);
    }

    /// Steps the home found its pool empty for.
    fn pools_in(answer: &protocol::DryRunPlay) -> Vec<String> {
        let mut pools: Vec<String> = empty_pool_steps(answer)
            .filter_map(|step| step["coupon_pool"].as_str().map(str::to_owned))
            .collect();
        pools.sort();
        pools.dedup();
        pools
    }

    fn recount(
        mut answer: protocol::DryRunPlay,
        available: &std::collections::BTreeMap<String, i64>,
    ) -> protocol::DryRunPlay {
        if let Some(timeline) = answer.0["timeline"].as_array_mut() {
            for step in timeline.iter_mut().filter(|s| s["coupon"] == "pool_empty") {
                let pool = step["coupon_pool"].as_str().unwrap_or_default();
                if available.get(pool).is_some_and(|n| *n > 0) {
                    step["coupon"] = "given".into();
                }
            }
        }
        answer
    }
}

fn empty_pool_steps(play: &protocol::DryRunPlay) -> impl Iterator<Item = &serde_json::Value> {
    play.0["timeline"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|step| step["coupon"] == "pool_empty")
}

impl Played for protocol::SampleSend {
    fn person(&self) -> Option<String> {
        self.person.clone()
    }

    fn set_who(&mut self, who: protocol::StudioPerson) {
        self.who = Some(who);
    }
}

/// As `call`, with each object's answer apart (and its index): for a
/// caller that goes on with each before they are gathered (the event
/// listing continues each object's page from its own archive).
pub async fn call_each<A: Placed>(
    env: &Env,
    site: &str,
    ask: &A,
) -> StoreResult<Vec<(u16, A::Answer)>> {
    ask_placed(&SiteObjects::of(env, site)?, ask).await
}

/// A site's objects, as `route` reaches them: Durable Objects in the
/// Worker, SQLite stores natively (tests).
// `async fn` in a trait: the Worker is one thread, so no `Send` bound is
// wanted of the futures.
#[allow(async_fn_in_trait)]
pub trait Objects {
    fn map(&self) -> ShardMap;
    async fn ask<A: Ask>(&self, object: u16, ask: &A) -> StoreResult<A::Answer>;
}

/// Sends `ask` where it goes among `objects` and gathers the answers.
pub async fn route<A: Placed>(objects: &impl Objects, ask: &A) -> StoreResult<A::Answer> {
    let answers = ask_placed(objects, ask).await?;
    let mut answer = ask.gather(objects.map(), answers)?;
    // Events of browsers whose persons moved in a merge go where they went
    // (a person moves at most once per merge; two hops are plenty).
    for _ in 0..MAX_HOPS {
        let parts = ask.moved_parts(objects.map(), &answer);
        if parts.is_empty() {
            break;
        }
        let mut moved = Vec::with_capacity(parts.len());
        for (object, part) in &parts {
            moved.push((*object, ask_following(objects, *object, part).await?));
        }
        answer = ask.add_moved(answer, moved)?;
    }
    // Still moved after as many hops: never dropped in silence.
    if !ask.moved_parts(objects.map(), &answer).is_empty() {
        return Err(StoreError::Internal(format!(
            "{}: events moved more than {MAX_HOPS} times",
            A::COMMAND
        )));
    }
    Ok(answer)
}

/// How many moves a command follows before it gives up.
const MAX_HOPS: usize = 3;

/// Asks `object`, and where the browser's person moved if it says so.
async fn ask_following<A: Ask>(
    objects: &impl Objects,
    mut object: u16,
    ask: &A,
) -> StoreResult<A::Answer> {
    let map = objects.map();
    for _ in 0..MAX_HOPS {
        match objects.ask(object, ask).await {
            Err(StoreError::Moved { object: next }) if next != object => object = next,
            Err(StoreError::PersonElsewhere { person }) if map.person(&person) != object => {
                object = map.person(&person);
            }
            other => return other,
        }
    }
    Err(StoreError::Moved { object })
}

/// Sends `ask` where it goes, all objects at once; the first refusal wins
/// (an overload before others, so the caller spills the whole batch).
async fn ask_placed<A: Placed>(
    objects: &impl Objects,
    ask: &A,
) -> StoreResult<Vec<(u16, A::Answer)>> {
    let map = objects.map();
    let answers = match ask.place(map) {
        Placement::One(object) => {
            let answer = match ask_following(objects, object, ask).await {
                Err(refused @ (StoreError::NotFound(_) | StoreError::Moved { .. })) => {
                    match ask.otherwise(map) {
                        Some(next) if next != object => ask_following(objects, next, ask).await,
                        _ => Err(refused),
                    }
                }
                answer => answer,
            };
            vec![(object, answer)]
        }
        Placement::Every => {
            let asks = map
                .all()
                .map(|object| async move { (object, objects.ask(object, ask).await) });
            futures_util::future::join_all(asks).await
        }
        Placement::Parts(parts) => {
            let asks = parts
                .iter()
                .map(|(object, part)| async move { (*object, objects.ask(*object, part).await) });
            futures_util::future::join_all(asks).await
        }
    };
    let mut gathered = Vec::with_capacity(answers.len());
    let mut refused: Option<StoreError> = None;
    for (object, answer) in answers {
        match answer {
            Ok(answer) => gathered.push((object, answer)),
            Err(e) => {
                let overloaded = matches!(e, StoreError::Overloaded(_));
                if refused.is_none() || overloaded {
                    refused = Some(e);
                }
            }
        }
    }
    match refused {
        Some(e) => Err(e),
        None => Ok(gathered),
    }
}

/// A site's Durable Objects (`SITE` namespace), named by `shards::object_name`.
struct SiteObjects<'a> {
    env: &'a Env,
    site: &'a str,
    map: ShardMap,
}

impl<'a> SiteObjects<'a> {
    fn of(env: &'a Env, site: &'a str) -> StoreResult<Self> {
        Ok(SiteObjects {
            env,
            site,
            map: shard_map(env)?,
        })
    }
}

/// The deployment's `SITE_SHARDS` (`shards::ShardMap`); an object made for
/// another count refuses to serve (`fence`).
pub fn shard_map(env: &Env) -> StoreResult<ShardMap> {
    let value = env.var("SITE_SHARDS").ok().map(|v| v.to_string());
    ShardMap::from_var(value.as_deref()).map_err(StoreError::Internal)
}

impl Objects for SiteObjects<'_> {
    fn map(&self) -> ShardMap {
        self.map
    }

    async fn ask<A: Ask>(&self, object: u16, ask: &A) -> StoreResult<A::Answer> {
        let internal =
            |what: &str, e: &dyn std::fmt::Display| StoreError::Internal(format!("{what}: {e}"));
        let failed = |e: worker::Error| {
            // The platform refuses a request an object has too many queued for
            // ("Durable Object is overloaded"): not a failure of ours.
            let text = e.to_string();
            if text.contains("overloaded") {
                StoreError::Overloaded(text)
            } else {
                internal("site object", &e)
            }
        };
        let name = shards::object_name(self.site, object);
        let namespace = self.env.durable_object("SITE").map_err(failed)?;
        let stub = namespace
            .id_from_name(&name)
            .and_then(|id| id.get_stub())
            .map_err(failed)?;
        let body = serde_json::to_string(&Tagged {
            command: A::COMMAND,
            ask,
        })
        .map_err(|e| internal("command", &e))?;
        let mut init = RequestInit::new();
        init.with_method(Method::Post).with_body(Some(body.into()));
        // The path names the object (`shards::read_object_name`): it keeps
        // its site for its alarm, which queues journeys' sends for that
        // site. (Site keys are URL-safe.)
        let url = format!("https://site/{name}");
        let request = Request::new_with_init(&url, &init).map_err(|e| internal("request", &e))?;
        let answer = stub.fetch_with_request(request).await.map_err(failed)?;
        let text = text_of(answer).await.map_err(|e| internal("answer", &e))?;
        serde_json::from_str::<StoreResult<A::Answer>>(&text).map_err(|e| internal("answer", &e))?
    }
}

/// A response's body as text, read by the runtime in one call. (workers-rs
/// reads a streamed body chunk by chunk through wasm, each chunk a reader
/// lock taken and released: about a tenth of `/v1/events`' CPU, BENCHMARKS §5.)
async fn text_of(response: worker::Response) -> worker::Result<String> {
    let response: worker::web_sys::Response = response.into();
    let text = worker::wasm_bindgen_futures::JsFuture::from(response.text()?).await?;
    text.as_string()
        .ok_or_else(|| worker::Error::RustError("the answer is not text".into()))
}
