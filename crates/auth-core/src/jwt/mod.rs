//! JWTs: the access token and the email-verification token.
//!
//! Each kind has its own header `typ`, its own audience and its own `token_use` claim, and
//! validation checks all three, so one kind is never accepted as the other (RFC 8725 §2.8,
//! §3.11, §3.12; ASVS 5.0 9.2.2). The algorithm is pinned by configuration, never read from
//! the token (RFC 8725 §3.1); `none` cannot pass. `iss`, `aud`, `exp` and `sub` are
//! required; `exp` and `nbf` are checked against the service's clock with the configured
//! leeway (5 s by default, not the usual 60 s).
//!
//! Every token names its key with a `kid` header. The key set ([`JwtKey`]) has one signing
//! key — the JWT secret under an HMAC algorithm, a private key under EdDSA, ES256 or RS256
//! (feature `asymmetric`) — and any number of verification-only previous keys, so keys
//! rotate without logging anyone out. Each key serves exactly one algorithm: a secret the
//! configured HMAC algorithm, a PEM key its type's (RFC 8725 §3.1); a token whose `alg`
//! differs is refused whatever its signature, which closes the RS256/HS256 confusion
//! (CVE-2015-9235). A `kid` that names no key is refused; a token without `kid` (issued
//! before kids existed) is checked against the signing key.
//!
//! Signing and checking are the few steps of RFC 7515's compact serialization, done
//! directly (the `jsonwebtoken` crate checks our tokens, and makes the hostile ones, in the
//! tests). A token whose header is byte for byte one we issue — the usual case — is matched
//! to its key by that comparison alone, then its signature is checked (a MAC in constant
//! time) over the raw text, and only then are its claims parsed, once. Any other header
//! (another library's member order, a token from before kids) is parsed to learn its `kid`
//! and checked against the key it names before the signature; nothing in it is trusted: the
//! key comes from our set and the algorithm from the key. The keyed HMAC state is computed
//! once per service. This is the check in front of every protected request: ≈0.8 µs for
//! HS256 (benches/README.md).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use self::set::{KeySet, SetKey};
use crate::config::AuthConfig;
use crate::error::{AuthError, ConfigError};
use crate::user::{User, UserId};

#[cfg(feature = "asymmetric")]
mod asymmetric;
#[cfg(feature = "fuzzing")]
pub(crate) mod fuzzing;
#[cfg(feature = "asymmetric")]
mod generate;
mod key;
mod mac;
mod set;

#[cfg(feature = "asymmetric")]
pub use self::generate::{GenerateKeyError, RSA_KEY_BITS, generate_private_key_pem};
pub use self::key::{JwtKey, KeyError};

/// Header `typ` of access tokens (RFC 9068 §2.1).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";
/// Header `typ` of email-verification tokens.
pub const VERIFY_TOKEN_TYP: &str = "verify-email+jwt";
/// Header `typ` of the MFA tokens that carry a login from its password step to its second
/// step.
pub const MFA_TOKEN_TYP: &str = "mfa+jwt";
/// `token_use` claim of access tokens.
pub(crate) const ACCESS_TOKEN_USE: &str = "access";
/// `token_use` claim of email-verification tokens.
pub(crate) const VERIFY_TOKEN_USE: &str = "verify_email";
/// `token_use` claim of MFA tokens.
pub(crate) const MFA_TOKEN_USE: &str = "mfa";
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
    /// The session the token belongs to (absent in tokens from before sessions existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<Uuid>,
    /// The user's token version at issue: the token is stale once the user's is higher
    /// (0 in tokens from before versions existed).
    #[serde(default)]
    pub ver: i64,
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

/// Claims of an MFA token: a login whose password was right, waiting for its second step.
/// Bound to the account's session epoch when it was issued (a password change or reset in
/// between voids it) and used at most once (its `jti` is spent by the service).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct MfaClaims {
    pub(crate) sub: UserId,
    pub(crate) ver: i64,
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
    fn iat(&self) -> i64;
    fn exp(&self) -> i64;
    fn nbf(&self) -> Option<i64>;
    fn iss(&self) -> &str;
    fn aud(&self) -> &str;
    fn token_use(&self) -> &str;
}

/// The claims every token kind shares, read the same way for each.
macro_rules! timed_claims {
    ($($claims:ty),+) => {$(
        impl TimedClaims for $claims {
            fn iat(&self) -> i64 {
                self.iat
            }
            fn exp(&self) -> i64 {
                self.exp
            }
            fn nbf(&self) -> Option<i64> {
                self.nbf
            }
            fn iss(&self) -> &str {
                &self.iss
            }
            fn aud(&self) -> &str {
                &self.aud
            }
            fn token_use(&self) -> &str {
                &self.token_use
            }
        }
    )+};
}

timed_claims!(Claims, VerificationClaims, MfaClaims);

/// Any failure to read a token: one answer, whatever went wrong (no oracle).
fn invalid<E>(_: E) -> AuthError {
    AuthError::InvalidToken
}

/// Encoded claims up to this length are decoded without a heap allocation; a token with a
/// dozen roles fits.
const SMALL_PAYLOAD: usize = 1024;

/// What one token kind must carry: its header `typ`, audience and `token_use`.
struct Kind {
    /// Its place in [`set::KIND_TYPS`] and in each key's headers.
    index: usize,
    typ: &'static str,
    audience: String,
    token_use: &'static str,
}

/// The members of a JOSE header that matter here (RFC 7515 §4.1). `crit` in any form —
/// even `null` — is refused: no extension is understood.
#[derive(Deserialize)]
struct JoseHeader {
    alg: String,
    typ: Option<String>,
    kid: Option<String>,
    #[serde(default, deserialize_with = "present")]
    crit: bool,
}

/// `true` whenever the member is there, whatever its value.
fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    IgnoredAny::deserialize(deserializer).map(|_| true)
}

/// Signing and validation keys with the rules of both token kinds.
pub(crate) struct JwtKeys {
    keys: KeySet,
    issuer: String,
    leeway: i64,
    access: Kind,
    verification: Kind,
    mfa: Kind,
}

impl fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtKeys")
            .field("algorithm", &self.keys.signing().algorithm)
            .field("kids", &self.keys.kids().collect::<Vec<_>>())
            .field("issuer", &self.issuer)
            .field("access_audience", &self.access.audience)
            .field("verify_audience", &self.verification.audience)
            .field("leeway", &self.leeway)
            .finish()
    }
}

impl JwtKeys {
    pub(crate) fn new(config: &AuthConfig) -> Result<Self, ConfigError> {
        Ok(Self {
            keys: KeySet::new(config)?,
            issuer: config.issuer().to_owned(),
            leeway: config.jwt_leeway().whole_seconds(),
            access: Kind {
                index: 0,
                typ: ACCESS_TOKEN_TYP,
                audience: config.audience().to_owned(),
                token_use: ACCESS_TOKEN_USE,
            },
            verification: Kind {
                index: 1,
                typ: VERIFY_TOKEN_TYP,
                audience: format!("{}:verify-email", config.audience()),
                token_use: VERIFY_TOKEN_USE,
            },
            mfa: Kind {
                index: 2,
                typ: MFA_TOKEN_TYP,
                audience: format!("{}:mfa", config.audience()),
                token_use: MFA_TOKEN_USE,
            },
        })
    }

    /// The JWK Set of the public verification keys (RFC 7517 §5), as JSON text.
    pub(crate) fn jwks_json(&self) -> &str {
        self.keys.jwks()
    }

    pub(crate) fn issue_access(
        &self,
        user: &User,
        session: Option<Uuid>,
        now: OffsetDateTime,
        ttl: Duration,
    ) -> Result<String, AuthError> {
        let claims = Claims {
            sid: session,
            ver: user.token_version,
            sub: user.id,
            roles: user.roles.clone(),
            iat: now.unix_timestamp(),
            exp: (now + ttl).unix_timestamp(),
            nbf: None,
            jti: Uuid::now_v7(),
            iss: self.issuer.clone(),
            aud: self.access.audience.clone(),
            token_use: ACCESS_TOKEN_USE.to_owned(),
        };
        self.sign(&self.access, &claims)
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
            aud: self.verification.audience.clone(),
            token_use: VERIFY_TOKEN_USE.to_owned(),
        };
        self.sign(&self.verification, &claims)
    }

    pub(crate) fn issue_mfa(
        &self,
        user: &User,
        now: OffsetDateTime,
        ttl: Duration,
    ) -> Result<String, AuthError> {
        let claims = MfaClaims {
            sub: user.id,
            ver: user.session_epoch,
            iat: now.unix_timestamp(),
            exp: (now + ttl).unix_timestamp(),
            nbf: None,
            jti: Uuid::now_v7(),
            iss: self.issuer.clone(),
            aud: self.mfa.audience.clone(),
            token_use: MFA_TOKEN_USE.to_owned(),
        };
        self.sign(&self.mfa, &claims)
    }

    pub(crate) fn verify_mfa(
        &self,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<MfaClaims, AuthError> {
        self.verify(token, now, &self.mfa)
    }

    pub(crate) fn verify_access(
        &self,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<Claims, AuthError> {
        self.verify(token, now, &self.access)
    }

    pub(crate) fn verify_verification(
        &self,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<VerificationClaims, AuthError> {
        self.verify(token, now, &self.verification)
    }

    /// `header.claims.signature`, each part base64url without padding (RFC 7515 §7.1),
    /// signed by the signing key with the header that names it.
    fn sign<T: Serialize>(&self, kind: &Kind, claims: &T) -> Result<String, AuthError> {
        let key = self.keys.signing();
        let header = &key.headers[kind.index];
        let payload =
            serde_json::to_vec(claims).map_err(|e| AuthError::Unavailable(Box::new(e)))?;
        let mut token = String::with_capacity(header.len() + payload.len() * 4 / 3 + 92);
        token.push_str(header);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&payload, &mut token);
        let tag = key.sign(token.as_bytes())?;
        token.push('.');
        token.push_str(&tag);
        Ok(token)
    }

    /// The key a header we do not issue in this exact form names, once the header passes
    /// the rules: a JSON object (serde would also read the struct from an array), `alg` the
    /// key's own algorithm, `typ` the kind's, no `crit`. Nothing of it is trusted beyond
    /// the choice of key, which must be ours.
    fn key_named_by(&self, header: &str, kind: &Kind) -> Result<&SetKey, AuthError> {
        let header = serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(
            &URL_SAFE_NO_PAD.decode(header).map_err(invalid)?,
        )
        .map_err(invalid)?;
        let header: JoseHeader =
            serde_json::from_value(serde_json::Value::Object(header)).map_err(invalid)?;
        let key = self
            .keys
            .by_kid(header.kid.as_deref())
            .ok_or(AuthError::InvalidToken)?;
        let typ_ok = header
            .typ
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case(kind.typ));
        if header.alg != key.algorithm.name() || !typ_ok || header.crit {
            return Err(AuthError::InvalidToken);
        }
        Ok(key)
    }

    fn verify<T: DeserializeOwned + TimedClaims>(
        &self,
        token: &str,
        now: OffsetDateTime,
        kind: &Kind,
    ) -> Result<T, AuthError> {
        if token.is_empty() || token.len() > MAX_JWT_LEN {
            return Err(AuthError::InvalidToken);
        }
        // Exactly three parts: header.claims.signature.
        let (signed, tag) = token.rsplit_once('.').ok_or(AuthError::InvalidToken)?;
        let (header, payload) = signed.split_once('.').ok_or(AuthError::InvalidToken)?;
        if payload.contains('.') {
            return Err(AuthError::InvalidToken);
        }
        let key = match self.keys.by_header(header, kind.index) {
            Some(key) => key,
            None => self.key_named_by(header, kind)?,
        };
        if !key.crypto.verify(signed.as_bytes(), tag) {
            return Err(AuthError::InvalidToken);
        }
        // Authentic from here on: signed by a key of ours, under a header of this kind.
        let claims: T = if payload.len() <= SMALL_PAYLOAD {
            // The usual case, decoded on the stack.
            let mut buffer = [0u8; SMALL_PAYLOAD / 4 * 3 + 3];
            let len = URL_SAFE_NO_PAD
                .decode_slice(payload, &mut buffer)
                .map_err(invalid)?;
            serde_json::from_slice(&buffer[..len]).map_err(invalid)?
        } else {
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).map_err(invalid)?)
                .map_err(invalid)?
        };
        if claims.iss() != self.issuer
            || claims.aud() != kind.audience
            || claims.token_use() != kind.token_use
        {
            return Err(AuthError::InvalidToken);
        }
        let now = now.unix_timestamp();
        if let Some(nbf) = claims.nbf()
            && now.saturating_add(self.leeway) < nbf
        {
            return Err(AuthError::InvalidToken);
        }
        // We never issue a token dated in the future; one that is (beyond the leeway for
        // clock differences) was not made by a clock we trust.
        if now.saturating_add(self.leeway) < claims.iat() {
            return Err(AuthError::InvalidToken);
        }
        if now >= claims.exp().saturating_add(self.leeway) {
            return Err(AuthError::ExpiredToken);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use hmac::{Hmac, KeyInit as _};
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    use sha2::Sha256;

    use super::*;
    use crate::config::JwtAlgorithm;
    use crate::user::{HashedPassword, UserSettings};

    const SECRET: &str = "VZw4kZyeuxBawMEGalKaU-5EjSXfWjksuqcoPFBhj2f";

    fn keys() -> JwtKeys {
        JwtKeys::new(&AuthConfig::new(SECRET)).unwrap()
    }

    /// The user whose tokens the key tests issue (also used by `set.rs`'s tests).
    pub(super) fn user() -> User {
        User {
            id: UserId::new(),
            email: "alice@example.com".into(),
            username: "alice".into(),
            password_hash: HashedPassword::new("x"),
            roles: vec!["admin".into()],
            user_settings: UserSettings::new(),
            is_verified: true,
            is_active: true,
            mfa_enabled: false,
            created_at: OffsetDateTime::UNIX_EPOCH,
            updated_at: OffsetDateTime::UNIX_EPOCH,
            token_version: 0,
            session_epoch: 0,
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
        let token = keys
            .issue_access(&user, None, t, Duration::minutes(30))
            .unwrap();
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
        let access = keys
            .issue_access(&user, None, t, Duration::minutes(30))
            .unwrap();
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
    fn mfa_tokens_are_accepted_only_as_mfa_tokens() {
        let keys = keys();
        let user = user();
        let t = now();
        let access = keys
            .issue_access(&user, None, t, Duration::minutes(30))
            .unwrap();
        let verify = keys
            .issue_verification(&user, t, Duration::hours(24))
            .unwrap();
        let mfa = keys.issue_mfa(&user, t, Duration::minutes(5)).unwrap();
        let header: serde_json::Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(mfa.split('.').next().unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(header["typ"], MFA_TOKEN_TYP);
        for other in [&access, &verify] {
            assert!(matches!(
                keys.verify_mfa(other, t),
                Err(AuthError::InvalidToken)
            ));
        }
        assert!(matches!(
            keys.verify_access(&mfa, t),
            Err(AuthError::InvalidToken)
        ));
        assert!(matches!(
            keys.verify_verification(&mfa, t),
            Err(AuthError::InvalidToken)
        ));
        let claims = keys.verify_mfa(&mfa, t).unwrap();
        assert_eq!((claims.sub, claims.ver), (user.id, user.session_epoch));
        assert_eq!(claims.aud, "myauth:mfa");
        assert!(matches!(
            keys.verify_mfa(&mfa, t + Duration::minutes(6)),
            Err(AuthError::ExpiredToken)
        ));
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
        let claims = access_claims();
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
        let other = JwtKeys::new(&AuthConfig::new(
            "O70hPCpL8_RCbX-LpLPUwM-7sm6P7mxcFfq8nZrr4M2",
        ))
        .unwrap();
        let t = now();
        let token = other
            .issue_access(&user(), None, t, Duration::minutes(5))
            .unwrap();
        assert!(matches!(
            keys.verify_access(&token, t),
            Err(AuthError::InvalidToken)
        ));

        let token = keys
            .issue_access(&user(), None, t, Duration::minutes(5))
            .unwrap();
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
            .issue_access(&user(), None, t, Duration::minutes(30))
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

    fn access_claims() -> serde_json::Value {
        let t = now().unix_timestamp();
        serde_json::json!({
            "sub": UserId::new(), "iat": t, "exp": t + 60, "jti": Uuid::now_v7(),
            "iss": "myauth", "aud": "myauth", "token_use": "access", "roles": ["admin"]
        })
    }

    /// `header.claims` signed with `secret` by HS256, both parts given as JSON text.
    fn hand_made(header: &str, claims: &str, secret: &str) -> String {
        let signed = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims)
        );
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        hmac::Mac::update(&mut mac, signed.as_bytes());
        let tag = URL_SAFE_NO_PAD.encode(hmac::Mac::finalize(mac).into_bytes());
        format!("{signed}.{tag}")
    }

    #[test]
    fn our_tokens_are_standard_jws_and_tokens_of_other_libraries_pass() {
        let keys = keys();
        let t = now();
        // What we issue, jsonwebtoken accepts with the same rules.
        let ours = keys
            .issue_access(&user(), None, t, Duration::minutes(5))
            .unwrap();
        let mut validation = jsonwebtoken::Validation::new(Algorithm::HS256);
        validation.set_audience(&["myauth"]);
        validation.set_issuer(&["myauth"]);
        let decoded = jsonwebtoken::decode::<Claims>(
            &ours,
            &jsonwebtoken::DecodingKey::from_secret(SECRET.as_bytes()).unwrap(),
            &validation,
        )
        .unwrap();
        assert_eq!(decoded.header.typ.as_deref(), Some(ACCESS_TOKEN_TYP));
        assert_eq!(decoded.claims, keys.verify_access(&ours, t).unwrap());

        // What jsonwebtoken issues (its header has another member order, as our tokens
        // had before we signed them ourselves), we accept, with our kid or none.
        let key = EncodingKey::from_secret(SECRET.as_bytes()).unwrap();
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some(ACCESS_TOKEN_TYP.into());
        for kid in [Some(JwtKey::secret(SECRET).kid().to_owned()), None] {
            header.kid = kid;
            let theirs = jsonwebtoken::encode(&header, &access_claims(), &key).unwrap();
            assert_ne!(theirs.split('.').next(), ours.split('.').next());
            assert_eq!(
                keys.verify_access(&theirs, t).unwrap().roles,
                vec!["admin".to_owned()]
            );
        }
        // A kid that names no key of ours is refused, however good the MAC.
        header.kid = Some("key-1".into());
        let unknown = jsonwebtoken::encode(&header, &access_claims(), &key).unwrap();
        assert!(matches!(
            keys.verify_access(&unknown, t),
            Err(AuthError::InvalidToken)
        ));
        // The media type is case-insensitive (RFC 7515 §4.1.9).
        let claims = access_claims().to_string();
        let shouting = hand_made(r#"{"alg":"HS256","typ":"AT+JWT"}"#, &claims, SECRET);
        assert!(keys.verify_access(&shouting, t).is_ok());
    }

    #[test]
    fn authentic_tokens_with_a_header_we_do_not_issue_are_refused() {
        let keys = keys();
        let claims = access_claims().to_string();
        for header in [
            r#"{"alg":"HS256","typ":"at+jwt","crit":["exp"],"exp":1}"#,
            r#"{"alg":"HS256","typ":"at+jwt","crit":[]}"#,
            r#"{"alg":"HS256","typ":"at+jwt","crit":null}"#,
            r#"{"alg":"HS256"}"#,
            r#"{"alg":"HS384","typ":"at+jwt"}"#,
            r#"{"alg":"hs256","typ":"at+jwt"}"#,
            r#"{"typ":"at+jwt"}"#,
            r#"{"alg":"HS256","typ":"verify-email+jwt"}"#,
            r#"{"alg":"HS256","alg":"none","typ":"at+jwt"}"#,
            r#"["HS256","at+jwt"]"#,
            "not json",
        ] {
            let token = hand_made(header, &claims, SECRET);
            assert!(
                matches!(
                    keys.verify_access(&token, now()),
                    Err(AuthError::InvalidToken)
                ),
                "accepted header {header}"
            );
        }
        // Claims that are not an object of the right shape.
        for claims in ["[]", "null", r#"{"sub":"x"}"#, "{"] {
            let token = hand_made(r#"{"alg":"HS256","typ":"at+jwt"}"#, claims, SECRET);
            assert!(
                keys.verify_access(&token, now()).is_err(),
                "accepted {claims}"
            );
        }
    }

    #[test]
    fn a_token_issued_in_the_future_is_refused_beyond_the_leeway() {
        let keys = keys();
        let t = now();
        for (ahead, accepted) in [(0, true), (5, true), (6, false), (3600, false)] {
            let token = keys
                .issue_access(
                    &user(),
                    None,
                    t + Duration::seconds(ahead),
                    Duration::minutes(30),
                )
                .unwrap();
            assert_eq!(
                keys.verify_access(&token, t).is_ok(),
                accepted,
                "iat {ahead} s ahead"
            );
        }
    }

    #[test]
    fn access_tokens_carry_their_session_and_the_users_version() {
        let keys = keys();
        let t = now();
        let mut user = user();
        user.token_version = 7;
        let sid = Uuid::now_v7();
        let token = keys
            .issue_access(&user, Some(sid), t, Duration::minutes(5))
            .unwrap();
        let claims = keys.verify_access(&token, t).unwrap();
        assert_eq!((claims.sid, claims.ver), (Some(sid), 7));
        // Tokens from before sessions: no sid, version 0.
        let legacy = hand_made(
            r#"{"alg":"HS256","typ":"at+jwt"}"#,
            &access_claims().to_string(),
            SECRET,
        );
        let claims = keys.verify_access(&legacy, t).unwrap();
        assert_eq!((claims.sid, claims.ver), (None, 0));
    }

    #[test]
    fn only_the_exact_compact_form_is_read() {
        let keys = keys();
        let t = now();
        let token = keys
            .issue_access(&user(), None, t, Duration::minutes(5))
            .unwrap();
        assert!(keys.verify_access(&token, t).is_ok());
        let (signed, tag) = token.rsplit_once('.').unwrap();
        let (header, payload) = signed.split_once('.').unwrap();
        let mut tag_bytes = URL_SAFE_NO_PAD.decode(tag).unwrap();
        let last = tag_bytes.len() - 1;
        tag_bytes[last] ^= 1;
        let flipped = URL_SAFE_NO_PAD.encode(&tag_bytes);
        for bad in [
            format!("{token}="),
            format!("{token}.{tag}"),
            format!("{header}.{payload}.{payload}.{tag}"),
            format!("{signed}.{flipped}"),
            format!("{signed}."),
            format!("{signed}.{}", &tag[..tag.len() - 1]),
            format!("{signed}.{tag}{tag}"),
            format!(" {token}"),
            format!("{header}=.{payload}.{tag}"),
            format!("{header}.{payload}=.{tag}"),
            signed.to_owned(),
            ".".repeat(2),
        ] {
            assert!(
                matches!(keys.verify_access(&bad, t), Err(AuthError::InvalidToken)),
                "accepted {bad}"
            );
        }
        // The last base64 character of a 32-byte MAC carries 2 unused bits: a token whose
        // unused bits are set is another string, and is refused (no malleability).
        let mut chars: Vec<char> = tag.chars().collect();
        let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let position = alphabet.find(chars[chars.len() - 1]).unwrap();
        let last = chars.len() - 1;
        chars[last] = alphabet.chars().nth(position | 1).unwrap();
        let malleated: String = chars.into_iter().collect();
        if malleated != tag {
            let token = format!("{signed}.{malleated}");
            assert!(keys.verify_access(&token, t).is_err(), "accepted {token}");
        }
    }

    #[test]
    fn hs384_and_hs512_sign_and_check_with_their_own_length() {
        for (algorithm, secret, name) in [
            (JwtAlgorithm::Hs384, "a".repeat(48), "HS384"),
            (JwtAlgorithm::Hs512, "b".repeat(64), "HS512"),
        ] {
            let keys = JwtKeys::new(&AuthConfig::new(secret.clone()).with_jwt_algorithm(algorithm))
                .unwrap();
            let t = now();
            let token = keys
                .issue_access(&user(), None, t, Duration::minutes(5))
                .unwrap();
            let header = jsonwebtoken::decode_header(&token).unwrap();
            assert_eq!(format!("{:?}", header.alg), name);
            assert_eq!(keys.verify_access(&token, t).unwrap().sub, user_id(&token));
            // The default HS256 keys with the same secret refuse it.
            let hs256 = JwtKeys::new(&AuthConfig::new(secret)).unwrap();
            assert!(hs256.verify_access(&token, t).is_err());
        }
    }

    fn user_id(token: &str) -> UserId {
        let payload = token.split('.').nth(1).unwrap();
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        serde_json::from_value(claims["sub"].clone()).unwrap()
    }

    #[test]
    fn extreme_times_in_authentic_tokens_neither_panic_nor_pass_wrongly() {
        let keys = keys();
        let header = r#"{"alg":"HS256","typ":"at+jwt"}"#;
        let t = now().unix_timestamp();
        let claims = |exp: i64, nbf: Option<i64>| {
            let mut claims = access_claims();
            claims["exp"] = exp.into();
            if let Some(nbf) = nbf {
                claims["nbf"] = nbf.into();
            }
            claims.to_string()
        };
        let forever = hand_made(header, &claims(i64::MAX, None), SECRET);
        assert!(keys.verify_access(&forever, now()).is_ok());
        let long_ago = hand_made(header, &claims(i64::MIN, None), SECRET);
        assert!(matches!(
            keys.verify_access(&long_ago, now()),
            Err(AuthError::ExpiredToken)
        ));
        let never_valid = hand_made(header, &claims(t + 60, Some(i64::MAX)), SECRET);
        assert!(matches!(
            keys.verify_access(&never_valid, now()),
            Err(AuthError::InvalidToken)
        ));
    }

    #[test]
    fn no_single_character_change_of_a_token_passes() {
        let keys = keys();
        let t = now();
        let token = keys
            .issue_access(&user(), None, t, Duration::minutes(5))
            .unwrap();
        let bytes = token.as_bytes();
        let mut tried = 0;
        for position in 0..bytes.len() {
            for replacement in [b'A', b'Q', b'g', b'w', b'0', b'-', b'_', b'.', b'=', b' '] {
                if bytes[position] == replacement {
                    continue;
                }
                let mut changed = bytes.to_vec();
                changed[position] = replacement;
                let changed = String::from_utf8(changed).unwrap();
                assert!(
                    keys.verify_access(&changed, t).is_err(),
                    "position {position} changed to {} passed",
                    replacement as char
                );
                tried += 1;
            }
        }
        assert!(tried > 3000, "{tried}");
        assert!(keys.verify_access(&token, t).is_ok());
    }
}
