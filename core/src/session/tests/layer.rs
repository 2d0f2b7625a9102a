//! The shop's GA4 events: what they tell the page, and twins counted once.

use crate::decide::PageState;
use crate::ga4::{Mapped, PageHint};
use crate::session::layer::{hint_first_page_view, learn_page, Learnt, Twins, TWIN_WINDOW};
use crate::value::{Map, Value};

fn hint(page_type: Option<&str>, category: Option<&str>) -> PageHint {
    PageHint {
        page_type: page_type.map(str::to_owned),
        category: category.map(str::to_owned),
        ..PageHint::default()
    }
}

fn early(hints: Vec<PageHint>) -> Vec<Mapped> {
    hints
        .into_iter()
        .map(|page| Mapped {
            events: Vec::new(),
            page,
        })
        .collect()
}

fn props(pairs: &[(&str, &str)]) -> Map {
    let mut map = Map::new();
    for (k, v) in pairs {
        map.insert(*k, *v);
    }
    map
}

#[test]
fn the_first_page_view_takes_what_the_early_entries_say_where_the_shop_said_nothing() {
    let cart = PageHint {
        implied_type: Some("cart"),
        ..PageHint::default()
    };
    let list = PageHint {
        list_category: Some("Hats".into()),
        ..PageHint::default()
    };
    let product = PageHint {
        product_id: Some("p1".into()),
        category: Some("Scarves".into()),
        ..PageHint::default()
    };
    // (early hints, the shop's own properties, the page view's properties)
    let table: Vec<(Vec<PageHint>, Map, Map)> = vec![
        (
            vec![],
            props(&[("type", "home")]),
            props(&[("type", "home")]),
        ),
        // The shop's word wins over any hint.
        (
            vec![hint(Some("category"), Some("Hats"))],
            props(&[("type", "product")]),
            props(&[("type", "product"), ("category", "Hats")]),
        ),
        // The first hint that says something wins.
        (
            vec![hint(Some("product"), None), hint(Some("category"), None)],
            Map::new(),
            props(&[("type", "product")]),
        ),
        // A weaker hint only where no stronger one said.
        (vec![cart.clone()], Map::new(), props(&[("type", "cart")])),
        (
            vec![cart.clone(), hint(Some("checkout"), None)],
            Map::new(),
            props(&[("type", "checkout")]),
        ),
        // A list's name is a category only on a category page.
        (vec![list.clone()], Map::new(), Map::new()),
        (
            vec![list.clone(), hint(Some("category"), None)],
            Map::new(),
            props(&[("type", "category"), ("category", "Hats")]),
        ),
        (
            vec![product.clone()],
            Map::new(),
            props(&[("category", "Scarves"), ("product_id", "p1")]),
        ),
    ];
    for (hints, mut properties, expected) in table {
        let described = format!("{hints:?} {properties:?}");
        hint_first_page_view(&early(hints), &mut properties);
        for key in ["type", "category", "product_id"] {
            assert_eq!(
                properties.get(key),
                expected.get(key),
                "{key} of {described}"
            );
        }
    }
}

#[test]
fn a_later_entry_fills_only_what_the_page_did_not_say() {
    let page = |page_type: Option<&str>, category: Option<&str>| PageState {
        page_type: page_type.map(str::to_owned),
        category: category.map(str::to_owned),
        ..PageState::default()
    };
    let view_cart = PageHint {
        implied_type: Some("cart"),
        ..PageHint::default()
    };
    let list = PageHint {
        list_category: Some("Hats".into()),
        ..PageHint::default()
    };
    // (page, hint, learnt, type and category after)
    let table = [
        (
            page(None, None),
            hint(Some("product"), None),
            Learnt::Something,
            (Some("product"), None),
        ),
        (
            page(Some("home"), None),
            hint(Some("product"), None),
            Learnt::Nothing,
            (Some("home"), None),
        ),
        (
            page(None, None),
            hint(None, Some("Hats")),
            Learnt::Category,
            (None, Some("Hats")),
        ),
        (
            page(None, Some("Scarves")),
            hint(None, Some("Hats")),
            Learnt::Nothing,
            (None, Some("Scarves")),
        ),
        // A cart drawer on any page: the weaker hints teach nothing later.
        (page(None, None), view_cart, Learnt::Nothing, (None, None)),
        (
            page(Some("home"), None),
            list.clone(),
            Learnt::Nothing,
            (Some("home"), None),
        ),
        (
            page(Some("category"), None),
            list,
            Learnt::Category,
            (Some("category"), Some("Hats")),
        ),
    ];
    for (mut page, hint, learnt, (page_type, category)) in table {
        let described = format!("{hint:?}");
        assert_eq!(learn_page(&mut page, &hint), learnt, "{described}");
        assert_eq!(page.page_type.as_deref(), page_type, "{described}");
        assert_eq!(page.category.as_deref(), category, "{described}");
    }
}

#[test]
fn one_add_reported_both_ways_counts_once() {
    let added = |id: &str| props(&[("product_id", id)]);
    const ADDED: &str = "Product Added";
    const REMOVED: &str = "Product Removed";
    // (reports in order: from GA4?, event, product, at) and which are twins
    type Report = (bool, &'static str, &'static str, i64);
    let table: &[(&[Report], &[bool])] = &[
        // GA4 then nudge.track, and the other way round.
        (
            &[(true, ADDED, "p1", 0), (false, ADDED, "p1", 10)],
            &[false, true],
        ),
        (
            &[(false, ADDED, "p1", 0), (true, ADDED, "p1", 10)],
            &[false, true],
        ),
        // One source twice: two adds.
        (
            &[(true, ADDED, "p1", 0), (true, ADDED, "p1", 10)],
            &[false, false],
        ),
        // Too far apart, another product, another event: not twins.
        (
            &[
                (true, ADDED, "p1", 0),
                (false, ADDED, "p1", TWIN_WINDOW + 1),
            ],
            &[false, false],
        ),
        (
            &[(true, ADDED, "p1", 0), (false, ADDED, "p2", 10)],
            &[false, false],
        ),
        (
            &[(true, ADDED, "p1", 0), (false, REMOVED, "p1", 10)],
            &[false, false],
        ),
        // A twin pairs once: a third report is an add of its own.
        (
            &[
                (true, ADDED, "p1", 0),
                (false, ADDED, "p1", 10),
                (false, ADDED, "p1", 20),
            ],
            &[false, true, false],
        ),
        // Other events are never twins.
        (
            &[
                (true, "Order Completed", "p1", 0),
                (false, "Order Completed", "p1", 1),
            ],
            &[false, false],
        ),
    ];
    for (reports, twins) in table {
        let mut pairs = Twins::default();
        let seen: Vec<bool> = reports
            .iter()
            .map(|(layer, event, product, at)| pairs.is_twin(*layer, event, &added(product), *at))
            .collect();
        assert_eq!(&seen, twins, "{reports:?}");
    }
    // Without a product id there is nothing to pair.
    let mut pairs = Twins::default();
    assert!(!pairs.is_twin(true, ADDED, &Map::new(), 0));
    assert!(!pairs.is_twin(false, ADDED, &Map::new(), 0));
    // A number and its text are one product (the page may say either).
    let mut numbered = Map::new();
    numbered.insert("product_id", Value::from(7u32));
    assert!(!pairs.is_twin(true, ADDED, &numbered, 0));
    assert!(pairs.is_twin(false, ADDED, &added("7"), 0));
}

#[test]
fn at_most_fifty_reports_wait_for_their_twin() {
    let mut pairs = Twins::default();
    let added = |i: usize| props(&[("product_id", &i.to_string())]);
    for i in 0..60 {
        assert!(!pairs.is_twin(true, "Product Added", &added(i), 0));
    }
    assert!(pairs.is_twin(false, "Product Added", &added(49), 0));
    assert!(
        !pairs.is_twin(false, "Product Added", &added(50), 0),
        "never remembered"
    );
}
