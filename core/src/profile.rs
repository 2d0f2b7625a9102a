//! The visitor profile: what the agent knows about one browser's visitor,
//! updated by each event, kept in local storage, and merged with facts the
//! edge knows from other devices and channels.
//!
//! Every list is capped so a profile stays a few KB however long someone shops.
//! Storage is versioned ([`FORMAT_VERSION`]): older formats are migrated on
//! read, anything unreadable is replaced by a fresh profile and reported.

use crate::diagnostics::{msg, Diagnostic};
pub use crate::event::Consent;
use crate::event::{names, Event, EventKind};
use crate::limits::text_prefix;
use crate::prelude::*;
use crate::read::Fields;
use crate::time::{Millis, DAY, MINUTE};
use crate::value::{Map, Value};

/// The storage format written today.
pub const FORMAT_VERSION: u32 = 2;
/// Inactivity after which the next page view starts a new session (as GA does).
pub const SESSION_TIMEOUT: Millis = 30 * MINUTE;

const MAX_CATEGORIES: usize = 20;
const MAX_PRODUCTS: usize = 20;
const MAX_TAGS: usize = 50;
/// Order ids remembered, so a page that reports one order twice (a reload of
/// the confirmation page, GA4's `purchase` and `nudge.track`) counts it once.
const MAX_ORDER_IDS: usize = 20;
const MAX_ORDER_ID: usize = 64;
const MAX_TRAITS: usize = 30;
const MAX_TRAIT_LEN: usize = 200;
const MAX_COUPONS: usize = 10;
const MAX_CAMPAIGNS: usize = 50;
const MAX_IMPRESSIONS_KEPT: usize = 20;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Cart {
    pub items: u32,
    pub value: f64,
}

/// A coupon issued to this person by an offsite channel (e.g. an email).
#[derive(Clone, Debug, PartialEq)]
pub struct Coupon {
    pub code: String,
    pub issued_at: Millis,
    pub expires_at: Option<Millis>,
    pub redeemed: bool,
}

/// What happened with one campaign for this visitor, for frequency caps.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CampaignHistory {
    pub id: String,
    /// Most recent impressions (newest last), capped.
    pub impressions: Vec<Millis>,
    pub total_impressions: u32,
    /// Impressions in the session numbered `session`.
    pub session: u32,
    pub session_impressions: u32,
    pub variant: Option<String>,
    pub dismissed_at: Option<Millis>,
    pub converted_at: Option<Millis>,
}

/// What the visitor did with a campaign.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Shown,
    Dismissed,
    Converted,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Profile {
    pub anonymous_id: String,
    pub user_id: Option<String>,
    pub first_seen: Millis,
    pub last_seen: Millis,
    pub sessions: u32,
    pub page_views: u32,
    pub session_page_views: u32,
    /// Time with a page visible, summed over all visits.
    pub seconds_on_site: f64,
    /// The deepest scroll (percent of a page) this visitor has reached on any page.
    pub max_scroll_depth: u8,
    pub cart: Cart,
    pub orders: u32,
    pub total_spent: f64,
    pub last_order_at: Option<Millis>,
    /// The latest orders' ids, newest last.
    pub order_ids: Vec<String>,
    /// Views per category, most recently viewed last.
    pub category_views: Vec<(String, u32)>,
    /// Recently viewed product ids, most recent last.
    pub viewed_products: Vec<String>,
    pub tags: Vec<String>,
    pub traits: Map,
    pub consent: Consent,
    pub coupons: Vec<Coupon>,
    /// Segments computed by the edge from data this browser cannot see.
    pub segments: Vec<String>,
    pub campaigns: Vec<CampaignHistory>,
}

impl Profile {
    pub fn new(anonymous_id: impl Into<String>, now: Millis) -> Self {
        Profile {
            anonymous_id: anonymous_id.into(),
            user_id: None,
            first_seen: now,
            last_seen: now,
            sessions: 1,
            page_views: 0,
            session_page_views: 0,
            seconds_on_site: 0.0,
            max_scroll_depth: 0,
            cart: Cart::default(),
            orders: 0,
            total_spent: 0.0,
            last_order_at: None,
            order_ids: Vec::new(),
            category_views: Vec::new(),
            viewed_products: Vec::new(),
            tags: Vec::new(),
            traits: Map::new(),
            consent: Consent::default(),
            coupons: Vec::new(),
            segments: Vec::new(),
            campaigns: Vec::new(),
        }
    }

    /// Notes activity at `now`, starting a new session after [`SESSION_TIMEOUT`].
    /// Returns whether a new session started.
    pub fn touch(&mut self, now: Millis) -> bool {
        // Saturating: a stored profile may carry any number.
        let new_session = now.saturating_sub(self.last_seen) > SESSION_TIMEOUT;
        if new_session {
            self.sessions = self.sessions.saturating_add(1);
            self.session_page_views = 0;
        }
        self.last_seen = self.last_seen.max(now);
        new_session
    }

    /// Notes how far down a page the visitor scrolled (percent); returns
    /// whether that is deeper than ever before (the profile changed).
    pub fn saw_scroll_depth(&mut self, percent: u8) -> bool {
        let deeper = percent.min(100) > self.max_scroll_depth;
        if deeper {
            self.max_scroll_depth = percent.min(100);
        }
        deeper
    }

    pub fn is_customer(&self) -> bool {
        self.orders > 0
    }

    pub fn category_views(&self, category: &str) -> u32 {
        self.category_views
            .iter()
            .find(|(c, _)| c == category)
            .map_or(0, |(_, n)| *n)
    }

    /// Updates the profile with one event.
    pub fn apply(&mut self, event: &Event) {
        self.touch(event.timestamp);
        if let Some(user_id) = &event.user_id {
            self.user_id = Some(user_id.clone());
        }
        let props = &event.properties;
        match &event.kind {
            EventKind::Page { .. } => {
                self.page_views = self.page_views.saturating_add(1);
                self.session_page_views = self.session_page_views.saturating_add(1);
                if let Some(category) = props.get("category").and_then(Value::as_str) {
                    self.view_category(category);
                }
            }
            EventKind::Identify { traits } => {
                for (key, value) in traits.iter() {
                    self.set_trait(key, value);
                }
            }
            EventKind::Track { event: name } => self.apply_track(name, props, event.timestamp),
        }
    }

    fn apply_track(&mut self, name: &str, props: &Map, at: Millis) {
        let number = |key: &str| {
            props
                .get(key)
                .and_then(Value::as_f64)
                .filter(|n| n.is_finite() && *n >= 0.0)
        };
        let quantity = number("quantity")
            .map_or(1, |q| crate::float::round(q) as u32)
            .max(1);
        match name {
            names::PRODUCT_VIEWED => {
                if let Some(id) = props
                    .get("product_id")
                    .map(|v| v.to_js_string().into_owned())
                {
                    self.viewed_products.retain(|p| *p != id);
                    push_capped(&mut self.viewed_products, id, MAX_PRODUCTS);
                }
            }
            names::PRODUCT_ADDED => {
                self.cart.items = self.cart.items.saturating_add(quantity);
                self.cart.value += number("price").unwrap_or(0.0) * f64::from(quantity);
            }
            names::PRODUCT_REMOVED => {
                self.cart.items = self.cart.items.saturating_sub(quantity);
                self.cart.value = (self.cart.value
                    - number("price").unwrap_or(0.0) * f64::from(quantity))
                .max(0.0);
                if self.cart.items == 0 {
                    self.cart.value = 0.0;
                }
            }
            // A cart view or checkout that lists its products is the truth about the cart.
            names::CART_VIEWED | names::CHECKOUT_STARTED => {
                if let Some(products) = props.get("products").and_then(Value::as_array) {
                    let (mut items, mut value) = (0u32, 0.0);
                    for product in products {
                        let qty = product
                            .get("quantity")
                            .and_then(Value::as_f64)
                            .map_or(1, |q| crate::float::round(q.max(0.0)) as u32);
                        items = items.saturating_add(qty);
                        value += product.get("price").and_then(Value::as_f64).unwrap_or(0.0)
                            * f64::from(qty);
                    }
                    self.cart = Cart { items, value };
                }
            }
            names::ORDER_COMPLETED => {
                self.orders = self.orders.saturating_add(1);
                self.total_spent +=
                    crate::event::order_revenue(|key| props.get(key).and_then(Value::as_f64));
                self.last_order_at = Some(at);
                self.cart = Cart::default();
                if let Some(id) = order_id(props) {
                    push_capped(&mut self.order_ids, id, MAX_ORDER_IDS);
                }
                if let Some(code) = props.get("coupon").and_then(Value::as_str) {
                    for coupon in self
                        .coupons
                        .iter_mut()
                        .filter(|c| c.code.eq_ignore_ascii_case(code))
                    {
                        coupon.redeemed = true;
                    }
                }
            }
            names::SIGNED_UP => self.add_tag("subscriber"),
            names::COUPON_ISSUED => {
                if let Some(code) = props.get("code").and_then(Value::as_str) {
                    let expires_at = props
                        .get("expires_at")
                        .and_then(Value::as_str)
                        .and_then(crate::time::parse_iso8601);
                    self.add_coupon(Coupon {
                        code: code.to_owned(),
                        issued_at: at,
                        expires_at,
                        redeemed: false,
                    });
                }
            }
            _ => {}
        }
    }

    /// Counts one view of a category page.
    pub fn view_category(&mut self, category: &str) {
        let count = self.category_views(category).saturating_add(1);
        self.category_views.retain(|(c, _)| c != category);
        push_capped(
            &mut self.category_views,
            (category.to_owned(), count),
            MAX_CATEGORIES,
        );
    }

    /// Whether an `Order Completed` with these properties was already counted.
    pub fn counted_order(&self, props: &Map) -> bool {
        order_id(props).is_some_and(|id| self.order_ids.contains(&id))
    }

    pub fn add_tag(&mut self, tag: &str) {
        if !self.tags.iter().any(|t| t == tag) {
            push_capped(&mut self.tags, tag.to_owned(), MAX_TAGS);
        }
    }

    /// Stores a trait; long strings are cut and the number of traits capped.
    pub fn set_trait(&mut self, key: &str, value: &Value) {
        let value = match value {
            Value::String(s) if s.len() > MAX_TRAIT_LEN => {
                Value::String(text_prefix(s, MAX_TRAIT_LEN).to_owned())
            }
            Value::Array(_) | Value::Object(_) => return,
            other => other.clone(),
        };
        if self.traits.contains_key(key) || self.traits.len() < MAX_TRAITS {
            self.traits.insert(key, value);
        }
    }

    pub fn add_coupon(&mut self, coupon: Coupon) {
        match self.coupons.iter_mut().find(|c| c.code == coupon.code) {
            Some(existing) => *existing = coupon,
            None => push_capped(&mut self.coupons, coupon, MAX_COUPONS),
        }
    }

    /// Coupons issued offsite that can still be used at `now`.
    pub fn usable_coupons(&self, now: Millis) -> impl Iterator<Item = &Coupon> {
        self.coupons
            .iter()
            .filter(move |c| !c.redeemed && c.expires_at.is_none_or(|e| e > now))
    }

    pub fn history(&self, campaign: &str) -> Option<&CampaignHistory> {
        self.campaigns.iter().find(|h| h.id == campaign)
    }

    /// Records what the visitor did with a campaign.
    pub fn record(&mut self, campaign: &str, variant: Option<&str>, outcome: Outcome, now: Millis) {
        let session = self.sessions;
        let index = match self.campaigns.iter().position(|h| h.id == campaign) {
            Some(i) => i,
            None => {
                if self.campaigns.len() >= MAX_CAMPAIGNS {
                    // Forget the campaign seen longest ago.
                    if let Some(oldest) = (0..self.campaigns.len())
                        .min_by_key(|&i| self.campaigns[i].impressions.last().copied().unwrap_or(0))
                    {
                        self.campaigns.remove(oldest);
                    }
                }
                self.campaigns.push(CampaignHistory {
                    id: campaign.to_owned(),
                    ..Default::default()
                });
                self.campaigns.len() - 1
            }
        };
        let history = &mut self.campaigns[index];
        match outcome {
            Outcome::Shown => {
                if history.session != session {
                    history.session = session;
                    history.session_impressions = 0;
                }
                history.session_impressions = history.session_impressions.saturating_add(1);
                history.total_impressions = history.total_impressions.saturating_add(1);
                push_capped(&mut history.impressions, now, MAX_IMPRESSIONS_KEPT);
                if let Some(v) = variant {
                    history.variant = Some(v.to_owned());
                }
            }
            Outcome::Dismissed => history.dismissed_at = Some(now),
            Outcome::Converted => history.converted_at = Some(now),
        }
    }

    /// Folds in facts the edge knows (other devices, offsite channels): a
    /// merge never loses what either side knows, and takes the larger count.
    /// Whether the profile changed (then it is saved and the page decided again).
    pub fn merge_remote(&mut self, remote: &RemoteFacts) -> bool {
        // What changed is tracked as it changes: comparing whole profiles
        // (a clone and a derived equality) cost visitors about 0.8 KB gzip.
        let mut changed = false;
        if let Some(user_id) = &remote.user_id {
            changed |= self.user_id.as_ref() != Some(user_id);
            self.user_id = Some(user_id.clone());
        }
        changed |= remote.orders > self.orders || remote.total_spent > self.total_spent;
        self.orders = self.orders.max(remote.orders);
        self.total_spent = self.total_spent.max(remote.total_spent);
        let coupons_before = self.coupons.clone();
        for coupon in &remote.coupons {
            if !self
                .coupons
                .iter()
                .any(|c| c.code == coupon.code && c.redeemed)
            {
                self.add_coupon(coupon.clone());
            }
        }
        changed |= self.coupons != coupons_before;
        changed |= self.segments != remote.segments;
        self.segments = remote.segments.clone();
        for remote_history in &remote.campaigns {
            let local = self
                .campaigns
                .iter_mut()
                .find(|h| h.id == remote_history.id);
            match local {
                Some(h) => {
                    changed |= remote_history.total_impressions > h.total_impressions
                        || remote_history.dismissed_at > h.dismissed_at
                        || remote_history.converted_at > h.converted_at;
                    h.total_impressions = h.total_impressions.max(remote_history.total_impressions);
                    h.dismissed_at = h.dismissed_at.max(remote_history.dismissed_at);
                    h.converted_at = h.converted_at.max(remote_history.converted_at);
                    // Old impressions added and cut again change nothing.
                    let impressions = h.impressions.clone();
                    for at in &remote_history.impressions {
                        if !h.impressions.contains(at) {
                            h.impressions.push(*at);
                        }
                    }
                    crate::small::sort_by(&mut h.impressions, |a, b| a < b);
                    let excess = h.impressions.len().saturating_sub(MAX_IMPRESSIONS_KEPT);
                    h.impressions.drain(..excess);
                    changed |= h.impressions != impressions;
                }
                None => {
                    let mut h = remote_history.clone();
                    h.session = 0;
                    h.session_impressions = 0;
                    self.campaigns.push(h);
                    changed = true;
                }
            }
        }
        changed
    }
}

/// Facts about a person the edge has and this browser may not: orders and
/// campaign history from other devices, coupons from email, edge segments.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RemoteFacts {
    pub user_id: Option<String>,
    pub orders: u32,
    pub total_spent: f64,
    pub coupons: Vec<Coupon>,
    pub segments: Vec<String>,
    pub campaigns: Vec<CampaignHistory>,
}

/// An order's id, at most [`MAX_ORDER_ID`] bytes of it: enough to tell
/// orders apart, and 20 of them stay small in local storage.
fn order_id(props: &Map) -> Option<String> {
    let id = props
        .get("order_id")
        .filter(|id| id.as_str().is_some() || id.as_f64().is_some())?
        .to_js_string();
    Some(text_prefix(&id, MAX_ORDER_ID).to_owned())
}

fn push_capped<T>(list: &mut Vec<T>, item: T, cap: usize) {
    list.push(item);
    if list.len() > cap {
        let excess = list.len() - cap;
        list.drain(..excess);
    }
}

// ---- storage format ----

impl Profile {
    /// The stored form (format [`FORMAT_VERSION`]): short keys, because it is
    /// written to local storage on every change.
    pub fn to_stored(&self) -> Value {
        let mut m = Map::new();
        m.insert("v", FORMAT_VERSION);
        m.insert("aid", self.anonymous_id.as_str());
        m.insert("uid", self.user_id.clone());
        m.insert("first", self.first_seen);
        m.insert("last", self.last_seen);
        m.insert("sessions", self.sessions);
        m.insert("pv", self.page_views);
        m.insert("spv", self.session_page_views);
        m.insert(
            "secs",
            crate::float::round(self.seconds_on_site * 10.0) / 10.0,
        );
        m.insert("scroll", u32::from(self.max_scroll_depth));
        m.insert(
            "cart",
            Value::from(vec![
                Value::from(self.cart.items),
                Value::from(self.cart.value),
            ]),
        );
        m.insert("orders", self.orders);
        m.insert("spent", self.total_spent);
        m.insert("last_order", self.last_order_at);
        m.insert("order_ids", self.order_ids.clone());
        m.insert(
            "cats",
            Value::Array(
                self.category_views
                    .iter()
                    .map(|(c, n)| Value::from(vec![Value::from(c.as_str()), Value::from(*n)]))
                    .collect(),
            ),
        );
        m.insert("products", self.viewed_products.clone());
        m.insert("tags", self.tags.clone());
        m.insert("traits", self.traits.clone());
        let mut consent = Map::new();
        consent.insert("analytics", self.consent.analytics);
        consent.insert("marketing", self.consent.marketing);
        m.insert("consent", consent);
        m.insert(
            "coupons",
            Value::Array(self.coupons.iter().map(coupon_to_value).collect()),
        );
        m.insert("segments", self.segments.clone());
        m.insert(
            "campaigns",
            Value::Array(self.campaigns.iter().map(history_to_value).collect()),
        );
        Value::Object(m)
    }

    /// Reads a stored profile, migrating older formats. Returns `Err` with the
    /// reason when it is not a Nudge profile, is corrupt, or comes from a newer
    /// format this code cannot read safely; the caller then starts afresh.
    pub fn from_stored(value: &Value) -> Result<Profile, Diagnostic> {
        let version = value.get("v").and_then(Value::as_f64).unwrap_or(0.0);
        let migrated;
        let value = match version as u32 {
            1 if version == 1.0 => {
                migrated = migrate_v1(value);
                &migrated
            }
            FORMAT_VERSION if version == f64::from(FORMAT_VERSION) => value,
            _ => {
                return Err(Diagnostic::error(
                    msg!("profile.v"),
                    msg!(
                        "unsupported profile format {}",
                        crate::read::describe(value.get("v").unwrap_or(&Value::Null))
                    ),
                ))
            }
        };
        read_stored(value).map_err(|mut problems| problems.remove(0))
    }
}

/// Format 1 (agent 0.0.x) kept the cart as two flat fields and campaign history
/// as `{id: shown count}`. Format 2 groups the cart and keeps per-campaign
/// impressions, which per-N-days caps need.
fn migrate_v1(value: &Value) -> Value {
    let Value::Object(old) = value else {
        return Value::Null;
    };
    let mut m = old.clone();
    let items = m.remove("cart_items").unwrap_or(Value::Number(0.0));
    let total = m.remove("cart_value").unwrap_or(Value::Number(0.0));
    m.insert("cart", Value::from(vec![items, total]));
    let old_campaigns = m.remove("shown").unwrap_or_default();
    let campaigns: Vec<Value> = old_campaigns
        .as_object()
        .map(|shown| {
            shown
                .iter()
                .map(|(id, count)| {
                    let mut h = Map::new();
                    h.insert("id", id);
                    h.insert("total", count.clone());
                    Value::Object(h)
                })
                .collect()
        })
        .unwrap_or_default();
    m.insert("campaigns", campaigns);
    m.insert("v", FORMAT_VERSION);
    Value::Object(m)
}

fn coupon_to_value(c: &Coupon) -> Value {
    let mut m = Map::new();
    m.insert("code", c.code.as_str());
    m.insert("at", c.issued_at);
    m.insert("exp", c.expires_at);
    m.insert("used", c.redeemed);
    Value::Object(m)
}

fn history_to_value(h: &CampaignHistory) -> Value {
    let mut m = Map::new();
    m.insert("id", h.id.as_str());
    m.insert("imp", h.impressions.clone());
    m.insert("total", h.total_impressions);
    m.insert("session", h.session);
    m.insert("in_session", h.session_impressions);
    m.insert("variant", h.variant.clone());
    m.insert("dismissed", h.dismissed_at);
    m.insert("converted", h.converted_at);
    Value::Object(m)
}

fn read_stored(value: &Value) -> Result<Profile, Vec<Diagnostic>> {
    let mut p = Vec::new();
    let problems = &mut p;
    let f = Fields::of(value, "profile", problems).ok_or_else(|| problems.clone())?;
    let int = |key: &str, problems: &mut Vec<Diagnostic>| {
        f.number(key, problems)
            .map_or(0, |n| n.max(0.0).min(f64::from(u32::MAX)) as u32)
    };
    let millis =
        |key: &str, problems: &mut Vec<Diagnostic>| f.number(key, problems).map(|n| n as Millis);
    let strings = |key: &str, problems: &mut Vec<Diagnostic>| -> Vec<String> {
        f.array(key, problems)
            .unwrap_or_default()
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    };
    let anonymous_id = f
        .required_str("aid", problems)
        .unwrap_or_default()
        .to_owned();
    let now_ish = millis("last", problems).unwrap_or(0);
    let cart = f.array("cart", problems).unwrap_or_default();
    let consent = f.object("consent", problems);
    let consent_flag = |key: &str, problems: &mut Vec<Diagnostic>| {
        consent.as_ref().and_then(|c| c.bool(key, problems))
    };
    let profile = Profile {
        user_id: f.str("uid", problems).map(str::to_owned),
        first_seen: millis("first", problems).unwrap_or(now_ish),
        last_seen: now_ish,
        sessions: int("sessions", problems).max(1),
        page_views: int("pv", problems),
        session_page_views: int("spv", problems),
        seconds_on_site: f.number("secs", problems).unwrap_or(0.0).max(0.0),
        max_scroll_depth: f
            .number("scroll", problems)
            .map_or(0, |n| n.clamp(0.0, 100.0) as u8),
        cart: Cart {
            items: cart
                .first()
                .and_then(Value::as_f64)
                .map_or(0, |n| n.max(0.0) as u32),
            value: cart.get(1).and_then(Value::as_f64).unwrap_or(0.0).max(0.0),
        },
        orders: int("orders", problems),
        total_spent: f.number("spent", problems).unwrap_or(0.0),
        last_order_at: millis("last_order", problems),
        order_ids: strings("order_ids", problems),
        category_views: f
            .array("cats", problems)
            .unwrap_or_default()
            .iter()
            .filter_map(|pair| {
                let pair = pair.as_array()?;
                Some((
                    pair.first()?.as_str()?.to_owned(),
                    pair.get(1)?.as_f64()?.max(0.0) as u32,
                ))
            })
            .collect(),
        viewed_products: strings("products", problems),
        tags: strings("tags", problems),
        traits: f
            .object("traits", problems)
            .map(|t| t.map.clone())
            .unwrap_or_default(),
        consent: Consent {
            analytics: consent_flag("analytics", problems),
            marketing: consent_flag("marketing", problems),
        },
        coupons: f
            .array("coupons", problems)
            .unwrap_or_default()
            .iter()
            .filter_map(|c| {
                Some(Coupon {
                    code: c.get("code")?.as_str()?.to_owned(),
                    issued_at: c.get("at").and_then(Value::as_f64).unwrap_or(0.0) as Millis,
                    expires_at: c.get("exp").and_then(Value::as_f64).map(|n| n as Millis),
                    redeemed: c.get("used").and_then(Value::as_bool).unwrap_or(false),
                })
            })
            .collect(),
        segments: strings("segments", problems),
        campaigns: f
            .array("campaigns", problems)
            .unwrap_or_default()
            .iter()
            .filter_map(history_from_value)
            .collect(),
        anonymous_id,
    };
    if p.is_empty() {
        Ok(profile)
    } else {
        Err(p)
    }
}

pub(crate) fn history_from_value(v: &Value) -> Option<CampaignHistory> {
    let num = |key: &str| {
        v.get(key)
            .and_then(Value::as_f64)
            .filter(|n| n.is_finite() && *n >= 0.0)
    };
    Some(CampaignHistory {
        id: v.get("id")?.as_str()?.to_owned(),
        impressions: {
            // Newest last, as both the stored profile and the edge write them;
            // only the newest are kept, so merging never scans a long list.
            let imp = v.get("imp").and_then(Value::as_array).unwrap_or_default();
            imp.iter()
                .skip(imp.len().saturating_sub(MAX_IMPRESSIONS_KEPT))
                .filter_map(|t| t.as_f64().map(|n| n as Millis))
                .collect()
        },
        total_impressions: num("total").map_or(0, |n| n as u32),
        session: num("session").map_or(0, |n| n as u32),
        session_impressions: num("in_session").map_or(0, |n| n as u32),
        variant: v.get("variant").and_then(Value::as_str).map(str::to_owned),
        dismissed_at: num("dismissed").map(|n| n as Millis),
        converted_at: num("converted").map(|n| n as Millis),
    })
}

pub(crate) fn coupon_from_value(c: &Value) -> Option<Coupon> {
    Some(Coupon {
        code: c.get("code")?.as_str()?.to_owned(),
        issued_at: c
            .get("issued_at")
            .and_then(Value::as_str)
            .and_then(crate::time::parse_iso8601)
            .unwrap_or(0),
        expires_at: c
            .get("expires_at")
            .and_then(Value::as_str)
            .and_then(crate::time::parse_iso8601),
        redeemed: c.get("redeemed").and_then(Value::as_bool).unwrap_or(false),
    })
}

impl RemoteFacts {
    /// Reads the edge's `/v1/profile` answer.
    pub fn from_wire(value: &Value) -> Result<RemoteFacts, Diagnostic> {
        let Value::Object(_) = value else {
            return Err(Diagnostic::error(
                msg!(""),
                msg!("remote profile must be an object"),
            ));
        };
        let list = |key: &str| value.get(key).and_then(Value::as_array).unwrap_or_default();
        Ok(RemoteFacts {
            user_id: value
                .get("user_id")
                .and_then(Value::as_str)
                .map(str::to_owned),
            orders: value
                .get("orders")
                .and_then(Value::as_f64)
                .map_or(0, |n| n.max(0.0) as u32),
            total_spent: value
                .get("total_spent")
                .and_then(Value::as_f64)
                .unwrap_or(0.0)
                .max(0.0),
            coupons: list("coupons")
                .iter()
                .filter_map(coupon_from_value)
                .collect(),
            segments: list("segments")
                .iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect(),
            // As many as a profile keeps: `merge_remote` looks each one up.
            campaigns: list("campaigns")
                .iter()
                .take(MAX_CAMPAIGNS)
                .filter_map(history_from_value)
                .collect(),
        })
    }
}

/// Days between two instants, rounded down.
pub fn days_between(earlier: Millis, later: Millis) -> f64 {
    (later.saturating_sub(earlier).max(0) / DAY) as f64
}

#[cfg(test)]
mod tests;
