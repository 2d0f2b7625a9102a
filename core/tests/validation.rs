//! Config validation: every problem, with its path, in one pass; a broken
//! campaign is skipped while the rest keep working.

use nudge_core::{Config, Severity, Value};

/// Validates `config` (JSON text) and compares the problems, one per line.
fn check(config: &str, expected: &[&str]) {
    let value: Value = serde_json::from_str(config).unwrap();
    let problems: Vec<String> = Config::validate(&value)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(problems, expected, "\nfor {config}");
}

fn campaign(extra: &str) -> String {
    format!(
        r#"{{"campaigns": [{{"id": "a", "trigger": {{"page_view": true}}, "content": {{"layout": "modal", "title": "Hi"}}{extra}}}]}}"#
    )
}

#[test]
fn minimal_campaign_is_valid() {
    check(&campaign(""), &[]);
}

#[test]
fn scroll_depth_out_of_range() {
    check(
        r#"{"campaigns": [{"id": "a", "trigger": {"page_view": true}, "content": {"layout": "modal", "title": "Hi"}},
                          {"id": "b", "trigger": {"page_view": true}, "content": {"layout": "modal", "title": "Hi"}},
                          {"id": "c", "trigger": {"scroll_depth": 140}, "content": {"layout": "modal", "title": "Hi"}}]}"#,
        &[
            "campaigns[2].trigger.scroll_depth: must be 1..=100, got 140",
            "campaigns[2]: campaign skipped because of the problems above",
        ],
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    check(
        r#"{"campaigns": [{"id": "bad id!", "status": "live", "priority": "high",
            "trigger": {"time_on_page": -1},
            "audience": {"age": {"$older": 3}, "name": {"$regex": "(unclosed"}},
            "content": {"layout": "popover", "cta": {"label": "Go", "url": "javascript:alert(1)"}},
            "frequency": {"per_days": {"days": 0}},
            "variants": [{"key": "x", "weight": 0.4}, {"key": "y", "weight": 0.4}]}]}"#,
        &[
            "campaigns[0].id: must be 1-64 characters of a-z, A-Z, 0-9, - and _",
            "campaigns[0].status: must be active, paused or draft; got \"live\"",
            "campaigns[0].priority: must be a number, got \"high\"",
            "campaigns[0].trigger.time_on_page: must be 0..=86400, got -1",
            "campaigns[0].audience.age.$older: unknown operator $older",
            "campaigns[0].audience.name.$regex: invalid regular expression \"(unclosed\"",
            "campaigns[0].content.layout: must be modal, slide_in, top_banner, bottom_banner or inline; got \"popover\"",
            "campaigns[0].content: needs a title or a body",
            "campaigns[0].content.cta.url: must be an http(s) or site-relative URL",
            "campaigns[0].frequency.per_days.days: must be 1..=3650, got 0",
            "campaigns[0].variants[0].content.layout: must be modal, slide_in, top_banner, bottom_banner or inline; got \"popover\"",
            "campaigns[0].variants[0].content: needs a title or a body",
            "campaigns[0].variants[0].content.cta.url: must be an http(s) or site-relative URL",
            "campaigns[0].variants[1].content.layout: must be modal, slide_in, top_banner, bottom_banner or inline; got \"popover\"",
            "campaigns[0].variants[1].content: needs a title or a body",
            "campaigns[0].variants[1].content.cta.url: must be an http(s) or site-relative URL",
            "campaigns[0]: campaign skipped because of the problems above",
        ],
    );
}

#[test]
fn newer_triggers_and_fields_skip_only_their_campaign() {
    let text = r#"{"version": 2, "campaigns": [
        {"id": "future", "trigger": {"rage_click": {"clicks": 3}}, "content": {"layout": "modal", "title": "Hi"}},
        {"id": "future2", "trigger": {"page_view": true}, "content": {"layout": "modal", "title": "Hi"}, "holdout": 0.1},
        {"id": "future3", "requires": 2, "trigger": {"page_view": true}, "content": {"layout": "modal", "title": "Hi"}},
        {"id": "today", "trigger": {"page_view": true}, "content": {"layout": "modal", "title": "Hi"}}]}"#;
    let value: Value = serde_json::from_str(text).unwrap();
    let (config, problems) = Config::from_value(&value);
    let ids: Vec<_> = config.campaigns.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["today"]);
    let lines: Vec<String> = problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .map(ToString::to_string)
        .collect();
    assert_eq!(lines.len(), 3, "{lines:#?}");
    assert!(lines[0].starts_with("campaigns[0].trigger.rage_click: unknown trigger"));
    assert!(lines[1].starts_with("campaigns[1].holdout: unknown field"));
    assert_eq!(
        lines[2],
        "campaigns[2].requires: needs Nudge config version 2, this agent reads 1"
    );
    assert!(problems[0]
        .to_string()
        .starts_with("version: config version 2 is newer"));
}

#[test]
fn structural_errors() {
    check("[]", &["a config must be a JSON object, got array"]);
    check("{}", &["campaigns: is required (an array of campaigns)"]);
    check(
        r#"{"campaigns": [{"id": "a", "trigger": {"page_view": true}, "content": {"layout": "modal", "title": "x"}},
                          {"id": "a", "trigger": {"page_view": true, "scroll_depth": 5}, "content": {"layout": "inline", "title": "x"}}]}"#,
        &[
            "campaigns[1].trigger: must name exactly one trigger (page_view, scroll_depth, exit_intent, time_on_page, time_on_site, inactivity, event), got 2",
            "campaigns[1].content.selector: is required",
            "campaigns[1].id: duplicate campaign id \"a\"",
            "campaigns[1]: campaign skipped because of the problems above",
        ],
    );
    check(
        &campaign(r#", "variants": [{"key": "only", "weight": 1}]"#),
        &[
            "campaigns[0].variants: an A/B test needs at least two variants",
            "campaigns[0]: campaign skipped because of the problems above",
        ],
    );
}

#[test]
fn origins_must_be_bare_origins() {
    let ok = r#"{"origins": ["https://shop.example", "http://127.0.0.1:8787"], "campaigns": []}"#;
    check(ok, &[]);
    check(
        r#"{"origins": ["https://shop.example/path", 3], "campaigns": []}"#,
        &[
            "origins[0]: must be an origin like \"https://shop.example\", got \"https://shop.example/path\"",
            "origins[1]: must be an origin like \"https://shop.example\", got 3",
        ],
    );
}

/// Past the bounds on campaigns and A/B arms the rest is reported and
/// skipped, so reading stays cheap however long the config is.
#[test]
fn campaign_and_variant_counts_are_bounded() {
    use nudge_core::config::{MAX_CAMPAIGNS, MAX_VARIANTS};
    let one = |i: usize| {
        format!(
            r#"{{"id": "c{i}", "trigger": {{"page_view": true}}, "content": {{"layout": "modal", "title": "Hi"}}}}"#
        )
    };
    for (count, problems) in [(MAX_CAMPAIGNS, 0), (MAX_CAMPAIGNS + 1, 1)] {
        let text = format!(
            r#"{{"campaigns": [{}]}}"#,
            (0..count).map(one).collect::<Vec<_>>().join(",")
        );
        let (config, found) = Config::from_value(&serde_json::from_str(&text).unwrap());
        assert_eq!(config.campaigns.len(), MAX_CAMPAIGNS);
        assert_eq!(found.len(), problems, "{found:?}");
    }
    let arms = |n: usize| {
        let arm = |i: usize| format!(r#"{{"key": "v{i}", "weight": 0.05}}"#);
        campaign(&format!(
            r#", "variants": [{}]"#,
            (0..n).map(arm).collect::<Vec<_>>().join(",")
        ))
    };
    check(&arms(MAX_VARIANTS), &[]);
    check(
        &arms(MAX_VARIANTS + 1),
        &[
            "campaigns[0].variants: at most 20 variants, got 21; the rest are skipped",
            "campaigns[0]: campaign skipped because of the problems above",
        ],
    );
    assert_eq!(
        Config::validate(&serde_json::from_str(&arms(MAX_VARIANTS + 1)).unwrap())[0].severity,
        Severity::Error
    );
}
