//! The edge's one error type. Handlers return `Result<Response, EdgeError>`
//! and use `?` on everything: platform errors become a plain 500 (the detail
//! goes to the log, never to the client), refusals become their JSON answer.

use nudge_core::Diagnostic;

use crate::store::protocol::StoreError;
use serde_json::{json, Value};
use worker::Response;

/// What a handler answers when it cannot answer 2xx.
#[derive(Debug)]
pub enum EdgeError {
    /// An expected refusal: bad input, unknown site, a limit, a conflict.
    /// (Boxed: results stay small on the happy path.)
    Refused(Box<Refusal>),
    /// Something on our side failed (storage, a binding, a bug): 500.
    Internal(String),
}

/// An expected refusal: a status, a stable machine-readable code, a human
/// message and, for bad input, every problem with its path.
#[derive(Debug)]
pub struct Refusal {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub problems: Vec<Diagnostic>,
    /// Seconds, for 429 and 503 (`Retry-After`).
    pub retry_after: Option<u32>,
    /// Extra members of the JSON answer (for example the indexes of the
    /// events a batch was refused for).
    pub extra: Option<(&'static str, Value)>,
}

impl Refusal {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Refusal {
            status,
            code,
            message: message.into(),
            problems: Vec::new(),
            retry_after: None,
            extra: None,
        }
    }

    pub fn with_problems(mut self, problems: Vec<Diagnostic>) -> Self {
        self.problems = problems;
        self
    }

    pub fn retry_after(mut self, seconds: u32) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    pub fn with(mut self, key: &'static str, value: Value) -> Self {
        self.extra = Some((key, value));
        self
    }

    pub fn body(&self) -> Value {
        let mut body = json!({"error": self.code, "message": self.message});
        if !self.problems.is_empty() {
            body["problems"] = self
                .problems
                .iter()
                .map(|p| json!({"path": p.path, "message": p.message}))
                .collect();
        }
        if let Some((key, value)) = &self.extra {
            body[*key] = value.clone();
        }
        body
    }

    pub fn into_response(self) -> worker::Result<Response> {
        let mut response = super::json_response(self.status, &self.body())?;
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .set("retry-after", &seconds.to_string())?;
        }
        Ok(response)
    }
}

/// Shorthand for the common refusal.
pub fn refuse(status: u16, code: &'static str, message: impl Into<String>) -> EdgeError {
    EdgeError::Refused(Box::new(Refusal::new(status, code, message)))
}

impl From<Refusal> for EdgeError {
    fn from(refusal: Refusal) -> Self {
        EdgeError::Refused(Box::new(refusal))
    }
}

impl From<worker::Error> for EdgeError {
    fn from(error: worker::Error) -> Self {
        EdgeError::Internal(error.to_string())
    }
}

impl From<serde_json::Error> for EdgeError {
    fn from(error: serde_json::Error) -> Self {
        EdgeError::Internal(format!("JSON: {error}"))
    }
}

impl std::fmt::Display for EdgeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EdgeError::Refused(r) => write!(f, "{} {}: {}", r.status, r.code, r.message),
            EdgeError::Internal(detail) => f.write_str(detail),
        }
    }
}

impl EdgeError {
    /// The answer to send; `label` names the request in the log.
    pub fn into_response(self, label: &str) -> worker::Result<Response> {
        match self {
            EdgeError::Refused(refusal) => refusal.into_response(),
            EdgeError::Internal(detail) => {
                worker::console_error!("{label}: {detail}");
                super::json_response(
                    500,
                    &json!({"error": "internal", "message": "internal error"}),
                )
            }
        }
    }
}

/// What handlers return.
pub type Handled = Result<Response, EdgeError>;

/// Each store refusal's HTTP answer. Here, not in `store`: the store is
/// below HTTP and names none of it.
impl From<StoreError> for EdgeError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound(m) => refuse(404, "not_found", m),
            StoreError::BrowserKey(m) => refuse(401, "browser_key_required", m),
            StoreError::TokenUsed(m) => refuse(409, "token_used", m),
            StoreError::UserConflict(m) => refuse(409, "user_conflict", m),
            StoreError::AlreadyUndone(m) | StoreError::MergedSince(m) => {
                refuse(409, "cannot_undo", m)
            }
            StoreError::AlreadyProcessed(m) => refuse(409, "already_processed", m),
            StoreError::Invalid(m) => refuse(400, "invalid_event", m),
            StoreError::RateLimited {
                message,
                retry_after,
            } => super::limits::too_many(&message, retry_after),
            StoreError::Conflict { message, current } => Refusal::new(409, "conflict", message)
                .with("current", current)
                .into(),
            StoreError::InvalidConfig { message, problems } => {
                Refusal::new(400, "invalid_config", message)
                    .with("problems", Value::Array(problems))
                    .into()
            }
            StoreError::Limit(m) => refuse(409, "limit_reached", m),
            StoreError::Internal(m) => EdgeError::Internal(m),
            // `store::route` follows a move; one still moving after its hops
            // is the store's trouble.
            StoreError::Moved { object } => {
                EdgeError::Internal(format!("still moved (to object {object})"))
            }
            StoreError::PersonElsewhere { person } => {
                EdgeError::Internal(format!("still elsewhere ({person})"))
            }
            // Only a batch of events is spilled (`routes::events`); any other
            // call to an overloaded object is retried by its caller.
            StoreError::Overloaded(m) => Refusal::new(503, "overloaded", m)
                .with("retry_after", Value::from(1))
                .into(),
        }
    }
}
