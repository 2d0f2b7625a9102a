//! The agent's state, around core's pure [`Session`]: events in, decisions,
//! campaigns shown and what the visitor did with them.
//!
//! Flow: an API call or a tracker produces an event or a [`Signal`]; the
//! session applies it to the profile and says what to do ([`Effects`]: events
//! for the outbox, `nudge.on` notifications, a profile to save), which
//! [`State::apply`] carries out; signals go to `Session::decide`, and each
//! choice is drawn here and recorded with `Session::showed`. Nothing here
//! waits on the network.

use crate::prelude::*;
mod campaigns;
mod storage;

use nudge_core::campaign::Packed;
use nudge_core::decide::{PageState, Signal};
use nudge_core::event::check_identifier;
use nudge_core::platform::{load_profile, new_id, Storage};
use nudge_core::queue::Outbox;
use nudge_core::session::{consent, Effects, Ignored, Session};
use nudge_core::time::Millis;
use nudge_core::{Config, Map, Value};

use crate::browser::{self, BrowserRandom, LocalStore};
use crate::display::Display;
use crate::handle::Handle;
use crate::trackers::PageTrackers;
use crate::transport::Transport;
use crate::{js, options::Options};
use nudge_core::session::key::BrowserKey;

pub struct State {
    pub opts: Options,
    /// The config, the profile, the page: core's pure part.
    pub session: Session,
    pub transport: Transport,
    /// Campaigns on screen, through the display module.
    pub display: Display,
    pub trackers: Option<PageTrackers>,
    /// GA4 entries held for the first page view ([`crate::datalayer`]); `None` once it happened.
    pub early_layer: Option<Vec<nudge_core::ga4::Mapped>>,
    /// `nudge.on` notifications, dispatched once the state is released.
    notices: Vec<(&'static str, Value)>,
    #[cfg(feature = "preview")]
    _badge: Option<nudge_render::Note>,
    store: LocalStore,
    random: BrowserRandom,
    /// The browser key, also kept here: the page's copy where storage is unavailable.
    key: Option<BrowserKey>,
    profile_dirty: bool,
    outbox_dirty: bool,
    persist_timer: Option<crate::callbacks::Timer>,
}

impl State {
    /// Builds the state from the loader's options and the site's config
    /// (decoded from its program). A preview's tab runs the preview's config
    /// instead (the studio's build reads and checks it, [`crate::preview`]).
    pub fn new(opts: Options, live: Config<Packed>) -> State {
        let now = browser::now();
        // `badge`: Some in a preview's tab (the badge itself, if it could be drawn).
        let (mut config, badge) = match crate::preview::load(&opts, now) {
            Some(previewing) => {
                let (config, badge) = crate::preview::start(&previewing, &opts);
                (config, Some(badge))
            }
            None => (live, None),
        };
        if let Some(country) = &opts.country {
            config.geo.country = Some(country.to_ascii_uppercase());
        }
        let store = LocalStore;
        let mut random = BrowserRandom;
        let (profile, problem) = load_profile(&store, &opts.profile_key(), now, &mut random);
        if let Some(problem) = problem {
            debug_warn!(opts, "{problem}");
        }
        let stored = match badge {
            Some(_) => None,
            None => store.load(&opts.outbox_key()).ok().flatten(),
        };
        let outbox = stored.map_or_else(
            || Outbox::new(nudge_core::queue::DEFAULT_CAPACITY),
            |v| Outbox::from_stored(&v, nudge_core::queue::DEFAULT_CAPACITY),
        );
        let session = Session {
            config,
            profile,
            page: PageState::default(),
            twins: Default::default(),
            mode: consent::Mode {
                opt_in: opts.consent_required,
                previewing: badge.is_some(),
            },
            collecting: opts.collect.is_some(),
        };
        let ui = opts.ui.clone();
        State {
            transport: Transport::new(outbox),
            opts,
            session,
            display: Display::new(ui),
            trackers: None,
            early_layer: Some(Vec::new()),
            notices: Vec::new(),
            #[cfg(feature = "preview")]
            _badge: badge.flatten(),
            store,
            random,
            key: None,
            profile_dirty: false,
            outbox_dirty: false,
            persist_timer: None,
        }
    }

    // ---- events ----

    /// Starts a page view: the first one, or an SPA navigation.
    pub fn page_view(&mut self, mut properties: Map, handle: &Handle) {
        let early_layer = self.take_early_layer(&mut properties);
        let now = browser::now();
        self.close_page();
        let page = (browser::page_context(), browser::device());
        let effects = self
            .session
            .page_view(properties, page, now, &mut self.random);
        self.apply(effects, handle);
        // Only the triggers of campaigns that may show on this page.
        let watch = self
            .session
            .config
            .watch_for(&self.session.page.context.path);
        self.trackers = Some(PageTrackers::attach(&self.session, &watch, handle));
        self.signal(Signal::PageView, handle);
        self.play_early_layer(early_layer, handle);
        self.prefetch_display(handle);
    }

    /// Closes the current page view's trackers and campaigns; shows that
    /// waited for the display module were for this page and are dropped.
    pub fn close_page(&mut self) {
        self.trackers = None;
        for show in self.display.close_page() {
            self.session.not_drawn(&show);
        }
    }

    pub fn track(&mut self, name: &str, properties: Map, handle: &Handle) {
        match self
            .session
            .track(name, properties, browser::now(), &mut self.random)
        {
            Ok(effects) => self.apply(effects, handle),
            Err(ignored) => return self.ignored(&ignored),
        }
        self.signal(
            Signal::Event {
                name: name.to_owned(),
            },
            handle,
        );
        self.prefetch_display(handle);
    }

    /// Says in debug mode why a call changed nothing.
    pub fn ignored(&self, ignored: &Ignored) {
        match ignored {
            Ignored::EventName(reason) => {
                debug_warn!(self.opts, "track ignored: event name {reason}")
            }
            Ignored::UserId(reason) => debug_warn!(self.opts, "identify ignored: user id {reason}"),
            Ignored::OrderCounted => debug_info!(
                self.opts,
                "Order Completed ignored: this order was already counted"
            ),
            Ignored::PreviousVisitor => debug_info!(
                self.opts,
                "an answer from the edge for the previous visitor ignored"
            ),
            Ignored::RemoteProfile(problem) => {
                debug_warn!(self.opts, "profile from the edge ignored: {problem}")
            }
        }
    }

    pub fn identify(&mut self, user_id: Option<String>, traits: Map, handle: &Handle) {
        match self
            .session
            .identify(user_id, traits, browser::now(), &mut self.random)
        {
            Ok(effects) => self.apply(effects, handle),
            Err(ignored) => self.ignored(&ignored),
        }
    }

    /// Records consent. `false` for analytics also empties the outbox: what
    /// was queued before the refusal is never sent.
    pub fn consent(&mut self, analytics: Option<bool>, marketing: Option<bool>, handle: &Handle) {
        if self.session.consent(analytics, marketing) {
            self.transport.clear();
            self.save_outbox();
        }
        self.save_profile();
        self.schedule_flush(handle);
    }

    /// Whether `user_id` names a user other than the one this browser's
    /// profile is signed in as (an invalid id is ignored by `identify`).
    pub fn is_another_user(&self, user_id: Option<&str>) -> bool {
        let valid = user_id.filter(|id| check_identifier(id).is_ok());
        consent::is_another_user(self.session.profile.user_id.as_deref(), valid)
    }

    /// Another user signs in: [`State::reset`], keeping the consent this
    /// browser gave (the shop's banner will not ask again).
    pub fn switch_user(&mut self) {
        self.start_over(true);
    }

    /// Forgets the visitor: a new anonymous id and an empty profile and
    /// outbox; the browser key of the old id goes with it (the new id gets
    /// its own when it is first needed).
    pub fn reset(&mut self) {
        self.start_over(false);
    }

    fn start_over(&mut self, keep_consent: bool) {
        let anonymous_id = new_id(&mut self.random);
        self.session
            .start_over(anonymous_id, browser::now(), keep_consent);
        if self.previewing() {
            return;
        }
        self.store.remove(&self.opts.profile_key());
        self.store.remove(&self.opts.outbox_key());
        self.store.remove(&self.opts.browser_key_key());
        self.key = None;
        self.transport.clear();
        self.save_profile();
    }

    /// Adds the time spent on this page so far to the visitor's time on site
    /// (on leaving or hiding the page); counting restarts from `now`.
    pub fn account_page_time(&mut self, now: Millis) {
        if self.session.page_time(now).profile_changed {
            self.save_profile();
        }
    }

    /// A preview link's tab (see [`crate::preview`]): the preview's config;
    /// the profile is a copy in memory; nothing is queued, sent or stored.
    /// Always false in a build without the `preview` feature (the shops').
    pub fn previewing(&self) -> bool {
        cfg!(feature = "preview") && self.session.mode.previewing
    }

    /// Whether consent lets anything about this visitor leave the browser
    /// (events, identity, profile requests).
    pub fn may_contact_edge(&self) -> bool {
        self.session
            .mode
            .may_contact_edge(self.session.profile.consent)
    }

    /// Queues a `nudge:<name>` DOM event carrying `detail` for the shop's
    /// `nudge.on` callbacks (none in a preview's tab: the shop's own
    /// analytics count nothing of it).
    pub fn notify(&mut self, name: &'static str, detail: Value) {
        if !self.previewing() {
            self.notices.push((name, detail));
        }
    }

    /// The notifications queued so far, to dispatch once the state is released.
    pub fn take_notices(&mut self) -> Vec<(&'static str, Value)> {
        core::mem::take(&mut self.notices)
    }

    /// Carries out what the session asked: events to the outbox (and the
    /// flush timer), `nudge.on` notifications, the profile to save.
    pub fn apply(&mut self, effects: Effects, handle: &Handle) {
        let Effects {
            queue,
            notify,
            profile_changed,
        } = effects;
        if profile_changed {
            self.save_profile();
        }
        for (name, properties) in notify {
            self.notify(name, Value::Object(properties));
        }
        if !queue.is_empty() {
            for event in &queue {
                self.transport.push(event, &self.opts);
            }
            self.save_outbox();
            self.schedule_flush(handle);
        }
    }

    /// A JSON snapshot of the profile, for `nudge.debug()`.
    pub fn snapshot(&self) -> Value {
        let mut m = Map::new();
        m.insert("profile", self.session.profile.to_stored());
        m.insert("queued_events", self.transport.outbox().len() as u32);
        m.insert(
            "campaigns",
            Value::Array(
                self.session
                    .config
                    .campaigns
                    .iter()
                    .map(|c| Value::from(c.id.as_str()))
                    .collect(),
            ),
        );
        m.insert(
            "attributes",
            Value::Object(self.session.attributes(browser::now()).as_map().clone()),
        );
        Value::Object(m)
    }
}

/// Converts loose JS input into an event property map (non-objects become `{}`).
pub fn props_from_js(js_value: &wasm_bindgen::JsValue) -> Map {
    match js::to_value(js_value) {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}
