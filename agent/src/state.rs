//! The agent's state, around core's pure [`Session`]: events in, decisions,
//! campaigns shown and what the visitor did with them.
//!
//! Flow: an API call or a tracker produces an event or a [`Signal`]; the
//! session applies it to the profile and says what to do ([`Effects`]: events
//! for the outbox, `nudge.on` notifications, a profile to save), which
//! [`State::apply`] carries out; signals go to `Session::decide`, and each
//! choice is drawn here and recorded with `Session::showed`. Nothing here
//! waits on the network.

use std::rc::Rc;

use nudge_core::campaign::Action;
use nudge_core::decide::{PageState, Signal};
use nudge_core::event::check_identifier;
use nudge_core::platform::{load_profile, new_id, Storage};
use nudge_core::profile::Profile;
use nudge_core::queue::Outbox;
use nudge_core::session::{consent, Effects, Ignored, Session, Show};
use nudge_core::time::Millis;
use nudge_core::{Config, Map, Value, Watch};

use crate::browser::{self, BrowserRandom, LocalStore};
use crate::display::{Display, Drawn};
use crate::shared::Shared;
use crate::task::Task;
use crate::trackers::PageTrackers;
use crate::transport::Transport;
use crate::{js, options::Options};

/// The secret that lets this browser read its person's profile from the
/// edge: made here, registered by the edge for `aid` (hashed, the first key
/// it sees for that id) from the first post that carries it. The anonymous
/// id alone reads nothing: it travels in forwarded payloads.
#[derive(Clone)]
pub struct BrowserKey {
    pub aid: String,
    pub key: String,
    /// A post carrying it was answered 2xx: the edge has it.
    pub sent: bool,
}

impl BrowserKey {
    fn from_stored(stored: &Value) -> Option<BrowserKey> {
        Some(BrowserKey {
            aid: stored.get("aid")?.as_str()?.to_owned(),
            key: stored.get("key")?.as_str()?.to_owned(),
            sent: stored.get("sent") == Some(&Value::Bool(true)),
        })
    }

    /// The `browser` member of an events or identify body.
    pub fn to_wire(&self) -> Value {
        let mut wire = Map::new();
        wire.insert("anonymousId", self.aid.as_str());
        wire.insert("key", self.key.as_str());
        Value::Object(wire)
    }
}

pub struct State {
    pub opts: Options,
    /// The config, the profile, the page: core's pure part.
    pub session: Session,
    pub watch: Watch,
    pub transport: Transport,
    /// Campaigns on screen, through the display module.
    pub display: Display,
    pub trackers: Option<PageTrackers>,
    /// GA4 entries seen before the first page view ([`crate::datalayer`]).
    pub early_layer: crate::datalayer::Early,
    #[cfg(feature = "preview")]
    _badge: Option<nudge_render::Note>,
    store: LocalStore,
    random: BrowserRandom,
    /// The browser key, also kept here: the page's copy where storage is unavailable.
    key: Option<BrowserKey>,
    profile_dirty: bool,
    outbox_dirty: bool,
    persist_timer: Option<gloo_timers::callback::Timeout>,
}

impl State {
    /// Builds the state from the loader's options and the site's config
    /// (decoded from its program). A preview's tab runs the preview's config
    /// instead (the studio's build reads and checks it, [`crate::preview`]).
    pub fn new(opts: Options, live: Config) -> State {
        let now = browser::now();
        let previewing = crate::preview::load(&opts, now);
        let mut config = match &previewing {
            Some(p) => crate::preview::config(p, &opts),
            None => live,
        };
        let badge = previewing.map(|p| crate::preview::start(&p.preview, &mut config));
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
        let watch = config.watch();
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
            watch,
            display: Display::new(ui),
            trackers: None,
            early_layer: Some(Vec::new()),
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
    pub fn page_view(&mut self, mut properties: Map, shared: &Rc<Shared>) {
        let early_layer = self.take_early_layer(&mut properties);
        let now = browser::now();
        self.close_page();
        let page = (browser::page_context(), browser::device());
        let effects = self
            .session
            .page_view(properties, page, now, &mut self.random);
        self.apply(effects, shared);
        self.trackers = Some(PageTrackers::attach(self, shared));
        self.signal(Signal::PageView, shared);
        self.play_early_layer(early_layer, shared);
        self.prefetch_display(shared);
    }

    /// Closes the current page view's trackers and campaigns; shows that
    /// waited for the display module were for this page and are dropped.
    pub fn close_page(&mut self) {
        self.trackers = None;
        for show in self.display.close_page() {
            self.session.not_drawn(&show);
        }
    }

    pub fn track(&mut self, name: &str, properties: Map, shared: &Rc<Shared>) {
        match self
            .session
            .track(name, properties, browser::now(), &mut self.random)
        {
            Ok(effects) => self.apply(effects, shared),
            Err(ignored) => return self.ignored(&ignored),
        }
        self.signal(
            Signal::Event {
                name: name.to_owned(),
            },
            shared,
        );
        self.prefetch_display(shared);
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

    pub fn identify(&mut self, user_id: Option<String>, traits: Map, shared: &Rc<Shared>) {
        match self
            .session
            .identify(user_id, traits, browser::now(), &mut self.random)
        {
            Ok(effects) => self.apply(effects, shared),
            Err(ignored) => self.ignored(&ignored),
        }
    }

    /// Records consent. `false` for analytics also empties the outbox: what
    /// was queued before the refusal is never sent.
    pub fn consent(
        &mut self,
        analytics: Option<bool>,
        marketing: Option<bool>,
        shared: &Rc<Shared>,
    ) {
        if self.session.consent(analytics, marketing) {
            self.transport.clear();
            self.save_outbox();
        }
        self.save_profile();
        crate::transport::schedule(self, shared);
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

    /// Carries out what the session asked: events to the outbox (and the
    /// flush timer), `nudge.on` notifications, the profile to save.
    pub fn apply(&mut self, effects: Effects, shared: &Rc<Shared>) {
        let Effects {
            queue,
            notify,
            profile_changed,
        } = effects;
        if profile_changed {
            self.save_profile();
        }
        for (name, properties) in notify {
            shared.notify(name, Value::Object(properties));
        }
        if !queue.is_empty() {
            for event in &queue {
                self.transport.push(event, &self.opts);
            }
            self.save_outbox();
            crate::transport::schedule(self, shared);
        }
    }

    // ---- decisions ----

    /// Asks core what to show for `signal`, and shows it.
    pub fn signal(&mut self, signal: Signal, shared: &Rc<Shared>) {
        let now = browser::now();
        let started = browser::precise_now();
        // Merge fields see the visitor as before this decision's exposures.
        let attributes = self.session.attributes(now);
        let (shows, diagnostics) = self.session.decide(&signal, now);
        if self.opts.debug {
            for d in &diagnostics {
                debug_info!(self.opts, "{}: {d}", signal.describe());
            }
        }
        for show in shows {
            if show.control {
                self.drawn(&show, shared);
                continue;
            }
            let content = nudge_core::template::fill_content(&show.content, &attributes);
            let content = nudge_core::program::encode_content(&content);
            match self.display.draw(&show, content, shared) {
                Drawn::Now => {
                    debug_info!(
                        self.opts,
                        "showing campaign {}{} after {} ({} µs from signal to DOM)",
                        show.campaign,
                        show.variant
                            .as_deref()
                            .map(|v| format!(" variant {v}"))
                            .unwrap_or_default(),
                        signal.describe(),
                        ((browser::precise_now() - started) * 1000.0) as u64
                    );
                    self.drawn(&show, shared);
                }
                Drawn::Later => debug_info!(
                    self.opts,
                    "campaign {} is drawn when the display module arrives",
                    show.campaign
                ),
                Drawn::Refused(why) => self.not_drawn(&show, &why),
            }
        }
    }

    /// `show` is on screen (or is a control arm): the impression counts.
    fn drawn(&mut self, show: &Show, shared: &Rc<Shared>) {
        let effects = self.session.showed(show, browser::now(), &mut self.random);
        self.apply(effects, shared);
    }

    fn not_drawn(&mut self, show: &Show, why: &str) {
        debug_warn!(self.opts, "campaign {} not shown: {why}", show.campaign);
        self.session.not_drawn(show);
    }

    /// A campaign waits on this page for its trigger: have the display
    /// module here by then (fetched at idle, once).
    fn prefetch_display(&mut self, shared: &Rc<Shared>) {
        if self.display.may_prefetch() && self.session.may_show_later(browser::now()) {
            self.display.prefetch(shared);
        }
    }

    /// The loader's answer to the display module's request: the shows that
    /// waited for it are drawn now, or not at all if it did not load.
    pub fn display_loaded(&mut self, module: wasm_bindgen::JsValue, shared: &Rc<Shared>) {
        let (ready, waiting) = self.display.loaded(module);
        for (show, content) in waiting {
            if !ready {
                self.not_drawn(&show, "the display module did not load");
                continue;
            }
            match self.display.draw(&show, content, shared) {
                Drawn::Now => self.drawn(&show, shared),
                Drawn::Later => {}
                Drawn::Refused(why) => self.not_drawn(&show, &why),
            }
        }
    }

    /// What the visitor did with campaign `id` on screen.
    pub fn act(&mut self, id: &str, action: Action, shared: &Rc<Shared>) {
        let now = browser::now();
        let effects = match action {
            // Close button, Esc, backdrop, dismiss link.
            Action::Dismiss => {
                let Some(slot) = self.display.close(id) else {
                    return;
                };
                self.session.dismissed(id, &slot, now, &mut self.random)
            }
            // The call to action (navigation follows natively).
            Action::Click => self.session.clicked(id, now, &mut self.random),
            // A sealed coupon (`coupon_sealed`) is asked of the edge with the claim.
            Action::SignUp {
                field,
                value,
                sealed,
            } => {
                let effects = self
                    .session
                    .signed_up(id, (field, &value), now, &mut self.random);
                self.apply(effects, shared);
                if sealed {
                    let variant = self.session.variant(id);
                    crate::remote::claim_coupon(
                        self,
                        shared,
                        id,
                        variant.as_deref(),
                        (field, &value),
                    );
                }
                return self.signal(
                    Signal::Event {
                        name: nudge_core::event::names::SIGNED_UP.into(),
                    },
                    shared,
                );
            }
        };
        self.apply(effects, shared);
    }

    /// Shows a sealed coupon the edge gave, if the campaign is still open.
    pub fn reveal_coupon(&self, id: &str, code: &str) {
        self.display.reveal_coupon(id, code);
    }

    // ---- storage ----

    /// Marks the profile as changed; it is written once, when the current
    /// batch of work ends ([`State::persist`]), however many events it held.
    /// (Never in a preview's tab: its profile is a copy in memory.)
    pub fn save_profile(&mut self) {
        self.profile_dirty = !self.previewing();
    }

    pub fn save_outbox(&mut self) {
        self.outbox_dirty = !self.previewing();
    }

    /// Writes what changed to local storage: from the timer that
    /// [`State::schedule_persist`] sets, and at once when the page is hidden.
    pub fn persist(&mut self) {
        if std::mem::take(&mut self.profile_dirty) {
            if let Err(e) = self
                .store
                .save(&self.opts.profile_key(), &self.session.profile.to_stored())
            {
                debug_warn!(self.opts, "profile not saved: {e}");
            }
        }
        if std::mem::take(&mut self.outbox_dirty) {
            let _ = self.store.save_text(
                &self.opts.outbox_key(),
                &self.transport.outbox().to_stored_json(),
            );
        }
        self.persist_timer = None;
    }

    /// Writes changes right after the current burst of work (several API
    /// calls in one script task cost one write), never later than that.
    pub fn schedule_persist(&mut self, shared: &Rc<Shared>) {
        if (self.profile_dirty || self.outbox_dirty) && self.persist_timer.is_none() {
            let weak = Rc::downgrade(shared);
            self.persist_timer = Some(gloo_timers::callback::Timeout::new(0, move || {
                crate::shared::run_weak(&weak, Task::Persist);
            }));
        }
    }

    /// The browser key of the current anonymous id, if it has one: from
    /// storage, read each time (another tab may have reset, made the key or
    /// seen it acknowledged), else from memory (storage unavailable). A key
    /// is never taken for another id.
    pub fn current_key(&self) -> Option<BrowserKey> {
        let stored = self
            .store
            .load(&self.opts.browser_key_key())
            .ok()
            .flatten()
            .and_then(|v| BrowserKey::from_stored(&v));
        let mine = |k: &BrowserKey| k.aid == self.session.profile.anonymous_id;
        stored
            .filter(mine)
            .or_else(|| self.key.clone().filter(mine))
    }

    /// The current anonymous id's browser key, made (and kept) if it has
    /// none yet. `None` only where the browser has no `crypto`.
    pub fn browser_key(&mut self) -> Option<BrowserKey> {
        if let Some(key) = self.current_key() {
            return Some(key);
        }
        let key = BrowserKey {
            aid: self.session.profile.anonymous_id.clone(),
            key: browser::new_browser_key()?,
            sent: false,
        };
        self.keep_key(key.clone());
        Some(key)
    }

    fn keep_key(&mut self, key: BrowserKey) {
        let mut stored = Map::new();
        stored.insert("aid", key.aid.as_str());
        stored.insert("key", key.key.as_str());
        if key.sent {
            stored.insert("sent", true);
        }
        let _ = self
            .store
            .save(&self.opts.browser_key_key(), &Value::Object(stored));
        self.key = Some(key);
    }

    /// The edge answered 2xx to a post carrying `sent`: it has registered
    /// the key, if that is still this visitor's. Whether this is the first
    /// acknowledgement (then the profile can be fetched).
    pub fn key_acknowledged(&mut self, sent: &BrowserKey) -> bool {
        match self.current_key() {
            Some(key) if key.key == sent.key && !key.sent => {
                self.keep_key(BrowserKey { sent: true, ..key });
                true
            }
            _ => false,
        }
    }

    /// Another tab changed the profile: adopt its version.
    pub fn reload_profile(&mut self) {
        if let Ok(Some(value)) = self.store.load(&self.opts.profile_key()) {
            if let Ok(profile) = Profile::from_stored(&value) {
                self.session.profile = profile;
            }
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
