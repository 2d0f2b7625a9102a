//! The rules for the shop's GA4 events (`window.dataLayer`, read by
//! [`crate::ga4`]) that depend on the page and on time, with no I/O: what the
//! entries seen before the first page view say about that page, what a later
//! entry teaches the current page, and the pairing of one add or removal
//! reported both ways (GA4 and `nudge.track`), counted once.
//!
//! Entries seen before the first page view describe that page (GTM pushes in
//! the page's HTML come before any async tag): their page type and category go
//! into the page view itself, so the first decision, and the profile's count
//! of category views, already know them.

use crate::decide::PageState;
use crate::event::names;
use crate::ga4::{Mapped, PageHint};
use crate::prelude::*;
use crate::time::Millis;
use crate::value::{Map, Value};

/// How far apart two reports of one add (GA4's and `nudge.track`'s) may be.
pub const TWIN_WINDOW: Millis = 2_000;

/// At most this many reports wait for their twin.
const MAX_WAITING: usize = 50;

/// The page view's properties, with what the early entries say about the
/// page where the shop's own `nudge.page` call said nothing: their page
/// type, category and product first, then the weaker hints (`cart` from a
/// `view_cart`, a list's name as a category page's category).
pub fn hint_first_page_view(early: &[Mapped], properties: &mut Map) {
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
}

/// What a later entry taught the current page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Learnt {
    Nothing,
    /// Its type or product: decide again.
    Something,
    /// Its category: count the category view too, and decide again.
    Category,
}

/// Fills what the current page did not say from an entry's hint (never the
/// weaker hints: after the first page view a cart drawer on any page pushes
/// `view_cart`).
pub fn learn_page(page: &mut PageState, hint: &PageHint) -> Learnt {
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

/// Adds and removals one source reported, waiting for the other's twin.
#[derive(Debug, Default)]
pub struct Twins {
    waiting: Vec<Reported>,
}

#[derive(Debug)]
struct Reported {
    from_layer: bool,
    event: &'static str,
    product: String,
    at: Millis,
}

impl Twins {
    /// Whether this event is the second report of an add or removal the
    /// other source (`from_layer`: GA4, else `nudge.track`) made within
    /// [`TWIN_WINDOW`]: then it is not counted again. Otherwise an add or
    /// removal is remembered for its twin (at most [`MAX_WAITING`]).
    pub fn is_twin(&mut self, from_layer: bool, name: &str, properties: &Map, now: Millis) -> bool {
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
        self.waiting.retain(|r| now - r.at <= TWIN_WINDOW);
        let twin = self
            .waiting
            .iter()
            .position(|r| r.from_layer != from_layer && r.event == event && r.product == product);
        if let Some(twin) = twin {
            self.waiting.remove(twin);
            return true;
        }
        if self.waiting.len() < MAX_WAITING {
            self.waiting.push(Reported {
                from_layer,
                event,
                product: product.into_owned(),
                at: now,
            });
        }
        false
    }
}
