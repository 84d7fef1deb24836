//! New signing keys, as unencrypted PKCS#8 PEM: what `myauth keys generate` writes and
//! [`JwtKey::from_pem`](super::JwtKey::from_pem) reads.

use pkcs8::{EncodePrivateKey as _, LineEnding};
use secrecy::SecretString;

use crate::config::JwtAlgorithm;

/// Why a key could not be generated.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GenerateKeyError {
    /// HS256/HS384/HS512 use a shared secret, not a key pair.
    #[error("{0} uses a shared secret (MYAUTH_JWT_SECRET), not a key pair")]
    Symmetric(&'static str),
    /// The operating system's random source failed.
    #[error("the OS random source failed")]
    Random,
    /// The key could not be encoded.
    #[error("cannot encode the key as PKCS#8 PEM")]
    Encode,
}

/// Bits of the RSA keys made for RS256 (NIST SP 800-57 Part 1: 3072 bits for security
/// beyond 2030; RS256 accepts 2048 and up).
pub const RSA_KEY_BITS: usize = 3072;

/// A fresh private key for `algorithm` — Ed25519, P-256 or RSA 3072 — from the OS random
/// source, as unencrypted PKCS#8 PEM.
///
/// # Errors
///
/// [`GenerateKeyError::Symmetric`] for the HMAC algorithms; the others when the random
/// source or the encoder fails.
pub fn generate_private_key_pem(algorithm: JwtAlgorithm) -> Result<SecretString, GenerateKeyError> {
    let pem = match algorithm {
        JwtAlgorithm::Hs256 | JwtAlgorithm::Hs384 | JwtAlgorithm::Hs512 => {
            return Err(GenerateKeyError::Symmetric(algorithm.name()));
        }
        JwtAlgorithm::EdDsa => {
            let mut seed = [0u8; 32];
            getrandom::fill(&mut seed).map_err(|_| GenerateKeyError::Random)?;
            ed25519_dalek::SigningKey::from_bytes(&seed)
                .to_pkcs8_pem(LineEnding::LF)
                .map_err(|_| GenerateKeyError::Encode)?
        }
        JwtAlgorithm::Es256 => {
            // A uniformly random scalar: retry the (about 2^-32 likely) out-of-range draw.
            let key = loop {
                let mut bytes = [0u8; 32];
                getrandom::fill(&mut bytes).map_err(|_| GenerateKeyError::Random)?;
                if let Ok(key) = p256::SecretKey::from_slice(&bytes) {
                    break key;
                }
            };
            key.to_pkcs8_pem(LineEnding::LF)
                .map_err(|_| GenerateKeyError::Encode)?
        }
        JwtAlgorithm::Rs256 => {
            let key = rsa::PrivateKey::new(&mut getrandom::SysRng, RSA_KEY_BITS)
                .map_err(|_| GenerateKeyError::Random)?;
            key.to_pkcs8_pem(LineEnding::LF)
                .map_err(|_| GenerateKeyError::Encode)?
        }
    };
    Ok(SecretString::from(pem.as_str().to_owned()))
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret as _;

    use super::*;
    use crate::jwt::JwtKey;

    #[test]
    fn generated_keys_load_as_signing_keys_of_their_algorithm_and_differ() {
        for algorithm in [
            JwtAlgorithm::EdDsa,
            JwtAlgorithm::Es256,
            JwtAlgorithm::Rs256,
        ] {
            let pem = generate_private_key_pem(algorithm).unwrap();
            assert!(
                pem.expose_secret()
                    .starts_with("-----BEGIN PRIVATE KEY-----\n")
            );
            let key = JwtKey::from_pem(pem.expose_secret()).unwrap();
            assert_eq!(key.algorithm(), Some(algorithm));
            if algorithm != JwtAlgorithm::Rs256 {
                let other = generate_private_key_pem(algorithm).unwrap();
                assert_ne!(pem.expose_secret(), other.expose_secret());
            }
        }
        assert!(matches!(
            generate_private_key_pem(JwtAlgorithm::Hs256),
            Err(GenerateKeyError::Symmetric("HS256"))
        ));
    }
}
