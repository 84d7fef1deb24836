//! Errors as RFC 9457 problem responses.

use std::fmt;

use auth_core::AuthError;
use auth_core::api::{PROBLEM_JSON, Problem};
use poem::error::{MethodNotAllowedError, NotFoundError, ResponseError};
use poem::http::{StatusCode, header};
use poem::{IntoResponse, Response};

/// An error response: a problem document with the contract's status, code and headers.
///
/// Handlers return `Result<_, ApiError>` (or `poem::Result<_>`: `ApiError` is a poem
/// [`ResponseError`], so `?` turns it into a [`poem::Error`] that renders the same
/// document); `?` converts an [`AuthError`] by its [`status`](AuthError::status) and
/// [`code`](AuthError::code) alone.
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

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The detail is written for clients, so it is safe to show: never a secret.
        write!(f, "{} {}: {}", self.0.status, self.0.code, self.0.detail)
    }
}

impl std::error::Error for ApiError {}

impl ResponseError for ApiError {
    fn status(&self) -> StatusCode {
        status(&self.0)
    }

    fn as_response(&self) -> Response {
        problem_response(&self.0)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        problem_response(&self.0)
    }
}

fn status(problem: &Problem) -> StatusCode {
    StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// Renders a problem document with its headers.
pub(crate) fn problem_response(problem: &Problem) -> Response {
    let mut builder = Response::builder()
        .status(status(problem))
        .header(header::CONTENT_TYPE, PROBLEM_JSON)
        .header(header::CACHE_CONTROL, "no-store");
    if let Some(challenge) = problem.www_authenticate {
        builder = builder.header(header::WWW_AUTHENTICATE, challenge);
    }
    if let Some(seconds) = problem.retry_after {
        builder = builder.header(header::RETRY_AFTER, seconds);
    }
    builder.body(problem.to_json())
}

/// Renders any error that reached the edge of the auth routes as a problem document, so
/// that poem never answers there on its own terms (plain-text 404, 405 or 413 bodies).
pub(crate) fn error_response(error: poem::Error, body_limit: usize) -> Response {
    if let Some(api) = error.downcast_ref::<ApiError>() {
        return api.as_response();
    }
    let problem = if error.is::<NotFoundError>() {
        Problem::not_found()
    } else if error.is::<MethodNotAllowedError>() {
        Problem::method_not_allowed()
    } else {
        match error.status() {
            StatusCode::NOT_FOUND => Problem::not_found(),
            StatusCode::METHOD_NOT_ALLOWED => Problem::method_not_allowed(),
            StatusCode::PAYLOAD_TOO_LARGE => Problem::body_too_large(body_limit),
            status => Problem::internal(&format!(
                "auth-poem: unexpected {status} error in an auth route: {error}"
            )),
        }
    };
    problem_response(&problem)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn problems_carry_the_contract_headers() {
        let response = ApiError::from(AuthError::ExpiredToken).into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let headers = response.headers();
        assert_eq!(headers[header::CONTENT_TYPE], PROBLEM_JSON);
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");
        assert_eq!(
            headers[header::WWW_AUTHENTICATE],
            r#"Bearer error="invalid_token""#
        );

        let overloaded = ApiError::from(AuthError::Overloaded).into_response();
        assert_eq!(overloaded.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(overloaded.headers()[header::RETRY_AFTER], "1");
    }

    #[tokio::test]
    async fn a_poem_error_made_from_an_api_error_renders_the_same_document() {
        let problem = Problem::from_auth_error(&AuthError::Forbidden);
        let error: poem::Error = ApiError::from(problem.clone()).into();
        assert_eq!(error.status(), StatusCode::FORBIDDEN);
        let body = error.into_response().into_body().into_vec().await.unwrap();
        assert_eq!(body, problem.to_json());
    }

    #[tokio::test]
    async fn poem_errors_become_problems() {
        let cases = [
            (poem::Error::from(NotFoundError), 404, "not_found"),
            (MethodNotAllowedError.into(), 405, "method_not_allowed"),
            (
                poem::error::ReadBodyError::PayloadTooLarge.into(),
                413,
                "body_too_large",
            ),
            (
                poem::Error::from_status(StatusCode::BAD_GATEWAY),
                500,
                "internal_error",
            ),
        ];
        for (error, status, code) in cases {
            let response = error_response(error, 10);
            assert_eq!(response.status().as_u16(), status);
            assert_eq!(response.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
            let body = response.into_body().into_vec().await.unwrap();
            let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(json["code"], code);
        }
    }
}
