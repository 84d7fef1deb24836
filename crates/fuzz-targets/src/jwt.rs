//! Token verification: access, email-verification and MFA tokens, under HMAC and every
//! asymmetric algorithm, with previous keys in the set.

use std::sync::OnceLock;

use auth_core::fuzzing::{KINDS, TokenVerifier};
use auth_core::{AuthConfig, AuthError, JwtAlgorithm, JwtKey};
use time::OffsetDateTime;

use crate::{NOW_UNIX, split_at_byte};

/// The JWT secret of the HMAC verifiers.
pub(crate) const SECRET: &str = "VZw4kZyeuxBawMEGalKaU-5EjSXfWjksuqcoPFBhj2f";
/// The JWT secret of the HS512 verifier (HS512 asks for 64 bytes).
const SECRET_512: &str =
    "o3Zk8vQe1LwX9rTn5bJm2YhC7uGs4DpA0fKiW6xEzRqNaUcVtHlOjMyB-_gSdPe1LwX9rTn5bJm2Yh";
/// Leeway of the default configuration, in seconds.
const LEEWAY: i64 = 5;

const ED25519: &str = include_str!("../../auth-core/testdata/keys/ed25519.pem");
const ED25519_2: &str = include_str!("../../auth-core/testdata/keys/ed25519-2.pem");
const P256: &str = include_str!("../../auth-core/testdata/keys/p256.pem");
const RSA2048: &str = include_str!("../../auth-core/testdata/keys/rsa2048.pem");

fn pem(text: &str) -> JwtKey {
    match JwtKey::from_pem(text) {
        Ok(key) => key,
        Err(error) => panic!("test key unusable: {error}"),
    }
}

fn verifier(config: AuthConfig) -> TokenVerifier {
    match TokenVerifier::new(&config) {
        Ok(verifier) => verifier,
        Err(error) => panic!("fuzz configuration refused: {error}"),
    }
}

/// HS256 with a previous secret and a previous Ed25519 key; HS512; EdDSA with a previous
/// key; ES256; RS256. The first two sign in [`claims`] (cheap), all of them check.
pub(crate) fn verifiers() -> &'static [TokenVerifier] {
    static VERIFIERS: OnceLock<Vec<TokenVerifier>> = OnceLock::new();
    VERIFIERS.get_or_init(|| {
        vec![
            verifier(AuthConfig::new(SECRET).with_jwt_previous_keys([
                JwtKey::secret("an-older-secret-of-at-least-32-bytes-xx"),
                pem(ED25519_2),
            ])),
            verifier(
                AuthConfig::new(SECRET)
                    .with_jwt_algorithm(JwtAlgorithm::EdDsa)
                    .with_jwt_signing_key(pem(ED25519))
                    .with_jwt_previous_keys([pem(ED25519_2)]),
            ),
            verifier(AuthConfig::new(SECRET_512).with_jwt_algorithm(JwtAlgorithm::Hs512)),
            verifier(
                AuthConfig::new(SECRET)
                    .with_jwt_algorithm(JwtAlgorithm::Es256)
                    .with_jwt_signing_key(pem(P256)),
            ),
            verifier(
                AuthConfig::new(SECRET)
                    .with_jwt_algorithm(JwtAlgorithm::Rs256)
                    .with_jwt_signing_key(pem(RSA2048)),
            ),
        ]
    })
}

fn now() -> OffsetDateTime {
    match OffsetDateTime::from_unix_timestamp(NOW_UNIX) {
        Ok(now) => now,
        Err(error) => panic!("{error}"),
    }
}

/// Checks one token against every kind of one verifier: at most one kind accepts it, a
/// refusal is `invalid_token` or `expired_token` and nothing else, and accepted access
/// claims are the service's own.
fn check_all(verifier: &TokenVerifier, token: &str) -> usize {
    let now = now();
    let results = verifier.verify_all(token, now);
    let mut accepted = 0;
    for (kind, result) in KINDS.iter().zip(&results) {
        match result {
            Ok(_) => accepted += 1,
            Err(AuthError::InvalidToken | AuthError::ExpiredToken) => {}
            Err(other) => panic!("{kind} check answered {other:?}"),
        }
    }
    assert!(accepted <= 1, "one token passed as {accepted} kinds");
    if let Ok(claims) = verifier.verify_access(token, now) {
        let now = now.unix_timestamp();
        assert_eq!(claims.iss, "myauth");
        assert_eq!(claims.aud, "myauth");
        assert_eq!(claims.token_use, "access");
        assert!(
            now < claims.exp.saturating_add(LEEWAY),
            "expired token passed"
        );
        assert!(
            claims.iat <= now.saturating_add(LEEWAY),
            "future token passed"
        );
        assert!(
            claims
                .nbf
                .is_none_or(|nbf| nbf <= now.saturating_add(LEEWAY))
        );
    }
    accepted
}

/// Target `jwt_token`: the input as a presented token (header, claims and signature all
/// the attacker's, starting from authentic ones), checked by every verifier as every kind.
pub(crate) fn token(data: &[u8]) {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    for verifier in verifiers() {
        check_all(verifier, token);
    }
}

/// Target `jwt_claims`: authentic tokens with hostile contents, to reach what lies behind
/// the signature. The first byte chooses the signing key (bit 3: HS256 or EdDSA) and the
/// header: bit 2 clear, the header we issue for kind `bits 0–1` and the rest of the input
/// as the claims; bit 2 set, the rest is `header JSON \n claims JSON`, the header encoded
/// as it is.
pub(crate) fn claims(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let verifier = &verifiers()[usize::from(mode >> 3 & 1)];
    let token = if mode & 4 == 0 {
        verifier.sign(verifier.issued_header(usize::from(mode & 3)), rest)
    } else {
        let (header, claims) = split_at_byte(rest, b'\n');
        verifier.sign(&base64url(header), claims)
    };
    let token = match token {
        Ok(token) => token,
        Err(error) => panic!("signing failed: {error:?}"),
    };
    check_all(verifier, &token);
}

pub(crate) fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len() * 4 / 3 + 3);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_matches_the_rfc_examples() {
        assert_eq!(base64url(b""), "");
        assert_eq!(base64url(b"f"), "Zg");
        assert_eq!(base64url(b"fo"), "Zm8");
        assert_eq!(base64url(b"foo"), "Zm9v");
        assert_eq!(base64url(b"foob"), "Zm9vYg");
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
    }
}
