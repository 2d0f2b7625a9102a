//! What journeys know about a person: the state events leave behind (last
//! seen, consent, cart, viewed products, date traits) and the attributes
//! audience and branch conditions read, with the same names as the agent's
//! where both know a fact (docs/journeys.md lists them).

use nudge_core::journey::Person;
use nudge_core::profile::Consent;
use nudge_core::time::DAY as DAY_MS;
use nudge_core::Attributes;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::super::persons::Db;
use super::super::protocol::StoreResult;
use super::super::sql::{params, SqlExt};
use crate::wire::WireEvent;

/// Cart lines and viewed products kept per person.
const MAX_LINES: usize = 50;
const MAX_VIEWED: usize = 20;
/// Date traits (a birthday) kept per person.
const MAX_DATE_TRAITS: i64 = 10;
/// Longest text kept from an event's product fields.
const MAX_FIELD: usize = 200;

/// A product line as sends carry it: only known fields, bounded.
fn line(product: &Value) -> Option<Value> {
    let text = |key: &str| {
        product[key]
            .as_str()
            .map(|s| s.chars().take(MAX_FIELD).collect::<String>())
    };
    let id = text("product_id").or_else(|| text("sku"))?;
    let number = |key: &str| product[key].as_f64().filter(|n| n.is_finite() && *n >= 0.0);
    Some(json!({
        "product_id": id, "name": text("name"), "category": text("category"),
        "price": number("price"), "quantity": number("quantity").unwrap_or(1.0).min(1000.0),
    }))
}

fn lines_of(products: &Value) -> Vec<Value> {
    products
        .as_array()
        .into_iter()
        .flatten()
        .take(MAX_LINES)
        .filter_map(line)
        .collect()
}

/// What the cart's lines cost together (a line without a price counts 0).
fn cart_value(lines: &[Value]) -> f64 {
    lines
        .iter()
        .map(|l| l["price"].as_f64().unwrap_or(0.0) * l["quantity"].as_f64().unwrap_or(1.0))
        .sum()
}

fn parse_list(text: Option<String>) -> Vec<Value> {
    text.and_then(|t| serde_json::from_str::<Vec<Value>>(&t).ok())
        .unwrap_or_default()
}

impl Db<'_> {
    /// Updates what journeys read about `person` from one of their events.
    pub fn note_event(&self, person: &str, event: &Value) -> StoreResult<()> {
        let consent = &event["context"]["consent"];
        let flag = |v: &Value| v.as_bool().map(i64::from);
        self.sql.execute(
            "INSERT INTO person_state (person, last_seen, consent_marketing, consent_analytics) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (person) DO UPDATE SET last_seen = max(last_seen, ?2),
               consent_marketing = coalesce(?3, consent_marketing), consent_analytics = coalesce(?4, consent_analytics)",
            params![person, self.now, flag(&consent["marketing"]), flag(&consent["analytics"])],
        )?;
        let props = &event["properties"];
        let name = WireEvent(event).name().unwrap_or_default();
        match name {
            "Product Added" | "Product Removed" => {
                let Some(changed) = line(props) else {
                    return Ok(());
                };
                let mut cart = self.cart_lines(person)?;
                cart.retain(|l| l["product_id"] != changed["product_id"]);
                if name == "Product Added" {
                    cart.push(changed);
                }
                let excess = cart.len().saturating_sub(MAX_LINES);
                cart.drain(..excess);
                self.set_state(person, "cart", &Value::from(cart))?;
            }
            "Cart Viewed" | "Checkout Started" if props["products"].is_array() => {
                self.set_state(person, "cart", &Value::from(lines_of(&props["products"])))?;
            }
            "Order Completed" => {
                self.set_state(person, "cart", &json!([]))?;
                self.sql.execute(
                    "UPDATE person_state SET last_order_at = ? WHERE person = ?",
                    params![self.now, person],
                )?;
            }
            "Product Viewed" => {
                if let Some(viewed) = line(props) {
                    let mut list = parse_list(self.sql.text(
                        "SELECT viewed FROM person_state WHERE person = ?",
                        params![person],
                    )?);
                    list.retain(|l| l["product_id"] != viewed["product_id"]);
                    list.push(viewed);
                    let excess = list.len().saturating_sub(MAX_VIEWED);
                    list.drain(..excess);
                    self.set_state(person, "viewed", &Value::from(list))?;
                }
            }
            _ => {}
        }
        if WireEvent(event).call() == "identify" {
            for (trait_name, value) in event["traits"].as_object().into_iter().flatten() {
                if let Some(month_day) = value.as_str().and_then(month_day) {
                    let name: String = trait_name.chars().take(64).collect();
                    // At most MAX_DATE_TRAITS names per person: a browser
                    // inventing trait names cannot grow the table.
                    let known = self.sql.exists(
                        "SELECT 1 FROM person_dates WHERE person = ? AND name = ?",
                        params![person, name.as_str()],
                    )?;
                    let count = self
                        .sql
                        .int(
                            "SELECT count(*) FROM person_dates WHERE person = ?",
                            params![person],
                        )?
                        .unwrap_or(0);
                    if known || count < MAX_DATE_TRAITS {
                        self.sql.execute(
                            "INSERT INTO person_dates (person, name, month_day) VALUES (?, ?, ?)
                             ON CONFLICT (person, name) DO UPDATE SET month_day = excluded.month_day",
                            params![person, name.as_str(), month_day],
                        )?;
                    }
                }
            }
        }
        Ok(())
    }

    fn set_state(&self, person: &str, column: &str, value: &Value) -> StoreResult<()> {
        // `column` is ours (cart or viewed).
        self.sql.execute(
            &format!("UPDATE person_state SET {column} = ? WHERE person = ?"),
            params![value.to_string(), person],
        )?;
        Ok(())
    }

    fn cart_lines(&self, person: &str) -> StoreResult<Vec<Value>> {
        Ok(parse_list(self.sql.text(
            "SELECT cart FROM person_state WHERE person = ?",
            params![person],
        )?))
    }

    /// The person as the journey engine sees them.
    pub fn journey_person(&self, person: &str) -> StoreResult<Person> {
        Ok(self.journey_facts(person)?.person())
    }

    /// What the journey engine reads of a person, as it travels between a
    /// site's objects (the studio's dry run plays at the home).
    pub fn journey_facts(&self, person: &str) -> StoreResult<JourneyFacts> {
        let rows = self.sql.query(
            "SELECT p.user_id, p.orders, p.total_spent, s.consent_marketing, s.consent_analytics,
                    s.last_order_at, s.cart
             FROM persons p LEFT JOIN person_state s ON s.person = p.id WHERE p.id = ?",
            params![person],
        )?;
        let row = rows.first().cloned().unwrap_or_default();
        let flag = |key: &str| row.get(key).and_then(Value::as_i64).map(|n| n == 1);
        let consent = Consent {
            analytics: flag("consent_analytics"),
            marketing: flag("consent_marketing"),
        };
        let contact = self.contact(person)?;
        let cart = parse_list(row.get("cart").and_then(Value::as_str).map(str::to_owned));
        let orders = row.get("orders").and_then(Value::as_i64).unwrap_or(0);
        let segments = self.segments(person, orders, &contact)?;
        let tags = self.sql.query(
            "SELECT tag FROM person_tags WHERE person = ? ORDER BY at",
            params![person],
        )?;
        let coupons = self.usable_coupons(person)?;
        let user_id = row.get("user_id").cloned().unwrap_or(Value::Null);
        let attributes = json!({
            "id": user_id.as_str().unwrap_or(person),
            "user_id": user_id,
            "is_customer": orders > 0,
            "orders": {
                "count": orders,
                "total_spent": row.get("total_spent").cloned().unwrap_or(json!(0)),
                "days_since_last": row.get("last_order_at").and_then(Value::as_i64)
                    .map(|at| (self.now - at) / DAY_MS),
            },
            "cart": {
                "items": cart.iter().map(|l| l["quantity"].as_f64().unwrap_or(1.0)).sum::<f64>(),
                "value": cart_value(&cart),
            },
            "tags": tags.iter().map(|t| t["tag"].clone()).collect::<Vec<_>>(),
            "segments": segments,
            "coupons": {"available": coupons.len(), "latest": coupons.first()},
            "consent": {"analytics": consent.analytics, "marketing": consent.marketing},
            // What journeys can reach: verified addresses only
            // (`store::deliveries`), so a branch on them tells the truth.
            "contact": {"has_email": contact.email.is_some() && contact.email_verified,
                        "has_phone": contact.phone.is_some() && contact.phone_verified,
                        "phone_verified": contact.phone.is_some() && contact.phone_verified},
        });
        Ok(JourneyFacts {
            id: person.to_owned(),
            attributes,
            consent_analytics: consent.analytics,
            consent_marketing: consent.marketing,
            suppressed: contact.suppressed,
        })
    }

    /// Unredeemed, unexpired coupon codes, newest first.
    pub fn usable_coupons(&self, person: &str) -> StoreResult<Vec<String>> {
        Ok(self
            .sql
            .query(
                "SELECT code FROM coupons WHERE person_id = ? AND redeemed = 0
                   AND (expires_at IS NULL OR expires_at > ?) ORDER BY issued_at DESC, code LIMIT 20",
                params![person, self.now],
            )?
            .iter()
            .filter_map(|r| r["code"].as_str().map(str::to_owned))
            .collect())
    }

    /// What a journey's send carries about the person: the cart, the viewed
    /// products and the newest usable coupon.
    pub fn send_properties(&self, person: &str) -> StoreResult<Value> {
        let rows = self.sql.query(
            "SELECT cart, viewed FROM person_state WHERE person = ?",
            params![person],
        )?;
        let row = rows.first().cloned().unwrap_or_default();
        let list = |key: &str| parse_list(row.get(key).and_then(Value::as_str).map(str::to_owned));
        let cart = list("cart");
        let value = cart_value(&cart);
        let coupon = self
            .sql
            .query(
                "SELECT code, expires_at FROM coupons WHERE person_id = ? AND redeemed = 0
                   AND (expires_at IS NULL OR expires_at > ?) ORDER BY issued_at DESC, code LIMIT 1",
                params![person, self.now],
            )?
            .first()
            .map(|c| {
                json!({"code": c["code"], "expires_at": c.get("expires_at").and_then(Value::as_i64)
                    .map(nudge_core::time::to_iso8601)})
            });
        Ok(json!({
            "cart": {"products": cart, "value": (value * 100.0).round() / 100.0},
            "viewed_products": list("viewed"),
            "coupon": coupon,
        }))
    }
}

/// `"MM-DD"` of an ISO date (`1990-04-17`, or a full timestamp).
pub fn month_day(text: &str) -> Option<String> {
    let date = text.get(..10)?;
    let bytes = date.as_bytes();
    let digits = |r: std::ops::Range<usize>| bytes[r].iter().all(u8::is_ascii_digit);
    if !(digits(0..4) && bytes[4] == b'-' && digits(5..7) && bytes[7] == b'-' && digits(8..10)) {
        return None;
    }
    let (month, day): (u32, u32) = (date[5..7].parse().ok()?, date[8..10].parse().ok()?);
    ((1..=12).contains(&month) && (1..=31).contains(&day)).then(|| date[5..].to_owned())
}

/// What the journey engine reads of a person ([`Db::journey_facts`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JourneyFacts {
    pub id: String,
    /// What audience and branch conditions read (`Person::attributes`).
    pub attributes: Value,
    pub consent_analytics: Option<bool>,
    pub consent_marketing: Option<bool>,
    pub suppressed: bool,
}

impl JourneyFacts {
    pub fn person(&self) -> Person {
        let mut attributes = Attributes::new();
        if let Ok(nudge_core::Value::Object(map)) = serde_json::from_value(self.attributes.clone())
        {
            for (key, value) in map.iter() {
                attributes.insert(key, value.clone());
            }
        }
        Person {
            id: self.id.clone(),
            attributes,
            consent: Consent {
                analytics: self.consent_analytics,
                marketing: self.consent_marketing,
            },
            suppressed: self.suppressed,
            // Decided for the run's own journey (`fire_run`).
            codes_elsewhere: Vec::new(),
        }
    }
}
