//! Extractors: the signed-in user for the application's own routes, and the request bodies
//! of the auth routes.

use std::marker::PhantomData;

use auth_core::api::{BodyFormat, DEFAULT_BODY_LIMIT, Problem, body_format, decode_body};
use auth_core::{AuthError, AuthService, Claims, User};
use poem::http::header;
use poem::{FromRequest, Request, RequestBody};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// The request body limit in force, set by [`route_with`](crate::route_with).
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyLimit(pub(crate) usize);

fn service(req: &Request) -> Result<&AuthService, ApiError> {
    req.data::<AuthService>().ok_or_else(|| {
        ApiError::from(Problem::internal(
            "auth-poem: no AuthService in the request data; is the auth service added with \
             `.data(service)` on the routes that use CurrentUser?",
        ))
    })
}

/// The bearer token of the `Authorization` header (RFC 6750 §2.1).
fn bearer(req: &Request) -> Result<&str, AuthError> {
    let value = req
        .headers()
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

fn claims(req: &Request) -> Result<Claims, ApiError> {
    let service = service(req)?;
    let token = bearer(req)?;
    Ok(service.authenticate(token)?)
}

/// The verified claims of the request's bearer access token. Stateless: the signature and
/// lifetime are checked, the store is not read, so a user disabled after the token was
/// issued passes until it expires (use [`CurrentUserRecord`] where that matters).
///
/// Needs the [`AuthService`] in the request data: the auth routes add it for themselves;
/// on the application's routes add `.data(service)`.
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
        Ok(Self(claims(req)?))
    }
}

/// The signed-in user, loaded from the store: disabled accounts are refused at once (403),
/// and the user's current roles and settings are at hand. One indexed read per request.
#[derive(Debug, Clone)]
pub struct CurrentUserRecord(pub User);

impl<'a> FromRequest<'a> for CurrentUserRecord {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        let claims = claims(req)?;
        let user = service(req)?.me(claims.sub).await.map_err(ApiError::from)?;
        Ok(Self(user))
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
        let claims = claims(req)?;
        if claims.has_role(R::NAME) {
            Ok(Self(claims, PhantomData))
        } else {
            Err(ApiError::from(AuthError::Forbidden).into())
        }
    }
}

/// The caller of an admin route: holds the admin role according to the store.
#[derive(Debug, Clone)]
pub(crate) struct AdminCaller(pub(crate) Claims);

impl<'a> FromRequest<'a> for AdminCaller {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        let claims = claims(req)?;
        service(req)?
            .require_admin(&claims)
            .await
            .map_err(ApiError::from)?;
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

impl<'a, T, const FORM: bool> FromRequest<'a> for Body<T, FORM>
where
    T: DeserializeOwned + Send,
{
    async fn from_request(req: &'a Request, body: &mut RequestBody) -> poem::Result<Self> {
        Ok(read_body(req, body).await?)
    }
}

async fn read_body<T: DeserializeOwned, const FORM: bool>(
    req: &Request,
    body: &mut RequestBody,
) -> Result<Body<T, FORM>, ApiError> {
    let limit = req.data::<BodyLimit>().map_or(DEFAULT_BODY_LIMIT, |l| l.0);
    let format = body_format(req.header(header::CONTENT_TYPE), FORM)?;
    let too_large = || ApiError::from(Problem::body_too_large(limit));
    // A declared length over the limit is refused before a byte is read.
    let declared = req
        .header(header::CONTENT_LENGTH)
        .and_then(|len| len.trim().parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(too_large());
    }
    let bytes = body
        .take()
        .map_err(|_| {
            ApiError::from(Problem::internal(
                "auth-poem: the request body was already taken before the auth route read it",
            ))
        })?
        .into_bytes_limit(limit)
        .await
        .map_err(|_| too_large())?;
    let value = decode_body(format, &bytes)?;
    Ok(Body { format, value })
}

#[cfg(test)]
mod tests {
    use poem::http::StatusCode;
    use poem::{EndpointExt, IntoResponse, handler};

    use super::*;

    #[handler]
    fn echo(body: Body<serde_json::Value, true>) -> String {
        format!("{:?} {}", body.format, body.value)
    }

    #[tokio::test]
    async fn bodies_are_read_up_to_the_limit() {
        let endpoint = echo.data(BodyLimit(8));
        let cli = poem::test::TestClient::new(endpoint);
        let ok = cli
            .post("/")
            .content_type("application/json")
            .body("[1,2,3]")
            .send()
            .await;
        ok.assert_status_is_ok();
        ok.assert_text("Json [1,2,3]").await;

        let large = cli
            .post("/")
            .content_type("application/json")
            .body("[1,2,3,4,5]")
            .send()
            .await;
        large.assert_status(StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[test]
    fn bearer_needs_the_scheme_and_a_token() {
        let with = |value: &str| {
            Request::builder()
                .header(header::AUTHORIZATION, value)
                .finish()
        };
        assert_eq!(bearer(&with("Bearer abc")).unwrap(), "abc");
        assert_eq!(bearer(&with("bearer  abc ")).unwrap(), "abc");
        assert!(matches!(
            bearer(&with("Basic abc")),
            Err(AuthError::MissingToken)
        ));
        assert!(matches!(
            bearer(&with("Bearer ")),
            Err(AuthError::InvalidToken)
        ));
        assert!(matches!(
            bearer(&Request::default()),
            Err(AuthError::MissingToken)
        ));
    }

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
