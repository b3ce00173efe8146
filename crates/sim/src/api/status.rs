//! API errors as `kind: Status` JSON with the code and reason a real API server gives.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::store::StoreError;

#[derive(Debug)]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    pub details: Value,
}

impl ApiError {
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            reason,
            message: message.into(),
            details: Value::Null,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(400, "BadRequest", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(404, "NotFound", message)
    }

    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        ApiError::new(405, "MethodNotAllowed", message)
    }

    pub fn unsupported_media(ct: &str) -> Self {
        ApiError::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got {ct})"
            ),
        )
    }

    pub fn status(&self) -> Value {
        let mut s = status_json("Failure", self.code, self.reason, &self.message);
        if !self.details.is_null() {
            s["details"] = self.details.clone();
        }
        s
    }
}

pub fn status_json(status: &str, code: u16, reason: &str, message: &str) -> Value {
    let mut s = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": status,
        "code": code,
    });
    if !message.is_empty() {
        s["message"] = json!(message);
    }
    if !reason.is_empty() {
        s["reason"] = json!(reason);
    }
    s
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        let message = e.to_string();
        match e {
            StoreError::NotFound { kind, name } => ApiError {
                details: json!({"name": name, "kind": kind}),
                ..ApiError::not_found(message)
            },
            StoreError::AlreadyExists { kind, name } => ApiError {
                details: json!({"name": name, "kind": kind}),
                ..ApiError::new(409, "AlreadyExists", message)
            },
            StoreError::Conflict { plural, name } => ApiError {
                details: json!({"name": name, "kind": plural}),
                ..ApiError::new(409, "Conflict", message)
            },
            StoreError::Invalid(_) => ApiError::new(422, "Invalid", message),
            StoreError::Expired { .. } => ApiError::new(410, "Expired", message),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        super::json_response(code, &self.status())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflicts_read_like_the_api_server() {
        let e: ApiError = StoreError::Conflict {
            plural: "deployments",
            name: "web".into(),
        }
        .into();
        let s = e.status();
        assert_eq!(s["code"], 409);
        assert_eq!(s["reason"], "Conflict");
        assert_eq!(s["kind"], "Status");
        assert!(
            s["message"]
                .as_str()
                .unwrap()
                .contains("the object has been modified")
        );
    }
}
