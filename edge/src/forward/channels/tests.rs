//! What each channel's request looks like for the events it takes, and
//! the destinations document's per-kind checks.

use super::*;
use crate::tokens::sha256_hex;
use serde_json::json;

const NOW: i64 = 1_790_000_000_000;

/// A destination as a stored document holds it.
fn dest(d: &Value) -> Destination {
    let mut d = d.clone();
    if d["id"].is_null() {
        d["id"] = "d".into();
    }
    serde_json::from_value(d).unwrap()
}

fn order() -> Value {
    json!({
        "type": "track", "event": "Order Completed", "messageId": "m-1", "anonymousId": "a-1",
        "timestamp": nudge_core::time::to_iso8601(NOW - 60_000),
        "properties": {"order_id": "o-9", "total": 42.5, "currency": "EUR", "products": [{"product_id": "p-1"}]},
        "context": {"page": {"url": "https://shop.test/thanks"}, "userAgent": "UA", "ip": "203.0.113.9"},
    })
}

fn known() -> Contact {
    Contact {
        user_id: Some("u-7".into()),
        email: Some(" Ada@Example.com".into()),
        phone: Some("+15551234567".into()),
        phone_verified: true,
        email_verified: true,
        suppressed: false,
    }
}

fn send(shaped: Shaped) -> (Outgoing, Value) {
    match shaped {
        Shaped::Send(out) => {
            let body = serde_json::from_str(&out.body).unwrap_or(Value::Null);
            (out, body)
        }
        other => panic!("expected a request, got {other:?}"),
    }
}

#[test]
fn klaviyo_event_shape() {
    let d = json!({"kind": "klaviyo"});
    let (out, body) = send(shape(&dest(&d), &order(), &known(), "pk_x", NOW).unwrap());
    assert_eq!(out.url, "https://a.klaviyo.com/api/events");
    assert!(out
        .headers
        .contains(&("authorization", "Klaviyo-API-Key pk_x".into())));
    assert!(out.headers.contains(&("revision", KLAVIYO_REVISION.into())));
    let a = &body["data"]["attributes"];
    assert_eq!(a["metric"]["data"]["attributes"]["name"], "Placed Order");
    assert_eq!(a["unique_id"], "m-1");
    assert_eq!(a["value"], 42.5);
    assert_eq!(a["value_currency"], "EUR");
    let p = &a["profile"]["data"]["attributes"];
    assert_eq!(
        (p["email"].as_str(), p["external_id"].as_str()),
        (Some(" Ada@Example.com"), Some("u-7"))
    );
}

#[test]
fn names_follow_the_destination_map_first() {
    let d = json!({"kind": "klaviyo", "map": {"Order Completed": "Order Placed (web)"}});
    let (_, body) = send(shape(&dest(&d), &order(), &known(), "k", NOW).unwrap());
    assert_eq!(
        body["data"]["attributes"]["metric"]["data"]["attributes"]["name"],
        "Order Placed (web)"
    );
}

#[test]
fn a_page_view_goes_by_page_viewed_and_by_its_call() {
    let page = json!({"type": "page", "messageId": "m-2", "timestamp": "2026-12-07T00:00:00Z",
                      "properties": {}, "context": {}});
    let metric = |d: Value| {
        let (_, body) = send(shape(&dest(&d), &page, &known(), "k", NOW).unwrap());
        body["data"]["attributes"]["metric"]["data"]["attributes"]["name"].clone()
    };
    // The channel's convention, then a map keyed by either name.
    assert_eq!(metric(json!({"kind": "klaviyo"})), "Viewed Page");
    assert_eq!(
        metric(json!({"kind": "klaviyo", "map": {"page": "Visit"}})),
        "Visit"
    );
    let both = json!({"kind": "klaviyo", "map": {"page": "Visit", "Page Viewed": "Seen"}});
    assert_eq!(metric(both), "Seen");
    assert_eq!(names_of(&page).collect::<Vec<_>>(), ["Page Viewed", "page"]);
    let identify = json!({"type": "identify"});
    assert_eq!(names_of(&identify).collect::<Vec<_>>(), ["identify"]);
}

#[test]
fn an_orders_value_is_its_revenue_as_reports_count_it() {
    let mut over = order();
    over["properties"]["total"] = json!(-3);
    over["properties"]["revenue"] = json!(12);
    assert_eq!(value_of(&over), Some(0.0));
    assert_eq!(value_of(&order()), Some(42.5));
    let product = json!({"type": "track", "event": "Product Viewed", "properties": {"price": 9.5}});
    assert_eq!(value_of(&product), Some(9.5));
}

#[test]
fn drip_needs_an_email_and_uses_basic_auth() {
    let d = json!({"kind": "drip", "account": "123"});
    let (out, body) = send(shape(&dest(&d), &order(), &known(), "tok", NOW).unwrap());
    assert_eq!(out.url, "https://api.getdrip.com/v2/123/events");
    assert!(out.headers.contains(&("authorization", basic("tok", ""))));
    assert_eq!(body["events"][0]["action"], "Placed an order");
    let nobody = shape(&dest(&d), &order(), &Contact::default(), "tok", NOW).unwrap();
    assert!(matches!(nobody, Shaped::NotApplicable(_)));
}

#[test]
fn twilio_sends_the_configured_text_to_the_known_phone() {
    let d = json!({"kind": "twilio", "account": "AC0123", "from": "+15550000000",
        "messages": {"Order Completed": "Order {{properties.order_id}} confirmed, {{traits.first_name|friend}}!"}});
    let (out, _) = send(shape(&dest(&d), &order(), &known(), "auth", NOW).unwrap());
    assert_eq!(
        out.url,
        "https://api.twilio.com/2010-04-01/Accounts/AC0123/Messages.json"
    );
    assert_eq!(
        out.body,
        "To=%2B15551234567&From=%2B15550000000&Body=Order+o-9+confirmed%2C+friend%21"
    );
    let mut gone = known();
    gone.suppressed = true;
    assert!(matches!(
        shape(&dest(&d), &order(), &gone, "auth", NOW).unwrap(),
        Shaped::NotApplicable(_)
    ));
    let mut unverified = known();
    unverified.phone_verified = false;
    assert!(matches!(
        shape(&dest(&d), &order(), &unverified, "auth", NOW).unwrap(),
        Shaped::NotApplicable(_)
    ));
    let mut view = order();
    view["event"] = "Product Viewed".into();
    assert!(matches!(
        shape(&dest(&d), &view, &known(), "auth", NOW).unwrap(),
        Shaped::NotApplicable(_)
    ));
}

#[test]
fn meta_hashes_user_data_and_shares_the_event_id() {
    let d = json!({"kind": "meta", "pixel": "987", "test_event_code": "TEST1"});
    let (out, body) = send(shape(&dest(&d), &order(), &known(), "EAAB", NOW).unwrap());
    assert_eq!(
        out.url,
        format!("https://graph.facebook.com/{META_GRAPH_VERSION}/987/events")
    );
    let e = &body["data"][0];
    assert_eq!(
        (e["event_name"].as_str(), e["event_id"].as_str()),
        (Some("Purchase"), Some("m-1"))
    );
    assert_eq!(e["event_time"], (NOW - 60_000) / 1000);
    assert_eq!(e["user_data"]["em"][0], sha256_hex("ada@example.com"));
    assert_eq!(e["user_data"]["ph"][0], sha256_hex("15551234567"));
    assert_eq!(e["user_data"]["client_user_agent"], "UA");
    assert_eq!(e["custom_data"]["content_ids"], json!(["p-1"]));
    assert_eq!(
        (
            body["access_token"].as_str(),
            body["test_event_code"].as_str()
        ),
        (Some("EAAB"), Some("TEST1"))
    );
    let mut old = order();
    old["timestamp"] = nudge_core::time::to_iso8601(NOW - META_MAX_AGE_MS - 1).into();
    assert!(matches!(
        shape(&dest(&d), &old, &known(), "EAAB", NOW).unwrap(),
        Shaped::NotApplicable(_)
    ));
}

#[test]
fn contact_fields_inside_an_event_address_nobody() {
    // An anonymous event naming a phone and an email: an SMS relay attempt.
    let mut relay = order();
    relay["properties"]["phone"] = "+15559990000".into();
    relay["properties"]["email"] = "victim@example.com".into();
    relay["traits"] = json!({"phone": "+15559990000"});
    let d = json!({"kind": "twilio", "account": "AC0123", "from": "+15550000000",
        "messages": {"Order Completed": "Hi {{properties.order_id}}"}});
    assert!(matches!(
        shape(&dest(&d), &relay, &Contact::default(), "auth", NOW).unwrap(),
        Shaped::NotApplicable(_)
    ));
    let (out, _) = send(shape(&dest(&d), &relay, &known(), "auth", NOW).unwrap());
    assert!(out.body.starts_with("To=%2B15551234567"), "{}", out.body);
    let klaviyo = json!({"kind": "klaviyo"});
    let (_, body) = send(shape(&dest(&klaviyo), &relay, &Contact::default(), "k", NOW).unwrap());
    assert!(body["data"]["attributes"]["profile"]["data"]["attributes"]["email"].is_null());
}

#[test]
fn kind_specific_fields_are_checked() {
    let paths =
        |d: Value| -> Vec<String> { validate_kind(0, &d).into_iter().map(|p| p.path).collect() };
    assert_eq!(paths(json!({"kind": "drip"})), ["destinations[0].account"]);
    assert_eq!(
        paths(json!({"kind": "meta", "pixel": "12a"})),
        ["destinations[0].pixel"]
    );
    assert_eq!(
        paths(
            json!({"kind": "twilio", "account": "AC1", "from": "555", "events": ["*", "Order Completed"]})
        ),
        [
            "destinations[0].account",
            "destinations[0].from",
            "destinations[0].events[0]",
            "destinations[0].messages.Order Completed"
        ]
    );
    assert!(paths(json!({"kind": "klaviyo"})).is_empty());
    assert_eq!(
        paths(json!({"kind": "klaviyo", "map": {"a": 1}})),
        ["destinations[0].map"]
    );
}
