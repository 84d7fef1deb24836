//! The routes of the HTTP contract (docs/http-contract.md).

use auth_core::api::{
    Accepted, ChangePasswordRequest, DEFAULT_BODY_LIMIT, EmailRequest, ListQuery, LoginRequest,
    LogoutRequest, PasswordResetRequest, Problem, RefreshRequest, RegisterRequest, RolesRequest,
    VerifyEmailRequest,
};
use auth_core::{AuthError, AuthService, ProfileUpdate, TokenPair, UserId};
use poem::http::{HeaderValue, StatusCode, header};
use poem::web::Data;
use poem::{
    Endpoint, IntoEndpoint, IntoResponse, Request, Response, Route, get, handler, post, put,
};
use serde::Serialize;

use crate::error::{ApiError, error_response, problem_response};
use crate::extract::{AdminCaller, Body, BodyLimit, CurrentUser};

type JsonBody<T> = Body<T, false>;
type TokenBody<T> = Body<T, true>;
type ApiResult<T> = Result<T, ApiError>;

/// Options of the auth routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteOptions {
    /// Largest accepted request body in bytes; larger ones get 413. Default 64 KiB.
    pub body_limit: usize,
}

impl Default for RouteOptions {
    fn default() -> Self {
        Self {
            body_limit: DEFAULT_BODY_LIMIT,
        }
    }
}

/// The auth routes of the contract, to nest under a prefix (the contract uses `/auth`):
///
/// ```
/// # fn demo(service: auth_core::AuthService) {
/// let app = poem::Route::new().nest("/auth", auth_poem::route(service));
/// # }
/// ```
///
/// The routes carry the service themselves; unknown paths and methods below the prefix
/// are answered with the contract's 404 `not_found` and 405 `method_not_allowed` problems.
pub fn route(service: AuthService) -> Route {
    route_with(service, RouteOptions::default())
}

/// [`route`] with options.
pub fn route_with(service: AuthService, options: RouteOptions) -> Route {
    let contract = Contract {
        service,
        limit: BodyLimit(options.body_limit),
    };
    Route::new()
        .at("/register", contract.wrap(post(register)))
        .at("/login", contract.wrap(post(login)))
        .at("/refresh", contract.wrap(post(refresh)))
        .at("/logout", contract.wrap(post(logout)))
        .at("/logout-all", contract.wrap(post(logout_all)))
        .at(
            "/password-reset-request",
            contract.wrap(post(password_reset_request)),
        )
        .at("/password-reset", contract.wrap(post(password_reset)))
        .at(
            "/verify-email-request",
            contract.wrap(post(verify_email_request)),
        )
        .at("/verify-email", contract.wrap(post(verify_email)))
        .at("/me", contract.wrap(get(me).patch(update_me)))
        .at("/change-password", contract.wrap(post(change_password)))
        .at("/openapi.json", contract.wrap(get(openapi_document)))
        .at("/*rest", contract.wrap(not_found))
}

/// The admin routes, to nest where the application wants them (the reference server uses
/// `/auth/admin`). Every route needs an access token of a user who holds the admin role
/// according to the store; otherwise 403 `forbidden`.
///
/// ```
/// # fn demo(service: auth_core::AuthService) {
/// let app = poem::Route::new()
///     .nest("/auth/admin", auth_poem::admin_route(service.clone()))
///     .nest("/auth", auth_poem::route(service));
/// # }
/// ```
pub fn admin_route(service: AuthService) -> Route {
    let contract = Contract {
        service,
        limit: BodyLimit(DEFAULT_BODY_LIMIT),
    };
    Route::new()
        .at("/users", contract.wrap(get(list_users)))
        .at("/users/:id", contract.wrap(get(get_user)))
        .at(
            "/users/:id/deactivate",
            contract.wrap(post(deactivate_user)),
        )
        .at("/users/:id/activate", contract.wrap(post(activate_user)))
        .at("/users/:id/roles", contract.wrap(put(set_roles)))
        .at("/*rest", contract.wrap(not_found))
}

/// What every auth route shares: the service and body limit in the request data, and
/// errors rendered as problem documents whatever raised them.
#[derive(Clone)]
struct Contract {
    service: AuthService,
    limit: BodyLimit,
}

impl Contract {
    fn wrap<E: IntoEndpoint>(&self, endpoint: E) -> Contracted<E::Endpoint> {
        Contracted {
            inner: endpoint.into_endpoint(),
            service: self.service.clone(),
            limit: self.limit,
        }
    }
}

struct Contracted<E> {
    inner: E,
    service: AuthService,
    limit: BodyLimit,
}

impl<E: Endpoint> Endpoint for Contracted<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        req.set_data(self.service.clone());
        req.set_data(self.limit);
        Ok(match self.inner.call(req).await {
            Ok(output) => output.into_response(),
            Err(error) => error_response(error, self.limit.0),
        })
    }
}

/// A JSON response with exactly the `Content-Type` the other adapter sends.
fn json(status: StatusCode, value: &impl Serialize) -> ApiResult<Response> {
    let body = serde_json::to_vec(value).map_err(|e| {
        ApiError::from(Problem::internal(&format!(
            "auth-poem: could not serialise a response: {e}"
        )))
    })?;
    Ok(Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body))
}

/// Token responses must not be cached (RFC 6749 §5.1).
fn tokens(pair: &TokenPair) -> ApiResult<Response> {
    let mut response = json(StatusCode::OK, pair)?;
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok(response)
}

#[handler]
async fn register(
    Data(service): Data<&AuthService>,
    body: JsonBody<RegisterRequest>,
) -> ApiResult<Response> {
    let user = service.register(body.value.into_new_user()?).await?;
    json(StatusCode::CREATED, &user)
}

#[handler]
async fn login(
    Data(service): Data<&AuthService>,
    body: TokenBody<LoginRequest>,
) -> ApiResult<Response> {
    let (email, password) = body.value.into_credentials(body.format)?;
    tokens(&service.login(&email, &password).await?)
}

#[handler]
async fn refresh(
    Data(service): Data<&AuthService>,
    body: TokenBody<RefreshRequest>,
) -> ApiResult<Response> {
    let token = body.value.into_token(body.format)?;
    tokens(&service.refresh(&token).await?)
}

#[handler]
async fn logout(
    Data(service): Data<&AuthService>,
    body: JsonBody<LogoutRequest>,
) -> ApiResult<StatusCode> {
    service.logout(&body.value.into_token()?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[handler]
async fn logout_all(
    Data(service): Data<&AuthService>,
    CurrentUser(claims): CurrentUser,
) -> ApiResult<StatusCode> {
    service.logout_all(claims.sub).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[handler]
async fn password_reset_request(
    Data(service): Data<&AuthService>,
    body: JsonBody<EmailRequest>,
) -> ApiResult<Response> {
    service
        .request_password_reset(&body.value.into_email()?)
        .await?;
    json(StatusCode::ACCEPTED, &Accepted::RESET)
}

#[handler]
async fn password_reset(
    Data(service): Data<&AuthService>,
    body: JsonBody<PasswordResetRequest>,
) -> ApiResult<StatusCode> {
    let (token, password) = body.value.into_parts()?;
    service.complete_password_reset(&token, &password).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[handler]
async fn verify_email_request(
    Data(service): Data<&AuthService>,
    body: JsonBody<EmailRequest>,
) -> ApiResult<Response> {
    service
        .request_email_verification(&body.value.into_email()?)
        .await?;
    json(StatusCode::ACCEPTED, &Accepted::VERIFY)
}

#[handler]
async fn verify_email(
    Data(service): Data<&AuthService>,
    body: JsonBody<VerifyEmailRequest>,
) -> ApiResult<Response> {
    let token = body.value.into_token()?;
    json(
        StatusCode::OK,
        &service.complete_email_verification(&token).await?,
    )
}

#[handler]
async fn me(
    Data(service): Data<&AuthService>,
    CurrentUser(claims): CurrentUser,
) -> ApiResult<Response> {
    json(StatusCode::OK, &service.me(claims.sub).await?)
}

#[handler]
async fn update_me(
    Data(service): Data<&AuthService>,
    CurrentUser(claims): CurrentUser,
    body: JsonBody<ProfileUpdate>,
) -> ApiResult<Response> {
    json(
        StatusCode::OK,
        &service.update_me(claims.sub, body.value).await?,
    )
}

#[handler]
async fn change_password(
    Data(service): Data<&AuthService>,
    CurrentUser(claims): CurrentUser,
    body: JsonBody<ChangePasswordRequest>,
) -> ApiResult<StatusCode> {
    let (current, new) = body.value.into_parts()?;
    service.change_password(claims.sub, &current, &new).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[handler]
fn openapi_document() -> Response {
    Response::builder()
        .header(header::CONTENT_TYPE, "application/json")
        .body(auth_core::openapi::document_json())
}

/// An id that is not a UUID (or not valid percent-encoded UTF-8) names no user: 404, like
/// an unknown one.
fn user_id(req: &Request) -> ApiResult<UserId> {
    req.raw_path_param("id")
        .and_then(|raw| raw.parse().ok())
        .ok_or_else(|| ApiError::from(AuthError::UserNotFound))
}

#[handler]
async fn list_users(
    Data(service): Data<&AuthService>,
    AdminCaller(caller): AdminCaller,
    req: &Request,
) -> ApiResult<Response> {
    let query = ListQuery::parse(req.uri().query())?;
    json(
        StatusCode::OK,
        &service
            .list_users(&caller, query.limit, query.offset)
            .await?,
    )
}

#[handler]
async fn get_user(
    Data(service): Data<&AuthService>,
    AdminCaller(caller): AdminCaller,
    req: &Request,
) -> ApiResult<Response> {
    json(
        StatusCode::OK,
        &service.get_user(&caller, user_id(req)?).await?,
    )
}

#[handler]
async fn deactivate_user(
    Data(service): Data<&AuthService>,
    AdminCaller(caller): AdminCaller,
    req: &Request,
) -> ApiResult<Response> {
    json(
        StatusCode::OK,
        &service.deactivate_user(&caller, user_id(req)?).await?,
    )
}

#[handler]
async fn activate_user(
    Data(service): Data<&AuthService>,
    AdminCaller(caller): AdminCaller,
    req: &Request,
) -> ApiResult<Response> {
    json(
        StatusCode::OK,
        &service.activate_user(&caller, user_id(req)?).await?,
    )
}

#[handler]
async fn set_roles(
    Data(service): Data<&AuthService>,
    AdminCaller(caller): AdminCaller,
    req: &Request,
    body: JsonBody<RolesRequest>,
) -> ApiResult<Response> {
    let id = user_id(req)?;
    let roles = body.value.into_roles()?;
    json(
        StatusCode::OK,
        &service.set_roles(&caller, id, roles).await?,
    )
}

#[handler]
fn not_found() -> Response {
    problem_response(&Problem::not_found())
}
