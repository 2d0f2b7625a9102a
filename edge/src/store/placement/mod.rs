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
use super::shards::{logical_of_identifier, Placed, Placement, ShardMap};

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
    JourneyRuns,
    DryRun,
    SampleSend,
    AddPoolCodes,
    ReadPool,
    ReadKeys,
    RotateKey,
    RevokeSession,
);

impl<A: StudioAsk> Placed for Studio<A> {
    fn place(&self, map: ShardMap) -> Placement<Self> {
        Placement::One(map.home())
    }
}

impl Placed for BrowserPerson {
    fn place(&self, map: ShardMap) -> Placement<Self> {
        Placement::One(map.browser(&self.anonymous_id))
    }
}

/// The directory object of an identifier: the object it hashes to.
pub fn directory_object(map: ShardMap, kind: &str, value: &str) -> u16 {
    map.object_of_logical(logical_of_identifier(kind, value))
}

/// A webhook goes to its identifier's directory object, which knows the
/// person (and sends it on where that person lives) or makes it there. An
/// event that names no identifier goes home, to be refused there.
impl Placed for Hook {
    fn place(&self, map: ShardMap) -> Placement<Self> {
        match crate::store::events::hook_identifier(&self.event) {
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

impl Placed for Bind {
    fn place(&self, map: ShardMap) -> Placement<Self> {
        Placement::One(directory_object(map, &self.kind, &self.value))
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
    fn place(&self, _map: ShardMap) -> Placement<Self> {
        Placement::One(self.object)
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
