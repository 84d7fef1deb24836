//! [`JwtKey`]: one key of the signing key set — an HMAC secret, or (feature `asymmetric`)
//! an Ed25519, P-256 or RSA key read from PKCS#8 PEM — with its `kid`.

use std::fmt;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest as _, Sha256};

#[cfg(feature = "asymmetric")]
use super::asymmetric::AsymmetricKey;
use crate::config::JwtAlgorithm;

/// Domain separation of the `kid` of a secret: the hash input starts with this label, which
/// no other use of a secret shares (the HKDF labels of the server's own keys differ).
const SECRET_KID_LABEL: &[u8] = b"myauth/jwt/kid/v1\0";

/// Bytes of SHA-256 kept in the `kid` of a secret: 128 bits tell a handful of keys apart
/// with no chance of a collision, and the token header stays short (every byte of it is
/// hashed again on every request).
const SECRET_KID_BYTES: usize = 16;

/// Why a key was refused. The messages never contain key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The file could not be read.
    #[error("cannot read the file: {0}")]
    Unreadable(#[source] std::io::Error),
    /// The text is not PEM (`-----BEGIN …-----`).
    #[error("not a PEM file (expected -----BEGIN PRIVATE KEY----- or -----BEGIN PUBLIC KEY-----)")]
    NotPem,
    /// A password-protected PKCS#8 key; the server has no password to give.
    #[error(
        "the key is encrypted; store it unencrypted with `openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY.pem` and protect the file instead"
    )]
    Encrypted,
    /// PEM of another format, such as PKCS#1 (`RSA PRIVATE KEY`) or SEC1 (`EC PRIVATE KEY`).
    #[error(
        "a {label:?} PEM block is not PKCS#8; convert it with `openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY.pem`"
    )]
    NotPkcs8 {
        /// The PEM label found.
        label: String,
    },
    /// The PEM block does not decode as a key of its kind.
    #[error("the PEM block is not a valid PKCS#8 private key or SubjectPublicKeyInfo")]
    Malformed,
    /// A key type none of our algorithms uses.
    #[error("{what}: use an Ed25519 (EdDSA), P-256 (ES256) or RSA 2048+ (RS256) key")]
    Unsupported {
        /// What the key is.
        what: &'static str,
    },
    /// An RSA modulus under 2048 bits (RFC 7518 §3.3).
    #[error("the RSA key has {bits} bits; RS256 needs at least 2048")]
    RsaTooShort {
        /// The modulus size.
        bits: usize,
    },
    /// The build has no asymmetric algorithms.
    #[error("this build has no EdDSA, ES256 or RS256 support (auth-core feature `asymmetric`)")]
    AsymmetricDisabled,
    /// The key is of another type than the algorithm needs.
    #[error("the key is {key}, which cannot sign or verify {algorithm} tokens")]
    WrongAlgorithm {
        /// The key's type.
        key: &'static str,
        /// The algorithm it was given for.
        algorithm: &'static str,
    },
    /// A public key where a private key is needed.
    #[error("a public key cannot sign; give the private key (PKCS#8 PEM)")]
    NotPrivate,
    /// A secret on a server whose algorithm is not an HMAC one: it could verify nothing
    /// (docs/http-contract.md: a secret verifies only under the configured HMAC algorithm).
    #[error("a secret verifies only HMAC tokens, and this server's algorithm is {algorithm}")]
    SecretWithoutHmac {
        /// The configured algorithm.
        algorithm: &'static str,
    },
    /// A secret shorter than the algorithm's hash output (RFC 7518 §3.2).
    #[error("the secret must be at least {min} bytes long for {algorithm} (got {actual})")]
    SecretTooShort {
        /// The algorithm.
        algorithm: &'static str,
        /// Bytes required.
        min: usize,
        /// Bytes given.
        actual: usize,
    },
}

/// One key of the JWT key set: an HMAC secret, or an asymmetric key (private or public)
/// read from PEM. Every key has a `kid`, the value of the `kid` header of the tokens it
/// signs:
///
/// - an asymmetric key's is its RFC 7638 JWK thumbprint (SHA-256, base64url) — any
///   verifier can recompute it from the published JWK;
/// - a secret's is the first 128 bits of SHA-256 over a label and the secret, base64url:
///   it names the secret without revealing it, and tells an attacker nothing a token's
///   MAC does not already (guessing a 256-bit random secret from either is hopeless).
///
/// `Debug` shows the kind of key and its `kid`, never key material.
///
/// ```
/// use auth_core::JwtKey;
///
/// let key = JwtKey::secret("an HS256 secret of at least 32 bytes!!");
/// assert!(key.is_secret());
/// assert_eq!(key.kid().len(), 22);
/// assert!(!format!("{key:?}").contains("HS256 secret"));
/// ```
#[derive(Clone)]
pub struct JwtKey {
    material: Material,
    kid: String,
}

#[derive(Clone)]
pub(crate) enum Material {
    Secret(SecretString),
    #[cfg(feature = "asymmetric")]
    Asymmetric(AsymmetricKey),
}

impl fmt::Debug for JwtKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.material {
            Material::Secret(_) => "secret".to_owned(),
            #[cfg(feature = "asymmetric")]
            Material::Asymmetric(key) => format!("{key:?}"),
        };
        f.debug_struct("JwtKey")
            .field("kind", &kind)
            .field("kid", &self.kid)
            .finish()
    }
}

impl JwtKey {
    /// An HMAC secret. It signs and verifies under the configured HMAC algorithm only.
    pub fn secret(secret: impl Into<String>) -> Self {
        let secret = SecretString::from(secret.into());
        let mut hash = Sha256::new();
        hash.update(SECRET_KID_LABEL);
        hash.update(secret.expose_secret().as_bytes());
        let kid = URL_SAFE_NO_PAD.encode(&hash.finalize()[..SECRET_KID_BYTES]);
        Self {
            material: Material::Secret(secret),
            kid,
        }
    }

    /// A key from PEM text: a PKCS#8 private key (`-----BEGIN PRIVATE KEY-----`) or a
    /// public key (`-----BEGIN PUBLIC KEY-----`) — Ed25519, P-256, or RSA of at least 2048
    /// bits.
    ///
    /// # Errors
    ///
    /// [`KeyError`] says why the text is not such a key; encrypted keys and PKCS#1/SEC1
    /// files are refused with the `openssl` command that converts them.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        #[cfg(feature = "asymmetric")]
        {
            let key = AsymmetricKey::from_pem(pem)?;
            Ok(Self {
                kid: key.thumbprint(),
                material: Material::Asymmetric(key),
            })
        }
        #[cfg(not(feature = "asymmetric"))]
        {
            let _ = pem;
            Err(KeyError::AsymmetricDisabled)
        }
    }

    /// [`from_pem`](Self::from_pem) on the contents of a file.
    ///
    /// # Errors
    ///
    /// [`KeyError::Unreadable`], or the errors of [`from_pem`](Self::from_pem).
    pub fn from_pem_file(path: impl AsRef<Path>) -> Result<Self, KeyError> {
        use std::io::Read as _;
        // No key file is near this size (RSA-8192 in PEM is under 7 KiB); a path such as
        // /dev/zero must not hang the start-up.
        const MAX_KEY_FILE: u64 = 64 * 1024;
        let file = std::fs::File::open(path.as_ref()).map_err(KeyError::Unreadable)?;
        let mut pem = String::new();
        let read = file.take(MAX_KEY_FILE + 1).read_to_string(&mut pem);
        let pem = SecretString::from(pem);
        read.map_err(KeyError::Unreadable)?;
        if pem.expose_secret().len() as u64 > MAX_KEY_FILE {
            return Err(KeyError::Unreadable(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "larger than 64 KiB, which no key file is",
            )));
        }
        Self::from_pem(pem.expose_secret())
    }

    /// The key's `kid`.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Whether this is an HMAC secret.
    pub fn is_secret(&self) -> bool {
        matches!(self.material, Material::Secret(_))
    }

    /// Whether the key can sign: a secret or a private key.
    pub fn is_private(&self) -> bool {
        match &self.material {
            Material::Secret(_) => true,
            #[cfg(feature = "asymmetric")]
            Material::Asymmetric(key) => key.is_private(),
        }
    }

    /// The one algorithm an asymmetric key serves (`EdDSA` for Ed25519, `ES256` for
    /// P-256, `RS256` for RSA); `None` for a secret, which serves the configured HMAC
    /// algorithm.
    pub fn algorithm(&self) -> Option<JwtAlgorithm> {
        match &self.material {
            Material::Secret(_) => None,
            #[cfg(feature = "asymmetric")]
            Material::Asymmetric(key) => Some(key.algorithm()),
        }
    }

    /// The key's JWK as the JWKS publishes it (`kty`, `crv`/`x`/`y` or `n`/`e`, `use`,
    /// `alg`, `kid`; public members only, also for a private key); `None` for a secret.
    pub fn to_public_jwk(&self) -> Option<serde_json::Value> {
        match &self.material {
            Material::Secret(_) => None,
            #[cfg(feature = "asymmetric")]
            Material::Asymmetric(key) => serde_json::to_value(key.published_jwk(&self.kid)).ok(),
        }
    }

    pub(crate) fn material(&self) -> &Material {
        &self.material
    }

    /// A short description for messages: `secret`, `Ed25519 public key`, ….
    pub(crate) fn describe(&self) -> String {
        match &self.material {
            Material::Secret(_) => "a secret".to_owned(),
            #[cfg(feature = "asymmetric")]
            Material::Asymmetric(key) => format!("an {key:?}"),
        }
    }

    /// Whether this key may sign tokens of `algorithm` (the current signing key of an
    /// asymmetric algorithm: a private key of its type).
    pub(crate) fn check_signing(&self, algorithm: JwtAlgorithm) -> Result<(), KeyError> {
        self.check_type(algorithm)?;
        self.check_verifying(algorithm)?;
        if !self.is_private() {
            return Err(KeyError::NotPrivate);
        }
        Ok(())
    }

    /// Whether this key may verify tokens on a server whose algorithm is `configured`: a
    /// secret only under an HMAC algorithm, with its length; an asymmetric key under its
    /// own algorithm, whatever the configured one is.
    pub(crate) fn check_verifying(&self, configured: JwtAlgorithm) -> Result<(), KeyError> {
        match &self.material {
            Material::Secret(secret) => {
                if !configured.is_hmac() {
                    return Err(KeyError::SecretWithoutHmac {
                        algorithm: configured.name(),
                    });
                }
                let (min, actual) = (configured.min_secret_len(), secret.expose_secret().len());
                if actual < min {
                    return Err(KeyError::SecretTooShort {
                        algorithm: configured.name(),
                        min,
                        actual,
                    });
                }
                Ok(())
            }
            #[cfg(feature = "asymmetric")]
            Material::Asymmetric(_) => Ok(()),
        }
    }

    /// Whether this key is of the type `algorithm` needs (for the signing key).
    pub(crate) fn check_type(&self, algorithm: JwtAlgorithm) -> Result<(), KeyError> {
        match &self.material {
            Material::Secret(_) if algorithm.is_hmac() => Ok(()),
            Material::Secret(_) => Err(KeyError::WrongAlgorithm {
                key: "an HMAC secret",
                algorithm: algorithm.name(),
            }),
            #[cfg(feature = "asymmetric")]
            Material::Asymmetric(key) if key.algorithm() == algorithm => Ok(()),
            #[cfg(feature = "asymmetric")]
            Material::Asymmetric(key) => Err(KeyError::WrongAlgorithm {
                key: key.type_name(),
                algorithm: algorithm.name(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn an_endless_or_missing_key_file_is_an_error_not_a_hang() {
        for path in ["/dev/zero", "/nonexistent/key.pem"] {
            let error = JwtKey::from_pem_file(path).unwrap_err();
            assert!(
                matches!(error, KeyError::Unreadable(_)),
                "{path}: {error:?}"
            );
        }
    }

    #[test]
    fn a_secrets_kid_is_stable_short_and_reveals_nothing_of_it() {
        let secret = "0123456789abcdef0123456789abcdef";
        let key = JwtKey::secret(secret);
        assert_eq!(key.kid(), JwtKey::secret(secret).kid());
        assert_ne!(
            key.kid(),
            JwtKey::secret("another secret of 32 bytes or more!").kid()
        );
        assert_eq!(key.kid().len(), 22);
        // Not the secret, not a piece of it, not its plain hash.
        assert!(!key.kid().contains("0123"));
        let plain = URL_SAFE_NO_PAD.encode(Sha256::digest(secret.as_bytes()));
        assert!(!plain.starts_with(key.kid()));
        let debug = format!("{key:?}");
        assert!(
            !debug.contains(secret) && debug.contains(key.kid()),
            "{debug}"
        );
        assert!(key.to_public_jwk().is_none());
        assert_eq!(key.algorithm(), None);
    }
}
