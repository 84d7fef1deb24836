//! The typed requests of the contract, each decoded from a body by [`decode`].

use secrecy::SecretString;
use serde::Serialize;

use super::Problem;
use super::body::{Accepts, BodyFormat, Fields, body_format};
use crate::error::{AuthError, FieldError};
use crate::user::{NewUser, ProfileUpdate};

/// A request that is read from a body.
pub trait FromBody: Sized {
    /// The body formats the endpoint accepts.
    const ACCEPTS: Accepts;

    /// Takes the request's fields, recording every missing or mistyped one in `fields`.
    ///
    /// # Errors
    ///
    /// 422 `validation_failed` listing every bad field (see [`Fields::finish`]).
    fn from_fields(fields: Fields) -> Result<Self, AuthError>;
}

/// Turns a body — its `Content-Type` and bytes — into a typed request, with the contract's
/// answers for everything that can be wrong: 415 for a type the endpoint does not take, 400
/// for bytes that are not JSON (or form data), 422 naming every missing or mistyped field.
///
/// ```
/// use auth_core::api::{Credentials, decode};
///
/// let login: Credentials = decode(
///     Some("application/x-www-form-urlencoded"),
///     b"grant_type=password&username=alice%40example.com&password=s3cret",
/// )
/// .unwrap();
/// assert_eq!(login.email, "alice@example.com");
/// ```
///
/// # Errors
///
/// The problem to answer with.
#[expect(
    clippy::result_large_err,
    reason = "a problem is built at most once per failed request; boxing it buys nothing"
)]
pub fn decode<T: FromBody>(content_type: Option<&str>, bytes: &[u8]) -> Result<T, Problem> {
    let format = body_format(content_type, T::ACCEPTS)?;
    let fields = Fields::decode(format, bytes)?;
    Ok(T::from_fields(fields)?)
}

/// `POST /register`: `{email, username, password}`. Privileged fields in the body are
/// ignored (ASVS 5.0 15.3.3).
impl FromBody for NewUser {
    const ACCEPTS: Accepts = Accepts::Json;

    fn from_fields(mut fields: Fields) -> Result<Self, AuthError> {
        let email = fields.required_string("email");
        let username = fields.required_string("username");
        let password = fields.required_string("password");
        fields.finish(Self {
            email,
            username,
            password: password.into(),
        })
    }
}

/// `POST /login`: JSON `{email, password}` or the OAuth 2.0 password grant form
/// (`grant_type=password&username=EMAIL&password=…`, RFC 6749 §4.3).
#[derive(Debug)]
pub struct Credentials {
    /// The email as typed.
    pub email: String,
    /// The password as typed.
    pub password: SecretString,
}

impl FromBody for Credentials {
    const ACCEPTS: Accepts = Accepts::JsonOrForm;

    fn from_fields(mut fields: Fields) -> Result<Self, AuthError> {
        let email = match fields.format() {
            BodyFormat::Json => fields.required_string("email"),
            BodyFormat::Form => {
                check_grant(&mut fields, "password");
                fields.required_string("username")
            }
        };
        let password = fields.required_string("password");
        fields.finish(Self {
            email,
            password: password.into(),
        })
    }
}

/// `POST /refresh`: JSON `{refresh_token}` or the OAuth 2.0 refresh form
/// (`grant_type=refresh_token&refresh_token=…`, RFC 6749 §6).
#[derive(Debug)]
pub struct RefreshRequest {
    /// The refresh token.
    pub refresh_token: String,
}

impl FromBody for RefreshRequest {
    const ACCEPTS: Accepts = Accepts::JsonOrForm;

    fn from_fields(mut fields: Fields) -> Result<Self, AuthError> {
        if fields.format() == BodyFormat::Form {
            check_grant(&mut fields, "refresh_token");
        }
        let refresh_token = fields.required_string("refresh_token");
        fields.finish(Self { refresh_token })
    }
}

fn check_grant(fields: &mut Fields, expected: &'static str) {
    match fields.string("grant_type") {
        Some(grant) if grant == expected => {}
        Some(_) => fields.reject(FieldError::new(
            "grant_type",
            "unsupported_grant_type",
            format!("grant_type must be {expected}"),
        )),
        None => fields.reject(FieldError::new(
            "grant_type",
            "required",
            "this field is required",
        )),
    }
}

/// `POST /logout`: `{refresh_token}`.
#[derive(Debug)]
pub struct LogoutRequest {
    /// The refresh token whose session ends.
    pub refresh_token: String,
}

impl FromBody for LogoutRequest {
    const ACCEPTS: Accepts = Accepts::Json;

    fn from_fields(mut fields: Fields) -> Result<Self, AuthError> {
        let refresh_token = fields.required_string("refresh_token");
        fields.finish(Self { refresh_token })
    }
}

/// `POST /password-reset-request` and `POST /verify-email-request`: `{email}`.
#[derive(Debug)]
pub struct EmailRequest {
    /// The email as typed.
    pub email: String,
}

impl FromBody for EmailRequest {
    const ACCEPTS: Accepts = Accepts::Json;

    fn from_fields(mut fields: Fields) -> Result<Self, AuthError> {
        let email = fields.required_string("email");
        fields.finish(Self { email })
    }
}

/// `POST /password-reset`: `{token, new_password}`.
#[derive(Debug)]
pub struct PasswordResetRequest {
    /// The reset token from the email.
    pub token: String,
    /// The new password as typed.
    pub new_password: SecretString,
}

impl FromBody for PasswordResetRequest {
    const ACCEPTS: Accepts = Accepts::Json;

    fn from_fields(mut fields: Fields) -> Result<Self, AuthError> {
        let token = fields.required_string("token");
        let new_password = fields.required_string("new_password");
        fields.finish(Self {
            token,
            new_password: new_password.into(),
        })
    }
}

/// `POST /verify-email`: `{token}`.
#[derive(Debug)]
pub struct VerifyEmailRequest {
    /// The verification token from the email.
    pub token: String,
}

impl FromBody for VerifyEmailRequest {
    const ACCEPTS: Accepts = Accepts::Json;

    fn from_fields(mut fields: Fields) -> Result<Self, AuthError> {
        let token = fields.required_string("token");
        fields.finish(Self { token })
    }
}

/// `POST /change-password`: `{current_password, new_password}`.
#[derive(Debug)]
pub struct ChangePasswordRequest {
    /// The current password, as typed.
    pub current_password: SecretString,
    /// The new password, as typed.
    pub new_password: SecretString,
}

impl FromBody for ChangePasswordRequest {
    const ACCEPTS: Accepts = Accepts::Json;

    fn from_fields(mut fields: Fields) -> Result<Self, AuthError> {
        let current = fields.required_string("current_password");
        let new = fields.required_string("new_password");
        fields.finish(Self {
            current_password: current.into(),
            new_password: new.into(),
        })
    }
}

/// `POST /login/mfa`: `{mfa_token, code}`.
#[derive(Debug)]
pub struct LoginMfaRequest {
    /// The MFA token of the `mfa_required` answer.
    pub mfa_token: SecretString,
    /// A TOTP code or a recovery code.
    pub code: SecretString,
}

impl FromBody for LoginMfaRequest {
    const ACCEPTS: Accepts = Accepts::Json;

    fn from_fields(mut fields: Fields) -> Result<Self, AuthError> {
        let mfa_token = fields.required_string("mfa_token");
        let code = fields.required_string("code");
        fields.finish(Self {
            mfa_token: mfa_token.into(),
            code: code.into(),
        })
    }
}

/// `POST /mfa/totp/confirm`: `{code}`.
#[derive(Debug)]
pub struct MfaCodeRequest {
    /// The authenticator app's current code.
    pub code: SecretString,
}

impl FromBody for MfaCodeRequest {
    const ACCEPTS: Accepts = Accepts::Json;

    fn from_fields(mut fields: Fields) -> Result<Self, AuthError> {
        let code = fields.required_string("code");
        fields.finish(Self { code: code.into() })
    }
}

/// `POST /mfa/totp/disable` and `POST /mfa/recovery-codes`: `{password, code}`.
#[derive(Debug)]
pub struct PasswordAndCodeRequest {
    /// The account's password.
    pub password: SecretString,
    /// A TOTP code or a recovery code.
    pub code: SecretString,
}

impl FromBody for PasswordAndCodeRequest {
    const ACCEPTS: Accepts = Accepts::Json;

    fn from_fields(mut fields: Fields) -> Result<Self, AuthError> {
        let password = fields.required_string("password");
        let code = fields.required_string("code");
        fields.finish(Self {
            password: password.into(),
            code: code.into(),
        })
    }
}

/// `PATCH /me`: `{username?, user_settings?}`.
impl FromBody for ProfileUpdate {
    const ACCEPTS: Accepts = Accepts::Json;

    fn from_fields(mut fields: Fields) -> Result<Self, AuthError> {
        let username = fields.string("username");
        let user_settings = fields.object("user_settings");
        fields.finish(Self {
            username,
            user_settings,
        })
    }
}

/// `PUT /admin/users/{id}/roles`: `{roles: [..]}`.
#[derive(Debug)]
pub struct RolesRequest {
    /// The new roles, replacing the old ones.
    pub roles: Vec<String>,
}

impl FromBody for RolesRequest {
    const ACCEPTS: Accepts = Accepts::Json;

    fn from_fields(mut fields: Fields) -> Result<Self, AuthError> {
        let roles = fields.required_strings("roles");
        fields.finish(Self { roles })
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
        let mut out = Self::default();
        each_query_param(query, |key, value, errors| match key {
            "limit" => out.limit = non_negative("limit", value, errors),
            "offset" => out.offset = non_negative("offset", value, errors),
            _ => {}
        })?;
        Ok(out)
    }
}

/// Calls `each` with every parameter of a raw query string (without `?`), in order, and the
/// list its complaints go to; every complaint is reported in one 422 `validation_failed`.
/// A query that does not decode has no parameters.
pub(super) fn each_query_param(
    query: Option<&str>,
    mut each: impl FnMut(&str, &str, &mut Vec<FieldError>),
) -> Result<(), AuthError> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query.unwrap_or("")).unwrap_or_default();
    let mut errors = Vec::new();
    for (key, value) in &pairs {
        each(key, value, &mut errors);
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AuthError::Validation(errors))
    }
}

/// A query parameter that must be a non-negative integer of type `T`; `None` and a complaint
/// about `field` when it is not.
pub(super) fn non_negative<T: std::str::FromStr>(
    field: &'static str,
    value: &str,
    errors: &mut Vec<FieldError>,
) -> Option<T> {
    let parsed = value.parse().ok();
    if parsed.is_none() {
        errors.push(FieldError::new(
            field,
            "invalid",
            "must be a non-negative integer",
        ));
    }
    parsed
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

    const JSON: Option<&str> = Some("application/json");
    const FORM: Option<&str> = Some("application/x-www-form-urlencoded");

    #[test]
    fn every_missing_field_is_listed() {
        let Err(problem) = decode::<NewUser>(JSON, b"{}") else {
            panic!("missing fields accepted");
        };
        let fields: Vec<_> = problem.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["email", "username", "password"]);
    }

    #[test]
    fn privileged_fields_in_a_registration_body_are_ignored() {
        let new_user: NewUser = decode(
            JSON,
            br#"{"email":"a@example.com","username":"a","password":"p","roles":["admin"],"is_verified":true}"#,
        )
        .unwrap();
        assert_eq!(new_user.email, "a@example.com");
    }

    #[test]
    fn a_registration_written_as_an_array_is_refused() {
        let problem = decode::<NewUser>(JSON, br#"["a@b.co", "alice", "Passw0rd!"]"#).unwrap_err();
        assert_eq!((problem.status, problem.code), (422, "validation_failed"));
    }

    #[test]
    fn oauth_forms_need_the_right_grant() {
        let login: Credentials = decode(
            FORM,
            b"grant_type=password&username=a%40example.com&password=p%26q",
        )
        .unwrap();
        assert_eq!(login.email, "a@example.com");
        let wrong = decode::<RefreshRequest>(FORM, b"grant_type=password&refresh_token=x");
        assert_eq!(wrong.unwrap_err().errors[0].code, "unsupported_grant_type");
        assert_eq!(
            decode::<LogoutRequest>(FORM, b"refresh_token=x")
                .unwrap_err()
                .status,
            415
        );
    }

    #[test]
    fn roles_must_be_strings() {
        let problem = decode::<RolesRequest>(JSON, br#"{"roles": ["a", 1]}"#).unwrap_err();
        assert_eq!(problem.errors[0].field, "roles");
        assert_eq!(problem.errors[0].code, "invalid_type");
        assert_eq!(
            decode::<RolesRequest>(JSON, br#"{"roles": ["a"]}"#)
                .unwrap()
                .roles,
            ["a"]
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
