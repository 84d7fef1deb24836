//! The token checks of every kind, for the fuzz targets (feature `fuzzing`).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use time::OffsetDateTime;

use super::{Claims, JwtKeys};
use crate::config::AuthConfig;
use crate::error::{AuthError, ConfigError};

/// The three token kinds, in the order of [`TokenVerifier::verify_all`].
pub const KINDS: [&str; 3] = ["access", "verification", "mfa"];

/// The key set and rules of a configuration, checking tokens of every kind as the service
/// does, and signing arbitrary headers and claims with its signing key so that a fuzzer
/// reaches the claim checks behind the signature.
#[derive(Debug)]
pub struct TokenVerifier {
    keys: JwtKeys,
}

impl TokenVerifier {
    /// The verifier of a configuration.
    ///
    /// # Errors
    ///
    /// When the configuration's keys are unusable.
    pub fn new(config: &AuthConfig) -> Result<Self, ConfigError> {
        Ok(Self {
            keys: JwtKeys::new(config)?,
        })
    }

    /// The access-token check: its claims when it passes.
    ///
    /// # Errors
    ///
    /// As [`AuthService::authenticate`](crate::AuthService::authenticate).
    pub fn verify_access(&self, token: &str, now: OffsetDateTime) -> Result<Claims, AuthError> {
        self.keys.verify_access(token, now)
    }

    /// Each kind's check of one token, in the order of [`KINDS`]: `Ok` with the token's
    /// `sub` when it passes.
    pub fn verify_all(
        &self,
        token: &str,
        now: OffsetDateTime,
    ) -> [Result<crate::user::UserId, AuthError>; 3] {
        [
            self.keys.verify_access(token, now).map(|c| c.sub),
            self.keys.verify_verification(token, now).map(|c| c.sub),
            self.keys.verify_mfa(token, now).map(|c| c.sub),
        ]
    }

    /// The encoded header the signing key issues tokens of kind `kind` (an index of
    /// [`KINDS`], taken modulo 3) with.
    pub fn issued_header(&self, kind: usize) -> &str {
        &self.keys.keys.signing().headers[kind % KINDS.len()]
    }

    /// `header.claims.signature` with the signing key's signature over the encoded header
    /// and the base64url of `claims`, whatever either contains.
    ///
    /// # Errors
    ///
    /// When the key cannot sign.
    pub fn sign(&self, encoded_header: &str, claims: &[u8]) -> Result<String, AuthError> {
        let mut token = String::with_capacity(encoded_header.len() + claims.len() * 4 / 3 + 92);
        token.push_str(encoded_header);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(claims, &mut token);
        let tag = self.keys.keys.signing().sign(token.as_bytes())?;
        token.push('.');
        token.push_str(&tag);
        Ok(token)
    }
}
