//! Drawing a campaign: a closed Shadow DOM (styles isolated both ways),
//! accessible (dialog semantics, focus trap, Esc, focus returned), responsive,
//! fixed-position so nothing on the shop's page shifts. Every marketer or
//! visitor string is inserted as a text node or attribute value: there is no
//! `innerHTML` here, so text cannot turn into markup.

use std::rc::Rc;

use gloo_events::{EventListener, EventListenerOptions};
use nudge_core::campaign::{Action, CaptureField, Content, InlinePosition, Layout, Slot};
use nudge_core::capture::{normalize_email, normalize_phone};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{
    CssStyleSheet, Document, Element, HtmlElement, HtmlInputElement, KeyboardEvent, ShadowRoot,
    ShadowRootInit, ShadowRootMode,
};

fn window() -> Option<web_sys::Window> {
    web_sys::window()
}

fn document() -> Option<Document> {
    window()?.document()
}

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    /// `promise.then(f, g)` with any JS functions (once-closures free themselves).
    #[wasm_bindgen(js_name = Promise)]
    type Thenable;
    #[wasm_bindgen(method, js_name = then)]
    fn then_both(this: &Thenable, on_fulfilled: &JsValue, on_rejected: &JsValue) -> JsValue;
}

const STYLE: &str = include_str!("style.css");
const FOCUSABLE: &str = "button,a[href],input";

/// Who a rendering reports to. On a shop: the agent's state, `live`. In the
/// studio's preview: nothing that leaves the page, and not `live`: the call
/// to action does not navigate and focus stays where the marketer is typing.
pub struct Owner {
    pub act: Rc<dyn Fn(Action)>,
    pub live: bool,
}

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

pub type DomResult<T> = Result<T, JsValue>;

fn el(doc: &Document, parent: &web_sys::Node, tag: &str, class: &str) -> DomResult<Element> {
    let e = doc.create_element(tag)?;
    if !class.is_empty() {
        e.set_class_name(class);
    }
    parent.append_child(&e)?;
    Ok(e)
}

fn text_el(
    doc: &Document,
    parent: &web_sys::Node,
    tag: &str,
    class: &str,
    text: &str,
) -> DomResult<Element> {
    let e = el(doc, parent, tag, class)?;
    e.set_text_content(Some(text));
    Ok(e)
}

/// Sets attributes whose names are ours and valid: nothing to fail.
fn set(e: &Element, attributes: &[(&str, &str)]) {
    for (name, value) in attributes {
        let _ = e.set_attribute(name, value);
    }
}

/// Styles a shadow root with `css`. A constructed stylesheet is not inline
/// style to a Content-Security-Policy, so a shop whose `style-src` has no
/// `'unsafe-inline'` still shows styled campaigns; a browser without
/// constructable stylesheets (Safari before 16.4) gets a `<style>` element.
fn style(doc: &Document, root: &ShadowRoot, css: &str) -> DomResult<()> {
    if let Ok(sheet) = CssStyleSheet::new() {
        if sheet.replace_sync(css).is_ok() {
            root.set_adopted_style_sheets(&js_sys::Array::of1(&sheet));
            return Ok(());
        }
    }
    text_el(doc, root, "style", "", css).map(drop)
}

pub type Handler = Box<dyn Fn(&web_sys::Event)>;

/// Draws campaign `id`'s content, its merge fields already filled
/// ([`nudge_core::template::fill_content`]).
pub fn show(id: &str, content: &Content, owner: Owner) -> Result<Rendered, String> {
    build(id, content, owner).map_err(|e| {
        e.as_string()
            .unwrap_or_else(|| "the page refused the DOM change".into())
    })
}

/// The form's parts its submission uses.
struct FormParts {
    field: CaptureField,
    form: Element,
    input: Element,
    error: Element,
    success: Element,
}

/// What the campaign's one handler needs: who to report to, and the parts
/// it changes.
struct Controls {
    owner: Owner,
    modal: bool,
    panel: Element,
    form: Option<FormParts>,
    /// The coupon row (`.cp`), hidden until a sign-up when there is a form.
    coupon: Option<Element>,
    /// The form's coupon is held back by the edge (revealed when given).
    sealed: bool,
}

impl Controls {
    fn handle(&self, event: &web_sys::Event) {
        match event.type_().as_str() {
            "click" => self.click(event),
            "keydown" => {
                let Some(key) = event.dyn_ref::<KeyboardEvent>() else {
                    return;
                };
                match key.key().as_str() {
                    "Escape" => (self.owner.act)(Action::Dismiss),
                    "Tab" if self.modal => trap_focus(&self.panel, key),
                    _ => {}
                }
            }
            "submit" => {
                event.prevent_default();
                self.submit();
            }
            _ => {}
        }
    }

    /// A click on one of our controls, found from the element clicked.
    fn click(&self, event: &web_sys::Event) {
        let control = event
            .target()
            .and_then(|t| t.dyn_into::<Element>().ok())
            .and_then(|e| e.closest("a,button,.bd").ok().flatten());
        let Some(control) = control else { return };
        match control.class_name().as_str() {
            // Close button, dismiss link, backdrop.
            "x" | "dm" | "bd" => (self.owner.act)(Action::Dismiss),
            // The call to action (a link navigates natively when live).
            "cta" => {
                if !self.owner.live {
                    event.prevent_default();
                }
                (self.owner.act)(Action::Click)
            }
            "go cc" => {
                if let Some(row) = &self.coupon {
                    copy(row);
                }
            }
            _ => {}
        }
    }

    fn submit(&self) {
        let Some(parts) = &self.form else { return };
        let Some(input) = parts.input.dyn_ref::<HtmlInputElement>() else {
            return;
        };
        let checked = match parts.field {
            CaptureField::Email => normalize_email(&input.value()).map(|v| ("email", v)),
            CaptureField::Phone => normalize_phone(&input.value()).map(|v| ("phone", v)),
        };
        match checked {
            Err(reason) => {
                parts.error.set_text_content(Some(reason));
                let _ = input.set_attribute("aria-invalid", "true");
                let _ = input.focus();
            }
            Ok((field, value)) => {
                // A sealed coupon is revealed when the edge gives it.
                let coupon = self.coupon.as_ref().filter(|_| !self.sealed);
                success_step(&parts.form, &parts.success, coupon);
                (self.owner.act)(Action::SignUp {
                    field,
                    value,
                    sealed: self.sealed,
                });
            }
        }
    }
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

/// A small note fixed at the bottom left, `<tag>` with its own closed shadow
/// root: `text`, then a link to `href` whose clicks go to `on_click` (the
/// preview badge). It stays until dropped.
pub struct Note {
    host: Element,
    _listener: EventListener,
}

impl Drop for Note {
    fn drop(&mut self) {
        self.host.remove();
    }
}

const NOTE_STYLE: &str = ":host{all:initial}div{position:fixed;left:12px;bottom:12px;z-index:2147483647;\
font:12px/1.4 system-ui,sans-serif;color:#fff;background:rgba(17,24,39,.85);padding:6px 10px;border-radius:6px}\
a{color:inherit}";

pub fn note(tag: &str, text: &str, link: &str, href: &str, on_click: Handler) -> DomResult<Note> {
    let doc = document().ok_or("no document")?;
    let host = doc.create_element(tag)?;
    let root = host.attach_shadow(&ShadowRootInit::new(ShadowRootMode::Closed))?;
    style(&doc, &root, NOTE_STYLE)?;
    let bar = text_el(&doc, &root, "div", "", text)?;
    bar.set_attribute("role", "status")?;
    let anchor = text_el(&doc, &bar, "a", "", link)?;
    anchor.set_attribute("href", href)?;
    let listener = EventListener::new_with_options(
        &anchor,
        "click",
        EventListenerOptions::enable_prevent_default(),
        move |event| on_click(event),
    );
    doc.body().ok_or("no body")?.append_child(&host)?;
    Ok(Note {
        host,
        _listener: listener,
    })
}

/// Hides the form and shows its success message and the coupon row, if given.
fn success_step(form: &Element, success: &Element, coupon: Option<&Element>) {
    let _ = form.set_attribute("hidden", "");
    let _ = success.remove_attribute("hidden");
    if let Some(row) = coupon {
        let _ = row.remove_attribute("hidden");
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

/// Elements that can take focus now: in document order, none inside a hidden part.
fn focusables(panel: &Element) -> Vec<HtmlElement> {
    let Ok(list) = panel.query_selector_all(FOCUSABLE) else {
        return Vec::new();
    };
    (0..list.length())
        .filter_map(|i| list.item(i))
        .filter_map(|n| n.dyn_into::<HtmlElement>().ok())
        .filter(|e| e.closest("[hidden]").ok().flatten().is_none())
        .collect()
}

fn trap_focus(panel: &Element, key: &KeyboardEvent) {
    let items = focusables(panel);
    let (Some(first), Some(last)) = (items.first(), items.last()) else {
        return;
    };
    // Inside a closed shadow root, the shadow root knows the focused element.
    let active = panel
        .get_root_node()
        .dyn_into::<web_sys::ShadowRoot>()
        .ok()
        .and_then(|r| r.active_element());
    let at = |e: &HtmlElement| {
        active
            .as_ref()
            .is_some_and(|a| a == e.unchecked_ref::<Element>())
    };
    if key.shift_key() && (at(first) || active.is_none()) {
        key.prevent_default();
        let _ = last.focus();
    } else if !key.shift_key() && at(last) {
        key.prevent_default();
        let _ = first.focus();
    }
}

/// Copies the coupon row's code: the field's value at the click (a sealed
/// coupon arrives after render).
fn copy(row: &Element) {
    let field = row.query_selector("input").ok().flatten();
    let status = row.query_selector(".st").ok().flatten();
    let (Some(input), Some(status)) = (
        field.and_then(|f| f.dyn_into::<HtmlInputElement>().ok()),
        status,
    ) else {
        return;
    };
    input.select();
    let code = input.value();
    // navigator.clipboard is missing on http:// and in old browsers, and
    // may refuse; the code then stays selected for a manual copy.
    status.set_text_content(Some("Press Ctrl+C to copy"));
    let clipboard = window()
        .and_then(|w| js_sys::Reflect::get(&w.navigator(), &"clipboard".into()).ok())
        .filter(|c| !c.is_undefined() && !c.is_null());
    let promise = clipboard.and_then(|c| {
        let write = js_sys::Reflect::get(&c, &"writeText".into())
            .ok()?
            .dyn_into::<js_sys::Function>()
            .ok()?;
        write
            .call1(&c, &JsValue::from_str(&code))
            .ok()?
            .dyn_into::<js_sys::Promise>()
            .ok()
    });
    if let Some(promise) = promise {
        let done = wasm_bindgen::closure::Closure::once_into_js(move || {
            status.set_text_content(Some("Copied!"))
        });
        // A refusal leaves the manual hint; the rejection is handled, not thrown.
        let refused = wasm_bindgen::closure::Closure::once_into_js(|| {});
        let _ = promise
            .unchecked_ref::<Thenable>()
            .then_both(&done, &refused);
    }
}
