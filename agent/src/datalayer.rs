//! The shop's GA4 events (`window.dataLayer`: GTM pushes and `gtag()` calls)
//! as Nudge events, so one tag is enough on a shop that already reports to
//! Google Analytics. The loader hooks the array and hands each entry over
//! once; `nudge_core::ga4` says what it means, `nudge_core::session::layer`
//! what it tells the page and which reports are twins; this module plays it.
//!
//! Entries seen before the first page view are held for it: their hints go
//! into the page view's properties, their events follow it, as `nudge.track`
//! calls queued before the agent would.
//!
//! A page may report one action both ways (GA4 and `nudge.track`): an order
//! counts once per `order_id` (`Profile::counted_order`), and an add or a
//! removal of a product reported by one source is paired with the same
//! report from the other (`Twins`), and counted once.

use crate::prelude::*;
use nudge_core::decide::Signal;
use nudge_core::ga4::{self, Mapped};
use nudge_core::session::layer::{self, Learnt};
use nudge_core::{Map, Value};

use crate::browser;
use crate::handle::Handle;
use crate::state::State;

/// At most this many entries wait for the first page view (GTM keeps 300).
const MAX_EARLY: usize = 300;

impl State {
    /// One `dataLayer` entry: played now, or held for the first page view.
    pub fn data_layer(&mut self, entry: &Value, handle: &Handle) {
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
        let learnt = layer::learn_page(&mut self.session.page, &mapped.page);
        if let (Learnt::Category, Some(category)) = (learnt, &self.session.page.category) {
            self.session.profile.view_category(category);
            self.save_profile();
        }
        self.play(mapped.events, handle);
        // A page that learns what it is (a theme pushing on DOMContentLoaded,
        // after the first decision) is decided again: `page.type` and
        // `page.category` audiences see it; what is on screen is not shown twice.
        if learnt != Learnt::Nothing {
            self.signal(Signal::PageView, handle);
        }
    }

    /// The held entries, their page hints put into the first page view's
    /// properties where the shop's own `nudge.page` call said nothing.
    pub fn take_early_layer(&mut self, properties: &mut Map) -> Vec<Mapped> {
        let early = self.early_layer.take().unwrap_or_default();
        layer::hint_first_page_view(&early, properties);
        early
    }

    /// The held entries' events, after the page view they belong to.
    pub fn play_early_layer(&mut self, early: Vec<Mapped>, handle: &Handle) {
        for mapped in early {
            self.play(mapped.events, handle);
        }
    }

    fn play(&mut self, events: Vec<(&'static str, Map)>, handle: &Handle) {
        for (name, properties) in events {
            if !self.is_twin(true, name, &properties) {
                self.track(name, properties, handle);
            }
        }
    }

    /// Whether this add or removal is the second report of one the other
    /// source (GA4 or `nudge.track`) already made.
    pub fn is_twin(&mut self, from_layer: bool, name: &str, properties: &Map) -> bool {
        let twin = self
            .session
            .twins
            .is_twin(from_layer, name, properties, browser::now());
        if twin {
            debug_info!(
                self.opts,
                "event ignored: reported by both the dataLayer and nudge.track"
            );
        }
        twin
    }
}
