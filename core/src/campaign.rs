//! Campaigns: what to show (content, variants), to whom (audience), when
//! (trigger, schedule) and how often (frequency cap).

use crate::condition::Condition;
use crate::prelude::*;
use crate::time::Millis;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    Active,
    Paused,
    Draft,
}

impl Status {
    pub fn name(&self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Paused => "paused",
            Status::Draft => "draft",
        }
    }
}

/// Which URL paths a trigger listens on.
#[derive(Clone, Debug)]
pub enum UrlMatch {
    Equals(String),
    Prefix(String),
    Contains(String),
    /// A regex compiled by the host's engine (see [`crate::condition`]).
    Regex(Condition),
}

impl UrlMatch {
    pub fn matches(&self, path: &str) -> bool {
        match self {
            UrlMatch::Equals(p) => path == p || path.strip_suffix('/') == Some(p.as_str()),
            UrlMatch::Prefix(p) => path.starts_with(p.as_str()),
            UrlMatch::Contains(p) => crate::small::contains(path, p),
            UrlMatch::Regex(condition) => {
                let mut attributes = crate::condition::Attributes::new();
                attributes.insert("path", path);
                condition.matches(&attributes)
            }
        }
    }
}

/// What starts a campaign's evaluation.
#[derive(Clone, Debug, PartialEq)]
pub enum TriggerKind {
    PageView,
    /// The visitor scrolled at least this far down the page (1..=100).
    ScrollDepth {
        percent: u8,
    },
    /// The visitor is about to leave: pointer out through the top (desktop),
    /// a fast scroll up, the back button, or returning to a hidden tab (mobile).
    ExitIntent {
        min_seconds_on_page: f64,
    },
    TimeOnPage {
        seconds: f64,
    },
    /// Visible time summed over the whole visit history crossed this.
    TimeOnSite {
        seconds: f64,
    },
    /// No input for this long.
    Inactivity {
        seconds: f64,
    },
    /// A named event, e.g. "Product Added".
    Event {
        name: String,
    },
}

#[derive(Clone, Debug)]
pub struct Trigger {
    pub kind: TriggerKind,
    pub url: Option<UrlMatch>,
}

/// Where and how content appears.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Layout {
    Modal,
    SlideIn,
    TopBanner,
    BottomBanner,
    /// Into the shop's page, at a CSS selector.
    Inline {
        selector: String,
        position: InlinePosition,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InlinePosition {
    Append,
    Prepend,
    Before,
    After,
}

/// A screen area of which only one campaign may hold at a time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Slot {
    /// Modals and slide-ins: one overlay at a time.
    Overlay,
    Top,
    Bottom,
    Inline(String),
}

impl Slot {
    pub fn name(&self) -> &str {
        match self {
            Slot::Overlay => "overlay",
            Slot::Top => "top banner",
            Slot::Bottom => "bottom banner",
            Slot::Inline(selector) => selector,
        }
    }
}

impl Layout {
    pub fn slot(&self) -> Slot {
        match self {
            Layout::Modal | Layout::SlideIn => Slot::Overlay,
            Layout::TopBanner => Slot::Top,
            Layout::BottomBanner => Slot::Bottom,
            Layout::Inline { selector, .. } => Slot::Inline(selector.clone()),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Layout::Modal => "modal",
            Layout::SlideIn => "slide_in",
            Layout::TopBanner => "top_banner",
            Layout::BottomBanner => "bottom_banner",
            Layout::Inline { .. } => "inline",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaptureField {
    Email,
    Phone,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Form {
    pub field: CaptureField,
    pub placeholder: String,
    pub button: String,
    /// Shown after a valid submission (the coupon, if any, is revealed then).
    pub success: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Image {
    pub src: String,
    pub alt: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CallToAction {
    pub label: String,
    pub url: Option<String>,
}

/// What a campaign shows. Texts may hold merge fields (`{{first_name|there}}`),
/// filled from the visitor's attributes and always rendered as text.
#[derive(Clone, Debug, PartialEq)]
pub struct Content {
    pub layout: Layout,
    pub title: String,
    pub body: String,
    pub image: Option<Image>,
    pub cta: Option<CallToAction>,
    pub form: Option<Form>,
    pub coupon: Option<String>,
    /// The form's coupon is held back by the edge (the config every browser
    /// reads carries no code) and given in the answer to the sign-up.
    pub coupon_sealed: bool,
    pub dismiss_label: String,
    /// Accent colour (CSS colour, validated).
    pub accent: Option<String>,
}

/// A campaign's content as the agent holds it (issue #20, "the edge
/// compiles, the agent executes"): the layout, by which the session places
/// campaigns, and the code `{{coupon}}` names; the rest stays as the
/// program's bytes. Only a campaign that shows has its merge fields filled
/// there (`program::fill`), and only the display module (render/) reads the
/// whole. So a page view decodes, allocates and carries no campaign texts,
/// and the agent has no content reader.
#[derive(Clone, Debug, PartialEq)]
pub struct Packed {
    pub layout: Layout,
    /// The content's coupon code, if the config every browser reads carries
    /// it (a sealed one does not).
    pub coupon: Option<String>,
    /// A content program (`program::encode_content`).
    pub bytes: Vec<u8>,
}

/// What the session needs of a campaign's content, in whichever form it
/// holds it: the full [`Content`] (the edge, the studio) or [`Packed`] (the
/// agent).
pub trait Drawable: Clone + core::fmt::Debug {
    fn layout(&self) -> &Layout;
}

impl Drawable for Content {
    fn layout(&self) -> &Layout {
        &self.layout
    }
}

impl Drawable for Packed {
    fn layout(&self) -> &Layout {
        &self.layout
    }
}

/// How often a visitor may see a campaign.
#[derive(Clone, Debug, PartialEq)]
pub struct FrequencyCap {
    pub per_session: Option<u32>,
    /// At most `max` impressions in any `days`-day window.
    pub per_days: Option<(u32, u32)>,
    pub max_impressions: Option<u32>,
    pub stop_after_conversion: bool,
    /// Days to stay away after a dismissal (0: the per-N-days cap decides).
    pub snooze_days_after_dismiss: u32,
}

impl Default for FrequencyCap {
    fn default() -> Self {
        FrequencyCap {
            per_session: Some(1),
            per_days: None,
            max_impressions: None,
            stop_after_conversion: true,
            snooze_days_after_dismiss: 0,
        }
    }
}

/// One arm of an A/B test. A control arm shows nothing but is recorded, so
/// the campaign's effect can be measured against it.
#[derive(Clone, Debug, PartialEq)]
pub struct Variant<C = Content> {
    pub key: String,
    pub weight: f64,
    pub control: bool,
    /// This arm's content (the campaign's content with the arm's overrides).
    pub content: C,
}

/// A campaign, with its content as `C` ([`Drawable`]).
#[derive(Clone, Debug)]
pub struct Campaign<C = Content> {
    pub id: String,
    pub name: String,
    pub status: Status,
    pub start: Option<Millis>,
    pub end: Option<Millis>,
    pub priority: i32,
    pub trigger: Trigger,
    pub audience: Condition,
    pub content: C,
    pub frequency: FrequencyCap,
    /// Empty for a campaign without A/B test.
    pub variants: Vec<Variant<C>>,
    /// Share of eligible visitors entered into the test (0..=1).
    pub coverage: f64,
    /// Attribute whose value buckets visitors into variants ("id" by default).
    pub hash_attribute: String,
    /// Event that counts as this campaign's conversion.
    pub goal: Option<String>,
}

impl<C> Campaign<C> {
    /// The A/B arm named `key`, if the campaign has one.
    pub fn variant(&self, key: &str) -> Option<&Variant<C>> {
        self.variants.iter().find(|v| v.key == key)
    }
}

/// What the visitor did with a campaign on screen: the display module
/// (render/) reports it to the agent, which records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Close button, Esc, backdrop or dismiss link.
    Dismiss,
    /// The call to action (a link navigates natively on a shop).
    Click,
    /// A valid email or phone number was submitted in the form; `sealed`:
    /// its coupon is held back by the edge until the sign-up is claimed.
    SignUp {
        field: &'static str,
        value: String,
        sealed: bool,
    },
}

impl Action {
    /// The action as a number and a text, as it crosses from the display
    /// module to the agent (two WebAssembly modules, through JS).
    pub fn to_wire(self) -> (u32, String) {
        match self {
            Action::Dismiss => (0, String::new()),
            Action::Click => (1, String::new()),
            Action::SignUp {
                field,
                value,
                sealed,
            } => (
                2 + u32::from(field == "phone") + 2 * u32::from(sealed),
                value,
            ),
        }
    }

    /// Reads what [`Action::to_wire`] wrote; `None` for anything else.
    pub fn from_wire(code: u32, value: String) -> Option<Action> {
        Some(match code {
            0 => Action::Dismiss,
            1 => Action::Click,
            2..=5 => Action::SignUp {
                field: if code % 2 == 1 { "phone" } else { "email" },
                value,
                sealed: code >= 4,
            },
            _ => return None,
        })
    }
}

#[cfg(test)]
mod action_tests {
    use super::Action;

    #[test]
    fn an_action_crosses_between_modules_unchanged() {
        let mut all = vec![Action::Dismiss, Action::Click];
        for field in ["email", "phone"] {
            for sealed in [false, true] {
                all.push(Action::SignUp {
                    field,
                    value: format!("{field} value"),
                    sealed,
                });
            }
        }
        for action in all {
            let (code, value) = action.clone().to_wire();
            assert_eq!(Action::from_wire(code, value), Some(action));
        }
        assert_eq!(Action::from_wire(6, String::new()), None);
        assert_eq!(Action::from_wire(u32::MAX, String::new()), None);
    }
}
