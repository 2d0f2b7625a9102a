//! The visitor's session: what API calls, decisions and campaign outcomes
//! do to the profile, and what they ask the agent to do.

use crate::config::Config;
use crate::decide::{Device, Signal};
use crate::event::{names, EventKind, PageContext};
use crate::platform::SeededRandom;
use crate::profile::Profile;
use crate::session::consent::Mode;
use crate::session::{Effects, Ignored, Session};
use crate::time::DAY;
use crate::value::{Map, Value};

const NOW: i64 = 1_800_000_000_000;

/// A welcome modal on every page view, its goal an order; and a banner
/// that is an A/B test whose only arm is a control.
const CONFIG: &str = r#"{"campaigns": [
  {"id": "welcome", "trigger": {"page_view": true}, "goal": "Order Completed",
   "content": {"layout": "modal", "title": "Hi"}},
  {"id": "holdout", "trigger": {"page_view": true},
   "content": {"layout": "top_banner", "title": "Hello"},
   "variants": [{"key": "control", "weight": 1, "control": true}, {"key": "b", "weight": 0}]}
]}"#;

fn session(mode: Mode, collecting: bool) -> Session {
    let value = crate::json::parse(CONFIG, crate::json::Bounds::Refuse).expect("JSON");
    let (config, problems) = Config::from_value(&value);
    assert!(problems.is_empty(), "{problems:?}");
    Session {
        config: crate::program::pack(&config),
        profile: Profile::new("a1", NOW),
        page: Default::default(),
        twins: Default::default(),
        mode,
        collecting,
    }
}

fn names_queued(effects: &Effects) -> Vec<String> {
    effects
        .queue
        .iter()
        .map(|e| {
            let name = e.get("event").or_else(|| e.get("type"));
            name.and_then(Value::as_str).unwrap_or_default().to_owned()
        })
        .collect()
}

fn order(id: &str) -> Map {
    let mut m = Map::new();
    m.insert("order_id", id);
    m.insert("total", 40u32);
    m
}

#[test]
fn an_event_changes_the_profile_and_is_queued_only_where_allowed() {
    let opt_in = Mode {
        opt_in: true,
        previewing: false,
    };
    let preview = Mode {
        opt_in: false,
        previewing: true,
    };
    // (mode, a collect endpoint, analytics consent, queued)
    let table = [
        (Mode::default(), true, None, true),
        (Mode::default(), false, None, false),
        (Mode::default(), true, Some(false), false),
        (opt_in, true, None, true), // held in the outbox until consent
        (preview, true, Some(true), false),
    ];
    for (mode, collecting, analytics, queued) in table {
        let mut s = session(mode, collecting);
        s.profile.consent.analytics = analytics;
        let kind = EventKind::Track {
            event: "Product Viewed".into(),
        };
        let effects = s.emit(kind, Map::new(), NOW, &mut SeededRandom::new(1));
        assert!(effects.profile_changed);
        assert_eq!(
            effects.queue.len(),
            usize::from(queued),
            "{mode:?} {collecting} {analytics:?}"
        );
    }
}

#[test]
fn a_campaign_is_chosen_once_per_page_and_a_control_arm_takes_no_space() {
    let mut s = session(Mode::default(), true);
    let mut random = SeededRandom::new(7);
    let (shows, _) = s.decide(&Signal::PageView, NOW);
    let ids: Vec<&str> = shows.iter().map(|s| s.campaign.as_str()).collect();
    assert_eq!(ids, ["welcome", "holdout"]);
    assert!(shows[1].control);
    assert_eq!(
        s.page.occupied.len(),
        1,
        "the modal's slot is taken while drawn"
    );
    assert!(
        s.profile.history("welcome").is_none(),
        "an impression counts when drawn"
    );
    for show in &shows {
        let effects = s.showed(show, NOW, &mut random);
        assert_eq!(names_queued(&effects), [names::CAMPAIGN_SHOWN]);
        let (name, props) = &effects.notify[0];
        assert_eq!(*name, "show");
        assert_eq!(
            props.get("campaign_id"),
            Some(&Value::from(show.campaign.as_str()))
        );
        assert_eq!(props.get("control"), Some(&Value::Bool(show.control)));
    }
    assert_eq!(
        s.page.occupied.len(),
        1,
        "only the drawn modal takes its slot"
    );
    assert_eq!(s.page.shown, ["welcome", "holdout"]);
    // Recorded at once: the next signal on this page shows neither again.
    let (again, _) = s.decide(&Signal::PageView, NOW + 1);
    assert!(again.is_empty());
    assert!(s.profile.history("welcome").is_some());
}

#[test]
fn a_goal_after_an_impression_converts_and_one_order_counts_once() {
    let mut s = session(Mode::default(), true);
    let mut random = SeededRandom::new(3);
    // Before any impression: just the order.
    let effects = s
        .track(names::ORDER_COMPLETED, order("o1"), NOW, &mut random)
        .expect("tracked");
    assert_eq!(names_queued(&effects), [names::ORDER_COMPLETED]);
    assert!(effects.notify.is_empty());
    // The same order again, reported another way: ignored.
    assert_eq!(
        s.track(names::ORDER_COMPLETED, order("o1"), NOW, &mut random),
        Err(Ignored::OrderCounted)
    );
    // Shown, then a new order within the window: a conversion too.
    let (shows, _) = s.decide(&Signal::PageView, NOW);
    s.showed(&shows[0], NOW, &mut random);
    let later = NOW + DAY;
    let effects = s
        .track(names::ORDER_COMPLETED, order("o2"), later, &mut random)
        .expect("tracked");
    assert_eq!(
        names_queued(&effects),
        [names::ORDER_COMPLETED, names::CAMPAIGN_CONVERTED]
    );
    let (name, props) = &effects.notify[0];
    assert_eq!(*name, "convert");
    assert_eq!(props.get("campaign_id"), Some(&Value::from("welcome")));
    assert_eq!(
        props.get("goal"),
        Some(&Value::from(names::ORDER_COMPLETED))
    );
    // A bad name changes nothing.
    let before = s.profile.clone();
    assert!(matches!(
        s.track("", Map::new(), later, &mut random),
        Err(Ignored::EventName(_))
    ));
    assert_eq!(s.profile, before);
}

#[test]
fn dismissing_frees_the_slot_and_signing_up_claims_and_tracks() {
    let mut s = session(Mode::default(), true);
    let mut random = SeededRandom::new(5);
    let (shows, _) = s.decide(&Signal::PageView, NOW);
    s.showed(&shows[0], NOW, &mut random);
    let slot = shows[0].content.layout.slot();
    let effects = s.dismissed("welcome", &slot, NOW, &mut random);
    assert!(s.page.occupied.is_empty());
    assert_eq!(names_queued(&effects), [names::CAMPAIGN_DISMISSED]);
    assert_eq!(effects.notify[0].0, "dismiss");
    assert!(s
        .profile
        .history("welcome")
        .and_then(|h| h.dismissed_at)
        .is_some());

    let effects = s.signed_up("welcome", ("email", "eve@example.com"), NOW, &mut random);
    assert_eq!(names_queued(&effects), ["identify", names::SIGNED_UP]);
    let signed_up = &effects.queue[1];
    let props = signed_up.get("properties").expect("properties");
    assert_eq!(props.get("field"), Some(&Value::from("email")));
    assert_eq!(props.get("campaign_id"), Some(&Value::from("welcome")));
    let clicked = s.clicked("welcome", NOW, &mut random);
    assert_eq!(names_queued(&clicked), [names::CAMPAIGN_CLICKED]);
}

#[test]
fn identify_sets_the_user_only_for_a_valid_id() {
    let mut s = session(Mode::default(), true);
    let mut random = SeededRandom::new(9);
    assert!(matches!(
        s.identify(Some(" ".repeat(300)), Map::new(), NOW, &mut random),
        Err(Ignored::UserId(_))
    ));
    assert_eq!(s.profile.user_id, None);
    let effects = s
        .identify(Some("u1".into()), Map::new(), NOW, &mut random)
        .expect("identified");
    assert_eq!(s.profile.user_id.as_deref(), Some("u1"));
    assert_eq!(effects.queue[0].get("userId"), Some(&Value::from("u1")));
}

fn at(path: &str, search: &str) -> PageContext {
    PageContext {
        path: path.into(),
        search: search.into(),
        url: format!("https://shop.example{path}{search}"),
        ..PageContext::default()
    }
}

#[test]
fn a_page_view_sets_the_page_from_the_shops_words_and_counts_the_last_ones_time() {
    let mut s = session(Mode::default(), true);
    let mut random = SeededRandom::new(11);
    let props = |pairs: &[(&str, Value)]| {
        let mut m = Map::new();
        for (k, v) in pairs {
            m.insert(*k, v.clone());
        }
        m
    };
    let first = props(&[
        ("type", Value::from("product")),
        ("category", Value::from("Scarves")),
        ("product_id", Value::from(42u32)),
        ("name", Value::from("Blue scarf")),
    ]);
    let effects = s.page_view(
        first,
        (at("/p/42", ""), Device::default()),
        NOW,
        &mut random,
    );
    assert_eq!(s.page.page_type.as_deref(), Some("product"));
    assert_eq!(s.page.category.as_deref(), Some("Scarves"));
    assert_eq!(
        s.page.product_id.as_deref(),
        Some("42"),
        "a number is its text"
    );
    assert_eq!(names_queued(&effects), ["page"]);
    assert_eq!(
        effects.queue[0].get("name"),
        Some(&Value::from("Blue scarf"))
    );
    assert_eq!(s.profile.seconds_on_site, 0.0, "no page before the first");
    // Scrolling is the page's; 90 s later the next page view counts them.
    s.scrolled(60);
    s.scrolled(30);
    assert_eq!(s.page.max_scroll, 60);
    let effects = s.page_view(
        Map::new(),
        (at("/cart", ""), Device::default()),
        NOW + 90_000,
        &mut random,
    );
    assert!(effects.profile_changed);
    assert_eq!(s.profile.seconds_on_site, 90.0);
    assert_eq!(
        (s.page.page_type.clone(), s.page.max_scroll),
        (None, 0),
        "a fresh page"
    );
    // Hiding the tab counts the time so far and restarts the count.
    assert!(s.page_time(NOW + 100_000).profile_changed);
    assert_eq!(s.profile.seconds_on_site, 100.0);
    assert!(s.page_time(NOW + 100_000).profile_changed);
    assert_eq!(s.profile.seconds_on_site, 100.0);
}

#[test]
fn a_single_page_apps_new_address_is_a_page_only_for_a_new_path_or_query() {
    let mut s = session(Mode::default(), true);
    let mut random = SeededRandom::new(13);
    s.page_view(
        Map::new(),
        (at("/shop", "?page=1"), Device::default()),
        NOW,
        &mut random,
    );
    // (the new address, a new page)
    let table = [
        (at("/shop", "?page=1"), false),
        (at("/shop", "?page=2"), true),
        (at("/shop/hats", "?page=1"), true),
        (
            PageContext {
                url: "https://shop.example/shop?page=1#reviews".into(),
                ..at("/shop", "?page=1")
            },
            false,
        ),
    ];
    for (address, new_page) in table {
        assert_eq!(s.is_new_page(&address), new_page, "{address:?}");
    }
}

#[test]
fn consent_records_what_was_said_and_a_refusal_withdraws() {
    // (said before, said now: analytics, marketing) -> (kept, withdrawn)
    type Said = (Option<bool>, Option<bool>);
    let table: [(Said, Said, Said, bool); 5] = [
        ((None, None), (Some(true), None), (Some(true), None), false),
        (
            (Some(true), Some(true)),
            (None, Some(false)),
            (Some(true), Some(false)),
            false,
        ),
        (
            (Some(true), Some(true)),
            (Some(false), None),
            (Some(false), Some(true)),
            true,
        ),
        (
            (Some(false), None),
            (Some(true), Some(true)),
            (Some(true), Some(true)),
            false,
        ),
        ((Some(true), None), (None, None), (Some(true), None), false),
    ];
    for (before, now, kept, withdrawn) in table {
        let mut s = session(Mode::default(), true);
        (s.profile.consent.analytics, s.profile.consent.marketing) = before;
        assert_eq!(
            s.consent(now.0, now.1),
            withdrawn,
            "{before:?} then {now:?}"
        );
        let consent = s.profile.consent;
        assert_eq!(
            (consent.analytics, consent.marketing),
            kept,
            "{before:?} then {now:?}"
        );
    }
}

#[test]
fn starting_over_forgets_the_visitor_and_keeps_consent_only_for_a_switch() {
    for keep_consent in [false, true] {
        let mut s = session(Mode::default(), true);
        let mut random = SeededRandom::new(17);
        s.consent(Some(true), Some(false));
        s.identify(Some("alice".into()), Map::new(), NOW, &mut random)
            .expect("identified");
        s.start_over("a2".into(), NOW + 1, keep_consent);
        assert_eq!(s.profile.anonymous_id, "a2");
        assert_eq!(s.profile.user_id, None);
        let consent = s.profile.consent;
        let expected = if keep_consent {
            (Some(true), Some(false))
        } else {
            (None, None)
        };
        assert_eq!((consent.analytics, consent.marketing), expected);
    }
}

#[test]
fn a_campaign_not_drawn_frees_its_slot_counts_no_impression_and_is_not_chosen_again() {
    let mut s = session(Mode::default(), true);
    let (shows, _) = s.decide(&Signal::PageView, NOW);
    assert_eq!(shows[0].campaign, "welcome");
    s.not_drawn(&shows[0]);
    s.not_drawn(&shows[1]); // a control arm holds no slot: nothing to free
    assert!(s.page.occupied.is_empty());
    assert!(s.profile.history("welcome").is_none());
    let (again, _) = s.decide(&Signal::PageView, NOW + 1);
    assert!(again.is_empty(), "chosen once per page, drawn or not");
    // The next page may choose it again: its cap was not spent.
    s.page_view(
        Map::new(),
        (PageContext::default(), Device::default()),
        NOW + 2,
        &mut SeededRandom::new(1),
    );
    let (next, _) = s.decide(&Signal::PageView, NOW + 3);
    assert_eq!(next.len(), 2);
}

/// A scroll campaign on /blog for members, and a page-view one everywhere.
const LATER: &str = r#"{"campaigns": [
  {"id": "now", "trigger": {"page_view": true}, "content": {"layout": "modal", "title": "Hi"}},
  {"id": "scroll", "trigger": {"scroll_depth": 50, "url": {"prefix": "/blog"}},
   "audience": {"traits.member": true}, "content": {"layout": "slide_in", "title": "Read on"}}
]}"#;

#[test]
fn a_campaign_may_show_later_only_where_its_trigger_is_still_to_come() {
    let value = crate::json::parse(LATER, crate::json::Bounds::Refuse).expect("JSON");
    let (config, problems) = Config::from_value(&value);
    assert!(problems.is_empty(), "{problems:?}");
    // (path, member, shown on this page already, paused, may show later)
    let table = [
        ("/blog/a", true, false, false, true),
        ("/shop", true, false, false, false),    // URL filter
        ("/blog/a", false, false, false, false), // audience
        ("/blog/a", true, true, false, false),   // already shown here
        ("/blog/a", true, false, true, false),   // paused
    ];
    for (path, member, shown, paused, later) in table {
        let mut s = Session {
            config: crate::program::pack(&config),
            profile: Profile::new("a1", NOW),
            page: Default::default(),
            twins: Default::default(),
            mode: Mode::default(),
            collecting: false,
        };
        if paused {
            s.config.campaigns[1].status = crate::campaign::Status::Paused;
        }
        let context = PageContext {
            path: path.into(),
            ..Default::default()
        };
        s.page_view(
            Map::new(),
            (context, Device::default()),
            NOW,
            &mut SeededRandom::new(2),
        );
        if member {
            let mut traits = Map::new();
            traits.insert("member", true);
            s.identify(None, traits, NOW, &mut SeededRandom::new(3))
                .expect("traits");
        }
        if shown {
            s.page.shown.push("scroll".into());
        }
        assert_eq!(
            s.may_show_later(NOW),
            later,
            "{path} {member} {shown} {paused}"
        );
    }
}
