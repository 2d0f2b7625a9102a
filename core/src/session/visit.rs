//! A visitor's session in the browser, with no I/O: the config it decides
//! with, the visitor's profile and the current page, and what API calls,
//! decisions and campaign outcomes do to them. Each call returns its
//! [`Effects`] (events for the outbox, `nudge.on` notifications, whether the
//! profile changed); the agent carries them out. Drawing a campaign is the
//! agent's: [`Session::decide`] says what to show, [`Session::showed`]
//! records what it drew.

use crate::campaign::{Drawable, Packed, Slot};
use crate::config::Config;
use crate::decide::{self, build_attributes, Context, Device, PageState, Signal};
use crate::diagnostics::Diagnostic;
use crate::event::{check_identifier, names, Event, EventKind, PageContext};
use crate::platform::{new_id, Random};
use crate::prelude::*;
use crate::profile::{Outcome, Profile};
use crate::session::consent::Mode;
use crate::session::layer::Twins;
use crate::time::Millis;
use crate::value::{Map, Value};
use crate::Attributes;

/// The session's state.
#[derive(Debug)]
pub struct Session {
    /// The config as the agent decodes it from its program: contents packed.
    pub config: Config<Packed>,
    pub profile: Profile,
    pub page: PageState,
    /// Adds and removals waiting for their twin report (GA4, `nudge.track`).
    pub twins: Twins,
    /// How sending is limited: the shop's consent mode, a preview.
    pub mode: Mode,
    /// Whether there is a collect endpoint to queue events for.
    pub collecting: bool,
}

/// What a call asks the agent to do, in order within each kind.
#[derive(Debug, Default, PartialEq)]
pub struct Effects {
    /// Wire events for the outbox.
    pub queue: Vec<Value>,
    /// `nudge.on` notifications: their name and properties.
    pub notify: Vec<(&'static str, Map)>,
    /// The profile changed: persist it.
    pub profile_changed: bool,
}

impl Effects {
    fn and(mut self, more: Effects) -> Effects {
        self.queue.extend(more.queue);
        self.notify.extend(more.notify);
        self.profile_changed |= more.profile_changed;
        self
    }
}

/// Why a call changed nothing.
#[derive(Clone, Debug, PartialEq)]
pub enum Ignored {
    /// The event name is not a usable identifier (why).
    EventName(String),
    /// The user id is not a usable identifier (why).
    UserId(String),
    /// An `Order Completed` for an order already counted.
    OrderCounted,
    /// An answer from the edge about the visitor before a sign-in started
    /// a fresh identity.
    PreviousVisitor,
    /// The edge's profile answer does not read (why).
    RemoteProfile(Diagnostic),
}

/// A campaign the agent is to draw (or, for a control arm, only record).
#[derive(Clone, Debug, PartialEq)]
pub struct Show {
    pub campaign: String,
    pub variant: Option<String>,
    /// A control arm: the exposure is recorded, nothing is drawn.
    pub control: bool,
    /// What to draw: handed to the display module as it is.
    pub content: Packed,
}

impl Session {
    /// Creates an event of the visitor's, applies it to the profile, and
    /// queues it where the consent mode allows.
    pub fn emit(
        &mut self,
        kind: EventKind,
        properties: Map,
        now: Millis,
        random: &mut dyn Random,
    ) -> Effects {
        let event = Event {
            id: new_id(random),
            kind,
            anonymous_id: self.profile.anonymous_id.clone(),
            user_id: self.profile.user_id.clone(),
            timestamp: now,
            properties,
            page: self.page.context.clone(),
            consent: self.profile.consent,
        };
        self.profile.apply(&event);
        let mut effects = Effects {
            profile_changed: true,
            ..Effects::default()
        };
        if self.collecting && self.mode.queues_events(self.profile.consent) {
            effects.queue.push(event.to_wire());
        }
        effects
    }

    /// A page view starts (the first, or a single-page app's next): the
    /// previous page's time goes to the profile, and the page is what the
    /// shop's properties say it is (`type`, `category`, `product_id`, and
    /// `name` for the event). The agent decides on `Signal::PageView` after.
    pub fn page_view(
        &mut self,
        properties: Map,
        (context, device): (PageContext, Device),
        now: Millis,
        random: &mut dyn Random,
    ) -> Effects {
        let ended = self.page_time(now);
        let text = |key: &str| {
            properties
                .get(key)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        self.page = PageState {
            context,
            page_type: text("type"),
            category: text("category"),
            product_id: properties
                .get("product_id")
                .map(|v| v.to_js_string().into_owned()),
            started_at: now,
            device,
            ..PageState::default()
        };
        let name = text("name");
        ended.and(self.emit(EventKind::Page { name }, properties, now, random))
    }

    /// Adds the time spent on this page so far to the visitor's time on
    /// site (on leaving or hiding the page, or the next page view);
    /// counting restarts from `now`.
    pub fn page_time(&mut self, now: Millis) -> Effects {
        if self.page.started_at <= 0 {
            return Effects::default();
        }
        self.profile.seconds_on_site += self.page.seconds_on_page(now);
        self.page.started_at = now;
        Effects {
            profile_changed: true,
            ..Effects::default()
        }
    }

    /// Whether a single-page app's new address is another page: a new path
    /// or query (a change of `#fragment` alone is not).
    pub fn is_new_page(&self, address: &PageContext) -> bool {
        address.path != self.page.context.path || address.search != self.page.context.search
    }

    /// The page is scrolled this far (percent of the scrollable distance).
    pub fn scrolled(&mut self, percent: u8) -> Effects {
        self.page.max_scroll = self.page.max_scroll.max(percent);
        Effects {
            profile_changed: self.profile.saw_scroll_depth(percent),
            ..Effects::default()
        }
    }

    /// `nudge.track(name, properties)`: the event, and a conversion for
    /// each campaign whose goal it is (within the conversion window of its
    /// impression). One order counts once, however many ways the page
    /// reports it. The agent decides on `Signal::Event` after.
    pub fn track(
        &mut self,
        name: &str,
        properties: Map,
        now: Millis,
        random: &mut dyn Random,
    ) -> Result<Effects, Ignored> {
        check_identifier(name).map_err(Ignored::EventName)?;
        if name == names::ORDER_COMPLETED && self.profile.counted_order(&properties) {
            return Err(Ignored::OrderCounted);
        }
        let converted: Vec<(String, Option<String>)> =
            decide::conversions(&self.config, &self.profile, name, now)
                .iter()
                .map(|c| {
                    let variant = self.profile.history(&c.id).and_then(|h| h.variant.clone());
                    (c.id.clone(), variant)
                })
                .collect();
        let kind = EventKind::Track {
            event: name.to_owned(),
        };
        let mut effects = self.emit(kind, properties, now, random);
        for (id, variant) in converted {
            self.profile
                .record(&id, variant.as_deref(), Outcome::Converted, now);
            let props = campaign_props(&id, variant.as_deref(), Some(("goal", name)));
            effects.notify.push(("convert", props.clone()));
            let kind = EventKind::Track {
                event: names::CAMPAIGN_CONVERTED.into(),
            };
            effects = effects.and(self.emit(kind, props, now, random));
        }
        Ok(effects)
    }

    /// `nudge.identify(userId?, traits)`.
    pub fn identify(
        &mut self,
        user_id: Option<String>,
        traits: Map,
        now: Millis,
        random: &mut dyn Random,
    ) -> Result<Effects, Ignored> {
        if let Some(id) = &user_id {
            check_identifier(id).map_err(Ignored::UserId)?;
            self.profile.user_id = Some(id.clone());
        }
        Ok(self.emit(EventKind::Identify { traits }, Map::new(), now, random))
    }

    /// `nudge.consent(...)`: each purpose said is recorded, the others kept.
    /// Whether analytics was refused: then nothing queued before may be
    /// sent (the agent empties the outbox).
    pub fn consent(&mut self, analytics: Option<bool>, marketing: Option<bool>) -> bool {
        let consent = &mut self.profile.consent;
        consent.analytics = analytics.or(consent.analytics);
        consent.marketing = marketing.or(consent.marketing);
        analytics == Some(false)
    }

    /// A fresh anonymous identity and an empty profile: `nudge.reset()`, or
    /// another user signing in on this browser, who keeps the consent the
    /// browser gave (`keep_consent`: the shop's banner will not ask again).
    pub fn start_over(&mut self, anonymous_id: String, now: Millis, keep_consent: bool) {
        let consent = self.profile.consent;
        self.profile = Profile::new(anonymous_id, now);
        if keep_consent {
            self.profile.consent = consent;
        }
    }

    /// Asks the engine what to show for `signal`. Each choice is marked as
    /// chosen on this page at once, and its screen area (slot) is taken, so
    /// a campaign is never chosen twice on a page and two never compete for
    /// one slot while the agent draws (which may wait for the display
    /// module). The agent then calls [`Session::showed`] when it drew it, or
    /// [`Session::not_drawn`] when it could not.
    pub fn decide(&mut self, signal: &Signal, now: Millis) -> (Vec<Show>, Vec<Diagnostic>) {
        let ctx = Context {
            config: &self.config,
            profile: &self.profile,
            page: &self.page,
            now,
        };
        let decision = decide::decide(&ctx, signal);
        let shows: Vec<Show> = decision
            .choices
            .iter()
            .map(|c| Show {
                campaign: c.campaign.id.clone(),
                variant: c.variant.map(str::to_owned),
                control: c.control,
                content: c.content.clone(),
            })
            .collect();
        let diagnostics = decision.diagnostics;
        for show in &shows {
            self.page.shown.push(show.campaign.clone());
            if !show.control {
                self.page.occupied.push(show.content.layout().slot());
            }
        }
        (shows, diagnostics)
    }

    /// Whether a campaign not yet shown on this page may still show on it
    /// when its trigger comes (scroll, exit intent, time, an event): the
    /// agent then fetches its display module at idle, so the campaign paints
    /// as its trigger fires.
    pub fn may_show_later(&self, now: Millis) -> bool {
        let ctx = Context {
            config: &self.config,
            profile: &self.profile,
            page: &self.page,
            now,
        };
        decide::may_show_later(&ctx)
    }

    /// What merge fields and templates see now.
    pub fn attributes(&self, now: Millis) -> Attributes {
        build_attributes(&self.profile, &self.page, &self.config.geo, now)
    }

    /// The agent drew `show` (or it is a control arm): the impression counts
    /// (frequency caps, the A/B arm kept), and the exposure is announced and
    /// sent.
    pub fn showed(&mut self, show: &Show, now: Millis, random: &mut dyn Random) -> Effects {
        self.profile
            .record(&show.campaign, show.variant.as_deref(), Outcome::Shown, now);
        let mut props = campaign_props(&show.campaign, show.variant.as_deref(), None);
        props.insert("control", show.control);
        props.insert("layout", show.content.layout().name());
        self.outcome("show", names::CAMPAIGN_SHOWN, props, now, random)
    }

    /// The agent could not draw `show` (the page refused the DOM change, the
    /// display module did not load, the page changed first): its slot is
    /// free again and no impression counts. It is not chosen again on this
    /// page.
    pub fn not_drawn(&mut self, show: &Show) {
        if !show.control {
            let slot = show.content.layout().slot();
            if let Some(at) = self.page.occupied.iter().position(|s| *s == slot) {
                self.page.occupied.remove(at);
            }
        }
    }

    /// The visitor closed campaign `id` (its screen area, `slot`, is free).
    pub fn dismissed(
        &mut self,
        id: &str,
        slot: &Slot,
        now: Millis,
        random: &mut dyn Random,
    ) -> Effects {
        self.page.occupied.retain(|s| s != slot);
        let variant = self.variant(id);
        self.profile
            .record(id, variant.as_deref(), Outcome::Dismissed, now);
        let props = campaign_props(id, variant.as_deref(), None);
        self.outcome("dismiss", names::CAMPAIGN_DISMISSED, props, now, random)
    }

    /// The visitor clicked campaign `id`'s call to action.
    pub fn clicked(&mut self, id: &str, now: Millis, random: &mut dyn Random) -> Effects {
        let props = campaign_props(id, self.variant(id).as_deref(), None);
        self.outcome("click", names::CAMPAIGN_CLICKED, props, now, random)
    }

    /// A valid email or phone number was submitted in campaign `id`'s
    /// form: an unverified claim (`identify` with the trait, no user id),
    /// then a "Signed Up" tracked as the page would track it.
    pub fn signed_up(
        &mut self,
        id: &str,
        (field, value): (&str, &str),
        now: Millis,
        random: &mut dyn Random,
    ) -> Effects {
        let mut traits = Map::new();
        traits.insert(field, value);
        let claim = self.emit(EventKind::Identify { traits }, Map::new(), now, random);
        let mut props = campaign_props(id, self.variant(id).as_deref(), None);
        props.insert("field", field);
        // A fixed, valid name: the track cannot be refused.
        let signed_up = self
            .track(names::SIGNED_UP, props, now, random)
            .unwrap_or_default();
        claim.and(signed_up)
    }

    /// The A/B arm campaign `id` showed this visitor, if any.
    pub fn variant(&self, id: &str) -> Option<String> {
        self.profile.history(id).and_then(|h| h.variant.clone())
    }

    fn outcome(
        &mut self,
        notification: &'static str,
        event: &str,
        props: Map,
        now: Millis,
        random: &mut dyn Random,
    ) -> Effects {
        let kind = EventKind::Track {
            event: event.into(),
        };
        let mut effects = Effects::default();
        effects.notify.push((notification, props.clone()));
        effects.and(self.emit(kind, props, now, random))
    }
}

/// The properties of a campaign's events and notifications.
pub fn campaign_props(id: &str, variant: Option<&str>, extra: Option<(&str, &str)>) -> Map {
    let mut props = Map::new();
    props.insert("campaign_id", id);
    if let Some(v) = variant {
        props.insert("variant", v);
    }
    if let Some((k, v)) = extra {
        props.insert(k, v);
    }
    props
}
