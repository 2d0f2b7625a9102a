//! Previewing one campaign on the real shop (`?nudge_preview=<token>`): the
//! edge's `/v1/preview` answer ([`Preview::from_wire`]) and the config
//! rewritten so that campaign shows as the marketer asked ([`Preview::apply`]).
//!
//! The rewrite is all that "ignore targeting" means: `decide` knows nothing
//! of previews, so a preview goes through exactly the decision, trigger and
//! rendering a visitor's page does.

use crate::campaign::{Campaign, FrequencyCap, Status};
use crate::condition::Condition;
use crate::config::Config;
use crate::prelude::*;
use crate::time::{parse_iso8601, Millis};
use crate::value::Value;

/// What the marketer asked to preview (the answer's members beside `config`).
#[derive(Clone, Debug, PartialEq)]
pub struct Preview {
    pub campaign_id: String,
    /// The A/B arm to show; `None` buckets as for any visitor.
    pub variant: Option<String>,
    /// Show the campaign whatever its audience, schedule, status and
    /// frequency caps say (its trigger still applies).
    pub ignore_targeting: bool,
    pub expires_at: Millis,
}

impl Preview {
    /// Reads the edge's answer: `{campaign_id, variant, ignore_targeting,
    /// expires_at, config}` (the config is read apart, as any config is).
    pub fn from_wire(answer: &Value) -> Result<Preview, String> {
        let campaign_id = answer
            .get("campaign_id")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty())
            .ok_or("campaign_id must be a non-empty string")?;
        let variant = match answer.get("variant") {
            None | Some(Value::Null) => None,
            Some(Value::String(key)) => Some(key.clone()),
            Some(_) => return Err("variant must be a string or null".into()),
        };
        let ignore_targeting = match answer.get("ignore_targeting") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err("ignore_targeting must be true or false".into()),
        };
        let expires_at = answer
            .get("expires_at")
            .and_then(Value::as_str)
            .and_then(parse_iso8601)
            .ok_or("expires_at must be an ISO 8601 date-time")?;
        Ok(Preview {
            campaign_id: campaign_id.to_owned(),
            variant,
            ignore_targeting,
            expires_at,
        })
    }

    pub fn expired(&self, now: Millis) -> bool {
        now >= self.expires_at
    }

    /// Rewrites `config` for this preview. The campaign keeps its trigger;
    /// a forced variant becomes its only arm; a coupon whose code the
    /// preview's config carries is no longer sealed (a preview sends no
    /// sign-up claim to be answered with it). With `ignore_targeting` its
    /// audience, schedule, status, caps and test coverage are lifted and it
    /// comes first, so no other campaign takes its slot. An error (the
    /// campaign or variant is not in the config) leaves `config` unchanged.
    pub fn apply(&self, config: &mut Config) -> Result<(), String> {
        let index = config
            .campaigns
            .iter()
            .position(|c| c.id == self.campaign_id)
            .ok_or_else(|| format!("campaign \"{}\" is not in the config", self.campaign_id))?;
        let campaign = &mut config.campaigns[index];
        if let Some(key) = &self.variant {
            let arm = campaign
                .variants
                .iter()
                .position(|v| v.key == *key)
                .ok_or_else(|| format!("campaign \"{}\" has no variant \"{key}\"", campaign.id))?;
            // Moved first and the others dropped: no clone, no reallocation.
            campaign.variants.swap(0, arm);
            campaign.variants.truncate(1);
            campaign.variants[0].weight = 1.0;
            campaign.coverage = 1.0;
            // One arm: any attribute buckets into it, and `id` always exists.
            campaign.hash_attribute = "id".into();
        }
        unseal(campaign);
        if self.ignore_targeting {
            campaign.audience = Condition::default();
            campaign.status = Status::Active;
            campaign.start = None;
            campaign.end = None;
            campaign.coverage = 1.0;
            campaign.frequency = FrequencyCap {
                per_session: None,
                per_days: None,
                max_impressions: None,
                stop_after_conversion: false,
                snooze_days_after_dismiss: 0,
            };
            // First, the others keeping their order (swaps: no rotate code in the agent).
            for i in (0..index).rev() {
                config.campaigns.swap(i, i + 1);
            }
        }
        Ok(())
    }
}

fn unseal(campaign: &mut Campaign) {
    let arms = campaign.variants.iter_mut().map(|v| &mut v.content);
    for content in core::iter::once(&mut campaign.content).chain(arms) {
        if content.coupon.is_some() {
            content.coupon_sealed = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decide::{decide, Context, PageState, Signal};
    use crate::profile::{Outcome, Profile};

    const NOW: Millis = 1_790_000_000_000;

    fn config(json: &str) -> Config {
        let value = serde_json::from_str::<Value>(json).unwrap();
        let (config, problems) = Config::from_value(&value);
        assert!(problems.is_empty(), "{problems:?}");
        config
    }

    /// A paused, out-of-schedule, capped campaign for VIPs only, with an A/B
    /// test on a custom attribute, behind a higher-priority banner in its slot.
    const SITE: &str = r#"{"campaigns": [
        {"id": "other", "priority": 50, "trigger": {"page_view": true},
         "content": {"layout": "top_banner", "body": "Other"}},
        {"id": "vip", "status": "paused", "schedule": {"end": "2020-01-01"},
         "trigger": {"page_view": true}, "audience": {"orders.count": {"$gte": 3}},
         "frequency": {"max_impressions": 1},
         "content": {"layout": "top_banner", "body": "Base", "form": {"field": "email"},
                     "coupon": "VIP10", "coupon_sealed": true},
         "variants": [{"key": "a", "weight": 0.5, "content": {"body": "A"}},
                      {"key": "urgency", "weight": 0.5, "content": {"body": "Hurry"}}],
         "hash_attribute": "traits.account", "coverage": 0.1},
        {"id": "exit", "trigger": {"exit_intent": true}, "audience": {"orders.count": 99},
         "content": {"layout": "modal", "title": "Leaving?"}}]}"#;

    fn shown(config: &Config, profile: &Profile, signal: Signal) -> Vec<(String, String)> {
        let page = PageState {
            started_at: NOW - 60_000,
            ..PageState::default()
        };
        let ctx = Context {
            config,
            profile,
            page: &page,
            now: NOW,
        };
        decide(&ctx, &signal)
            .choices
            .iter()
            .map(|c| (c.campaign.id.clone(), c.content.body.clone()))
            .collect()
    }

    fn preview(id: &str, variant: Option<&str>, ignore_targeting: bool) -> Preview {
        Preview {
            campaign_id: id.into(),
            variant: variant.map(str::to_owned),
            ignore_targeting,
            expires_at: NOW + 1,
        }
    }

    #[test]
    fn ignoring_targeting_shows_the_forced_variant_to_anyone_first_in_its_slot() {
        let mut site = config(SITE);
        let mut profile = Profile::new("anon", NOW);
        profile.record("vip", Some("a"), Outcome::Shown, NOW - 1000);
        assert_eq!(
            shown(&site, &profile, Signal::PageView),
            [("other".into(), "Other".into())]
        );
        preview("vip", Some("urgency"), true)
            .apply(&mut site)
            .unwrap();
        assert_eq!(
            shown(&site, &profile, Signal::PageView),
            [("vip".into(), "Hurry".into())],
            "the forced arm, over the sticky one, the cap, status, schedule and audience"
        );
        let vip = site.campaign("vip").unwrap();
        assert!(
            !vip.variants[0].content.coupon_sealed,
            "its code is in the preview's config"
        );
    }

    #[test]
    fn the_trigger_still_applies() {
        let mut site = config(SITE);
        let profile = Profile::new("anon", NOW);
        preview("exit", None, true).apply(&mut site).unwrap();
        assert!(!shown(&site, &profile, Signal::PageView)
            .iter()
            .any(|(id, _)| id == "exit"));
        assert_eq!(
            shown(&site, &profile, Signal::ExitIntent),
            [("exit".into(), String::new())]
        );
    }

    #[test]
    fn without_ignoring_targeting_the_rules_stand() {
        let mut site = config(SITE);
        let profile = Profile::new("anon", NOW);
        preview("vip", Some("urgency"), false)
            .apply(&mut site)
            .unwrap();
        assert_eq!(
            shown(&site, &profile, Signal::PageView),
            [("other".into(), "Other".into())]
        );
        assert_eq!(site.campaign("vip").unwrap().variants.len(), 1);
    }

    #[test]
    fn unknown_campaigns_and_variants_are_errors_and_change_nothing() {
        let mut site = config(SITE);
        assert!(preview("nope", None, true).apply(&mut site).is_err());
        let err = preview("vip", Some("b"), true)
            .apply(&mut site)
            .unwrap_err();
        assert_eq!(err, "campaign \"vip\" has no variant \"b\"");
        assert_eq!(site.campaigns[0].id, "other");
        assert_eq!(site.campaign("vip").unwrap().variants.len(), 2);
    }

    #[test]
    fn the_answer_is_read_strictly() {
        let read = |json: &str| Preview::from_wire(&serde_json::from_str::<Value>(json).unwrap());
        assert_eq!(
            read(
                r#"{"campaign_id": "vip", "variant": "urgency", "ignore_targeting": true, "expires_at": "2026-11-23T12:00:00Z"}"#
            ),
            Ok(Preview {
                campaign_id: "vip".into(),
                variant: Some("urgency".into()),
                ignore_targeting: true,
                expires_at: parse_iso8601("2026-11-23T12:00:00Z").unwrap(),
            })
        );
        let plain = read(
            r#"{"campaign_id": "vip", "variant": null, "expires_at": "2026-11-23T12:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(
            (plain.variant.as_deref(), plain.ignore_targeting),
            (None, false)
        );
        assert!(plain.expired(plain.expires_at) && !plain.expired(plain.expires_at - 1));
        for bad in [
            r#"{"variant": null, "expires_at": "2026-11-23T12:00:00Z"}"#,
            r#"{"campaign_id": "vip", "variant": 3, "expires_at": "2026-11-23T12:00:00Z"}"#,
            r#"{"campaign_id": "vip", "ignore_targeting": "yes", "expires_at": "2026-11-23T12:00:00Z"}"#,
            r#"{"campaign_id": "vip", "expires_at": "tomorrow"}"#,
            r#"[]"#,
        ] {
            assert!(read(bad).is_err(), "{bad}");
        }
    }
}
