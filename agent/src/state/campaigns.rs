//! Campaigns on the page: what the session decides for a signal, drawn
//! through the display module ([`crate::display`]), and what the visitor
//! did with them.

use crate::prelude::*;
use nudge_core::campaign::Action;
use nudge_core::decide::Signal;
use nudge_core::session::Show;

use super::State;
use crate::browser;
use crate::display::Drawn;
use crate::handle::Handle;

impl State {
    /// Asks core what to show for `signal`, and shows it.
    pub fn signal(&mut self, signal: Signal, handle: &Handle) {
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
                self.drawn(&show, handle);
                continue;
            }
            // The content stays packed until now; only its title and body
            // are read, to fill their merge fields.
            let value_of = |name: &str| nudge_core::template::value_of(&attributes, name);
            let content = match nudge_core::program::fill(&show.content, &value_of) {
                Ok(content) => content,
                Err(malformed) => {
                    self.not_drawn(&show, malformed.what);
                    continue;
                }
            };
            match self.display.draw(&show, content, handle) {
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
                    self.drawn(&show, handle);
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
    fn drawn(&mut self, show: &Show, handle: &Handle) {
        let effects = self.session.showed(show, browser::now(), &mut self.random);
        self.apply(effects, handle);
    }

    fn not_drawn(&mut self, show: &Show, why: &str) {
        debug_warn!(self.opts, "campaign {} not shown: {why}", show.campaign);
        self.session.not_drawn(show);
    }

    /// A campaign waits on this page for its trigger: have the display
    /// module here by then (fetched at idle, once).
    pub(super) fn prefetch_display(&mut self, handle: &Handle) {
        if self.display.may_prefetch() && self.session.may_show_later(browser::now()) {
            self.display.prefetch(handle);
        }
    }

    /// The loader's answer to the display module's request: the shows that
    /// waited for it are drawn now, or not at all if it did not load.
    pub fn display_loaded(&mut self, module: wasm_bindgen::JsValue, handle: &Handle) {
        let (ready, waiting) = self.display.loaded(module);
        for (show, content) in waiting {
            if !ready {
                self.not_drawn(&show, "the display module did not load");
                continue;
            }
            match self.display.draw(&show, content, handle) {
                Drawn::Now => self.drawn(&show, handle),
                Drawn::Later => {}
                Drawn::Refused(why) => self.not_drawn(&show, &why),
            }
        }
    }

    /// What the visitor did with campaign `id` on screen.
    pub fn act(&mut self, id: &str, action: Action, handle: &Handle) {
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
                self.apply(effects, handle);
                if sealed {
                    self.claim_coupon(handle, id, (field, &value));
                }
                return self.signal(
                    Signal::Event {
                        name: nudge_core::event::names::SIGNED_UP.into(),
                    },
                    handle,
                );
            }
        };
        self.apply(effects, handle);
    }

    /// Shows a sealed coupon the edge gave, if the campaign is still open.
    pub fn reveal_coupon(&self, id: &str, code: &str) {
        self.display.reveal_coupon(id, code);
    }
}
