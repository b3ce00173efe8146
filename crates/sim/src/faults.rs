//! Faults a test switches on at run time, in front of every route: answers the API server
//! gives instead of serving a request (a 503 or 429 burst, a 422 for one resource), and a
//! stall (requests accepted and never answered, as from a stopped process).

use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::watch;

use super::api::status::ApiError;

/// One injected answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// The HTTP method it answers (`PATCH`), any when `None`.
    pub method: Option<String>,
    /// The resource (a path segment: `deployments`), any when `None`.
    pub resource: Option<String>,
    pub code: u16,
    pub message: String,
    /// How many requests it answers; until cleared when `None`.
    pub times: Option<u32>,
}

impl Fault {
    /// `code` for every write (`PATCH`) of `resource`, until cleared.
    pub fn on_writes(resource: &str, code: u16, message: &str) -> Fault {
        Fault {
            method: Some("PATCH".into()),
            resource: Some(resource.into()),
            code,
            message: message.into(),
            times: None,
        }
    }

    /// Answers only the next `n` requests it matches.
    pub fn times(mut self, n: u32) -> Fault {
        self.times = Some(n);
        self
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.method.as_deref().is_none_or(|m| m == method)
            && self
                .resource
                .as_deref()
                .is_none_or(|r| path.split('/').any(|seg| seg == r))
    }
}

/// The faults in force; shared by the handle and the middleware.
pub struct Faults {
    list: Mutex<Vec<Fault>>,
    stalled: watch::Sender<bool>,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            list: Mutex::new(Vec::new()),
            stalled: watch::Sender::new(false),
        }
    }
}

impl Faults {
    pub fn add(&self, f: Fault) {
        self.list.lock().unwrap_or_else(|e| e.into_inner()).push(f);
    }

    /// Ends every fault and every stall; stalled requests are then served.
    pub fn clear(&self) {
        self.list.lock().unwrap_or_else(|e| e.into_inner()).clear();
        self.stalled.send_replace(false);
    }

    pub fn stall(&self) {
        self.stalled.send_replace(true);
    }

    /// The first fault matching this request, used up once.
    fn take(&self, method: &str, path: &str) -> Option<ApiError> {
        let mut list = self.list.lock().unwrap_or_else(|e| e.into_inner());
        let i = list.iter().position(|f| f.matches(method, path))?;
        let f = list[i].clone();
        match f.times {
            Some(n) if n <= 1 => {
                list.remove(i);
            }
            Some(n) => list[i].times = Some(n - 1),
            None => {}
        }
        Some(ApiError::new(f.code, reason(f.code), f.message))
    }
}

fn reason(code: u16) -> &'static str {
    match code {
        400 => "BadRequest",
        403 => "Forbidden",
        404 => "NotFound",
        409 => "Conflict",
        422 => "Invalid",
        429 => "TooManyRequests",
        500 => "InternalError",
        503 => "ServiceUnavailable",
        504 => "Timeout",
        _ => "Unknown",
    }
}

/// The middleware: a stall holds the request until cleared; a matching fault answers it.
pub async fn inject(State(faults): State<Arc<Faults>>, req: Request, next: Next) -> Response {
    let mut stalled = faults.stalled.subscribe();
    while *stalled.borrow_and_update() {
        if stalled.changed().await.is_err() {
            break;
        }
    }
    if let Some(e) = faults.take(req.method().as_str(), req.uri().path()) {
        return e.into_response();
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fault_answers_its_resource_and_method_and_wears_out() {
        let f = Faults::default();
        f.add(Fault::on_writes("deployments", 503, "busy").times(2));
        let path = "/apis/apps/v1/namespaces/shop/deployments/web";
        assert!(f.take("GET", path).is_none());
        assert!(
            f.take("PATCH", "/api/v1/namespaces/shop/services/web")
                .is_none()
        );
        assert_eq!(f.take("PATCH", path).map(|e| e.code), Some(503));
        assert_eq!(f.take("PATCH", path).map(|e| e.code), Some(503));
        assert!(f.take("PATCH", path).is_none());
    }
}
