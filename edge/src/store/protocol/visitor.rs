//! What a visitor's browser and the shop's channels ask of the store: a
//! claim of addresses, the agent's profile, a channel's webhook, and an
//! identify with what proves it.

use super::*;

#[derive(Debug, Serialize, Deserialize)]
pub struct Claim {
    pub anonymous_id: String,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// How many hashed addresses were new for the browser. A claim never links
/// (`merged` is always false: the agent reads it like an identify's answer).
#[derive(Debug, Serialize, Deserialize)]
pub struct Claimed {
    pub claimed: usize,
    pub merged: bool,
    /// A form's held-back coupon, added by the Worker (`config_policy::sealed_coupon`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coupon: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ReadProfile {
    pub anonymous_id: String,
    pub key_hash: String,
}

/// What the agent learns of its person, in `nudge_core::profile::RemoteFacts`'
/// wire shape (the agent reads it with core's reader).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct AgentProfile {
    pub user_id: Option<String>,
    pub orders: i64,
    pub total_spent: f64,
    pub coupons: Vec<AgentCoupon>,
    pub segments: Vec<String>,
    pub campaigns: Vec<AgentCampaign>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct AgentCoupon {
    pub code: String,
    pub issued_at: Option<String>,
    pub expires_at: Option<String>,
    pub redeemed: bool,
}

/// A campaign's history for the person: impression times, their count,
/// when dismissed and converted (ms since 1970).
#[derive(Debug, Serialize, Deserialize)]
pub struct AgentCampaign {
    pub id: String,
    pub imp: Vec<i64>,
    pub total: i64,
    pub dismissed: Option<i64>,
    pub converted: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Hook {
    pub id: String,
    pub channel: String,
    pub event: Value,
    /// As `Append::objects`: with one object the store keeps no directory.
    #[serde(skip)]
    pub objects: u16,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct HookApplied {
    pub applied: bool,
    pub person: String,
}

/// An identity the Worker verified, and how.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Identify {
    pub anonymous_id: String,
    pub proven: Proven,
    /// `user_token`, `click_token`.
    pub proof: String,
    /// Single-use tokens' nonce.
    pub nonce: Option<String>,
    /// Contact details the proof covers (signed by the shop or the link).
    pub email: Option<String>,
    pub phone: Option<String>,
    pub browser_key: Option<BrowserKey>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Proven {
    UserId(String),
    /// SHA-256 hex of a normalized address.
    EmailHash(String),
    PhoneHash(String),
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Identified {
    pub person: String,
    pub merged: bool,
}
