//! A site's campaign config: reading and validating it.
//!
//! Reading never stops at the first problem. Every problem is reported with
//! its path (`campaigns[2].trigger.scroll_depth: must be 1..=100, got 140`),
//! and a campaign with problems (including fields or triggers from a newer
//! Nudge version) is left out while the others still work. The edge refuses a
//! config with any problem on write; the agent runs what it can and reports the
//! rest in debug mode.

use crate::campaign::*;
use crate::condition::{Condition, SavedGroups};
use crate::diagnostics::{msg, Diagnostic};
use crate::prelude::*;
use crate::read::{describe, Fields};
use crate::time::parse_iso8601;
use crate::value::{Map, Value};

/// The config format version this engine reads.
pub const CONFIG_VERSION: u32 = 1;

/// Most campaigns read from one config. The duplicate-id check and the
/// priority sort are quadratic (small and free of std's sort, for the agent's
/// size), so the count is bounded; sites run tens of campaigns, not hundreds.
pub const MAX_CAMPAIGNS: usize = 500;
/// Most variants (arms) in one A/B test: each arm's content is the campaign's
/// merged with the arm's and read again, so the work grows with arms × content.
pub const MAX_VARIANTS: usize = 20;

/// The geography of the current request, as the edge saw it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Geo {
    pub country: Option<String>,
    pub region: Option<String>,
}

/// A validated config: only usable campaigns, sorted by priority (highest
/// first). Their content is `C`: the full [`Content`] as read from JSON, or
/// [`crate::campaign::Packed`] as the agent decodes it from its program.
#[derive(Clone, Debug)]
pub struct Config<C = Content> {
    pub site: Option<String>,
    /// Origins (`https://shop.example`) whose pages may call the edge's API
    /// for this site from the browser; the edge's own origin always may.
    pub origins: Vec<String>,
    pub campaigns: Vec<Campaign<C>>,
    pub saved_groups: SavedGroups,
    pub geo: Geo,
}

impl Config {
    /// Reads a config; returns what is usable plus every problem found.
    pub fn from_value(value: &Value) -> (Config, Vec<Diagnostic>) {
        let mut problems = Vec::new();
        let mut config = Config::default();
        let Value::Object(_) = value else {
            problems.push(Diagnostic::error(
                msg!(""),
                msg!("a config must be a JSON object, got {}", value.type_name()),
            ));
            return (config, problems);
        };
        let Some(f) = Fields::of(value, "", &mut problems) else {
            return (config, problems);
        };
        f.unknown_keys(
            &[
                "version",
                "site",
                "origins",
                "campaigns",
                "saved_groups",
                "geo",
                // Read by `journey::validate` at the edge, never by the agent.
                "journeys",
                "messaging_caps",
                "quiet_hours",
            ],
            &mut problems,
        );
        if let Some(version) = f.number("version", &mut problems) {
            if version > f64::from(CONFIG_VERSION) {
                problems.push(Diagnostic::warning(
                    msg!("version"),
                    msg!("config version {} is newer than this agent's {CONFIG_VERSION}; unknown parts are skipped", describe(&Value::Number(version))),
                ));
            }
        }
        config.site = f.str("site", &mut problems).map(str::to_owned);
        for (i, origin) in f
            .array("origins", &mut problems)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            match origin.as_str().filter(|o| is_origin(o)) {
                Some(o) => config.origins.push(o.to_ascii_lowercase()),
                None => problems.push(Diagnostic::error(
                    msg!("origins[{i}]"),
                    msg!(
                        "must be an origin like \"https://shop.example\", got {}",
                        describe(origin)
                    ),
                )),
            }
        }
        if let Some(groups) = f.get("saved_groups") {
            let (groups, group_problems) = SavedGroups::from_value(groups);
            config.saved_groups = groups;
            problems.extend(group_problems.into_iter().map(|p| p.under("saved_groups")));
        }
        if let Some(geo) = f.object("geo", &mut problems) {
            config.geo = Geo {
                country: geo
                    .str("country", &mut problems)
                    .map(str::to_ascii_uppercase),
                region: geo.str("region", &mut problems).map(str::to_owned),
            };
        }
        let campaigns = match f.get("campaigns") {
            Some(_) => f.array("campaigns", &mut problems).unwrap_or_default(),
            None => {
                problems.push(Diagnostic::error(
                    msg!("campaigns"),
                    msg!("is required (an array of campaigns)"),
                ));
                &[]
            }
        };
        config.campaigns = crate::read::items_with_ids(
            campaigns,
            "campaigns",
            MAX_CAMPAIGNS,
            "campaign",
            read_campaign,
            &mut problems,
        );
        // Stable: equal priorities keep the marketer's order.
        crate::small::sort_by(&mut config.campaigns, |a, b| a.priority > b.priority);
        (config, problems)
    }

    /// Every problem in a config; empty means valid.
    pub fn validate(value: &Value) -> Vec<Diagnostic> {
        Config::from_value(value).1
    }
}

impl<C> Config<C> {
    pub fn campaign(&self, id: &str) -> Option<&Campaign<C>> {
        self.campaigns.iter().find(|c| c.id == id)
    }
}

// By hand: a derived `Default` would ask `C: Default`, which content has not.
impl<C> Default for Config<C> {
    fn default() -> Self {
        Config {
            site: None,
            origins: Vec::new(),
            campaigns: Vec::new(),
            saved_groups: SavedGroups::default(),
            geo: Geo::default(),
        }
    }
}

const CAMPAIGN_FIELDS: &[&str] = &[
    "id",
    "name",
    "status",
    "schedule",
    "priority",
    "trigger",
    "audience",
    "content",
    "frequency",
    "variants",
    "coverage",
    "hash_attribute",
    "goal",
    "requires",
];

fn read_campaign(value: &Value, path: &str, problems: &mut Vec<Diagnostic>) -> Option<Campaign> {
    let f = Fields::of(value, path, problems)?;
    f.unknown_keys(CAMPAIGN_FIELDS, problems);
    if let Some(required) = f.number("requires", problems) {
        if required > f64::from(CONFIG_VERSION) {
            problems.push(Diagnostic::error(
                f.at("requires"),
                msg!(
                    "needs Nudge config version {}, this agent reads {CONFIG_VERSION}",
                    describe(&Value::Number(required))
                ),
            ));
        }
    }
    let id = crate::read::id(&f, problems);
    let status = match f.str("status", problems).unwrap_or("active") {
        "active" => Some(Status::Active),
        "paused" => Some(Status::Paused),
        "draft" => Some(Status::Draft),
        other => {
            problems.push(Diagnostic::error(
                f.at("status"),
                msg!("must be active, paused or draft; got \"{other}\""),
            ));
            None
        }
    };
    let (start, end) = f.object("schedule", problems).map_or((None, None), |s| {
        s.unknown_keys(&["start", "end"], problems);
        let mut time = |key: &str| {
            let text = s.str(key, problems)?;
            let parsed = parse_iso8601(text);
            if parsed.is_none() {
                problems.push(Diagnostic::error(
                    s.at(key),
                    msg!("must be an ISO 8601 date or date-time, got \"{text}\""),
                ));
            }
            parsed
        };
        let (start, end) = (time("start"), time("end"));
        if let (Some(a), Some(b)) = (start, end) {
            if b <= a {
                problems.push(Diagnostic::error(
                    s.at("end"),
                    msg!("must be after schedule.start"),
                ));
            }
        }
        (start, end)
    });
    let priority = f
        .number_in("priority", -1000.0, 1000.0, problems)
        .map_or(0, |n| n as i32);
    let trigger = match f.object("trigger", problems) {
        Some(t) => read_trigger(&t, problems),
        None => {
            if f.get("trigger").is_none() {
                problems.push(Diagnostic::error(f.at("trigger"), msg!("is required")));
            }
            None
        }
    };
    let audience = crate::read::condition(&f, "audience", problems).unwrap_or_default();
    let content_value = f.get("content");
    let content = match content_value {
        Some(v) => read_content(v, &f.at("content"), problems),
        None => {
            problems.push(Diagnostic::error(f.at("content"), msg!("is required")));
            None
        }
    };
    let frequency = f
        .object("frequency", problems)
        .map_or_else(FrequencyCap::default, |c| read_frequency(&c, problems));
    let variants = match (f.array("variants", problems), content_value) {
        (Some(items), Some(base)) => read_variants(items, base, &f.at("variants"), problems),
        _ => Vec::new(),
    };
    let coverage = f.number_in("coverage", 0.0, 1.0, problems).unwrap_or(1.0);
    let hash_attribute = f.str("hash_attribute", problems).unwrap_or("id").to_owned();
    let goal = f.str("goal", problems).map(str::to_owned);
    Some(Campaign {
        id: id?.to_owned(),
        name: f.str("name", problems).unwrap_or_default().to_owned(),
        status: status?,
        start,
        end,
        priority,
        trigger: trigger?,
        audience,
        content: content?,
        frequency,
        variants,
        coverage,
        hash_attribute,
        goal,
    })
}

const TRIGGER_KINDS: &[&str] = &[
    "page_view",
    "scroll_depth",
    "exit_intent",
    "time_on_page",
    "time_on_site",
    "inactivity",
    "event",
];

fn read_trigger(f: &Fields<'_>, problems: &mut Vec<Diagnostic>) -> Option<Trigger> {
    let url = f
        .object("url", problems)
        .and_then(|u| read_url_match(&u, problems));
    let kinds: Vec<&str> = f.map.keys().filter(|k| *k != "url").collect();
    let [kind] = kinds.as_slice() else {
        problems.push(Diagnostic::error(
            f.path.clone(),
            msg!(
                "must name exactly one trigger ({}), got {}",
                TRIGGER_KINDS.join(", "),
                kinds.len()
            ),
        ));
        return None;
    };
    let seconds =
        |key: &str, problems: &mut Vec<Diagnostic>| f.number_in(key, 0.0, 86_400.0, problems);
    let kind = match *kind {
        "page_view" => Some(TriggerKind::PageView),
        "scroll_depth" => f
            .int_in("scroll_depth", 1, 100, problems)
            .map(|p| TriggerKind::ScrollDepth { percent: p as u8 }),
        "exit_intent" => match f.get("exit_intent") {
            Some(Value::Bool(true)) => Some(TriggerKind::ExitIntent {
                min_seconds_on_page: 3.0,
            }),
            Some(Value::Object(_)) => {
                let o = f.object("exit_intent", problems)?;
                o.unknown_keys(&["min_seconds_on_page"], problems);
                let min = o
                    .number_in("min_seconds_on_page", 0.0, 3600.0, problems)
                    .unwrap_or(3.0);
                Some(TriggerKind::ExitIntent {
                    min_seconds_on_page: min,
                })
            }
            other => {
                problems.push(Diagnostic::error(
                    f.at("exit_intent"),
                    msg!(
                        "must be true or {{\"min_seconds_on_page\": n}}, got {}",
                        describe(other.unwrap_or(&Value::Null))
                    ),
                ));
                None
            }
        },
        "time_on_page" => {
            seconds("time_on_page", problems).map(|s| TriggerKind::TimeOnPage { seconds: s })
        }
        "time_on_site" => {
            seconds("time_on_site", problems).map(|s| TriggerKind::TimeOnSite { seconds: s })
        }
        "inactivity" => f
            .number_in("inactivity", 1.0, 86_400.0, problems)
            .map(|s| TriggerKind::Inactivity { seconds: s }),
        "event" => f
            .required_str("event", problems)
            .map(|name| TriggerKind::Event {
                name: name.to_owned(),
            }),
        other => {
            problems.push(Diagnostic::error(
                f.at(other),
                msg!(
                    "unknown trigger (known: {}); written for a newer Nudge version?",
                    TRIGGER_KINDS.join(", ")
                ),
            ));
            None
        }
    };
    Some(Trigger { kind: kind?, url })
}

fn read_url_match(f: &Fields<'_>, problems: &mut Vec<Diagnostic>) -> Option<UrlMatch> {
    let keys: Vec<&str> = f.map.keys().collect();
    let [key] = keys.as_slice() else {
        problems.push(Diagnostic::error(
            f.path.clone(),
            msg!("must have exactly one of equals, prefix, contains, regex"),
        ));
        return None;
    };
    let text = f.required_str(key, problems)?.to_owned();
    Some(match *key {
        "equals" => UrlMatch::Equals(text),
        "prefix" => UrlMatch::Prefix(text),
        "contains" => UrlMatch::Contains(text),
        "regex" => {
            let mut condition = Map::new();
            let mut op = Map::new();
            op.insert("$regex", text.as_str());
            condition.insert("path", op);
            let condition = Condition::compile(&Value::Object(condition));
            if !condition.problems().is_empty() {
                problems.push(Diagnostic::error(
                    f.at("regex"),
                    msg!("invalid regular expression \"{text}\""),
                ));
                return None;
            }
            UrlMatch::Regex(condition)
        }
        other => {
            problems.push(Diagnostic::error(
                f.at(other),
                msg!("unknown URL match (known: equals, prefix, contains, regex)"),
            ));
            return None;
        }
    })
}

const CONTENT_FIELDS: &[&str] = &[
    "layout",
    "selector",
    "position",
    "title",
    "body",
    "image",
    "cta",
    "form",
    "coupon",
    "coupon_sealed",
    "dismiss_label",
    "accent",
];

fn read_content(value: &Value, path: &str, problems: &mut Vec<Diagnostic>) -> Option<Content> {
    let f = Fields::of(value, path, problems)?;
    f.unknown_keys(CONTENT_FIELDS, problems);
    let layout = match f.required_str("layout", problems)? {
        "modal" => Some(Layout::Modal),
        "slide_in" => Some(Layout::SlideIn),
        "top_banner" => Some(Layout::TopBanner),
        "bottom_banner" => Some(Layout::BottomBanner),
        "inline" => {
            let selector = f.required_str("selector", problems);
            let position = match f.str("position", problems).unwrap_or("append") {
                "append" => Some(InlinePosition::Append),
                "prepend" => Some(InlinePosition::Prepend),
                "before" => Some(InlinePosition::Before),
                "after" => Some(InlinePosition::After),
                other => {
                    problems.push(Diagnostic::error(
                        f.at("position"),
                        msg!("must be append, prepend, before or after; got \"{other}\""),
                    ));
                    None
                }
            };
            Some(Layout::Inline {
                selector: selector?.to_owned(),
                position: position?,
            })
        }
        other => {
            problems.push(Diagnostic::error(
                f.at("layout"),
                msg!(
                    "must be modal, slide_in, top_banner, bottom_banner or inline; got \"{other}\""
                ),
            ));
            None
        }
    };
    let text = |key: &str, problems: &mut Vec<Diagnostic>| {
        f.str(key, problems).unwrap_or_default().to_owned()
    };
    let title = text("title", problems);
    let body = text("body", problems);
    if title.is_empty() && body.is_empty() {
        problems.push(Diagnostic::error(path, msg!("needs a title or a body")));
    }
    let image = f.object("image", problems).and_then(|i| {
        let src = i.required_str("src", problems)?;
        if !is_safe_url(src) {
            problems.push(Diagnostic::error(
                i.at("src"),
                msg!("must be an http(s) or site-relative URL"),
            ));
            return None;
        }
        Some(Image {
            src: src.to_owned(),
            alt: i.str("alt", problems).unwrap_or_default().to_owned(),
        })
    });
    let cta = f.object("cta", problems).and_then(|c| {
        let label = c.required_str("label", problems)?.to_owned();
        let url = c.str("url", problems).map(str::to_owned);
        if url.as_deref().is_some_and(|u| !is_safe_url(u)) {
            problems.push(Diagnostic::error(
                c.at("url"),
                msg!("must be an http(s) or site-relative URL"),
            ));
            return None;
        }
        Some(CallToAction { label, url })
    });
    let form = f.object("form", problems).and_then(|o| {
        o.unknown_keys(&["field", "placeholder", "button", "success"], problems);
        let field = match o.str("field", problems).unwrap_or("email") {
            "email" => CaptureField::Email,
            "phone" => CaptureField::Phone,
            other => {
                problems.push(Diagnostic::error(
                    o.at("field"),
                    msg!("must be email or phone; got \"{other}\""),
                ));
                return None;
            }
        };
        let default_placeholder = if field == CaptureField::Email {
            "you@example.com"
        } else {
            "+1 555 123 4567"
        };
        Some(Form {
            field,
            placeholder: o
                .str("placeholder", problems)
                .unwrap_or(default_placeholder)
                .to_owned(),
            button: o.str("button", problems).unwrap_or("Sign up").to_owned(),
            success: o
                .str("success", problems)
                .unwrap_or("Thank you!")
                .to_owned(),
        })
    });
    let coupon = f.str("coupon", problems).map(str::to_owned);
    let coupon_sealed = f.bool("coupon_sealed", problems).unwrap_or(false);
    if coupon_sealed && form.is_none() {
        problems.push(Diagnostic::error(
            f.at("coupon_sealed"),
            msg!("only a form's coupon can be sealed (it is given in the answer to the sign-up)"),
        ));
    }
    let accent = f.str("accent", problems).and_then(|c| {
        if is_css_color(c) {
            Some(c.to_owned())
        } else {
            problems.push(Diagnostic::error(
                f.at("accent"),
                msg!("must be a #rgb or #rrggbb colour, got \"{c}\""),
            ));
            None
        }
    });
    Some(Content {
        layout: layout?,
        title,
        body,
        image,
        cta,
        form,
        coupon,
        coupon_sealed,
        dismiss_label: f
            .str("dismiss_label", problems)
            .unwrap_or("Close")
            .to_owned(),
        accent,
    })
}

fn read_frequency(f: &Fields<'_>, problems: &mut Vec<Diagnostic>) -> FrequencyCap {
    f.unknown_keys(
        &[
            "per_session",
            "per_days",
            "max_impressions",
            "stop_after_conversion",
            "snooze_days_after_dismiss",
        ],
        problems,
    );
    let defaults = FrequencyCap::default();
    let per_days = f.object("per_days", problems).and_then(|o| {
        o.unknown_keys(&["days", "max"], problems);
        Some((
            o.int_in("days", 1, 3650, problems)?,
            o.int_in("max", 1, 1000, problems).unwrap_or(1),
        ))
    });
    FrequencyCap {
        per_session: match f.get("per_session") {
            Some(_) => f.int_in("per_session", 1, 1000, problems),
            None => defaults.per_session,
        },
        per_days,
        max_impressions: f.int_in("max_impressions", 1, 100_000, problems),
        stop_after_conversion: f
            .bool("stop_after_conversion", problems)
            .unwrap_or(defaults.stop_after_conversion),
        snooze_days_after_dismiss: f
            .int_in("snooze_days_after_dismiss", 0, 3650, problems)
            .unwrap_or(0),
    }
}

fn read_variants(
    items: &[Value],
    base: &Value,
    path: &str,
    problems: &mut Vec<Diagnostic>,
) -> Vec<Variant> {
    let mut variants = Vec::new();
    if items.len() > MAX_VARIANTS {
        problems.push(Diagnostic::error(
            path,
            msg!(
                "at most {MAX_VARIANTS} variants, got {}; the rest are skipped",
                items.len()
            ),
        ));
    }
    for (i, item) in items.iter().take(MAX_VARIANTS).enumerate() {
        let here = msg!("{path}[{i}]");
        let Some(f) = Fields::of(item, &here, problems) else {
            continue;
        };
        f.unknown_keys(&["key", "weight", "control", "content"], problems);
        let key = f.required_str("key", problems);
        let weight = f.number_in("weight", 0.0, 1.0, problems);
        let control = f.bool("control", problems).unwrap_or(false);
        // An arm's content overrides the campaign's, field by field.
        let mut merged = base.as_object().cloned().unwrap_or_default();
        if let Some(overrides) = f.object("content", problems) {
            for (k, v) in overrides.map.iter() {
                merged.insert(k, v.clone());
            }
        }
        let content = read_content(&Value::Object(merged), &f.at("content"), problems);
        if let (Some(key), Some(content)) = (key, content) {
            if variants.iter().any(|v: &Variant| v.key == key) {
                problems.push(Diagnostic::error(
                    f.at("key"),
                    msg!("duplicate variant key \"{key}\""),
                ));
            }
            variants.push(Variant {
                key: key.to_owned(),
                weight: weight.unwrap_or(0.0),
                control,
                content,
            });
        }
    }
    if variants.len() == 1 {
        problems.push(Diagnostic::error(
            path,
            msg!("an A/B test needs at least two variants"),
        ));
    }
    let total: f64 = variants.iter().map(|v| v.weight).sum();
    if !variants.is_empty() && !(0.99..=1.01).contains(&total) {
        problems.push(Diagnostic::error(
            path,
            msg!(
                "weights must add up to 1, got {}",
                crate::read::fmt_num(total)
            ),
        ));
    }
    variants
}

/// `scheme://host[:port]`, nothing after: what a browser sends in `Origin`.
fn is_origin(text: &str) -> bool {
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"));
    rest.is_some_and(|host| !host.is_empty() && !host.contains(['/', '?', '#', ' ', '@']))
}

/// Where a call to action may send a visitor, or an image come from: an
/// absolute `http(s)://host...` URL, or a path on the shop's own site that
/// starts with exactly one `/`. Browsers read `//evil.com`, `/\evil.com` and
/// `\\evil.com` as other sites and drop tabs and newlines from URLs (so
/// `/\t/evil.com` is `//evil.com`), hence no backslash, whitespace or control
/// character anywhere, nor a percent-encoded control character (`%0d%0a`
/// splits headers where a server redirects to the path).
fn is_safe_url(url: &str) -> bool {
    let clean = !url
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
        && !has_encoded_control(url);
    if !clean {
        return false;
    }
    let absolute = strip_prefix_ignore_case(url, "https://")
        .or_else(|| strip_prefix_ignore_case(url, "http://"));
    match absolute {
        Some(rest) => rest
            .split(['/', '?', '#'])
            .next()
            .is_some_and(|host| !host.is_empty()),
        None => url
            .strip_prefix('/')
            .is_some_and(|path| !path.starts_with('/')),
    }
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    if head.eq_ignore_ascii_case(prefix) {
        text.get(prefix.len()..)
    } else {
        None
    }
}

/// `%00`-`%1f` or `%7f`, in either case.
fn has_encoded_control(url: &str) -> bool {
    url.as_bytes().windows(3).any(|w| {
        w[0] == b'%'
            && matches!(
                (w[1], w[2].to_ascii_lowercase()),
                (b'0' | b'1', b'0'..=b'9' | b'a'..=b'f') | (b'7', b'f')
            )
    })
}

fn is_css_color(c: &str) -> bool {
    c.strip_prefix('#')
        .is_some_and(|hex| matches!(hex.len(), 3 | 6) && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::is_safe_url;

    #[test]
    fn only_http_urls_and_single_slash_site_paths_are_safe() {
        let cases = [
            ("https://ok.example/x", true),
            ("HTTPS://ok.example/x", true),
            ("http://ok.example", true),
            ("https://ok.example?q=1#top", true),
            ("/sale", true),
            ("/", true),
            ("/a/b?c=%20d#e", true),
            ("//evil.com", false),
            ("/\\evil.com", false),
            ("\\\\evil.com", false),
            ("/a\\b", false),
            ("javascript:alert(1)", false),
            ("JavaScript:alert(1)", false),
            (" javascript:", false),
            (" /sale", false),
            ("/sale ", false),
            ("data:text/html,x", false),
            ("/%0d%0aSet-Cookie:x", false),
            ("/%0D%0A", false),
            ("/%7f", false),
            ("https:evil.com", false),
            ("http:/evil.com", false),
            ("https:///evil.com", false),
            ("https://", false),
            ("https://?x", false),
            ("/\t/evil.com", false),
            ("/\n/evil.com", false),
            ("https://ok.example/a\tb", false),
            ("https://ok.example/a\nb", false),
            ("/a\rb", false),
            ("/a\u{0}b", false),
            ("/a\u{85}b", false),
            ("/a\u{a0}b", false),
            ("/a\u{2028}b", false),
            ("sale", false),
            ("", false),
        ];
        for (url, safe) in cases {
            assert_eq!(is_safe_url(url), safe, "{url:?}");
        }
    }
}
