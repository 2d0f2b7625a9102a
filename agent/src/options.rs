//! What the shop configured on the script tag, as the loader passes it in.

use crate::prelude::*;
use wasm_bindgen::JsValue;

use crate::js;

pub struct Options {
    /// The site key (`data-site`), which namespaces storage.
    pub site: String,
    /// The collect endpoint; `None` is local-only mode (nothing leaves the browser).
    pub collect: Option<String>,
    /// `data-debug` or `?nudge_debug=1`: decisions and problems go to the console.
    pub debug: bool,
    /// `data-consent="opt-in"`: hold events until `nudge.consent({analytics: true})`.
    pub consent_required: bool,
    /// Page views on `pushState` / `popstate` (`data-spa="off"` to disable).
    pub spa: bool,
    /// The visitor's country when the shop knows it (`data-country`), or a
    /// `?nudge_country=` override in debug mode (for tests and previews).
    pub country: Option<String>,
    pub batch_size: usize,
    pub flush_ms: u32,
    /// The loader's `post(url, body, beacon) -> Promise<[status, text]>` helper.
    pub post: Option<js_sys::Function>,
    /// The loader's `get(url, headers?) -> Promise<text | null>` helper.
    pub get: Option<js_sys::Function>,
    /// The loader's `ui(now) -> Promise<module | null>`: the display module
    /// (render/), fetched at idle or at once ([`crate::display`]).
    pub ui: Option<js_sys::Function>,
    /// The edge's `/v1/profile` and `/v1/identify` (none in local-only mode).
    pub profile_url: Option<String>,
    pub identify_url: Option<String>,
    /// The edge's answer to a preview link (`?nudge_preview=`), fetched by
    /// the loader: `[status, text]` (see [`crate::preview`]).
    pub preview: Option<(u16, String)>,
}

impl Options {
    pub fn from_js(js_value: &JsValue) -> Options {
        let text = |key: &str| js::get_string(js_value, key).filter(|s| !s.trim().is_empty());
        let debug = js::get_bool(js_value, "debug").unwrap_or(false)
            || crate::browser::query_param("nudge_debug").is_some_and(|v| v == "1");
        let country = text("country").or_else(|| {
            if debug {
                crate::browser::query_param("nudge_country")
            } else {
                None
            }
        });
        let number = |key: &str| {
            js_sys::Reflect::get(js_value, &JsValue::from_str(key))
                .ok()
                .and_then(|v| v.as_f64())
        };
        Options {
            site: text("site").unwrap_or_else(|| "default".into()),
            collect: text("collect").filter(|c| c != "off"),
            debug,
            consent_required: text("consent").is_some_and(|c| c == "opt-in"),
            spa: text("spa").is_none_or(|s| s != "off"),
            country,
            batch_size: number("batchSize").map_or(20, |n| n.clamp(1.0, 100.0) as usize),
            flush_ms: number("flushMs").map_or(3000, |n| n.clamp(100.0, 60_000.0) as u32),
            post: function(js_value, "post"),
            get: function(js_value, "get"),
            ui: function(js_value, "ui"),
            profile_url: text("profile").filter(|c| c != "off"),
            identify_url: text("identify").filter(|c| c != "off"),
            preview: if cfg!(feature = "preview") {
                js_sys::Reflect::get(js_value, &JsValue::from_str("preview"))
                    .ok()
                    .filter(js_sys::Array::is_array)
                    .map(|answer| js::answer_of(&answer))
            } else {
                None
            },
        }
    }

    pub fn profile_key(&self) -> String {
        ["nudge:", &self.site, ":profile"].concat()
    }

    pub fn outbox_key(&self) -> String {
        ["nudge:", &self.site, ":outbox"].concat()
    }

    /// Where the edge's browser key is kept, with the anonymous id it is for.
    pub fn browser_key_key(&self) -> String {
        ["nudge:", &self.site, ":key"].concat()
    }

    pub fn debug_warn(&self, message: &str) {
        if self.debug {
            js::warn(message);
        }
    }

    pub fn debug_info(&self, message: &str) {
        if self.debug {
            js::info(message);
        }
    }
}

use wasm_bindgen::JsCast;

fn function(object: &JsValue, key: &str) -> Option<js_sys::Function> {
    js_sys::Reflect::get(object, &JsValue::from_str(key))
        .ok()
        .and_then(|f| f.dyn_into().ok())
}
