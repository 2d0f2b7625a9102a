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

use std::rc::Rc;

use nudge_core::decide::{PageState, Signal};
use nudge_core::ga4::{self, Mapped, PageHint};
use nudge_core::{Map, Value};

use crate::shared::Shared;
use crate::state::State;

/// Entries held for the first page view; `None` once it happened.
pub type Early = Option<Vec<Mapped>>;

impl State {
    /// One `dataLayer` entry: played now, or held for the first page view.
    pub fn data_layer(&mut self, entry: &Value, shared: &Rc<Shared>) {
        let mapped = match ga4::read(entry) {
            Ok(mapped) => mapped,
            Err(malformed) => {
                self.opts.debug_warn(&format!(
                    "dataLayer: {} ignored: {}",
                    malformed.event, malformed.reason
                ));
                return;
            }
        };
        if let Some(early) = &mut self.early_layer {
            early.push(mapped);
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
        for mapped in &early {
            let hint = &mapped.page;
            for (key, value) in [
                ("type", &hint.page_type),
                ("category", &hint.category),
                ("product_id", &hint.product_id),
            ] {
                if let (false, Some(value)) = (properties.contains_key(key), value) {
                    properties.insert(key, value.as_str());
                }
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
            self.track(name, properties, shared);
        }
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
    if page.category.is_none() && hint.category.is_some() {
        page.category.clone_from(&hint.category);
        learnt = Learnt::Category;
    }
    learnt
}
