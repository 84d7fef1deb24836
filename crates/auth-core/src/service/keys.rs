//! The server's own HMAC keys, derived from the JWT secret with HKDF (RFC 5869) under
//! distinct labels, so no two uses share a key and none is the JWT secret itself — also
//! when access tokens are signed with an asymmetric key.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hkdf::Hkdf;
use hmac::{Hmac, KeyInit as _, Mac as _};
use sha2::Sha256;

use crate::error::ConfigError;

/// The label of the key that derives refresh-token successors in the reuse grace window.
const GRACE_LABEL: &[u8] = b"myauth/v1/refresh-grace-successor";
/// The label of the data key used when none is configured.
const DATA_KEY_LABEL: &[u8] = b"myauth/v1/data-key";
/// The label of the key that makes and checks CSRF tokens of the browser support.
const CSRF_LABEL: &[u8] = b"myauth/v1/csrf";

/// Keys for the server's own MACs.
#[derive(Clone)]
pub(crate) struct ServerKeys {
    grace: Hmac<Sha256>,
    csrf: [u8; 32],
    data: [u8; 32],
}

impl fmt::Debug for ServerKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServerKeys([redacted])")
    }
}

fn derive(secret: &[u8], label: &[u8]) -> [u8; 32] {
    let mut key = [0u8; 32];
    // Expanding 32 bytes never exceeds HKDF-SHA256's limit of 255 × 32.
    let _ = Hkdf::<Sha256>::new(None, secret).expand(label, &mut key);
    key
}

impl ServerKeys {
    /// The keys derived from the server secret.
    pub(crate) fn new(secret: &[u8]) -> Result<Self, ConfigError> {
        let grace = Hmac::new_from_slice(&derive(secret, GRACE_LABEL))
            .map_err(|_| ConfigError::Invalid("unusable server secret".to_owned()))?;
        Ok(Self {
            grace,
            csrf: derive(secret, CSRF_LABEL),
            data: derive(secret, DATA_KEY_LABEL),
        })
    }

    /// The refresh token that follows `presented` in the grace window: a MAC of it, so a
    /// replay within the window is answered with the same successor without the successor
    /// ever being stored in clear (only its SHA-256 is, like every refresh token).
    pub(crate) fn grace_successor(&self, presented: &str) -> String {
        let mut mac = self.grace.clone();
        mac.update(presented.as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// The data key derived from the server secret, for a server without configured data
    /// keys.
    pub(crate) fn data_key(&self) -> [u8; 32] {
        self.data
    }

    /// The CSRF key.
    pub(crate) fn csrf_key(&self) -> &[u8; 32] {
        &self.csrf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_distinct_per_label_and_per_secret_and_successors_are_stable() {
        let a = ServerKeys::new(b"secret one, at least thirty-two bytes").unwrap();
        let b = ServerKeys::new(b"secret two, at least thirty-two bytes").unwrap();
        assert_ne!(a.csrf_key(), b.csrf_key());
        assert_ne!(&derive(b"s", GRACE_LABEL), &derive(b"s", CSRF_LABEL));
        let first = a.grace_successor("token");
        assert_eq!(first, a.grace_successor("token"));
        assert_ne!(first, a.grace_successor("other"));
        assert_ne!(first, b.grace_successor("token"));
        assert_eq!(first.len(), 43, "as long as a generated refresh token");
        assert!(!format!("{a:?}").contains("secret"));
    }
}
