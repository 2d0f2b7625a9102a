use super::*;
use crate::json::{parse, Bounds};

fn entry(text: &str) -> Value {
    parse(text, Bounds::Refuse).expect("test JSON")
}

fn events(text: &str) -> Vec<(&'static str, Value)> {
    read(&entry(text))
        .expect("mapped")
        .events
        .into_iter()
        .map(|(name, props)| (name, Value::Object(props)))
        .collect()
}

const ITEM: &str = r#"{"item_id": "trail-runner", "item_name": "Trail Runner", "item_category": "shoes",
    "item_brand": "Fjell", "item_variant": "42", "price": 129, "quantity": 2, "index": 3}"#;

#[test]
fn gtm_and_gtag_forms_of_one_event_map_alike() {
    let gtm = events(&format!(
        r#"{{"event": "add_to_cart", "ecommerce": {{"currency": "EUR", "value": 258, "items": [{ITEM}]}}}}"#
    ));
    let gtag = events(&format!(
        r#"["event", "add_to_cart", {{"currency": "EUR", "value": 258, "items": [{ITEM}]}}]"#
    ));
    assert_eq!(gtm, gtag);
    assert_eq!(
        gtm,
        vec![(
            names::PRODUCT_ADDED,
            entry(
                r#"{"value": 258, "currency": "EUR", "product_id": "trail-runner", "name": "Trail Runner",
                   "brand": "Fjell", "category": "shoes", "variant": "42", "price": 129, "quantity": 2,
                   "position": 3}"#
            )
        )]
    );
}

#[test]
fn every_listed_event_maps_to_its_segment_name() {
    for (ga4, segment) in EVENTS {
        let text = format!(
            r#"["event", "{ga4}", {{"transaction_id": "T1", "value": 10, "items": [{ITEM}]}}]"#
        );
        let mapped = events(&text);
        assert!(!mapped.is_empty(), "{ga4}");
        assert!(mapped.iter().all(|(name, _)| *name == segment), "{ga4}");
    }
}

#[test]
fn a_purchase_is_an_order_with_its_id_revenue_and_total() {
    let [(name, props)] = &events(&format!(
        r#"{{"event": "purchase", "ecommerce": {{"transaction_id": 1001, "value": 100, "tax": 20,
            "shipping": "5.50", "currency": "USD", "coupon": "WELCOME10", "affiliation": "web",
            "items": [{ITEM}, {{"item_name": "Socks", "price": "19.00"}}, {{"price": 3}}]}}}}"#
    ))[..] else {
        panic!("one event")
    };
    assert_eq!(*name, names::ORDER_COMPLETED);
    assert_eq!(props.get("order_id"), Some(&Value::from("1001")));
    assert_eq!(props.get("revenue"), Some(&Value::from(100.0)));
    assert_eq!(props.get("total"), Some(&Value::from(125.5)));
    assert_eq!(props.get("shipping"), Some(&Value::from(5.5)));
    assert_eq!(props.get("coupon"), Some(&Value::from("WELCOME10")));
    assert_eq!(props.get("affiliation"), Some(&Value::from("web")));
    let products = props.get("products").and_then(Value::as_array).unwrap();
    assert_eq!(
        products.len(),
        2,
        "the item with neither id nor name is left out"
    );
    assert_eq!(products[1].get("price"), Some(&Value::from(19.0)));
}

#[test]
fn one_segment_event_per_item_added_with_quantity_one_by_default() {
    let added = events(
        r#"["event", "add_to_cart", {"items": [{"item_id": "a", "price": 5}, {"item_id": 7, "price": 2}]}]"#,
    );
    let ids: Vec<_> = added
        .iter()
        .map(|(_, p)| p.get("product_id").cloned())
        .collect();
    assert_eq!(ids, vec![Some(Value::from("a")), Some(Value::from("7"))]);
    assert!(added
        .iter()
        .all(|(_, p)| p.get("quantity") == Some(&Value::from(1.0))));
}

#[test]
fn page_hints_come_from_settings_product_views_lists_and_carts() {
    let hint = |text: &str| read(&entry(text)).expect("mapped").page;
    let product = hint(&format!(r#"["event", "view_item", {{"items": [{ITEM}]}}]"#));
    assert_eq!(product.page_type.as_deref(), Some("product"));
    assert_eq!(product.category.as_deref(), Some("shoes"));
    assert_eq!(product.product_id.as_deref(), Some("trail-runner"));
    let list = hint(
        r#"{"event": "view_item_list", "ecommerce": {"item_list_id": "outerwear", "item_list_name": "Outerwear", "items": []}}"#,
    );
    assert_eq!(list.list_category.as_deref(), Some("Outerwear"));
    assert_eq!(
        list.category, None,
        "a list on a home page is not a category page"
    );
    assert_eq!(list.page_type, None);
    let set = hint(r#"{"page_type": "category", "page_category": "shoes"}"#);
    assert_eq!(set.page_type.as_deref(), Some("category"));
    assert_eq!(set.category.as_deref(), Some("shoes"));
    let config = hint(r#"["config", "G-1", {"page_type": "home"}]"#);
    assert_eq!(config.page_type.as_deref(), Some("home"));
    let cart = hint(r#"["event", "view_cart", {"items": []}]"#);
    assert_eq!((cart.page_type, cart.implied_type), (None, Some("cart")));
    let explicit = hint(&format!(
        r#"{{"event": "view_item", "pageType": "landing", "page_category": "sale", "ecommerce": {{"items": [{ITEM}]}}}}"#
    ));
    assert_eq!(
        explicit.page_type.as_deref(),
        Some("landing"),
        "the shop's own word wins"
    );
    assert_eq!(explicit.category.as_deref(), Some("sale"));
}

#[test]
fn resets_unknown_events_and_other_pushes_read_as_nothing() {
    for text in [
        r#"{"ecommerce": null}"#,
        r#"{"event": "gtm.js", "gtm.start": 1}"#,
        r#"{"event": "scroll"}"#,
        r#"["js", "2026-11-24"]"#,
        r#"["event"]"#,
        r#"[]"#,
        r#""text""#,
        r#"42"#,
        r#"{"event": ["add_to_cart"]}"#,
    ] {
        assert_eq!(read(&entry(text)), Ok(Mapped::default()), "{text}");
    }
}

#[test]
fn known_events_without_what_they_need_are_malformed() {
    for (text, reason) in [
        (
            r#"["event", "add_to_cart", {}]"#,
            "no item with an item_id or item_name",
        ),
        (
            r#"{"event": "view_item", "ecommerce": {"items": "trail-runner"}}"#,
            "no item with an item_id or item_name",
        ),
        (
            r#"["event", "remove_from_cart", {"items": [{"price": 3}, null, 7]}]"#,
            "no item with an item_id or item_name",
        ),
        (
            r#"["event", "purchase", {"value": 10, "transaction_id": ""}]"#,
            "no transaction_id",
        ),
        (
            r#"{"event": "refund", "ecommerce": null}"#,
            "no transaction_id",
        ),
    ] {
        assert_eq!(
            read(&entry(text)).map(|_| ()).unwrap_err().reason,
            reason,
            "{text}"
        );
    }
}

#[test]
fn non_finite_and_non_numeric_numbers_are_left_out() {
    let [(_, props)] = &events(
        r#"["event", "view_item", {"value": "lots", "items": [{"item_id": "a", "price": "1e999", "quantity": true}]}]"#,
    )[..] else {
        panic!("one event")
    };
    assert_eq!(props.get("value"), None);
    assert_eq!(props.get("price"), None);
    assert_eq!(props.get("quantity"), None);
}

#[test]
fn one_push_gives_at_most_a_bounded_number_of_item_events() {
    let items: Vec<String> = (0..600)
        .map(|i| format!(r#"{{"item_id": "p{i}", "price": 1}}"#))
        .collect();
    let added = events(&format!(
        r#"["event", "add_to_cart", {{"items": [{}]}}]"#,
        items.join(",")
    ));
    assert_eq!(added.len(), MAX_ITEM_EVENTS);
}
