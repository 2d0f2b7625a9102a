//! The agent's start decision and nothing else: read the config text, read the
//! stored profile, decide on a page view, record what shows, store the profile.
//! No trackers, renderer, outbox, transport or listeners. Its size is the floor
//! under any agent built on core in Rust/wasm (BENCHMARKS.md §1); never shipped.

use nudge_core::decide::{decide, Context, PageState, Signal};
use nudge_core::json::{self, Bounds};
use nudge_core::profile::{Outcome, Profile};
use nudge_core::time::Millis;
use nudge_core::Config;
use wasm_bindgen::prelude::*;

#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

/// Returns the profile to store after the first page view's decision.
#[wasm_bindgen]
pub fn start(config: &str, stored: &str, url: &str, now: f64) -> String {
    let Ok(config) = json::parse(config, Bounds::Refuse) else {
        return String::new();
    };
    let (config, _problems) = Config::from_value(&config);
    let now = now as Millis;
    let mut profile = json::parse(stored, Bounds::Cut)
        .ok()
        .and_then(|stored| Profile::from_stored(&stored).ok())
        .unwrap_or_else(|| Profile::new("anonymous", now));
    let page = PageState {
        context: nudge_core::event::PageContext {
            url: url.into(),
            ..Default::default()
        },
        ..Default::default()
    };
    let shown: Vec<String> = {
        let ctx = Context {
            config: &config,
            profile: &profile,
            page: &page,
            now,
        };
        let decision = decide(&ctx, &Signal::PageView);
        decision
            .choices
            .iter()
            .map(|c| c.campaign.id.clone())
            .collect()
    };
    for id in &shown {
        profile.record(id, None, Outcome::Shown, now);
    }
    profile.to_stored().to_json()
}
