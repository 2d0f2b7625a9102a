//! Merge fields in campaign texts: `Hi {{traits.first_name|there}}!`
//!
//! A field is a dotted attribute path (a bare name such as `first_name` is
//! also looked up under `traits.`), with an optional fallback after `|` used
//! when the value is missing or empty. The result is plain text: the agent only
//! ever inserts it as a DOM text node, so a value like `<img onerror=...>`
//! shows as those characters and never becomes markup.

use crate::campaign::Content;
use crate::condition::Attributes;
use crate::decide::lookup;
use crate::prelude::*;
use crate::value::Value;

/// `content` with its title's and body's merge fields filled from
/// `attributes` (`{{coupon}}` is the content's code): what is drawn.
pub fn fill_content(content: &Content, attributes: &Attributes) -> Content {
    let coupon = content.coupon.as_deref().unwrap_or_default();
    let fill = |text: &str| render(text, attributes, &[("coupon", coupon)]);
    Content {
        title: fill(&content.title),
        body: fill(&content.body),
        ..content.clone()
    }
}

/// Fills the merge fields of `template`. `extra` names values that are not
/// attributes (e.g. `coupon`), consulted first.
pub fn render(template: &str, attributes: &Attributes, extra: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some((before, inner, after)) = next_field(rest) {
        out.push_str(before);
        let (name, fallback) = inner.split_once('|').unwrap_or((inner, ""));
        let name = name.trim();
        let value = extra
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
            .or_else(|| resolve(attributes, name))
            .filter(|v| !v.trim().is_empty());
        out.push_str(value.as_deref().unwrap_or(fallback.trim()));
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Splits `text` around its first `{{field}}`: (before, field, after).
/// Byte scanning with `get` rather than substring search and indexing: no
/// panicking paths, and no general string-search code in the agent.
fn next_field(text: &str) -> Option<(&str, &str, &str)> {
    let bytes = text.as_bytes();
    let open = bytes.windows(2).position(|w| w == b"{{")?;
    let close = bytes.get(open + 2..)?.windows(2).position(|w| w == b"}}")? + open + 2;
    Some((
        text.get(..open)?,
        text.get(open + 2..close)?,
        text.get(close + 2..)?,
    ))
}

fn resolve(attributes: &Attributes, name: &str) -> Option<String> {
    let map = attributes.as_map();
    let value = lookup(map, name).or_else(|| lookup(map, &["traits.", name].concat()))?;
    match value {
        Value::Null | Value::Array(_) | Value::Object(_) => None,
        other => Some(other.to_js_string().into_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Map;

    #[test]
    fn fills_fields_with_fallbacks() {
        let mut traits = Map::new();
        traits.insert("first_name", "Ada");
        let mut a = Attributes::new();
        a.insert("traits", traits);
        assert_eq!(render("Hi {{first_name|there}}!", &a, &[]), "Hi Ada!");
        assert_eq!(render("Hi {{ last_name | friend }}", &a, &[]), "Hi friend");
        assert_eq!(
            render("Code {{coupon}}", &a, &[("coupon", "TEN")]),
            "Code TEN"
        );
        assert_eq!(
            render("broken {{first_name", &a, &[]),
            "broken {{first_name"
        );
    }

    #[test]
    fn a_contents_title_and_body_are_filled_and_nothing_else() {
        use crate::campaign::Layout;
        let content = Content {
            layout: Layout::Modal,
            title: "Hi {{first_name|there}}".into(),
            body: "Use {{coupon}}".into(),
            image: None,
            cta: None,
            form: None,
            coupon: Some("TEN".into()),
            coupon_sealed: false,
            dismiss_label: "{{coupon}}".into(),
            accent: None,
        };
        let filled = fill_content(&content, &Attributes::new());
        assert_eq!(filled.title, "Hi there");
        assert_eq!(filled.body, "Use TEN");
        assert_eq!(
            filled.dismiss_label, "{{coupon}}",
            "labels are not templates"
        );
    }
}
