//! The demo shop's journey templates (demo-shop/campaigns.json), enabled in
//! memory and played on a virtual clock over simulated months. Persons carry
//! the attributes the edge gives audience and branch conditions.

use nudge_core::journey::sim::Simulation;
use nudge_core::journey::{self, Effect, ExitReason, Journeys, Person, SuppressReason};
use nudge_core::profile::Consent;
use nudge_core::time::{parse_iso8601, to_iso8601, Millis, DAY, MINUTE};
use nudge_core::{Attributes, Config, Map, Value};

const HOUR: Millis = 60 * MINUTE;

fn demo() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../demo-shop/campaigns.json");
    let text = std::fs::read_to_string(path).expect("demo-shop/campaigns.json");
    serde_json::from_str(&text).expect("the demo config is JSON")
}

/// The demo config with every journey enabled.
fn enabled() -> Value {
    let mut config = demo();
    let Value::Object(root) = &mut config else {
        panic!("the demo config is an object");
    };
    let Some(Value::Array(journeys)) = root.get_mut("journeys") else {
        panic!("the demo config has journeys");
    };
    for journey in journeys {
        let Value::Object(journey) = journey else {
            panic!("a journey is an object");
        };
        journey.insert("enabled", true);
    }
    config
}

fn read(config: &Value) -> Journeys {
    let (journeys, problems) = Journeys::from_config(config);
    assert!(problems.is_empty(), "{problems:?}");
    journeys
}

/// Monday 2 March 2026, 10:00 UTC.
fn t0() -> Millis {
    at("2026-03-02T10:00:00Z")
}

fn at(iso: &str) -> Millis {
    parse_iso8601(iso).unwrap()
}

/// What the edge knows of a person.
#[derive(Clone)]
struct Shopper {
    id: &'static str,
    orders: u32,
    cart_items: u32,
    marketing: Option<bool>,
    phone_verified: bool,
}

fn shopper(id: &'static str) -> Shopper {
    Shopper {
        id,
        orders: 1,
        cart_items: 0,
        marketing: Some(true),
        phone_verified: false,
    }
}

fn object(entries: &[(&str, Value)]) -> Value {
    let mut map = Map::new();
    for (key, value) in entries {
        map.insert(*key, value.clone());
    }
    Value::Object(map)
}

impl Shopper {
    /// The attributes the edge evaluates audiences and branches against.
    fn attributes(&self) -> Attributes {
        let mut a = Attributes::new();
        a.insert("id", self.id);
        a.insert("user_id", format!("user-{}", self.id));
        a.insert("is_customer", self.orders > 0);
        a.insert(
            "orders",
            object(&[
                ("count", self.orders.into()),
                ("total_spent", (f64::from(self.orders) * 42.5).into()),
                (
                    "days_since_last",
                    if self.orders > 0 {
                        12u32.into()
                    } else {
                        Value::Null
                    },
                ),
            ]),
        );
        a.insert(
            "cart",
            object(&[
                ("items", self.cart_items.into()),
                ("value", (f64::from(self.cart_items) * 19.0).into()),
            ]),
        );
        a.insert("tags", Vec::<Value>::new());
        a.insert("segments", Vec::<Value>::new());
        a.insert(
            "coupons",
            object(&[("available", 0u32.into()), ("latest", Value::Null)]),
        );
        a.insert(
            "consent",
            object(&[
                ("analytics", true.into()),
                ("marketing", self.marketing.into()),
            ]),
        );
        a.insert(
            "contact",
            object(&[
                ("has_email", true.into()),
                ("has_phone", self.phone_verified.into()),
                ("phone_verified", self.phone_verified.into()),
            ]),
        );
        a
    }

    fn person(&self) -> Person {
        Person {
            id: self.id.to_owned(),
            attributes: self.attributes(),
            consent: Consent {
                analytics: Some(true),
                marketing: self.marketing,
            },
            suppressed: false,
            codes_elsewhere: Vec::new(),
        }
    }
}

fn sim(shoppers: &[Shopper]) -> Simulation {
    let mut sim = Simulation::new(read(&enabled()), t0());
    for s in shoppers {
        sim.person(s.person());
    }
    sim
}

/// A derived entry (category views, inactivity, a date trait), as the edge
/// makes it: `Journeys::enter`, then the run's first step at once.
fn enter(sim: &mut Simulation, journey: &str, person: &str, now: Millis) {
    sim.advance_to(now);
    let who = sim
        .persons
        .iter()
        .find(|(p, _)| p.id == person)
        .map(|(p, _)| p.clone())
        .expect("a known person");
    let runs: Vec<_> = sim
        .runs
        .iter()
        .filter(|r| r.id.person == person)
        .cloned()
        .collect();
    for effect in sim.journeys.enter(journey, &who, &runs, sim.now) {
        if let Effect::Enter(run) = &effect {
            sim.runs.push(run.clone());
        }
        sim.log.push((sim.now, effect));
    }
    sim.advance_to(sim.now);
}

/// (hours after t0, person, destination, event, idempotency key) of a journey's sends.
fn sends(sim: &Simulation, journey: &str) -> Vec<(Millis, String, String, String, String)> {
    sim.log
        .iter()
        .filter_map(|(t, e)| match e {
            Effect::Send {
                run,
                destination,
                event,
                idempotency_key,
                ..
            } if run.journey == journey => Some((
                (t - t0()) / HOUR,
                run.person.clone(),
                destination.clone(),
                event.clone(),
                idempotency_key.clone(),
            )),
            _ => None,
        })
        .collect()
}

fn send(
    hours: Millis,
    person: &str,
    destination: &str,
    event: &str,
    key: &str,
) -> (Millis, String, String, String, String) {
    (
        hours,
        person.to_owned(),
        destination.to_owned(),
        event.to_owned(),
        key.to_owned(),
    )
}

/// (hours after t0, person, reason) of a journey's exits.
fn exits(sim: &Simulation, journey: &str) -> Vec<(Millis, String, ExitReason)> {
    sim.log
        .iter()
        .filter_map(|(t, e)| match e {
            Effect::Exit { run, reason } if run.journey == journey => {
                Some(((t - t0()) / HOUR, run.person.clone(), *reason))
            }
            _ => None,
        })
        .collect()
}

/// (hours after t0, person, tag, stage, coupon pool) of a journey's facts.
type Fact = (
    Millis,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn facts(sim: &Simulation, journey: &str) -> Vec<Fact> {
    sim.log
        .iter()
        .filter_map(|(t, e)| match e {
            Effect::SetFact {
                person,
                journey: j,
                tag,
                stage,
                coupon_pool,
            } if j == journey => Some((
                (t - t0()) / HOUR,
                person.clone(),
                tag.clone(),
                stage.clone(),
                coupon_pool.clone(),
            )),
            _ => None,
        })
        .collect()
}

fn some(s: &str) -> Option<String> {
    Some(s.to_owned())
}

#[test]
fn the_demo_templates_validate_and_ship_disabled() {
    let config = demo();
    assert_eq!(journey::validate(&config), []);
    assert_eq!(Config::validate(&config), []);
    assert_eq!(journey::validate(&enabled()), []);
    let journeys = read(&config);
    let ids: Vec<&str> = journeys.journeys.iter().map(|j| j.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "cart-abandonment",
            "browse-abandonment",
            "post-purchase",
            "double-opt-in",
            "win-back",
            "birthday"
        ]
    );
    assert!(journeys
        .journeys
        .iter()
        .all(|j| !j.enabled && !j.name.is_empty()));
    assert_eq!(journeys.caps.per_day, Some(2));
    assert_eq!(journeys.caps.per_week, Some(5));
    let quiet = journeys.quiet_hours.expect("quiet hours");
    assert_eq!((quiet.start.minute, quiet.end.minute), (21 * 60, 8 * 60));
    assert_eq!(
        journeys.journey("cart-abandonment").unwrap().goals,
        [
            "Order Completed".to_owned(),
            journey::converted_goal("cart-rescue")
        ]
    );
    // The campaign a conversion cancels the email for is in the same config.
    let campaigns = Config::from_value(&config).0;
    assert!(campaigns.campaigns.iter().any(|c| c.id == "cart-rescue"));

    // As shipped, nobody enters.
    let mut sim = Simulation::new(journeys, t0());
    sim.person(shopper("p1").person());
    for event in ["Product Added", "Order Completed", "Signed Up"] {
        sim.event("p1", event, t0());
    }
    for id in ["browse-abandonment", "win-back", "birthday"] {
        enter(&mut sim, id, "p1", t0());
    }
    sim.advance_to(t0() + 90 * DAY);
    assert!(sim.runs.is_empty() && sim.log.is_empty(), "{:?}", sim.log);
}

#[test]
fn cart_abandonment_emails_after_four_hours_and_reminds_a_day_later() {
    let mut sim = sim(&[shopper("p1")]);
    sim.event("p1", "Product Added", t0());
    sim.advance_to(t0() + 4 * HOUR - 1);
    assert_eq!(sends(&sim, "cart-abandonment"), []);
    sim.advance_to(t0() + 90 * DAY);
    assert_eq!(
        sends(&sim, "cart-abandonment"),
        [
            send(
                4,
                "p1",
                "email",
                "Cart Abandoned",
                "p1/cart-abandonment/1/2"
            ),
            send(
                28,
                "p1",
                "email",
                "Cart Reminder",
                "p1/cart-abandonment/1/4"
            ),
        ]
    );
    assert_eq!(
        facts(&sim, "cart-abandonment"),
        [(4, "p1".to_owned(), None, some("reminded"), some("cart10"))]
    );
    assert_eq!(
        exits(&sim, "cart-abandonment"),
        [(28, "p1".to_owned(), ExitReason::Completed)]
    );
}

#[test]
fn an_order_within_four_hours_sends_no_cart_email() {
    let mut sim = sim(&[shopper("p1")]);
    sim.event("p1", "Product Added", t0());
    sim.event("p1", "Order Completed", t0() + 3 * HOUR);
    sim.advance_to(t0() + 90 * DAY);
    assert_eq!(sends(&sim, "cart-abandonment"), []);
    assert_eq!(facts(&sim, "cart-abandonment"), []);
    assert_eq!(
        exits(&sim, "cart-abandonment"),
        [(3, "p1".to_owned(), ExitReason::Goal)]
    );
    // The order starts the post-purchase journey instead.
    assert_eq!(
        sends(&sim, "post-purchase"),
        [
            send(
                75,
                "p1",
                "email",
                "Related Products",
                "p1/post-purchase/1/4"
            ),
            send(
                75 + 27 * 24,
                "p1",
                "email",
                "Review Requested",
                "p1/post-purchase/1/6"
            ),
        ]
    );
}

#[test]
fn converting_on_the_cart_popup_cancels_the_emails() {
    let mut sim = sim(&[shopper("early"), shopper("late")]);
    sim.event("early", "Product Added", t0());
    sim.event("late", "Product Added", t0());
    let converted = journey::converted_goal("cart-rescue");
    assert_eq!(converted, "Campaign Converted/cart-rescue");
    sim.event("early", &converted, t0() + HOUR);
    sim.event("late", &converted, t0() + 5 * HOUR);
    sim.advance_to(t0() + 90 * DAY);
    assert_eq!(
        sends(&sim, "cart-abandonment"),
        [send(
            4,
            "late",
            "email",
            "Cart Abandoned",
            "late/cart-abandonment/1/2"
        )]
    );
    assert_eq!(
        exits(&sim, "cart-abandonment"),
        [
            (1, "early".to_owned(), ExitReason::Goal),
            (5, "late".to_owned(), ExitReason::Goal)
        ]
    );
}

#[test]
fn browse_abandonment_is_entered_by_the_edge_for_empty_carts() {
    let mut full = shopper("full");
    full.cart_items = 2;
    let mut sim = sim(&[shopper("p1"), full, shopper("adder")]);
    enter(&mut sim, "browse-abandonment", "p1", t0());
    enter(&mut sim, "browse-abandonment", "full", t0());
    enter(&mut sim, "browse-abandonment", "adder", t0());
    // Adding to the cart is the goal (and starts the cart journey instead).
    sim.event("adder", "Product Added", t0() + 30 * MINUTE);
    // Within the 7-day cooldown: no second run; after it: one.
    enter(&mut sim, "browse-abandonment", "p1", t0() + 2 * DAY);
    enter(&mut sim, "browse-abandonment", "p1", t0() + 8 * DAY);
    sim.advance_to(t0() + 90 * DAY);
    assert_eq!(
        sends(&sim, "browse-abandonment"),
        [
            send(
                1,
                "p1",
                "email",
                "Browse Abandoned",
                "p1/browse-abandonment/1/1"
            ),
            send(
                8 * 24 + 1,
                "p1",
                "email",
                "Browse Abandoned",
                "p1/browse-abandonment/2/1"
            ),
        ]
    );
    assert_eq!(
        exits(&sim, "browse-abandonment"),
        [
            (0, "adder".to_owned(), ExitReason::Goal),
            (1, "p1".to_owned(), ExitReason::Completed),
            (8 * 24 + 1, "p1".to_owned(), ExitReason::Completed)
        ]
    );
    assert!(sim.runs.iter().all(|r| r.id.person != "full"));
}

#[test]
fn post_purchase_texts_only_verified_phones() {
    let mut verified = shopper("verified");
    verified.phone_verified = true;
    let mut sim = sim(&[shopper("email-only"), verified]);
    sim.event("email-only", "Order Completed", t0());
    sim.event("verified", "Order Completed", t0());
    sim.advance_to(t0() + 120 * DAY);
    // Keys count the flattened program: wait 0, branch 1, SMS 2, jump 3,
    // email 4, wait 5, review 6.
    assert_eq!(
        sends(&sim, "post-purchase"),
        [
            send(
                72,
                "email-only",
                "email",
                "Related Products",
                "email-only/post-purchase/1/4"
            ),
            send(
                72,
                "verified",
                "sms",
                "Related Products",
                "verified/post-purchase/1/2"
            ),
            send(
                720,
                "email-only",
                "email",
                "Review Requested",
                "email-only/post-purchase/1/6"
            ),
            send(
                720,
                "verified",
                "email",
                "Review Requested",
                "verified/post-purchase/1/6"
            ),
        ]
    );
}

#[test]
fn double_opt_in_reminds_until_confirmed() {
    // Not subscribed yet, so no marketing consent: the reminders are
    // transactional, sent regardless and outside the caps and quiet hours.
    let mut pending = shopper("pending");
    pending.marketing = None;
    let mut confirms = pending.clone();
    confirms.id = "confirms";
    let mut night = pending.clone();
    night.id = "night";
    let mut sim = sim(&[pending, confirms, night]);
    sim.event("pending", "Signed Up", t0());
    sim.event("confirms", "Signed Up", t0());
    sim.event("night", "Signed Up", at("2026-03-02T22:30:00Z"));
    sim.event("confirms", "Subscription Confirmed", t0() + 3 * DAY);
    sim.advance_to(t0() + 90 * DAY);
    let event = "Confirm Subscription Reminder";
    assert_eq!(
        sends(&sim, "double-opt-in"),
        [
            send(48, "pending", "email", event, "pending/double-opt-in/1/1"),
            send(48, "confirms", "email", event, "confirms/double-opt-in/1/1"),
            send(48 + 12, "night", "email", event, "night/double-opt-in/1/1"),
            send(168, "pending", "email", event, "pending/double-opt-in/1/3"),
            send(168 + 12, "night", "email", event, "night/double-opt-in/1/3"),
        ]
    );
    assert_eq!(
        to_iso8601(sim.sends().iter().find(|s| s.1 == "night").unwrap().0),
        "2026-03-04T22:30:00.000Z",
        "a transactional send waits out no quiet hours"
    );
    assert_eq!(
        exits(&sim, "double-opt-in"),
        [
            (72, "confirms".to_owned(), ExitReason::Goal),
            (168, "pending".to_owned(), ExitReason::End),
            (180, "night".to_owned(), ExitReason::End)
        ]
    );
}

#[test]
fn win_back_invites_reminds_and_sunsets() {
    let mut sim = sim(&[shopper("lapsed"), shopper("returns")]);
    enter(&mut sim, "win-back", "lapsed", t0());
    enter(&mut sim, "win-back", "returns", t0());
    sim.event("returns", "Order Completed", t0() + 20 * DAY);
    sim.advance_to(t0() + 180 * DAY);
    assert_eq!(
        sends(&sim, "win-back"),
        [
            send(0, "lapsed", "email", "Win Back", "lapsed/win-back/1/1"),
            send(0, "returns", "email", "Win Back", "returns/win-back/1/1"),
            send(
                360,
                "lapsed",
                "email",
                "Win Back Reminder",
                "lapsed/win-back/1/3"
            ),
            send(
                360,
                "returns",
                "email",
                "Win Back Reminder",
                "returns/win-back/1/3"
            ),
        ]
    );
    assert_eq!(
        facts(&sim, "win-back"),
        [
            (
                0,
                "lapsed".to_owned(),
                None,
                some("invited"),
                some("winback15")
            ),
            (
                0,
                "returns".to_owned(),
                None,
                some("invited"),
                some("winback15")
            ),
            (720, "lapsed".to_owned(), some("sunset"), None, None),
        ]
    );
    assert_eq!(
        exits(&sim, "win-back"),
        [
            (480, "returns".to_owned(), ExitReason::Goal),
            (720, "lapsed".to_owned(), ExitReason::End)
        ]
    );
    assert!(sim.runs.iter().all(|r| !r.is_active()));
}

#[test]
fn birthday_sends_at_nine_on_the_day() {
    let mut sim = sim(&[shopper("p1"), shopper("late")]);
    // The daily sweep finds p1's birthday just after midnight.
    let day = at("2026-03-03T00:05:00Z");
    enter(&mut sim, "birthday", "p1", day);
    // A second sweep the same day (at-least-once) enters no one again.
    enter(&mut sim, "birthday", "p1", day + 12 * HOUR);
    // Entered after 09:00: the next 09:00 is the next morning.
    enter(&mut sim, "birthday", "late", day + 10 * HOUR);
    // A year later: the cooldown (300 days) is over.
    enter(&mut sim, "birthday", "p1", at("2027-03-03T00:05:00Z"));
    sim.advance_to(at("2027-06-01T00:00:00Z"));
    let sent: Vec<(String, &str, &str)> = sim
        .sends()
        .iter()
        .map(|s| (to_iso8601(s.0), s.1, s.3))
        .collect();
    assert_eq!(
        sent,
        [
            (
                "2026-03-03T09:00:00.000Z".to_owned(),
                "p1",
                "p1/birthday/1/2"
            ),
            (
                "2026-03-04T09:00:00.000Z".to_owned(),
                "late",
                "late/birthday/1/2"
            ),
            (
                "2027-03-03T09:00:00.000Z".to_owned(),
                "p1",
                "p1/birthday/2/2"
            ),
        ]
    );
    assert_eq!(
        facts(&sim, "birthday")
            .iter()
            .map(|f| (f.1.as_str(), f.4.as_deref()))
            .collect::<Vec<_>>(),
        [
            ("p1", Some("birthday")),
            ("late", Some("birthday")),
            ("p1", Some("birthday"))
        ]
    );
}

#[test]
fn the_templates_share_the_caps_and_skip_a_capped_send() {
    let mut sim = sim(&[shopper("p1")]);
    // Win-back at 10:00 and browse abandonment at 11:00 use the day's two.
    enter(&mut sim, "win-back", "p1", t0());
    enter(&mut sim, "browse-abandonment", "p1", t0());
    sim.event("p1", "Product Added", t0() + 2 * HOUR);
    sim.advance_to(t0() + 10 * DAY);
    // The cart email at 16:00 is skipped and counted; its run goes on to the
    // reminder the next day.
    assert_eq!(
        sends(&sim, "cart-abandonment"),
        [send(
            30,
            "p1",
            "email",
            "Cart Reminder",
            "p1/cart-abandonment/1/4"
        )]
    );
    let capped: Vec<(Millis, &str)> = sim
        .log
        .iter()
        .filter_map(|(t, e)| match e {
            Effect::Suppressed {
                run,
                reason: SuppressReason::Cap,
                ..
            } => Some(((t - t0()) / HOUR, run.journey.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(capped, [(6, "cart-abandonment")]);
    assert_eq!(sends(&sim, "win-back").len(), 1);
    assert_eq!(sends(&sim, "browse-abandonment").len(), 1);
}

#[test]
fn marketing_templates_need_consent() {
    let mut no = shopper("no");
    no.marketing = Some(false);
    let mut sim = sim(&[no]);
    sim.event("no", "Product Added", t0());
    enter(&mut sim, "win-back", "no", t0());
    sim.advance_to(t0() + 60 * DAY);
    assert_eq!(sim.sends(), []);
    let skipped = sim
        .log
        .iter()
        .filter(|(_, e)| {
            matches!(
                e,
                Effect::Suppressed {
                    reason: SuppressReason::Consent,
                    ..
                }
            )
        })
        .count();
    assert_eq!(skipped, 4, "two cart emails and two win-back emails");
    // The runs went on: the coupon and the sunset tag were still set.
    assert_eq!(
        facts(&sim, "win-back").last().map(|f| f.2.clone()),
        Some(some("sunset"))
    );
}
