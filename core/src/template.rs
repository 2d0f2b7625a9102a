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

/// `content` with its title's and body's merge fields filled (`{{coupon}}`
/// is the content's code, any other field `value_of(name)`): what the
/// studio's preview draws. The agent fills a packed content the same way
/// (`program::fill`).
pub fn fill_content(mut content: Content, value_of: &dyn Fn(&str) -> Option<String>) -> Content {
    let (title, body) = {
        let value_of = with_coupon(content.coupon.as_deref(), value_of);
        (
            render(&content.title, &value_of),
            render(&content.body, &value_of),
        )
    };
    content.title = title;
    content.body = body;
    content
}

/// `value_of`, with `{{coupon}}` naming `coupon`.
pub fn with_coupon<'a>(
    coupon: Option<&'a str>,
    value_of: &'a dyn Fn(&str) -> Option<String>,
) -> impl Fn(&str) -> Option<String> + 'a {
    move |name: &str| match name {
        "coupon" => coupon.map(str::to_owned),
        _ => value_of(name),
    }
}

/// Fills the merge fields of `template` with `value_of(name)`, or the
/// field's fallback where that is missing or blank.
pub fn render(template: &str, value_of: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some((before, inner, after)) = next_field(rest) {
        out.push_str(before);
        let (name, fallback) = split_field(inner);
        let value = value_of(name).filter(|v| !v.trim().is_empty());
        out.push_str(value.as_deref().unwrap_or(fallback));
        rest = after;
    }
    out.push_str(rest);
    out
}

/// `name` (`first_name`, `traits.first_name`, `cart.value`) as text: a
/// bare name is also looked up under `traits.`; objects, arrays and null
/// have none.
pub fn value_of(attributes: &Attributes, name: &str) -> Option<String> {
    let map = attributes.as_map();
    let value = lookup(map, name).or_else(|| lookup(map, &["traits.", name].concat()))?;
    match value {
        Value::Null | Value::Array(_) | Value::Object(_) => None,
        other => Some(other.to_js_string().into_owned()),
    }
}

/// A field's name and fallback: `name|fallback`, each trimmed.
fn split_field(inner: &str) -> (&str, &str) {
    let (name, fallback) = inner.split_once('|').unwrap_or((inner, ""));
    (name.trim(), fallback.trim())
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
        let value = |name: &str| value_of(&a, name);
        assert_eq!(render("Hi {{first_name|there}}!", &value), "Hi Ada!");
        assert_eq!(render("Hi {{ last_name | friend }}", &value), "Hi friend");
        assert_eq!(
            render("Hi {{traits.first_name}}", &value),
            "Hi Ada",
            "a path works as the bare name does"
        );
        assert_eq!(render("broken {{first_name", &value), "broken {{first_name");
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
        let filled = fill_content(content, &|_| None);
        assert_eq!(filled.title, "Hi there");
        assert_eq!(filled.body, "Use TEN");
        assert_eq!(
            filled.dismiss_label, "{{coupon}}",
            "labels are not templates"
        );
    }
}
