//! Journeys on a virtual clock: months of simulated time in milliseconds,
//! through `journey::sim::Simulation`, the in-memory twin of the edge's store.

use nudge_core::journey::sim::Simulation;
use nudge_core::journey::{self, Effect, ExitReason, Journeys, Person, SuppressReason};
use nudge_core::profile::Consent;
use nudge_core::time::{parse_iso8601, Millis, DAY, MINUTE};
use nudge_core::{Attributes, Config, Value};

const HOUR: Millis = 60 * MINUTE;

/// Ready-to-enable templates (cart abandonment, browse abandonment,
/// post-purchase) with site-wide caps and quiet hours.
const TEMPLATES: &str = r#"{
  "campaigns": [],
  "messaging_caps": {"per_day": 2, "per_week": 5},
  "quiet_hours": {"start": "21:00", "end": "08:00"},
  "journeys": [
    {"id": "cart-abandonment", "name": "Cart abandonment",
     "entry": {"event": "Product Added"},
     "steps": [
       {"wait": {"hours": 4}},
       {"send": {"destination": "email-tool", "event": "Cart Abandoned", "purpose": "marketing"}},
       {"set": {"stage": "cart-reminded", "coupon_pool": "cart10"}}
     ],
     "exit": {"goal": "Order Completed"},
     "cooldown": {"days": 1}},
    {"id": "browse-abandonment", "name": "Browse abandonment",
     "entry": {"category_views": {"min": 3, "within_hours": 24}},
     "steps": [
       {"wait": {"hours": 2}},
       {"send": {"destination": "email-tool", "event": "Browse Abandoned"}}
     ],
     "exit": {"goal": "Product Added"},
     "cooldown": {"days": 7}},
    {"id": "post-purchase", "name": "Post-purchase",
     "entry": {"event": "Order Completed"},
     "steps": [
       {"wait": {"days": 3}},
       {"branch": {"if": {"phone_verified": true},
                   "then": [{"send": {"destination": "sms-tool", "event": "Related Products"}}],
                   "else": [{"send": {"destination": "email-tool", "event": "Related Products"}}]}},
       {"wait": {"days": 27}},
       {"send": {"destination": "email-tool", "event": "Review Requested"}}
     ]}
  ]
}"#;

fn value(json: &str) -> Value {
    serde_json::from_str(json).unwrap()
}

fn read(json: &str) -> Journeys {
    let (journeys, problems) = Journeys::from_config(&value(json));
    assert!(problems.is_empty(), "{problems:?}");
    journeys
}

/// Monday 2 March 2026, 10:00 UTC.
fn t0() -> Millis {
    parse_iso8601("2026-03-02T10:00:00Z").unwrap()
}

fn shopper(id: &str) -> Person {
    Person {
        id: id.to_owned(),
        consent: Consent {
            analytics: Some(true),
            marketing: Some(true),
        },
        ..Person::default()
    }
}

fn sim(json: &str, persons: &[&str]) -> Simulation {
    let mut sim = Simulation::new(read(json), t0());
    for id in persons {
        sim.person(shopper(id));
    }
    sim
}

/// (hours after t0, event) of every send.
fn sends(sim: &Simulation) -> Vec<(Millis, String)> {
    sim.sends()
        .iter()
        .map(|(t, _, e, _)| ((t - t0()) / HOUR, (*e).to_owned()))
        .collect()
}

fn count(sim: &Simulation, pred: impl Fn(&Effect) -> bool) -> usize {
    sim.log.iter().filter(|(_, e)| pred(e)).count()
}

#[test]
fn templates_are_valid_and_the_agent_config_skips_them() {
    assert_eq!(journey::validate(&value(TEMPLATES)), []);
    assert_eq!(Config::validate(&value(TEMPLATES)), []);
    assert_eq!(read(TEMPLATES).journeys.len(), 3);
}

#[test]
fn cart_abandonment_sends_once_after_the_wait() {
    let mut sim = sim(TEMPLATES, &["p1"]);
    sim.event("p1", "Product Added", t0());
    sim.advance_to(t0() + 4 * HOUR - 1);
    assert_eq!(sends(&sim), []);
    sim.advance_to(t0() + 90 * DAY);
    assert_eq!(sends(&sim), [(4, "Cart Abandoned".to_owned())]);
    assert_eq!(sim.sends()[0].3, "p1/cart-abandonment/1/1");
    assert_eq!(
        count(
            &sim,
            |e| matches!(e, Effect::SetFact { coupon_pool: Some(p), .. } if p == "cart10")
        ),
        1
    );
    assert_eq!(sim.runs[0].exit, Some(ExitReason::Completed));
}

#[test]
fn an_order_before_the_wait_exits_and_sends_nothing() {
    let mut sim = sim(TEMPLATES, &["p1"]);
    sim.event("p1", "Product Added", t0());
    sim.event("p1", "Order Completed", t0() + HOUR);
    sim.advance_to(t0() + 2 * DAY);
    assert_eq!(sends(&sim), []);
    assert_eq!(sim.runs[0].exit, Some(ExitReason::Goal));
    assert_eq!(count(&sim, |e| matches!(e, Effect::CancelTimer { .. })), 1);
    // The order entered the post-purchase journey instead.
    sim.advance_to(t0() + 60 * DAY);
    assert_eq!(
        sends(&sim),
        [
            (1 + 72, "Related Products".to_owned()),
            (1 + 72 + 27 * 24, "Review Requested".to_owned())
        ]
    );
}

#[test]
fn post_purchase_texts_only_a_verified_number() {
    let mut sim = sim(TEMPLATES, &["p1"]);
    let mut verified = shopper("p2");
    let mut attributes = Attributes::new();
    attributes.insert("phone_verified", true);
    verified.attributes = attributes;
    sim.person(verified);
    sim.event("p1", "Order Completed", t0());
    sim.event("p2", "Order Completed", t0());
    sim.advance_to(t0() + 4 * DAY);
    let destinations: Vec<(String, String)> = sim
        .log
        .iter()
        .filter_map(|(_, e)| match e {
            Effect::Send {
                run, destination, ..
            } => Some((run.person.clone(), destination.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        destinations,
        [
            ("p1".to_owned(), "email-tool".to_owned()),
            ("p2".to_owned(), "sms-tool".to_owned())
        ]
    );
}

const WIN_BACK: &str = r#"{"journeys": [
  {"id": "win-back", "entry": {"event": "Went Inactive"},
   "steps": [
     {"send": {"destination": "email-tool", "event": "Win Back"}},
     {"wait": {"days": 15}},
     {"send": {"destination": "email-tool", "event": "Win Back Reminder"}},
     {"wait": {"days": 15}},
     {"set": {"tag": "sunset"}},
     {"end": true},
     {"send": {"destination": "email-tool", "event": "Never Sent"}}
   ],
   "exit": {"goal": "Order Completed"}}
]}"#;

#[test]
fn win_back_reminds_then_sunsets() {
    let mut sim = sim(WIN_BACK, &["p1", "p2"]);
    sim.event("p1", "Went Inactive", t0());
    sim.event("p2", "Went Inactive", t0());
    // p2 comes back after the first email: no reminder, no sunset.
    sim.event("p2", "Order Completed", t0() + 3 * DAY);
    sim.advance_to(t0() + 365 * DAY);
    let p1: Vec<(Millis, &str)> = sim
        .sends()
        .iter()
        .filter(|s| s.1 == "p1")
        .map(|s| ((s.0 - t0()) / DAY, s.2))
        .collect();
    assert_eq!(p1, [(0, "Win Back"), (15, "Win Back Reminder")]);
    assert_eq!(sim.sends().iter().filter(|s| s.1 == "p2").count(), 1);
    assert_eq!(
        count(
            &sim,
            |e| matches!(e, Effect::SetFact { person, tag: Some(t), .. } if person == "p1" && t == "sunset")
        ),
        1
    );
    assert_eq!(
        count(
            &sim,
            |e| matches!(e, Effect::SetFact { person, .. } if person == "p2")
        ),
        0
    );
    assert_eq!(sim.runs[0].exit, Some(ExitReason::End));
    assert_eq!(sim.runs[1].exit, Some(ExitReason::Goal));
}

#[test]
fn caps_hold_across_journeys() {
    let json = r#"{"messaging_caps": {"per_day": 2, "per_week": 3}, "journeys": [
      {"id": "a", "entry": {"event": "Signed Up"}, "steps": [{"send": {"destination": "email-tool", "event": "A"}}]},
      {"id": "b", "entry": {"event": "Signed Up"}, "steps": [{"send": {"destination": "sms-tool", "event": "B"}}]},
      {"id": "c", "entry": {"event": "Signed Up"}, "steps": [
        {"send": {"destination": "webhook", "event": "C"}},
        {"send": {"destination": "email-tool", "event": "Receipt", "purpose": "transactional"}},
        {"wait": {"days": 1}},
        {"send": {"destination": "email-tool", "event": "C2"}},
        {"wait": {"hours": 1}},
        {"send": {"destination": "email-tool", "event": "C3"}}
      ]}
    ]}"#;
    let mut sim = sim(json, &["p1"]);
    sim.event("p1", "Signed Up", t0());
    sim.advance_to(t0() + 30 * DAY);
    // Two marketing messages the first day; the transactional one is not
    // counted; the next day the weekly cap (3) leaves room for one.
    assert_eq!(
        sends(&sim),
        [
            (0, "A".to_owned()),
            (0, "B".to_owned()),
            (0, "Receipt".to_owned()),
            (24, "C2".to_owned())
        ]
    );
    assert_eq!(
        count(&sim, |e| matches!(
            e,
            Effect::Suppressed {
                reason: SuppressReason::Cap,
                ..
            }
        )),
        2
    );
}

#[test]
fn marketing_needs_consent_and_no_suppression() {
    let json = r#"{"journeys": [{"id": "a", "entry": {"event": "Signed Up"}, "steps": [
      {"send": {"destination": "email-tool", "event": "Offer"}},
      {"send": {"destination": "email-tool", "event": "Welcome", "purpose": "transactional"}}]}]}"#;
    let mut sim = sim(json, &[]);
    sim.person(Person {
        id: "undecided".to_owned(),
        ..Person::default()
    });
    sim.person(Person {
        suppressed: true,
        ..shopper("suppressed")
    });
    sim.event("undecided", "Signed Up", t0());
    sim.event("suppressed", "Signed Up", t0());
    let events: Vec<&str> = sim.sends().iter().map(|s| s.2).collect();
    assert_eq!(events, ["Welcome", "Welcome"]);
    assert_eq!(
        count(&sim, |e| matches!(
            e,
            Effect::Suppressed {
                reason: SuppressReason::Consent,
                ..
            }
        )),
        2
    );
}

#[test]
fn cooldown_blocks_reentry() {
    let mut sim = sim(TEMPLATES, &["p1"]);
    sim.event("p1", "Product Added", t0());
    // An active run: a second add does not start another.
    sim.event("p1", "Product Added", t0() + HOUR);
    sim.event("p1", "Order Completed", t0() + 2 * HOUR);
    // Within a day of the first entry: blocked.
    sim.event("p1", "Product Added", t0() + 3 * HOUR);
    assert_eq!(
        sim.runs
            .iter()
            .filter(|r| r.id.journey == "cart-abandonment")
            .count(),
        1
    );
    sim.event("p1", "Product Added", t0() + 25 * HOUR);
    sim.advance_to(t0() + 2 * DAY);
    let cart: Vec<_> = sim
        .sends()
        .into_iter()
        .filter(|s| s.2 == "Cart Abandoned")
        .collect();
    assert_eq!(
        cart,
        [(
            t0() + 29 * HOUR,
            "p1",
            "Cart Abandoned",
            "p1/cart-abandonment/2/1"
        )]
    );
}

#[test]
fn quiet_hours_delay_a_send_to_the_morning() {
    let mut sim = sim(TEMPLATES, &["p1"]);
    // Added at 19:00: due at 23:00, inside 21:00-08:00.
    sim.event("p1", "Product Added", t0() + 9 * HOUR);
    sim.advance_to(t0() + 3 * DAY);
    let at = sim.sends()[0].0;
    assert_eq!(nudge_core::time::to_iso8601(at), "2026-03-03T08:00:00.000Z");
    assert_eq!(count(&sim, |e| matches!(e, Effect::Delayed { .. })), 1);
    // The delayed send keeps its step, hence its idempotency key.
    assert_eq!(sim.sends()[0].3, "p1/cart-abandonment/1/1");
}

#[test]
fn quiet_hours_follow_the_site_time_zone() {
    let json = r#"{"quiet_hours": {"start": "21:00", "end": "08:00", "time_zone_offset_minutes": 60},
      "journeys": [{"id": "a", "entry": {"event": "Signed Up"},
        "steps": [{"wait_until": {"time": "07:30", "time_zone_offset_minutes": 60}},
                  {"send": {"destination": "email-tool", "event": "Morning"}}]}]}"#;
    let mut sim = sim(json, &["p1"]);
    sim.event("p1", "Signed Up", t0());
    sim.advance_to(t0() + 2 * DAY);
    // 07:30 local is quiet; the send goes at 08:00 local, 07:00 UTC.
    assert_eq!(
        nudge_core::time::to_iso8601(sim.sends()[0].0),
        "2026-03-03T07:00:00.000Z"
    );
}

#[test]
fn a_timer_firing_twice_yields_the_same_keys() {
    let journeys = read(TEMPLATES);
    let person = shopper("p1");
    let effects = journeys.on_event(&person, &[], "Product Added", &Attributes::new(), t0());
    let Some(Effect::Enter(run)) = effects
        .iter()
        .find(|e| matches!(e, Effect::Enter(_)))
        .cloned()
    else {
        panic!("no entry: {effects:?}");
    };
    let mut caps = Default::default();
    let (_, waiting) = journeys.on_due(&run, &person, &mut caps, t0());
    let due = waiting.next_due.unwrap();
    // Early: nothing happens.
    assert_eq!(journeys.on_due(&waiting, &person, &mut caps, due - 1).0, []);
    let first = journeys.on_due(&waiting, &person, &mut Default::default(), due);
    let again = journeys.on_due(&waiting, &person, &mut Default::default(), due);
    assert_eq!(first, again);
    assert!(first.0.iter().any(|e| matches!(e, Effect::Send { idempotency_key, .. } if idempotency_key == "p1/cart-abandonment/1/1")));
    // Once ended, a late duplicate alarm does nothing.
    assert_eq!(
        journeys.on_due(&first.1, &person, &mut caps, due + DAY).0,
        []
    );
}

#[test]
fn an_audience_limits_entry() {
    let json = r#"{"journeys": [{"id": "vip", "entry": {"event": "Signed Up"},
      "audience": {"plan": "vip"}, "steps": [{"send": {"destination": "email-tool", "event": "Hi"}}]}]}"#;
    let mut sim = sim(json, &["p1"]);
    let mut vip = shopper("p2");
    let mut attributes = Attributes::new();
    attributes.insert("plan", "vip");
    vip.attributes = attributes;
    sim.person(vip);
    sim.event("p1", "Signed Up", t0());
    sim.event("p2", "Signed Up", t0());
    let who: Vec<&str> = sim.sends().iter().map(|s| s.1).collect();
    assert_eq!(who, ["p2"]);
}

/// Validates the journey parts of `config` and compares the problems, one per line.
fn check(config: &str, expected: &[&str]) {
    let problems: Vec<String> = journey::validate(&value(config))
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(problems, expected, "\nfor {config}");
}

#[test]
fn problems_are_reported_at_their_paths() {
    check(
        r#"{"journeys": [{"id": "a", "entry": {"event": "Product Added"}, "steps": [
            {"send": {"destination": "email-tool", "event": "X"}},
            {"set": {"tag": "t"}},
            {"wait": {"hours": 10000}}]}]}"#,
        &[
            "journeys[0].steps[2].wait.hours: must be 1..=9600, got 10000",
            "journeys[0]: journey skipped because of the problems above",
        ],
    );
    check(
        r#"{"journeys": [{"id": "a", "entry": {"event": "Order Completed"}, "exit": {"goal": "Order Completed"},
            "steps": [{"wait": {"weeks": 1}}, {"send": {"destination": "x", "event": "y", "purpose": "spam"}},
                      {"wait": {"days": 1, "hours": 2}}, {"jump": 3}, {"end": false},
                      {"branch": {"then": []}}, {"wait_until": {"time": "9:00"}}],
            "cooldown": {"days": 401}, "colour": "red"},
           {"id": "a", "steps": [], "audience": {"x": {"$bogus": 1}}},
           {"id": "b c", "entry": {"inactive_days": 0, "event": "x"}, "steps": []}],
          "messaging_caps": {"per_day": -1},
          "quiet_hours": {"start": "21:00", "end": "25:00"}}"#,
        &[
            "journeys[0].colour: unknown field (known: id, name, enabled, entry, audience, steps, exit, cooldown, holdout); written for a newer Nudge version?",
            "journeys[0].steps[0].wait.weeks: unknown unit (known: seconds, minutes, hours, days); written for a newer Nudge version?",
            "journeys[0].steps[1].send.purpose: must be marketing or transactional; got \"spam\"",
            "journeys[0].steps[2].wait: must name exactly one unit (seconds, minutes, hours, days), got 2",
            "journeys[0].steps[3].jump: unknown step (known: wait, wait_until, wait_for, branch, send, set, end); written for a newer Nudge version?",
            "journeys[0].steps[4].end: must be true, got false",
            "journeys[0].steps[5].branch.if: is required",
            "journeys[0].steps[6].wait_until.time: must be a time of day like \"09:00\", got \"9:00\"",
            "journeys[0].exit.goal: must differ from the entry event (each run would end as it starts)",
            "journeys[0].cooldown.days: must be 0..=400, got 401",
            "journeys[0]: journey skipped because of the problems above",
            "journeys[1].entry: is required",
            "journeys[1].audience.x.$bogus: unknown operator $bogus",
            "journeys[1].id: duplicate journey id \"a\"",
            "journeys[1]: journey skipped because of the problems above",
            "journeys[2].id: must be 1-64 characters of a-z, A-Z, 0-9, - and _",
            "journeys[2].entry: must name exactly one entry (event, category_views, inactive_days, date_trait), got 2",
            "journeys[2]: journey skipped because of the problems above",
            "messaging_caps.per_day: must be 0..=100, got -1",
            "quiet_hours.end: must be a time of day like \"09:00\", got \"25:00\"",
        ],
    );
}

#[test]
fn bounds_on_journeys_steps_and_nesting() {
    let send = r#"{"send": {"destination": "x", "event": "y"}}"#;
    let steps = vec![send; 51].join(",");
    check(
        &format!(
            r#"{{"journeys": [{{"id": "a", "entry": {{"event": "e"}}, "steps": [{steps}]}}]}}"#
        ),
        &[
            "journeys[0].steps: at most 50 steps (branches included), got 51",
            "journeys[0]: journey skipped because of the problems above",
        ],
    );
    // Four branches deep is also as deep as a config document may nest (16
    // levels), so the innermost is empty.
    let mut nested = r#"{"branch": {"if": {}, "then": []}}"#.to_owned();
    for _ in 0..3 {
        nested = format!(r#"{{"branch": {{"if": {{}}, "then": [{nested}]}}}}"#);
    }
    check(
        &format!(r#"{{"journeys": [{{"id": "a", "entry": {{"event": "e"}}, "steps": [{nested}]}}]}}"#),
        &[
            "journeys[0].steps[0].branch.then[0].branch.then[0].branch.then[0].branch: branches nest at most 3 deep",
            "journeys[0]: journey skipped because of the problems above",
        ],
    );
    let one = r#"{"id": "j", "entry": {"event": "e"}, "steps": []}"#;
    let many: Vec<String> = (0..51)
        .map(|i| one.replace("\"j\"", &format!("\"j{i}\"")))
        .collect();
    check(
        &format!(r#"{{"journeys": [{}]}}"#, many.join(",")),
        &["journeys: at most 50 journeys, got 51; the rest are skipped"],
    );
    check(
        r#"{"journeys": {}}"#,
        &["journeys: must be an array of journeys, got object"],
    );
}

#[test]
fn derived_entries_are_read() {
    let json = r#"{"journeys": [
      {"id": "a", "entry": {"category_views": {"min": 3, "within_hours": 24}}, "steps": []},
      {"id": "b", "entry": {"inactive_days": 90}, "steps": []},
      {"id": "c", "entry": {"date_trait": "birthday"}, "steps": []}]}"#;
    let journeys = read(json);
    let entries: Vec<String> = journeys
        .journeys
        .iter()
        .map(|j| format!("{:?}", j.entry))
        .collect();
    assert_eq!(
        entries,
        [
            format!(
                "{:?}",
                journey::Entry::CategoryViews {
                    min: 3,
                    within: DAY
                }
            ),
            format!("{:?}", journey::Entry::InactiveDays { days: 90 }),
            format!(
                "{:?}",
                journey::Entry::DateTrait {
                    name: "birthday".to_owned()
                }
            ),
        ]
    );
    // They are not events: the edge derives them and calls `enter`.
    assert_eq!(
        journeys.on_event(&shopper("p1"), &[], "birthday", &Attributes::new(), t0()),
        []
    );
}

/// A cart journey for the edit, disable and conversion tests; `{wait}`,
/// `{event}`, `{extra}` and `{enabled}` are filled in per case.
const CART: &str = r#"{"journeys": [{"id": "cart", "enabled": {enabled},
  "entry": {"event": "Product Added"},
  "exit": {"goal": "Order Completed", "converted_campaigns": ["cart-rescue"]},
  "steps": [
    {"wait": {"hours": {wait}}},
    {"branch": {"if": {"cart.items": {"$gte": 1}},
                "then": [{"set": {"stage": "reminded"}}]}},
    {"send": {"destination": "email", "event": "{event}"}},
    {extra}
    {"wait": {"days": 1}},
    {"send": {"destination": "email", "event": "Cart Reminder"}}
  ]}]}"#;

fn cart(enabled: bool, wait: u32, event: &str, extra: &str) -> String {
    CART.replace("{enabled}", &enabled.to_string())
        .replace("{wait}", &wait.to_string())
        .replace("{event}", event)
        .replace("{extra}", extra)
}

fn exits(sim: &Simulation) -> Vec<(Millis, String, ExitReason)> {
    sim.log
        .iter()
        .filter_map(|(t, e)| match e {
            Effect::Exit { run, reason } => Some(((t - t0()) / HOUR, run.person.clone(), *reason)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_disabled_journey_takes_no_one_and_ends_runs_at_their_next_step() {
    let on = cart(true, 4, "Cart Abandoned", "");
    let off = cart(false, 4, "Cart Abandoned", "");
    assert_eq!(journey::validate(&value(&off)), []);
    let disabled = read(&off);
    assert!(!disabled.journeys[0].enabled);
    assert!(read(&on).journeys[0].enabled);
    // Disabling leaves the shape alone: the reason is `disabled`, not `edited`.
    assert_eq!(disabled.journeys[0].shape, read(&on).journeys[0].shape);

    let mut sim = sim(&on, &["p1", "p2"]);
    sim.event("p1", "Product Added", t0());
    sim.journeys = disabled;
    sim.event("p2", "Product Added", t0() + HOUR);
    assert_eq!(sim.runs.len(), 1, "nobody enters a disabled journey");
    sim.advance_to(t0() + 60 * DAY);
    assert_eq!(sends(&sim), []);
    assert_eq!(exits(&sim), [(4, "p1".to_owned(), ExitReason::Disabled)]);
    assert_eq!(ExitReason::Disabled.as_str(), "disabled");

    // Enabled again: entries resume (p2 had never entered, so no cooldown).
    sim.journeys = read(&on);
    sim.event("p2", "Product Added", t0() + 61 * DAY);
    sim.advance_to(t0() + 63 * DAY);
    assert_eq!(
        sends(&sim),
        [
            (61 * 24 + 4, "Cart Abandoned".to_owned()),
            (62 * 24 + 4, "Cart Reminder".to_owned())
        ]
    );
}

#[test]
fn a_converted_campaign_ends_the_run_as_a_goal() {
    let json = cart(true, 4, "Cart Abandoned", "");
    let journeys = read(&json);
    assert_eq!(
        journey::converted_goal("cart-rescue"),
        "Campaign Converted/cart-rescue"
    );
    assert_eq!(
        journeys.journeys[0].goals,
        ["Order Completed", "Campaign Converted/cart-rescue"]
    );
    let mut sim = sim(&json, &["p1", "p2", "p3"]);
    for p in ["p1", "p2", "p3"] {
        sim.event(p, "Product Added", t0());
    }
    // p1 converts on the site's popup before the email; p2 after it; p3 never.
    sim.event("p1", "Campaign Converted/cart-rescue", t0() + HOUR);
    sim.event("p2", "Campaign Converted/cart-rescue", t0() + 5 * HOUR);
    // Another campaign's conversion is no goal of this journey.
    sim.event("p3", "Campaign Converted/welcome", t0() + 5 * HOUR);
    sim.advance_to(t0() + 60 * DAY);
    let sent: Vec<(Millis, &str, &str)> = sim
        .sends()
        .iter()
        .map(|s| ((s.0 - t0()) / HOUR, s.1, s.2))
        .collect();
    assert_eq!(
        sent,
        [
            (4, "p2", "Cart Abandoned"),
            (4, "p3", "Cart Abandoned"),
            (28, "p3", "Cart Reminder")
        ]
    );
    assert_eq!(
        exits(&sim),
        [
            (1, "p1".to_owned(), ExitReason::Goal),
            (5, "p2".to_owned(), ExitReason::Goal),
            (28, "p3".to_owned(), ExitReason::Completed)
        ]
    );
}

#[test]
fn exit_needs_a_goal_or_converted_campaigns() {
    let steps = r#""entry": {"event": "Product Added"}, "steps": []"#;
    check(
        &format!(r#"{{"journeys": [{{"id": "a", {steps}, "exit": {{}}}}]}}"#),
        &[
            "journeys[0].exit: must name a goal event or converted_campaigns",
            "journeys[0]: journey skipped because of the problems above",
        ],
    );
    check(
        &format!(
            r#"{{"journeys": [{{"id": "a", {steps}}}, {{"id": "b", {steps}, "exit": {{"converted_campaigns": []}}}}]}}"#
        ),
        &[
            "journeys[1].exit: must name a goal event or converted_campaigns",
            "journeys[1]: journey skipped because of the problems above",
        ],
    );
    check(
        &format!(
            r#"{{"journeys": [{{"id": "a", {steps}, "exit": {{"converted_campaigns": ["cart-rescue", "", 3]}}}}]}}"#
        ),
        &[
            "journeys[0].exit.converted_campaigns[1]: must be a campaign id, got \"\"",
            "journeys[0].exit.converted_campaigns[2]: must be a campaign id, got 3",
            "journeys[0]: journey skipped because of the problems above",
        ],
    );
    // converted_campaigns alone is enough.
    check(
        &format!(
            r#"{{"journeys": [{{"id": "a", {steps}, "exit": {{"converted_campaigns": ["cart-rescue"]}}}}]}}"#
        ),
        &[],
    );
}

#[test]
fn an_edit_of_the_same_shape_keeps_runs_going() {
    let before = cart(true, 4, "Cart Abandoned", "");
    // A new wait, a new event name and a new condition: the same shape.
    let after = cart(true, 2, "Your Cart Misses You", "")
        .replace(r#"{"$gte": 1}"#, r#"{"$gte": 2}"#)
        .replace(r#""days": 1"#, r#""days": 2"#);
    assert_eq!(
        read(&before).journeys[0].shape,
        read(&after).journeys[0].shape
    );
    let mut sim = sim(&before, &["p1"]);
    sim.event("p1", "Product Added", t0());
    sim.journeys = read(&after);
    sim.advance_to(t0() + 60 * DAY);
    // The pending timer keeps its time (4 h); the steps after it are the new ones.
    assert_eq!(
        sends(&sim),
        [
            (4, "Your Cart Misses You".to_owned()),
            (4 + 48, "Cart Reminder".to_owned())
        ]
    );
    assert_eq!(sim.sends()[0].3, "p1/cart/1/3");
    assert_eq!(exits(&sim), [(52, "p1".to_owned(), ExitReason::Completed)]);
}

#[test]
fn inserting_or_removing_a_step_ends_pending_runs_as_edited() {
    let before = cart(true, 4, "Cart Abandoned", "");
    let inserted = cart(
        true,
        4,
        "Cart Abandoned",
        r#"{"set": {"tag": "cart-emailed"}},"#,
    );
    let removed = before.replace(
        r#"{"wait": {"days": 1}},
    {"send": {"destination": "email", "event": "Cart Reminder"}}"#,
        r#"{"end": true}"#,
    );
    let (shape, json_shapes) = (
        read(&before).journeys[0].shape,
        [
            read(&inserted).journeys[0].shape,
            read(&removed).journeys[0].shape,
        ],
    );
    assert!(json_shapes.iter().all(|&s| s != shape), "{json_shapes:?}");
    // An else arm where there was none changes where the branch goes.
    let with_else = before.replace(
        r#""then": [{"set": {"stage": "reminded"}}]"#,
        r#""then": [{"set": {"stage": "reminded"}}], "else": [{"set": {"stage": "empty"}}]"#,
    );
    assert_ne!(read(&with_else).journeys[0].shape, shape);

    for edited in [&inserted, &removed] {
        let mut sim = sim(&before, &["p1", "p2"]);
        sim.event("p1", "Product Added", t0());
        sim.event("p1", "Product Added", t0());
        sim.journeys = read(edited);
        // p1's pending run ends at its next timer; p2 enters the new version.
        sim.event("p2", "Product Added", t0() + HOUR);
        sim.advance_to(t0() + 60 * DAY);
        assert_eq!(exits(&sim)[0], (4, "p1".to_owned(), ExitReason::Edited));
        assert!(sim.sends().iter().all(|s| s.1 == "p2"), "{:?}", sim.sends());
        assert!(!sim.sends().is_empty());
    }
}

#[test]
fn enter_follows_the_rules_of_event_entry() {
    let json = r#"{"journeys": [
      {"id": "browse", "entry": {"category_views": {"min": 3, "within_hours": 24}},
       "audience": {"cart.items": 0}, "cooldown": {"days": 7},
       "steps": [{"wait": {"hours": 1}}, {"send": {"destination": "email", "event": "Browse Abandoned"}}]},
      {"id": "off", "enabled": false, "entry": {"inactive_days": 90},
       "steps": [{"send": {"destination": "email", "event": "Win Back"}}]}]}"#;
    let journeys = read(json);
    let mut p1 = shopper("p1");
    let mut cart = nudge_core::Map::new();
    cart.insert("items", 0u32);
    p1.attributes.insert("cart", cart.clone());
    let mut p2 = shopper("p2");
    cart.insert("items", 2u32);
    p2.attributes.insert("cart", cart);

    let effects = journeys.enter("browse", &p1, &[], t0());
    let [Effect::Enter(run), Effect::Schedule { run: scheduled, at }] = effects.as_slice() else {
        panic!("{effects:?}");
    };
    assert_eq!((run.id.number, run.entered_at, *at), (1, t0(), t0()));
    assert_eq!(scheduled, &run.id);
    let run = run.clone();

    // Not in the audience, unknown, disabled: nothing.
    assert_eq!(journeys.enter("browse", &p2, &[], t0()), []);
    assert_eq!(journeys.enter("nope", &p1, &[], t0()), []);
    assert_eq!(journeys.enter("off", &p1, &[], t0()), []);
    // An active run: nothing.
    assert_eq!(
        journeys.enter("browse", &p1, std::slice::from_ref(&run), t0() + DAY),
        []
    );
    // Ended, but within the cooldown counted from entry: nothing; after it, run 2.
    let ended = journey::Run {
        exit: Some(ExitReason::Completed),
        next_due: None,
        ..run
    };
    let runs = [ended];
    assert_eq!(journeys.enter("browse", &p1, &runs, t0() + 7 * DAY - 1), []);
    let again = journeys.enter("browse", &p1, &runs, t0() + 7 * DAY);
    assert!(
        matches!(again.first(), Some(Effect::Enter(r)) if r.id.number == 2),
        "{again:?}"
    );
    // Another person's runs do not count.
    assert_eq!(
        journeys.enter("browse", &shopper("p3"), &runs, t0()).len(),
        2
    );
}

#[test]
fn set_facts_name_their_journey() {
    let mut sim = sim(&cart(true, 4, "Cart Abandoned", ""), &["p1"]);
    let mut cart = nudge_core::Map::new();
    cart.insert("items", 1u32);
    let mut p1 = shopper("p1");
    p1.attributes.insert("cart", cart);
    sim.person(p1);
    sim.event("p1", "Product Added", t0());
    sim.advance_to(t0() + 5 * HOUR);
    let facts: Vec<&Effect> = sim
        .log
        .iter()
        .map(|(_, e)| e)
        .filter(|e| matches!(e, Effect::SetFact { .. }))
        .collect();
    assert_eq!(
        facts,
        [&Effect::SetFact {
            person: "p1".to_owned(),
            journey: "cart".to_owned(),
            tag: None,
            stage: Some("reminded".to_owned()),
            coupon_pool: None,
        }]
    );
}

#[test]
fn exit_reasons_have_stable_names() {
    for (reason, name) in [
        (ExitReason::Goal, "goal"),
        (ExitReason::End, "end"),
        (ExitReason::Completed, "completed"),
        (ExitReason::Removed, "removed"),
        (ExitReason::Disabled, "disabled"),
        (ExitReason::Edited, "edited"),
        (ExitReason::Merged, "merged"),
    ] {
        assert_eq!(reason.as_str(), name);
        assert_eq!(ExitReason::parse(name), Some(reason));
    }
    assert_eq!(ExitReason::parse("Goal"), None);
}

#[test]
fn shapes_fit_a_double_exactly() {
    // The edge stores them through JavaScript numbers.
    for journey in read(TEMPLATES).journeys {
        assert!(journey.shape < (1 << 53), "{}", journey.id);
    }
}

/// Cart abandonment written with `wait_for`: wait for an order at most 4
/// hours; an order tags the person, no order sends the reminder. The goal
/// (a refund) still ends a run at any step, the wait included.
const WAIT_FOR: &str = r#"{"campaigns": [], "journeys": [
  {"id": "cart", "name": "Cart", "entry": {"event": "Product Added"},
   "steps": [
     {"wait_for": {"event": "Order Completed", "within": {"hours": 4},
                   "then": [{"set": {"tag": "bought"}}],
                   "else": [{"send": {"destination": "email-tool", "event": "Cart Abandoned"}}]}},
     {"send": {"destination": "email-tool", "event": "Cart Followed Up", "purpose": "transactional"}}
   ],
   "exit": {"goal": "Refund Requested"}}
]}"#;

fn tags(sim: &Simulation) -> usize {
    count(
        sim,
        |e| matches!(e, Effect::SetFact { tag: Some(t), .. } if t == "bought"),
    )
}

#[test]
fn wait_for_takes_the_then_path_when_the_event_comes_and_the_else_path_when_time_runs_out() {
    assert_eq!(journey::validate(&value(WAIT_FOR)), []);
    // (hours until the order, or none; the sends; tagged)
    type Case<'a> = (Option<Millis>, &'a [(Millis, &'a str)], usize);
    let table: [Case; 4] = [
        (None, &[(4, "Cart Abandoned"), (4, "Cart Followed Up")], 0),
        (Some(1), &[(1, "Cart Followed Up")], 1),
        // Just inside the window, and just after it: the timer decides.
        (Some(4 * HOUR - 1), &[(3, "Cart Followed Up")], 1),
        (
            Some(5 * HOUR),
            &[(4, "Cart Abandoned"), (4, "Cart Followed Up")],
            0,
        ),
    ];
    for (order_at, expected, tagged) in table {
        let mut sim = sim(WAIT_FOR, &["p1"]);
        sim.event("p1", "Product Added", t0());
        if let Some(at) = order_at {
            // Hours, or milliseconds past t0 for the edge cases.
            let at = if at < 100 { at * HOUR } else { at };
            sim.advance_to(t0() + at);
            sim.event("p1", "Order Completed", t0() + at);
        }
        sim.advance_to(t0() + 30 * DAY);
        let expected: Vec<(Millis, String)> = expected
            .iter()
            .map(|(h, e)| (*h, (*e).to_owned()))
            .collect();
        assert_eq!(sends(&sim), expected, "order at {order_at:?}");
        assert_eq!(tags(&sim), tagged, "order at {order_at:?}");
        assert_eq!(sim.runs[0].exit, Some(ExitReason::Completed));
    }
}

#[test]
fn a_goal_ends_a_run_waiting_for_an_event_and_other_events_change_nothing() {
    let mut sim = sim(WAIT_FOR, &["p1", "p2"]);
    sim.event("p1", "Product Added", t0());
    sim.event("p2", "Product Added", t0());
    sim.event("p1", "Refund Requested", t0() + HOUR);
    // Another person's order, and an event nobody waits for.
    sim.event("p1", "Order Completed", t0() + 2 * HOUR);
    sim.event("p2", "Product Viewed", t0() + 2 * HOUR);
    sim.advance_to(t0() + 30 * DAY);
    assert_eq!(exits(&sim)[0], (1, "p1".to_owned(), ExitReason::Goal));
    let p2: Vec<&str> = sim
        .sends()
        .iter()
        .filter(|(_, person, _, _)| *person == "p2")
        .map(|(_, _, event, _)| *event)
        .collect();
    assert_eq!(p2, ["Cart Abandoned", "Cart Followed Up"]);
    assert_eq!(tags(&sim), 0);
    assert!(read(WAIT_FOR).journeys[0].listens_to("Order Completed"));
    assert!(!read(WAIT_FOR).journeys[0].listens_to("Product Viewed"));
}

#[test]
fn a_wait_for_step_is_validated_at_its_fields_and_shapes_the_journey() {
    let with = |step: &str| {
        format!(
            r#"{{"campaigns": [], "journeys": [{{"id": "j", "name": "J", "entry": {{"event": "A"}}, "steps": [{step}]}}]}}"#
        )
    };
    let problems = |step: &str| -> Vec<String> {
        journey::validate(&value(&with(step)))
            .iter()
            .map(|d| format!("{}: {}", d.path, d.message))
            .collect()
    };
    assert_eq!(
        problems(r#"{"wait_for": {"event": "B", "within": {"hours": 2}, "then": [], "else": []}}"#),
        Vec::<String>::new()
    );
    let missing = problems(r#"{"wait_for": {"then": []}}"#);
    assert!(
        missing
            .iter()
            .any(|p| p.starts_with("journeys[0].steps[0].wait_for.event")),
        "{missing:?}"
    );
    assert!(
        missing
            .iter()
            .any(|p| p.starts_with("journeys[0].steps[0].wait_for.within")),
        "{missing:?}"
    );
    let zero = problems(r#"{"wait_for": {"event": "B", "within": {"hours": 0}}}"#);
    assert!(
        zero.iter()
            .any(|p| p.starts_with("journeys[0].steps[0].wait_for.within.hours")),
        "{zero:?}"
    );
    let bad_arm =
        problems(r#"{"wait_for": {"event": "B", "within": {"days": 1}, "else": [{"sned": {}}]}}"#);
    assert!(
        bad_arm
            .iter()
            .any(|p| p.starts_with("journeys[0].steps[0].wait_for.else[0]")),
        "{bad_arm:?}"
    );
    // A new window keeps runs going (same shape); a new path ends them.
    let shape = |step: &str| read(&with(step)).journeys[0].shape;
    let base = r#"{"wait_for": {"event": "B", "within": {"hours": 2}, "then": [{"end": true}]}}"#;
    let longer = r#"{"wait_for": {"event": "C", "within": {"hours": 9}, "then": [{"end": true}]}}"#;
    let more = r#"{"wait_for": {"event": "B", "within": {"hours": 2}, "then": [{"end": true}], "else": [{"end": true}]}}"#;
    assert_eq!(shape(base), shape(longer));
    assert_ne!(shape(base), shape(more));
    assert_ne!(shape(base), shape(r#"{"wait": {"hours": 2}}"#));
}

fn reached(sim: &Simulation, person: &str) -> Vec<usize> {
    sim.log
        .iter()
        .filter_map(|(_, e)| match e {
            Effect::Reached { run, step } if run.person == person => Some(*step),
            _ => None,
        })
        .collect()
}

#[test]
fn each_step_a_run_passes_is_reached_once_and_named_by_its_path() {
    let journeys = read(WAIT_FOR);
    let steps: Vec<(usize, &str, &str)> = journeys.journeys[0]
        .reported_steps()
        .iter()
        .map(|s| (s.step, s.path, s.kind))
        .collect();
    assert_eq!(
        steps,
        [
            (0, "steps[0]", "wait_for"),
            (2, "steps[0].wait_for.then[0]", "set"),
            (4, "steps[0].wait_for.else[0]", "send"),
            (5, "steps[1]", "send"),
        ]
    );
    let mut sim = sim(WAIT_FOR, &["buyer", "browser"]);
    sim.event("buyer", "Product Added", t0());
    sim.event("browser", "Product Added", t0());
    sim.event("buyer", "Order Completed", t0() + HOUR);
    sim.advance_to(t0() + DAY);
    assert_eq!(reached(&sim, "buyer"), [0, 2, 5]);
    assert_eq!(reached(&sim, "browser"), [0, 4, 5]);
}

#[test]
fn a_send_put_off_by_quiet_hours_is_reached_once_when_it_is_decided() {
    let mut sim = sim(TEMPLATES, &["p1"]);
    // 19:00 UTC: the 4-hour wait ends at 23:00, inside the quiet hours.
    sim.event("p1", "Product Added", t0() + 9 * HOUR);
    sim.advance_to(t0() + 3 * DAY);
    assert_eq!(count(&sim, |e| matches!(e, Effect::Delayed { .. })), 1);
    assert_eq!(sends(&sim), [(22, "Cart Abandoned".to_owned())]);
    let cart: Vec<usize> = sim
        .log
        .iter()
        .filter_map(|(_, e)| match e {
            Effect::Reached { run, step } if run.journey == "cart-abandonment" => Some(*step),
            _ => None,
        })
        .collect();
    assert_eq!(cart, [0, 1, 2], "wait, send (once), set");
}

/// A holdout of 30%: about that share of entrants runs the clock and is sent
/// and given nothing (each skip says why); the others get the journey; a
/// person's group never changes between runs; a bad holdout is refused.
#[test]
fn holdouts_run_the_clock_and_receive_nothing() {
    const HELD: &str = r#"{"journeys": [{"id": "cart", "entry": {"event": "Product Added"},
        "holdout": {"percent": 30}, "cooldown": {"hours": 1},
        "steps": [{"wait": {"hours": 1}}, {"set": {"coupon_pool": "cart10"}},
                  {"send": {"destination": "email", "event": "Cart Abandoned"}}]}]}"#;
    let ids: Vec<String> = (0..1000).map(|i| format!("person-{i}")).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let mut s = sim(HELD, &refs);
    for id in &refs {
        s.event(id, "Product Added", t0());
    }
    s.advance_to(t0() + 2 * HOUR);
    let held = count(&s, |e| matches!(e, Effect::Enter(r) if r.held_out));
    assert!((240..=360).contains(&held), "{held} of 1000 held out");
    let skipped = count(&s, |e| {
        matches!(
            e,
            Effect::Suppressed {
                reason: SuppressReason::Holdout,
                ..
            }
        )
    });
    assert_eq!(skipped, held);
    assert_eq!(s.sends().len(), 1000 - held);
    assert_eq!(
        count(&s, |e| matches!(e, Effect::SetFact { .. })),
        1000 - held
    );
    // Every held-out run still completes on the journey's clock.
    let completed = count(&s, |e| {
        matches!(
            e,
            Effect::Exit {
                reason: ExitReason::Completed,
                ..
            }
        )
    });
    assert_eq!(completed, 1000);
    // A second run of each person lands in the same group as the first.
    let first: Vec<(String, bool)> = s
        .log
        .iter()
        .filter_map(|(_, e)| match e {
            Effect::Enter(r) => Some((r.id.person.clone(), r.held_out)),
            _ => None,
        })
        .collect();
    for id in &refs {
        s.event(id, "Product Added", t0() + 3 * HOUR);
    }
    let second: Vec<(String, bool)> = s
        .log
        .iter()
        .filter_map(|(_, e)| match e {
            Effect::Enter(r) if r.id.number == 2 => Some((r.id.person.clone(), r.held_out)),
            _ => None,
        })
        .collect();
    assert_eq!(second.len(), 1000);
    assert!(second.iter().all(|s| first.contains(s)));
    // A journey without a holdout holds nobody out; a bad one is refused.
    let journeys = read(HELD);
    assert_eq!(journeys.journeys[0].holdout, 30);
    for (holdout, path) in [
        (r#"{"percent": 95}"#, "journeys[0].holdout.percent"),
        (r#"{}"#, "journeys[0].holdout.percent"),
        (
            r#"{"percent": 10, "share": 1}"#,
            "journeys[0].holdout.share",
        ),
    ] {
        let json = HELD.replace(r#"{"percent": 30}"#, holdout);
        let problems = journey::validate(&value(&json));
        assert!(
            problems.iter().any(|p| p.path == path),
            "{holdout}: {problems:?}"
        );
    }
}

/// An event entry's property filter (`entry.where`): only matching events
/// enter; the filter is read with the audience's condition language, and
/// only an event entry may have one.
#[test]
fn an_event_entry_may_filter_on_the_events_properties() {
    const BIG: &str = r#"{"journeys": [{"id": "big-cart", "entry": {"event": "Product Added",
        "where": {"price": {"$gte": 100}, "category": "coats"}},
        "steps": [{"send": {"destination": "email", "event": "Big Cart"}}]}]}"#;
    let mut s = sim(BIG, &["small", "big", "wrong-category"]);
    let props = |json: &str| -> Attributes { serde_json::from_str(json).unwrap() };
    s.event_with(
        "small",
        "Product Added",
        &props(r#"{"price": 20, "category": "coats"}"#),
        t0(),
    );
    s.event_with(
        "big",
        "Product Added",
        &props(r#"{"price": 150, "category": "coats"}"#),
        t0(),
    );
    s.event_with(
        "wrong-category",
        "Product Added",
        &props(r#"{"price": 150, "category": "shoes"}"#),
        t0(),
    );
    s.event("small", "Product Added", t0() + HOUR); // no properties: no match either
    s.advance_to(t0() + 2 * HOUR);
    let entered: Vec<String> = s
        .log
        .iter()
        .filter_map(|(_, e)| match e {
            Effect::Enter(r) => Some(r.id.person.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(entered, ["big"]);
    for (entry, path) in [
        (
            r#"{"inactive_days": 90, "where": {"a": 1}}"#,
            "journeys[0].entry.where",
        ),
        (
            r#"{"event": "x", "where": {"a": {"$bogus": 1}}}"#,
            "journeys[0].entry.where.a.$bogus",
        ),
        (r#"{"where": {"a": 1}}"#, "journeys[0].entry"),
    ] {
        let json = BIG.replace(
            r#"{"event": "Product Added",
        "where": {"price": {"$gte": 100}, "category": "coats"}}"#,
            entry,
        );
        let problems = journey::validate(&value(&json));
        assert!(
            problems.iter().any(|p| p.path == path),
            "{entry}: {problems:?}"
        );
    }
}

/// With a site over several objects, a `set` step whose pool's codes are in
/// another object waits at that step (reached nothing, set nothing, sent
/// nothing after it) until the edge has leased a code here, then runs as
/// with one object, each step reached once.
#[test]
fn a_set_step_waits_at_its_step_for_a_code_from_another_object() {
    let json = r#"{"journeys": [{"id": "wb", "entry": {"event": "Went Quiet"}, "steps": [
      {"set": {"coupon_pool": "wb15", "stage": "invited"}},
      {"send": {"destination": "email", "event": "Win Back"}}]}]}"#;
    let mut sim = sim(json, &[]);
    sim.person(Person {
        codes_elsewhere: vec!["wb15".to_owned()],
        ..shopper("p1")
    });
    sim.event("p1", "Went Quiet", t0());
    sim.advance_to(t0() + 12_000);
    let awaited = count(
        &sim,
        |e| matches!(e, Effect::AwaitCode { step: 0, pool, .. } if pool == "wb15"),
    );
    assert!(awaited >= 2, "tried again at its timer: {awaited}");
    assert_eq!(count(&sim, |e| matches!(e, Effect::SetFact { .. })), 0);
    assert!(sends(&sim).is_empty());
    assert!(reached(&sim, "p1").is_empty());
    // Codes came: the next try takes the step, and the run goes on.
    sim.persons[0].0.codes_elsewhere.clear();
    sim.advance_to(t0() + 30_000);
    assert_eq!(count(&sim, |e| matches!(e, Effect::SetFact { .. })), 1);
    assert_eq!(sends(&sim).len(), 1);
    assert_eq!(reached(&sim, "p1"), [0, 1]);
}
