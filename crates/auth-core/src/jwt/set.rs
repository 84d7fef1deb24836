//! The key set: one signing key and the verification-only previous keys, each with its
//! `kid`, its one algorithm and the exact headers we issue with it.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::ExposeSecret;

#[cfg(feature = "asymmetric")]
use super::asymmetric::AsymmetricKey;
use super::key::{JwtKey, Material};
use super::mac::MacKey;
use crate::config::{AuthConfig, JwtAlgorithm};
use crate::error::{AuthError, ConfigError};

/// The header `typ` of each token kind, by [`Kind::index`](super::Kind).
pub(super) const KIND_TYPS: [&str; 2] = [super::ACCESS_TOKEN_TYP, super::VERIFY_TOKEN_TYP];

/// The longest MAC (HS512); Ed25519 and ES256 signatures have the same length.
const MAX_MAC_LEN: usize = 64;

/// What signs and checks with one key.
pub(super) enum Crypto {
    Mac(MacKey),
    #[cfg(feature = "asymmetric")]
    Asymmetric(AsymmetricKey),
}

impl Crypto {
    /// Appends the base64url signature of `input` to `out`.
    fn sign_into(&self, input: &[u8], out: &mut String) -> Result<(), AuthError> {
        match self {
            Self::Mac(mac) => {
                mac.sign_into(input, out);
                Ok(())
            }
            #[cfg(feature = "asymmetric")]
            Self::Asymmetric(key) => key
                .sign_into(input, out)
                .map_err(|e| AuthError::Unavailable(Box::new(e))),
        }
    }

    /// Whether `encoded` (base64url) is this key's signature of `input`. A MAC is decoded
    /// on the stack and compared in constant time.
    pub(super) fn verify(&self, input: &[u8], encoded: &str) -> bool {
        match self {
            Self::Mac(mac) => {
                let mut tag = [0u8; MAX_MAC_LEN + 3];
                match URL_SAFE_NO_PAD.decode_slice(encoded, &mut tag) {
                    Ok(len) => mac.verify(input, &tag[..len]),
                    Err(_) => false,
                }
            }
            #[cfg(feature = "asymmetric")]
            Self::Asymmetric(key) => {
                // At most the key's signature length: a longer text is refused undecoded.
                if encoded.len() > key.signature_len().div_ceil(3) * 4 {
                    return false;
                }
                match URL_SAFE_NO_PAD.decode(encoded) {
                    Ok(signature) => key.verify(input, &signature),
                    Err(_) => false,
                }
            }
        }
    }

    /// Length of the base64url signature, for buffer sizes.
    fn encoded_len(&self) -> usize {
        let bytes = match self {
            Self::Mac(mac) => mac.tag_len(),
            #[cfg(feature = "asymmetric")]
            Self::Asymmetric(key) => key.signature_len(),
        };
        (bytes * 4).div_ceil(3)
    }
}

/// One key of the set.
pub(super) struct SetKey {
    pub(super) kid: String,
    /// Its one algorithm: the configured one for a secret, its type's for a PEM key.
    pub(super) algorithm: JwtAlgorithm,
    pub(super) crypto: Crypto,
    /// The encoded headers we issue with this key, by kind: a token whose header is
    /// exactly one of these needs no header parsing.
    pub(super) headers: [String; 2],
}

impl SetKey {
    fn new(key: &JwtKey, configured: JwtAlgorithm) -> Result<Self, ConfigError> {
        let (algorithm, crypto) = match key.material() {
            Material::Secret(secret) => (
                configured,
                Crypto::Mac(MacKey::new(configured, secret.expose_secret().as_bytes())?),
            ),
            #[cfg(feature = "asymmetric")]
            Material::Asymmetric(asymmetric) => (
                asymmetric.algorithm(),
                Crypto::Asymmetric(asymmetric.clone()),
            ),
        };
        let kid = key.kid().to_owned();
        let headers = KIND_TYPS.map(|typ| {
            encoded_header(&serde_json::json!({ "alg": algorithm.name(), "kid": kid, "typ": typ }))
        });
        Ok(Self {
            kid,
            algorithm,
            crypto,
            headers,
        })
    }

    /// Signs `input`: the third part of a token.
    pub(super) fn sign(&self, input: &[u8]) -> Result<String, AuthError> {
        let mut tag = String::with_capacity(self.crypto.encoded_len());
        self.crypto.sign_into(input, &mut tag)?;
        Ok(tag)
    }
}

fn encoded_header(header: &serde_json::Value) -> String {
    URL_SAFE_NO_PAD.encode(header.to_string())
}

/// The signing key first, then the previous keys; one `kid` each.
pub(super) struct KeySet {
    keys: Vec<SetKey>,
    /// The headers of tokens from before every token had a `kid`: checked against the
    /// signing key, as the contract says for a token without `kid`.
    kidless_headers: [String; 2],
    jwks: String,
}

impl KeySet {
    /// The set a validated configuration describes: the JWT secret signs under an HMAC
    /// algorithm, the private key under an asymmetric one; previous keys only verify.
    pub(super) fn new(config: &AuthConfig) -> Result<Self, ConfigError> {
        let algorithm = config.jwt_algorithm();
        config.validate_jwt_keys()?;
        let signing = if algorithm.is_hmac() {
            JwtKey::secret(config.jwt_secret().expose_secret())
        } else {
            config.jwt_signing_key().cloned().ok_or_else(|| {
                ConfigError::Invalid(format!("{} needs a signing key", algorithm.name()))
            })?
        };
        let mut keys = vec![SetKey::new(&signing, algorithm)?];
        for key in config.jwt_previous_keys() {
            // The same key twice (or the signing key again) adds nothing.
            if keys.iter().any(|k| k.kid == key.kid()) {
                continue;
            }
            keys.push(SetKey::new(key, algorithm)?);
        }
        let kidless_headers = KIND_TYPS
            .map(|typ| encoded_header(&serde_json::json!({ "alg": algorithm.name(), "typ": typ })));
        let jwks = jwks_json(config);
        Ok(Self {
            keys,
            kidless_headers,
            jwks,
        })
    }

    /// The key that signs.
    pub(super) fn signing(&self) -> &SetKey {
        &self.keys[0]
    }

    /// The key whose issued header `header` is, byte for byte (the fast path).
    pub(super) fn by_header(&self, header: &str, kind: usize) -> Option<&SetKey> {
        self.keys
            .iter()
            .find(|key| key.headers[kind] == header)
            .or_else(|| (self.kidless_headers[kind] == header).then(|| self.signing()))
    }

    /// The key a `kid` names; without one, the signing key.
    pub(super) fn by_kid(&self, kid: Option<&str>) -> Option<&SetKey> {
        match kid {
            None => Some(self.signing()),
            Some(kid) => self.keys.iter().find(|key| key.kid == kid),
        }
    }

    /// The kids of the set, signing key first.
    pub(super) fn kids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|key| key.kid.as_str())
    }

    /// The JWK Set (RFC 7517 §5) of the public keys, as JSON text.
    pub(super) fn jwks(&self) -> &str {
        &self.jwks
    }
}

/// `{"keys": [...]}` with the public JWK of every asymmetric key of the set, the signing
/// key first; a secret is never published.
fn jwks_json(config: &AuthConfig) -> String {
    let mut seen: Vec<&str> = Vec::new();
    let mut keys = Vec::new();
    let signing = config
        .jwt_signing_key()
        .filter(|_| !config.jwt_algorithm().is_hmac());
    for key in signing.into_iter().chain(config.jwt_previous_keys()) {
        if seen.contains(&key.kid()) {
            continue;
        }
        seen.push(key.kid());
        if let Some(jwk) = key.to_public_jwk() {
            keys.push(jwk);
        }
    }
    serde_json::json!({ "keys": keys }).to_string()
}
