//! One reading of a stored event for every part of the edge: the store's
//! facts, reports, journeys and the channels all ask a [`WireEvent`] what an
//! event is called, when it happened and what an order brought in, and it
//! answers with `nudge_core::event`'s rules, the same ones the agent's
//! profile follows. Events arrive validated (`routes::events`); this only
//! reads, so a field that is missing reads as empty, never as a failure.

use nudge_core::event::{name_of, order_revenue};
use nudge_core::time::{parse_iso8601, Millis};
use serde_json::Value;

/// A validated event in its wire (Segment) shape.
#[derive(Clone, Copy)]
pub struct WireEvent<'a>(pub &'a Value);

impl<'a> WireEvent<'a> {
    /// `track`, `page` or `identify`.
    pub fn call(self) -> &'a str {
        self.0["type"].as_str().unwrap_or_default()
    }

    /// The name it is selected by (`nudge_core::event::name_of`): a track's
    /// own, `Page Viewed` for a page view, none for an identify.
    pub fn name(self) -> Option<&'a str> {
        name_of(self.call(), self.0["event"].as_str())
    }

    /// Its `messageId`.
    pub fn id(self) -> &'a str {
        self.0["messageId"].as_str().unwrap_or_default()
    }

    pub fn properties(self) -> &'a Value {
        &self.0["properties"]
    }

    /// When it happened by its sender's clock, if that reads.
    pub fn timestamp(self) -> Option<Millis> {
        parse_iso8601(self.0["timestamp"].as_str().unwrap_or_default())
    }

    /// An order's revenue (`nudge_core::event::order_revenue`), whatever
    /// the event: callers ask only of an `Order Completed`.
    pub fn order_revenue(self) -> f64 {
        let props = self.properties();
        order_revenue(|key| props[key].as_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nudge_core::event::{names, MAX_ORDER_REVENUE};
    use serde_json::json;

    #[test]
    fn a_page_view_and_a_track_are_named_as_the_agent_names_them() {
        let page = json!({"type": "page", "event": "ignored"});
        assert_eq!(WireEvent(&page).name(), Some(names::PAGE_VIEWED));
        let track = json!({"type": "track", "event": "Order Completed"});
        assert_eq!(WireEvent(&track).name(), Some(names::ORDER_COMPLETED));
        let identify = json!({"type": "identify", "traits": {}});
        assert_eq!(WireEvent(&identify).name(), None);
        assert_eq!(WireEvent(&json!(null)).name(), None);
    }

    #[test]
    fn an_orders_revenue_is_its_total_else_its_revenue_bounded() {
        let revenue = |props: Value| WireEvent(&json!({"properties": props})).order_revenue();
        assert_eq!(revenue(json!({"total": 40.5, "revenue": 30})), 40.5);
        assert_eq!(revenue(json!({"revenue": 30})), 30.0);
        assert_eq!(revenue(json!({"total": "40", "revenue": 30})), 30.0);
        assert_eq!(revenue(json!({})), 0.0);
        assert_eq!(revenue(json!({"total": -5})), 0.0);
        assert_eq!(revenue(json!({"total": 1e300})), MAX_ORDER_REVENUE);
    }
}
