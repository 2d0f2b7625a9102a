//! Journeys on the store's SQL: runs and timers, the outbox, facts for the
//! agent, derived entries, merges, and the guarantees under repeated alarms.

use nudge_core::journey::Journeys;
use serde_json::{json, Value};

use super::super::journeys::outbox::{plan, Pending};
use super::super::sql::params;
use super::*;

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

const CONFIG: &str = r#"{
  "campaigns": [],
  "messaging_caps": {"per_day": 2},
  "journeys": [
    {"id": "cart", "entry": {"event": "Product Added"},
     "exit": {"goal": "Order Completed", "converted_campaigns": ["cart-rescue"]},
     "steps": [{"wait": {"hours": 4}}, {"set": {"coupon_pool": "cart10", "stage": "reminded"}},
               {"send": {"destination": "email", "event": "Cart Abandoned"}}]},
    {"id": "browse", "entry": {"category_views": {"min": 3, "within_hours": 24}},
     "steps": [{"send": {"destination": "email", "event": "Browse Abandoned"}}]},
    {"id": "winback", "entry": {"inactive_days": 90},
     "steps": [{"send": {"destination": "email", "event": "Win Back"}}, {"set": {"tag": "sunset"}}]},
    {"id": "birthday", "entry": {"date_trait": "birthday"},
     "steps": [{"send": {"destination": "email", "event": "Happy Birthday"}}]},
    {"id": "welcome", "entry": {"event": "Signed Up"},
     "steps": [{"send": {"destination": "email", "event": "Welcome"}},
               {"send": {"destination": "email", "event": "Welcome 2"}},
               {"send": {"destination": "email", "event": "Welcome 3"}}]}
  ]
}"#;

fn journeys() -> Journeys {
    let config: nudge_core::Value = serde_json::from_str(CONFIG).unwrap();
    let (journeys, problems) = Journeys::from_config(&config);
    assert!(problems.is_empty(), "{problems:?}");
    journeys
}

/// An event from a browser that agreed to marketing.
fn consented(id: &str, anon: &str, name: &str, props: Value) -> Value {
    let mut e = event(id, anon, name, props);
    e["context"] = json!({"consent": {"marketing": true, "analytics": true}});
    e
}

/// Sends a batch as the agent does, through the store's dispatch with `j`.
fn send(db: &Db<'_>, j: &Journeys, events: Vec<Value>) {
    dispatch(db, Command::Append(agent_batch(events)), j).unwrap();
}

/// (journey, event name) of every send in the outbox, oldest first.
fn outbox(db: &Db<'_>) -> Vec<(String, String)> {
    db.sql
        .query(
            "SELECT journey, event FROM journey_sends ORDER BY at, key",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| {
            let e: Value = serde_json::from_str(r["event"].as_str().unwrap()).unwrap();
            (
                r["journey"].as_str().unwrap().into(),
                e["event"].as_str().unwrap().into(),
            )
        })
        .collect()
}

fn person(db: &Db<'_>, anon: &str) -> String {
    db.person_of("anon", anon).unwrap().unwrap()
}

#[test]
fn a_cart_journey_waits_then_sends_once_with_the_cart_and_a_pool_coupon() {
    let sql = store();
    let j = journeys();
    db(&sql, T0)
        .add_pool_codes("cart10", &["SAVE-A".into(), "SAVE-B".into()])
        .unwrap();
    let at = |t: i64| db(&sql, T0 + t);
    // Signed in: pool codes go only to persons someone vouches for.
    identify_user(&at(0), "a1", "u1").unwrap();
    send(
        &at(0),
        &j,
        vec![consented(
            "e1",
            "a1",
            "Product Added",
            json!({"product_id": "coat", "name": "Wool coat", "price": 120.0, "category": "coats"}),
        )],
    );
    assert_eq!(
        at(0).next_timer().unwrap(),
        Some(T0),
        "a new run is due at once"
    );
    assert_eq!(at(0).fire_due_runs(&j, 100).unwrap(), 1);
    assert_eq!(at(0).next_timer().unwrap(), Some(T0 + 4 * HOUR));
    // Early, twice: nothing.
    assert_eq!(at(4 * HOUR - 1).fire_due_runs(&j, 100).unwrap(), 0);
    assert_eq!(outbox(&at(0)), []);
    assert_eq!(at(4 * HOUR).fire_due_runs(&j, 100).unwrap(), 1);
    // The alarm firing again at the same or a later time finds nothing due.
    assert_eq!(at(4 * HOUR).fire_due_runs(&j, 100).unwrap(), 0);
    assert_eq!(at(5 * HOUR).fire_due_runs(&j, 100).unwrap(), 0);
    assert_eq!(outbox(&at(0)), [("cart".into(), "Cart Abandoned".into())]);

    let pending = at(5 * HOUR).unqueued_sends(10).unwrap();
    let p = person(&at(0), "a1");
    assert_eq!(pending[0].key, format!("{p}/cart/1/2"));
    let props = &pending[0].event["properties"];
    assert_eq!(props["cart"]["products"][0]["product_id"], "coat");
    assert_eq!(props["cart"]["value"], 120.0);
    assert_eq!(
        props["coupon"]["code"], "SAVE-A",
        "the code the set step took"
    );
    assert_eq!(pending[0].event["messageId"], pending[0].key);
    assert_eq!(pending[0].event["anonymousId"], "a1");

    // The agent sees the coupon and the stage on the next page.
    let profile = as_json(&at(5 * HOUR).profile("a1").unwrap());
    assert_eq!(profile["coupons"][0]["code"], "SAVE-A");
    assert!(profile["segments"]
        .as_array()
        .unwrap()
        .contains(&json!("cart:reminded")));
    assert_eq!(
        as_json(&at(0).pool_counts("cart10").unwrap())["available"],
        1
    );

    // Queued once: marked, and not offered again.
    let destinations = json!({"destinations": [{"id": "email", "kind": "webhook"}]});
    let destinations = serde_json::from_value(destinations).unwrap();
    let planned = plan("demo", 0, pending, Some(&destinations));
    assert_eq!(planned.queue.len(), 1);
    let message: Value = serde_json::from_str(&planned.queue[0].1).unwrap();
    assert_eq!(message["person"], p.as_str());
    assert_eq!(message["destination"]["id"], "email");
    at(5 * HOUR)
        .mark_queued(&[planned.queue[0].0.clone()])
        .unwrap();
    assert_eq!(at(5 * HOUR).unqueued_sends(10).unwrap(), []);
    let stats = as_json(&at(5 * HOUR).journey_list(&j).unwrap());
    let cart = stats["journeys"][0]["stats"].clone();
    assert_eq!(
        (cart["entered"].as_i64(), cart["sent"].as_i64()),
        (Some(1), Some(1))
    );
    assert_eq!(cart["exited_completed"], 1);
}

#[test]
fn an_order_or_a_converted_popup_before_the_wait_ends_the_run_and_sends_nothing() {
    let sql = store();
    let j = journeys();
    let at = |t: i64| db(&sql, T0 + t);
    send(
        &at(0),
        &j,
        vec![consented(
            "e1",
            "a1",
            "Product Added",
            json!({"product_id": "x"}),
        )],
    );
    send(
        &at(0),
        &j,
        vec![consented(
            "e2",
            "a2",
            "Product Added",
            json!({"product_id": "x"}),
        )],
    );
    at(0).fire_due_runs(&j, 100).unwrap();
    send(
        &at(HOUR),
        &j,
        vec![consented(
            "e3",
            "a1",
            "Order Completed",
            json!({"total": 5}),
        )],
    );
    send(
        &at(HOUR),
        &j,
        vec![consented(
            "e4",
            "a2",
            "Campaign Converted",
            json!({"campaign_id": "cart-rescue"}),
        )],
    );
    assert_eq!(at(HOUR).next_timer().unwrap(), None, "both timers are gone");
    at(30 * DAY).fire_due_runs(&j, 100).unwrap();
    assert_eq!(outbox(&at(0)), []);
    let stats = as_json(&at(0).journey_list(&j).unwrap());
    assert_eq!(stats["journeys"][0]["stats"]["exited_goal"], 2);
}

#[test]
fn marketing_needs_consent_and_caps_hold_across_journeys() {
    let sql = store();
    let j = journeys();
    let at = |t: i64| db(&sql, T0 + t);
    // No consent given: skipped and counted, the run goes on.
    send(&at(0), &j, vec![event("e1", "a1", "Signed Up", json!({}))]);
    at(0).fire_due_runs(&j, 100).unwrap();
    assert_eq!(outbox(&at(0)), []);
    assert_eq!(
        as_json(&at(0).journey_list(&j).unwrap())["journeys"][4]["stats"]["suppressed_consent"],
        3
    );
    // Consent: three sends wanted on one day, the cap (2 a day) holds.
    send(
        &at(0),
        &j,
        vec![consented("e2", "a2", "Signed Up", json!({}))],
    );
    at(0).fire_due_runs(&j, 100).unwrap();
    assert_eq!(outbox(&at(0)).len(), 2);
    assert_eq!(
        as_json(&at(0).journey_list(&j).unwrap())["journeys"][4]["stats"]["suppressed_cap"],
        1
    );
}

#[test]
fn three_views_of_a_category_within_a_day_enter_browse_abandonment() {
    let sql = store();
    let j = journeys();
    let at = |t: i64| db(&sql, T0 + t);
    let view = |id: &str, category: &str| {
        consented(
            id,
            "a1",
            "Product Viewed",
            json!({"product_id": id, "category": category}),
        )
    };
    send(
        &at(0),
        &j,
        vec![view("v1", "coats"), view("v2", "coats"), view("v3", "hats")],
    );
    assert_eq!(at(0).next_timer().unwrap(), None);
    send(&at(HOUR), &j, vec![view("v4", "coats")]);
    at(HOUR).fire_due_runs(&j, 100).unwrap();
    assert_eq!(
        outbox(&at(0)),
        [("browse".into(), "Browse Abandoned".into())]
    );
}

#[test]
fn the_daily_sweep_enters_the_inactive_and_birthdays_once() {
    let sql = store();
    let j = journeys();
    let at = |t: i64| db(&sql, T0 + t);
    send(
        &at(0),
        &j,
        vec![consented("e1", "a1", "Page Viewed", json!({}))],
    );
    let mut identify = consented("e2", "a2", "", json!({}));
    identify["type"] = json!("identify");
    identify["traits"] = json!({"birthday": "1990-".to_owned() + &nudge_core::time::to_iso8601(T0 + 100 * DAY)[5..10]});
    send(&at(0), &j, vec![identify]);
    // 90 days later a1 (seen on day 0) is inactive; a2 was seen too, and is.
    for day in 1..=100 {
        let now = at(day * DAY);
        while now.sweep_step(&j).unwrap() {}
        now.fire_due_runs(&j, 100).unwrap();
        // The sweep runs once a day.
        assert!(!now.sweep_step(&j).unwrap());
    }
    let sends = outbox(&at(0));
    assert_eq!(sends.iter().filter(|(j, _)| j == "winback").count(), 2);
    assert_eq!(sends.iter().filter(|(j, _)| j == "birthday").count(), 1);
    // The sunset tag reaches the agent as a segment.
    assert!(as_json(&at(0).profile("a1").unwrap())["segments"]
        .as_array()
        .unwrap()
        .contains(&json!("sunset")));
}

#[test]
fn a_merge_moves_runs_and_ends_the_duplicate() {
    let sql = store();
    let j = journeys();
    let at = |t: i64| db(&sql, T0 + t);
    send(
        &at(0),
        &j,
        vec![consented(
            "e1",
            "phone",
            "Product Added",
            json!({"product_id": "x"}),
        )],
    );
    send(
        &at(0),
        &j,
        vec![consented(
            "e2",
            "desk",
            "Product Added",
            json!({"product_id": "y"}),
        )],
    );
    at(0).fire_due_runs(&j, 100).unwrap();
    identify_user(&at(HOUR), "desk", "u1").unwrap();
    identify_user(&at(HOUR), "phone", "u1").unwrap();
    let survivor = person(&at(0), "desk");
    assert_eq!(person(&at(0), "phone"), survivor);
    let runs = as_json(&at(HOUR).person_journeys(&survivor).unwrap());
    let exits: Vec<&Value> = runs["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["exit"])
        .collect();
    assert_eq!(exits.iter().filter(|e| e.is_null()).count(), 1, "{runs}");
    assert_eq!(
        exits.iter().filter(|e| **e == "merged").count(),
        1,
        "{runs}"
    );
    at(5 * HOUR).fire_due_runs(&j, 100).unwrap();
    assert_eq!(outbox(&at(0)).len(), 1, "one cart email for one person");
}

#[test]
fn undeliverable_sends_are_filed_not_lost() {
    let pending = vec![Pending {
        key: "p/j/1/0".into(),
        person: "p".into(),
        destination: "sms".into(),
        event: json!({"event": "Hi"}),
    }];
    let planned = plan("demo", 0, pending, Some(&Default::default()));
    assert!(planned.queue.is_empty());
    assert!(planned.undeliverable[0].1.contains("\"sms\""));
}

#[test]
fn a_dry_run_shows_what_would_be_sent_when_and_stores_nothing() {
    let sql = store();
    let j = journeys();
    let answer = as_json(
        &db(&sql, T0)
            .dry_run(&j, "cart", false, None, &[], 2)
            .unwrap(),
    );
    let sends: Vec<&Value> = answer["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "send")
        .collect();
    assert_eq!(sends.len(), 1);
    assert_eq!(sends[0]["after_seconds"], 4 * 3600);
    let waits: Vec<&Value> = answer["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "wait")
        .map(|e| &e["until"])
        .collect();
    assert_eq!(
        waits.last().unwrap().as_str(),
        Some(nudge_core::time::to_iso8601(T0 + 4 * HOUR).as_str())
    );
    assert_eq!(db(&sql, T0).next_timer().unwrap(), None);
    // An order after an hour: nothing sent.
    let answer = as_json(
        &db(&sql, T0)
            .dry_run(
                &j,
                "cart",
                false,
                None,
                &[
                    (0, "Product Added".into()),
                    (3600, "Order Completed".into()),
                ],
                2,
            )
            .unwrap(),
    );
    assert!(!answer["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["kind"] == "send"));
}

/// The studio's "try it" plays a journey's draft before it is published,
/// for a person found by the email address they were seen with.
#[test]
fn a_dry_run_plays_the_studio_draft_and_finds_people_by_email() {
    use crate::store::protocol::{Item, SaveDraft, StoreError};
    let sql = store();
    let j = journeys();
    let at = db(&sql, T0);
    let save = |body: Value| {
        let id = body["id"].as_str().unwrap().to_owned();
        super::studio(
            &at,
            None,
            "Ed",
            SaveDraft {
                item: Item::Journey(id),
                expected: None,
                body,
            },
        )
        .unwrap()
    };
    // The draft sends at once where the live journey waits 4 hours.
    save(json!({"id": "cart", "entry": {"event": "Product Added"},
                "steps": [{"send": {"destination": "email", "event": "Now"}}]}));
    let timeline = |answer: Value| answer["timeline"].as_array().unwrap().clone();
    let sends: Vec<Value> = timeline(as_json(
        &at.dry_run(&j, "cart", true, None, &[], 2).unwrap(),
    ))
    .into_iter()
    .filter(|e| e["kind"] == "send")
    .collect();
    assert_eq!(sends.len(), 1);
    assert_eq!(sends[0]["after_seconds"], 0);
    let live: Vec<Value> = timeline(as_json(
        &at.dry_run(&j, "cart", false, None, &[], 2).unwrap(),
    ))
    .into_iter()
    .filter(|e| e["kind"] == "send")
    .collect();
    assert_eq!(live[0]["after_seconds"], 4 * 3600);
    // A draft with a problem says where, and plays nothing.
    save(json!({"id": "broken", "entry": {"event": "Product Added"},
                "steps": [{"wait": {"hours": 0}}]}));
    match at.dry_run(&j, "broken", true, None, &[], 2) {
        Err(StoreError::InvalidConfig { problems, .. }) => {
            assert_eq!(problems[0]["path"], "steps[0].wait.hours", "{problems:?}")
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        at.dry_run(&j, "nothing", true, None, &[], 2),
        Err(StoreError::NotFound(_))
    ));
    // A person by the email address they were seen with (stored hashed).
    at.sql
        .execute(
            "INSERT INTO persons (id, created_at) VALUES ('p-mail', 0)",
            &[],
        )
        .unwrap();
    let hash = crate::tokens::email_hash("ada@example.com").unwrap();
    at.add_identifier("p-mail", "email", &hash, true).unwrap();
    assert_eq!(
        at.find_person("Ada@Example.com").unwrap().as_deref(),
        Some("p-mail")
    );
    assert_eq!(at.find_person("bob@example.com").unwrap(), None);
    assert!(at
        .dry_run(&j, "cart", true, Some("ada@example.com"), &[], 2)
        .is_ok());
    // Pool codes as the real step would hand them out: not to a stranger,
    // not from an empty pool, and to a verified person from a stocked one.
    let coupon = |person: Option<&str>| {
        let answer = as_json(&at.dry_run(&j, "cart", false, person, &[], 2).unwrap());
        timeline(answer)
            .into_iter()
            .find(|e| e["kind"] == "set")
            .map(|e| e["coupon"].clone())
            .unwrap()
    };
    assert_eq!(coupon(None), "unverified");
    assert_eq!(coupon(Some("ada@example.com")), "pool_empty");
    at.add_pool_codes("cart10", &["C-1".into()]).unwrap();
    assert_eq!(coupon(Some("ada@example.com")), "given");
}

#[test]
fn a_browser_cannot_grow_what_journeys_keep_about_it() {
    let sql = store();
    let j = journeys();
    let at = db(&sql, T0);
    let mut identify = consented("e1", "a1", "", json!({}));
    identify["type"] = json!("identify");
    let traits: serde_json::Map<String, Value> = (0..30)
        .map(|i| (format!("date{i}"), json!("1990-04-17")))
        .collect();
    identify["traits"] = Value::Object(traits);
    send(&at, &j, vec![identify]);
    let kept = at
        .sql
        .int("SELECT count(*) FROM person_dates", &[])
        .unwrap();
    assert_eq!(kept, Some(10));
    // Viewed products and cart lines are bounded too.
    let views: Vec<Value> = (0..60)
        .map(|i| {
            consented(
                &format!("v{i}"),
                "a1",
                "Product Added",
                json!({"product_id": format!("p{i}"), "price": 1.0}),
            )
        })
        .collect();
    send(&at, &j, views);
    let props = at.send_properties(&person(&at, "a1")).unwrap();
    assert_eq!(props["cart"]["products"].as_array().unwrap().len(), 50);
}

/// The delivery check of a journey's send, as the forwarding consumer asks it.
fn journey_delivery(db: &Db<'_>, person: &str, key: &str, purpose: &str) -> DeliveryVerdict {
    db.delivery(&DeliveryCheck {
        destination: "email".into(),
        event_id: key.into(),
        anonymous_id: None,
        person: Some(person.into()),
        purpose: Some(purpose.into()),
        claim: None,
    })
    .unwrap()
}

#[test]
fn journeys_reach_only_verified_addresses_and_check_consent_again_as_they_leave() {
    let sql = store();
    let j = journeys();
    let at = db(&sql, T0);
    // A visitor types a stranger's address into a popup: a claim, not theirs.
    let mut typed = consented("e1", "a1", "", json!({}));
    typed["type"] = json!("identify");
    typed["traits"] = json!({"email": "stranger@example.com"});
    send(&at, &j, vec![typed]);
    let p = person(&at, "a1");
    match journey_delivery(&at, &p, "k1", "marketing") {
        DeliveryVerdict::Send { contact } => {
            assert_eq!(contact.email, None, "never to a typed address")
        }
        other => panic!("{other:?}"),
    }
    // A transactional email (confirm your subscription) may go there, twice a day at most.
    let emails: Vec<Option<String>> = (2..5)
        .map(
            |i| match journey_delivery(&at, &p, &format!("k{i}"), "transactional") {
                DeliveryVerdict::Send { contact } => contact.email,
                other => panic!("{other:?}"),
            },
        )
        .collect();
    assert_eq!(
        emails,
        [
            Some("stranger@example.com".into()),
            Some("stranger@example.com".into()),
            None
        ]
    );
    // Consent withdrawn after the step ran: the marketing send is skipped.
    let mut no = consented("e2", "a1", "Page Viewed", json!({}));
    no["context"]["consent"]["marketing"] = json!(false);
    send(&at, &j, vec![no]);
    assert!(matches!(
        journey_delivery(&at, &p, "k9", "marketing"),
        DeliveryVerdict::Skip { .. }
    ));
}

#[test]
fn only_the_key_proven_browser_feeds_journeys() {
    let sql = store();
    let j = journeys();
    let at = db(&sql, T0);
    // One request naming made-up browsers beside its own: only its own enters.
    send(
        &at,
        &j,
        vec![
            consented(
                "e1",
                "invented-1",
                "Product Added",
                json!({"product_id": "x"}),
            ),
            consented(
                "e2",
                "invented-2",
                "Product Added",
                json!({"product_id": "x"}),
            ),
            consented("e3", "real", "Product Added", json!({"product_id": "x"})),
        ],
    );
    let runs = at
        .sql
        .int("SELECT count(*) FROM journey_runs", &[])
        .unwrap();
    assert_eq!(runs, Some(1));
}

#[test]
fn a_person_holds_one_unused_code_per_pool() {
    let sql = store();
    let at = db(&sql, T0);
    at.add_pool_codes("cart10", &["A".into(), "B".into(), "C".into()])
        .unwrap();
    at.sql
        .execute(
            "INSERT INTO persons (id, user_id, created_at) VALUES ('p1', 'u1', 0)",
            &[],
        )
        .unwrap();
    for _ in 0..3 {
        at.set_facts("p1", "cart", None, None, Some("cart10"))
            .unwrap();
    }
    assert_eq!(as_json(&at.pool_counts("cart10").unwrap())["taken"], 1);
    // Once redeemed, the next run may hand out another.
    at.sql
        .execute(
            "UPDATE coupons SET redeemed = 1 WHERE person_id = 'p1'",
            &[],
        )
        .unwrap();
    at.set_facts("p1", "cart", None, None, Some("cart10"))
        .unwrap();
    assert_eq!(as_json(&at.pool_counts("cart10").unwrap())["taken"], 2);
}

#[test]
fn a_merge_keeps_a_refusal_and_leaves_nothing_behind_for_the_sweeps() {
    let sql = store();
    let j = journeys();
    let at = |t: i64| db(&sql, T0 + t);
    send(
        &at(0),
        &j,
        vec![consented("e1", "desk", "Page Viewed", json!({}))],
    );
    let mut refused = consented("e2", "phone", "Page Viewed", json!({}));
    refused["context"]["consent"]["marketing"] = json!(false);
    send(&at(HOUR), &j, vec![refused]);
    let phone_person = person(&at(0), "phone");
    identify_user(&at(2 * HOUR), "desk", "u1").unwrap();
    identify_user(&at(2 * HOUR), "phone", "u1").unwrap();
    let survivor = person(&at(0), "desk");
    assert_ne!(survivor, phone_person);
    let who = at(2 * HOUR).journey_person(&survivor).unwrap();
    assert_eq!(
        who.consent.marketing,
        Some(false),
        "a no on either device stands"
    );
    let left = at(0)
        .sql
        .int(
            "SELECT count(*) FROM person_state WHERE person = ?",
            crate::store::sql::params![phone_person.as_str()],
        )
        .unwrap();
    assert_eq!(left, Some(0));
}

/// Every way a browser can be invented: a fresh anonymous id with its own key
/// (proven on its first request), an address typed into a popup. None of it
/// takes a pool code; a signed-in user and a verified address do.
#[test]
fn a_thousand_invented_browsers_take_no_pool_code() {
    let sql = store();
    let j = journeys();
    let at = |t: i64| db(&sql, T0 + t);
    let codes: Vec<String> = (0..50).map(|i| format!("CODE-{i}")).collect();
    at(0).add_pool_codes("cart10", &codes).unwrap();
    for i in 0..1000 {
        let anon = format!("invented-{i}");
        let mut events = Vec::new();
        if i % 2 == 0 {
            // A typed address is a claim, never a verified contact.
            let mut typed = event(&format!("t{i}"), &anon, "", json!({}));
            typed["type"] = json!("identify");
            typed["traits"] = json!({"email": format!("{anon}@example.com")});
            events.push(typed);
        }
        events.push(consented(
            &format!("e{i}"),
            &anon,
            "Product Added",
            json!({"product_id": "x"}),
        ));
        send(&at(0), &j, events);
    }
    // Each run's first step is due at once, its set step 4 hours later.
    let drain = |t: i64| while at(t).fire_due_runs(&j, 500).unwrap() > 0 {};
    drain(0);
    drain(4 * HOUR);
    assert_eq!(
        as_json(&at(5 * HOUR).pool_counts("cart10").unwrap()),
        json!({"pool": "cart10", "available": 50, "taken": 0})
    );
    let coupons = at(0).sql.int("SELECT count(*) FROM coupons", &[]).unwrap();
    assert_eq!(coupons, Some(0));
    let stats = as_json(&at(5 * HOUR).journey_list(&j).unwrap());
    let cart = stats["journeys"][0]["stats"].clone();
    assert_eq!(cart["entered"], 1000, "they still enter the journey");
    assert_eq!(cart["coupon_unverified"], 1000);
    assert_eq!(cart.get("coupon_pool_empty"), None);

    // A signed-in user gets one; so does an address a signed link verified.
    identify_user(&at(6 * HOUR), "real", "u1").unwrap();
    identify_as(
        &at(6 * HOUR),
        "clicked",
        Proven::EmailHash(crate::tokens::email_hash("c@example.com").unwrap()),
        "h-clicked",
        Some("n1"),
    )
    .unwrap();
    for (id, anon) in [("r1", "real"), ("r2", "clicked")] {
        send(
            &at(6 * HOUR),
            &j,
            vec![consented(
                id,
                anon,
                "Product Added",
                json!({"product_id": "x"}),
            )],
        );
    }
    drain(6 * HOUR);
    drain(10 * HOUR);
    assert_eq!(
        as_json(&at(11 * HOUR).pool_counts("cart10").unwrap())["taken"],
        2
    );
}

/// Cart abandonment as "wait for an order, else send": the order moves the
/// stored run onto the `then` path; no order sends at the window's end.
const WAIT_FOR: &str = r#"{
  "campaigns": [],
  "journeys": [
    {"id": "cart", "entry": {"event": "Product Added"},
     "steps": [{"wait_for": {"event": "Order Completed", "within": {"hours": 4},
                             "then": [{"set": {"tag": "bought"}}],
                             "else": [{"send": {"destination": "email", "event": "Cart Abandoned"}}]}}]}
  ]
}"#;

/// a1 and a2 add to cart at T0 (their runs start, and wait), and a1
/// orders an hour later.
fn two_carts_and_an_order(sql: &TestSql, j: &Journeys) {
    let at = |t: i64| db(sql, T0 + t);
    for (id, anon) in [("e1", "a1"), ("e2", "a2")] {
        let added = consented(id, anon, "Product Added", json!({"product_id": "x"}));
        send(&at(0), j, vec![added]);
    }
    at(0).fire_due_runs(j, 100).unwrap();
    let order = consented("e3", "a1", "Order Completed", json!({"total": 5}));
    send(&at(HOUR), j, vec![order]);
}

#[test]
fn a_stored_run_waiting_for_an_order_takes_the_path_the_order_decides() {
    let config: nudge_core::Value = serde_json::from_str(WAIT_FOR).unwrap();
    let (j, problems) = Journeys::from_config(&config);
    assert!(problems.is_empty(), "{problems:?}");
    let sql = store();
    let at = |t: i64| db(&sql, T0 + t);
    two_carts_and_an_order(&sql, &j);
    // a1 ordered within the window: its run moved on at once, and its
    // timer is now, not the window's end.
    assert_eq!(at(HOUR).next_timer().unwrap(), Some(T0 + HOUR));
    at(HOUR).fire_due_runs(&j, 100).unwrap();
    assert_eq!(outbox(&at(0)), [], "no reminder for a buyer");
    // a2 never orders: the reminder goes at the window's end, once.
    at(30 * DAY).fire_due_runs(&j, 100).unwrap();
    at(31 * DAY).fire_due_runs(&j, 100).unwrap();
    assert_eq!(outbox(&at(0)), [("cart".into(), "Cart Abandoned".into())]);
    let stats = as_json(&at(0).journey_list(&j).unwrap());
    let stats = stats["journeys"][0]["stats"].clone();
    assert_eq!(stats["awaited_event_came"], 1, "{stats}");
    assert_eq!(stats["exited_completed"], 2, "{stats}");
    let tagged = |anon: &str| {
        let rows = at(0)
            .sql
            .query(
                "SELECT tag FROM person_tags WHERE person = ?",
                params![person(&at(0), anon)],
            )
            .unwrap();
        rows.iter().any(|r| r["tag"] == "bought")
    };
    assert!(tagged("a1") && !tagged("a2"));
}

#[test]
fn the_step_report_counts_each_step_and_starts_afresh_when_the_shape_changes() {
    let read = |text: &str| {
        let config: nudge_core::Value = serde_json::from_str(text).unwrap();
        Journeys::from_config(&config).0
    };
    let j = read(WAIT_FOR);
    let sql = store();
    let at = |t: i64| db(&sql, T0 + t);
    two_carts_and_an_order(&sql, &j);
    at(HOUR).fire_due_runs(&j, 100).unwrap();
    at(DAY).fire_due_runs(&j, 100).unwrap();
    // A third shopper, still waiting.
    let added = consented("e4", "a3", "Product Added", json!({"product_id": "x"}));
    send(&at(DAY), &j, vec![added]);
    at(DAY).fire_due_runs(&j, 100).unwrap();

    let report = |j: &Journeys| {
        as_json(&at(DAY).journey_list(j).unwrap())["journeys"][0]["step_report"].clone()
    };
    let rows = report(&j);
    let row = |path: &str| {
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["path"] == path)
            .cloned()
            .unwrap_or_else(|| panic!("no {path} in {rows}"))
    };
    let wait = row("steps[0]");
    assert_eq!(
        (wait["kind"].as_str(), wait["reached"].as_i64()),
        (Some("wait_for"), Some(3)),
        "{rows}"
    );
    assert_eq!(wait["waiting"], 1, "{rows}");
    assert_eq!(row("steps[0].wait_for.then[0]")["reached"], 1, "{rows}");
    let reminder = row("steps[0].wait_for.else[0]");
    assert_eq!(
        (reminder["reached"].as_i64(), reminder["sent"].as_i64()),
        (Some(1), Some(1)),
        "{rows}"
    );

    // An edit that adds a path is another shape: its steps count afresh.
    let edited =
        read(&WAIT_FOR.replace(r#""else": ["#, r#""else": [{"set": {"tag": "reminded"}}, "#));
    assert_ne!(edited.journeys[0].shape, j.journeys[0].shape);
    let fresh = report(&edited);
    assert!(
        fresh
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r.get("reached").is_none() && r["waiting"] == 0),
        "{fresh}"
    );
}

/// A 50% holdout: held-out runs are sent nothing; orders within the window
/// after entry count for both groups with their revenue, and the list shows
/// the two groups side by side.
#[test]
fn a_holdout_sends_nothing_and_the_list_compares_the_groups() {
    let config = json!({"campaigns": [], "journeys": [{"id": "cart", "entry": {"event": "Product Added"},
        "holdout": {"percent": 50},
        "steps": [{"wait": {"hours": 1}}, {"send": {"destination": "email", "event": "Cart Abandoned"}}]}]});
    let (j, problems) = Journeys::from_config(&serde_json::from_value(config).unwrap());
    assert!(problems.is_empty(), "{problems:?}");
    let sql = store();
    let at = |t: i64| db(&sql, T0 + t);
    let anons: Vec<String> = (0..60).map(|i| format!("h{i}")).collect();
    for (i, anon) in anons.iter().enumerate() {
        send(
            &at(0),
            &j,
            vec![consented(
                &format!("e{i}"),
                anon,
                "Product Added",
                json!({}),
            )],
        );
    }
    at(0).fire_due_runs(&j, 1000).unwrap();
    at(HOUR).fire_due_runs(&j, 1000).unwrap();
    let held: Vec<bool> = anons
        .iter()
        .map(|anon| {
            let p = person(&at(0), anon);
            at(0)
                .sql
                .int(
                    "SELECT held_out FROM journey_runs WHERE person = ?",
                    crate::store::sql::params![p.as_str()],
                )
                .unwrap()
                == Some(1)
        })
        .collect();
    let held_count = held.iter().filter(|h| **h).count();
    assert!((15..=45).contains(&held_count), "{held_count} of 60");
    assert_eq!(
        outbox(&at(0)).len(),
        60 - held_count,
        "held-out runs are sent nothing"
    );
    // The first two of each group order (40 each); an order 8 days later counts for nobody.
    let mut ordered = (0, 0);
    for (i, anon) in anons.iter().enumerate() {
        let slot = if held[i] {
            &mut ordered.1
        } else {
            &mut ordered.0
        };
        if *slot < 2 {
            *slot += 1;
            send(
                &at(2 * HOUR),
                &j,
                vec![consented(
                    &format!("o{i}"),
                    anon,
                    "Order Completed",
                    json!({"total": 40.0}),
                )],
            );
        } else if *slot == 2 {
            *slot += 1;
            send(
                &at(8 * DAY),
                &j,
                vec![consented(
                    &format!("late{i}"),
                    anon,
                    "Order Completed",
                    json!({"total": 99.0}),
                )],
            );
        }
    }
    let list = as_json(&at(3 * HOUR).journey_list(&j).unwrap());
    let holdout = list["journeys"][0]["holdout"].clone();
    assert_eq!(holdout["percent"], 50);
    let arm = |key: &str| {
        holdout["arms"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["key"] == key)
            .unwrap()
            .clone()
    };
    assert_eq!(arm("sent")["runs"], 60 - held_count as i64);
    assert_eq!(arm("held_out")["runs"], held_count as i64);
    for key in ["sent", "held_out"] {
        assert_eq!(arm(key)["conversions"], 2, "{key}");
        assert_eq!(arm(key)["revenue"], 80.0, "{key}");
    }
    // A second order (a forged one, say) by someone who already ordered
    // adds nothing: a run counts its first order.
    let repeat = (0..anons.len()).find(|&i| !held[i]).unwrap();
    send(
        &at(3 * HOUR),
        &j,
        vec![consented(
            "again",
            &anons[repeat],
            "Order Completed",
            json!({"total": 9_000_000.0}),
        )],
    );
    let again = as_json(&at(3 * HOUR).journey_list(&j).unwrap());
    assert_eq!(again["journeys"][0]["holdout"]["arms"], holdout["arms"]);
    assert_eq!(
        list["journeys"][0]["stats"]["suppressed_holdout"],
        held_count as i64
    );
    // Per step: the sent group's two orders count for the send that came before them.
    let send_step = list["journeys"][0]["step_report"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["path"] == "steps[1]")
        .unwrap()
        .clone();
    assert_eq!(send_step["conversions"], 2, "{send_step}");
    assert_eq!(send_step["revenue_cents"], 8000);
}

/// The studio's payload preview: one send step's message as it would leave,
/// for a sample person or a real one's cart, marked as a test, with its
/// own key; nothing is stored or counted.
#[test]
fn a_sample_send_is_the_steps_message_marked_as_a_test_and_stores_nothing() {
    use crate::store::protocol::StoreError;
    let sql = store();
    let j = journeys();
    let at = db(&sql, T0);
    let sample = as_json(&at.sample_send(&j, "cart", false, "steps[2]", None).unwrap());
    assert_eq!(sample["destination"], "email");
    assert_eq!(sample["purpose"], "marketing");
    let event = sample["event"].clone();
    assert_eq!(event["event"], "Cart Abandoned");
    assert_eq!(event["properties"]["coupon"]["code"], "SAMPLE-CODE");
    assert_eq!(event["properties"]["journey"], "cart");
    assert_eq!(event["properties"]["step"], 2);
    assert_eq!(event["properties"]["test"], true);
    assert_eq!(event["context"]["test"], true);
    assert!(event["messageId"].as_str().unwrap().starts_with("test/"));
    // A real person's cart.
    send(
        &at,
        &j,
        vec![consented(
            "e1",
            "a1",
            "Product Added",
            json!({"product_id": "coat", "price": 120.0}),
        )],
    );
    let theirs = as_json(
        &at.sample_send(&j, "cart", false, "steps[2]", Some("a1"))
            .unwrap(),
    );
    assert_eq!(
        theirs["event"]["properties"]["cart"]["products"][0]["product_id"],
        "coat"
    );
    // Addressed to nobody real, and who they are is not echoed.
    assert_ne!(theirs["event"]["anonymousId"], "a1");
    assert!(theirs["event"]["userId"].is_null());
    assert!(theirs.get("person").is_none());
    // Not a send step, nobody known, no such journey: said plainly.
    for (journey, path, person) in [
        ("cart", "steps[0]", None),
        ("cart", "steps[2]", Some("nobody")),
        ("nope", "steps[0]", None),
    ] {
        assert!(matches!(
            at.sample_send(&j, journey, false, path, person),
            Err(StoreError::NotFound(_))
        ));
    }
    let stats = as_json(&at.journey_list(&j).unwrap());
    assert!(stats["journeys"][0]["stats"].get("sent").is_none());
    assert_eq!(outbox(&at), []);
}
