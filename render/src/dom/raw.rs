//! `dom.js` through plain wasm imports of `module.js`, the display module's
//! own glue (see the parent module). A shadow root, an element or the
//! agent's callback is a [`Node`]: a handle into the glue's table, let go
//! when dropped. Texts go out as (pointer, length), read by the glue at once.

use alloc::boxed::Box;

use crate::controls::Controls;

// SAFETY (for every call below): each import reads only the (pointer,
// length) pairs it is given, during the call, from texts borrowed for the
// call; handles, and a handler's address, are plain numbers to the glue.
#[link(wasm_import_module = "dom")]
extern "C" {
    #[link_name = "host"]
    fn dom_host(
        tag: *const u8,
        tag_len: usize,
        id: *const u8,
        id_len: usize,
        accent: *const u8,
        accent_len: usize,
        css: *const u8,
        css_len: usize,
    ) -> u32;
    #[link_name = "el"]
    fn dom_el(
        parent: u32,
        tag: *const u8,
        tag_len: usize,
        class: *const u8,
        class_len: usize,
        text: *const u8,
        text_len: usize,
    ) -> u32;
    #[link_name = "attr"]
    fn dom_attr(element: u32, name: *const u8, name_len: usize, value: *const u8, value_len: usize);
    #[link_name = "place"]
    fn dom_place(root: u32, selector: *const u8, selector_len: usize, at: u32) -> u32;
    #[link_name = "takeFocus"]
    fn dom_take_focus(root: u32, panel: u32);
    #[link_name = "listen"]
    fn dom_listen(root: u32, modal: u32, controls: usize);
    #[link_name = "unlisten"]
    fn dom_unlisten(controls: usize);
    #[link_name = "refuse"]
    fn dom_refuse(root: u32, reason: *const u8, reason_len: usize);
    #[link_name = "succeed"]
    fn dom_succeed(root: u32, coupon: u32);
    #[link_name = "keep"]
    fn dom_keep(id: *const u8, id_len: usize, root: u32);
    #[link_name = "close"]
    fn dom_close(id: *const u8, id_len: usize);
    #[link_name = "act"]
    fn dom_act(
        act: u32,
        id: *const u8,
        id_len: usize,
        code: u32,
        value: *const u8,
        value_len: usize,
    );
    #[link_name = "drop"]
    fn dom_drop(handle: u32);
    #[link_name = "clone"]
    fn dom_clone(handle: u32) -> u32;
}

/// A JS object the glue holds for us (never the null handle, 0).
pub struct Node(u32);

impl Node {
    /// Takes over a handle the glue gave; `None` for its null.
    pub(crate) fn from_handle(handle: u32) -> Option<Node> {
        (handle != 0).then_some(Node(handle))
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        // SAFETY: see the extern block.
        unsafe { dom_drop(self.0) }
    }
}

impl Clone for Node {
    fn clone(&self) -> Node {
        // SAFETY: see the extern block.
        Node(unsafe { dom_clone(self.0) })
    }
}

/// An element the module drew.
pub type Element = Node;
/// A closed shadow root.
pub type ShadowRoot = Node;

pub(super) fn new_host(tag: &str, id: &str, accent: &str, css: &str) -> Option<ShadowRoot> {
    // SAFETY: see the extern block.
    let handle = unsafe {
        dom_host(
            tag.as_ptr(),
            tag.len(),
            id.as_ptr(),
            id.len(),
            accent.as_ptr(),
            accent.len(),
            css.as_ptr(),
            css.len(),
        )
    };
    Node::from_handle(handle)
}

/// A `<tag>` with a class and text (either may be empty), appended to `parent`.
pub(crate) fn el(parent: &Node, tag: &str, class: &str, text: &str) -> Element {
    // SAFETY: see the extern block.
    Node(unsafe {
        dom_el(
            parent.0,
            tag.as_ptr(),
            tag.len(),
            class.as_ptr(),
            class.len(),
            text.as_ptr(),
            text.len(),
        )
    })
}

pub(super) fn set_attribute(element: &Element, name: &str, value: &str) {
    // SAFETY: see the extern block.
    unsafe {
        dom_attr(
            element.0,
            name.as_ptr(),
            name.len(),
            value.as_ptr(),
            value.len(),
        )
    }
}

pub(super) fn place_code(root: &ShadowRoot, selector: &str, at: u8) -> u8 {
    // SAFETY: see the extern block.
    unsafe { dom_place(root.0, selector.as_ptr(), selector.len(), at.into()) as u8 }
}

/// A modal takes focus (its first field or action, in the next frame).
pub(crate) fn take_focus(root: &ShadowRoot, panel: &Element) {
    // SAFETY: see the extern block.
    unsafe { dom_take_focus(root.0, panel.0) }
}

/// The form's field refused, for `reason`.
pub(crate) fn refuse(root: &ShadowRoot, reason: &str) {
    // SAFETY: see the extern block.
    unsafe { dom_refuse(root.0, reason.as_ptr(), reason.len()) }
}

/// The form's success step, with the coupon row if `coupon`.
pub(crate) fn succeed(root: &ShadowRoot, coupon: bool) {
    // SAFETY: see the extern block.
    unsafe { dom_succeed(root.0, coupon.into()) }
}

/// Keeps campaign `id`'s root as on screen (replacing one of that id).
pub(crate) fn keep(id: &str, root: &ShadowRoot) {
    // SAFETY: see the extern block.
    unsafe { dom_keep(id.as_ptr(), id.len(), root.0) }
}

/// Removes campaign `id` from the page and the list, if there.
pub(crate) fn close(id: &str) {
    // SAFETY: see the extern block.
    unsafe { dom_close(id.as_ptr(), id.len()) }
}

/// Calls the agent's callback `act(id, code, value)`; a throw in it stays
/// in the glue.
pub(crate) fn act(act: &Node, id: &str, code: u32, value: &str) {
    // SAFETY: see the extern block.
    unsafe {
        dom_act(
            act.0,
            id.as_ptr(),
            id.len(),
            code,
            value.as_ptr(),
            value.len(),
        )
    }
}

/// A campaign's one handler for clicks, keys and the form: its
/// [`Controls`], boxed, whose address the glue holds while the campaign is
/// on the page. The glue hands each event to `module::report` with it, and
/// frees it with `module::forget` once the campaign's root has left the
/// page (never during a call into the module: the free waits for a task
/// of its own).
pub(crate) struct Listener(*mut Controls);

/// Hands what the visitor does on `root` to `controls` ([`Controls::report`]).
pub(crate) fn listen(root: &ShadowRoot, modal: bool, controls: Controls) -> Listener {
    let controls = Box::into_raw(Box::new(controls));
    // SAFETY: see the extern block; the glue keeps the address only.
    unsafe { dom_listen(root.0, modal.into(), controls as usize) };
    Listener(controls)
}

impl Listener {
    /// The handler stays with its root: the glue frees it when the root
    /// leaves the page.
    pub(crate) fn release(self) {
        core::mem::forget(self);
    }
}

impl Drop for Listener {
    /// A campaign that did not make it onto the page: the glue stops
    /// answering for it and frees it (in a task of its own).
    fn drop(&mut self) {
        // SAFETY: see the extern block.
        unsafe { dom_unlisten(self.0 as usize) }
    }
}
