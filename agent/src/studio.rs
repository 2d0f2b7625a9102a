//! The marketer studio's build of the agent (`--features studio`, built to
//! `agent/pkg-studio`; the shops' build has none of this): core's own config
//! validation, and a live preview drawn by the shops' own renderer
//! ([`nudge_render::show`], the same merge fields), not a look-alike.
//!
//! Nothing here tracks, stores or calls the network: there is no agent
//! state, only the one preview on screen. Nothing throws: every problem comes
//! back as a diagnostic `{path, message, severity}`.

use crate::prelude::*;
use alloc::rc::Rc;

use nudge_core::campaign::{Content, InlinePosition, Layout};
use nudge_core::config::Geo;
use nudge_core::decide::{build_attributes, PageState};
use nudge_core::json::{self, JsonError};
use nudge_core::profile::Profile;
use nudge_core::{Attributes, Config, Diagnostic, Map, Severity, Value};
use wasm_bindgen::prelude::*;

use crate::{browser, js};
use nudge_core::campaign::Action;
use nudge_render::{self as render, Owner, Rendered};

use crate::local::PageLocal;

/// Where an inline campaign goes when its selector matches nothing in the
/// preview page: the page's stand-in slot (made at the end of the body if
/// the page has none), so the marketer still sees it.
pub(crate) const STAND_IN: &str = "nudge-preview-slot";

/// The preview on screen: replaced by the next, closed by its dismiss.
pub(crate) static SHOWN: PageLocal<Option<Rendered>> = PageLocal::new(None);

/// `validateConfig(text)`: every problem core finds in the config JSON text
/// (its campaigns, and its journeys as the edge checks them), read within
/// the same limits as the agent and the edge read it.
#[wasm_bindgen(js_name = validateConfig)]
pub fn validate_config(text: JsValue) -> JsValue {
    js::install_host();
    let diagnostics = match read_config(&text) {
        Ok(value) => {
            let mut problems = Config::validate(&value);
            // The journey editor's check: journeys run at the edge, which
            // checks them with this same call on write.
            problems.extend(nudge_core::journey::validate(&value));
            problems
        }
        Err(problem) => vec![problem],
    };
    to_js(&diagnostics)
}

/// `previewCampaign(configText, campaignId, {step, variant, coupon, traits})`:
/// shows that campaign in this document as a shop's agent would, replacing
/// any previous preview. `step` is `"offer"` (the first view, the default),
/// `"form"` or `"success"` (the form's success message, the coupon
/// revealed); `coupon` replaces the content's code; `traits` fill merge
/// fields (`{{first_name|}}`). Answers the config's problems that concern
/// this campaign (and the document), and the preview's own.
#[wasm_bindgen(js_name = previewCampaign)]
pub fn preview_campaign(config_text: JsValue, campaign_id: JsValue, options: JsValue) -> JsValue {
    js::install_host();
    close();
    let mut diagnostics = Vec::new();
    if let Err(problem) = preview(&config_text, &campaign_id, &options, &mut diagnostics) {
        diagnostics.push(problem);
    }
    to_js(&diagnostics)
}

/// `compileConfig(text)`: the program `GET /v1/config?program=2` serves for
/// this config (`core::program`, with the config's own `geo` if it has one),
/// its usable campaigns compiled as the edge compiles them; `undefined` for text that is not a
/// config (not JSON, over the limits). For the demo shop's stand-in of the
/// edge and for tests, which hand the agent configs they write as JSON.
#[wasm_bindgen(js_name = compileConfig)]
pub fn compile_config(text: JsValue) -> Option<Vec<u8>> {
    js::install_host();
    let (config, _) = Config::from_value(&read_config(&text).ok()?);
    Some(nudge_core::program::encode_config(&config))
}

fn read_config(text: &JsValue) -> Result<Value, Diagnostic> {
    let text = text
        .as_string()
        .ok_or_else(|| Diagnostic::error("", "the config must be given as JSON text"))?;
    // Read exactly as the shops' agent reads it (core::json, the limits refused).
    json::parse(&text, json::Bounds::Refuse).map_err(|problem| {
        let message = match problem {
            JsonError::Syntax { at } => {
                format!("the config is not valid JSON: reading stopped at byte {at}")
            }
            JsonError::Exceeded(what) => format!("the config is over Nudge's limits: {what}"),
        };
        Diagnostic::error("", message)
    })
}

fn preview(
    config_text: &JsValue,
    campaign_id: &JsValue,
    options: &JsValue,
    out: &mut Vec<Diagnostic>,
) -> Result<(), Diagnostic> {
    let value = read_config(config_text)?;
    let id = campaign_id
        .as_string()
        .ok_or_else(|| Diagnostic::error("", "the campaign id must be a string"))?;
    let (config, problems) = Config::from_value(&value);
    let at = campaign_path(&value, &id);
    out.extend(problems.into_iter().filter(|d| concerns(d, at.as_deref())));
    let Some(campaign) = config.campaign(&id) else {
        // Present but unusable: its errors are already in `out`.
        return match at {
            Some(_) => Ok(()),
            None => Err(Diagnostic::error(
                "",
                format!("no campaign \"{id}\" in this config"),
            )),
        };
    };
    let at = at.unwrap_or_default();
    let mut content = match js::get_string(options, "variant").filter(|v| !v.is_empty()) {
        None => campaign.content.clone(),
        Some(key) => match campaign.variant(&key) {
            Some(arm) => arm.content.clone(),
            None => {
                return Err(Diagnostic::error(
                    format!("{at}.variants"),
                    format!("no variant \"{key}\""),
                ))
            }
        },
    };
    if let Some(code) = js::get_string(options, "coupon").filter(|c| !c.is_empty()) {
        content.coupon = Some(code);
    }
    let step = js::get_string(options, "step");
    let success = match step.as_deref() {
        None | Some("offer") => false,
        Some(step @ ("form" | "success")) if content.form.is_none() => {
            out.push(Diagnostic::warning(
                format!("{at}.content"),
                format!("no form, so no {step} step: showing the offer"),
            ));
            false
        }
        Some("form") => false,
        Some("success") => true,
        Some(other) => {
            out.push(Diagnostic::warning(
                "",
                format!("step must be offer, form or success; got \"{other}\": showing the offer"),
            ));
            false
        }
    };
    stand_in(&mut content);
    let owner = Owner {
        // Dismissing closes; a click or a sign-up has nowhere to go.
        act: Rc::new(|action| {
            if let Action::Dismiss = action {
                close();
            }
        }),
        live: false,
    };
    let sample = sample_attributes(options);
    let value_of = |name: &str| nudge_core::template::value_of(&sample, name);
    let content = nudge_core::template::fill_content(content, &value_of);
    let shown = render::show(&id, &content, owner)
        .map_err(|why| Diagnostic::error(at, format!("not rendered: {why}")))?;
    if success {
        shown.show_success();
    }
    SHOWN.with(|s| *s.borrow_mut() = Some(shown));
    Ok(())
}

/// Removes the preview on screen, if any.
pub(crate) fn close() {
    // Taken out first: closing runs no code of ours, but never under a borrow.
    if let Some(shown) = SHOWN.with(|s| s.borrow_mut().take()) {
        shown.close();
    }
}

/// `campaigns[i]`, where the config text holds campaign `id`.
fn campaign_path(config: &Value, id: &str) -> Option<String> {
    let campaigns = config.get("campaigns")?.as_array()?;
    let index = campaigns
        .iter()
        .position(|c| c.get("id").and_then(Value::as_str) == Some(id))?;
    Some(format!("campaigns[{index}]"))
}

/// Whether a problem is about the document or the campaign at `at`.
fn concerns(problem: &Diagnostic, at: Option<&str>) -> bool {
    if !problem.path.starts_with("campaigns[") {
        return true;
    }
    at.and_then(|at| problem.path.strip_prefix(at))
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
}

/// Points an inline campaign whose selector matches nothing here at the
/// page's stand-in slot.
fn stand_in(content: &mut Content) {
    let Layout::Inline { selector, position } = &mut content.layout else {
        return;
    };
    let Some(doc) = browser::document() else {
        return;
    };
    if matches!(doc.query_selector(selector), Ok(Some(_))) {
        return;
    }
    if doc.get_element_by_id(STAND_IN).is_none() {
        let slot = doc.create_element("div");
        if let (Ok(slot), Some(body)) = (slot, doc.body()) {
            slot.set_id(STAND_IN);
            let _ = body.append_child(&slot);
        }
    }
    *selector = format!("#{STAND_IN}");
    *position = InlinePosition::Append;
}

/// What merge fields see: a first-time visitor on this page, with `traits`.
fn sample_attributes(options: &JsValue) -> Attributes {
    let now = browser::now();
    let page = PageState {
        context: browser::page_context(),
        device: browser::device(),
        started_at: now,
        ..PageState::default()
    };
    let profile = Profile::new("studio-preview", now);
    let mut attributes = build_attributes(&profile, &page, &Geo::default(), now);
    let traits = js_sys::Reflect::get(options, &"traits".into()).unwrap_or(JsValue::NULL);
    if let Value::Object(traits) = js::to_value(&traits) {
        attributes.insert("traits", traits);
    }
    attributes
}

fn to_js(diagnostics: &[Diagnostic]) -> JsValue {
    let list = diagnostics
        .iter()
        .map(|d| {
            let mut item = Map::new();
            item.insert("path", d.path.as_str());
            item.insert("message", d.message.as_str());
            let severity = match d.severity {
                Severity::Error => "error",
                _ => "warning",
            };
            item.insert("severity", severity);
            Value::Object(item)
        })
        .collect();
    js::from_value(&Value::Array(list))
}
