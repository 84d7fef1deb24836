//! The RFC 9457 problem document every error is answered with, and its headers.

use http::{HeaderValue, StatusCode, header};
use serde::Serialize;

use super::ApiResponse;
use crate::error::{AuthError, FieldError};

/// Media type of error responses (RFC 9457).
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem document, plus the headers that go with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Always `about:blank`: the status and `code` say what happened.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The status's reason phrase.
    pub title: &'static str,
    /// The HTTP status code.
    pub status: u16,
    /// Human-readable text; never internals (no SQL, driver messages, hashes or tokens).
    pub detail: String,
    /// The contract's machine-readable code.
    pub code: &'static str,
    /// Per-field details of a validation failure.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// `mfa_required`: the token that carries the login to its second step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mfa_token: Option<String>,
    /// `mfa_required`: seconds until `mfa_token` expires.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<i64>,
    /// The RFC 6749 §5.2-style error code OAuth2 clients show (`mfa_required`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'static str>,
    /// Value of the `WWW-Authenticate` header, for 401 answers.
    #[serde(skip)]
    pub www_authenticate: Option<&'static str>,
    /// Value of the `Retry-After` header in seconds, for 429 and 503 answers.
    #[serde(skip)]
    pub retry_after: Option<u64>,
    /// The store failed (it counts toward the store circuit breaker).
    #[serde(skip)]
    pub(crate) store_failure: bool,
}

impl Problem {
    pub(crate) fn new(status: u16, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            kind: "about:blank",
            title: reason_phrase(status),
            status,
            detail: detail.into(),
            code,
            errors: Vec::new(),
            mfa_token: None,
            expires_in: None,
            error: None,
            www_authenticate: None,
            retry_after: None,
            store_failure: false,
        }
    }

    /// The problem for a service error. Internal errors are logged here, with their source
    /// chain, and answered with a fixed text.
    pub fn from_auth_error(error: &AuthError) -> Self {
        if error.is_internal() {
            tracing::error!(
                error = error as &dyn std::error::Error,
                source = std::error::Error::source(error).map(tracing::field::display),
                "request failed"
            );
        }
        let mut problem = Self::new(error.status(), error.code(), error.to_string());
        problem.errors = error.field_errors();
        problem.retry_after = error.retry_after();
        problem.store_failure = crate::breaker::is_store_failure(error);
        if let AuthError::MfaRequired(challenge) = error {
            problem.mfa_token = Some(challenge.token().to_owned());
            problem.expires_in = Some(challenge.expires_in());
            problem.error = Some("mfa_required");
        }
        if error.status() == 401 {
            problem.www_authenticate = Some(if error.is_bearer_token_error() {
                r#"Bearer error="invalid_token""#
            } else {
                "Bearer"
            });
        }
        problem
    }

    /// 503 `service_unavailable` from the store circuit breaker: the store is known to be
    /// down, so the request is answered at once (and not logged: the breaker logs once).
    pub(crate) fn store_down(retry_after: u64) -> Self {
        let mut problem = Self::new(
            503,
            "service_unavailable",
            "service temporarily unavailable",
        );
        problem.retry_after = Some(retry_after);
        problem
    }

    /// 400 `malformed_body`: the body is not parseable JSON (or form data).
    pub fn malformed_body(detail: impl Into<String>) -> Self {
        Self::new(400, "malformed_body", detail)
    }

    /// 415 `unsupported_media_type`.
    pub fn unsupported_media_type(expected: &str) -> Self {
        Self::new(
            415,
            "unsupported_media_type",
            format!("expected Content-Type {expected}"),
        )
    }

    /// 413 `body_too_large`.
    pub fn body_too_large(limit: usize) -> Self {
        Self::new(
            413,
            "body_too_large",
            format!("request body exceeds {limit} bytes"),
        )
    }

    /// 404 `not_found` for unknown paths.
    pub fn not_found() -> Self {
        Self::new(404, "not_found", "no such endpoint")
    }

    /// 405 `method_not_allowed`.
    pub fn method_not_allowed() -> Self {
        Self::new(
            405,
            "method_not_allowed",
            "method not allowed on this endpoint",
        )
    }

    /// 500 `internal_error`, for adapter misconfiguration; the details go to the log.
    pub fn internal(log_message: &str) -> Self {
        tracing::error!("{log_message}");
        Self::new(500, "internal_error", "internal server error")
    }

    /// The JSON body.
    pub fn to_json(&self) -> Vec<u8> {
        // Serialising plain strings, numbers and a Vec of plain structs cannot fail.
        serde_json::to_vec(self).unwrap_or_else(|_| b"{}".to_vec())
    }

    /// The complete response: status, the contract's headers (`Content-Type`,
    /// `Cache-Control: no-store`, `WWW-Authenticate`, `Retry-After`, and `Connection: close`
    /// after an oversized body) and the JSON body.
    pub fn to_response(&self) -> ApiResponse {
        let mut response = http::Response::new(self.to_json());
        *response.status_mut() =
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(challenge) = self.www_authenticate {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        // The unread rest of an oversized body still sits on the connection: a client that
        // reused it would have its next request parsed from those bytes.
        if self.status == 413 {
            headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}

impl From<AuthError> for Problem {
    fn from(error: AuthError) -> Self {
        Self::from_auth_error(&error)
    }
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Content",
        429 => "Too Many Requests",
        503 => "Service Unavailable",
        _ => "Internal Server Error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_carry_the_contract_headers() {
        let p = Problem::from_auth_error(&AuthError::ExpiredToken);
        assert_eq!(p.www_authenticate, Some(r#"Bearer error="invalid_token""#));
        assert_eq!(
            Problem::from_auth_error(&AuthError::MissingToken).www_authenticate,
            Some("Bearer")
        );
        assert_eq!(
            Problem::from_auth_error(&AuthError::Overloaded).retry_after,
            Some(1)
        );
        let json: serde_json::Value = serde_json::from_slice(&p.to_json()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"type": "about:blank", "title": "Unauthorized", "status": 401,
                "detail": "token has expired", "code": "expired_token"})
        );
        let response = p.to_response();
        assert_eq!(response.status(), 401);
        let headers = response.headers();
        assert_eq!(headers[header::CONTENT_TYPE], PROBLEM_JSON);
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");
        assert_eq!(
            headers[header::WWW_AUTHENTICATE],
            r#"Bearer error="invalid_token""#
        );
        let overloaded = Problem::from_auth_error(&AuthError::Overloaded).to_response();
        assert_eq!(overloaded.status(), 503);
        assert_eq!(overloaded.headers()[header::RETRY_AFTER], "1");
        assert!(overloaded.headers().get(header::CONNECTION).is_none());
        let too_large = Problem::body_too_large(64).to_response();
        assert_eq!(too_large.headers()[header::CONNECTION], "close");
    }
}
