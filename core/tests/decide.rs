//! Decisions on the demo shop's example campaigns: the marketing rules the
//! shop owner wrote, checked natively and deterministically.

use nudge_core::decide::{build_attributes, conversions, DeviceKind, PageState, Signal};
use nudge_core::event::{names, Event, EventKind, PageContext};
use nudge_core::profile::{Outcome, Profile};
use nudge_core::time::{DAY, MINUTE, SECOND};
use nudge_core::{template, Config, Map, Value};

const T0: i64 = 1_790_000_000_000;

mod common;
use common::{decision, demo_config, page};

fn event(kind: EventKind, props: &[(&str, Value)], at: i64) -> Event {
    let mut properties = Map::new();
    for (k, v) in props {
        properties.insert(*k, v.clone());
    }
    Event {
        id: format!("e{at}"),
        kind,
        anonymous_id: "anon-1".into(),
        user_id: None,
        timestamp: at,
        properties,
        page: PageContext::default(),
        consent: Default::default(),
    }
}

fn track(name: &str, props: &[(&str, Value)], at: i64) -> Event {
    event(EventKind::Track { event: name.into() }, props, at)
}

fn view(profile: &mut Profile, path: &str, at: i64) -> PageState {
    let state = page(path, at);
    let mut props = Vec::new();
    if let Some(c) = &state.category {
        props.push(("category", Value::from(c.as_str())));
    }
    profile.apply(&event(EventKind::Page { name: None }, &props, at));
    state
}

/// The campaign ids `decide` picks.
fn chosen(
    config: &Config,
    profile: &Profile,
    page: &PageState,
    now: i64,
    signal: Signal,
) -> Vec<String> {
    decision(config, profile, page, now, &signal)
        .choices
        .iter()
        .map(|c| c.campaign.id.clone())
        .collect()
}

#[test]
fn demo_campaigns_are_valid_and_sorted_by_priority() {
    let config = demo_config();
    assert_eq!(config.campaigns.len(), 9);
    assert!(config
        .campaigns
        .windows(2)
        .all(|w| w[0].priority >= w[1].priority));
}

#[test]
fn welcome_popup_at_a_quarter_scroll_for_new_visitors_only() {
    let config = demo_config();
    let mut profile = Profile::new("anon-1", T0);
    let p = view(&mut profile, "/", T0);
    assert!(chosen(&config, &profile, &p, T0, Signal::Scroll { percent: 10 }).is_empty());
    assert_eq!(
        chosen(&config, &profile, &p, T0, Signal::Scroll { percent: 30 }),
        ["welcome"]
    );

    // Shown once: the per-session cap holds for the next page.
    profile.record("welcome", None, Outcome::Shown, T0 + SECOND);
    let p2 = view(&mut profile, "/category/shoes", T0 + MINUTE);
    assert!(chosen(
        &config,
        &profile,
        &p2,
        T0 + MINUTE,
        Signal::Scroll { percent: 50 }
    )
    .is_empty());
}

#[test]
fn no_first_purchase_coupon_after_an_order() {
    let config = demo_config();
    let mut profile = Profile::new("anon-1", T0);
    profile.apply(&track(
        names::ORDER_COMPLETED,
        &[("total", 50.0.into())],
        T0,
    ));
    let p = view(&mut profile, "/", T0 + SECOND);
    assert!(!chosen(
        &config,
        &profile,
        &p,
        T0 + SECOND,
        Signal::Scroll { percent: 90 }
    )
    .contains(&"welcome".to_owned()));
    // Next session: the returning-customer banner instead.
    let later = T0 + DAY;
    let p = view(&mut profile, "/", later);
    assert_eq!(
        chosen(&config, &profile, &p, later, Signal::PageView),
        ["returning-customer"]
    );
}

#[test]
fn cart_rescue_needs_items_the_cart_page_and_time() {
    let config = demo_config();
    let mut profile = Profile::new("anon-1", T0);
    let p = view(&mut profile, "/cart", T0);
    let at = T0 + 5 * SECOND;
    assert!(
        chosen(&config, &profile, &p, at, Signal::ExitIntent).is_empty(),
        "empty cart"
    );
    profile.apply(&track(names::PRODUCT_ADDED, &[("price", 30.0.into())], T0));
    assert_eq!(
        chosen(&config, &profile, &p, at, Signal::ExitIntent),
        ["cart-rescue"]
    );
    assert!(
        chosen(&config, &profile, &p, T0 + SECOND, Signal::ExitIntent).is_empty(),
        "too soon on the page"
    );
    let home = page("/", T0);
    assert!(
        chosen(&config, &profile, &home, at, Signal::ExitIntent).is_empty(),
        "not the cart"
    );
}

#[test]
fn vip_outranks_returning_customer_in_the_top_slot() {
    let config = demo_config();
    let mut profile = Profile::new("anon-1", T0);
    for i in 0..3 {
        profile.apply(&track(
            names::ORDER_COMPLETED,
            &[("total", 80.0.into())],
            T0 + i,
        ));
    }
    let p = view(&mut profile, "/", T0 + DAY);
    let decision = decision(&config, &profile, &p, T0 + DAY, &Signal::PageView);
    let ids: Vec<_> = decision
        .choices
        .iter()
        .map(|c| c.campaign.id.as_str())
        .collect();
    assert_eq!(ids, ["vip"]);
    assert!(decision
        .diagnostics
        .iter()
        .any(|d| d.path == "campaign returning-customer" && d.message.contains("taken")));
}

#[test]
fn browse_abandonment_on_the_third_category_view() {
    let config = demo_config();
    let mut profile = Profile::new("anon-1", T0);
    for i in 0..2 {
        let p = view(&mut profile, "/category/shoes", T0 + i * MINUTE);
        assert!(chosen(&config, &profile, &p, T0 + i * MINUTE, Signal::PageView).is_empty());
    }
    let p = view(&mut profile, "/category/shoes", T0 + 3 * MINUTE);
    assert_eq!(
        chosen(&config, &profile, &p, T0 + 3 * MINUTE, Signal::PageView),
        ["browse-abandonment"]
    );
    profile.apply(&track(
        names::PRODUCT_ADDED,
        &[("price", 30.0.into())],
        T0 + 4 * MINUTE,
    ));
    let p = view(&mut profile, "/category/shoes", T0 + 5 * MINUTE);
    assert!(
        chosen(&config, &profile, &p, T0 + 5 * MINUTE, Signal::PageView).is_empty(),
        "cart has items"
    );
}

#[test]
fn canada_rule_needs_every_part() {
    let config = demo_config();
    let run = |country: &str, pages: u32, seconds: f64| {
        let mut config = config.clone();
        config.geo.country = Some(country.into());
        let mut profile = Profile::new("anon-1", T0);
        let mut p = page("/", T0);
        for i in 0..pages {
            p = view(&mut profile, "/", T0 + i64::from(i) * SECOND);
        }
        profile.seconds_on_site = seconds;
        chosen(
            &config,
            &profile,
            &p,
            p.started_at,
            Signal::TimeOnSite { seconds },
        )
    };
    assert_eq!(run("CA", 3, 61.0), ["canada-first-visit"]);
    assert!(run("US", 3, 61.0).is_empty());
    assert!(run("CA", 2, 61.0).is_empty());
    assert!(run("CA", 3, 59.0).is_empty());
}

#[test]
fn cross_sell_goes_inline_on_the_confirmation_page() {
    let config = demo_config();
    let mut profile = Profile::new("anon-1", T0);
    profile.apply(&track(
        names::ORDER_COMPLETED,
        &[("total", 10.0.into())],
        T0,
    ));
    let p = view(&mut profile, "/order-confirmation", T0 + 1);
    let ids = chosen(&config, &profile, &p, T0 + 1, Signal::PageView);
    assert!(
        ids.contains(&"post-purchase-cross-sell".to_owned()),
        "{ids:?}"
    );
}

#[test]
fn ab_buckets_are_deterministic_sticky_and_spread() {
    let config = demo_config();
    let mut counts = std::collections::BTreeMap::new();
    for i in 0..3000 {
        let mut profile = Profile::new(format!("visitor-{i}"), T0);
        profile.apply(&track(names::PRODUCT_ADDED, &[("price", 20.0.into())], T0));
        let p = page("/product/1", T0);
        let added = Signal::Event {
            name: names::PRODUCT_ADDED.into(),
        };
        let first = decision(&config, &profile, &p, T0, &added);
        let choice = first
            .choices
            .iter()
            .find(|c| c.campaign.id == "free-shipping-test")
            .unwrap();
        let again = decision(&config, &profile, &p, T0, &added);
        assert_eq!(again.choices[0].variant, choice.variant, "deterministic");
        *counts
            .entry(choice.variant.unwrap().to_owned())
            .or_insert(0) += 1;
    }
    for (variant, n) in &counts {
        assert!((850..=1150).contains(n), "{variant}: {n} of 3000");
    }
    // Sticky: a recorded arm wins over the hash.
    let mut profile = Profile::new("visitor-0", T0);
    profile.record("free-shipping-test", Some("urgency"), Outcome::Shown, T0);
    profile.sessions += 1;
    profile.apply(&track(names::PRODUCT_ADDED, &[("price", 20.0.into())], T0));
    let p = page("/", T0);
    let decision = decision(
        &config,
        &profile,
        &p,
        T0,
        &Signal::Event {
            name: names::PRODUCT_ADDED.into(),
        },
    );
    assert_eq!(decision.choices[0].variant, Some("urgency"));
    assert_eq!(
        decision.choices[0].content.title,
        "Free shipping ends tonight"
    );
}

#[test]
fn goal_events_convert_recently_shown_campaigns_once() {
    let config = demo_config();
    let mut profile = Profile::new("anon-1", T0);
    assert!(conversions(&config, &profile, names::SIGNED_UP, T0).is_empty());
    profile.record("welcome", None, Outcome::Shown, T0);
    let hits: Vec<_> = conversions(&config, &profile, names::SIGNED_UP, T0 + MINUTE)
        .iter()
        .map(|c| c.id.clone())
        .collect();
    assert_eq!(hits, ["welcome"]);
    profile.record("welcome", None, Outcome::Converted, T0 + MINUTE);
    assert!(conversions(&config, &profile, names::SIGNED_UP, T0 + 2 * MINUTE).is_empty());
    assert!(config.campaign("welcome").is_some());
}

#[test]
fn merge_fields_are_filled_and_left_as_text() {
    let config = demo_config();
    let mut profile = Profile::new("anon-1", T0);
    profile.set_trait("first_name", &Value::from("<img src=x onerror=alert(1)>"));
    profile.apply(&track(
        names::ORDER_COMPLETED,
        &[("total", 10.0.into())],
        T0,
    ));
    let mut p = page("/", T0 + DAY);
    p.device.kind = DeviceKind::Mobile;
    let attributes = build_attributes(&profile, &p, &config.geo, T0 + DAY);
    let body = &config.campaign("returning-customer").unwrap().content.body;
    assert_eq!(
        template::render(body, &|name| template::value_of(&attributes, name)),
        "Welcome back, <img src=x onerror=alert(1)>! Free shipping on your next order."
    );
    assert_eq!(
        attributes.get("device").and_then(|d| d.get("type")),
        Some(&Value::from("mobile"))
    );
}

/// One campaign per trigger kind and cap rule, against the signals that should
/// and should not fire it.
fn inline_config(campaigns: &str) -> Config {
    let value: Value = serde_json::from_str(&format!(r#"{{"campaigns": [{campaigns}]}}"#)).unwrap();
    let (config, problems) = Config::from_value(&value);
    assert!(problems.is_empty(), "{problems:#?}");
    config
}

fn campaign(id: &str, trigger: &str, extra: &str) -> String {
    format!(
        r#"{{"id": "{id}", "trigger": {trigger}, "content": {{"layout": "slide_in", "title": "t"}}{extra}}}"#
    )
}

#[test]
fn every_trigger_kind_fires_on_its_signal_only() {
    let config = inline_config(
        &[
            campaign("top", r#"{"time_on_page": 30}"#, ""),
            campaign("idle", r#"{"inactivity": 20}"#, ""),
            campaign("added", r#"{"event": "Product Added"}"#, ""),
            campaign("site", r#"{"time_on_site": 120}"#, ""),
            campaign(
                "sale",
                r#"{"page_view": true, "url": {"regex": "^/sale/"}}"#,
                "",
            ),
            campaign(
                "shoes",
                r#"{"page_view": true, "url": {"contains": "shoe"}}"#,
                "",
            ),
        ]
        .join(","),
    );
    let profile = Profile::new("a", T0);
    let cases: &[(&str, Signal, &[&str])] = &[
        ("/", Signal::TimeOnPage { seconds: 29.0 }, &[]),
        ("/", Signal::TimeOnPage { seconds: 30.0 }, &["top"]),
        ("/", Signal::Inactivity { seconds: 20.0 }, &["idle"]),
        (
            "/",
            Signal::Event {
                name: "Product Viewed".into(),
            },
            &[],
        ),
        (
            "/",
            Signal::Event {
                name: "Product Added".into(),
            },
            &["added"],
        ),
        ("/", Signal::TimeOnSite { seconds: 121.0 }, &["site"]),
        ("/sale/winter", Signal::PageView, &["sale"]),
        ("/outlet/sale/", Signal::PageView, &[]),
        ("/category/shoes", Signal::PageView, &["shoes"]),
    ];
    for (path, signal, expected) in cases {
        let got = chosen(&config, &profile, &page(path, T0), T0, signal.clone());
        assert_eq!(got, *expected, "{path} {signal:?}");
    }
}

#[test]
fn status_schedule_and_caps() {
    let config = inline_config(
        &[
            campaign(
                "paused",
                r#"{"page_view": true}"#,
                r#", "status": "paused""#,
            ),
            campaign(
                "later",
                r#"{"page_view": true}"#,
                r#", "schedule": {"start": "2030-01-01"}"#,
            ),
            campaign(
                "ended",
                r#"{"page_view": true}"#,
                r#", "schedule": {"end": "2020-01-01T00:00:00Z"}"#,
            ),
        ]
        .join(","),
    );
    let profile = Profile::new("a", T0);
    let p = page("/", T0);
    let decision = decision(&config, &profile, &p, T0, &Signal::PageView);
    assert!(decision.choices.is_empty());
    let reasons: Vec<String> = decision
        .diagnostics
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        reasons,
        [
            "campaign paused: status is paused",
            "campaign later: schedule has not started",
            "campaign ended: schedule has ended"
        ]
    );

    let capped = inline_config(&campaign(
        "c",
        r#"{"page_view": true}"#,
        r#", "frequency": {"per_session": 5, "per_days": {"days": 7, "max": 2}, "max_impressions": 3, "snooze_days_after_dismiss": 2}"#,
    ));
    let mut profile = Profile::new("a", T0);
    let show =
        |profile: &Profile, at: i64| chosen(&capped, profile, &page("/", at), at, Signal::PageView);
    profile.record("c", None, Outcome::Shown, T0);
    profile.record("c", None, Outcome::Shown, T0 + DAY);
    assert!(show(&profile, T0 + 2 * DAY).is_empty(), "2 in 7 days");
    assert_eq!(show(&profile, T0 + 8 * DAY), ["c"], "window passed");
    profile.record("c", None, Outcome::Dismissed, T0 + 8 * DAY);
    assert!(
        show(&profile, T0 + 9 * DAY).is_empty(),
        "snoozed after dismissal"
    );
    profile.record("c", None, Outcome::Shown, T0 + 20 * DAY);
    assert!(
        show(&profile, T0 + 40 * DAY).is_empty(),
        "max_impressions 3"
    );
}
