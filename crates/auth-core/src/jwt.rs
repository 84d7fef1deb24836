//! JWTs: the access token and the email-verification token.
//!
//! Each kind has its own header `typ`, its own audience and its own `token_use` claim, and
//! validation checks all three, so one kind is never accepted as the other (RFC 8725 §2.8,
//! §3.11, §3.12; ASVS 5.0 9.2.2). The algorithm is pinned by configuration, never read from
//! the token (RFC 8725 §3.1); `none` cannot pass. `iss`, `aud`, `exp` and `sub` are
//! required; `exp` and `nbf` are checked against the service's clock with the configured
//! leeway (5 s by default, not the library's 60 s).

use std::collections::HashSet;
use std::fmt;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::config::{AuthConfig, JwtAlgorithm};
use crate::error::{AuthError, ConfigError};
use crate::user::{User, UserId};

/// Header `typ` of access tokens (RFC 9068 §2.1).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";
/// Header `typ` of email-verification tokens.
pub const VERIFY_TOKEN_TYP: &str = "verify-email+jwt";
/// `token_use` claim of access tokens.
pub(crate) const ACCESS_TOKEN_USE: &str = "access";
/// `token_use` claim of email-verification tokens.
pub(crate) const VERIFY_TOKEN_USE: &str = "verify_email";
/// Longest string accepted as a JWT; longer ones are refused unparsed.
pub const MAX_JWT_LEN: usize = 8 * 1024;

/// The verified claims of an access token: who the caller is and what roles they had when
/// the token was issued. Obtained from [`AuthService::authenticate`](crate::AuthService::authenticate).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: UserId,
    /// Roles at issue time.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Expires at (Unix seconds).
    pub exp: i64,
    /// Not before (Unix seconds), if present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// Unique token id.
    pub jti: Uuid,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// Always `access`.
    pub token_use: String,
}

impl Claims {
    /// Whether the token carries `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    /// The user id.
    pub fn user_id(&self) -> UserId {
        self.sub
    }
}

/// Claims of an email-verification token, bound to the address it was issued for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct VerificationClaims {
    pub(crate) sub: UserId,
    pub(crate) email: String,
    pub(crate) iat: i64,
    pub(crate) exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) nbf: Option<i64>,
    pub(crate) jti: Uuid,
    pub(crate) iss: String,
    pub(crate) aud: String,
    pub(crate) token_use: String,
}

trait TimedClaims {
    fn exp(&self) -> i64;
    fn nbf(&self) -> Option<i64>;
    fn token_use(&self) -> &str;
}

impl TimedClaims for Claims {
    fn exp(&self) -> i64 {
        self.exp
    }
    fn nbf(&self) -> Option<i64> {
        self.nbf
    }
    fn token_use(&self) -> &str {
        &self.token_use
    }
}

impl TimedClaims for VerificationClaims {
    fn exp(&self) -> i64 {
        self.exp
    }
    fn nbf(&self) -> Option<i64> {
        self.nbf
    }
    fn token_use(&self) -> &str {
        &self.token_use
    }
}

/// Signing and validation keys with the rules of both token kinds.
pub(crate) struct JwtKeys {
    algorithm: Algorithm,
    encoding: EncodingKey,
    decoding: DecodingKey,
    issuer: String,
    access_audience: String,
    verify_audience: String,
    leeway: i64,
    access_validation: Validation,
    verify_validation: Validation,
}

/// The library-side checks of one token kind, built once: signature with the pinned
/// algorithm, `exp`/`iss`/`aud`/`sub` present, `iss` and `aud` as configured. Time is
/// checked by our own code against the service's clock.
fn validation(algorithm: Algorithm, issuer: &str, audience: &str) -> Validation {
    let mut validation = Validation::new(algorithm);
    validation.algorithms = vec![algorithm];
    validation.required_spec_claims = ["exp", "iss", "aud", "sub"]
        .into_iter()
        .map(str::to_owned)
        .collect::<HashSet<_>>();
    validation.set_audience(&[audience]);
    validation.set_issuer(&[issuer]);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.leeway = 0;
    validation
}

impl fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtKeys")
            .field("algorithm", &self.algorithm)
            .field("keys", &"[redacted]")
            .field("issuer", &self.issuer)
            .field("access_audience", &self.access_audience)
            .field("verify_audience", &self.verify_audience)
            .field("leeway", &self.leeway)
            .finish()
    }
}

impl JwtKeys {
    pub(crate) fn new(config: &AuthConfig) -> Result<Self, ConfigError> {
        let secret = config.jwt_secret().expose_secret().as_bytes();
        let min = config.jwt_algorithm().min_secret_len();
        if secret.len() < min {
            return Err(ConfigError::JwtSecretTooShort {
                min,
                actual: secret.len(),
            });
        }
        let algorithm = match config.jwt_algorithm() {
            JwtAlgorithm::Hs256 => Algorithm::HS256,
            JwtAlgorithm::Hs384 => Algorithm::HS384,
            JwtAlgorithm::Hs512 => Algorithm::HS512,
        };
        let key_error = |e: jsonwebtoken::errors::Error| {
            ConfigError::Invalid(format!("unusable JWT secret: {e}"))
        };
        let verify_audience = format!("{}:verify-email", config.audience());
        Ok(Self {
            algorithm,
            encoding: EncodingKey::from_secret(secret).map_err(key_error)?,
            decoding: DecodingKey::from_secret(secret).map_err(key_error)?,
            access_validation: validation(algorithm, config.issuer(), config.audience()),
            verify_validation: validation(algorithm, config.issuer(), &verify_audience),
            issuer: config.issuer().to_owned(),
            access_audience: config.audience().to_owned(),
            verify_audience,
            leeway: config.jwt_leeway().whole_seconds(),
        })
    }

    pub(crate) fn issue_access(
        &self,
        user: &User,
        now: OffsetDateTime,
        ttl: Duration,
    ) -> Result<String, AuthError> {
        let claims = Claims {
            sub: user.id,
            roles: user.roles.clone(),
            iat: now.unix_timestamp(),
            exp: (now + ttl).unix_timestamp(),
            nbf: None,
            jti: Uuid::now_v7(),
            iss: self.issuer.clone(),
            aud: self.access_audience.clone(),
            token_use: ACCESS_TOKEN_USE.to_owned(),
        };
        self.sign(ACCESS_TOKEN_TYP, &claims)
    }

    pub(crate) fn issue_verification(
        &self,
        user: &User,
        now: OffsetDateTime,
        ttl: Duration,
    ) -> Result<String, AuthError> {
        let claims = VerificationClaims {
            sub: user.id,
            email: user.email.clone(),
            iat: now.unix_timestamp(),
            exp: (now + ttl).unix_timestamp(),
            nbf: None,
            jti: Uuid::now_v7(),
            iss: self.issuer.clone(),
            aud: self.verify_audience.clone(),
            token_use: VERIFY_TOKEN_USE.to_owned(),
        };
        self.sign(VERIFY_TOKEN_TYP, &claims)
    }

    pub(crate) fn verify_access(
        &self,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<Claims, AuthError> {
        self.verify(
            token,
            now,
            ACCESS_TOKEN_TYP,
            &self.access_validation,
            ACCESS_TOKEN_USE,
        )
    }

    pub(crate) fn verify_verification(
        &self,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<VerificationClaims, AuthError> {
        self.verify(
            token,
            now,
            VERIFY_TOKEN_TYP,
            &self.verify_validation,
            VERIFY_TOKEN_USE,
        )
    }

    fn sign<T: Serialize>(&self, typ: &str, claims: &T) -> Result<String, AuthError> {
        let mut header = Header::new(self.algorithm);
        header.typ = Some(typ.to_owned());
        jsonwebtoken::encode(&header, claims, &self.encoding)
            .map_err(|e| AuthError::Unavailable(Box::new(e)))
    }

    fn verify<T: DeserializeOwned + TimedClaims>(
        &self,
        token: &str,
        now: OffsetDateTime,
        typ: &str,
        validation: &Validation,
        token_use: &str,
    ) -> Result<T, AuthError> {
        if token.is_empty() || token.len() > MAX_JWT_LEN {
            return Err(AuthError::InvalidToken);
        }
        let data = jsonwebtoken::decode::<T>(token, &self.decoding, validation)
            .map_err(|_| AuthError::InvalidToken)?;
        let typ_ok = data
            .header
            .typ
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case(typ));
        if !typ_ok || data.header.crit.is_some() || data.claims.token_use() != token_use {
            return Err(AuthError::InvalidToken);
        }
        let now = now.unix_timestamp();
        if let Some(nbf) = data.claims.nbf()
            && now + self.leeway < nbf
        {
            return Err(AuthError::InvalidToken);
        }
        if now >= data.claims.exp() + self.leeway {
            return Err(AuthError::ExpiredToken);
        }
        Ok(data.claims)
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;
    use crate::user::{HashedPassword, UserSettings};

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn keys() -> JwtKeys {
        JwtKeys::new(&AuthConfig::new(SECRET)).unwrap()
    }

    fn user() -> User {
        User {
            id: UserId::new(),
            email: "alice@example.com".into(),
            username: "alice".into(),
            password_hash: HashedPassword::new("x"),
            roles: vec!["admin".into()],
            user_settings: UserSettings::new(),
            is_verified: true,
            is_active: true,
            created_at: OffsetDateTime::UNIX_EPOCH,
            updated_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    fn now() -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    #[test]
    fn access_token_round_trips_with_its_claims() {
        let keys = keys();
        let user = user();
        let t = now();
        let token = keys.issue_access(&user, t, Duration::minutes(30)).unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
        assert_eq!(header.alg, Algorithm::HS256);
        let claims = keys.verify_access(&token, t).unwrap();
        assert_eq!(claims.sub, user.id);
        assert_eq!(claims.roles, vec!["admin".to_owned()]);
        assert_eq!(claims.iss, "myauth");
        assert_eq!(claims.aud, "myauth");
        assert_eq!(claims.exp - claims.iat, 1800);
    }

    #[test]
    fn verification_and_access_tokens_are_mutually_rejected() {
        let keys = keys();
        let user = user();
        let t = now();
        let access = keys.issue_access(&user, t, Duration::minutes(30)).unwrap();
        let verify = keys
            .issue_verification(&user, t, Duration::hours(24))
            .unwrap();
        assert!(matches!(
            keys.verify_access(&verify, t),
            Err(AuthError::InvalidToken)
        ));
        assert!(matches!(
            keys.verify_verification(&access, t),
            Err(AuthError::InvalidToken)
        ));
        assert_eq!(
            keys.verify_verification(&verify, t).unwrap().email,
            "alice@example.com"
        );
    }

    #[test]
    fn right_typ_but_wrong_audience_or_use_is_rejected() {
        let keys = keys();
        let key = EncodingKey::from_secret(SECRET.as_bytes()).unwrap();
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some(ACCESS_TOKEN_TYP.into());
        let t = now().unix_timestamp();
        let base = serde_json::json!({
            "sub": UserId::new(), "iat": t, "exp": t + 60, "jti": Uuid::now_v7(),
            "iss": "myauth", "aud": "myauth", "token_use": "access", "roles": []
        });
        let ok = jsonwebtoken::encode(&header, &base, &key).unwrap();
        assert!(keys.verify_access(&ok, now()).is_ok());
        for (field, value) in [
            ("aud", serde_json::json!("myauth:verify-email")),
            ("iss", serde_json::json!("someone-else")),
            ("token_use", serde_json::json!("verify_email")),
        ] {
            let mut claims = base.clone();
            claims[field] = value;
            let token = jsonwebtoken::encode(&header, &claims, &key).unwrap();
            assert!(
                matches!(
                    keys.verify_access(&token, now()),
                    Err(AuthError::InvalidToken)
                ),
                "{field} not checked"
            );
        }
        for missing in ["exp", "iss", "aud", "sub"] {
            let mut claims = base.clone();
            claims.as_object_mut().unwrap().remove(missing);
            let token = jsonwebtoken::encode(&header, &claims, &key).unwrap();
            assert!(
                keys.verify_access(&token, now()).is_err(),
                "{missing} not required"
            );
        }
        let mut untyped = Header::new(Algorithm::HS256);
        untyped.typ = Some("JWT".into());
        let token = jsonwebtoken::encode(&untyped, &base, &key).unwrap();
        assert!(matches!(
            keys.verify_access(&token, now()),
            Err(AuthError::InvalidToken)
        ));
    }

    #[test]
    fn algorithm_is_pinned_and_none_is_impossible() {
        let keys = keys();
        let t = now().unix_timestamp();
        let claims = serde_json::json!({
            "sub": UserId::new(), "iat": t, "exp": t + 60, "jti": Uuid::now_v7(),
            "iss": "myauth", "aud": "myauth", "token_use": "access", "roles": ["admin"]
        });
        // alg: none (and case variants) with an empty signature.
        for alg in ["none", "None", "NONE", "nOnE"] {
            let header = serde_json::json!({"alg": alg, "typ": "at+jwt"});
            let token = format!(
                "{}.{}.",
                URL_SAFE_NO_PAD.encode(header.to_string()),
                URL_SAFE_NO_PAD.encode(claims.to_string())
            );
            assert!(
                matches!(
                    keys.verify_access(&token, now()),
                    Err(AuthError::InvalidToken)
                ),
                "{alg} accepted"
            );
        }
        // HS512 signed with the same secret: the header's algorithm is not trusted.
        let mut header = Header::new(Algorithm::HS512);
        header.typ = Some(ACCESS_TOKEN_TYP.into());
        let key = EncodingKey::from_secret(SECRET.as_bytes()).unwrap();
        let token = jsonwebtoken::encode(&header, &claims, &key).unwrap();
        assert!(matches!(
            keys.verify_access(&token, now()),
            Err(AuthError::InvalidToken)
        ));
    }

    #[test]
    fn other_secret_and_tampering_are_rejected() {
        let keys = keys();
        let other = JwtKeys::new(&AuthConfig::new("another secret of 32 bytes or more!!")).unwrap();
        let t = now();
        let token = other
            .issue_access(&user(), t, Duration::minutes(5))
            .unwrap();
        assert!(matches!(
            keys.verify_access(&token, t),
            Err(AuthError::InvalidToken)
        ));

        let token = keys.issue_access(&user(), t, Duration::minutes(5)).unwrap();
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let mut claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
        claims["roles"] = serde_json::json!(["admin", "superuser"]);
        parts[1] = URL_SAFE_NO_PAD.encode(claims.to_string());
        let tampered = parts.join(".");
        assert!(matches!(
            keys.verify_access(&tampered, t),
            Err(AuthError::InvalidToken)
        ));
        assert!(matches!(
            keys.verify_access("not.a.jwt", t),
            Err(AuthError::InvalidToken)
        ));
        assert!(matches!(
            keys.verify_access(&"a".repeat(MAX_JWT_LEN + 1), t),
            Err(AuthError::InvalidToken)
        ));
    }

    #[test]
    fn expiry_uses_the_given_clock_and_the_configured_leeway() {
        let keys = keys();
        let t = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        let token = keys
            .issue_access(&user(), t, Duration::minutes(30))
            .unwrap();
        let exp = t + Duration::minutes(30);
        assert!(
            keys.verify_access(&token, exp - Duration::seconds(1))
                .is_ok()
        );
        // Within the default 5 s leeway.
        assert!(
            keys.verify_access(&token, exp + Duration::seconds(4))
                .is_ok()
        );
        assert!(matches!(
            keys.verify_access(&token, exp + Duration::seconds(5)),
            Err(AuthError::ExpiredToken)
        ));

        let strict =
            JwtKeys::new(&AuthConfig::new(SECRET).with_jwt_leeway(Duration::ZERO)).unwrap();
        assert!(matches!(
            strict.verify_access(&token, exp),
            Err(AuthError::ExpiredToken)
        ));
    }

    #[test]
    fn not_before_is_honoured() {
        let keys = keys();
        let key = EncodingKey::from_secret(SECRET.as_bytes()).unwrap();
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some(ACCESS_TOKEN_TYP.into());
        let t = now().unix_timestamp();
        let claims = serde_json::json!({
            "sub": UserId::new(), "iat": t, "nbf": t + 600, "exp": t + 1200, "jti": Uuid::now_v7(),
            "iss": "myauth", "aud": "myauth", "token_use": "access"
        });
        let token = jsonwebtoken::encode(&header, &claims, &key).unwrap();
        assert!(matches!(
            keys.verify_access(&token, now()),
            Err(AuthError::InvalidToken)
        ));
        assert!(
            keys.verify_access(&token, now() + Duration::seconds(601))
                .is_ok()
        );
    }
}
