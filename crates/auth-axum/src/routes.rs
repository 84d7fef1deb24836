//! The routes of the HTTP contract (docs/http-contract.md).

use auth_core::api::{
    Accepted, ChangePasswordRequest, DEFAULT_BODY_LIMIT, EmailRequest, ListQuery, LoginRequest,
    LogoutRequest, PasswordResetRequest, Problem, RefreshRequest, RegisterRequest, RolesRequest,
    VerifyEmailRequest,
};
use auth_core::{AuthService, ProfileUpdate, TokenPair, User, UserId, UserPage};
use axum::extract::{Path, RawQuery};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Extension, Json, Router};
use http::{HeaderValue, StatusCode, header};

use crate::error::{ApiError, problem_response};
use crate::extract::{AdminCaller, Body, BodyLimit, CurrentUser};

type JsonBody<T> = Body<T, false>;
type TokenBody<T> = Body<T, true>;
type ApiResult<T> = Result<T, ApiError>;

/// Options of the auth router.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouterOptions {
    /// Largest accepted request body in bytes; larger ones get 413. Default 64 KiB.
    pub body_limit: usize,
}

impl Default for RouterOptions {
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
/// let app: axum::Router = axum::Router::new().nest("/auth", auth_axum::router(service));
/// # }
/// ```
pub fn router(service: AuthService) -> Router {
    router_with(service, RouterOptions::default())
}

/// [`router`] with options.
pub fn router_with(service: AuthService, options: RouterOptions) -> Router {
    Router::new()
        .route("/register", post(register))
        .route("/login", post(login))
        .route("/refresh", post(refresh))
        .route("/logout", post(logout))
        .route("/logout-all", post(logout_all))
        .route("/password-reset-request", post(password_reset_request))
        .route("/password-reset", post(password_reset))
        .route("/verify-email-request", post(verify_email_request))
        .route("/verify-email", post(verify_email))
        .route("/me", get(me).patch(update_me))
        .route("/change-password", post(change_password))
        .route("/openapi.json", get(openapi_document))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(Extension(BodyLimit(options.body_limit)))
        .layer(Extension(service))
}

/// The admin routes, to nest where the application wants them (the reference server uses
/// `/auth/admin`). Every route needs an access token of a user who holds the admin role
/// according to the store; otherwise 403 `forbidden`.
pub fn admin_router(service: AuthService) -> Router {
    Router::new()
        .route("/users", get(list_users))
        .route("/users/{id}", get(get_user))
        .route("/users/{id}/deactivate", post(deactivate_user))
        .route("/users/{id}/activate", post(activate_user))
        .route("/users/{id}/roles", put(set_roles))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(Extension(BodyLimit(DEFAULT_BODY_LIMIT)))
        .layer(Extension(service))
}

/// Token responses must not be cached (RFC 6749 §5.1).
fn tokens(pair: TokenPair) -> Response {
    let mut response = Json(pair).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

async fn register(
    Extension(service): Extension<AuthService>,
    body: JsonBody<RegisterRequest>,
) -> ApiResult<(StatusCode, Json<User>)> {
    let user = service.register(body.value.into_new_user()?).await?;
    Ok((StatusCode::CREATED, Json(user)))
}

async fn login(
    Extension(service): Extension<AuthService>,
    body: TokenBody<LoginRequest>,
) -> ApiResult<Response> {
    let (email, password) = body.value.into_credentials(body.format)?;
    Ok(tokens(service.login(&email, &password).await?))
}

async fn refresh(
    Extension(service): Extension<AuthService>,
    body: TokenBody<RefreshRequest>,
) -> ApiResult<Response> {
    let token = body.value.into_token(body.format)?;
    Ok(tokens(service.refresh(&token).await?))
}

async fn logout(
    Extension(service): Extension<AuthService>,
    body: JsonBody<LogoutRequest>,
) -> ApiResult<StatusCode> {
    service.logout(&body.value.into_token()?).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn logout_all(
    Extension(service): Extension<AuthService>,
    CurrentUser(claims): CurrentUser,
) -> ApiResult<StatusCode> {
    service.logout_all(claims.sub).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn password_reset_request(
    Extension(service): Extension<AuthService>,
    body: JsonBody<EmailRequest>,
) -> ApiResult<(StatusCode, Json<Accepted>)> {
    service
        .request_password_reset(&body.value.into_email()?)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(Accepted::RESET)))
}

async fn password_reset(
    Extension(service): Extension<AuthService>,
    body: JsonBody<PasswordResetRequest>,
) -> ApiResult<StatusCode> {
    let (token, password) = body.value.into_parts()?;
    service.complete_password_reset(&token, &password).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn verify_email_request(
    Extension(service): Extension<AuthService>,
    body: JsonBody<EmailRequest>,
) -> ApiResult<(StatusCode, Json<Accepted>)> {
    service
        .request_email_verification(&body.value.into_email()?)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(Accepted::VERIFY)))
}

async fn verify_email(
    Extension(service): Extension<AuthService>,
    body: JsonBody<VerifyEmailRequest>,
) -> ApiResult<Json<User>> {
    let token = body.value.into_token()?;
    Ok(Json(service.complete_email_verification(&token).await?))
}

async fn me(
    Extension(service): Extension<AuthService>,
    CurrentUser(claims): CurrentUser,
) -> ApiResult<Json<User>> {
    Ok(Json(service.me(claims.sub).await?))
}

async fn update_me(
    Extension(service): Extension<AuthService>,
    CurrentUser(claims): CurrentUser,
    body: JsonBody<ProfileUpdate>,
) -> ApiResult<Json<User>> {
    Ok(Json(service.update_me(claims.sub, body.value).await?))
}

async fn change_password(
    Extension(service): Extension<AuthService>,
    CurrentUser(claims): CurrentUser,
    body: JsonBody<ChangePasswordRequest>,
) -> ApiResult<StatusCode> {
    let (current, new) = body.value.into_parts()?;
    service.change_password(claims.sub, &current, &new).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn openapi_document() -> Response {
    let mut response = auth_core::openapi::document_json().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// An id that is not a UUID names no user: 404, like an unknown one.
fn user_id(raw: &str) -> ApiResult<UserId> {
    raw.parse()
        .map_err(|_| ApiError::from(auth_core::AuthError::UserNotFound))
}

async fn list_users(
    Extension(service): Extension<AuthService>,
    AdminCaller(caller): AdminCaller,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<UserPage>> {
    let query = ListQuery::parse(query.as_deref())?;
    Ok(Json(
        service
            .list_users(&caller, query.limit, query.offset)
            .await?,
    ))
}

async fn get_user(
    Extension(service): Extension<AuthService>,
    AdminCaller(caller): AdminCaller,
    Path(id): Path<String>,
) -> ApiResult<Json<User>> {
    Ok(Json(service.get_user(&caller, user_id(&id)?).await?))
}

async fn deactivate_user(
    Extension(service): Extension<AuthService>,
    AdminCaller(caller): AdminCaller,
    Path(id): Path<String>,
) -> ApiResult<Json<User>> {
    Ok(Json(service.deactivate_user(&caller, user_id(&id)?).await?))
}

async fn activate_user(
    Extension(service): Extension<AuthService>,
    AdminCaller(caller): AdminCaller,
    Path(id): Path<String>,
) -> ApiResult<Json<User>> {
    Ok(Json(service.activate_user(&caller, user_id(&id)?).await?))
}

async fn set_roles(
    Extension(service): Extension<AuthService>,
    AdminCaller(caller): AdminCaller,
    Path(id): Path<String>,
    body: JsonBody<RolesRequest>,
) -> ApiResult<Json<User>> {
    let id = user_id(&id)?;
    let roles = body.value.into_roles()?;
    Ok(Json(service.set_roles(&caller, id, roles).await?))
}

async fn not_found() -> Response {
    problem_response(&Problem::not_found())
}

async fn method_not_allowed() -> Response {
    problem_response(&Problem::method_not_allowed())
}
