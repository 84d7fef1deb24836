//! Errors as RFC 9457 problem responses.

use auth_core::AuthError;
use auth_core::api::{PROBLEM_JSON, Problem};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

/// An error response: a problem document with the contract's status, code and headers.
///
/// Handlers return `Result<_, ApiError>`; `?` converts an [`AuthError`] by its
/// [`status`](AuthError::status) and [`code`](AuthError::code) alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError(pub Box<Problem>);

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        Self(Box::new(Problem::from_auth_error(&error)))
    }
}

impl From<Problem> for ApiError {
    fn from(problem: Problem) -> Self {
        Self(Box::new(problem))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        problem_response(&self.0)
    }
}

/// Renders a problem document with its headers.
pub(crate) fn problem_response(problem: &Problem) -> Response {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, problem.to_json()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(challenge) = problem.www_authenticate {
        headers.insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(challenge),
        );
    }
    if let Some(seconds) = problem.retry_after {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}
