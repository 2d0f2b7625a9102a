//! What the agent keeps in the browser: the profile and the outbox in
//! local storage (written once per burst of work), and the browser key.

use nudge_core::platform::Storage;
use nudge_core::profile::Profile;
use nudge_core::session::key::{self, BrowserKey};

use super::State;
use crate::browser;
use crate::handle::Handle;
use crate::task::Task;

impl State {
    /// Marks the profile as changed; it is written once, when the current
    /// batch of work ends ([`State::persist`]), however many events it held.
    /// (Never in a preview's tab: its profile is a copy in memory.)
    pub fn save_profile(&mut self) {
        self.profile_dirty = !self.previewing();
    }

    pub fn save_outbox(&mut self) {
        self.outbox_dirty = !self.previewing();
    }

    /// Writes what changed to local storage: from the timer that
    /// [`State::schedule_persist`] sets, and at once when the page is hidden.
    pub fn persist(&mut self) {
        if core::mem::take(&mut self.profile_dirty) {
            if let Err(e) = self
                .store
                .save(&self.opts.profile_key(), &self.session.profile.to_stored())
            {
                debug_warn!(self.opts, "profile not saved: {e}");
            }
        }
        if core::mem::take(&mut self.outbox_dirty) {
            let _ = self.store.save_text(
                &self.opts.outbox_key(),
                &self.transport.outbox().to_stored_json(),
            );
        }
        self.persist_timer = None;
    }

    /// Writes changes right after the current burst of work (several API
    /// calls in one script task cost one write), never later than that.
    pub fn schedule_persist(&mut self, handle: &Handle) {
        if (self.profile_dirty || self.outbox_dirty) && self.persist_timer.is_none() {
            let weak = handle.clone();
            self.persist_timer = Some(crate::callbacks::Timer::after(0, move || {
                weak.run(Task::Persist);
            }));
        }
    }

    /// The browser key of the current anonymous id, if it has one
    /// (`core::session::key::current`: the stored one, read each time, else
    /// the one in memory; never another id's).
    pub fn current_key(&self) -> Option<BrowserKey> {
        let stored = self.store.load(&self.opts.browser_key_key()).ok().flatten();
        key::current(
            &self.session.profile.anonymous_id,
            stored.as_ref(),
            self.key.as_ref(),
        )
    }

    /// The current anonymous id's browser key, made (and kept) if it has
    /// none yet. `None` only where the browser has no `crypto`.
    pub fn browser_key(&mut self) -> Option<BrowserKey> {
        if let Some(key) = self.current_key() {
            return Some(key);
        }
        let secret = browser::new_browser_key()?;
        let key = BrowserKey::new(&self.session.profile.anonymous_id, secret);
        self.keep_key(key.clone());
        Some(key)
    }

    fn keep_key(&mut self, key: BrowserKey) {
        let _ = self
            .store
            .save(&self.opts.browser_key_key(), &key.to_stored());
        self.key = Some(key);
    }

    /// The edge answered 2xx to a post carrying `sent`: it has registered
    /// the key, if that is still this visitor's. Whether this is the first
    /// acknowledgement (then the profile can be fetched).
    pub fn key_acknowledged(&mut self, sent: &BrowserKey) -> bool {
        match key::acknowledged(self.current_key(), sent) {
            Some(acknowledged) => {
                self.keep_key(acknowledged);
                true
            }
            None => false,
        }
    }

    /// Another tab changed the profile: adopt its version.
    pub fn reload_profile(&mut self) {
        if let Ok(Some(value)) = self.store.load(&self.opts.profile_key()) {
            if let Ok(profile) = Profile::from_stored(&value) {
                self.session.profile = profile;
            }
        }
    }
}
