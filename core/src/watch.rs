//! Which signals a config needs, so the agent attaches only those trackers.

use crate::campaign::{Status, TriggerKind};
use crate::config::Config;

/// The trackers and timers a page needs for a config's active campaigns.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Watch {
    /// Scroll depths (percent) worth reporting, ascending.
    pub scroll_depths: Vec<u8>,
    pub exit_intent: bool,
    /// Seconds on the page at which to check time triggers, ascending.
    pub page_timers: Vec<f64>,
    /// Seconds on the site (summed over visits) at which to check, ascending.
    pub site_timers: Vec<f64>,
    /// Seconds without input after which to check, ascending.
    pub inactivity: Vec<f64>,
}

impl Config {
    pub fn watch(&self) -> Watch {
        let mut w = Watch::default();
        for c in self.campaigns.iter().filter(|c| c.status == Status::Active) {
            match &c.trigger.kind {
                TriggerKind::ScrollDepth { percent } => w.scroll_depths.push(*percent),
                TriggerKind::ExitIntent { .. } => w.exit_intent = true,
                TriggerKind::TimeOnPage { seconds } => w.page_timers.push(*seconds),
                TriggerKind::TimeOnSite { seconds } => w.site_timers.push(*seconds),
                TriggerKind::Inactivity { seconds } => w.inactivity.push(*seconds),
                TriggerKind::PageView | TriggerKind::Event { .. } => {}
            }
        }
        crate::small::sort_by(&mut w.scroll_depths, |a, b| a < b);
        w.scroll_depths.dedup();
        for list in [&mut w.page_timers, &mut w.site_timers, &mut w.inactivity] {
            crate::small::sort_by(list, |a, b| a < b);
            list.dedup();
        }
        w
    }
}
