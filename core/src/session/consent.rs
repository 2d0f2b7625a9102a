//! What the visitor's consent, the shop's consent mode and a preview allow
//! to leave the browser, and when a sign-in is another user's: rules the
//! agent applies before every send, with no I/O.

use crate::profile::Consent;

/// Where the agent runs, as far as sending goes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mode {
    /// `data-consent="opt-in"`: nothing leaves before analytics is granted.
    pub opt_in: bool,
    /// A preview link's tab: nothing leaves, ever.
    pub previewing: bool,
}

impl Mode {
    /// Whether anything about this visitor may leave the browser now
    /// (events, identity proofs, profile requests).
    pub fn may_contact_edge(self, consent: Consent) -> bool {
        let analytics = consent.analytics;
        !self.previewing && analytics != Some(false) && (!self.opt_in || analytics == Some(true))
    }

    /// Whether a new event is queued for the collect endpoint (with one to
    /// send to): not once analytics is refused, and never in a preview. In
    /// opt-in mode events wait in the outbox until consent is given.
    pub fn queues_events(self, consent: Consent) -> bool {
        !self.previewing && consent.analytics != Some(false)
    }
}

/// Whether `next` (a valid user id) names a user other than the one the
/// browser's profile is signed in as: then a fresh anonymous identity
/// starts, so nothing of one reaches the other.
pub fn is_another_user(current: Option<&str>, next: Option<&str>) -> bool {
    matches!((current, next), (Some(current), Some(next)) if current != next)
}
