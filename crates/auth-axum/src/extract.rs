//! Extractors: the signed-in user for the application's own routes, and the request bodies
//! of the auth routes.

use std::marker::PhantomData;

use auth_core::api::{BodyFormat, DEFAULT_BODY_LIMIT, Problem, body_format, decode_body};
use auth_core::{AuthError, AuthService, Claims, User};
use axum::extract::{FromRequest, FromRequestParts, Request};
use http::header;
use http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// The request body limit in force, set by [`router_with`](crate::router_with).
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyLimit(pub(crate) usize);

fn service(parts: &Parts) -> Result<&AuthService, ApiError> {
    parts.extensions.get::<AuthService>().ok_or_else(|| {
        ApiError::from(Problem::internal(
            "auth-axum: no AuthService in the request extensions; is the auth service added \
             with `.layer(axum::Extension(service))` on the routes that use CurrentUser?",
        ))
    })
}

/// The bearer token of the `Authorization` header (RFC 6750 §2.1).
fn bearer(parts: &Parts) -> Result<&str, AuthError> {
    let value = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or(AuthError::MissingToken)?
        .to_str()
        .map_err(|_| AuthError::InvalidToken)?;
    let (scheme, token) = value.split_once(' ').ok_or(AuthError::MissingToken)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::MissingToken);
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(AuthError::InvalidToken);
    }
    Ok(token)
}

/// The verified claims of the request's bearer access token. Stateless: the signature and
/// lifetime are checked, the store is not read, so a user disabled after the token was
/// issued passes until it expires (use [`CurrentUserRecord`] where that matters).
///
/// Needs the [`AuthService`] in the request extensions: the auth router adds it for its own
/// routes; on the application's routes add `.layer(axum::Extension(service))`.
///
/// Rejects with 401 and `WWW-Authenticate: Bearer` (RFC 6750 §3).
#[derive(Debug, Clone)]
pub struct CurrentUser(pub Claims);

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let service = service(parts)?;
        let token = bearer(parts)?;
        Ok(Self(service.authenticate(token)?))
    }
}

/// The signed-in user, loaded from the store: disabled accounts are refused at once (403),
/// and the user's current roles and settings are at hand. One indexed read per request.
#[derive(Debug, Clone)]
pub struct CurrentUserRecord(pub User);

impl<S: Send + Sync> FromRequestParts<S> for CurrentUserRecord {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let CurrentUser(claims) = CurrentUser::from_request_parts(parts, state).await?;
        let service = service(parts)?;
        Ok(Self(service.me(claims.sub).await?))
    }
}

/// A role name for [`RequireRole`].
pub trait Role: Send + Sync + 'static {
    /// The role's name as stored in users' `roles`.
    const NAME: &'static str;
}

/// The `admin` role.
#[derive(Debug, Clone, Copy)]
pub struct Admin;

impl Role for Admin {
    const NAME: &'static str = "admin";
}

/// A guard for the application's own routes: the caller's access token must carry role `R`,
/// else 403 `forbidden` (401 without a valid token). Stateless, like [`CurrentUser`].
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

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let CurrentUser(claims) = CurrentUser::from_request_parts(parts, state).await?;
        if claims.has_role(R::NAME) {
            Ok(Self(claims, PhantomData))
        } else {
            Err(AuthError::Forbidden.into())
        }
    }
}

/// The caller of an admin route: holds the admin role according to the store.
#[derive(Debug, Clone)]
pub(crate) struct AdminCaller(pub(crate) Claims);

impl<S: Send + Sync> FromRequestParts<S> for AdminCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let CurrentUser(claims) = CurrentUser::from_request_parts(parts, state).await?;
        service(parts)?.require_admin(&claims).await?;
        Ok(Self(claims))
    }
}

/// A JSON body (`FORM = false`), or JSON or an OAuth 2.0 form (`FORM = true`), read up to
/// the body limit and decoded with the contract's error rules.
#[derive(Debug)]
pub(crate) struct Body<T, const FORM: bool> {
    pub(crate) format: BodyFormat,
    pub(crate) value: T,
}

impl<S, T, const FORM: bool> FromRequest<S> for Body<T, FORM>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let limit = request
            .extensions()
            .get::<BodyLimit>()
            .map_or(DEFAULT_BODY_LIMIT, |l| l.0);
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        let format = body_format(content_type, FORM)?;
        let bytes = axum::body::to_bytes(request.into_body(), limit)
            .await
            .map_err(|_| Problem::body_too_large(limit))?;
        let value = decode_body(format, &bytes)?;
        Ok(Self { format, value })
    }
}
