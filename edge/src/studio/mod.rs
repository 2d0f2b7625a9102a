//! The marketer's studio, on the edge's side: sign-in and roles (`session`),
//! the names people sign in with (`names`),
//! campaigns and journeys with drafts and publish (`drafts`), pause,
//! history and roll back (`campaigns`, stored by `store::versions`; both
//! through `live`, their way to the versions), the history's readable diff
//! (`diff`) and signed preview links to the real shop (`preview`). The
//! studio's pages are static files (`studio/` in the repository, served at
//! `/studio`); validation and preview in the browser come from core and the
//! agent compiled to wasm, so what the studio shows is what the edge accepts
//! and what shoppers see.

pub mod campaigns;
pub mod diff;
pub mod drafts;
pub mod live;
pub mod names;
pub mod preview;
pub mod session;

use session::{Needs, Role};
use worker::Method;

/// The role each admin route needs (`rest` is the path after `/v1/admin/sites/{site}/`).
/// Routes the studio does not use take the bearer token only.
pub fn needs(method: &Method, rest: &[&str]) -> Needs {
    match (method, rest) {
        (Method::Get, ["campaigns"])
        | (Method::Get, ["campaigns", _, "draft" | "report"])
        | (Method::Get, ["journeys", _, "draft" | "report"])
        | (Method::Get, ["coupon-pools", _])
        | (Method::Get, ["destinations"])
        | (Method::Get, ["versions"])
        | (Method::Get, ["versions", _])
        | (Method::Get, ["reports", "summary"])
        | (Method::Get, ["journeys"]) => Needs::Role(Role::Viewer),
        (Method::Put | Method::Delete, ["campaigns" | "journeys", _, "draft"])
        | (Method::Post, ["campaigns", _, "preview-link"])
        | (Method::Post, ["journeys", _, "dry-run" | "test-send"]) => Needs::Role(Role::Editor),
        (Method::Post, ["campaigns" | "journeys", _, "publish"])
        | (Method::Post, ["campaigns", _, "status"])
        | (Method::Post, ["versions", _, "rollback"])
        | (Method::Post, ["journeys", _, "status"])
        | (Method::Post, ["journeys", "settings"]) => Needs::Role(Role::Publisher),
        _ => Needs::Token,
    }
}
