//! Drawing a campaign: a closed Shadow DOM (styles isolated both ways),
//! accessible (dialog semantics, focus trap, Esc, focus returned), responsive,
//! fixed-position so nothing on the shop's page shifts. Every marketer or
//! visitor string is inserted as a text node or attribute value: there is no
//! `innerHTML` here, so text cannot turn into markup.

use std::rc::Rc;

use gloo_events::{EventListener, EventListenerOptions};
use nudge_core::campaign::{CaptureField, Content, InlinePosition, Layout, Slot};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Document, Element, HtmlElement, HtmlInputElement, ShadowRootInit, ShadowRootMode};

use crate::controls::{success_step, Controls, FormParts, Owner};
use crate::dom::{document, el, focusables, set, style, text_el, window, DomResult};

const STYLE: &str = include_str!("style.css");

/// A campaign on screen. [`Rendered::close`] removes it and gives focus back.
pub struct Rendered {
    pub campaign: String,
    pub slot: Slot,
    host: Element,
    /// The closed shadow root: only we (and our tests) can reach inside.
    #[cfg_attr(not(test), allow(dead_code))]
    pub root: web_sys::ShadowRoot,
    previous_focus: Option<HtmlElement>,
    /// Clicks, keys and the form's submission, on the shadow root: one
    /// handler for every control ([`Controls::handle`]).
    _listeners: [EventListener; 3],
}

impl Rendered {
    /// Shows the coupon the edge gave for a sealed form coupon.
    pub fn reveal_coupon(&self, code: &str) {
        let Ok(Some(row)) = self.root.query_selector(".cp") else {
            return;
        };
        if let Ok(Some(input)) = row.query_selector("input") {
            if let Some(input) = input.dyn_ref::<HtmlInputElement>() {
                input.set_value(code);
            }
            let _ = input.set_attribute("value", code);
        }
        let _ = row.remove_attribute("hidden");
    }

    /// The form's success step, as after a valid sign-up (the studio's preview).
    pub fn show_success(&self) {
        let find = |selector| self.root.query_selector(selector).ok().flatten();
        if let (Some(form), Some(success)) = (find("form"), find("[role=status]")) {
            success_step(&form, &success, find(".cp").as_ref());
        }
    }

    pub fn close(self) {
        self.host.remove();
        if let Some(element) = self.previous_focus {
            let _ = element.focus();
        }
    }
}

/// Draws campaign `id`'s content, its merge fields already filled
/// ([`nudge_core::template::fill_content`]).
pub fn show(id: &str, content: &Content, owner: Owner) -> Result<Rendered, String> {
    build(id, content, owner).map_err(|e| {
        e.as_string()
            .unwrap_or_else(|| "the page refused the DOM change".into())
    })
}

fn build(id: &str, content: &Content, owner: Owner) -> DomResult<Rendered> {
    let doc = document().ok_or("no document")?;
    let layout = &content.layout;
    let modal = *layout == Layout::Modal;

    let host = doc.create_element("nudge-campaign")?;
    set(&host, &[("data-campaign", id)]);
    if let Some(accent) = &content.accent {
        // Through the CSSOM, not a `style` attribute: a shop's
        // Content-Security-Policy may forbid inline style attributes.
        if let Some(host) = host.dyn_ref::<HtmlElement>() {
            host.style().set_property("--nudge-accent", accent)?;
        }
    }
    let init = ShadowRootInit::new(ShadowRootMode::Closed);
    let root = host.attach_shadow(&init)?;
    style(&doc, &root, STYLE)?;
    let wrapper = el(&doc, &root, "div", &["n ", layout.name()].concat())?;
    if modal {
        el(&doc, &wrapper, "div", "bd")?;
    }
    let panel = el(&doc, &wrapper, "div", "p")?;
    let title_id = ["nudge-", id, "-title"].concat();
    let has_title = !content.title.is_empty();
    match layout {
        Layout::Modal | Layout::SlideIn => {
            set(
                &panel,
                &[
                    ("role", "dialog"),
                    ("aria-modal", if modal { "true" } else { "false" }),
                    match has_title {
                        true => ("aria-labelledby", &title_id),
                        false => ("aria-label", &content.body),
                    },
                ],
            );
        }
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

    let close = text_el(&doc, &panel, "button", "x", "\u{d7}")?;
    set(
        &close,
        &[("type", "button"), ("aria-label", &content.dismiss_label)],
    );

    if let Some(image) = &content.image {
        let img = el(&doc, &panel, "img", "")?;
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
        text_el(&doc, &panel, "h2", "", &content.title)?.set_id(&title_id);
    }
    if !content.body.is_empty() {
        text_el(&doc, &panel, "p", "", &content.body)?;
    }

    // The coupon: shown at once, or revealed by a successful sign-up (a
    // sealed one once the edge has given it: `Rendered::reveal_coupon`).
    let sealed = content.coupon_sealed && content.form.is_some();
    let coupon = match content.coupon.as_deref().or(sealed.then_some("")) {
        Some(code) => {
            let row = el(&doc, &panel, "div", "cp")?;
            let field = el(&doc, &row, "input", "")?;
            set(
                &field,
                &[
                    ("readonly", ""),
                    ("aria-label", "Coupon code"),
                    ("value", code),
                ],
            );
            let copy = text_el(&doc, &row, "button", "go cc", "Copy")?;
            set(&copy, &[("type", "button")]);
            let status = el(&doc, &row, "span", "st")?;
            set(&status, &[("aria-live", "polite")]);
            if content.form.is_some() {
                set(&row, &[("hidden", "")]);
            }
            Some(row)
        }
        None => None,
    };

    let form = match &content.form {
        Some(spec) => Some(form(&doc, &panel, id, spec)?),
        None => None,
    };

    if let Some(cta) = &content.cta {
        let tag = if cta.url.is_some() { "a" } else { "button" };
        let link = text_el(&doc, &panel, tag, "cta", &cta.label)?;
        if let Some(url) = &cta.url {
            set(&link, &[("href", url)]);
        }
    }
    if matches!(layout, Layout::Modal | Layout::SlideIn) {
        let dismiss = text_el(&doc, &panel, "button", "dm", &content.dismiss_label)?;
        set(&dismiss, &[("type", "button")]);
    }

    let live = owner.live;
    let controls = Rc::new(Controls {
        owner,
        modal,
        panel: panel.clone(),
        form,
        coupon,
        sealed,
    });
    let listen = |name: &'static str| {
        let controls = controls.clone();
        let options = EventListenerOptions::enable_prevent_default();
        EventListener::new_with_options(&root, name, options, move |e| controls.handle(e))
    };
    let listeners = [listen("click"), listen("keydown"), listen("submit")];

    let previous_focus = doc
        .active_element()
        .and_then(|e| e.dyn_into::<HtmlElement>().ok());
    insert_host(&doc, &host, layout)?;
    // Not in the studio's preview: focus stays in the marketer's editor.
    let modal = modal && live;
    if modal {
        focus_first(&panel);
    }
    Ok(Rendered {
        campaign: id.to_owned(),
        slot: layout.slot(),
        host,
        root,
        previous_focus: modal.then_some(previous_focus).flatten(),
        _listeners: listeners,
    })
}

/// The capture form: a labelled field, its submit button, its error line,
/// and the success message shown in its place.
fn form(
    doc: &Document,
    panel: &Element,
    id: &str,
    spec: &nudge_core::campaign::Form,
) -> DomResult<FormParts> {
    let form = el(doc, panel, "form", "")?;
    set(&form, &[("novalidate", "")]);
    let input_id = ["nudge-", id, "-input"].concat();
    let error_id = ["nudge-", id, "-error"].concat();
    let (label, kind) = match spec.field {
        CaptureField::Email => ("Email address", "email"),
        CaptureField::Phone => ("Phone number", "tel"),
    };
    let label = text_el(doc, &form, "label", "", label)?;
    set(&label, &[("for", &input_id)]);
    let input = el(doc, &form, "input", "")?;
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
    let submit = text_el(doc, &form, "button", "go", &spec.button)?;
    set(&submit, &[("type", "submit")]);
    let error = el(doc, &form, "p", "er")?;
    set(&error, &[("id", &error_id), ("aria-live", "polite")]);
    let success = text_el(doc, panel, "p", "", &spec.success)?;
    set(&success, &[("hidden", ""), ("role", "status")]);
    Ok(FormParts {
        field: spec.field,
        form,
        input,
        error,
        success,
    })
}

/// Focuses the first field or action (not the close button), in the next
/// frame: focusing forces style and layout at once, which would hold the
/// insertion back ~10 ms; in a frame callback that work is the frame's own
/// (no extra cost) and the dialog paints sooner.
fn focus_first(panel: &Element) {
    let target = focusables(panel)
        .into_iter()
        .find(|e| e.class_name() != "x")
        .or_else(|| panel.clone().dyn_into::<HtmlElement>().ok());
    let Some(target) = target else { return };
    let focus = wasm_bindgen::closure::Closure::once_into_js(move || {
        if target.is_connected() {
            let _ = target.focus();
        }
    });
    let scheduled = window().and_then(|w| w.request_animation_frame(focus.unchecked_ref()).ok());
    if scheduled.is_none() {
        let _ = focus
            .unchecked_ref::<js_sys::Function>()
            .call0(&JsValue::NULL);
    }
}

fn insert_host(doc: &Document, host: &Element, layout: &Layout) -> DomResult<()> {
    if let Layout::Inline { selector, position } = layout {
        let anchor = doc
            .query_selector(selector)
            .map_err(|_| JsValue::from_str(&["invalid selector \"", selector, "\""].concat()))?
            .ok_or_else(|| {
                JsValue::from_str(&["no element matches \"", selector, "\""].concat())
            })?;
        return match position {
            InlinePosition::Append => anchor.append_with_node_1(host),
            InlinePosition::Prepend => anchor.prepend_with_node_1(host),
            InlinePosition::Before => anchor.before_with_node_1(host),
            InlinePosition::After => anchor.after_with_node_1(host),
        };
    }
    let parent: web_sys::Node = match doc.body() {
        Some(body) => body.into(),
        None => doc.document_element().ok_or("no document element")?.into(),
    };
    parent.append_child(host).map(|_| ())
}
