//! Where each store command goes among a site's objects, and how the
//! answers of several make one (`shards::Placed`). With one object every
//! command goes to it and its answer is passed on as it is.
//!
//! - By browser: a profile read, a claim, an identify; a batch, split by
//!   each event's browser (`batches`).
//! - By person id: a person's merge log and the steps of a merge across
//!   objects; by identifier: the directory and webhooks; by the object the caller
//!   names: the forwarding consumer's checks and outcomes (`object`).
//! - Every object, answers gathered: reports, the event listing and a
//!   journeys tick, the journeys' list and counters (`sums`); the merge log and dead letters, paged by
//!   site-wide numbers (`lists`, `shards::qualify`).
//! - The home object: the config's versions and the studio, keys and
//!   sessions, coupon pools, journeys' plays, until
//!   each gets its own home (ARCHITECTURE.md, issue #22).

mod batches;
mod lists;
mod sums;

pub use batches::object_of_event;

use std::collections::BTreeMap;

use super::protocol::*;
use super::shards::directory_object;
use super::shards::{logical_of_person, Placed, Placement, ShardMap};

/// The home object, for commands on site-wide tables.
macro_rules! at_home {
    ($($ask:ty),* $(,)?) => {$(
        impl Placed for $ask {
            fn place(&self, map: ShardMap) -> Placement<Self> {
                Placement::One(map.home())
            }
        }
    )*};
}

at_home!(
    DeadLetter,
    ShardCount,
    DryRun,
    SampleSend,
    ReadKeys,
    RotateKey,
    RevokeSession,
);

impl<A: StudioAsk> Placed for Studio<A> {
    fn place(&self, map: ShardMap) -> Placement<Self> {
        Placement::One(map.home())
    }
}

impl Placed for PersonOfBrowser {
    fn place(&self, map: ShardMap) -> Placement<Self> {
        Placement::One(map.browser(&self.anonymous_id))
    }
}

impl Placed for BrowserPerson {
    fn place(&self, map: ShardMap) -> Placement<Self> {
        Placement::One(map.browser(&self.anonymous_id))
    }
}

/// A webhook goes to its identifier's directory object, which knows the
/// person (and sends it on where that person lives) or makes it there. An
/// event that names no identifier goes home, to be refused there.
impl Placed for Hook {
    fn place(&self, map: ShardMap) -> Placement<Self> {
        match crate::store::hooks::hook_identifier(&self.event) {
            Ok((kind, value)) => Placement::One(directory_object(map, kind, &value)),
            Err(_) => Placement::One(map.home()),
        }
    }
}

/// A nonce is used where its hash maps (as an identifier's entry is).
impl Placed for UseNonce {
    fn place(&self, map: ShardMap) -> Placement<Self> {
        Placement::One(directory_object(map, "nonce", &self.nonce))
    }
}

/// A pool's codes go to its home, the object its name hashes to; the other
/// objects lease them from there as their persons need codes
/// (`store::pools`).
impl Placed for AddPoolCodes {
    fn place(&self, map: ShardMap) -> Placement<Self> {
        Placement::One(crate::store::pools::home_of(map, &self.pool))
    }
}

impl Placed for LeaseCodes {
    fn place(&self, map: ShardMap) -> Placement<Self> {
        Placement::One(crate::store::pools::home_of(map, &self.pool))
    }
}

impl Placed for ReadPool {
    fn place(&self, map: ShardMap) -> Placement<Self> {
        if map.objects() == 1 {
            return Placement::One(map.home());
        }
        Placement::Every
    }

    fn gather(&self, _map: ShardMap, answers: Vec<(u16, PoolCounts)>) -> StoreResult<PoolCounts> {
        Ok(sum_pools(&self.pool, answers))
    }
}

/// A pool's counts over its home and the objects that leased its codes.
fn sum_pools(pool: &str, answers: Vec<(u16, PoolCounts)>) -> PoolCounts {
    let mut answers = answers.into_iter().map(|(_, counts)| counts);
    let first = answers.next().unwrap_or(PoolCounts {
        pool: pool.to_owned(),
        available: 0,
        taken: 0,
        added: None,
    });
    answers.fold(first, |mut sum, counts| {
        sum.available += counts.available;
        sum.taken += counts.taken;
        sum.added = match (sum.added, counts.added) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
        sum
    })
}

/// What a play at the home needs of a person: asked where the person is,
/// as the admin's lookup is.
impl Placed for StudioPersonOf {
    fn place(&self, map: ShardMap) -> Placement<Self> {
        Placement::One(lookup_object(map, &self.person))
    }

    fn otherwise(&self, map: ShardMap) -> Option<u16> {
        Some(map.browser(&self.person))
    }
}

/// A person the admin names by id, user id, email, phone or browser: to the
/// object a person id names, an address's directory object (which sends it
/// on where the person is), or a name's directory object as a user id, and
/// if nobody is found there (or only stale redirects lead on, `Moved`), the
/// object the name names as a browser, whose redirect follows the browser's
/// person (another object may hold one left as it was when the person
/// passed through).
impl Placed for JourneyRuns {
    fn place(&self, map: ShardMap) -> Placement<Self> {
        Placement::One(lookup_object(map, &self.person))
    }

    fn otherwise(&self, map: ShardMap) -> Option<u16> {
        Some(map.browser(&self.person))
    }
}

/// Where the admin's name for a person is first looked up: a person id's
/// object, an address's directory object, any other name's directory
/// object as a user id (user ids first, as one object looks them up: an
/// anonymous id anyone may pick never shadows a customer's user id).
fn lookup_object(map: ShardMap, id: &str) -> u16 {
    if logical_of_person(id).is_some() {
        return map.person(id);
    }
    let address =
        crate::store::persons::named_address(id).unwrap_or_else(|| vec![("user", id.to_owned())]);
    match address.first() {
        Some((kind, value)) => directory_object(map, kind, value),
        None => map.home(),
    }
}

impl Placed for Bind {
    fn place(&self, map: ShardMap) -> Placement<Self> {
        Placement::One(directory_object(map, &self.kind, &self.value))
    }
}

impl Placed for RedirectBrowser {
    fn place(&self, map: ShardMap) -> Placement<Self> {
        Placement::One(map.browser(&self.anonymous_id))
    }
}

impl Placed for Relocate {
    fn place(&self, map: ShardMap) -> Placement<Self> {
        Placement::One(map.person(&self.person))
    }
}

impl Placed for Repoint {
    fn place(&self, map: ShardMap) -> Placement<Self> {
        Placement::One(directory_object(map, &self.kind, &self.value))
    }
}

impl Placed for SagaStep {
    fn place(&self, _map: ShardMap) -> Placement<Self> {
        Placement::One(self.object)
    }
}

impl Placed for OpenSagas {
    fn place(&self, _map: ShardMap) -> Placement<Self> {
        Placement::One(self.object)
    }
}

impl Placed for AdoptConfig {
    fn place(&self, _map: ShardMap) -> Placement<Self> {
        Placement::Every
    }

    fn gather(&self, _map: ShardMap, _answers: Vec<(u16, ())>) -> StoreResult<()> {
        Ok(())
    }
}

impl Placed for LiveConfig {
    fn place(&self, map: ShardMap) -> Placement<Self> {
        Placement::One(map.home())
    }
}

impl Placed for Suppress {
    fn place(&self, _map: ShardMap) -> Placement<Self> {
        Placement::Every
    }

    fn gather(&self, _map: ShardMap, _answers: Vec<(u16, ())>) -> StoreResult<()> {
        Ok(())
    }
}

impl Placed for WhereIs {
    fn place(&self, map: ShardMap) -> Placement<Self> {
        Placement::One(map.person(&self.person))
    }
}

impl Placed for UserOf {
    fn place(&self, map: ShardMap) -> Placement<Self> {
        Placement::One(map.person(&self.person))
    }
}

impl Placed for ExportPerson {
    fn place(&self, map: ShardMap) -> Placement<Self> {
        Placement::One(map.person(&self.person))
    }
}

impl Placed for Unfreeze {
    fn place(&self, map: ShardMap) -> Placement<Self> {
        Placement::One(map.person(&self.person))
    }
}

impl Placed for ImportPerson {
    fn place(&self, map: ShardMap) -> Placement<Self> {
        Placement::One(map.person(&self.into))
    }
}

impl Placed for MergeDone {
    fn place(&self, map: ShardMap) -> Placement<Self> {
        Placement::One(map.person(&self.into))
    }
}

impl Placed for ForgetPerson {
    fn place(&self, map: ShardMap) -> Placement<Self> {
        Placement::One(map.person(&self.person))
    }
}

impl Placed for TakeHeld {
    fn place(&self, map: ShardMap) -> Placement<Self> {
        Placement::One(map.person(&self.person))
    }
}

impl Placed for DropHeld {
    fn place(&self, map: ShardMap) -> Placement<Self> {
        Placement::One(map.person(&self.person))
    }
}

impl Placed for Identify {
    fn place(&self, map: ShardMap) -> Placement<Self> {
        Placement::One(map.browser(&self.anonymous_id))
    }
}

impl Placed for Claim {
    fn place(&self, map: ShardMap) -> Placement<Self> {
        Placement::One(map.browser(&self.anonymous_id))
    }
}

impl Placed for ReadProfile {
    fn place(&self, map: ShardMap) -> Placement<Self> {
        Placement::One(map.browser(&self.anonymous_id))
    }
}

impl Placed for Deliveries {
    /// With several objects, each claims SMS within its share of the site's
    /// daily budget (rounded down: never more than the site's in all).
    fn place(&self, map: ShardMap) -> Placement<Self> {
        let claims = self.checks.iter().any(|c| c.claim.is_some());
        if map.objects() == 1 || !claims {
            return Placement::One(self.object);
        }
        Placement::Parts(vec![(
            self.object,
            shared(map, self.checks.clone(), self.object),
        )])
    }

    /// Checks of events whose persons moved in a merge across objects, to
    /// the objects they went to.
    fn moved_parts(&self, map: ShardMap, answer: &Vec<DeliveryVerdict>) -> Vec<(u16, Self)> {
        let mut parts: BTreeMap<u16, Vec<DeliveryCheck>> = BTreeMap::new();
        for (check, verdict) in self.checks.iter().zip(answer) {
            if let DeliveryVerdict::Moved { object } = verdict {
                parts.entry(*object).or_default().push(check.clone());
            }
        }
        parts
            .into_iter()
            .map(|(object, checks)| (object, shared(map, checks, object)))
            .collect()
    }

    /// Each moved check's verdict from where it went, in its place.
    fn add_moved(
        &self,
        mut answer: Vec<DeliveryVerdict>,
        moved: Vec<(u16, Vec<DeliveryVerdict>)>,
    ) -> StoreResult<Vec<DeliveryVerdict>> {
        let mut from: BTreeMap<u16, std::vec::IntoIter<DeliveryVerdict>> = moved
            .into_iter()
            .map(|(object, verdicts)| (object, verdicts.into_iter()))
            .collect();
        for verdict in answer.iter_mut() {
            if let DeliveryVerdict::Moved { object } = *verdict {
                let next = from.get_mut(&object).and_then(Iterator::next);
                *verdict = next.ok_or_else(|| {
                    StoreError::Internal(format!("deliveries: object {object} answered too few"))
                })?;
            }
        }
        Ok(answer)
    }
}

/// Checks sent to `object`, each SMS claim within that object's share of
/// the site's daily budget.
fn shared(map: ShardMap, checks: Vec<DeliveryCheck>, object: u16) -> Deliveries {
    let share = |budget: SmsBudget| SmsBudget {
        per_site_per_day: budget.per_site_per_day / u32::from(map.objects()),
        ..budget
    };
    Deliveries {
        checks: checks
            .into_iter()
            .map(|check| DeliveryCheck {
                claim: check.claim.map(share),
                ..check
            })
            .collect(),
        object,
    }
}

impl Placed for Outcomes {
    fn place(&self, _map: ShardMap) -> Placement<Self> {
        Placement::One(self.object)
    }
}

/// A command for each object, made from what is that object's.
fn each_object<T, A>(parts: BTreeMap<u16, T>, command: impl Fn(T) -> A) -> Placement<A> {
    Placement::Parts(
        parts
            .into_iter()
            .map(|(object, part)| (object, command(part)))
            .collect(),
    )
}

#[cfg(test)]
mod tests;
