//! The decision: given the config, the visitor's profile, the page and what
//! just happened, which campaigns to show now, and why the others were not.
//!
//! [`decide`] is pure and deterministic: the clock comes in as `now`, and A/B
//! bucketing hashes the visitor's id with the campaign id (GrowthBook's
//! algorithm), so the same inputs always give the same decision, in the
//! browser, on the edge or in a test.

use crate::bucket;
use crate::campaign::{Campaign, Content, Drawable, FrequencyCap, Slot, Status, TriggerKind};
use crate::condition::Attributes;
use crate::config::Config;
use crate::diagnostics::{msg, Diagnostic};
use crate::event::PageContext;
use crate::prelude::*;
use crate::profile::{CampaignHistory, Profile};
use crate::time::{Millis, DAY, SECOND};
use crate::value::{Map, Value};

mod attributes;
pub use attributes::{build_attributes, query_pairs};

/// How long after an impression a goal event still counts as its conversion.
pub const CONVERSION_WINDOW: Millis = 30 * DAY;

/// What just happened on the page.
#[derive(Clone, Debug, PartialEq)]
pub enum Signal {
    PageView,
    Scroll { percent: u8 },
    ExitIntent,
    TimeOnPage { seconds: f64 },
    TimeOnSite { seconds: f64 },
    Inactivity { seconds: f64 },
    Event { name: String },
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DeviceKind {
    Mobile,
    Tablet,
    #[default]
    Desktop,
}

impl DeviceKind {
    pub fn name(self) -> &'static str {
        match self {
            DeviceKind::Mobile => "mobile",
            DeviceKind::Tablet => "tablet",
            DeviceKind::Desktop => "desktop",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Device {
    pub kind: DeviceKind,
    pub language: String,
    pub viewport_width: u32,
    pub touch: bool,
}

/// The current page view: not persisted, rebuilt on every page.
#[derive(Clone, Debug, Default)]
pub struct PageState {
    pub context: PageContext,
    /// The shop's page type ("product", "category", "cart", ...), if it said.
    pub page_type: Option<String>,
    pub category: Option<String>,
    pub product_id: Option<String>,
    pub started_at: Millis,
    pub max_scroll: u8,
    /// Campaigns shown during this page view.
    pub shown: Vec<String>,
    /// Screen areas currently occupied by a campaign.
    pub occupied: Vec<Slot>,
    pub device: Device,
}

impl Signal {
    /// A short description for logs ("scroll 31%", "event Product Added").
    pub fn describe(&self) -> String {
        let secs = |s: f64| crate::value::js_number_to_string(crate::float::floor(s));
        match self {
            Signal::PageView => "page view".into(),
            Signal::Scroll { percent } => format!("scroll {percent}%"),
            Signal::ExitIntent => "exit intent".into(),
            Signal::TimeOnPage { seconds } => format!("{} s on page", secs(*seconds)),
            Signal::TimeOnSite { seconds } => format!("{} s on site", secs(*seconds)),
            Signal::Inactivity { seconds } => format!("{} s inactive", secs(*seconds)),
            Signal::Event { name } => format!("event {name}"),
        }
    }
}

impl PageState {
    pub fn seconds_on_page(&self, now: Millis) -> f64 {
        (now - self.started_at).max(0) as f64 / SECOND as f64
    }
}

/// A campaign to show, and in which variant.
#[derive(Clone, Debug)]
pub struct Choice<'a, C = Content> {
    pub campaign: &'a Campaign<C>,
    /// The A/B arm, if the campaign is a test.
    pub variant: Option<&'a str>,
    /// A control arm: record the exposure, show nothing.
    pub control: bool,
    pub content: &'a C,
}

/// What [`decide`] returns: the choices, and a reason for each campaign whose
/// trigger fired but which was not chosen.
#[derive(Clone, Debug)]
pub struct Decision<'a, C = Content> {
    pub choices: Vec<Choice<'a, C>>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Everything a decision depends on.
pub struct Context<'a, C = Content> {
    pub config: &'a Config<C>,
    pub profile: &'a Profile,
    pub page: &'a PageState,
    pub now: Millis,
}

/// Decides which campaigns to show for `signal`: at most one per screen slot
/// (one overlay at a time), highest priority first.
pub fn decide<'a, C: Drawable>(ctx: &Context<'a, C>, signal: &Signal) -> Decision<'a, C> {
    let mut decision = Decision {
        choices: Vec::new(),
        diagnostics: Vec::new(),
    };
    let mut taken: Vec<Slot> = ctx.page.occupied.clone();
    let mut attributes: Option<Attributes> = None;
    for campaign in &ctx.config.campaigns {
        if !trigger_fires(campaign, signal, ctx) {
            continue;
        }
        let mut reject = |reason: String| {
            decision.diagnostics.push(Diagnostic::warning(
                msg!("campaign {}", campaign.id),
                reason,
            ));
        };
        if let Err(reason) = eligible(campaign, ctx) {
            reject(reason);
            continue;
        }
        let attributes = attributes.get_or_insert_with(|| {
            build_attributes(ctx.profile, ctx.page, &ctx.config.geo, ctx.now)
        });
        if !campaign
            .audience
            .matches_with_groups(attributes, &ctx.config.saved_groups)
        {
            reject(msg!("audience does not match"));
            continue;
        }
        let (variant, content, control) = match choose_variant(campaign, ctx.profile, attributes) {
            Ok(v) => v,
            Err(reason) => {
                reject(reason);
                continue;
            }
        };
        let slot = content.layout().slot();
        if taken.contains(&slot) {
            reject(msg!("the {} slot is already taken", slot.name()));
            continue;
        }
        if !control {
            taken.push(slot);
        }
        decision.choices.push(Choice {
            campaign,
            variant,
            control,
            content,
        });
    }
    decision
}

/// Whether a campaign not yet shown on this page may show on it when its
/// trigger comes: eligible now (status, schedule, cap), its URL filter
/// matching this page, its audience matching now, and its trigger still to
/// come (any but the page view, which has been decided).
pub fn may_show_later<C>(ctx: &Context<'_, C>) -> bool {
    let mut attributes: Option<Attributes> = None;
    ctx.config.campaigns.iter().any(|campaign| {
        let trigger = &campaign.trigger;
        if trigger.kind == TriggerKind::PageView
            || trigger
                .url
                .as_ref()
                .is_some_and(|url| !url.matches(&ctx.page.context.path))
            || eligible(campaign, ctx).is_err()
        {
            return false;
        }
        let attributes = attributes.get_or_insert_with(|| {
            build_attributes(ctx.profile, ctx.page, &ctx.config.geo, ctx.now)
        });
        campaign
            .audience
            .matches_with_groups(attributes, &ctx.config.saved_groups)
    })
}

fn trigger_fires<C>(campaign: &Campaign<C>, signal: &Signal, ctx: &Context<'_, C>) -> bool {
    let trigger = &campaign.trigger;
    if let Some(url) = &trigger.url {
        if !url.matches(&ctx.page.context.path) {
            return false;
        }
    }
    match (&trigger.kind, signal) {
        (TriggerKind::PageView, Signal::PageView) => true,
        (TriggerKind::ScrollDepth { percent }, Signal::Scroll { percent: seen }) => seen >= percent,
        (
            TriggerKind::ExitIntent {
                min_seconds_on_page,
            },
            Signal::ExitIntent,
        ) => ctx.page.seconds_on_page(ctx.now) >= *min_seconds_on_page,
        (TriggerKind::TimeOnPage { seconds }, Signal::TimeOnPage { seconds: seen })
        | (TriggerKind::TimeOnSite { seconds }, Signal::TimeOnSite { seconds: seen })
        | (TriggerKind::Inactivity { seconds }, Signal::Inactivity { seconds: seen }) => {
            seen >= seconds
        }
        (TriggerKind::Event { name }, Signal::Event { name: seen }) => name == seen,
        _ => false,
    }
}

/// Status, schedule, this page, and the frequency cap.
fn eligible<C>(campaign: &Campaign<C>, ctx: &Context<'_, C>) -> Result<(), String> {
    if campaign.status != Status::Active {
        return Err(msg!("status is {}", campaign.status.name()));
    }
    if campaign.start.is_some_and(|start| ctx.now < start) {
        return Err(msg!("schedule has not started"));
    }
    if campaign.end.is_some_and(|end| ctx.now >= end) {
        return Err(msg!("schedule has ended"));
    }
    if ctx.page.shown.contains(&campaign.id) {
        return Err(msg!("already shown on this page"));
    }
    match ctx.profile.history(&campaign.id) {
        Some(history) => cap_allows(&campaign.frequency, history, ctx.profile.sessions, ctx.now),
        None => Ok(()),
    }
}

/// Whether a frequency cap allows one more impression.
pub fn cap_allows(
    cap: &FrequencyCap,
    history: &CampaignHistory,
    session: u32,
    now: Millis,
) -> Result<(), String> {
    if cap.stop_after_conversion && history.converted_at.is_some() {
        return Err(msg!("visitor already converted"));
    }
    if let Some(dismissed) = history.dismissed_at {
        if cap.snooze_days_after_dismiss > 0
            && now.saturating_sub(dismissed) < i64::from(cap.snooze_days_after_dismiss) * DAY
        {
            return Err(msg!(
                "dismissed less than {} days ago",
                cap.snooze_days_after_dismiss
            ));
        }
    }
    if let Some(max) = cap.max_impressions {
        if history.total_impressions >= max {
            return Err(msg!(
                "shown {} times (max_impressions {max})",
                history.total_impressions
            ));
        }
    }
    if let Some(max) = cap.per_session {
        if history.session == session && history.session_impressions >= max {
            return Err(msg!(
                "shown {} times this session (per_session {max})",
                history.session_impressions
            ));
        }
    }
    if let Some((days, max)) = cap.per_days {
        let since = now - i64::from(days) * DAY;
        let recent = history.impressions.iter().filter(|&&at| at > since).count();
        if recent >= max as usize {
            return Err(msg!(
                "shown {recent} times in the last {days} days (per_days max {max})"
            ));
        }
    }
    Ok(())
}

type VariantPick<'a, C> = (Option<&'a str>, &'a C, bool);

/// Buckets the visitor into an A/B arm, keeping the arm they saw before.
fn choose_variant<'a, C>(
    campaign: &'a Campaign<C>,
    profile: &Profile,
    attributes: &Attributes,
) -> Result<VariantPick<'a, C>, String> {
    if campaign.variants.is_empty() {
        return Ok((None, &campaign.content, false));
    }
    let sticky = profile
        .history(&campaign.id)
        .and_then(|h| h.variant.as_deref());
    if let Some(v) = sticky.and_then(|key| campaign.variant(key)) {
        return Ok((Some(&v.key), &v.content, v.control));
    }
    let hash_value = lookup(attributes.as_map(), &campaign.hash_attribute)
        .map(|v| v.to_js_string().into_owned())
        .unwrap_or_default();
    if hash_value.is_empty() {
        return Err(msg!(
            "no value for hash attribute \"{}\"",
            campaign.hash_attribute
        ));
    }
    let weights: Vec<f64> = campaign.variants.iter().map(|v| v.weight).collect();
    let ranges = bucket::bucket_ranges(weights.len(), campaign.coverage, Some(&weights));
    let n = bucket::hash(&campaign.id, &hash_value, 2).unwrap_or(0.0);
    match bucket::choose_variation(n, &ranges) {
        Some(i) => {
            let v = &campaign.variants[i];
            Ok((Some(&v.key), &v.content, v.control))
        }
        None => Err(msg!("visitor is outside the test's coverage")),
    }
}

/// Looks up a dotted path (`traits.first_name`) in attributes.
pub fn lookup<'m>(map: &'m Map, path: &str) -> Option<&'m Value> {
    let mut parts = path.split('.');
    let mut current = map.get(parts.next()?)?;
    for part in parts {
        current = current.get(part)?;
    }
    Some(current)
}

/// Campaigns for which `event_name` is the goal and that this visitor saw
/// within the conversion window and has not converted yet.
pub fn conversions<'a, C>(
    config: &'a Config<C>,
    profile: &Profile,
    event_name: &str,
    now: Millis,
) -> Vec<&'a Campaign<C>> {
    config
        .campaigns
        .iter()
        .filter(|c| c.goal.as_deref() == Some(event_name))
        .filter(|c| {
            profile.history(&c.id).is_some_and(|h| {
                h.converted_at.is_none()
                    && h.impressions
                        .last()
                        .is_some_and(|&at| now.saturating_sub(at) <= CONVERSION_WINDOW)
            })
        })
        .collect()
}
