//! The event model, after the Segment spec: `page`, `track` and `identify`
//! calls, with Segment's e-commerce event names.
//!
//! [`Event`] is the domain type. On the wire (agent -> edge, edge -> channels)
//! events travel in Segment's JSON shape (`type`, `messageId`, `anonymousId`,
//! `userId`, `timestamp`, `properties`/`traits`, `context.page`), converted
//! explicitly by [`Event::to_wire`] and [`Event::from_wire`], which reports
//! every malformed field with its path.

use crate::diagnostics::{msg, Diagnostic};
use crate::limits::MAX_EVENT_BYTES;
use crate::prelude::*;
use crate::read::Fields;
use crate::time::{parse_iso8601, to_iso8601, Millis};
use crate::value::{Map, Value};

/// Segment's e-commerce event names the engine understands.
pub mod names {
    pub const PRODUCT_VIEWED: &str = "Product Viewed";
    pub const PRODUCT_LIST_VIEWED: &str = "Product List Viewed";
    pub const PRODUCT_CLICKED: &str = "Product Clicked";
    pub const PRODUCT_ADDED: &str = "Product Added";
    pub const PRODUCT_REMOVED: &str = "Product Removed";
    pub const CART_VIEWED: &str = "Cart Viewed";
    pub const CHECKOUT_STARTED: &str = "Checkout Started";
    pub const ORDER_COMPLETED: &str = "Order Completed";
    pub const CHECKOUT_STEP_COMPLETED: &str = "Checkout Step Completed";
    pub const PAYMENT_INFO_ENTERED: &str = "Payment Info Entered";
    pub const ORDER_REFUNDED: &str = "Order Refunded";
    pub const COUPON_APPLIED: &str = "Coupon Applied";
    /// Nudge's own: a visitor left an email or phone number in a popup.
    pub const SIGNED_UP: &str = "Signed Up";
    /// GA4's `sign_up`: an account, which is not a subscription.
    pub const ACCOUNT_CREATED: &str = "Account Created";
    pub const SIGNED_IN: &str = "Signed In";
    pub const LEAD_GENERATED: &str = "Lead Generated";
    /// Nudge's own: an offsite channel issued a coupon to this person.
    pub const COUPON_ISSUED: &str = "Coupon Issued";
    /// Nudge's own campaign lifecycle events.
    pub const CAMPAIGN_SHOWN: &str = "Campaign Shown";
    pub const CAMPAIGN_DISMISSED: &str = "Campaign Dismissed";
    pub const CAMPAIGN_CLICKED: &str = "Campaign Clicked";
    pub const CAMPAIGN_CONVERTED: &str = "Campaign Converted";
    /// A `page` call, by the name journeys and destinations select it with.
    pub const PAGE_VIEWED: &str = "Page Viewed";
}

/// The name an event goes by wherever a name selects it (journeys' entries
/// and goals, destinations' lists, maps and messages, the reports' goals),
/// from its wire `type` and `event`: a track's own name, `Page Viewed` for a
/// page view, none for an identify (it names no action).
pub fn name_of<'a>(call: &str, event: Option<&'a str>) -> Option<&'a str> {
    match call {
        "track" => event,
        "page" => Some(names::PAGE_VIEWED),
        _ => None,
    }
}

/// One order counts up to this much revenue: a forged order cannot swamp a
/// report or a person's lifetime value.
pub const MAX_ORDER_REVENUE: f64 = 10_000_000.0;

/// An `Order Completed` event's revenue, as the profile, the edge's persons,
/// reports, journeys and channels all count it: its `total` property, else
/// its `revenue`, else 0; never negative, never over [`MAX_ORDER_REVENUE`].
/// `number` reads one property as a number (the agent's and the edge's
/// JSON types differ).
pub fn order_revenue(number: impl Fn(&str) -> Option<f64>) -> f64 {
    number("total")
        .or_else(|| number("revenue"))
        .filter(|r| r.is_finite())
        .unwrap_or(0.0)
        .clamp(0.0, MAX_ORDER_REVENUE)
}

/// Longest accepted identifier or event name, in bytes.
pub const MAX_ID_LEN: usize = 200;

/// What kind of call an event records.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum EventKind {
    /// A page view, optionally named ("Product", "Cart").
    Page { name: Option<String> },
    /// A named action ("Product Added").
    Track { event: String },
    /// Who the visitor is, and what we know about them.
    Identify { traits: Map },
}

/// Consent per purpose, as an event's context carries it and the profile
/// keeps it; `None` means the visitor has not said.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Consent {
    pub analytics: Option<bool>,
    pub marketing: Option<bool>,
}

/// Where an event happened.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PageContext {
    pub url: String,
    pub path: String,
    pub search: String,
    pub referrer: String,
    pub title: String,
}

/// One recorded event.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// Unique per event (Segment's `messageId`): every hop de-duplicates on it.
    pub id: String,
    pub kind: EventKind,
    pub anonymous_id: String,
    pub user_id: Option<String>,
    pub timestamp: Millis,
    pub properties: Map,
    pub page: PageContext,
    /// The visitor's consent when the event happened: channels forward an
    /// event only for purposes the visitor agreed to.
    pub consent: Consent,
}

impl Event {
    /// The track event's name, if this is one.
    pub fn track_name(&self) -> Option<&str> {
        match &self.kind {
            EventKind::Track { event } => Some(event),
            _ => None,
        }
    }

    fn type_name(&self) -> &'static str {
        match self.kind {
            EventKind::Page { .. } => "page",
            EventKind::Track { .. } => "track",
            EventKind::Identify { .. } => "identify",
        }
    }

    /// The Segment-shaped JSON form.
    pub fn to_wire(&self) -> Value {
        let mut out = Map::new();
        out.insert("type", self.type_name());
        out.insert("messageId", self.id.as_str());
        out.insert("anonymousId", self.anonymous_id.as_str());
        if let Some(user_id) = &self.user_id {
            out.insert("userId", user_id.as_str());
        }
        out.insert("timestamp", to_iso8601(self.timestamp));
        match &self.kind {
            EventKind::Page { name } => {
                if let Some(name) = name {
                    out.insert("name", name.as_str());
                }
                out.insert("properties", self.properties.clone());
            }
            EventKind::Track { event } => {
                out.insert("event", event.as_str());
                out.insert("properties", self.properties.clone());
            }
            EventKind::Identify { traits } => {
                out.insert("traits", traits.clone());
            }
        }
        let mut page = Map::new();
        for (key, value) in [
            ("url", &self.page.url),
            ("path", &self.page.path),
            ("search", &self.page.search),
            ("referrer", &self.page.referrer),
            ("title", &self.page.title),
        ] {
            if !value.is_empty() {
                page.insert(key, value.as_str());
            }
        }
        let mut context = Map::new();
        context.insert("page", page);
        if self.consent != Consent::default() {
            let mut consent = Map::new();
            consent.insert("analytics", self.consent.analytics);
            consent.insert("marketing", self.consent.marketing);
            context.insert("consent", consent);
        }
        out.insert("context", context);
        Value::Object(out)
    }

    /// Reads the Segment-shaped JSON form; every problem is reported with its path.
    pub fn from_wire(value: &Value, path: &str) -> Result<Event, Vec<Diagnostic>> {
        let mut problems = Vec::new();
        let Some(f) = Fields::of(value, path, &mut problems) else {
            return Err(problems);
        };
        let id = f
            .required_str("messageId", &mut problems)
            .map(str::to_owned);
        let anonymous_id = f
            .required_str("anonymousId", &mut problems)
            .map(str::to_owned);
        let user_id = f.str("userId", &mut problems).map(str::to_owned);
        for (key, value) in [
            ("messageId", &id),
            ("anonymousId", &anonymous_id),
            ("userId", &user_id),
        ] {
            if let Some(v) = value {
                if let Err(reason) = check_identifier(v) {
                    problems.push(Diagnostic::error(f.at(key), reason));
                }
            }
        }
        let timestamp = match f.required_str("timestamp", &mut problems) {
            Some(text) => parse_iso8601(text).or_else(|| {
                problems.push(Diagnostic::error(
                    f.at("timestamp"),
                    msg!("must be an ISO 8601 date-time, got \"{text}\""),
                ));
                None
            }),
            None => None,
        };
        let object_or_empty = |key: &str, problems: &mut Vec<Diagnostic>| {
            f.object(key, problems)
                .map(|o| o.map.clone())
                .unwrap_or_default()
        };
        let kind = match f.required_str("type", &mut problems) {
            Some("page") => Some(EventKind::Page {
                name: f.str("name", &mut problems).map(str::to_owned),
            }),
            Some("track") => f
                .required_str("event", &mut problems)
                .map(|event| EventKind::Track {
                    event: event.to_owned(),
                }),
            Some("identify") => Some(EventKind::Identify {
                traits: object_or_empty("traits", &mut problems),
            }),
            Some(other) => {
                problems.push(Diagnostic::error(
                    f.at("type"),
                    msg!("must be one of page, track, identify; got \"{other}\""),
                ));
                None
            }
            None => None,
        };
        let properties = object_or_empty("properties", &mut problems);
        let mut page = PageContext::default();
        let mut consent = Consent::default();
        if let Some(context) = f.object("context", &mut problems) {
            if let Some(c) = context.object("consent", &mut problems) {
                consent = Consent {
                    analytics: c.bool("analytics", &mut problems),
                    marketing: c.bool("marketing", &mut problems),
                };
            }
            if let Some(p) = context.object("page", &mut problems) {
                let text = |key: &str, problems: &mut Vec<Diagnostic>| {
                    p.str(key, problems).unwrap_or_default().to_owned()
                };
                page = PageContext {
                    url: text("url", &mut problems),
                    path: text("path", &mut problems),
                    search: text("search", &mut problems),
                    referrer: text("referrer", &mut problems),
                    title: text("title", &mut problems),
                };
            }
        }
        match (id, kind, anonymous_id, timestamp) {
            (Some(id), Some(kind), Some(anonymous_id), Some(timestamp)) if problems.is_empty() => {
                let event = Event {
                    id,
                    kind,
                    anonymous_id,
                    user_id,
                    timestamp,
                    properties,
                    page,
                    consent,
                };
                // Measured as it travels on (forwarding queue messages, channel
                // requests): the wire JSON, not the text it arrived in.
                let bytes = event.to_wire().to_json().len();
                if bytes > MAX_EVENT_BYTES {
                    return Err(vec![Diagnostic::error(
                        path,
                        msg!("the event is {bytes} bytes as JSON; at most {MAX_EVENT_BYTES}"),
                    )]);
                }
                Ok(event)
            }
            _ => Err(problems),
        }
    }
}

/// Refuses identifiers that are really a bug on the caller's side
/// (`"undefined"`, `"null"`, blank), absurdly long, or holding control
/// characters: an id travels on in HTTP headers (`idempotency-key`,
/// `webhook-id`), where a line break or a NUL is refused by every channel
/// and would only burn the forwarding retries.
pub fn check_identifier(id: &str) -> Result<(), String> {
    if id.chars().any(char::is_control) {
        return Err("must not contain control characters (line breaks, tabs, NUL)".into());
    }
    let trimmed = id.trim();
    if trimmed.is_empty() {
        return Err("must not be empty".into());
    }
    if matches!(
        trimmed.to_ascii_lowercase().as_str(),
        "undefined" | "null" | "nan" | "[object object]"
    ) {
        return Err(msg!("\"{trimmed}\" is not a real identifier"));
    }
    if id.len() > MAX_ID_LEN {
        return Err(msg!("must be at most {MAX_ID_LEN} bytes, got {}", id.len()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Event {
        let mut properties = Map::new();
        properties.insert("price", 20.0);
        Event {
            id: "e1".into(),
            kind: EventKind::Track {
                event: names::PRODUCT_ADDED.into(),
            },
            anonymous_id: "a1".into(),
            user_id: None,
            timestamp: 1_700_000_000_000,
            properties,
            page: PageContext {
                path: "/p/1".into(),
                ..Default::default()
            },
            consent: Consent {
                analytics: Some(true),
                marketing: None,
            },
        }
    }

    #[test]
    fn identifiers_with_control_characters_are_refused() {
        for bad in ["a\r\nb", "a\nb", "a\tb", "a\0b", "a\u{7f}b", "a\u{85}b"] {
            assert!(check_identifier(bad).is_err(), "{bad:?}");
        }
        assert_eq!(check_identifier("evt-01 é"), Ok(()));
    }

    #[test]
    fn wire_round_trip() {
        let event = sample();
        assert_eq!(Event::from_wire(&event.to_wire(), "").unwrap(), event);
    }

    #[test]
    fn an_event_over_the_size_limit_is_refused_at_its_path() {
        // `,"note":"xxx..."` adds 10 bytes of JSON around the text.
        let base = sample().to_wire().to_json().len() + 10;
        for (extra, ok) in [
            (MAX_EVENT_BYTES - base, true),
            (MAX_EVENT_BYTES - base + 1, false),
        ] {
            let mut event = sample();
            event.properties.insert("note", "x".repeat(extra));
            let wire = event.to_wire();
            assert_eq!(wire.to_json().len(), base + extra);
            match Event::from_wire(&wire, "batch[2]") {
                Ok(_) => assert!(ok, "accepted {} bytes", base + extra),
                Err(problems) => {
                    assert!(!ok, "refused at the limit: {problems:?}");
                    assert_eq!(problems.len(), 1);
                    assert_eq!(problems[0].path, "batch[2]");
                    assert_eq!(
                        problems[0].message,
                        "the event is 32769 bytes as JSON; at most 32768"
                    );
                }
            }
        }
    }

    #[test]
    fn wire_errors_name_every_field() {
        let mut wire = sample().to_wire();
        if let Value::Object(map) = &mut wire {
            map.insert("anonymousId", "undefined");
            map.insert("timestamp", "yesterday");
            map.remove("event");
        }
        let problems = Event::from_wire(&wire, "batch[3]").unwrap_err();
        let paths: Vec<_> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "batch[3].anonymousId",
                "batch[3].timestamp",
                "batch[3].event"
            ]
        );
    }
}
