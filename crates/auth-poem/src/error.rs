//! Errors as RFC 9457 problem responses.

use std::fmt;

use auth_core::api::{ApiResponse, Problem};
use poem::error::{MethodNotAllowedError, NotFoundError, ResponseError};
use poem::http::StatusCode;
use poem::{Body, IntoResponse, Response, ResponseParts};

/// An error response: a problem document with the contract's status, code and headers.
///
/// Handlers return `Result<_, ApiError>` (or `poem::Result<_>`: `ApiError` is a poem
/// [`ResponseError`], so `?` turns it into a [`poem::Error`] that renders the same
/// document); `?` converts an [`AuthError`](auth_core::AuthError) by its [`status`](auth_core::AuthError::status) and
/// [`code`](auth_core::AuthError::code) alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError(pub Box<Problem>);

/// From an [`AuthError`](auth_core::AuthError) or a [`Problem`]. A newtype per adapter, because only a local type
/// may implement the framework's response trait.
impl<E: Into<Problem>> From<E> for ApiError {
    fn from(error: E) -> Self {
        Self(Box::new(error.into()))
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
        into_poem(self.0.to_response())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        into_poem(self.0.to_response())
    }
}

fn status(problem: &Problem) -> StatusCode {
    StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// An answer of auth-core as a poem response.
pub(crate) fn into_poem(response: ApiResponse) -> Response {
    let (parts, body) = response.into_parts();
    Response::from_parts(
        ResponseParts {
            status: parts.status,
            version: parts.version,
            headers: parts.headers,
            extensions: parts.extensions,
        },
        Body::from(body),
    )
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
    into_poem(problem.to_response())
}

#[cfg(test)]
mod tests {
    use auth_core::AuthError;
    use poem::http::header;

    use super::*;

    #[tokio::test]
    async fn problems_carry_the_contract_headers() {
        let response = ApiError::from(AuthError::ExpiredToken).into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let headers = response.headers();
        assert_eq!(headers[header::CONTENT_TYPE], auth_core::api::PROBLEM_JSON);
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
            assert_eq!(
                response.headers()[header::CONTENT_TYPE],
                auth_core::api::PROBLEM_JSON
            );
            let body = response.into_body().into_vec().await.unwrap();
            let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(json["code"], code);
        }
    }
}
