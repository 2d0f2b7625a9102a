//! What a visitor's act on a campaign means. The campaign's one handler
//! (`dom.js`'s `listen`, on its shadow root) reports which control was
//! clicked, Esc, or the form's submission with its value; here that becomes
//! an [`Action`] for the owner, and a sign-up is checked as the edge will
//! check it ([`nudge_core::capture`]).

use alloc::rc::Rc;

use nudge_core::campaign::{Action, CaptureField};
use nudge_core::capture::{normalize_email, normalize_phone};

use crate::dom::{self, ShadowRoot};

/// Who a rendering reports to. On a shop: the agent's state, `live`. In the
/// studio's preview: nothing that leaves the page, and not `live`: the call
/// to action does not navigate and focus stays where the marketer is typing.
pub struct Owner {
    pub act: Rc<dyn Fn(Action)>,
    pub live: bool,
}

/// What the campaign's one handler needs: who to report to, and what the
/// campaign holds.
pub(crate) struct Controls {
    pub(crate) owner: Owner,
    pub(crate) root: ShadowRoot,
    /// The capture form's field, if the campaign has a form.
    pub(crate) form: Option<CaptureField>,
    /// The form's coupon is held back by the edge (revealed when given).
    pub(crate) sealed: bool,
}

impl Controls {
    /// `what` the visitor did: a control's class ("x", "dm", "bd", "cta"),
    /// "Escape", or "submit" with the field's `value`. Whether the browser's
    /// default is prevented.
    pub(crate) fn report(&self, what: &str, value: &str) -> bool {
        match what {
            // Close button, dismiss link, backdrop, Esc.
            "x" | "dm" | "bd" | "Escape" => (self.owner.act)(Action::Dismiss),
            // The call to action: a link navigates natively when live.
            "cta" => {
                (self.owner.act)(Action::Click);
                return !self.owner.live;
            }
            "submit" => self.submit(value),
            _ => {}
        }
        false
    }

    fn submit(&self, value: &str) {
        let Some(field) = self.form else { return };
        let checked = match field {
            CaptureField::Email => normalize_email(value).map(|v| ("email", v)),
            CaptureField::Phone => normalize_phone(value).map(|v| ("phone", v)),
        };
        match checked {
            Err(reason) => dom::refuse(&self.root, reason),
            Ok((field, value)) => {
                // A sealed coupon is revealed when the edge gives it.
                dom::succeed(&self.root, !self.sealed);
                (self.owner.act)(Action::SignUp {
                    field,
                    value,
                    sealed: self.sealed,
                });
            }
        }
    }
}
