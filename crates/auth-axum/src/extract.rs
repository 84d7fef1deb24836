//! Extractors for the application's own routes: the signed-in user and the role guard.

use std::marker::PhantomData;

use auth_core::api::{Problem, Role};
use auth_core::{AuthService, Claims, User};
use axum::extract::FromRequestParts;
use http::request::Parts;

use crate::error::ApiError;

fn service(parts: &Parts) -> Result<&AuthService, ApiError> {
    parts.extensions.get::<AuthService>().ok_or_else(|| {
        ApiError::from(Problem::internal(
            "auth-axum: no AuthService in the request extensions; is the auth service added \
             with `.layer(axum::Extension(service))` on the routes that use CurrentUser?",
        ))
    })
}

/// The verified claims of the request's bearer access token. Stateless: the signature,
/// lifetime and the service's revocation view are checked, the store is not read — a token
/// cut on this instance is refused at once, one cut on another instance within the
/// revocation poll (use [`CurrentUserRecord`] where "at once, everywhere" matters).
///
/// Needs the [`AuthService`] in the request extensions: add
/// `.layer(axum::Extension(service))` on the application's routes.
///
/// Rejects with 401 and `WWW-Authenticate: Bearer` (RFC 6750 §3).
#[derive(Debug, Clone)]
pub struct CurrentUser(pub Claims);

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(service(parts)?.authenticate_headers(&parts.headers)?))
    }
}

/// The signed-in user, loaded from the store with the token's session: cut tokens (401
/// `revoked_token`) and disabled accounts (403) are refused at once on every instance, and
/// the user's current roles and settings are at hand. One indexed read per request.
#[derive(Debug, Clone)]
pub struct CurrentUserRecord(pub User);

impl<S: Send + Sync> FromRequestParts<S> for CurrentUserRecord {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(service(parts)?.current_user(&parts.headers).await?))
    }
}

/// A guard for the application's own routes: the caller's access token must carry role `R`,
/// else 403 `forbidden` (401 without a valid token). Stateless, like [`CurrentUser`].
/// [`Admin`](crate::Admin) is the role the admin routes require, whatever name the
/// service's configuration gives it.
///
/// ```
/// use auth_axum::{RequireRole, Role};
///
/// struct Editor;
/// impl Role for Editor {
///     const NAME: &'static str = "editor";
/// }
///
/// async fn publish(RequireRole(claims, ..): RequireRole<Editor>) -> String {
///     format!("published by {}", claims.sub)
/// }
/// # let _ = axum::Router::<()>::new().route("/publish", axum::routing::post(publish));
/// ```
#[derive(Debug, Clone)]
pub struct RequireRole<R: Role>(pub Claims, pub PhantomData<R>);

impl<S: Send + Sync, R: Role> FromRequestParts<S> for RequireRole<R> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let claims = service(parts)?.authorize_headers::<R>(&parts.headers)?;
        Ok(Self(claims, PhantomData))
    }
}
