//! Drawing a campaign: a closed Shadow DOM (styles isolated both ways),
//! accessible (dialog semantics, focus trap, Esc, focus returned), responsive,
//! fixed-position so nothing on the shop's page shifts. Every marketer or
//! visitor string is inserted as a text node or attribute value: there is no
//! `innerHTML` here, so text cannot turn into markup.

use nudge_core::campaign::{CaptureField, Content, InlinePosition, Layout};

use crate::controls::{Controls, Owner};
use crate::dom::{self, el, set, DomResult, Element, Listener, ShadowRoot};

const STYLE: &str = include_str!("style.css");

/// A campaign on screen. [`Rendered::close`] removes it and gives focus back.
pub struct Rendered {
    /// The closed shadow root: only we (and our tests) can reach inside.
    pub root: ShadowRoot,
    /// Clicks, keys and the form's submission, on the shadow root: one
    /// handler for every control ([`Controls::report`]), freed with the
    /// campaign (after it left the page: no event reaches it then).
    handler: Listener,
}

// The studio's preview and badge hold their campaign themselves; the
// display module keeps its campaigns by id (`screen`).
#[cfg(not(feature = "module"))]
impl Rendered {
    /// Shows the coupon the edge gave for a sealed form coupon.
    pub fn reveal_coupon(&self, code: &str) {
        dom::reveal(&self.root, code);
    }

    /// The form's success step, as after a valid sign-up (the studio's preview).
    pub fn show_success(&self) {
        dom::succeed(&self.root, true);
    }

    pub fn close(self) {
        dom::remove(&self.root);
    }
}

impl Rendered {
    /// Hands the campaign's handler to the JS side, which frees it with the
    /// shadow root that holds it (for a campaign kept by id in `dom.js`).
    pub(crate) fn release(self) {
        self.handler.release();
    }
}

/// Draws campaign `id`'s content, its merge fields already filled
/// ([`nudge_core::template::fill_content`]).
pub fn show(id: &str, content: &Content, owner: Owner) -> DomResult<Rendered> {
    let layout = &content.layout;
    let modal = *layout == Layout::Modal;
    let accent = content.accent.as_deref().unwrap_or("");
    let root = dom::host("nudge-campaign", id, accent, STYLE)?;
    let wrapper = el(&root, "div", &["n ", layout.name()].concat(), "");
    if modal {
        el(&wrapper, "div", "bd", "");
    }
    let panel = el(&wrapper, "div", "p", "");
    let title_id = ["nudge-", id, "-title"].concat();
    let has_title = !content.title.is_empty();
    match layout {
        Layout::Modal | Layout::SlideIn => set(
            &panel,
            &[
                ("role", "dialog"),
                ("aria-modal", if modal { "true" } else { "false" }),
                match has_title {
                    true => ("aria-labelledby", &title_id),
                    false => ("aria-label", &content.body),
                },
            ],
        ),
        _ => set(
            &panel,
            &[
                ("role", "region"),
                (
                    "aria-label",
                    if has_title {
                        &content.title
                    } else {
                        "Announcement"
                    },
                ),
            ],
        ),
    }
    set(&panel, &[("tabindex", "-1")]);

    let close = el(&panel, "button", "x", "\u{d7}");
    set(
        &close,
        &[("type", "button"), ("aria-label", &content.dismiss_label)],
    );

    if let Some(image) = &content.image {
        let img = el(&panel, "img", "", "");
        set(
            &img,
            &[
                ("src", &image.src),
                ("alt", &image.alt),
                ("loading", "lazy"),
            ],
        );
    }
    if has_title {
        let title = el(&panel, "h2", "", &content.title);
        set(&title, &[("id", &title_id)]);
    }
    if !content.body.is_empty() {
        el(&panel, "p", "", &content.body);
    }

    // The coupon: shown at once, or revealed by a successful sign-up (a
    // sealed one once the edge has given it: `Rendered::reveal_coupon`).
    let sealed = content.coupon_sealed && content.form.is_some();
    if let Some(code) = content.coupon.as_deref().or(sealed.then_some("")) {
        let row = el(&panel, "div", "cp", "");
        let field = el(&row, "input", "", "");
        set(
            &field,
            &[
                ("readonly", ""),
                ("aria-label", "Coupon code"),
                ("value", code),
            ],
        );
        let copy = el(&row, "button", "go cc", "Copy");
        set(&copy, &[("type", "button")]);
        let status = el(&row, "span", "st", "");
        set(&status, &[("aria-live", "polite")]);
        if content.form.is_some() {
            set(&row, &[("hidden", "")]);
        }
    }

    let form = content.form.as_ref().map(|spec| {
        form(&panel, id, spec);
        spec.field
    });

    if let Some(cta) = &content.cta {
        let tag = if cta.url.is_some() { "a" } else { "button" };
        let link = el(&panel, tag, "cta", &cta.label);
        if let Some(url) = &cta.url {
            set(&link, &[("href", url)]);
        }
    }
    if matches!(layout, Layout::Modal | Layout::SlideIn) {
        let dismiss = el(&panel, "button", "dm", &content.dismiss_label);
        set(&dismiss, &[("type", "button")]);
    }

    let live = owner.live;
    let controls = Controls {
        owner,
        root: root.clone(),
        form,
        sealed,
    };
    let handler = dom::listen(&root, modal, controls);

    let (selector, at) = match layout {
        Layout::Inline { selector, position } => (selector.as_str(), place_at(position)),
        _ => ("", 0),
    };
    dom::place(&root, selector, at)?;
    // Not in the studio's preview: focus stays in the marketer's editor.
    if modal && live {
        dom::take_focus(&root, &panel);
    }
    Ok(Rendered { root, handler })
}

fn place_at(position: &InlinePosition) -> u8 {
    match position {
        InlinePosition::Append => 0,
        InlinePosition::Prepend => 1,
        InlinePosition::Before => 2,
        InlinePosition::After => 3,
    }
}

/// The capture form: a labelled field, its submit button, its error line,
/// and the success message shown in its place.
fn form(panel: &Element, id: &str, spec: &nudge_core::campaign::Form) {
    let form = el(panel, "form", "", "");
    set(&form, &[("novalidate", "")]);
    let input_id = ["nudge-", id, "-input"].concat();
    let error_id = ["nudge-", id, "-error"].concat();
    let (label, kind) = match spec.field {
        CaptureField::Email => ("Email address", "email"),
        CaptureField::Phone => ("Phone number", "tel"),
    };
    let label = el(&form, "label", "", label);
    set(&label, &[("for", &input_id)]);
    let input = el(&form, "input", "", "");
    set(
        &input,
        &[
            ("id", &input_id),
            ("type", kind),
            ("autocomplete", kind),
            ("placeholder", &spec.placeholder),
            ("aria-describedby", &error_id),
        ],
    );
    let submit = el(&form, "button", "go", &spec.button);
    set(&submit, &[("type", "submit")]);
    let error = el(&form, "p", "er", "");
    set(&error, &[("id", &error_id), ("aria-live", "polite")]);
    let success = el(panel, "p", "", &spec.success);
    set(&success, &[("hidden", ""), ("role", "status")]);
}
