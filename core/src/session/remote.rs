//! The edge's view of the visitor (`GET /v1/profile`: orders, coupons,
//! segments, campaign history from other devices and channels) merged into
//! the browser's profile, with no I/O. What the edge answers is bounded here
//! before it is kept: a compromised or buggy edge must not fill local
//! storage or make merging slow.

use crate::profile::RemoteFacts;
use crate::session::{Ignored, Session};
use crate::value::Value;

/// At most this many of each list are kept, texts at most this long.
pub const MAX_REMOTE_COUPONS: usize = 50;
pub const MAX_REMOTE_CAMPAIGNS: usize = 200;
pub const MAX_REMOTE_SEGMENTS: usize = 50;
pub const MAX_REMOTE_IMPRESSIONS: usize = 20;
pub const MAX_REMOTE_TEXT: usize = 200;

impl Session {
    /// The edge's answer to a profile request made for `anonymous_id`:
    /// merged if it is still this visitor's (another user may have signed in
    /// since, with a fresh identity: the previous person's facts must not
    /// reach them). Whether the profile changed (then the agent saves it,
    /// tells the page and decides again).
    pub fn merge_remote(&mut self, anonymous_id: &str, answer: &Value) -> Result<bool, Ignored> {
        if anonymous_id != self.profile.anonymous_id {
            return Err(Ignored::PreviousVisitor);
        }
        let mut facts = RemoteFacts::from_wire(answer).map_err(Ignored::RemoteProfile)?;
        cap(&mut facts);
        Ok(self.profile.merge_remote(&facts))
    }
}

/// Holds the edge's facts to [`MAX_REMOTE_COUPONS`] and its siblings:
/// over-long texts are left out, long lists cut.
fn cap(facts: &mut RemoteFacts) {
    let short = |s: &str| s.len() <= MAX_REMOTE_TEXT;
    facts.user_id = facts.user_id.take().filter(|id| short(id));
    facts.coupons.retain(|c| short(&c.code));
    facts.coupons.truncate(MAX_REMOTE_COUPONS);
    facts.segments.retain(|s| short(s));
    facts.segments.truncate(MAX_REMOTE_SEGMENTS);
    facts
        .campaigns
        .retain(|h| short(&h.id) && h.variant.as_deref().is_none_or(short));
    facts.campaigns.truncate(MAX_REMOTE_CAMPAIGNS);
    for history in &mut facts.campaigns {
        // The newest; merging sorts them, quadratically.
        let excess = history
            .impressions
            .len()
            .saturating_sub(MAX_REMOTE_IMPRESSIONS);
        history.impressions.drain(..excess);
    }
}
