//! What the edge requires of a site's config and what it makes of it:
//! the problems that refuse a write (core's validation, journeys, personal
//! data in targeting), what every browser may read of it (edge-only parts
//! left out, form coupons sealed), and the sealed coupon a sign-up reveals.
//!
//! Policy, below the routes and the studio that apply it and the store that
//! checks a version with it: pure functions of config text, knowing nothing
//! of requests, caches or storage.

use nudge_core::{Config, Diagnostic, Value as CoreValue};

/// Every problem with a config text: not JSON (within core's limits), core's
/// diagnostics, and personal data in targeting.
pub fn problems(text: &str) -> Vec<Diagnostic> {
    match serde_json::from_str::<CoreValue>(text) {
        Ok(value) => {
            let mut problems = Config::validate(&value);
            // Journeys run at the edge only: the agent skips them, the edge checks them.
            problems.extend(nudge_core::journey::validate(&value));
            problems.extend(personal_data(&value));
            problems
        }
        Err(e) => vec![Diagnostic::error("", format!("not JSON: {e}"))],
    }
}

/// Email addresses and phone numbers in the parts of a config that target
/// people (saved groups, audiences). The config is sent to every visitor's
/// browser, so a list of customers' addresses there would be published to
/// all of them: refused, with where. (People the edge knows are targeted
/// through the segments `/v1/profile` gives each browser about itself.)
fn personal_data(config: &CoreValue) -> Vec<Diagnostic> {
    fn walk(value: &CoreValue, path: &str, targeting: bool, out: &mut Vec<Diagnostic>) {
        match value {
            CoreValue::String(s) if targeting => {
                let email = s.contains('@') && nudge_core::capture::normalize_email(s).is_ok();
                let digits = s.bytes().filter(u8::is_ascii_digit).count();
                let phone = s.trim_start().starts_with('+')
                    && digits >= 8
                    && nudge_core::capture::normalize_phone(s).is_ok();
                if email || phone {
                    let what = if email {
                        "an email address"
                    } else {
                        "a phone number"
                    };
                    out.push(Diagnostic::error(
                        path,
                        format!(
                            "is {what}: the config is sent to every visitor's browser, so targeting \
                             may not name people; use the segments the edge gives each browser"
                        ),
                    ));
                }
            }
            CoreValue::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(item, &format!("{path}[{i}]"), targeting, out);
                }
            }
            CoreValue::Object(map) => {
                for (key, item) in map.iter() {
                    let inside = targeting || key == "audience" || key == "saved_groups";
                    let at = if path.is_empty() {
                        key.to_owned()
                    } else {
                        format!("{path}.{key}")
                    };
                    walk(item, &at, inside, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(config, "", false, &mut out);
    out
}

/// The parts of a config only the edge reads: journeys (their events, pool
/// names and audiences are the shop's business, not every visitor's) and
/// the messaging rules they share. Browsers never download them.
const EDGE_ONLY: &[&str] = &["journeys", "messaging_caps", "quiet_hours"];

/// What every browser may read of a stored config: the same text, except
/// that a form's coupon code is held back (`coupon_sealed`; the code is given
/// in the answer to the sign-up, `routes::identity`) and the edge-only parts
/// are left out. Text with neither is served byte for byte.
/// (`routes::config::published` keeps it, once per stored text.)
pub fn published(stored: &str) -> std::rc::Rc<str> {
    let Ok(mut config) = serde_json::from_str::<CoreValue>(stored) else {
        return stored.into();
    };
    let mut changed = seal_coupons(&mut config);
    if let CoreValue::Object(root) = &mut config {
        for key in EDGE_ONLY {
            changed |= root.remove(key).is_some();
        }
    }
    if changed {
        config.to_json().into()
    } else {
        stored.into()
    }
}

/// Removes the coupon of every content (campaign or variant) that has a form
/// or inherits one, marking it `coupon_sealed`; true if any was.
pub fn seal_coupons(config: &mut CoreValue) -> bool {
    fn seal(content: &mut nudge_core::Map, has_form: bool) -> bool {
        if has_form && content.remove("coupon").is_some() {
            content.insert("coupon_sealed", true);
            return true;
        }
        false
    }
    let mut sealed = false;
    let CoreValue::Object(root) = config else {
        return false;
    };
    let Some(CoreValue::Array(campaigns)) = root.get_mut("campaigns") else {
        return false;
    };
    for campaign in campaigns.iter_mut() {
        let CoreValue::Object(campaign) = campaign else {
            continue;
        };
        let base_form =
            matches!(campaign.get("content"), Some(CoreValue::Object(c)) if c.contains_key("form"));
        if let Some(CoreValue::Object(content)) = campaign.get_mut("content") {
            sealed |= seal(content, base_form);
        }
        if let Some(CoreValue::Array(variants)) = campaign.get_mut("variants") {
            for variant in variants.iter_mut() {
                let CoreValue::Object(variant) = variant else {
                    continue;
                };
                if let Some(CoreValue::Object(content)) = variant.get_mut("content") {
                    let form = base_form || content.contains_key("form");
                    sealed |= seal(content, form);
                }
            }
        }
    }
    sealed
}

/// The coupon a sign-up in `campaign` (arm `variant`, if any) reveals.
pub fn sealed_coupon(stored: &str, campaign: &str, variant: Option<&str>) -> Option<String> {
    let config: CoreValue = serde_json::from_str(stored).ok()?;
    let found = config
        .get("campaigns")?
        .as_array()?
        .iter()
        .find(|c| c.get("id").and_then(CoreValue::as_str) == Some(campaign))?;
    let content = found.get("content")?;
    content.get("form")?;
    let arm = variant.and_then(|key| {
        found
            .get("variants")?
            .as_array()?
            .iter()
            .find(|v| v.get("key").and_then(CoreValue::as_str) == Some(key))?
            .get("content")?
            .get("coupon")
    });
    arm.or_else(|| content.get("coupon"))?
        .as_str()
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journeys_are_checked_with_the_config() {
        let config = r#"{"campaigns": [], "journeys": [{"id": "cart", "entry": {"event": "Product Added"},
            "steps": [{"wait": {"hours": 100000}}, {"send": {"destination": "email", "event": "Cart Abandoned"}}]}]}"#;
        let found = problems(config);
        assert!(
            found
                .iter()
                .any(|p| p.path == "journeys[0].steps[0].wait.hours"),
            "{found:?}"
        );
        let fixed = config.replace("100000", "4");
        assert!(problems(&fixed).is_empty(), "{:?}", problems(&fixed));
    }

    #[test]
    fn a_form_coupon_is_held_back_and_given_for_its_campaign() {
        let stored = r#"{"campaigns": [
            {"id": "welcome", "content": {"layout": "modal", "title": "Hi", "form": {"field": "email"}, "coupon": "WELCOME10"},
             "variants": [{"key": "a", "content": {"coupon": "ARM-A"}}, {"key": "b", "content": {"title": "B"}}]},
            {"id": "banner", "content": {"layout": "bar", "title": "Code SHOWN5", "coupon": "SHOWN5"}}]}"#;
        let served = published(stored);
        assert!(
            !served.contains("WELCOME10") && !served.contains("ARM-A"),
            "{served}"
        );
        assert!(
            served.contains("SHOWN5"),
            "a coupon shown without a form is the campaign's text"
        );
        assert_eq!(served.matches("\"coupon_sealed\":true").count(), 2);
        // Key order is kept (JSON-equality conditions depend on it).
        assert!(served.find("\"welcome\"") < served.find("\"banner\""));
        assert_eq!(
            sealed_coupon(stored, "welcome", None).as_deref(),
            Some("WELCOME10")
        );
        assert_eq!(
            sealed_coupon(stored, "welcome", Some("a")).as_deref(),
            Some("ARM-A")
        );
        assert_eq!(
            sealed_coupon(stored, "welcome", Some("b")).as_deref(),
            Some("WELCOME10")
        );
        assert_eq!(
            sealed_coupon(stored, "banner", None),
            None,
            "no form, nothing to give"
        );
        assert_eq!(sealed_coupon(stored, "nope", None), None);
        // The demo config as served still reads, with its welcome coupon held back.
        let demo = include_str!("../../demo-shop/campaigns.json");
        let served: CoreValue = serde_json::from_str(&published(demo)).unwrap();
        assert!(nudge_core::Config::validate(&served).is_empty());
        assert!(!published(demo).contains("WELCOME10"));
    }

    #[test]
    fn targeting_may_not_name_people() {
        let config: CoreValue = serde_json::from_str(
            r#"{"saved_groups": {"vips": ["ada@example.com", "u-1"]},
                "campaigns": [{"id": "c", "audience": {"$or": [{"traits.phone": "+1 555 123 4567"}, {"country": "CA"}]},
                               "content": {"title": "Write to help@shop.example"}}]}"#,
        )
        .unwrap();
        let paths: Vec<String> = personal_data(&config).into_iter().map(|p| p.path).collect();
        assert_eq!(
            paths,
            [
                "saved_groups.vips[0]",
                "campaigns[0].audience.$or[0].traits.phone"
            ],
            "content texts may mention the shop's own address"
        );
        let demo: CoreValue =
            serde_json::from_str(include_str!("../../demo-shop/campaigns.json")).unwrap();
        assert!(personal_data(&demo).is_empty());
    }
}
