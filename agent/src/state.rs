//! The agent's state and everything that changes it: events in, decisions,
//! campaigns shown and what the visitor did with them.
//!
//! Flow: an API call or a tracker produces an event or a [`Signal`]; events
//! update the profile and go to the outbox; signals go to core's `decide`;
//! each choice is recorded and rendered. Nothing here waits on the network.

use std::rc::Rc;

use nudge_core::campaign::Slot;
use nudge_core::decide::{self, build_attributes, Context, PageState, Signal};
use nudge_core::event::{check_identifier, names, Event, EventKind};
use nudge_core::platform::{load_profile, new_id, Storage};
use nudge_core::profile::{Outcome, Profile};
use nudge_core::queue::Outbox;
use nudge_core::session::consent;
use nudge_core::time::Millis;
use nudge_core::{Config, Map, Value, Watch};

use crate::browser::{self, BrowserRandom, LocalStore};
use crate::render::{self, Action, Rendered};
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
    pub config: Config,
    pub watch: Watch,
    pub profile: Profile,
    pub page: PageState,
    pub transport: Transport,
    pub rendered: Vec<Rendered>,
    pub trackers: Option<PageTrackers>,
    /// GA4 entries seen before the first page view ([`crate::datalayer`]).
    pub early_layer: crate::datalayer::Early,
    /// Adds and removals waiting for their twin report ([`crate::datalayer`]).
    pub twins: nudge_core::session::layer::Twins,
    /// A preview link's tab: see [`State::previewing`].
    previewing: bool,
    #[cfg(feature = "preview")]
    _badge: Option<crate::render::Note>,
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
        State {
            transport: Transport::new(outbox),
            opts,
            config,
            watch,
            profile,
            page: PageState::default(),
            rendered: Vec::new(),
            trackers: None,
            early_layer: Some(Vec::new()),
            twins: Default::default(),
            previewing: badge.is_some(),
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
        self.end_page(now);
        let text = |key: &str| {
            properties
                .get(key)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        self.page = PageState {
            context: browser::page_context(),
            page_type: text("type"),
            category: text("category"),
            product_id: properties
                .get("product_id")
                .map(|v| v.to_js_string().into_owned()),
            started_at: now,
            device: browser::device(),
            ..PageState::default()
        };
        let name = text("name");
        self.emit(EventKind::Page { name }, properties, shared);
        self.trackers = Some(PageTrackers::attach(self, shared));
        self.signal(Signal::PageView, shared);
        self.play_early_layer(early_layer, shared);
    }

    /// Closes the current page view: adds its time to the profile, removes
    /// overlays (inline content stays with the page it is in).
    pub fn end_page(&mut self, now: Millis) {
        self.account_page_time(now);
        self.trackers = None;
        for open in self.rendered.drain(..) {
            open.close();
        }
    }

    pub fn track(&mut self, name: &str, properties: Map, shared: &Rc<Shared>) {
        if let Err(reason) = check_identifier(name) {
            debug_warn!(self.opts, "track ignored: event name {reason}");
            return;
        }
        // One order counts once, however many ways the page reports it.
        if name == names::ORDER_COMPLETED && self.profile.counted_order(&properties) {
            debug_info!(
                self.opts,
                "Order Completed ignored: this order was already counted"
            );
            return;
        }
        let now = browser::now();
        let converted: Vec<(String, Option<String>)> =
            decide::conversions(&self.config, &self.profile, name, now)
                .iter()
                .map(|c| {
                    (
                        c.id.clone(),
                        self.profile.history(&c.id).and_then(|h| h.variant.clone()),
                    )
                })
                .collect();
        self.emit(
            EventKind::Track {
                event: name.to_owned(),
            },
            properties,
            shared,
        );
        for (id, variant) in converted {
            self.profile
                .record(&id, variant.as_deref(), Outcome::Converted, now);
            let props = campaign_props(&id, variant.as_deref(), Some(("goal", name)));
            shared.notify("convert", Value::Object(props.clone()));
            self.emit(
                EventKind::Track {
                    event: names::CAMPAIGN_CONVERTED.into(),
                },
                props,
                shared,
            );
        }
        self.signal(
            Signal::Event {
                name: name.to_owned(),
            },
            shared,
        );
    }

    pub fn identify(&mut self, user_id: Option<String>, traits: Map, shared: &Rc<Shared>) {
        if let Some(id) = &user_id {
            if let Err(reason) = check_identifier(id) {
                debug_warn!(self.opts, "identify ignored: user id {reason}");
                return;
            }
            self.profile.user_id = Some(id.clone());
        }
        self.emit(EventKind::Identify { traits }, Map::new(), shared);
    }

    /// Records consent. `false` for analytics also empties the outbox: what
    /// was queued before the refusal is never sent.
    pub fn consent(
        &mut self,
        analytics: Option<bool>,
        marketing: Option<bool>,
        shared: &Rc<Shared>,
    ) {
        if analytics.is_some() {
            self.profile.consent.analytics = analytics;
        }
        if marketing.is_some() {
            self.profile.consent.marketing = marketing;
        }
        if analytics == Some(false) {
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
        consent::is_another_user(self.profile.user_id.as_deref(), valid)
    }

    /// Another user signs in: [`State::reset`], keeping the consent this
    /// browser gave (the shop's banner will not ask again).
    pub fn switch_user(&mut self) {
        let consent = self.profile.consent;
        self.reset();
        self.profile.consent = consent;
        self.save_profile();
    }

    /// Forgets the visitor: a new anonymous id and an empty profile and
    /// outbox; the browser key of the old id goes with it (the new id gets
    /// its own when it is first needed).
    pub fn reset(&mut self) {
        if self.previewing() {
            self.profile = Profile::new(new_id(&mut self.random), browser::now());
            return;
        }
        self.store.remove(&self.opts.profile_key());
        self.store.remove(&self.opts.outbox_key());
        self.store.remove(&self.opts.browser_key_key());
        self.key = None;
        self.transport.clear();
        self.profile = Profile::new(new_id(&mut self.random), browser::now());
        self.save_profile();
    }

    /// Adds the time spent on this page so far to the visitor's time on site
    /// (on leaving or hiding the page); counting restarts from `now`.
    pub fn account_page_time(&mut self, now: Millis) {
        if self.page.started_at > 0 {
            self.profile.seconds_on_site += self.page.seconds_on_page(now);
            self.page.started_at = now;
            self.save_profile();
        }
    }

    /// A preview link's tab (see [`crate::preview`]): the preview's config;
    /// the profile is a copy in memory; nothing is queued, sent or stored.
    /// Always false in a build without the `preview` feature (the shops').
    pub fn previewing(&self) -> bool {
        cfg!(feature = "preview") && self.previewing
    }

    /// How sending is limited here: the shop's consent mode, a preview.
    fn mode(&self) -> consent::Mode {
        consent::Mode {
            opt_in: self.opts.consent_required,
            previewing: self.previewing(),
        }
    }

    /// Whether consent lets anything about this visitor leave the browser
    /// (events, identity, profile requests).
    pub fn may_contact_edge(&self) -> bool {
        self.mode().may_contact_edge(self.profile.consent)
    }

    /// Creates an event, applies it to the profile and queues it for the
    /// collect endpoint when consent allows.
    fn emit(&mut self, kind: EventKind, properties: Map, shared: &Rc<Shared>) {
        let event = Event {
            id: new_id(&mut self.random),
            kind,
            anonymous_id: self.profile.anonymous_id.clone(),
            user_id: self.profile.user_id.clone(),
            timestamp: browser::now(),
            properties,
            page: self.page.context.clone(),
            consent: self.profile.consent,
        };
        self.profile.apply(&event);
        self.save_profile();
        if self.opts.collect.is_some() && self.mode().queues_events(self.profile.consent) {
            self.transport.push(&event.to_wire(), &self.opts);
            self.save_outbox();
            crate::transport::schedule(self, shared);
        }
    }

    // ---- decisions ----

    /// Asks core what to show for `signal`, and shows it.
    pub fn signal(&mut self, signal: Signal, shared: &Rc<Shared>) {
        let now = browser::now();
        let started = crate::browser::precise_now();
        let ctx = Context {
            config: &self.config,
            profile: &self.profile,
            page: &self.page,
            now,
        };
        let decision = decide::decide(&ctx, &signal);
        if self.opts.debug {
            for d in &decision.diagnostics {
                debug_info!(self.opts, "{}: {d}", signal.describe());
            }
        }
        let attributes = build_attributes(&self.profile, &self.page, &self.config.geo, now);
        let choices: Vec<_> = decision
            .choices
            .iter()
            .map(|c| {
                (
                    c.campaign.id.clone(),
                    c.variant.map(str::to_owned),
                    c.control,
                    c.content.clone(),
                )
            })
            .collect();
        for (id, variant, control, content) in choices {
            self.page.shown.push(id.clone());
            self.profile
                .record(&id, variant.as_deref(), Outcome::Shown, now);
            let mut props = campaign_props(&id, variant.as_deref(), None);
            props.insert("control", control);
            props.insert("layout", content.layout.name());
            if !control {
                match render::show(&id, &content, &attributes, owner(&id, shared)) {
                    Ok(open) => {
                        self.page.occupied.push(content.layout.slot());
                        self.rendered.push(open);
                    }
                    Err(why) => {
                        debug_warn!(self.opts, "campaign {id} not rendered: {why}");
                        continue;
                    }
                }
            }
            debug_info!(
                self.opts,
                "showing campaign {id}{} after {} ({} µs from signal to DOM)",
                variant
                    .as_deref()
                    .map(|v| format!(" variant {v}"))
                    .unwrap_or_default(),
                signal.describe(),
                ((browser::precise_now() - started) * 1000.0) as u64
            );
            shared.notify("show", Value::Object(props.clone()));
            self.emit(
                EventKind::Track {
                    event: names::CAMPAIGN_SHOWN.into(),
                },
                props,
                shared,
            );
        }
    }

    /// What the visitor did with campaign `id` on screen.
    pub fn act(&mut self, id: &str, action: Action, shared: &Rc<Shared>) {
        match action {
            Action::Dismiss => self.dismiss(id, shared),
            Action::Click => self.click(id, shared),
            Action::SignUp {
                field,
                value,
                sealed,
            } => self.sign_up(id, field, &value, sealed, shared),
        }
    }

    /// The visitor closed a campaign (close button, Esc, backdrop, dismiss link).
    fn dismiss(&mut self, id: &str, shared: &Rc<Shared>) {
        let Some(open) = self.take_rendered(id) else {
            return;
        };
        let variant = self.profile.history(id).and_then(|h| h.variant.clone());
        self.profile
            .record(id, variant.as_deref(), Outcome::Dismissed, browser::now());
        open.close();
        let props = campaign_props(id, variant.as_deref(), None);
        shared.notify("dismiss", Value::Object(props.clone()));
        self.emit(
            EventKind::Track {
                event: names::CAMPAIGN_DISMISSED.into(),
            },
            props,
            shared,
        );
    }

    /// The visitor clicked the call to action (navigation follows natively).
    fn click(&mut self, id: &str, shared: &Rc<Shared>) {
        let variant = self.profile.history(id).and_then(|h| h.variant.clone());
        let props = campaign_props(id, variant.as_deref(), None);
        shared.notify("click", Value::Object(props.clone()));
        self.emit(
            EventKind::Track {
                event: names::CAMPAIGN_CLICKED.into(),
            },
            props,
            shared,
        );
    }

    /// A valid email or phone number was submitted in a campaign's form: an
    /// unverified claim (`identify` with a trait, no user id) and a "Signed Up".
    /// A sealed coupon (`coupon_sealed`) is asked of the edge with the claim.
    fn sign_up(&mut self, id: &str, field: &str, value: &str, sealed: bool, shared: &Rc<Shared>) {
        let mut traits = Map::new();
        traits.insert(field, value);
        self.emit(EventKind::Identify { traits }, Map::new(), shared);
        let variant = self.profile.history(id).and_then(|h| h.variant.clone());
        if sealed {
            crate::remote::claim_coupon(self, shared, id, variant.as_deref(), (field, value));
        }
        let mut props = campaign_props(id, variant.as_deref(), None);
        props.insert("field", field);
        self.track(names::SIGNED_UP, props, shared);
    }

    /// Shows a sealed coupon the edge gave, if the campaign is still open.
    pub fn reveal_coupon(&self, id: &str, code: &str) {
        if let Some(open) = self.rendered.iter().find(|r| r.campaign == id) {
            open.reveal_coupon(code);
        }
    }

    fn take_rendered(&mut self, id: &str) -> Option<Rendered> {
        let index = self.rendered.iter().position(|r| r.campaign == id)?;
        let open = self.rendered.remove(index);
        let slot: Slot = open.slot.clone();
        self.page.occupied.retain(|s| *s != slot);
        Some(open)
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
                .save(&self.opts.profile_key(), &self.profile.to_stored())
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
        let mine = |k: &BrowserKey| k.aid == self.profile.anonymous_id;
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
            aid: self.profile.anonymous_id.clone(),
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
                self.profile = profile;
            }
        }
    }

    /// A JSON snapshot of the profile, for `nudge.debug()`.
    pub fn snapshot(&self) -> Value {
        let mut m = Map::new();
        m.insert("profile", self.profile.to_stored());
        m.insert("queued_events", self.transport.outbox().len() as u32);
        m.insert(
            "campaigns",
            Value::Array(
                self.config
                    .campaigns
                    .iter()
                    .map(|c| Value::from(c.id.as_str()))
                    .collect(),
            ),
        );
        m.insert(
            "attributes",
            Value::Object(
                build_attributes(&self.profile, &self.page, &self.config.geo, browser::now())
                    .as_map()
                    .clone(),
            ),
        );
        Value::Object(m)
    }
}

/// Campaign `id`'s actions, as tasks on the state.
fn owner(id: &str, shared: &Rc<Shared>) -> render::Owner {
    let weak = Rc::downgrade(shared);
    let id = id.to_owned();
    render::Owner {
        act: Rc::new(move |action| {
            let campaign = id.clone();
            crate::shared::run_weak(&weak, Task::Act { campaign, action });
        }),
        live: true,
    }
}

fn campaign_props(id: &str, variant: Option<&str>, extra: Option<(&str, &str)>) -> Map {
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

/// Converts loose JS input into an event property map (non-objects become `{}`).
pub fn props_from_js(js_value: &wasm_bindgen::JsValue) -> Map {
    match js::to_value(js_value) {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}
