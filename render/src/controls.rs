//! One handler per campaign, on its shadow root: clicks on its controls
//! (found from the element clicked), keys (Esc, the modal's focus trap) and
//! the capture form's submission. One closure type for every control keeps
//! the module small; the shadow root sees the real target of each event.

use std::rc::Rc;

use nudge_core::campaign::{Action, CaptureField};
use nudge_core::capture::{normalize_email, normalize_phone};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Element, HtmlElement, HtmlInputElement, KeyboardEvent};

use crate::dom::{focusables, window};

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    /// `promise.then(f, g)` with any JS functions (once-closures free themselves).
    #[wasm_bindgen(js_name = Promise)]
    type Thenable;
    #[wasm_bindgen(method, js_name = then)]
    fn then_both(this: &Thenable, on_fulfilled: &JsValue, on_rejected: &JsValue) -> JsValue;
}

/// The form's parts its submission uses.
pub(crate) struct FormParts {
    pub(crate) field: CaptureField,
    pub(crate) form: Element,
    pub(crate) input: Element,
    pub(crate) error: Element,
    pub(crate) success: Element,
}

/// Who a rendering reports to. On a shop: the agent's state, `live`. In the
/// studio's preview: nothing that leaves the page, and not `live`: the call
/// to action does not navigate and focus stays where the marketer is typing.
pub struct Owner {
    pub act: Rc<dyn Fn(Action)>,
    pub live: bool,
}

/// What the campaign's one handler needs: who to report to, and the parts
/// it changes.
pub(crate) struct Controls {
    pub(crate) owner: Owner,
    pub(crate) modal: bool,
    pub(crate) panel: Element,
    pub(crate) form: Option<FormParts>,
    /// The coupon row (`.cp`), hidden until a sign-up when there is a form.
    pub(crate) coupon: Option<Element>,
    /// The form's coupon is held back by the edge (revealed when given).
    pub(crate) sealed: bool,
}

impl Controls {
    pub(crate) fn handle(&self, event: &web_sys::Event) {
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

/// Hides the form and shows its success message and the coupon row, if given.
pub(crate) fn success_step(form: &Element, success: &Element, coupon: Option<&Element>) {
    let _ = form.set_attribute("hidden", "");
    let _ = success.remove_attribute("hidden");
    if let Some(row) = coupon {
        let _ = row.remove_attribute("hidden");
    }
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
