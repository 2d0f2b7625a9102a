//! What the decision tests share (`decide.rs`, `program.rs`): the demo shop's
//! campaigns, read and checked, a page as the agent describes it, and a
//! decision on them.

use nudge_core::campaign::Drawable;
use nudge_core::decide::{decide, Context, Decision, PageState, Signal};
use nudge_core::event::PageContext;
use nudge_core::profile::Profile;
use nudge_core::{Config, Value};

/// The demo shop's `campaigns.json`, which must read without a problem.
pub fn demo_config() -> Config {
    let text = include_str!("../../../demo-shop/campaigns.json");
    let value: Value = serde_json::from_str(text).expect("demo JSON");
    let (config, problems) = Config::from_value(&value);
    assert!(
        problems.is_empty(),
        "demo campaigns have problems: {problems:#?}"
    );
    config
}

/// The page at `path`, begun at `started_at`; a `/category/…` path is a
/// category page of that category.
pub fn page(path: &str, started_at: i64) -> PageState {
    let mut state = PageState {
        context: PageContext {
            path: path.into(),
            url: format!("https://shop.test{path}"),
            ..Default::default()
        },
        started_at,
        ..Default::default()
    };
    if let Some(category) = path.strip_prefix("/category/") {
        state.category = Some(category.into());
        state.page_type = Some("category".into());
    }
    state
}

/// What `decide` answers for `signal` with this config, profile and page at `now`.
pub fn decision<'a, C: Drawable>(
    config: &'a Config<C>,
    profile: &'a Profile,
    page: &'a PageState,
    now: i64,
    signal: &Signal,
) -> Decision<'a, C> {
    let ctx = Context {
        config,
        profile,
        page,
        now,
    };
    decide(&ctx, signal)
}
