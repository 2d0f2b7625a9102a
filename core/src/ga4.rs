//! Google Analytics 4's e-commerce and lead events, read as Nudge's Segment
//! events, so a shop that already describes its product views, carts and
//! orders for GA4 needs no `nudge.track` calls.
//!
//! Two shapes reach [`read`], both as pushed to `window.dataLayer`:
//! - a Google Tag Manager object: `{event: "add_to_cart", ecommerce: {...}}`
//!   (the `{ecommerce: null}` reset pushes name no event and change nothing);
//! - a `gtag()` call, whose `arguments` object the agent's loader hands over
//!   as an array: `["event", "purchase", {...}]`, `["set", {...}]`, `["config", id, {...}]`.
//!
//! An event's parameters come from the same push: GTM's `ecommerce` object
//! first, then the push's own keys (`method` on a `login`). Events not in
//! [`EVENTS`] are ignored; a known event without what it needs (an item, an
//! order's id) is [`Malformed`], which the agent says in debug mode.

use crate::event::names;
use crate::prelude::*;
use crate::value::{js_string_to_number, Map, Value};

/// The GA4 events read, and the Segment event each becomes (README's table).
pub const EVENTS: [(&str, &str); 14] = [
    ("view_item", names::PRODUCT_VIEWED),
    ("view_item_list", names::PRODUCT_LIST_VIEWED),
    ("select_item", names::PRODUCT_CLICKED),
    ("add_to_cart", names::PRODUCT_ADDED),
    ("remove_from_cart", names::PRODUCT_REMOVED),
    ("view_cart", names::CART_VIEWED),
    ("begin_checkout", names::CHECKOUT_STARTED),
    ("add_shipping_info", names::CHECKOUT_STEP_COMPLETED),
    ("add_payment_info", names::PAYMENT_INFO_ENTERED),
    ("purchase", names::ORDER_COMPLETED),
    ("refund", names::ORDER_REFUNDED),
    ("sign_up", names::ACCOUNT_CREATED),
    ("login", names::SIGNED_IN),
    ("generate_lead", names::LEAD_GENERATED),
];

/// What one push says: Segment events, in order, and what it tells about the page.
#[derive(Debug, Default, PartialEq)]
pub struct Mapped {
    pub events: Vec<(&'static str, Map)>,
    pub page: PageHint,
}

/// At most this many Segment events from one push's items: a push is one action.
pub const MAX_ITEM_EVENTS: usize = 25;

/// The page a push describes: `page_type`/`page_category` where the shop sets
/// them, a product page's product and category from `view_item`. The agent
/// fills only what the page did not say, and takes the weaker hints only
/// where they cannot mislead (a carousel on a home page, a cart drawer).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PageHint {
    pub page_type: Option<String>,
    pub category: Option<String>,
    pub product_id: Option<String>,
    /// A `view_item_list`'s name: the category of a page whose type is `category`.
    pub list_category: Option<String>,
    /// `cart` from `view_cart`, `checkout` from `begin_checkout`: for the first
    /// page view only (later, a cart drawer on any page pushes them too).
    pub implied_type: Option<&'static str>,
}

/// A known GA4 event without what its Segment event needs.
#[derive(Debug, PartialEq)]
pub struct Malformed {
    pub event: String,
    pub reason: &'static str,
}

/// Reads one `dataLayer` entry. Anything that is not a GA4 event or page
/// setting reads as nothing.
pub fn read(entry: &Value) -> Result<Mapped, Malformed> {
    let (event, own, ecommerce) = match entry {
        // gtag("event", name, params), gtag("set", params), gtag("config", id, params)
        Value::Array(call) => {
            let params = |i: usize| call.get(i).and_then(Value::as_object);
            match call.first().and_then(Value::as_str) {
                Some("event") => (call.get(1).and_then(Value::as_str), params(2), None),
                Some("set") => (None, params(1), None),
                Some("config") => (None, params(2), None),
                _ => return Ok(Mapped::default()),
            }
        }
        Value::Object(push) => (
            push.get("event").and_then(Value::as_str),
            Some(push),
            push.get("ecommerce").and_then(Value::as_object),
        ),
        _ => return Ok(Mapped::default()),
    };
    let params = Params { ecommerce, own };
    let mut mapped = Mapped {
        events: Vec::new(),
        page: PageHint {
            page_type: params.text(&["page_type", "pageType"]),
            category: params.text(&["page_category", "pageCategory"]),
            ..PageHint::default()
        },
    };
    let Some(event) = event else {
        return Ok(mapped);
    };
    let Some(&(_, segment)) = EVENTS.iter().find(|(ga4, _)| *ga4 == event) else {
        return Ok(mapped);
    };
    let malformed = |reason| Malformed {
        event: event.to_owned(),
        reason,
    };
    let items = params.items();
    let mut props = params.money();
    match event {
        // One Segment event per product: each carries its own price and quantity.
        "view_item" | "select_item" | "add_to_cart" | "remove_from_cart" => {
            if items.is_empty() {
                return Err(malformed("no item with an item_id or item_name"));
            }
            let list = params.list();
            for item in items.iter().take(MAX_ITEM_EVENTS) {
                let mut product = props.clone();
                for (key, value) in item.iter().chain(list.iter()) {
                    product.insert(key, value.clone());
                }
                if event == "add_to_cart" && !product.contains_key("quantity") {
                    product.insert("quantity", 1.0);
                }
                mapped.events.push((segment, product));
            }
            if event == "view_item" {
                let first = &items[0];
                mapped
                    .page
                    .page_type
                    .get_or_insert_with(|| "product".into());
                mapped.page.category = mapped
                    .page
                    .category
                    .take()
                    .or_else(|| first.text("category"));
                mapped.page.product_id = first.text("product_id");
            }
            return Ok(mapped);
        }
        "view_item_list" => {
            let list = params.list();
            let category = list
                .text("list_name")
                .or_else(|| items.first().and_then(|item| item.text("category")));
            for (key, value) in list.iter() {
                props.insert(key, value.clone());
            }
            if let Some(category) = &category {
                props.insert("category", category.as_str());
            }
            mapped.page.list_category = category;
        }
        "purchase" | "refund" => {
            let Some(order_id) = params.id("transaction_id") else {
                return Err(malformed("no transaction_id"));
            };
            props.insert("order_id", order_id);
            // Segment's revenue is GA4's value; its total is what was paid.
            if let Some(value) = props.remove("value") {
                let paid = ["tax", "shipping"]
                    .iter()
                    .filter_map(|key| params.number(key))
                    .sum::<f64>();
                props.insert("total", value.as_f64().unwrap_or(0.0) + paid);
                if event == "purchase" {
                    props.insert("revenue", value);
                }
            }
            for key in ["tax", "shipping"] {
                if let Some(n) = params.number(key) {
                    props.insert(key, n);
                }
            }
            params.copy_text(&mut props, "affiliation", "affiliation");
        }
        "add_shipping_info" => params.copy_text(&mut props, "shipping_tier", "shipping_method"),
        "add_payment_info" => params.copy_text(&mut props, "payment_type", "payment_method"),
        "sign_up" | "login" => params.copy_text(&mut props, "method", "method"),
        _ => {}
    }
    if !items.is_empty() {
        props.insert(
            "products",
            Value::Array(items.into_iter().map(Value::Object).collect()),
        );
    }
    mapped.page.implied_type = match event {
        "view_cart" => Some("cart"),
        "begin_checkout" => Some("checkout"),
        _ => None,
    };
    mapped.events.push((segment, props));
    Ok(mapped)
}

/// A push's parameters: GTM's `ecommerce` object first, then its own keys.
struct Params<'a> {
    ecommerce: Option<&'a Map>,
    own: Option<&'a Map>,
}

impl Params<'_> {
    fn get(&self, key: &str) -> Option<&Value> {
        [self.ecommerce, self.own]
            .into_iter()
            .flatten()
            .find_map(|map| map.get(key).filter(|v| !v.is_null()))
    }

    fn text(&self, keys: &[&str]) -> Option<String> {
        keys.iter()
            .find_map(|key| self.get(key)?.as_str().filter(|s| !s.is_empty()))
            .map(str::to_owned)
    }

    fn number(&self, key: &str) -> Option<f64> {
        number(self.get(key)?)
    }

    /// An id as text: shops push numbers (`transaction_id: 1001`) as often as strings.
    fn id(&self, key: &str) -> Option<String> {
        id(self.get(key)?)
    }

    fn copy_text(&self, props: &mut Map, from: &str, to: &str) {
        if let Some(text) = self.text(&[from]) {
            props.insert(to, text);
        }
    }

    /// `value`, `currency` and `coupon`, which most events carry.
    fn money(&self) -> Map {
        let mut props = Map::new();
        if let Some(value) = self.number("value") {
            props.insert("value", value);
        }
        if let Some(currency) = self.text(&["currency"]) {
            props.insert("currency", currency);
        }
        self.copy_text(&mut props, "coupon", "coupon");
        props
    }

    /// The list a `view_item_list` or `select_item` names.
    fn list(&self) -> Map {
        let mut list = Map::new();
        if let Some(id) = self.id("item_list_id") {
            list.insert("list_id", id);
        }
        self.copy_text(&mut list, "item_list_name", "list_name");
        list
    }

    /// GA4 items as Segment products; items with neither id nor name are left out.
    fn items(&self) -> Vec<Map> {
        let Some(items) = self.get("items").and_then(Value::as_array) else {
            return Vec::new();
        };
        items
            .iter()
            .filter_map(Value::as_object)
            .filter_map(product)
            .collect()
    }
}

/// One GA4 item as a Segment product.
fn product(item: &Map) -> Option<Map> {
    let mut product = Map::new();
    let id = item.get("item_id").and_then(id);
    let name = item.get("item_name").and_then(Value::as_str);
    if id.is_none() && name.is_none() {
        return None;
    }
    if let Some(id) = id {
        product.insert("product_id", id);
    }
    for (from, to) in [
        ("item_name", "name"),
        ("item_brand", "brand"),
        ("item_category", "category"),
        ("item_variant", "variant"),
        ("coupon", "coupon"),
        ("item_list_name", "list_name"),
    ] {
        if let Some(text) = item.get(from).and_then(Value::as_str) {
            product.insert(to, text);
        }
    }
    for (from, to) in [
        ("price", "price"),
        ("quantity", "quantity"),
        ("index", "position"),
    ] {
        if let Some(n) = item.get(from).and_then(number) {
            product.insert(to, n);
        }
    }
    Some(product)
}

trait Text {
    fn text(&self, key: &str) -> Option<String>;
}

impl Text for Map {
    fn text(&self, key: &str) -> Option<String> {
        self.get(key)?.as_str().map(str::to_owned)
    }
}

/// A finite number, or a numeric string (`"129.00"`), as JavaScript reads it.
fn number(value: &Value) -> Option<f64> {
    let n = match value {
        Value::Number(n) => *n,
        Value::String(s) if !s.trim().is_empty() => js_string_to_number(s),
        _ => return None,
    };
    n.is_finite().then_some(n)
}

fn id(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) if n.is_finite() => Some(value.to_js_string().into_owned()),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
