//! The handler of every endpoint: decode, call the service, answer.

#![expect(
    clippy::result_large_err,
    reason = "a problem is built at most once per failed request; boxing it buys nothing"
)]

use http::{HeaderValue, StatusCode, header};

use secrecy::ExposeSecret as _;

use super::requests::{
    Accepted, ChangePasswordRequest, Credentials, EmailRequest, ListQuery, LoginMfaRequest,
    LogoutRequest, MfaCodeRequest, PasswordAndCodeRequest, PasswordResetRequest, RefreshRequest,
    RolesRequest, VerifyEmailRequest,
};
use super::response::{empty, json, tokens};
use super::{ApiRequest, ApiResponse, Endpoint, Problem};
use crate::client::ClientInfo;
use crate::error::AuthError;
use crate::service::{AdminAccess, AuthService};
use crate::user::{NewUser, ProfileUpdate, UserId};

type Outcome = Result<ApiResponse, Problem>;

/// Answers one request to one endpoint. The client (its address through the trusted
/// proxies, its `User-Agent`) is determined first and is the current [`ClientInfo`] while
/// the request is served; the endpoint's per-client limit is taken before anything else.
/// Every failure becomes the contract's problem document; internal ones are logged with
/// their source.
pub async fn handle(service: &AuthService, endpoint: Endpoint, request: ApiRequest) -> ApiResponse {
    let client = ClientInfo::from_request(
        request.peer.map(|peer| peer.ip()),
        &request.headers,
        service.config().trusted_proxies(),
    );
    let ip = client.ip;
    client
        .scope(async move {
            let guarded = endpoint.needs_store();
            if guarded && let Err(retry_after) = service.admit_store_request() {
                return Problem::store_down(retry_after).to_response();
            }
            let outcome = match (endpoint.limit_group(), ip) {
                (Some(group), Some(ip)) => match service.check_client_limit(group, ip).await {
                    Ok(()) => dispatch(service, endpoint, &request).await,
                    Err(error) => Err(Problem::from(error)),
                },
                _ => dispatch(service, endpoint, &request).await,
            };
            if guarded {
                service.record_store_outcome(matches!(&outcome, Err(p) if p.store_failure));
            }
            outcome.unwrap_or_else(|problem| problem.to_response())
        })
        .await
}

async fn dispatch(service: &AuthService, endpoint: Endpoint, request: &ApiRequest) -> Outcome {
    match endpoint {
        Endpoint::Register => register(service, request).await,
        Endpoint::Login => login(service, request).await,
        Endpoint::Refresh => refresh(service, request).await,
        Endpoint::Logout => logout(service, request).await,
        Endpoint::LogoutAll => logout_all(service, request).await,
        Endpoint::PasswordResetRequest => password_reset_request(service, request).await,
        Endpoint::PasswordReset => password_reset(service, request).await,
        Endpoint::VerifyEmailRequest => verify_email_request(service, request).await,
        Endpoint::VerifyEmail => verify_email(service, request).await,
        Endpoint::Me => me(service, request).await,
        Endpoint::UpdateMe => update_me(service, request).await,
        Endpoint::ChangePassword => change_password(service, request).await,
        Endpoint::OpenApi => Ok(openapi()),
        Endpoint::ListUsers => list_users(service, request).await,
        Endpoint::GetUser => get_user(service, request).await,
        Endpoint::DeactivateUser => deactivate_user(service, request).await,
        Endpoint::ActivateUser => activate_user(service, request).await,
        Endpoint::SetRoles => set_roles(service, request).await,
        Endpoint::Sessions => sessions(service, request).await,
        Endpoint::DeleteSession => delete_session(service, request).await,
        Endpoint::UserSessions => user_sessions(service, request).await,
        Endpoint::EndUserSessions => end_user_sessions(service, request).await,
        Endpoint::Jwks => Ok(jwks(service)),
        Endpoint::LoginMfa => login_mfa(service, request).await,
        Endpoint::TotpSetup => totp_setup(service, request).await,
        Endpoint::TotpConfirm => totp_confirm(service, request).await,
        Endpoint::TotpDisable => totp_disable(service, request).await,
        Endpoint::RecoveryCodes => recovery_codes(service, request).await,
        Endpoint::ResetUserMfa => reset_user_mfa(service, request).await,
        Endpoint::AuditLog => super::audit::audit_log(service, request).await,
    }
}

async fn login_mfa(service: &AuthService, request: &ApiRequest) -> Outcome {
    let LoginMfaRequest { mfa_token, code } = request.decode()?;
    let pair = service
        .login_mfa(mfa_token.expose_secret(), code.expose_secret())
        .await?;
    if service.config().refresh_cookie() {
        return super::cookie::tokens(service, &pair);
    }
    tokens(&pair)
}

async fn totp_setup(service: &AuthService, request: &ApiRequest) -> Outcome {
    let claims = service.verified_claims(&request.headers)?;
    json(StatusCode::OK, &service.setup_totp(&claims).await?)
}

async fn totp_confirm(service: &AuthService, request: &ApiRequest) -> Outcome {
    let claims = service.verified_claims(&request.headers)?;
    let MfaCodeRequest { code } = request.decode()?;
    json(
        StatusCode::OK,
        &service.confirm_totp(&claims, code.expose_secret()).await?,
    )
}

async fn totp_disable(service: &AuthService, request: &ApiRequest) -> Outcome {
    let claims = service.verified_claims(&request.headers)?;
    let PasswordAndCodeRequest { password, code } = request.decode()?;
    service
        .disable_totp(&claims, &password, code.expose_secret())
        .await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

async fn recovery_codes(service: &AuthService, request: &ApiRequest) -> Outcome {
    let claims = service.verified_claims(&request.headers)?;
    let PasswordAndCodeRequest { password, code } = request.decode()?;
    json(
        StatusCode::OK,
        &service
            .regenerate_recovery_codes(&claims, &password, code.expose_secret())
            .await?,
    )
}

async fn reset_user_mfa(service: &AuthService, request: &ApiRequest) -> Outcome {
    let access = admin(service, request).await?;
    service.reset_mfa(&access, user_id(request)?).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

async fn register(service: &AuthService, request: &ApiRequest) -> Outcome {
    let new_user: NewUser = request.decode()?;
    let user = service.register(new_user).await?;
    json(StatusCode::CREATED, &user)
}

async fn login(service: &AuthService, request: &ApiRequest) -> Outcome {
    let Credentials { email, password } = request.decode()?;
    let pair = service.login(&email, &password).await?;
    if service.config().refresh_cookie() {
        return super::cookie::tokens(service, &pair);
    }
    tokens(&pair)
}

async fn refresh(service: &AuthService, request: &ApiRequest) -> Outcome {
    if service.config().refresh_cookie() {
        return super::cookie::refresh(service, request).await;
    }
    let RefreshRequest { refresh_token } = request.decode()?;
    tokens(&service.refresh(&refresh_token).await?)
}

async fn logout(service: &AuthService, request: &ApiRequest) -> Outcome {
    if service.config().refresh_cookie() {
        return super::cookie::logout(service, request).await;
    }
    let LogoutRequest { refresh_token } = request.decode()?;
    service.logout(&refresh_token).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

async fn logout_all(service: &AuthService, request: &ApiRequest) -> Outcome {
    let claims = service.authenticate_headers(&request.headers)?;
    service.logout_all(claims.sub).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

async fn password_reset_request(service: &AuthService, request: &ApiRequest) -> Outcome {
    let EmailRequest { email } = request.decode()?;
    service.request_password_reset(&email).await?;
    json(StatusCode::ACCEPTED, &Accepted::RESET)
}

async fn password_reset(service: &AuthService, request: &ApiRequest) -> Outcome {
    let PasswordResetRequest {
        token,
        new_password,
    } = request.decode()?;
    service
        .complete_password_reset(&token, &new_password)
        .await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

async fn verify_email_request(service: &AuthService, request: &ApiRequest) -> Outcome {
    let EmailRequest { email } = request.decode()?;
    service.request_email_verification(&email).await?;
    json(StatusCode::ACCEPTED, &Accepted::VERIFY)
}

async fn verify_email(service: &AuthService, request: &ApiRequest) -> Outcome {
    let VerifyEmailRequest { token } = request.decode()?;
    json(
        StatusCode::OK,
        &service.complete_email_verification(&token).await?,
    )
}

async fn me(service: &AuthService, request: &ApiRequest) -> Outcome {
    let claims = service.verified_claims(&request.headers)?;
    json(StatusCode::OK, &service.me(&claims).await?)
}

async fn update_me(service: &AuthService, request: &ApiRequest) -> Outcome {
    let claims = service.verified_claims(&request.headers)?;
    let update: ProfileUpdate = request.decode()?;
    json(StatusCode::OK, &service.update_me(&claims, update).await?)
}

async fn change_password(service: &AuthService, request: &ApiRequest) -> Outcome {
    let claims = service.verified_claims(&request.headers)?;
    let ChangePasswordRequest {
        current_password,
        new_password,
    } = request.decode()?;
    service
        .change_password(&claims, &current_password, &new_password)
        .await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

fn openapi() -> ApiResponse {
    let mut response = http::Response::new(crate::openapi::document_json().as_bytes().to_vec());
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// The JWK Set of the public verification keys (RFC 7517 §5), cacheable for five minutes:
/// verifiers refetch it when a token names a `kid` they do not know, and a rotation keeps
/// the old key listed far longer than that (README, key rotation). `application/json`
/// rather than `application/jwk-set+json` (RFC 7517 §8.5.1): it is what the big issuers
/// serve, and what every JWKS client accepts, including the ones that check the type.
fn jwks(service: &AuthService) -> ApiResponse {
    let mut response = http::Response::new(service.jwks().as_bytes().to_vec());
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}

/// The admin rights of the caller, checked once against the store.
pub(super) async fn admin(
    service: &AuthService,
    request: &ApiRequest,
) -> Result<AdminAccess, Problem> {
    let claims = service.verified_claims(&request.headers)?;
    Ok(service.admin_access(&claims).await?)
}

/// The `{id}` of an admin route. An id that is not a UUID names no user: 404, like an
/// unknown one.
fn user_id(request: &ApiRequest) -> Result<UserId, Problem> {
    request
        .id
        .as_deref()
        .and_then(|raw| raw.parse().ok())
        .ok_or_else(|| AuthError::UserNotFound.into())
}

async fn sessions(service: &AuthService, request: &ApiRequest) -> Outcome {
    let claims = service.verified_claims(&request.headers)?;
    json(StatusCode::OK, &service.sessions(&claims).await?)
}

async fn delete_session(service: &AuthService, request: &ApiRequest) -> Outcome {
    let claims = service.verified_claims(&request.headers)?;
    // An id that is not a UUID names no session: the same 404 as an unknown one.
    let id = request
        .id
        .as_deref()
        .and_then(|raw| raw.parse::<uuid::Uuid>().ok())
        .ok_or(AuthError::SessionNotFound)?;
    service.end_own_session(&claims, id).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

async fn user_sessions(service: &AuthService, request: &ApiRequest) -> Outcome {
    let access = admin(service, request).await?;
    json(
        StatusCode::OK,
        &service.user_sessions(&access, user_id(request)?).await?,
    )
}

async fn end_user_sessions(service: &AuthService, request: &ApiRequest) -> Outcome {
    let access = admin(service, request).await?;
    service
        .end_user_sessions(&access, user_id(request)?)
        .await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

async fn list_users(service: &AuthService, request: &ApiRequest) -> Outcome {
    let access = admin(service, request).await?;
    let query = ListQuery::parse(request.query.as_deref())?;
    json(
        StatusCode::OK,
        &service
            .list_users(&access, query.limit, query.offset)
            .await?,
    )
}

async fn get_user(service: &AuthService, request: &ApiRequest) -> Outcome {
    let access = admin(service, request).await?;
    json(
        StatusCode::OK,
        &service.get_user(&access, user_id(request)?).await?,
    )
}

async fn deactivate_user(service: &AuthService, request: &ApiRequest) -> Outcome {
    let access = admin(service, request).await?;
    json(
        StatusCode::OK,
        &service.deactivate_user(&access, user_id(request)?).await?,
    )
}

async fn activate_user(service: &AuthService, request: &ApiRequest) -> Outcome {
    let access = admin(service, request).await?;
    json(
        StatusCode::OK,
        &service.activate_user(&access, user_id(request)?).await?,
    )
}

async fn set_roles(service: &AuthService, request: &ApiRequest) -> Outcome {
    let access = admin(service, request).await?;
    let RolesRequest { roles } = request.decode()?;
    let id = user_id(request)?;
    json(
        StatusCode::OK,
        &service.set_roles(&access, id, roles).await?,
    )
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;
    use crate::api::{Admin, RequestBody};
    use crate::service::test_support::{Harness, config};
    use crate::store::memory::MemoryStore;
    use crate::testing::Instrumented;
    use crate::user::UserPatch;

    fn bearer_request(token: &str) -> ApiRequest {
        let mut request = ApiRequest::default();
        request.headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
        );
        request
    }

    #[tokio::test]
    async fn the_admin_role_guard_and_the_admin_routes_use_the_configured_role() {
        let h = Harness::with_config(config().with_admin_role("root"));
        let user = h.verified_user("op@example.com").await;
        for (roles, allowed) in [
            (vec!["root".to_owned()], true),
            (vec!["admin".to_owned()], false),
        ] {
            let user = h
                .patch(
                    &user,
                    UserPatch {
                        roles: Some(roles.clone()),
                        ..UserPatch::default()
                    },
                )
                .await;
            let token = h.service.issue_access_token(&user).unwrap();
            let request = bearer_request(&token);
            let guard = h.service.authorize_headers::<Admin>(&request.headers);
            assert_eq!(guard.is_ok(), allowed, "RequireRole<Admin> with {roles:?}");
            let response = handle(&h.service, Endpoint::ListUsers, request).await;
            assert_eq!(
                response.status() == StatusCode::OK,
                allowed,
                "admin route with {roles:?}"
            );
        }
    }

    #[tokio::test]
    async fn the_jwks_is_public_cacheable_json_and_empty_under_hmac() {
        let h = Harness::new();
        let response = handle(&h.service, Endpoint::Jwks, ApiRequest::default()).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        assert_eq!(
            response.headers()[header::CACHE_CONTROL],
            "public, max-age=300"
        );
        assert_eq!(response.body().as_slice(), br#"{"keys":[]}"#);
    }

    #[tokio::test]
    async fn an_admin_request_reads_the_caller_from_the_store_once() {
        let store = Instrumented::new(MemoryStore::new());
        let service = AuthService::builder()
            .config(config().with_require_verified_email(false))
            .store(store.clone())
            .build()
            .unwrap();
        let admin = service
            .ensure_admin(
                "root@example.com",
                &secrecy::SecretString::from("Str0ng!pass"),
            )
            .await
            .unwrap();
        let token = service.issue_access_token(&admin).unwrap();
        let path_id = admin.id.to_string();
        for (endpoint, reads) in [
            (Endpoint::ListUsers, 1),
            // The caller, then the user the route names.
            (Endpoint::GetUser, 2),
        ] {
            store.reset_calls();
            let mut request = bearer_request(&token);
            request.id = Some(path_id.clone());
            request.body = RequestBody::Empty;
            let response = handle(&service, endpoint, request).await;
            assert_eq!(response.status(), StatusCode::OK, "{endpoint:?}");
            assert_eq!(
                store.calls("find_user_by_id") + store.calls("find_user_by_email"),
                reads,
                "{endpoint:?}"
            );
        }
    }
}
