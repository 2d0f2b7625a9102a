//! Request limits: body sizes per endpoint and rate limits per site and
//! client. Event counts per minute are enforced in the site's store, which
//! sees every event of the site (`store::rate`); here, requests are counted
//! with Workers rate-limit bindings, which cost no storage round trip.

use worker::{Env, Request};

use super::{EdgeError, Refusal};

/// `/v1/events`: at most `nudge_core::limits::MAX_BATCH_EVENTS` events of at
/// most `MAX_EVENT_BYTES` each fit well inside this.
pub const EVENTS_BODY_BYTES: usize = 256 * 1024;
/// `/v1/identify`, inbound webhooks: small JSON documents.
pub const SMALL_BODY_BYTES: usize = 16 * 1024;
/// Admin documents (config, destinations).
pub const ADMIN_BODY_BYTES: usize = 1024 * 1024;

/// Which rate-limit binding (wrangler.toml `[[ratelimits]]`) counts a route.
#[derive(Clone, Copy)]
pub enum Bucket {
    /// `/v1/events` requests, per site and client.
    Events,
    /// `/v1/identify` and `/v1/profile`, per site and client.
    Identity,
    /// Inbound webhooks, per site and channel.
    Hooks,
    /// Event batches spilled to the ingest queue while the store is
    /// overloaded, per site and client: the store's own event budgets cannot
    /// count them then, so this bounds a flood that overloads it.
    Spill,
}

impl Bucket {
    fn binding(self) -> &'static str {
        match self {
            Bucket::Events => "EVENTS_LIMITER",
            Bucket::Identity => "IDENTITY_LIMITER",
            Bucket::Hooks => "HOOKS_LIMITER",
            Bucket::Spill => "SPILL_LIMITER",
        }
    }
}

/// The client's address as Cloudflare saw it ("local" under wrangler dev).
pub fn client(req: &Request) -> String {
    req.headers()
        .get("cf-connecting-ip")
        .ok()
        .flatten()
        .unwrap_or_else(|| "local".into())
}

/// Counts one request against `bucket` for `key`; 429 with `Retry-After`
/// past the binding's limit. Load tests of a deployment turn this off with
/// `RATE_LIMITS=off`.
pub async fn check(env: &Env, bucket: Bucket, key: &str) -> Result<(), EdgeError> {
    let off = env
        .var("RATE_LIMITS")
        .map(|v| v.to_string() == "off")
        .unwrap_or(false);
    if off {
        return Ok(());
    }
    let outcome = env
        .rate_limiter(bucket.binding())?
        .limit(key.to_owned())
        .await?;
    if outcome.success {
        Ok(())
    } else {
        Err(too_many("too many requests; retry later", 60))
    }
}

/// A 429 with its `Retry-After`.
pub fn too_many(message: &str, retry_after: u32) -> EdgeError {
    Refusal::new(429, "rate_limited", message)
        .retry_after(retry_after)
        .into()
}
