//! The HMAC algorithms (RFC 7518 §3.2), keyed once.

use hmac::{Hmac, KeyInit as _};
use sha2::{Sha256, Sha384, Sha512};

use crate::config::JwtAlgorithm;
use crate::error::ConfigError;

/// A secret, keyed once: HMAC's inner and outer states are precomputed, so each token
/// costs only the hashing of its own bytes.
#[derive(Clone)]
pub(super) enum MacKey {
    Hs256(Hmac<Sha256>),
    Hs384(Hmac<Sha384>),
    Hs512(Hmac<Sha512>),
}

impl MacKey {
    pub(super) fn new(algorithm: JwtAlgorithm, secret: &[u8]) -> Result<Self, ConfigError> {
        let unusable = |_| ConfigError::Invalid("unusable JWT secret".to_owned());
        Ok(match algorithm {
            JwtAlgorithm::Hs256 => Self::Hs256(Hmac::new_from_slice(secret).map_err(unusable)?),
            JwtAlgorithm::Hs384 => Self::Hs384(Hmac::new_from_slice(secret).map_err(unusable)?),
            JwtAlgorithm::Hs512 => Self::Hs512(Hmac::new_from_slice(secret).map_err(unusable)?),
            other => {
                return Err(ConfigError::Invalid(format!(
                    "{} is not an HMAC algorithm",
                    other.name()
                )));
            }
        })
    }

    /// The MAC of `input`, appended to `out` in base64url.
    pub(super) fn sign_into(&self, input: &[u8], out: &mut String) {
        match self {
            Self::Hs256(key) => encode_tag(key.clone(), input, out),
            Self::Hs384(key) => encode_tag(key.clone(), input, out),
            Self::Hs512(key) => encode_tag(key.clone(), input, out),
        }
    }

    /// Whether `tag` is the MAC of `input`; the comparison takes the same time wherever
    /// the first wrong byte is.
    pub(super) fn verify(&self, input: &[u8], tag: &[u8]) -> bool {
        match self {
            Self::Hs256(key) => check_tag(key.clone(), input, tag),
            Self::Hs384(key) => check_tag(key.clone(), input, tag),
            Self::Hs512(key) => check_tag(key.clone(), input, tag),
        }
    }

    /// The MAC's length in bytes.
    pub(super) fn tag_len(&self) -> usize {
        match self {
            Self::Hs256(_) => 32,
            Self::Hs384(_) => 48,
            Self::Hs512(_) => 64,
        }
    }
}

fn encode_tag<M: hmac::Mac>(mut mac: M, input: &[u8], out: &mut String) {
    mac.update(input);
    base64::Engine::encode_string(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        mac.finalize().into_bytes(),
        out,
    );
}

fn check_tag<M: hmac::Mac>(mut mac: M, input: &[u8], tag: &[u8]) -> bool {
    mac.update(input);
    mac.verify_slice(tag).is_ok()
}
