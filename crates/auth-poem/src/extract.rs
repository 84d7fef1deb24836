//! Extractors for the application's own handlers: the signed-in user and the role guard.

use std::marker::PhantomData;

use auth_core::api::{Problem, Role};
use auth_core::{AuthService, Claims, User};
use poem::{FromRequest, Request, RequestBody};

use crate::error::ApiError;

fn service(req: &Request) -> Result<&AuthService, ApiError> {
    req.data::<AuthService>().ok_or_else(|| {
        ApiError::from(Problem::internal(
            "auth-poem: no AuthService in the request data; is the auth service added with \
             `.data(service)` on the routes that use CurrentUser?",
        ))
    })
}

/// The verified claims of the request's bearer access token. Stateless: the signature,
/// lifetime and the service's revocation view are checked, the store is not read — a token
/// cut on this instance is refused at once, one cut on another instance within the
/// revocation poll (use [`CurrentUserRecord`] where "at once, everywhere" matters).
///
/// Needs the [`AuthService`] in the request data: add `.data(service)` around the
/// application's routes.
///
/// Rejects with 401 and `WWW-Authenticate: Bearer` (RFC 6750 §3).
///
/// ```
/// use auth_poem::CurrentUser;
/// use poem::handler;
///
/// #[handler]
/// fn hello(CurrentUser(claims): CurrentUser) -> String {
///     format!("hello {}", claims.sub)
/// }
/// # let _ = poem::Route::new().at("/hello", poem::get(hello));
/// ```
#[derive(Debug, Clone)]
pub struct CurrentUser(pub Claims);

impl<'a> FromRequest<'a> for CurrentUser {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        let claims = service(req)?
            .authenticate_headers(req.headers())
            .map_err(ApiError::from)?;
        Ok(Self(claims))
    }
}

/// The signed-in user, loaded from the store with the token's session: cut tokens (401
/// `revoked_token`) and disabled accounts (403) are refused at once on every instance, and
/// the user's current roles and settings are at hand. One indexed read per request.
#[derive(Debug, Clone)]
pub struct CurrentUserRecord(pub User);

impl<'a> FromRequest<'a> for CurrentUserRecord {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        let user = service(req)?
            .current_user(req.headers())
            .await
            .map_err(ApiError::from)?;
        Ok(Self(user))
    }
}

/// A guard for the application's own routes: the caller's access token must carry role `R`,
/// else 403 `forbidden` (401 without a valid token). Stateless, like [`CurrentUser`].
/// [`Admin`](crate::Admin) is the role the admin routes require, whatever name the
/// service's configuration gives it.
///
/// ```
/// use auth_poem::{RequireRole, Role};
/// use poem::handler;
///
/// struct Editor;
/// impl Role for Editor {
///     const NAME: &'static str = "editor";
/// }
///
/// #[handler]
/// fn publish(RequireRole(claims, ..): RequireRole<Editor>) -> String {
///     format!("published by {}", claims.sub)
/// }
/// # let _ = poem::Route::new().at("/publish", poem::post(publish));
/// ```
#[derive(Debug, Clone)]
pub struct RequireRole<R: Role>(pub Claims, pub PhantomData<R>);

impl<'a, R: Role> FromRequest<'a> for RequireRole<R> {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        let claims = service(req)?
            .authorize_headers::<R>(req.headers())
            .map_err(ApiError::from)?;
        Ok(Self(claims, PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use poem::IntoResponse;
    use poem::http::StatusCode;

    use super::*;

    #[tokio::test]
    async fn a_missing_service_is_a_500_problem() {
        let Err(error) = service(&Request::default()) else {
            panic!("a request without data has no service");
        };
        let response = error.into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = response.into_body().into_vec().await.unwrap();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["code"], "internal_error");
    }
}
