//! Errors: what the service answers ([`AuthError`]), what stores report ([`StoreError`]),
//! and what configuration rejects ([`ConfigError`]).

use serde::Serialize;

use crate::email::EmailError;
use crate::policy::PolicyViolation;

/// The second step a login waits for: the short-lived, single-use MFA token to send back
/// with a code. Its `Debug` hides the token.
#[derive(Clone, PartialEq, Eq)]
pub struct MfaChallenge {
    token: String,
    expires_in: i64,
}

impl MfaChallenge {
    pub(crate) fn new(token: String, expires_in: i64) -> Self {
        Self { token, expires_in }
    }

    /// The MFA token (a JWT of its own type and audience, accepted nowhere else).
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Seconds until the token expires.
    pub fn expires_in(&self) -> i64 {
        self.expires_in
    }
}

impl std::fmt::Debug for MfaChallenge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MfaChallenge")
            .field("token", &"[redacted]")
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// A boxed error source, kept for logs and never shown to clients.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything a use case of [`AuthService`](crate::AuthService) can answer.
///
/// Adapters turn an `AuthError` into an HTTP response with [`status`](Self::status) and
/// [`code`](Self::code) alone, plus [`field_errors`](Self::field_errors) for the `errors`
/// array of a validation problem. The `Display` text of every variant is safe to show to a
/// client: sources of [`Unavailable`](Self::Unavailable) are reachable only through
/// [`std::error::Error::source`], for logs.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The email is unknown or the password is wrong; the two are indistinguishable.
    #[error("invalid email or password")]
    InvalidCredentials,
    /// Registration with an email that already has an account.
    #[error("a user with this email already exists")]
    UserAlreadyExists,
    /// An admin operation named a user that does not exist.
    #[error("user not found")]
    UserNotFound,
    /// A request needed a bearer token and carried none.
    #[error("authentication required")]
    MissingToken,
    /// A token is malformed, unknown, forged, of the wrong type, or already used.
    #[error("invalid token")]
    InvalidToken,
    /// A token was genuine but its lifetime is over.
    #[error("token has expired")]
    ExpiredToken,
    /// A refresh token was revoked (logout, password change, reuse detection).
    #[error("token has been revoked")]
    RevokedToken,
    /// The password was right but the email address is not verified yet.
    #[error("email address is not verified")]
    EmailNotVerified,
    /// The password was right but the account is deactivated.
    #[error("account is disabled")]
    AccountDisabled,
    /// The caller is authenticated but lacks the required role.
    #[error("insufficient permissions")]
    Forbidden,
    /// The new password fails the password policy; every failed rule is listed.
    #[error("password does not meet the password policy")]
    WeakPassword(Vec<PolicyViolation>),
    /// The email address is not a plausible address.
    #[error("invalid email address")]
    InvalidEmail,
    /// A well-formed request failed validation; every failed field is listed.
    #[error("request validation failed")]
    Validation(Vec<FieldError>),
    /// A session id names no session of the caller (unknown, or another user's: the two
    /// are indistinguishable).
    #[error("session not found")]
    SessionNotFound,
    /// Too many attempts (the account's login throttle, a client's rate limit, an email
    /// cooldown answered as such); retry after the given seconds.
    #[error("too many requests, retry later")]
    TooManyRequests {
        /// Seconds until a retry can succeed (at least 1).
        retry_after: u64,
    },
    /// The password was right and the account has a second factor: finish the login with
    /// [`AuthService::login_mfa`](crate::AuthService::login_mfa) and the challenge's token.
    #[error("a second factor is required: send a code with the mfa_token")]
    MfaRequired(MfaChallenge),
    /// A TOTP or recovery code is wrong, already used, or too old.
    #[error("invalid authentication code")]
    InvalidMfaCode,
    /// A TOTP setup was asked for while a confirmed one exists (disable it first).
    #[error("a second factor is already enabled")]
    MfaAlreadyEnabled,
    /// A TOTP confirmation came with no pending setup (none began, or it expired after
    /// 10 minutes).
    #[error("no TOTP setup is pending: start one with the setup endpoint")]
    MfaSetupRequired,
    /// A second-factor change needs a confirmed second factor, and there is none.
    #[error("no second factor is enabled")]
    MfaNotEnabled,
    /// Too many password-hashing jobs are already waiting; retry shortly.
    #[error("service is busy, retry shortly")]
    Overloaded,
    /// The store (or another dependency) failed; the source is for logs only.
    #[error("service temporarily unavailable")]
    Unavailable(#[source] BoxError),
    /// A cookie-authenticated request failed the CSRF check (its `X-CSRF-Token` header or
    /// its `Origin`); nothing was used up.
    #[error("the request failed the CSRF check")]
    CsrfFailed,
}

impl AuthError {
    /// The HTTP status code of this error (docs/http-contract.md, Every error code).
    pub fn status(&self) -> u16 {
        match self {
            Self::InvalidCredentials
            | Self::MfaRequired(_)
            | Self::InvalidMfaCode
            | Self::MissingToken
            | Self::InvalidToken
            | Self::ExpiredToken
            | Self::RevokedToken => 401,
            Self::EmailNotVerified | Self::AccountDisabled | Self::Forbidden => 403,
            Self::CsrfFailed => 403,
            Self::UserNotFound | Self::SessionNotFound => 404,
            Self::UserAlreadyExists
            | Self::MfaAlreadyEnabled
            | Self::MfaSetupRequired
            | Self::MfaNotEnabled => 409,
            Self::WeakPassword(_) | Self::InvalidEmail | Self::Validation(_) => 422,
            Self::TooManyRequests { .. } => 429,
            Self::Overloaded | Self::Unavailable(_) => 503,
        }
    }

    /// The machine-readable error code of this error (docs/http-contract.md, Every error code).
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidCredentials => "invalid_credentials",
            Self::UserAlreadyExists => "user_already_exists",
            Self::UserNotFound => "user_not_found",
            Self::SessionNotFound => "session_not_found",
            Self::TooManyRequests { .. } => "too_many_requests",
            Self::MfaRequired(_) => "mfa_required",
            Self::InvalidMfaCode => "invalid_mfa_code",
            Self::MfaAlreadyEnabled => "mfa_already_enabled",
            Self::MfaSetupRequired => "mfa_setup_required",
            Self::MfaNotEnabled => "mfa_not_enabled",
            Self::MissingToken => "missing_token",
            Self::InvalidToken => "invalid_token",
            Self::ExpiredToken => "expired_token",
            Self::RevokedToken => "revoked_token",
            Self::EmailNotVerified => "email_not_verified",
            Self::AccountDisabled => "account_disabled",
            Self::Forbidden => "forbidden",
            Self::WeakPassword(_) => "weak_password",
            Self::InvalidEmail => "invalid_email",
            Self::Validation(_) => "validation_failed",
            Self::Overloaded | Self::Unavailable(_) => "service_unavailable",
            Self::CsrfFailed => "csrf_failed",
        }
    }

    /// Per-field details for the `errors` array of a 422 problem document; empty otherwise.
    pub fn field_errors(&self) -> Vec<FieldError> {
        match self {
            Self::WeakPassword(violations) => violations
                .iter()
                .map(|v| FieldError::new("password", v.code(), v.message()))
                .collect(),
            Self::InvalidEmail => vec![FieldError::new(
                "email",
                "invalid_email",
                "must be a valid email address",
            )],
            Self::Validation(errors) => errors.clone(),
            _ => Vec::new(),
        }
    }

    /// Seconds a client should wait before retrying (`Retry-After`), for 429 and 503
    /// answers.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::TooManyRequests { retry_after } => Some((*retry_after).max(1)),
            Self::Overloaded => Some(1),
            Self::Unavailable(_) => Some(5),
            _ => None,
        }
    }

    /// Whether a bearer token was presented and refused: 401 answers then say
    /// `WWW-Authenticate: Bearer error="invalid_token"` (RFC 6750 §3.1).
    pub fn is_bearer_token_error(&self) -> bool {
        matches!(
            self,
            Self::InvalidToken | Self::ExpiredToken | Self::RevokedToken
        )
    }

    /// Whether this error hides an internal failure that operators should see in logs.
    pub fn is_internal(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

impl From<StoreError> for AuthError {
    fn from(error: StoreError) -> Self {
        Self::Unavailable(Box::new(error))
    }
}

/// One failed field of a validation error, serialised into the problem document's `errors`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The request field, e.g. `password`.
    pub field: String,
    /// A machine-readable code, e.g. `missing_uppercase`.
    pub code: String,
    /// Human-readable text.
    pub message: String,
}

impl FieldError {
    /// A field error from its three parts.
    pub fn new(
        field: impl Into<String>,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            field: field.into(),
            code: code.into(),
            message: message.into(),
        }
    }
}

/// What a store reports. Implementations map their driver's errors into these variants.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A unique constraint refused the write (duplicate email, duplicate token hash).
    /// Stores must detect this with the database's own constraint, never check-then-insert.
    #[error("a record with the same unique key already exists")]
    Conflict,
    /// The backend could not be reached or failed; the source says why.
    #[error("storage backend failed")]
    Unavailable(#[source] BoxError),
    /// A stored record could not be decoded into the domain type.
    #[error("stored record is corrupt")]
    Corrupt(#[source] BoxError),
}

impl StoreError {
    /// Wraps any backend error as [`StoreError::Unavailable`].
    pub fn unavailable(source: impl Into<BoxError>) -> Self {
        Self::Unavailable(source.into())
    }

    /// Wraps a decoding failure as [`StoreError::Corrupt`].
    pub fn corrupt(source: impl Into<BoxError>) -> Self {
        Self::Corrupt(source.into())
    }
}

/// Invalid configuration, reported when the service is built or read from the environment.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The JWT secret is shorter than the algorithm's hash output (RFC 7518 §3.2).
    #[error("the JWT secret must be at least {min} bytes long (got {actual})")]
    JwtSecretTooShort {
        /// Bytes required.
        min: usize,
        /// Bytes given.
        actual: usize,
    },
    /// The JWT secret is long enough but guessable (an example, a repeated pattern, a
    /// phrase): every token could be forged offline (RFC 8725 §3.5).
    #[error(
        "the JWT secret is guessable ({reason}): use 32 or more random bytes, e.g. the output of `openssl rand -base64 48`"
    )]
    WeakJwtSecret {
        /// What makes it guessable.
        reason: &'static str,
    },
    /// An environment variable holds a value that cannot be used.
    #[error("environment variable {name} is invalid: {reason}")]
    InvalidVar {
        /// The variable's name.
        name: &'static str,
        /// Why it was refused.
        reason: String,
    },
    /// A configuration value is out of its allowed range.
    #[error("invalid configuration: {0}")]
    Invalid(String),
    /// A JWT signing or verification key was refused: `origin` names where it came from
    /// (the variable and the file, or the key's `kid`), never its material.
    #[error("{origin}: {source}")]
    JwtKey {
        /// Where the key came from, e.g. `MYAUTH_JWT_PRIVATE_KEY_FILE (/etc/myauth/key.pem)`.
        origin: String,
        /// Why it was refused.
        #[source]
        source: crate::jwt::KeyError,
    },
    /// The service builder was not given a store.
    #[error("the auth service needs a store: call AuthServiceBuilder::store")]
    MissingStore,
}

impl From<EmailError> for AuthError {
    fn from(error: EmailError) -> Self {
        Self::Unavailable(Box::new(error))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_has_the_contract_status_and_code() {
        let cases: Vec<(AuthError, u16, &str)> = vec![
            (AuthError::InvalidCredentials, 401, "invalid_credentials"),
            (AuthError::UserAlreadyExists, 409, "user_already_exists"),
            (AuthError::UserNotFound, 404, "user_not_found"),
            (AuthError::SessionNotFound, 404, "session_not_found"),
            (
                AuthError::TooManyRequests { retry_after: 3 },
                429,
                "too_many_requests",
            ),
            (AuthError::MissingToken, 401, "missing_token"),
            (AuthError::InvalidToken, 401, "invalid_token"),
            (AuthError::ExpiredToken, 401, "expired_token"),
            (AuthError::RevokedToken, 401, "revoked_token"),
            (AuthError::EmailNotVerified, 403, "email_not_verified"),
            (AuthError::AccountDisabled, 403, "account_disabled"),
            (AuthError::Forbidden, 403, "forbidden"),
            (AuthError::CsrfFailed, 403, "csrf_failed"),
            (AuthError::WeakPassword(vec![]), 422, "weak_password"),
            (AuthError::InvalidEmail, 422, "invalid_email"),
            (AuthError::Validation(vec![]), 422, "validation_failed"),
            (AuthError::Overloaded, 503, "service_unavailable"),
            (
                AuthError::Unavailable("db down".into()),
                503,
                "service_unavailable",
            ),
        ];
        for (error, status, code) in cases {
            assert_eq!(error.status(), status, "{error:?}");
            assert_eq!(error.code(), code, "{error:?}");
        }
    }

    #[test]
    fn unavailable_display_never_shows_its_source() {
        let error = AuthError::from(StoreError::unavailable(
            "password authentication failed for user postgres",
        ));
        assert_eq!(error.to_string(), "service temporarily unavailable");
        assert!(!format!("{error}").contains("postgres"));
        assert!(std::error::Error::source(&error).is_some());
    }

    #[test]
    fn weak_password_lists_every_violation_as_a_field_error() {
        let error = AuthError::WeakPassword(vec![
            PolicyViolation::MissingDigit,
            PolicyViolation::MissingUppercase,
        ]);
        let fields = error.field_errors();
        assert_eq!(fields.len(), 2);
        assert!(fields.iter().all(|f| f.field == "password"));
        assert_eq!(fields[0].code, "missing_digit");
        assert_eq!(fields[1].code, "missing_uppercase");
    }
}
