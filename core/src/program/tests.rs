use super::wire::{Reader, Writer, MAX_NESTING};
use super::*;
use crate::json::{self, Bounds};
use crate::{Attributes, Condition, SavedGroups, Value};

fn parse(text: &str) -> Option<Value> {
    json::parse(text, Bounds::Refuse).ok()
}

fn condition(json: &str) -> Condition {
    Condition::compile(&parse(json).expect("test JSON"))
}

fn attributes(json: &str) -> Attributes {
    match parse(json).expect("test JSON") {
        Value::Object(map) => map.into(),
        other => panic!("attributes must be an object, got {other:?}"),
    }
}

/// Conditions that use every clause, test and operator the compiler makes.
const CONDITIONS: &[&str] = &[
    r#"{}"#,
    r#"{"page.path": "/cart"}"#,
    r#"{"cart.items": 2, "member": true, "gone": null}"#,
    r#"{"tags": ["a", "b"], "obj": {"k": 1}}"#,
    r#"{"$or": [{"a": 1}, {"b": {"$gt": 2.5}}], "$nor": [{"c": "x"}], "$and": [{"d": {"$exists": true}}]}"#,
    r#"{"$not": {"a": {"$in": [1, "1", null]}}}"#,
    r#"{"v": {"$vgte": "1.2.3-beta", "$vlt": "2.0.0"}}"#,
    r#"{"name": {"$ini": ["ADA", "bob"], "$nini": ["eve"]}, "n": {"$nin": [3, 4]}}"#,
    r#"{"id": {"$inGroup": "vips"}, "id2": {"$notInGroup": "banned"}}"#,
    r#"{"tags": {"$size": {"$gte": 2}, "$all": ["a", "b"]}, "t2": {"$alli": ["A"]}}"#,
    r#"{"items": {"$elemMatch": {"$gt": 5}}, "rows": {"$elemMatch": {"sku": "x", "qty": {"$lte": 2}}}}"#,
    r#"{"path": {"$regex": "^/sale/"}, "q": {"$regex": "shoe$"}, "r": {"$regex": "^exact$"}, "s": {"$regex": "mid"}}"#,
    r#"{"path": {"$regex": "^/(men|women)/"}, "ua": {"$regexi": "iphone"}}"#,
    r#"{"x": {"$regex": "(unclosed"}}"#,
    r#"{"x": {"$type": "string", "$ne": "y", "$eq": "z"}, "y": {"$not": {"$lt": 0}}}"#,
    r#"{"x": {"$bogus": 1}, "$or": "not a list"}"#,
    r#"{"deep": {"$elemMatch": {"$or": [{"a": {"$elemMatch": {"$not": {"$eq": [1, {"b": -0.0}]}}}}]}}}"#,
];

/// Attribute sets that make each condition above go both ways.
const ATTRIBUTES: &[&str] = &[
    r#"{}"#,
    r#"{"page": {"path": "/cart"}, "cart": {"items": 2}, "member": true, "gone": null}"#,
    r#"{"tags": ["a", "b"], "obj": {"k": 1}, "a": 1, "b": 3, "c": "y", "d": 0}"#,
    r#"{"a": "1", "v": "1.10.0", "name": "Ada", "n": 5, "id": "u1", "id2": "u2"}"#,
    r#"{"tags": ["A", "b", "c"], "t2": ["a"], "items": [1, 9], "rows": [{"sku": "x", "qty": 1}]}"#,
    r#"{"path": "/sale/shoes", "q": "red shoe", "r": "exact", "s": "amid", "ua": "Mozilla iPhone"}"#,
    r#"{"path": "/women/coats", "x": "z", "y": 3, "deep": [{"a": [[1, {"b": 0}]]}]}"#,
];

fn groups() -> SavedGroups {
    let mut groups = SavedGroups::new();
    groups.insert("vips", vec![Value::from("u1")]);
    groups.insert("banned", vec![Value::from("u9")]);
    groups
}

#[test]
fn a_program_decides_exactly_what_its_condition_does() {
    let groups = groups();
    let mut both_ways = 0;
    for source in CONDITIONS {
        let compiled = condition(source);
        let program = encode_condition(&compiled);
        let decoded = decode_condition(&program).expect(source);
        assert!(decoded.problems().is_empty(), "no messages in a program");
        let mut seen = [false; 2];
        for attrs in ATTRIBUTES {
            let attrs = attributes(attrs);
            let want = compiled.matches_with_groups(&attrs, &groups);
            assert_eq!(
                decoded.matches_with_groups(&attrs, &groups),
                want,
                "{source}"
            );
            seen[usize::from(want)] = true;
        }
        both_ways += usize::from(seen == [true, true]);
        // Writing what was read gives the same bytes: nothing is lost.
        assert_eq!(encode_condition(&decoded), program, "{source}");
    }
    assert!(both_ways >= 10, "the cases test something: {both_ways}");
}

#[test]
fn a_regex_of_literal_alternatives_reaches_the_agent_as_literals() {
    let program = encode_condition(&condition(r#"{"path": {"$regex": "^/(men|women)/"}}"#));
    let text = String::from_utf8_lossy(&program);
    assert!(
        !text.contains("(men|women)"),
        "no pattern for the browser's engine"
    );
    assert!(text.contains("/men/") && text.contains("/women/"));
    // Anything else stays a regex: case-insensitive, or not literal.
    for source in [
        r#"{"path": {"$regexi": "^/(men|women)/"}}"#,
        r#"{"path": {"$regex": "^/(men|wom.n)/"}}"#,
    ] {
        let program = encode_condition(&condition(source));
        assert!(String::from_utf8_lossy(&program).contains("|"), "{source}");
    }
}

#[test]
fn the_header_names_the_format() {
    let program = encode_condition(&condition(r#"{"a": 1}"#));
    assert_eq!(&program[..4], b"NDGP");
    assert_eq!(program[4], FORMAT);
    let mut newer = program.clone();
    newer[4] = FORMAT + 1;
    assert_eq!(
        decode_condition(&newer).unwrap_err().what,
        "a program format this agent does not read"
    );
    assert_eq!(
        decode_condition(br#"{"a": 1}"#).unwrap_err().what,
        "not a Nudge program"
    );
    let mut longer = program.clone();
    longer.push(0);
    assert_eq!(
        decode_condition(&longer).unwrap_err().what,
        "bytes after the end"
    );
}

#[test]
fn every_truncation_is_refused() {
    for source in CONDITIONS {
        let program = encode_condition(&condition(source));
        for len in 0..program.len() {
            assert!(
                decode_condition(&program[..len]).is_err(),
                "{source} cut at {len} of {}",
                program.len()
            );
        }
    }
}

#[test]
fn every_single_byte_change_decodes_or_is_refused_and_never_panics() {
    let attrs: Vec<Attributes> = ATTRIBUTES.iter().map(|a| attributes(a)).collect();
    let groups = groups();
    for source in CONDITIONS {
        let program = encode_condition(&condition(source));
        for at in 0..program.len() {
            for byte in [0x00, 0x01, 0x05, 0x7f, 0x80, 0xff, program[at] ^ 0x01] {
                let mut changed = program.clone();
                changed[at] = byte;
                if let Ok(decoded) = decode_condition(&changed) {
                    for a in &attrs {
                        decoded.matches_with_groups(a, &groups);
                    }
                }
            }
        }
    }
}

#[test]
fn a_made_up_count_allocates_nothing_past_the_input() {
    // A clause list claiming 2^35 - 1 clauses, then nothing.
    let mut out = Writer::new();
    out.header();
    out.count((1 << 35) - 1);
    let err = decode_condition(&out.finish()).unwrap_err();
    assert_eq!(err.what, "a count past the end");
    // A count that never ends.
    let mut bytes = MAGIC.to_vec();
    bytes.push(FORMAT);
    bytes.extend([0xff; 6]);
    assert_eq!(
        decode_condition(&bytes).unwrap_err().what,
        "a count longer than 5 bytes"
    );
}

#[test]
fn nesting_is_bounded() {
    // `{"$not": {"$not": ... {}}}` far deeper than any config can be.
    let mut out = Writer::new();
    out.header();
    for _ in 0..10_000 {
        out.count(1);
        out.byte(3); // NOT
    }
    out.count(0);
    let err = decode_condition(&out.finish()).unwrap_err();
    assert_eq!(err.what, "nested too deep");
    // Values too.
    let mut out = Writer::new();
    for _ in 0..10_000 {
        out.byte(5); // ARRAY
        out.count(1);
    }
    out.byte(0);
    let bytes = out.finish();
    assert_eq!(
        Reader::new(&bytes).value().unwrap_err().what,
        "nested too deep"
    );
    // A config at the JSON depth limit fits.
    let mut source = String::from("{}");
    for _ in 0..crate::limits::MAX_DEPTH - 1 {
        source = format!(r#"{{"$not": {source}}}"#);
    }
    let deep = condition(&source);
    assert!(decode_condition(&encode_condition(&deep)).is_ok());
    const { assert!(MAX_NESTING > 3 * crate::limits::MAX_DEPTH) };
}

#[test]
fn values_keep_every_number_bit_and_key_order() {
    let value = parse(
        r#"{"z": [1.5, -0.0, 1e308, 5e-324, "ü\u0000", null, true, false, {}], "a": {"b": []}}"#,
    )
    .expect("test JSON");
    let mut out = Writer::new();
    out.value(&value);
    let bytes = out.finish();
    let back = Reader::new(&bytes).value().expect("decodes");
    assert_eq!(back, value);
    assert_eq!(back.to_json(), value.to_json());
    let z = back.get("z").and_then(Value::as_array).expect("array");
    assert!(z[1]
        .as_f64()
        .is_some_and(|n| n == 0.0 && n.is_sign_negative()));
}

#[test]
fn text_must_be_utf8() {
    let mut bytes = MAGIC.to_vec();
    bytes.push(FORMAT);
    // One clause: a field whose single path part is two bytes of bad UTF-8.
    bytes.extend([1, 4, 1, 2, 0xc3, 0x28, 4]);
    assert_eq!(
        decode_condition(&bytes).unwrap_err().what,
        "text that is not UTF-8"
    );
}

#[test]
fn a_program_is_smaller_than_its_json() {
    let source = CONDITIONS[4];
    let program = encode_condition(&condition(source));
    assert!(
        program.len() < source.len(),
        "{} >= {}",
        program.len(),
        source.len()
    );
}

#[test]
fn integers_keep_their_sign_and_size() {
    let ints = [
        0,
        1,
        -1,
        63,
        -64,
        64,
        i64::from(i32::MAX),
        i64::MIN,
        i64::MAX,
    ];
    let mut out = Writer::new();
    for n in ints {
        out.int(n);
    }
    let bytes = out.finish();
    let mut input = Reader::new(&bytes);
    for n in ints {
        assert_eq!(input.int(), Ok(n));
    }
    assert!(input.end().is_ok());
    // Small numbers stay one byte.
    let mut out = Writer::new();
    out.int(-64);
    assert_eq!(out.finish().len(), 1);
    // A cap past 32 bits is refused, not wrapped.
    let mut out = Writer::new();
    out.count(1 << 33);
    let bytes = out.finish();
    assert_eq!(
        Reader::new(&bytes).small().unwrap_err().what,
        "a number past 32 bits"
    );
}

#[test]
fn objects_keep_the_last_of_a_repeated_key_and_are_bounded() {
    let object = |keys: &[&str]| {
        let mut out = Writer::new();
        out.byte(6); // OBJECT
        out.count(keys.len());
        for (i, key) in keys.iter().enumerate() {
            out.text(key);
            out.value(&Value::from(i as u32));
        }
        out.finish()
    };
    let bytes = object(&["a", "b", "a"]);
    let back = Reader::new(&bytes).value().expect("decodes");
    assert_eq!(back.to_json(), r#"{"a":2,"b":1}"#);
    let names: Vec<String> = (0..=crate::limits::MAX_KEYS)
        .map(|i| i.to_string())
        .collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let bytes = object(&names);
    assert_eq!(
        Reader::new(&bytes).value().unwrap_err().what,
        "an object with too many keys"
    );
    assert!(Reader::new(&object(&names[1..])).value().is_ok());
}

/// Contents with every layout and every optional part, as the agent hands
/// them to the display module.
fn contents() -> Vec<crate::campaign::Content> {
    use crate::campaign::{
        CallToAction, CaptureField, Content, Form, Image, InlinePosition, Layout,
    };
    let full = Content {
        layout: Layout::Modal,
        title: "Hi Ada, 10% off \u{1F381}".into(),
        body: "<b>not markup</b>".into(),
        image: Some(Image {
            src: "/img/a.png".into(),
            alt: "A".into(),
        }),
        cta: Some(CallToAction {
            label: "Shop".into(),
            url: Some("/sale".into()),
        }),
        form: Some(Form {
            field: CaptureField::Phone,
            placeholder: "+1".into(),
            button: "Join".into(),
            success: "Thanks".into(),
        }),
        coupon: Some("SAVE10".into()),
        coupon_sealed: true,
        dismiss_label: "No thanks".into(),
        accent: Some("#0a7".into()),
    };
    let mut all = vec![full.clone()];
    for (i, layout) in [Layout::SlideIn, Layout::TopBanner, Layout::BottomBanner]
        .into_iter()
        .enumerate()
    {
        all.push(Content {
            layout,
            image: None,
            form: (i == 0).then(|| Form {
                field: CaptureField::Email,
                placeholder: String::new(),
                button: "Go".into(),
                success: String::new(),
            }),
            cta: None,
            coupon: None,
            coupon_sealed: false,
            accent: None,
            ..full.clone()
        });
    }
    for position in [
        InlinePosition::Append,
        InlinePosition::Prepend,
        InlinePosition::Before,
        InlinePosition::After,
    ] {
        all.push(Content {
            layout: Layout::Inline {
                selector: "#main > .hero".into(),
                position,
            },
            cta: Some(CallToAction {
                label: "Go".into(),
                url: None,
            }),
            ..full.clone()
        });
    }
    all
}

#[test]
fn content_goes_to_the_display_module_whole_and_only_whole() {
    for content in contents() {
        let bytes = encode_content(&content);
        assert_eq!(decode_content(&bytes), Ok(content.clone()));
        for len in 0..bytes.len() {
            assert!(decode_content(&bytes[..len]).is_err(), "cut at {len}");
        }
        for at in 0..bytes.len() {
            let mut changed = bytes.clone();
            changed[at] ^= 0x5a;
            let _ = decode_content(&changed); // decodes or is refused, never panics
        }
    }
    assert!(decode_content(b"{\"title\":\"x\"}").is_err());
}

#[test]
fn a_packed_content_is_filled_as_the_whole_content_would_be_and_nothing_else_changes() {
    use crate::campaign::Packed;
    use crate::template::fill_content;
    let value_of = |name: &str| match name {
        "first_name" => Some("Ada ü".to_owned()),
        "blank" => None,
        _ => None,
    };
    for content in contents() {
        for coupon in [content.coupon.clone(), None] {
            let mut content = content.clone();
            content.title = "Hi {{first_name|there}} {{coupon|no code}}".into();
            content.body = "{{ blank | friend }}: {{coupon}}".into();
            content.coupon = coupon.clone();
            let packed = Packed {
                layout: content.layout.clone(),
                coupon,
                bytes: encode_content(&content),
            };
            let filled = fill(&packed, &value_of).expect("fills");
            assert_eq!(
                decode_content(&filled),
                Ok(fill_content(content.clone(), &value_of)),
                "the display module draws what the studio previews"
            );
            // Cut or changed bytes: refused here, or by the display module
            // when it reads what was filled; never a panic.
            for len in 0..packed.bytes.len() {
                let cut = Packed {
                    bytes: packed.bytes[..len].to_vec(),
                    ..packed.clone()
                };
                let drawn = fill(&cut, &value_of).map(|b| decode_content(&b));
                assert!(!matches!(drawn, Ok(Ok(_))), "cut at {len}");
            }
            for at in 0..packed.bytes.len() {
                let mut changed = packed.clone();
                changed.bytes[at] ^= 0x5a;
                let _ = fill(&changed, &value_of).map(|b| decode_content(&b));
            }
            // Placed as one layout, drawn as another: refused.
            let other = Packed {
                layout: crate::campaign::Layout::Inline {
                    selector: "#elsewhere".into(),
                    position: crate::campaign::InlinePosition::After,
                },
                ..packed.clone()
            };
            assert!(fill(&other, &value_of).is_err());
        }
    }
}
