use super::*;
use crate::event::{Event, EventKind, PageContext};

fn track(name: &str, props: &[(&str, Value)], at: Millis) -> Event {
    let mut properties = Map::new();
    for (k, v) in props {
        properties.insert(*k, v.clone());
    }
    Event {
        id: format!("e{at}"),
        kind: EventKind::Track { event: name.into() },
        anonymous_id: "a".into(),
        user_id: None,
        timestamp: at,
        properties,
        page: PageContext::default(),
        consent: Default::default(),
    }
}

#[test]
fn cart_and_orders_follow_ecommerce_events() {
    let mut p = Profile::new("a", 0);
    p.apply(&track(
        names::PRODUCT_ADDED,
        &[("price", 20.0.into()), ("quantity", 2.0.into())],
        1,
    ));
    assert_eq!(
        p.cart,
        Cart {
            items: 2,
            value: 40.0
        }
    );
    p.apply(&track(names::ORDER_COMPLETED, &[("total", 40.0.into())], 2));
    assert_eq!((p.orders, p.total_spent, p.cart.items), (1, 40.0, 0));
    assert!(p.is_customer());
}

/// The profile counts an order's revenue as the edge's persons, reports and
/// channels do (`event::order_revenue`): never the cart's guess, never
/// negative, bounded.
#[test]
fn an_orders_revenue_is_read_as_the_edge_reads_it() {
    let mut p = Profile::new("a", 0);
    p.apply(&track(names::PRODUCT_ADDED, &[("price", 20.0.into())], 1));
    p.apply(&track(names::ORDER_COMPLETED, &[], 2));
    assert_eq!((p.orders, p.total_spent), (1, 0.0));
    let negative = [("total", (-5.0).into()), ("revenue", 30.0.into())];
    p.apply(&track(names::ORDER_COMPLETED, &negative, 3));
    assert_eq!(p.total_spent, 0.0);
    p.apply(&track(
        names::ORDER_COMPLETED,
        &[("revenue", 1e300.into())],
        4,
    ));
    assert_eq!(p.total_spent, crate::event::MAX_ORDER_REVENUE);
}

#[test]
fn an_order_id_is_remembered_so_a_second_report_is_known() {
    let mut p = Profile::new("a", 0);
    let order = |id: Value| {
        let mut props = Map::new();
        props.insert("order_id", id);
        props
    };
    assert!(!p.counted_order(&order("T-1".into())));
    p.apply(&track(
        names::ORDER_COMPLETED,
        &[("order_id", 1001.0.into())],
        1,
    ));
    assert!(
        p.counted_order(&order("1001".into())),
        "a number and its text are one id"
    );
    assert!(p.counted_order(&order(1001.0.into())));
    assert!(!p.counted_order(&order("T-1".into())));
    assert!(!p.counted_order(&Map::new()), "no id: nothing to compare");
    for n in 0..30 {
        p.apply(&track(
            names::ORDER_COMPLETED,
            &[("order_id", Value::from(format!("N{n}")))],
            2,
        ));
    }
    assert_eq!(p.order_ids.len(), MAX_ORDER_IDS);
    assert!(p.counted_order(&order("N29".into())));
    assert_eq!(Profile::from_stored(&p.to_stored()).unwrap(), p);
}

#[test]
fn sessions_start_after_thirty_idle_minutes() {
    let mut p = Profile::new("a", 0);
    assert!(!p.touch(SESSION_TIMEOUT));
    assert!(p.touch(2 * SESSION_TIMEOUT + 1));
    assert_eq!(p.sessions, 2);
}

#[test]
fn stored_round_trip_and_resets() {
    let mut p = Profile::new("a", 5);
    p.apply(&track(names::PRODUCT_ADDED, &[("price", 9.5.into())], 6));
    p.record("welcome", Some("b"), Outcome::Shown, 7);
    p.set_trait("first_name", &"Ada".into());
    assert!(p.saw_scroll_depth(40));
    assert!(!p.saw_scroll_depth(30));
    assert_eq!(Profile::from_stored(&p.to_stored()).unwrap(), p);

    for junk in [Value::Null, Value::from("x"), Value::from(vec![1.0]), {
        let mut m = Map::new();
        m.insert("v", 99.0);
        Value::Object(m)
    }] {
        assert!(Profile::from_stored(&junk).is_err(), "{junk:?}");
    }
}

#[test]
fn migrates_format_one() {
    let mut old = Map::new();
    old.insert("v", 1.0);
    old.insert("aid", "a");
    old.insert("last", 10.0);
    old.insert("cart_items", 3.0);
    old.insert("cart_value", 30.0);
    let mut shown = Map::new();
    shown.insert("welcome", 2.0);
    old.insert("shown", shown);
    let p = Profile::from_stored(&Value::Object(old)).unwrap();
    assert_eq!(
        p.cart,
        Cart {
            items: 3,
            value: 30.0
        }
    );
    assert_eq!(p.history("welcome").map(|h| h.total_impressions), Some(2));
}

#[test]
fn lists_stay_capped() {
    let mut p = Profile::new("a", 0);
    for i in 0..100 {
        p.apply(&track(
            names::PRODUCT_VIEWED,
            &[("product_id", Value::from(i as f64))],
            i,
        ));
        p.add_tag(&format!("t{i}"));
    }
    assert_eq!(p.viewed_products.len(), MAX_PRODUCTS);
    assert_eq!(p.viewed_products.last().map(String::as_str), Some("99"));
    assert_eq!(p.tags.len(), MAX_TAGS);
}

#[test]
fn remote_facts_merge_without_losing_local_state() {
    let mut p = Profile::new("a", 0);
    p.record("welcome", None, Outcome::Shown, 10);
    let mut remote_history = CampaignHistory {
        id: "welcome".into(),
        impressions: vec![5],
        total_impressions: 3,
        ..Default::default()
    };
    remote_history.converted_at = Some(6);
    p.merge_remote(&RemoteFacts {
        orders: 2,
        coupons: vec![Coupon {
            code: "BACK10".into(),
            issued_at: 1,
            expires_at: None,
            redeemed: false,
        }],
        campaigns: vec![remote_history],
        ..Default::default()
    });
    let h = p.history("welcome").unwrap();
    assert_eq!(
        (h.total_impressions, h.impressions.clone(), h.converted_at),
        (3, vec![5, 10], Some(6))
    );
    assert_eq!(p.orders, 2);
    assert_eq!(p.usable_coupons(0).count(), 1);
}

/// A long remote answer is read only as far as a profile keeps, so merging
/// it stays cheap: the newest impressions, the first campaigns.
#[test]
fn remote_facts_are_read_within_the_profile_caps() {
    let history = |i: usize| {
        let mut h = Map::new();
        h.insert("id", format!("c{i}"));
        h.insert("imp", (0..1000u32).map(Value::from).collect::<Vec<_>>());
        Value::Object(h)
    };
    let mut wire = Map::new();
    wire.insert("campaigns", (0..200).map(history).collect::<Vec<_>>());
    let remote = RemoteFacts::from_wire(&Value::Object(wire)).unwrap();
    assert_eq!(remote.campaigns.len(), MAX_CAMPAIGNS);
    let newest: Vec<Millis> = (980..1000).collect();
    assert_eq!(remote.campaigns[0].impressions, newest);
    let mut p = Profile::new("a", 0);
    p.merge_remote(&remote);
    assert_eq!(p.campaigns.len(), MAX_CAMPAIGNS);
}

mod merge_remote_says_what_changed {
    //! `merge_remote` tracks what it changes instead of comparing whole
    //! profiles; here it is checked against that comparison.
    use super::*;
    use proptest::prelude::*;

    fn coupon() -> impl Strategy<Value = Coupon> {
        (
            0..4u8,
            0..3i64,
            proptest::option::of(0..3i64),
            any::<bool>(),
        )
            .prop_map(|(code, issued_at, expires_at, redeemed)| Coupon {
                code: format!("C{code}"),
                issued_at,
                expires_at,
                redeemed,
            })
    }

    fn history() -> impl Strategy<Value = CampaignHistory> {
        (
            0..4u8,
            // As `RemoteFacts::from_wire` reads them: at most the newest 20.
            proptest::collection::vec(0..30i64, 0..=20),
            0..40u32,
            proptest::option::of(0..5i64),
            proptest::option::of(0..5i64),
        )
            .prop_map(|(id, mut impressions, total, dismissed_at, converted_at)| {
                impressions.sort();
                impressions.dedup();
                CampaignHistory {
                    id: format!("c{id}"),
                    impressions,
                    total_impressions: total,
                    dismissed_at,
                    converted_at,
                    ..Default::default()
                }
            })
    }

    fn segments() -> impl Strategy<Value = Vec<String>> {
        proptest::collection::vec((0..3u8).prop_map(|s| format!("s{s}")), 0..3)
    }

    fn remote() -> impl Strategy<Value = RemoteFacts> {
        (
            proptest::option::of((0..3u8).prop_map(|u| format!("u{u}"))),
            0..4u32,
            (0..3u8).prop_map(f64::from),
            proptest::collection::vec(coupon(), 0..4),
            segments(),
            proptest::collection::vec(history(), 0..4),
        )
            .prop_map(
                |(user_id, orders, total_spent, coupons, segments, campaigns)| RemoteFacts {
                    user_id,
                    orders,
                    total_spent,
                    coupons,
                    segments,
                    campaigns,
                },
            )
    }

    proptest! {
        #[test]
        fn the_flag_is_whether_the_profile_differs(local in remote(), merged in remote()) {
            // A local profile as merges and records leave it.
            let mut p = Profile::new("a", 0);
            p.merge_remote(&local);
            let before = p.clone();
            let changed = p.merge_remote(&merged);
            prop_assert_eq!(changed, p != before);
            // Merging the same facts again changes nothing.
            let again = p.clone();
            prop_assert!(!p.merge_remote(&merged));
            prop_assert_eq!(p, again);
        }
    }
}
