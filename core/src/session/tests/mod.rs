//! The session's rules as tables: each case drives a pure machine with
//! inputs and a clock, and checks what it says to do.

mod consent;
mod delivery;
mod identity;
mod key;
mod layer;
mod remote;
mod visit;

use crate::config::Config;
use crate::profile::Profile;
use crate::session::Session;

/// A session with no campaigns for visitor `a1`, collecting.
fn session() -> Session {
    Session {
        config: Config::default(),
        profile: Profile::new("a1", 1_000),
        page: Default::default(),
        twins: Default::default(),
        mode: Default::default(),
        collecting: true,
    }
}
