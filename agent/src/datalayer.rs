//! The shop's GA4 events (`window.dataLayer`: GTM pushes and `gtag()` calls)
//! as Nudge events, so one tag is enough on a shop that already reports to
//! Google Analytics. The loader hooks the array and hands each entry over
//! once; `nudge_core::ga4` says what it means; this module plays it.
//!
//! Entries seen before the first page view describe that page (GTM pushes
//! in the page's HTML come before any async tag): their page type and
//! category go into the page view itself, so the first decision, and the
//! profile's count of category views, already know them. Their events follow
//! the page view, as `nudge.track` calls queued before the agent would.
//!
//! A page may report one action both ways (GA4 and `nudge.track`): an order
//! counts once per `order_id` (`Profile::counted_order`), and an add or a
//! removal of a product reported by one source is paired with the same
//! report from the other within [`TWIN_WINDOW`], and counted once.

use std::rc::Rc;

use nudge_core::decide::{PageState, Signal};
use nudge_core::event::names;
use nudge_core::ga4::{self, Mapped, PageHint};
use nudge_core::time::Millis;
use nudge_core::{Map, Value};

use crate::browser;
use crate::shared::Shared;
use crate::state::State;

/// Entries held for the first page view; `None` once it happened.
pub type Early = Option<Vec<Mapped>>;

/// At most this many entries wait for the first page view (GTM keeps 300).
const MAX_EARLY: usize = 300;

/// How far apart two reports of one add (GA4's and `nudge.track`'s) may be.
pub const TWIN_WINDOW: Millis = 2_000;

/// An add or removal one source reported, waiting for the other's twin.
pub struct Reported {
    from_layer: bool,
    event: &'static str,
    product: String,
    at: Millis,
}

impl State {
    /// One `dataLayer` entry: played now, or held for the first page view.
    pub fn data_layer(&mut self, entry: &Value, shared: &Rc<Shared>) {
        let mapped = match ga4::read(entry) {
            Ok(mapped) => mapped,
            Err(malformed) => {
                debug_warn!(
                    self.opts,
                    "dataLayer: {} ignored: {}",
                    malformed.event,
                    malformed.reason
                );
                return;
            }
        };
        if mapped == Mapped::default() {
            return;
        }
        if let Some(early) = &mut self.early_layer {
            if early.len() < MAX_EARLY {
                early.push(mapped);
            }
            return;
        }
        let learnt = fill_page(&mut self.page, &mapped.page);
        if let (Learnt::Category, Some(category)) = (learnt, &self.page.category) {
            self.profile.view_category(category);
            self.save_profile();
        }
        self.play(mapped.events, shared);
        // A page that learns what it is (a theme pushing on DOMContentLoaded,
        // after the first decision) is decided again: `page.type` and
        // `page.category` audiences see it; what is on screen is not shown twice.
        if learnt != Learnt::Nothing {
            self.signal(Signal::PageView, shared);
        }
    }

    /// The held entries, their page hints put into the first page view's
    /// properties where the shop's own `nudge.page` call said nothing.
    pub fn take_early_layer(&mut self, properties: &mut Map) -> Vec<Mapped> {
        let early = self.early_layer.take().unwrap_or_default();
        fn fill(properties: &mut Map, key: &str, value: Option<&str>) {
            if let (false, Some(value)) = (properties.contains_key(key), value) {
                properties.insert(key, value);
            }
        }
        let hints = || early.iter().map(|mapped| &mapped.page);
        for hint in hints() {
            fill(properties, "type", hint.page_type.as_deref());
            fill(properties, "category", hint.category.as_deref());
            fill(properties, "product_id", hint.product_id.as_deref());
        }
        // The weaker hints last: only where nothing stronger said.
        for hint in hints() {
            fill(properties, "type", hint.implied_type);
        }
        if properties.get("type").and_then(Value::as_str) == Some("category") {
            for hint in hints() {
                fill(properties, "category", hint.list_category.as_deref());
            }
        }
        early
    }

    /// The held entries' events, after the page view they belong to.
    pub fn play_early_layer(&mut self, early: Vec<Mapped>, shared: &Rc<Shared>) {
        for mapped in early {
            self.play(mapped.events, shared);
        }
    }

    fn play(&mut self, events: Vec<(&'static str, Map)>, shared: &Rc<Shared>) {
        for (name, properties) in events {
            if !self.is_twin(true, name, &properties) {
                self.track(name, properties, shared);
            }
        }
    }

    /// Whether this add or removal is the second report of one the other
    /// source (GA4 or `nudge.track`) already made; else it is remembered.
    pub fn is_twin(&mut self, from_layer: bool, name: &str, properties: &Map) -> bool {
        let Some(event) = [names::PRODUCT_ADDED, names::PRODUCT_REMOVED]
            .into_iter()
            .find(|e| *e == name)
        else {
            return false;
        };
        let Some(product) = properties.get("product_id") else {
            return false;
        };
        let product = product.to_js_string();
        let now = browser::now();
        self.reported.retain(|r| now - r.at <= TWIN_WINDOW);
        let twin = self
            .reported
            .iter()
            .position(|r| r.from_layer != from_layer && r.event == event && r.product == product);
        if let Some(twin) = twin {
            self.reported.remove(twin);
            debug_info!(
                self.opts,
                "event ignored: reported by both the dataLayer and nudge.track"
            );
            return true;
        }
        if self.reported.len() < 50 {
            self.reported.push(Reported {
                from_layer,
                event,
                product: product.into_owned(),
                at: now,
            });
        }
        false
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Learnt {
    Nothing,
    /// Its type or product.
    Something,
    Category,
}

/// Fills what the current page did not say.
fn fill_page(page: &mut PageState, hint: &PageHint) -> Learnt {
    let mut learnt = Learnt::Nothing;
    for (known, told) in [
        (&mut page.page_type, &hint.page_type),
        (&mut page.product_id, &hint.product_id),
    ] {
        if known.is_none() && told.is_some() {
            known.clone_from(told);
            learnt = Learnt::Something;
        }
    }
    let category = match page.page_type.as_deref() {
        Some("category") => hint.category.as_ref().or(hint.list_category.as_ref()),
        _ => hint.category.as_ref(),
    };
    if let (None, Some(category)) = (&page.category, category) {
        page.category = Some(category.clone());
        learnt = Learnt::Category;
    }
    learnt
}
