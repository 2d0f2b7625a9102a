//! What each offsite channel expects: one collected event (Segment-shaped
//! wire JSON) turned into the request a destination's API takes.
//!
//! Pure: no I/O, no clock, no secrets lookup. The queue consumer
//! (`forward.rs`) supplies the secret, the person's contact details and the
//! time, then sends what comes back. Each kind also accepts a `map` of event
//! names (ours → theirs) that overrides its default names.
//!
//! | kind    | request                                   | auth (the named Worker secret)      |
//! |---------|-------------------------------------------|-------------------------------------|
//! | webhook | the event as is, Standard Webhooks signed | whsec_ signing key                  |
//! | klaviyo | Events API (`/api/events`), identify → profile import | `Klaviyo-API-Key` header  |
//! | drip    | v2 events API, identify → subscriber      | API token (HTTP Basic)              |
//! | twilio  | Messages API: an SMS for configured events | auth token (Basic, with account SID) |
//! | meta    | Conversions API, hashed user data         | access token (in the body)          |

use crate::tokens::sha256_hex;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Map, Value};

/// Everything that can be configured; `url` is required for `webhook` only.
pub const KINDS: &[&str] = &["webhook", "klaviyo", "drip", "twilio", "meta"];

/// Klaviyo's API version this shape follows (sent as its `revision` header).
pub const KLAVIYO_REVISION: &str = "2024-10-15";
/// The Graph API version for Meta's Conversions API.
pub const META_GRAPH_VERSION: &str = "v21.0";
/// Meta refuses a whole request holding an event older than this.
const META_MAX_AGE_MS: i64 = 7 * 24 * 3600 * 1000;

/// What the edge knows about the person behind an event, for channels that
/// address people (an email for Klaviyo and Drip, a phone for Twilio).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Contact {
    pub user_id: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// The person unsubscribed through a channel: no marketing messages.
    pub unsubscribed: bool,
}

/// One request to send.
#[derive(Debug, PartialEq)]
pub struct Outgoing {
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

/// What to do with one event for one destination.
#[derive(Debug, PartialEq)]
pub enum Shaped {
    Send(Outgoing),
    /// This channel has nothing to do with the event (Drip without an email,
    /// Twilio for someone unsubscribed, Meta for an event over 7 days old).
    /// Not a failure: sending it could never succeed.
    NotApplicable(String),
}

/// The request `destination` takes for `event`. `Err` is a configuration
/// problem (a malformed secret, say): the delivery is filed as a dead letter.
pub fn shape(
    destination: &Value,
    event: &Value,
    contact: &Contact,
    secret: &str,
    now_ms: i64,
) -> Result<Shaped, String> {
    let contact = &contact_for(event, contact);
    match destination["kind"].as_str().unwrap_or_default() {
        "webhook" => webhook(destination, event, secret, now_ms),
        "klaviyo" => Ok(klaviyo(destination, event, contact, secret)),
        "drip" => Ok(drip(destination, event, contact, secret)),
        "twilio" => Ok(twilio(destination, event, contact, secret)),
        "meta" => Ok(meta(destination, event, contact, secret, now_ms)),
        other => Err(format!("unknown destination kind {other:?}")),
    }
}

/// The event's own details first (an identify's traits, the email typed into
/// a popup that a "Signed Up" carries), then what the edge has on record.
fn contact_for(event: &Value, known: &Contact) -> Contact {
    let own = |field: &str| {
        [
            &event["traits"],
            &event["properties"],
            &event["context"]["traits"],
        ]
        .iter()
        .find_map(|source| source[field].as_str())
        .filter(|v| !v.trim().is_empty())
        .map(|v| v.trim().to_owned())
    };
    Contact {
        user_id: event["userId"]
            .as_str()
            .map(str::to_owned)
            .or_else(|| known.user_id.clone()),
        email: own("email").or_else(|| known.email.clone()),
        phone: own("phone").or_else(|| known.phone.clone()),
        unsubscribed: known.unsubscribed,
    }
}

/// Our name for the event: a track's name, else its type (`page`, `identify`).
pub fn event_name(event: &Value) -> &str {
    match event["type"].as_str() {
        Some("track") => event["event"].as_str().unwrap_or_default(),
        other => other.unwrap_or_default(),
    }
}

/// The destination's name for the event: its own `map` first, then the
/// channel's conventional name, else ours unchanged.
fn their_name(destination: &Value, event: &Value, defaults: &[(&str, &str)]) -> String {
    let ours = event_name(event);
    destination["map"][ours]
        .as_str()
        .or_else(|| defaults.iter().find(|(o, _)| *o == ours).map(|(_, t)| *t))
        .unwrap_or(ours)
        .to_owned()
}

/// `url` overrides an API's base (a proxy, or a local stand-in in tests).
fn base<'a>(destination: &'a Value, default: &'a str) -> &'a str {
    destination["url"]
        .as_str()
        .unwrap_or(default)
        .trim_end_matches('/')
}

/// The order or product value of an event, if it has one.
fn value_of(props: &Value) -> Option<f64> {
    ["total", "revenue", "value", "price"]
        .iter()
        .find_map(|k| props[*k].as_f64())
}

fn idempotency(event: &Value) -> (&'static str, String) {
    (
        "idempotency-key",
        event["messageId"].as_str().unwrap_or_default().to_owned(),
    )
}

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{password}")))
}

fn webhook(
    destination: &Value,
    event: &Value,
    secret: &str,
    now_ms: i64,
) -> Result<Shaped, String> {
    let id = event["messageId"].as_str().unwrap_or_default();
    let body = event.to_string();
    let timestamp = (now_ms / 1000).to_string();
    let signature = crate::tokens::sign_webhook(secret, id, &timestamp, &body)?;
    Ok(Shaped::Send(Outgoing {
        url: destination["url"].as_str().unwrap_or_default().to_owned(),
        headers: vec![
            ("content-type", "application/json".into()),
            ("webhook-id", id.into()),
            ("webhook-timestamp", timestamp),
            ("webhook-signature", signature),
            idempotency(event),
        ],
        body,
    }))
}

/// Klaviyo's names for the e-commerce events its flows are built on.
const KLAVIYO_NAMES: &[(&str, &str)] = &[
    ("page", "Viewed Page"),
    ("Product Viewed", "Viewed Product"),
    ("Product Added", "Added to Cart"),
    ("Checkout Started", "Started Checkout"),
    ("Order Completed", "Placed Order"),
];

fn klaviyo(destination: &Value, event: &Value, contact: &Contact, secret: &str) -> Shaped {
    let mut profile = Map::new();
    if let Some(email) = &contact.email {
        profile.insert("email".into(), email.as_str().into());
    }
    if let Some(phone) = &contact.phone {
        profile.insert("phone_number".into(), phone.as_str().into());
    }
    if let Some(user) = &contact.user_id {
        profile.insert("external_id".into(), user.as_str().into());
    }
    // Klaviyo's own onsite id: events before an email is known still build
    // the profile it later merges.
    profile.insert("anonymous_id".into(), event["anonymousId"].clone());
    let base = base(destination, "https://a.klaviyo.com");
    let (url, body) = if event["type"] == "identify" {
        for (ours, theirs) in [("first_name", "first_name"), ("last_name", "last_name")] {
            if let Some(v) = event["traits"][ours].as_str() {
                profile.insert(theirs.into(), v.into());
            }
        }
        (
            format!("{base}/api/profile-import"),
            json!({"data": {"type": "profile", "attributes": profile}}),
        )
    } else {
        let props = &event["properties"];
        let mut attributes = json!({
            "properties": props,
            "time": event["timestamp"],
            "unique_id": event["messageId"],
            "metric": {"data": {"type": "metric", "attributes": {"name": their_name(destination, event, KLAVIYO_NAMES)}}},
            "profile": {"data": {"type": "profile", "attributes": profile}},
        });
        if let Some(value) = value_of(props) {
            attributes["value"] = json!(value);
            if let Some(currency) = props["currency"].as_str() {
                attributes["value_currency"] = currency.into();
            }
        }
        (
            format!("{base}/api/events"),
            json!({"data": {"type": "event", "attributes": attributes}}),
        )
    };
    Shaped::Send(Outgoing {
        url,
        headers: vec![
            ("content-type", "application/vnd.api+json".into()),
            ("accept", "application/vnd.api+json".into()),
            ("revision", KLAVIYO_REVISION.into()),
            ("authorization", format!("Klaviyo-API-Key {secret}")),
            idempotency(event),
        ],
        body: body.to_string(),
    })
}

/// Drip's conventional action names.
const DRIP_NAMES: &[(&str, &str)] = &[
    ("page", "Viewed a page"),
    ("Product Viewed", "Viewed a product"),
    ("Product Added", "Added a product to cart"),
    ("Checkout Started", "Started checkout"),
    ("Order Completed", "Placed an order"),
    ("Signed Up", "Signed up"),
];

fn drip(destination: &Value, event: &Value, contact: &Contact, secret: &str) -> Shaped {
    // Drip keys every person by email.
    let Some(email) = &contact.email else {
        return Shaped::NotApplicable("Drip needs the person's email, which is not known".into());
    };
    let account = destination["account"].as_str().unwrap_or_default();
    let base = base(destination, "https://api.getdrip.com");
    let (url, body) = if event["type"] == "identify" {
        let mut subscriber = json!({"email": email});
        if let Some(user) = &contact.user_id {
            subscriber["user_id"] = user.as_str().into();
        }
        if let Some(phone) = &contact.phone {
            subscriber["phone"] = phone.as_str().into();
        }
        for field in ["first_name", "last_name"] {
            if let Some(v) = event["traits"][field].as_str() {
                subscriber[field] = v.into();
            }
        }
        (
            format!("{base}/v2/{account}/subscribers"),
            json!({"subscribers": [subscriber]}),
        )
    } else {
        (
            format!("{base}/v2/{account}/events"),
            json!({"events": [{
                "email": email,
                "action": their_name(destination, event, DRIP_NAMES),
                "properties": event["properties"],
                "occurred_at": event["timestamp"],
            }]}),
        )
    };
    Shaped::Send(Outgoing {
        url,
        headers: vec![
            ("content-type", "application/json".into()),
            ("authorization", basic(secret, "")),
            idempotency(event),
        ],
        body: body.to_string(),
    })
}

fn twilio(destination: &Value, event: &Value, contact: &Contact, secret: &str) -> Shaped {
    let Some(template) = destination["messages"][event_name(event)].as_str() else {
        return Shaped::NotApplicable("no message is configured for this event".into());
    };
    if contact.unsubscribed {
        return Shaped::NotApplicable("the person unsubscribed".into());
    }
    let Some(phone) = contact
        .phone
        .as_deref()
        .and_then(|p| nudge_core::capture::normalize_phone(p).ok())
    else {
        return Shaped::NotApplicable("no valid phone number is known for the person".into());
    };
    let account = destination["account"].as_str().unwrap_or_default();
    let from = destination["from"].as_str().unwrap_or_default();
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("To", &phone);
    // A Messaging Service SID (MG...) picks the sender itself.
    form.append_pair(
        if from.starts_with("MG") {
            "MessagingServiceSid"
        } else {
            "From"
        },
        from,
    );
    form.append_pair("Body", &fill(template, event));
    Shaped::Send(Outgoing {
        url: format!(
            "{}/2010-04-01/Accounts/{account}/Messages.json",
            base(destination, "https://api.twilio.com")
        ),
        headers: vec![
            ("content-type", "application/x-www-form-urlencoded".into()),
            ("authorization", basic(account, secret)),
            idempotency(event),
        ],
        body: form.finish(),
    })
}

/// An SMS text with `{{properties.order_id}}`-style fields from the event
/// (core's campaign templates: a fallback after `|`, plain text out).
fn fill(template: &str, event: &Value) -> String {
    let mut attributes = nudge_core::condition::Attributes::new();
    if let Value::Object(fields) = event {
        for (key, value) in fields {
            if let Ok(value) = serde_json::from_value::<nudge_core::Value>(value.clone()) {
                attributes.insert(key.as_str(), value);
            }
        }
    }
    nudge_core::template::render(template, &attributes, &[])
}

/// Meta's standard events.
const META_NAMES: &[(&str, &str)] = &[
    ("page", "PageView"),
    ("Product Viewed", "ViewContent"),
    ("Product Added", "AddToCart"),
    ("Checkout Started", "InitiateCheckout"),
    ("Order Completed", "Purchase"),
    ("Signed Up", "Lead"),
    ("Products Searched", "Search"),
];

fn meta(
    destination: &Value,
    event: &Value,
    contact: &Contact,
    secret: &str,
    now_ms: i64,
) -> Shaped {
    if event["type"] == "identify" {
        return Shaped::NotApplicable("the Conversions API takes events, not profiles".into());
    }
    let at = event["timestamp"]
        .as_str()
        .and_then(nudge_core::time::parse_iso8601)
        .unwrap_or(now_ms)
        .min(now_ms);
    if now_ms - at > META_MAX_AGE_MS {
        return Shaped::NotApplicable("older than 7 days: Meta refuses it".into());
    }
    // Meta matches on SHA-256 of normalized values: lowercased email, phone digits.
    let mut user = Map::new();
    if let Some(email) = &contact.email {
        user.insert(
            "em".into(),
            json!([sha256_hex(&email.trim().to_lowercase())]),
        );
    }
    if let Some(phone) = &contact.phone {
        let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
        if !digits.is_empty() {
            user.insert("ph".into(), json!([sha256_hex(&digits)]));
        }
    }
    let person = contact
        .user_id
        .as_deref()
        .or(event["anonymousId"].as_str())
        .unwrap_or_default();
    user.insert("external_id".into(), json!([sha256_hex(person)]));
    let context = &event["context"];
    for (ours, theirs) in [
        ("ip", "client_ip_address"),
        ("userAgent", "client_user_agent"),
    ] {
        if let Some(v) = context[ours].as_str() {
            user.insert(theirs.into(), v.into());
        }
    }
    let props = &event["properties"];
    let mut custom = Map::new();
    if let Some(value) = value_of(props) {
        custom.insert("value".into(), json!(value));
        custom.insert(
            "currency".into(),
            props["currency"].as_str().unwrap_or("USD").into(),
        );
    }
    let ids: Vec<&Value> = std::iter::once(&props["product_id"])
        .chain(
            props["products"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| &p["product_id"]),
        )
        .filter(|id| id.is_string())
        .collect();
    if !ids.is_empty() {
        custom.insert("content_ids".into(), json!(ids));
        custom.insert("content_type".into(), "product".into());
    }
    if let Some(order) = props["order_id"].as_str() {
        custom.insert("order_id".into(), order.into());
    }
    let mut server_event = json!({
        "event_name": their_name(destination, event, META_NAMES),
        "event_time": at / 1000,
        // The same id the browser pixel would send: Meta keeps one of the two.
        "event_id": event["messageId"],
        "action_source": "website",
        "user_data": user,
        "custom_data": custom,
    });
    if let Some(url) = context["page"]["url"].as_str().filter(|u| !u.is_empty()) {
        server_event["event_source_url"] = url.into();
    }
    let mut body = json!({"data": [server_event], "access_token": secret});
    if let Some(code) = destination["test_event_code"].as_str() {
        body["test_event_code"] = code.into();
    }
    let pixel = destination["pixel"].as_str().unwrap_or_default();
    Shaped::Send(Outgoing {
        url: format!(
            "{}/{META_GRAPH_VERSION}/{pixel}/events",
            base(destination, "https://graph.facebook.com")
        ),
        headers: vec![
            ("content-type", "application/json".into()),
            idempotency(event),
        ],
        body: body.to_string(),
    })
}

/// Problems with the kind-specific fields of destination `i`.
pub fn validate_kind(i: usize, d: &Value) -> Vec<nudge_core::Diagnostic> {
    use nudge_core::Diagnostic as D;
    let at = |field: &str| format!("destinations[{i}].{field}");
    let mut problems = Vec::new();
    let kind = d["kind"].as_str().unwrap_or_default();
    let url_ok = |u: &Value| {
        u.as_str()
            .is_some_and(|u| u.starts_with("https://") || u.starts_with("http://"))
    };
    if (kind == "webhook" || !d["url"].is_null()) && !url_ok(&d["url"]) {
        problems.push(D::error(at("url"), "must be an http(s) URL"));
    }
    let digits = |v: &Value| {
        v.as_str().is_some_and(|s| {
            !s.is_empty() && s.len() <= 32 && s.bytes().all(|b| b.is_ascii_digit())
        })
    };
    match kind {
        "drip" if !digits(&d["account"]) => problems.push(D::error(
            at("account"),
            "must be the Drip account id (digits)",
        )),
        "meta" if !digits(&d["pixel"]) => problems.push(D::error(
            at("pixel"),
            "must be the Meta pixel (dataset) id (digits)",
        )),
        "twilio" => {
            let sid = |v: &Value, prefix: &str| {
                v.as_str().is_some_and(|s| {
                    s.len() == 34
                        && s.starts_with(prefix)
                        && s.get(2..)
                            .is_some_and(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit()))
                })
            };
            if !sid(&d["account"], "AC") {
                problems.push(D::error(
                    at("account"),
                    "must be the Twilio Account SID (AC + 32 hex digits)",
                ));
            }
            let from_ok = sid(&d["from"], "MG")
                || d["from"].as_str().is_some_and(|f| {
                    nudge_core::capture::normalize_phone(f).ok().as_deref() == Some(f)
                });
            if !from_ok {
                problems.push(D::error(
                    at("from"),
                    "must be an E.164 number (+15551234567) or a Messaging Service SID (MG...)",
                ));
            }
            for (j, name) in d["events"].as_array().into_iter().flatten().enumerate() {
                let name = name.as_str().unwrap_or_default();
                let text_ok = d["messages"][name]
                    .as_str()
                    .is_some_and(|t| !t.trim().is_empty());
                if name == "*" {
                    problems.push(D::error(
                        at(&format!("events[{j}]")),
                        "an SMS needs named events, not \"*\"",
                    ));
                } else if !text_ok {
                    problems.push(D::error(
                        at(&format!("messages.{name}")),
                        "is required: the text to send for this event",
                    ));
                }
            }
        }
        _ => {}
    }
    match &d["map"] {
        Value::Null => {}
        Value::Object(map)
            if map
                .values()
                .all(|v| v.as_str().is_some_and(|s| !s.is_empty())) => {}
        _ => problems.push(D::error(
            at("map"),
            "must map event names to non-empty names",
        )),
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_790_000_000_000;

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
            unsubscribed: false,
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
        let (out, body) = send(shape(&d, &order(), &known(), "pk_x", NOW).unwrap());
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
        let (_, body) = send(shape(&d, &order(), &known(), "k", NOW).unwrap());
        assert_eq!(
            body["data"]["attributes"]["metric"]["data"]["attributes"]["name"],
            "Order Placed (web)"
        );
    }

    #[test]
    fn drip_needs_an_email_and_uses_basic_auth() {
        let d = json!({"kind": "drip", "account": "123"});
        let (out, body) = send(shape(&d, &order(), &known(), "tok", NOW).unwrap());
        assert_eq!(out.url, "https://api.getdrip.com/v2/123/events");
        assert!(out.headers.contains(&("authorization", basic("tok", ""))));
        assert_eq!(body["events"][0]["action"], "Placed an order");
        let nobody = shape(&d, &order(), &Contact::default(), "tok", NOW).unwrap();
        assert!(matches!(nobody, Shaped::NotApplicable(_)));
    }

    #[test]
    fn twilio_sends_the_configured_text_to_the_known_phone() {
        let d = json!({"kind": "twilio", "account": "AC0123", "from": "+15550000000",
            "messages": {"Order Completed": "Order {{properties.order_id}} confirmed, {{traits.first_name|friend}}!"}});
        let (out, _) = send(shape(&d, &order(), &known(), "auth", NOW).unwrap());
        assert_eq!(
            out.url,
            "https://api.twilio.com/2010-04-01/Accounts/AC0123/Messages.json"
        );
        assert_eq!(
            out.body,
            "To=%2B15551234567&From=%2B15550000000&Body=Order+o-9+confirmed%2C+friend%21"
        );
        let mut gone = known();
        gone.unsubscribed = true;
        assert!(matches!(
            shape(&d, &order(), &gone, "auth", NOW).unwrap(),
            Shaped::NotApplicable(_)
        ));
        let mut view = order();
        view["event"] = "Product Viewed".into();
        assert!(matches!(
            shape(&d, &view, &known(), "auth", NOW).unwrap(),
            Shaped::NotApplicable(_)
        ));
    }

    #[test]
    fn meta_hashes_user_data_and_shares_the_event_id() {
        let d = json!({"kind": "meta", "pixel": "987", "test_event_code": "TEST1"});
        let (out, body) = send(shape(&d, &order(), &known(), "EAAB", NOW).unwrap());
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
            shape(&d, &old, &known(), "EAAB", NOW).unwrap(),
            Shaped::NotApplicable(_)
        ));
    }

    #[test]
    fn the_event_own_details_come_before_the_record() {
        let signed_up = json!({"type": "track", "event": "Signed Up", "messageId": "m-2", "anonymousId": "a-2",
            "timestamp": "2026-01-01T00:00:00.000Z", "properties": {"email": "new@example.com"}});
        let c = contact_for(&signed_up, &known());
        assert_eq!(c.email.as_deref(), Some("new@example.com"));
        assert_eq!(c.phone.as_deref(), Some("+15551234567"));
    }

    #[test]
    fn kind_specific_fields_are_checked() {
        let paths = |d: Value| -> Vec<String> {
            validate_kind(0, &d).into_iter().map(|p| p.path).collect()
        };
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
        assert_eq!(paths(json!({"kind": "webhook"})), ["destinations[0].url"]);
        assert_eq!(
            paths(json!({"kind": "klaviyo", "map": {"a": 1}})),
            ["destinations[0].map"]
        );
    }
}
