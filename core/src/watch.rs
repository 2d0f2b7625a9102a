//! Which signals a config needs, so the agent attaches only those trackers.

use crate::campaign::{Status, TriggerKind};
use crate::config::Config;
use crate::prelude::*;

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

impl<C> Config<C> {
    /// What a page at `path` needs: the triggers of the active campaigns
    /// whose URL filter lets them show there (a page no campaign targets
    /// attaches no scroll, exit-intent or timer listener).
    pub fn watch_for(&self, path: &str) -> Watch {
        let mut w = Watch::default();
        let here = |c: &&crate::campaign::Campaign<C>| {
            c.status == Status::Active && c.trigger.url.as_ref().is_none_or(|u| u.matches(path))
        };
        for c in self.campaigns.iter().filter(here) {
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

#[cfg(test)]
mod tests {
    use crate::config::Config;

    fn config(json: &str) -> Config {
        let value = crate::json::parse(json, crate::json::Bounds::Refuse).expect("JSON");
        let (config, problems) = Config::from_value(&value);
        assert!(problems.is_empty(), "{problems:?}");
        config
    }

    #[test]
    fn a_page_watches_only_the_triggers_of_campaigns_that_may_show_on_it() {
        let c = config(
            r#"{"campaigns": [
              {"id": "blog", "trigger": {"scroll_depth": 50, "url": {"prefix": "/blog"}}, "content": {"layout": "modal", "title": "A"}},
              {"id": "cart", "trigger": {"exit_intent": true, "url": {"equals": "/cart"}}, "content": {"layout": "modal", "title": "B"}},
              {"id": "all", "trigger": {"time_on_page": 30}, "content": {"layout": "modal", "title": "C"}},
              {"id": "off", "status": "paused", "trigger": {"inactivity": 20}, "content": {"layout": "modal", "title": "D"}}
            ]}"#,
        );
        // (path, scroll depths, exit intent, page timers)
        let table: [(&str, &[u8], bool, &[f64]); 3] = [
            ("/blog/post", &[50], false, &[30.0]),
            ("/cart", &[], true, &[30.0]),
            ("/", &[], false, &[30.0]),
        ];
        for (path, scroll, exit, timers) in table {
            let w = c.watch_for(path);
            assert_eq!(w.scroll_depths, scroll, "{path}");
            assert_eq!(w.exit_intent, exit, "{path}");
            assert_eq!(w.page_timers, timers, "{path}");
            assert!(w.inactivity.is_empty(), "a paused campaign watches nothing");
        }
    }
}
