//! What the agent tells the edge about who the visitor is
//! (`POST /v1/identify`): an identity proof (a user token from the shop's
//! backend, a click token from an email or SMS link, or only a reset of the
//! edge's cookie) and a sign-up's claim of the coupon its form holds back;
//! and what the edge's answer to a claim gives. No I/O: the agent posts the
//! bodies these make and hands the answers back.

use crate::prelude::*;
use crate::session::remote::MAX_REMOTE_TEXT;
use crate::session::Session;
use crate::value::{Map, Value};

/// Why a coupon claim's answer shows no code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NoCoupon {
    /// The claim was made for the visitor before a sign-in started a fresh
    /// identity: their coupon is not this visitor's.
    PreviousVisitor,
    /// The edge refused the claim (the HTTP status), or its answer names no
    /// usable code.
    Refused(u16),
}

impl Session {
    /// The body of an identity proof for this visitor: `proof` (its field
    /// and value: `userToken`, `clickToken`, or `reset`), the browser key for
    /// the edge to register (`browser`, its wire form), and `reset`: the edge
    /// starts its first-party cookie over (another user signed in).
    pub fn identify_body(&self, proof: (&str, &str), reset: bool, browser: Option<Value>) -> Map {
        let mut body = self.identify_call();
        body.insert(proof.0, proof.1);
        if reset {
            body.insert("reset", true);
        }
        if let Some(browser) = browser {
            body.insert("browser", browser);
        }
        body
    }

    /// The body of a sign-up's coupon claim in campaign `campaign`'s form:
    /// what was typed (`field`: `email` or `phone`, never a link), the
    /// campaign and the A/B arm the visitor saw.
    pub fn coupon_claim_body(&self, campaign: &str, (field, value): (&str, &str)) -> Map {
        let mut body = self.identify_call();
        body.insert(field, value);
        body.insert("campaign", campaign);
        if let Some(variant) = self.variant(campaign) {
            body.insert("variant", variant);
        }
        body
    }

    /// The code in the edge's answer (`status`, the answer read as JSON if
    /// it was) to a claim made for `anonymous_id`, or why none shows.
    pub fn claimed_coupon(
        &self,
        anonymous_id: &str,
        status: u16,
        answer: Option<&Value>,
    ) -> Result<String, NoCoupon> {
        if anonymous_id != self.profile.anonymous_id {
            return Err(NoCoupon::PreviousVisitor);
        }
        answer
            .filter(|_| (200..300).contains(&status))
            .and_then(|answer| answer.get("coupon"))
            .and_then(Value::as_str)
            .filter(|code| !code.is_empty() && code.len() <= MAX_REMOTE_TEXT)
            .map(str::to_owned)
            .ok_or(NoCoupon::Refused(status))
    }

    /// What every call to `/v1/identify` starts with: whose browser it is.
    fn identify_call(&self) -> Map {
        let mut body = Map::new();
        body.insert("anonymousId", self.profile.anonymous_id.as_str());
        body
    }
}
