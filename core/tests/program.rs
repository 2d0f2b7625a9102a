//! The agent's program of a whole config (issue #20, "the edge compiles, the
//! agent executes"): a config read back from its program decides exactly what
//! the config does, for the demo shop's campaigns and for every kind of
//! trigger, URL test, layout and form, on random visitors.

use nudge_core::campaign::{
    CaptureField, Form, InlinePosition, Layout, Status, TriggerKind, UrlMatch,
};
use nudge_core::campaign::{Content, Drawable, Packed};
use nudge_core::decide::{PageState, Signal};
use nudge_core::event::{Event, EventKind, PageContext};
use nudge_core::profile::Profile;
use nudge_core::program::{
    assemble, compile, decode_config, decode_content, encode_config, fill, Format,
};
use nudge_core::{Condition, Config, Map, Value};
use proptest::prelude::*;

const T0: i64 = 1_790_000_000_000;

mod common;
use common::{decision, demo_config, page};

/// The demo's campaigns, plus copies that use what the demo does not: every
/// trigger, every URL test, every layout and inline position, a phone form,
/// a sealed coupon, a schedule, a paused campaign, extreme numbers.
fn every_kind_config() -> Config {
    let mut config = demo_config();
    config.geo.country = Some("CA".into());
    config.geo.region = None;
    let base = config.campaigns[0].clone();
    let triggers = [
        TriggerKind::PageView,
        TriggerKind::ScrollDepth { percent: 100 },
        TriggerKind::ExitIntent {
            min_seconds_on_page: 0.5,
        },
        TriggerKind::TimeOnPage { seconds: 12.25 },
        TriggerKind::TimeOnSite { seconds: 1e9 },
        TriggerKind::Inactivity { seconds: 30.0 },
        TriggerKind::Event {
            name: "Wishlist Added ü".into(),
        },
    ];
    let urls = [
        None,
        Some(UrlMatch::Equals("/cart".into())),
        Some(UrlMatch::Prefix("/category/".into())),
        Some(UrlMatch::Contains("sale".into())),
        Some(UrlMatch::Regex(Condition::compile(
            &serde_json::from_str(r#"{"path": {"$regex": "^/(product|category)/"}}"#)
                .expect("JSON"),
        ))),
    ];
    let layouts = [
        Layout::Modal,
        Layout::SlideIn,
        Layout::TopBanner,
        Layout::BottomBanner,
        Layout::Inline {
            selector: "#main > .x".into(),
            position: InlinePosition::Before,
        },
        Layout::Inline {
            selector: "#a".into(),
            position: InlinePosition::Prepend,
        },
        Layout::Inline {
            selector: "#b".into(),
            position: InlinePosition::After,
        },
    ];
    for (i, trigger) in triggers.into_iter().enumerate() {
        for (j, url) in urls.iter().enumerate() {
            let mut c = base.clone();
            c.id = format!("kind-{i}-{j}");
            c.priority = -(i as i32) * 7 - j as i32;
            c.trigger.kind = trigger.clone();
            c.trigger.url = url.clone();
            c.content.layout = layouts[(i + j) % layouts.len()].clone();
            if j % 2 == 1 {
                c.content.form = Some(Form {
                    field: CaptureField::Phone,
                    placeholder: "+1".into(),
                    button: "Text me".into(),
                    success: "Sent".into(),
                });
                c.content.coupon_sealed = true;
            }
            if j == 3 {
                c.start = Some(T0 - 1);
                c.end = Some(T0 + 86_400_000);
                c.frequency.per_days = Some((u32::MAX, 0));
            }
            if j == 4 {
                c.status = Status::Paused;
            }
            config.campaigns.push(c);
        }
    }
    config
}

#[test]
fn a_configs_program_reads_back_to_the_same_campaigns_with_their_content_packed() {
    for config in [demo_config(), every_kind_config(), Config::default()] {
        let program = encode_config(&config);
        let back = decode_config(&program).expect("decodes");
        assert!(back.origins.is_empty(), "origins are the edge's only");
        assert_eq!(back.campaigns.len(), config.campaigns.len());
        for (packed, original) in back.campaigns.iter().zip(&config.campaigns) {
            assert_eq!(packed.id, original.id);
            let arms = packed.variants.iter().map(|v| &v.content);
            let original_arms = original.variants.iter().map(|v| &v.content);
            let contents = std::iter::once(&packed.content).chain(arms);
            for (packed, original) in
                contents.zip(std::iter::once(&original.content).chain(original_arms))
            {
                assert_eq!(packed.layout, original.layout);
                assert_eq!(
                    &decode_content(&packed.bytes).expect("its content reads"),
                    original,
                    "the display module reads the content whole"
                );
                assert_eq!(packed.coupon, original.coupon);
            }
        }
    }
    // The demo's merge field, filled when the campaign shows.
    let demo = decode_config(&encode_config(&demo_config())).expect("decodes");
    let back = &demo
        .campaign("returning-customer")
        .expect("demo campaign")
        .content;
    let filled = fill(back, &|name| {
        (name == "first_name").then(|| "Ada".to_owned())
    });
    let drawn = decode_content(&filled.expect("fills")).expect("reads");
    assert!(
        drawn.body.starts_with("Welcome back, Ada!"),
        "{}",
        drawn.body
    );
}

#[test]
fn format_1_is_still_written_as_the_previous_build_wrote_it() {
    let config = every_kind_config();
    let program = assemble(
        Format::Inline,
        &config.geo,
        &compile(&config, Format::Inline),
    );
    assert_eq!(
        program,
        include_bytes!("fixtures/every-kind.format1.bin"),
        "format 1 changed"
    );
    assert_eq!(program[4], 1);
    assert!(
        decode_config(&program).is_err(),
        "this agent reads format 2 only"
    );
}

#[test]
fn the_demo_config_is_smaller_as_a_program() {
    let text = include_str!("../../demo-shop/campaigns.json");
    let program = encode_config(&demo_config());
    // The demo's JSON also holds journeys the agent never reads; the
    // campaigns alone are still larger as JSON.
    let value: Value = serde_json::from_str(text).expect("demo JSON");
    let campaigns = value.get("campaigns").expect("campaigns").to_json();
    assert!(
        program.len() < campaigns.len(),
        "program {} B, campaigns JSON {} B",
        program.len(),
        campaigns.len()
    );
}

#[test]
fn every_truncation_of_a_config_program_is_refused() {
    let program = encode_config(&every_kind_config());
    for len in (0..program.len()).step_by(7) {
        assert!(decode_config(&program[..len]).is_err(), "cut at {len}");
    }
}

// ---- random visitors ----

#[derive(Clone, Debug)]
enum Step {
    Page(&'static str),
    Track(&'static str, f64),
    Order(f64),
    Traits(&'static str),
    Wait(i64),
}

fn step() -> impl Strategy<Value = Step> {
    let paths = prop::sample::select(vec![
        "/",
        "/cart",
        "/category/shoes",
        "/category/outerwear",
        "/product/wool-coat",
        "/order-confirmation",
        "/sale/x",
    ]);
    let events = prop::sample::select(vec![
        "Product Added",
        "Product Viewed",
        "Wishlist Added ü",
        "Checkout Started",
    ]);
    prop_oneof![
        paths.prop_map(Step::Page),
        (events, 0.0..200.0f64).prop_map(|(e, v)| Step::Track(e, v)),
        (1.0..500.0f64).prop_map(Step::Order),
        prop::sample::select(vec!["Ada", ""]).prop_map(Step::Traits),
        (0i64..3 * 86_400_000).prop_map(Step::Wait),
    ]
}

fn event(kind: EventKind, properties: Map, at: i64, path: &str, visitor: &str) -> Event {
    Event {
        id: format!("e{at}"),
        kind,
        anonymous_id: visitor.into(),
        user_id: None,
        timestamp: at,
        properties,
        page: PageContext {
            path: path.into(),
            url: format!("https://shop.test{path}"),
            ..Default::default()
        },
        consent: Default::default(),
    }
}

/// Plays the steps into the profile of visitor `id` (A/B arms are bucketed
/// by it); returns the profile, the last page and the time.
fn visitor(id: &str, steps: &[Step]) -> (Profile, PageState, i64) {
    let mut profile = Profile::new(id, T0);
    let mut now = T0;
    let mut path = "/";
    for step in steps {
        now += 1_000;
        let mut props = Map::new();
        let kind = match step {
            Step::Page(p) => {
                path = p;
                EventKind::Page { name: None }
            }
            Step::Track(name, value) => {
                props.insert("product_id", "wool-coat");
                props.insert("price", *value);
                EventKind::Track {
                    event: (*name).into(),
                }
            }
            Step::Order(total) => {
                props.insert("order_id", format!("o{now}"));
                props.insert("revenue", *total);
                EventKind::Track {
                    event: "Order Completed".into(),
                }
            }
            Step::Traits(name) => {
                let mut traits = Map::new();
                traits.insert("first_name", *name);
                EventKind::Identify { traits }
            }
            Step::Wait(ms) => {
                now += ms;
                continue;
            }
        };
        profile.apply(&event(kind, props, now, path, id));
    }
    (profile, page(path, now - 5_000), now)
}

/// A content's layout and texts, in either form.
trait Texts: Drawable {
    fn texts(&self) -> (String, String);
}

impl Texts for Content {
    fn texts(&self) -> (String, String) {
        (self.title.clone(), self.body.clone())
    }
}

impl Texts for Packed {
    fn texts(&self) -> (String, String) {
        decode_content(&self.bytes)
            .expect("packed content reads")
            .texts()
    }
}

/// What a decision shows: campaign, arm, control, and the content's text.
fn shown<C: Texts>(
    config: &Config<C>,
    profile: &Profile,
    page: &PageState,
    now: i64,
    signal: &Signal,
) -> Vec<String> {
    decision(config, profile, page, now, signal)
        .choices
        .iter()
        .map(|c| {
            let (title, body) = c.content.texts();
            format!(
                "{} {:?} {} {:?} {} {}",
                c.campaign.id,
                c.variant,
                c.control,
                c.content.layout(),
                title,
                body
            )
        })
        .collect()
}

fn signals() -> Vec<Signal> {
    vec![
        Signal::PageView,
        Signal::Scroll { percent: 100 },
        Signal::ExitIntent,
        Signal::TimeOnPage { seconds: 30.0 },
        Signal::TimeOnSite { seconds: 2e9 },
        Signal::Inactivity { seconds: 30.0 },
        Signal::Event {
            name: "Product Added".into(),
        },
        Signal::Event {
            name: "Wishlist Added ü".into(),
        },
    ]
}

proptest! {
    #[test]
    fn a_configs_program_decides_what_the_config_does(
        id in "[a-z0-9-]{1,12}",
        steps in prop::collection::vec(step(), 0..24),
    ) {
        let (profile, page, now) = visitor(&id, &steps);
        for config in [demo_config(), every_kind_config()] {
            let program = decode_config(&encode_config(&config)).expect("decodes");
            for signal in signals() {
                prop_assert_eq!(
                    shown(&program, &profile, &page, now, &signal),
                    shown(&config, &profile, &page, now, &signal),
                    "{:?}", signal
                );
            }
        }
    }
}

#[test]
fn the_random_visitors_see_campaigns() {
    // The property above compares something: a plain visitor on the cart
    // after adding a product sees the cart rescue on exit intent.
    let (profile, page, now) = visitor(
        "anon-1",
        &[
            Step::Page("/product/wool-coat"),
            Step::Track("Product Added", 20.0),
            Step::Wait(5_000),
            Step::Page("/cart"),
        ],
    );
    let config = decode_config(&encode_config(&demo_config())).expect("decodes");
    let seen = shown(&config, &profile, &page, now, &Signal::ExitIntent);
    assert!(
        seen.iter().any(|s| s.starts_with("cart-rescue")),
        "{seen:?}"
    );
}
