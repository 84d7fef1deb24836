//! Errors as RFC 9457 problem responses.

use auth_core::api::{ApiResponse, Problem};
use axum::body::Body;
use axum::response::{IntoResponse, Response};

/// An error response: a problem document with the contract's status, code and headers.
///
/// Handlers return `Result<_, ApiError>`; `?` converts an [`AuthError`](auth_core::AuthError) by its
/// [`status`](auth_core::AuthError::status) and [`code`](auth_core::AuthError::code) alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError(pub Box<Problem>);

/// From an [`AuthError`](auth_core::AuthError) or a [`Problem`]. A newtype per adapter, because only a local type
/// may implement the framework's response trait.
impl<E: Into<Problem>> From<E> for ApiError {
    fn from(error: E) -> Self {
        Self(Box::new(error.into()))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        into_axum(self.0.to_response())
    }
}

/// An answer of auth-core as an axum response.
pub(crate) fn into_axum(response: ApiResponse) -> Response {
    response.map(Body::from)
}
