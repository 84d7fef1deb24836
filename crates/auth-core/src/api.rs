//! The HTTP contract's framework-free parts, shared by every web adapter so that a client
//! cannot tell them apart: request bodies and their validation, the RFC 9457 problem
//! document, content-type rules and the body limit.
//!
//! An adapter reads the body (at most [`DEFAULT_BODY_LIMIT`] bytes unless configured),
//! decodes it with [`decode_body`], calls the [`AuthService`](crate::AuthService), and
//! renders errors with [`Problem`].

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{AuthError, FieldError};
use crate::user::NewUser;

/// Media type of error responses (RFC 9457).
pub const PROBLEM_JSON: &str = "application/problem+json";
/// Default request body limit: 64 KiB.
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

/// An RFC 9457 problem document, plus the headers that go with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Always `about:blank`: the status and `code` say what happened.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The status's reason phrase.
    pub title: &'static str,
    /// The HTTP status code.
    pub status: u16,
    /// Human-readable text; never internals (no SQL, driver messages, hashes or tokens).
    pub detail: String,
    /// The contract's machine-readable code.
    pub code: &'static str,
    /// Per-field details of a validation failure.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Value of the `WWW-Authenticate` header, for 401 answers.
    #[serde(skip)]
    pub www_authenticate: Option<&'static str>,
    /// Value of the `Retry-After` header in seconds, for 503 answers.
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

impl Problem {
    fn new(status: u16, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            kind: "about:blank",
            title: reason_phrase(status),
            status,
            detail: detail.into(),
            code,
            errors: Vec::new(),
            www_authenticate: None,
            retry_after: None,
        }
    }

    /// The problem for a service error. Internal errors are logged here, with their source
    /// chain, and answered with a fixed text.
    pub fn from_auth_error(error: &AuthError) -> Self {
        if error.is_internal() {
            tracing::error!(
                error = error as &dyn std::error::Error,
                source = std::error::Error::source(error).map(tracing::field::display),
                "request failed"
            );
        }
        let mut problem = Self::new(error.status(), error.code(), error.to_string());
        problem.errors = error.field_errors();
        problem.retry_after = error.retry_after();
        if error.status() == 401 {
            problem.www_authenticate = Some(if error.is_bearer_token_error() {
                r#"Bearer error="invalid_token""#
            } else {
                "Bearer"
            });
        }
        problem
    }

    /// 400 `malformed_body`: the body is not parseable JSON (or form data).
    pub fn malformed_body(detail: impl Into<String>) -> Self {
        Self::new(400, "malformed_body", detail)
    }

    /// 415 `unsupported_media_type`.
    pub fn unsupported_media_type(expected: &str) -> Self {
        Self::new(
            415,
            "unsupported_media_type",
            format!("expected Content-Type {expected}"),
        )
    }

    /// 413 `body_too_large`.
    pub fn body_too_large(limit: usize) -> Self {
        Self::new(
            413,
            "body_too_large",
            format!("request body exceeds {limit} bytes"),
        )
    }

    /// 404 `not_found` for unknown paths.
    pub fn not_found() -> Self {
        Self::new(404, "not_found", "no such endpoint")
    }

    /// 405 `method_not_allowed`.
    pub fn method_not_allowed() -> Self {
        Self::new(
            405,
            "method_not_allowed",
            "method not allowed on this endpoint",
        )
    }

    /// 500 `internal_error`, for adapter misconfiguration; the details go to the log.
    pub fn internal(log_message: &str) -> Self {
        tracing::error!("{log_message}");
        Self::new(500, "internal_error", "internal server error")
    }

    /// The JSON body.
    pub fn to_json(&self) -> Vec<u8> {
        // Serialising plain strings, numbers and a Vec of plain structs cannot fail.
        serde_json::to_vec(self).unwrap_or_else(|_| b"{}".to_vec())
    }
}

impl From<AuthError> for Problem {
    fn from(error: AuthError) -> Self {
        Self::from_auth_error(&error)
    }
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Content",
        503 => "Service Unavailable",
        _ => "Internal Server Error",
    }
}

/// How a body is encoded, from its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFormat {
    /// `application/json` or any `application/*+json`.
    Json,
    /// `application/x-www-form-urlencoded` (OAuth 2.0 token requests).
    Form,
}

/// Decides the body format from a `Content-Type` header value. Form bodies are accepted only
/// where `allow_form` (the OAuth 2.0 shapes of `/login` and `/refresh`).
///
/// # Errors
///
/// 415 `unsupported_media_type` for anything else, including a missing header.
#[expect(
    clippy::result_large_err,
    reason = "a problem is built at most once per failed request; boxing it buys nothing"
)]
pub fn body_format(content_type: Option<&str>, allow_form: bool) -> Result<BodyFormat, Problem> {
    let expected = if allow_form {
        "application/json or application/x-www-form-urlencoded"
    } else {
        "application/json"
    };
    let essence = content_type
        .and_then(|ct| ct.split(';').next())
        .map(|ct| ct.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
    {
        Ok(BodyFormat::Json)
    } else if allow_form && essence == "application/x-www-form-urlencoded" {
        Ok(BodyFormat::Form)
    } else {
        Err(Problem::unsupported_media_type(expected))
    }
}

/// Decodes a request body of the given format.
///
/// # Errors
///
/// 400 `malformed_body` when the bytes are not JSON at all; 422 `validation_failed` when
/// they are well-formed but of the wrong shape (wrong types, not an object).
#[expect(
    clippy::result_large_err,
    reason = "a problem is built at most once per failed request; boxing it buys nothing"
)]
pub fn decode_body<T: DeserializeOwned>(format: BodyFormat, bytes: &[u8]) -> Result<T, Problem> {
    match format {
        BodyFormat::Json => serde_json::from_slice(bytes).map_err(|e| {
            if e.is_data() {
                Problem::from_auth_error(&AuthError::Validation(vec![FieldError::new(
                    "body",
                    "invalid",
                    e.to_string(),
                )]))
            } else {
                Problem::malformed_body(format!("body is not valid JSON: {e}"))
            }
        }),
        BodyFormat::Form => serde_urlencoded::from_bytes(bytes)
            .map_err(|e| Problem::malformed_body(format!("body is not valid form data: {e}"))),
    }
}

/// Collects missing required fields, so a client learns all of them at once.
#[derive(Debug, Default)]
struct Required(Vec<FieldError>);

impl Required {
    fn take(&mut self, field: &'static str, value: Option<String>) -> String {
        value.unwrap_or_else(|| {
            self.0
                .push(FieldError::new(field, "required", "this field is required"));
            String::new()
        })
    }

    fn finish<T>(self, value: T) -> Result<T, AuthError> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(AuthError::Validation(self.0))
        }
    }
}

/// `POST /register`.
#[derive(Debug, Default, Deserialize)]
pub struct RegisterRequest {
    email: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

impl RegisterRequest {
    /// The validated registration input. Privileged fields in the body are ignored.
    ///
    /// # Errors
    ///
    /// 422 `validation_failed` listing every missing field.
    pub fn into_new_user(self) -> Result<NewUser, AuthError> {
        let mut required = Required::default();
        let new_user = NewUser {
            email: required.take("email", self.email),
            username: required.take("username", self.username),
            password: required.take("password", self.password).into(),
        };
        required.finish(new_user)
    }
}

/// `POST /login`: JSON `{email, password}` or the OAuth 2.0 password grant form
/// (`grant_type=password&username=EMAIL&password=…`, RFC 6749 §4.3).
#[derive(Debug, Default, Deserialize)]
pub struct LoginRequest {
    email: Option<String>,
    username: Option<String>,
    password: Option<String>,
    grant_type: Option<String>,
}

impl LoginRequest {
    /// The email and password.
    ///
    /// # Errors
    ///
    /// 422 `validation_failed` for missing fields or a form with another grant type.
    pub fn into_credentials(
        self,
        format: BodyFormat,
    ) -> Result<(String, secrecy::SecretString), AuthError> {
        let mut required = Required::default();
        let email = match format {
            BodyFormat::Json => required.take("email", self.email),
            BodyFormat::Form => {
                check_grant(&mut required, self.grant_type.as_deref(), "password");
                required.take("username", self.username)
            }
        };
        let password = required.take("password", self.password);
        required.finish((email, password.into()))
    }
}

/// `POST /refresh`: JSON `{refresh_token}` or the OAuth 2.0 refresh form
/// (`grant_type=refresh_token&refresh_token=…`, RFC 6749 §6).
#[derive(Debug, Default, Deserialize)]
pub struct RefreshRequest {
    refresh_token: Option<String>,
    grant_type: Option<String>,
}

impl RefreshRequest {
    /// The refresh token.
    ///
    /// # Errors
    ///
    /// 422 `validation_failed` for a missing token or a form with another grant type.
    pub fn into_token(self, format: BodyFormat) -> Result<String, AuthError> {
        let mut required = Required::default();
        if format == BodyFormat::Form {
            check_grant(&mut required, self.grant_type.as_deref(), "refresh_token");
        }
        let token = required.take("refresh_token", self.refresh_token);
        required.finish(token)
    }
}

fn check_grant(required: &mut Required, grant: Option<&str>, expected: &'static str) {
    match grant {
        Some(grant) if grant == expected => {}
        Some(_) => required.0.push(FieldError::new(
            "grant_type",
            "unsupported_grant_type",
            format!("grant_type must be {expected}"),
        )),
        None => required.0.push(FieldError::new(
            "grant_type",
            "required",
            "this field is required",
        )),
    }
}

/// `POST /logout`.
#[derive(Debug, Default, Deserialize)]
pub struct LogoutRequest {
    refresh_token: Option<String>,
}

impl LogoutRequest {
    /// The refresh token.
    ///
    /// # Errors
    ///
    /// 422 `validation_failed` when it is missing.
    pub fn into_token(self) -> Result<String, AuthError> {
        let mut required = Required::default();
        let token = required.take("refresh_token", self.refresh_token);
        required.finish(token)
    }
}

/// `POST /password-reset-request` and `POST /verify-email-request`.
#[derive(Debug, Default, Deserialize)]
pub struct EmailRequest {
    email: Option<String>,
}

impl EmailRequest {
    /// The email.
    ///
    /// # Errors
    ///
    /// 422 `validation_failed` when it is missing.
    pub fn into_email(self) -> Result<String, AuthError> {
        let mut required = Required::default();
        let email = required.take("email", self.email);
        required.finish(email)
    }
}

/// `POST /password-reset`.
#[derive(Debug, Default, Deserialize)]
pub struct PasswordResetRequest {
    token: Option<String>,
    new_password: Option<String>,
}

impl PasswordResetRequest {
    /// The token and the new password.
    ///
    /// # Errors
    ///
    /// 422 `validation_failed` listing every missing field.
    pub fn into_parts(self) -> Result<(String, secrecy::SecretString), AuthError> {
        let mut required = Required::default();
        let token = required.take("token", self.token);
        let password = required.take("new_password", self.new_password);
        required.finish((token, password.into()))
    }
}

/// `POST /verify-email`.
#[derive(Debug, Default, Deserialize)]
pub struct VerifyEmailRequest {
    token: Option<String>,
}

impl VerifyEmailRequest {
    /// The token.
    ///
    /// # Errors
    ///
    /// 422 `validation_failed` when it is missing.
    pub fn into_token(self) -> Result<String, AuthError> {
        let mut required = Required::default();
        let token = required.take("token", self.token);
        required.finish(token)
    }
}

/// `POST /change-password`.
#[derive(Debug, Default, Deserialize)]
pub struct ChangePasswordRequest {
    current_password: Option<String>,
    new_password: Option<String>,
}

impl ChangePasswordRequest {
    /// The current and the new password.
    ///
    /// # Errors
    ///
    /// 422 `validation_failed` listing every missing field.
    pub fn into_parts(self) -> Result<(secrecy::SecretString, secrecy::SecretString), AuthError> {
        let mut required = Required::default();
        let current = required.take("current_password", self.current_password);
        let new = required.take("new_password", self.new_password);
        required.finish((current.into(), new.into()))
    }
}

/// `PUT /admin/users/{id}/roles`.
#[derive(Debug, Default, Deserialize)]
pub struct RolesRequest {
    roles: Option<Vec<String>>,
}

impl RolesRequest {
    /// The roles.
    ///
    /// # Errors
    ///
    /// 422 `validation_failed` when missing.
    pub fn into_roles(self) -> Result<Vec<String>, AuthError> {
        match self.roles {
            Some(roles) => Ok(roles),
            None => Err(AuthError::Validation(vec![FieldError::new(
                "roles",
                "required",
                "this field is required",
            )])),
        }
    }
}

/// `GET /admin/users?limit=&offset=`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ListQuery {
    /// Page size.
    pub limit: Option<u32>,
    /// Users to skip.
    pub offset: Option<u64>,
}

impl ListQuery {
    /// Parses a raw query string (without `?`).
    ///
    /// # Errors
    ///
    /// 422 `validation_failed` when `limit` or `offset` is not a non-negative integer.
    pub fn parse(query: Option<&str>) -> Result<Self, AuthError> {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(query.unwrap_or("")).unwrap_or_default();
        let mut out = Self::default();
        let mut errors = Vec::new();
        for (key, value) in pairs {
            match key.as_str() {
                "limit" => match value.parse() {
                    Ok(n) => out.limit = Some(n),
                    Err(_) => errors.push(FieldError::new(
                        "limit",
                        "invalid",
                        "must be a non-negative integer",
                    )),
                },
                "offset" => match value.parse() {
                    Ok(n) => out.offset = Some(n),
                    Err(_) => errors.push(FieldError::new(
                        "offset",
                        "invalid",
                        "must be a non-negative integer",
                    )),
                },
                _ => {}
            }
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(AuthError::Validation(errors))
        }
    }
}

/// The body of the 202 answers of `/password-reset-request` and `/verify-email-request`:
/// the same whether or not the account exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Accepted {
    /// Fixed text.
    pub detail: &'static str,
}

impl Accepted {
    /// The answer to a password-reset request.
    pub const RESET: Self = Self {
        detail: "if an account exists for this email, a password reset link has been sent",
    };
    /// The answer to a verification request.
    pub const VERIFY: Self = Self {
        detail: "if an unverified account exists for this email, a verification link has been sent",
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_and_json_suffix_types_are_json_and_forms_only_where_allowed() {
        assert_eq!(
            body_format(Some("application/json; charset=utf-8"), false),
            Ok(BodyFormat::Json)
        );
        assert_eq!(
            body_format(Some("Application/Merge-Patch+JSON"), false),
            Ok(BodyFormat::Json)
        );
        assert_eq!(
            body_format(Some("application/x-www-form-urlencoded"), true),
            Ok(BodyFormat::Form)
        );
        for (ct, form) in [
            (Some("application/x-www-form-urlencoded"), false),
            (Some("text/plain"), true),
            (None, true),
        ] {
            assert_eq!(body_format(ct, form).map_err(|p| p.status), Err(415));
        }
    }

    #[test]
    fn syntax_errors_are_400_and_shape_errors_are_422() {
        let bad: Result<RegisterRequest, _> = decode_body(BodyFormat::Json, b"{\"email\": ");
        assert_eq!(
            bad.map_err(|p| (p.status, p.code)).unwrap_err(),
            (400, "malformed_body")
        );
        let shape: Result<RegisterRequest, _> = decode_body(BodyFormat::Json, b"{\"email\": 5}");
        assert_eq!(
            shape.map_err(|p| (p.status, p.code)).unwrap_err(),
            (422, "validation_failed")
        );
        let array: Result<RegisterRequest, _> = decode_body(BodyFormat::Json, b"[]");
        assert_eq!(array.map_err(|p| p.status).unwrap_err(), 422);
    }

    #[test]
    fn every_missing_field_is_listed() {
        let Err(AuthError::Validation(errors)) = RegisterRequest::default().into_new_user() else {
            panic!("missing fields accepted");
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["email", "username", "password"]);
    }

    #[test]
    fn privileged_fields_in_a_registration_body_are_ignored() {
        let request: RegisterRequest = decode_body(
            BodyFormat::Json,
            br#"{"email":"a@example.com","username":"a","password":"p","roles":["admin"],"is_verified":true}"#,
        )
        .unwrap();
        let new_user = request.into_new_user().unwrap();
        assert_eq!(new_user.email, "a@example.com");
    }

    #[test]
    fn oauth_forms_need_the_right_grant() {
        let form: LoginRequest = decode_body(
            BodyFormat::Form,
            b"grant_type=password&username=a%40example.com&password=p%26q",
        )
        .unwrap();
        let (email, _) = form.into_credentials(BodyFormat::Form).unwrap();
        assert_eq!(email, "a@example.com");
        let wrong: RefreshRequest =
            decode_body(BodyFormat::Form, b"grant_type=password&refresh_token=x").unwrap();
        assert!(matches!(
            wrong.into_token(BodyFormat::Form),
            Err(AuthError::Validation(_))
        ));
    }

    #[test]
    fn problems_carry_the_contract_headers() {
        let p = Problem::from_auth_error(&AuthError::ExpiredToken);
        assert_eq!(p.www_authenticate, Some(r#"Bearer error="invalid_token""#));
        assert_eq!(
            Problem::from_auth_error(&AuthError::MissingToken).www_authenticate,
            Some("Bearer")
        );
        assert_eq!(
            Problem::from_auth_error(&AuthError::Overloaded).retry_after,
            Some(1)
        );
        let json: serde_json::Value = serde_json::from_slice(&p.to_json()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"type": "about:blank", "title": "Unauthorized", "status": 401,
                "detail": "token has expired", "code": "expired_token"})
        );
    }

    #[test]
    fn list_query_rejects_non_numbers() {
        assert_eq!(
            ListQuery::parse(Some("limit=5&offset=10&x=y")).unwrap(),
            ListQuery {
                limit: Some(5),
                offset: Some(10)
            }
        );
        assert!(ListQuery::parse(Some("limit=-1")).is_err());
        assert_eq!(ListQuery::parse(None).unwrap(), ListQuery::default());
    }
}
