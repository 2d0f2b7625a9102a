//! Preview on the real shop: a marketer opens a page with
//! `?nudge_preview=<token>`. The loader takes the token out of the address
//! bar and asks the edge's `GET /v1/preview?token=` for the preview; its
//! answer arrives here in the options. While the preview lasts (this tab's
//! `sessionStorage`, until `expires_at`) the agent runs the preview's config,
//! rewritten by core ([`Preview::apply`]: forced variant, targeting lifted),
//! and nothing of the visit leaves the browser or is kept: no events, no
//! outbox, no identity calls, no profile writes, no `nudge.on` callbacks
//! (see `State::previewing`). A badge says so and ends it.
//!
//! A refused or broken preview is said in the console and the tab behaves
//! as any visitor's. The code is in the `preview` build only (the studio's,
//! agent/pkg-studio), which the loader runs in a preview's tab: visitors'
//! agent carries none of it.

use crate::prelude::*;
use nudge_core::campaign::Packed;
use nudge_core::preview::Preview;
use nudge_core::time::Millis;
use nudge_core::{Config, Value};

use crate::browser::window;
use crate::js;
use crate::options::Options;
use nudge_render as render;

/// Where this tab keeps the edge's answer (the JSON text as received).
const STORAGE_KEY: &str = "nudge_preview";

/// A preview this tab is in: what to show, and the config to run (read by
/// `State::new` as the live one would have been, then given to [`start`]).
pub struct Previewing {
    pub preview: Preview,
    pub config: Value,
}

/// The preview for this tab: the edge's answer to a preview link (then
/// kept for the tab), else the tab's kept one until it expires. Only in the
/// build with the `preview` feature (which the loader runs in such a tab):
/// the shops' build compiles all of this away.
pub fn load(opts: &Options, now: Millis) -> Option<Previewing> {
    if !cfg!(feature = "preview") {
        return None;
    }
    let storage = window().and_then(|w| w.session_storage().ok().flatten());
    let (text, fresh) = match &opts.preview {
        Some((status, text)) => match answer(*status, text) {
            Ok(()) => (text.clone(), true),
            Err(why) => {
                js::warn(&format!("preview not shown: {why}"));
                forget(storage.as_ref());
                return None;
            }
        },
        None => (storage.as_ref()?.get_item(STORAGE_KEY).ok()??, false),
    };
    match read(&text, now) {
        Ok(previewing) => {
            if let (Some(storage), true) = (&storage, fresh) {
                let _ = storage.set_item(STORAGE_KEY, &text);
            }
            Some(previewing)
        }
        Err(why) => {
            // A link that was already old is news; a kept one that ran out is not.
            if fresh {
                js::warn(&format!("preview not shown: {why}"));
            } else {
                opts.debug_info(&format!("preview ended: {why}"));
            }
            forget(storage.as_ref());
            None
        }
    }
}

/// The edge's refusal (`{"error": {"code", "message"}}`) in words.
fn answer(status: u16, text: &str) -> Result<(), String> {
    if (200..300).contains(&status) {
        return Ok(());
    }
    if status == 0 {
        return Err("the edge could not be reached".into());
    }
    let message = js::parse(text).and_then(|v| {
        let error = v.get("error")?;
        let message = error.get("message")?.as_str()?;
        let code = error.get("code").and_then(Value::as_str).unwrap_or("");
        Some(format!("{message} ({code})"))
    });
    Err(message.unwrap_or_else(|| format!("the edge refused the link (HTTP {status})")))
}

fn read(text: &str, now: Millis) -> Result<Previewing, String> {
    let (answer, config) = js::parse_with_config(text, "config")?;
    let preview = Preview::from_wire(&answer)?;
    if preview.expired(now) {
        return Err("the preview has expired".into());
    }
    if config.as_object().is_none() {
        return Err("the answer has no config".into());
    }
    Ok(Previewing { preview, config })
}

/// The config this preview's tab runs, and its badge: the preview's config
/// read as the studio reads one (its problems are named in the console),
/// rewritten for the preview (a campaign or variant the config lacks is
/// said in the console; the tab stays a preview's: nothing is sent), then
/// packed as the edge packs a program.
pub fn start(previewing: &Previewing, opts: &Options) -> (Config<Packed>, Option<render::Note>) {
    if !cfg!(feature = "preview") {
        // Keeps the validator out of the shops' build.
        return (Config::default(), None);
    }
    let (mut config, problems) = Config::from_value(&previewing.config);
    for problem in &problems {
        opts.debug_warn(&format!("preview config: {problem}"));
    }
    let preview = &previewing.preview;
    if let Err(why) = preview.apply(&mut config) {
        js::warn(&format!("preview: {why}"));
    }
    let label = config
        .campaign(&preview.campaign_id)
        .filter(|c| !c.name.is_empty())
        .map_or(&preview.campaign_id, |c| &c.name);
    let badge = badge(label);
    (nudge_core::program::pack(&config), badge)
}

fn forget(storage: Option<&web_sys::Storage>) {
    if let Some(storage) = storage {
        let _ = storage.remove_item(STORAGE_KEY);
    }
}

/// The badge: "Nudge preview: <campaign> — exit". Exit forgets the preview
/// and reloads the page (its address no longer has the token).
fn badge(label: &str) -> Option<render::Note> {
    let here = window()?.location().href().ok()?;
    let mut text = String::from("Nudge preview: ");
    text.push_str(label);
    text.push_str(" \u{2014} ");
    let exit: render::Handler = Box::new(|event| {
        event.prevent_default();
        let window = window();
        forget(
            window
                .as_ref()
                .and_then(|w| w.session_storage().ok().flatten())
                .as_ref(),
        );
        if let Some(window) = window {
            let _ = window.location().reload();
        }
    });
    render::note("nudge-preview", &text, "exit", &here, exit).ok()
}
