//! Campaigns on screen, through the display module (render/,
//! `nudge_render.js`): the renderer, capture forms and coupons are a second
//! WebAssembly module, so a page view that shows nothing never downloads
//! them (issue #20, part 3).
//!
//! The loader's `ui(now)` fetches the module and resolves to it (or to
//! `null`). The agent asks for it at idle as soon as a campaign waits on
//! this page for its trigger (scroll, exit intent, time, an event), so that
//! campaign paints as its trigger fires; and at once when a campaign shows
//! before it arrived (a page-view campaign on a first visit). Shows decided
//! before the module arrives wait here, for this page only.

use crate::prelude::*;
use nudge_core::campaign::{Action, Slot};
use nudge_core::session::Show;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::handle::Handle;
use crate::js::call_quietly;
use crate::task::Task;

#[wasm_bindgen]
extern "C" {
    /// The display module's exports (render/src/module.rs).
    pub type Module;
    #[wasm_bindgen(method, catch)]
    fn show(this: &Module, id: &str, content: &[u8], act: &JsValue) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(method, catch)]
    fn close(this: &Module, id: &str) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(method, catch, js_name = revealCoupon)]
    fn reveal_coupon(this: &Module, id: &str, code: &str) -> Result<JsValue, JsValue>;
}

enum Status {
    /// Not asked for yet (or the last attempt failed: the next show asks again).
    Absent,
    /// Asked for; `now`: a show waits for it, so the loader no longer waits for idle.
    Requested {
        now: bool,
    },
    Ready(Module),
}

/// What became of a show handed to [`Display::draw`].
pub enum Drawn {
    /// On screen now.
    Now,
    /// Waiting for the module: drawn or given back by [`Display::loaded`].
    Later,
    /// Not drawn (the module refused the content or the page the DOM change).
    Refused(String),
}

pub struct Display {
    /// The loader's `ui(now) -> Promise<module | null>`; none in builds
    /// started another way (then nothing is drawn, and nothing breaks).
    load: Option<js_sys::Function>,
    status: Status,
    /// Campaigns on screen, with their slot.
    open: Vec<(String, Slot)>,
    /// Shows waiting for the module, with their content as the module reads it.
    waiting: Vec<(Show, Vec<u8>)>,
    /// `act(id, code, value)`, handed to the module with each show.
    act: JsValue,
}

impl Display {
    pub fn new(load: Option<js_sys::Function>) -> Display {
        Display {
            load,
            status: Status::Absent,
            open: Vec::new(),
            waiting: Vec::new(),
            act: JsValue::UNDEFINED,
        }
    }

    /// The function the module reports what the visitor did to, made with
    /// the first show (a page view that shows nothing makes none).
    fn act(&mut self, handle: &Handle) -> &JsValue {
        if self.act.is_undefined() {
            let weak = handle.clone();
            let act = Closure::<dyn Fn(String, u32, String)>::new(move |campaign, code, value| {
                if let Some(action) = Action::from_wire(code, value) {
                    weak.run(Task::Act { campaign, action });
                }
            });
            self.act = act.into_js_value();
        }
        &self.act
    }

    /// Whether the module may still be asked for ahead of a show.
    pub fn may_prefetch(&self) -> bool {
        self.load.is_some() && matches!(self.status, Status::Absent)
    }

    /// A campaign waits for its trigger on this page: fetch the module when
    /// the browser is idle, if not asked for yet.
    pub fn prefetch(&mut self, handle: &Handle) {
        if matches!(self.status, Status::Absent) {
            self.request(false, handle);
        }
    }

    /// Draws `show` with `content` (`core::program::encode_content`), now if
    /// the module is here, else when it arrives.
    pub fn draw(&mut self, show: &Show, content: Vec<u8>, handle: &Handle) -> Drawn {
        let act = self.act(handle).clone();
        match &self.status {
            Status::Ready(module) => {
                let answer = module.show(&show.campaign, &content, &act);
                match answer {
                    Ok(why) if why.is_undefined() || why.is_null() => {
                        self.open
                            .push((show.campaign.clone(), show.content.layout.slot()));
                        Drawn::Now
                    }
                    Ok(why) => Drawn::Refused(why.as_string().unwrap_or_default()),
                    Err(_) => Drawn::Refused("the display module failed".into()),
                }
            }
            Status::Requested { now: true } => {
                self.waiting.push((show.clone(), content));
                Drawn::Later
            }
            Status::Requested { now: false } | Status::Absent => {
                if self.load.is_none() {
                    return Drawn::Refused("no display module in this build".into());
                }
                self.request(true, handle);
                if matches!(self.status, Status::Absent) {
                    return Drawn::Refused("the loader could not fetch the display module".into());
                }
                self.waiting.push((show.clone(), content));
                Drawn::Later
            }
        }
    }

    /// Asks the loader for the module; its answer comes back as a task.
    fn request(&mut self, now: bool, handle: &Handle) {
        let Some(load) = &self.load else { return };
        let first = matches!(self.status, Status::Absent);
        self.status = Status::Requested { now };
        // The same promise each time: asking again only stops the idle wait.
        let promise = call_quietly(load, &[JsValue::from_bool(now)])
            .and_then(|p| p.dyn_into::<js_sys::Promise>().ok());
        let Some(promise) = promise else {
            self.status = Status::Absent;
            return;
        };
        if first {
            let weak = handle.clone();
            let arrived = Closure::once_into_js(move |module: JsValue| {
                weak.run(Task::DisplayLoaded(module));
            });
            promise
                .unchecked_ref::<crate::js::Thenable>()
                .then_call(&arrived);
        }
    }

    /// The loader's answer: the module, or `null` if it could not load.
    /// Gives back the shows that waited, with the module now ready (draw
    /// them) or not (they are not drawn).
    pub fn loaded(&mut self, module: JsValue) -> (bool, Vec<(Show, Vec<u8>)>) {
        let ready = module.is_object();
        self.status = match ready {
            true => Status::Ready(module.unchecked_into()),
            false => Status::Absent,
        };
        (ready, core::mem::take(&mut self.waiting))
    }

    /// Removes campaign `id`; its slot, if it was on screen.
    pub fn close(&mut self, id: &str) -> Option<Slot> {
        let at = self.open.iter().position(|(open, _)| open == id)?;
        let (_, slot) = self.open.remove(at);
        if let Status::Ready(module) = &self.status {
            let _ = module.close(id);
        }
        Some(slot)
    }

    /// The page changed: its campaigns leave the screen, and the shows that
    /// waited for the module are given back (they were for that page).
    pub fn close_page(&mut self) -> Vec<Show> {
        for (id, _) in core::mem::take(&mut self.open) {
            if let Status::Ready(module) = &self.status {
                let _ = module.close(&id);
            }
        }
        self.waiting.drain(..).map(|(show, _)| show).collect()
    }

    pub fn is_open(&self, id: &str) -> bool {
        self.open.iter().any(|(open, _)| open == id)
    }

    /// Shows the coupon the edge gave, if campaign `id` is still on screen.
    pub fn reveal_coupon(&self, id: &str, code: &str) {
        if let (true, Status::Ready(module)) = (self.is_open(id), &self.status) {
            let _ = module.reveal_coupon(id, code);
        }
    }

    /// Campaigns on screen, in the order drawn.
    #[cfg(test)]
    pub fn open_ids(&self) -> impl Iterator<Item = &str> {
        self.open.iter().map(|(id, _)| id.as_str())
    }

    /// Uses `module` at once (browser tests, which link the renderer).
    #[cfg(test)]
    pub fn use_module(&mut self, module: JsValue) {
        self.status = Status::Ready(module.unchecked_into());
    }
}
