//! Encryption of secrets at rest (TOTP secrets) under the data keys: AES-256-GCM, a random
//! 96-bit nonce per message, and the record's owner as associated data, so a ciphertext
//! copied into another user's row does not decrypt there.
//!
//! A ciphertext is `version (1) ‖ key id (8) ‖ nonce (12) ‖ ciphertext ‖ tag (16)`. The key
//! id is a SHA-256 fingerprint of the key, so every listed key can decrypt what it
//! encrypted: the first key encrypts, the others only decrypt, and keys rotate by putting
//! a new one first and keeping each old one as long as secrets made under it exist (an
//! enrolment made again is made under the first key).

use std::fmt;

use aes_gcm::aead::{Aead as _, KeyInit as _, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use sha2::{Digest as _, Sha256};

/// The format version byte.
const VERSION: u8 = 1;
const KEY_ID_LEN: usize = 8;
const NONCE_LEN: usize = 12;
const HEADER_LEN: usize = 1 + KEY_ID_LEN + NONCE_LEN;

/// One 256-bit data key.
#[derive(Clone)]
struct DataKey {
    id: [u8; KEY_ID_LEN],
    cipher: Aes256Gcm,
}

impl DataKey {
    fn new(bytes: &[u8; 32]) -> Self {
        let digest = Sha256::new()
            .chain_update(b"myauth/v1/data-key-id")
            .chain_update(bytes)
            .finalize();
        let mut id = [0u8; KEY_ID_LEN];
        id.copy_from_slice(&digest[..KEY_ID_LEN]);
        Self {
            id,
            cipher: Aes256Gcm::new(&Key::<Aes256Gcm>::from(*bytes)),
        }
    }
}

/// Why a ciphertext could not be read: no listed key made it, or it was altered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum DecryptError {
    /// The ciphertext names a key that is not among the data keys (was it removed too
    /// early?).
    #[error("the secret was encrypted under a data key that is no longer configured")]
    UnknownKey,
    /// Truncated, altered, or bound to another owner.
    #[error("the encrypted secret is damaged or belongs to another record")]
    Damaged,
}

/// The data keys, first one encrypting.
#[derive(Clone)]
pub(crate) struct DataKeys {
    keys: Vec<DataKey>,
}

impl fmt::Debug for DataKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DataKeys({} keys, [redacted])", self.keys.len())
    }
}

impl DataKeys {
    /// The keys in order of preference; `keys` must not be empty (the configuration
    /// guarantees it).
    pub(crate) fn new(keys: &[[u8; 32]]) -> Self {
        Self {
            keys: keys.iter().map(DataKey::new).collect(),
        }
    }

    /// Encrypts `plaintext` for `owner` under the first key; `None` when the OS gives no
    /// randomness for the nonce (a repeated nonce would break AES-GCM).
    pub(crate) fn encrypt(&self, plaintext: &[u8], owner: &[u8]) -> Option<Vec<u8>> {
        let key = &self.keys[0];
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).ok()?;
        let sealed = key
            .cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: owner,
                },
            )
            // AES-GCM fails only for messages over 64 GiB.
            .ok()?;
        let mut out = Vec::with_capacity(HEADER_LEN + sealed.len());
        out.push(VERSION);
        out.extend_from_slice(&key.id);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Some(out)
    }

    /// Decrypts a ciphertext made for `owner`; also says whether it was under a key other
    /// than the first (an old key still in use).
    pub(crate) fn decrypt(
        &self,
        ciphertext: &[u8],
        owner: &[u8],
    ) -> Result<(Vec<u8>, bool), DecryptError> {
        if ciphertext.len() < HEADER_LEN + 16 || ciphertext[0] != VERSION {
            return Err(DecryptError::Damaged);
        }
        let id = &ciphertext[1..=KEY_ID_LEN];
        let position = self
            .keys
            .iter()
            .position(|key| key.id == id)
            .ok_or(DecryptError::UnknownKey)?;
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&ciphertext[1 + KEY_ID_LEN..HEADER_LEN]);
        let plaintext = self.keys[position]
            .cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: &ciphertext[HEADER_LEN..],
                    aad: owner,
                },
            )
            .map_err(|_| DecryptError::Damaged)?;
        Ok((plaintext, position != 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: [u8; 32] = [7; 32];
    const NEW: [u8; 32] = [9; 32];

    #[test]
    fn a_secret_round_trips_and_is_not_in_its_ciphertext() {
        let keys = DataKeys::new(&[NEW]);
        let secret = b"twenty bytes secret!";
        let sealed = keys.encrypt(secret, b"user-1").unwrap();
        assert!(!sealed.windows(secret.len()).any(|w| w == secret));
        assert_eq!(sealed.len(), HEADER_LEN + secret.len() + 16);
        assert_eq!(
            keys.decrypt(&sealed, b"user-1"),
            Ok((secret.to_vec(), false))
        );
        // Two encryptions of one secret differ (fresh nonce).
        assert_ne!(sealed, keys.encrypt(secret, b"user-1").unwrap());
    }

    #[test]
    fn another_owner_or_a_flipped_bit_is_refused() {
        let keys = DataKeys::new(&[NEW]);
        let sealed = keys.encrypt(b"secret", b"user-1").unwrap();
        assert_eq!(keys.decrypt(&sealed, b"user-2"), Err(DecryptError::Damaged));
        for i in [0, HEADER_LEN, sealed.len() - 1] {
            let mut bad = sealed.clone();
            bad[i] ^= 1;
            assert!(keys.decrypt(&bad, b"user-1").is_err(), "byte {i}");
        }
        assert_eq!(
            keys.decrypt(&sealed[..20], b"user-1"),
            Err(DecryptError::Damaged)
        );
    }

    #[test]
    fn keys_rotate_without_losing_secrets() {
        let before = DataKeys::new(&[OLD]);
        let sealed = before.encrypt(b"secret", b"u").unwrap();
        let rotated = DataKeys::new(&[NEW, OLD]);
        assert_eq!(
            rotated.decrypt(&sealed, b"u"),
            Ok((b"secret".to_vec(), true))
        );
        let resealed = rotated.encrypt(b"secret", b"u").unwrap();
        assert_eq!(
            rotated.decrypt(&resealed, b"u"),
            Ok((b"secret".to_vec(), false))
        );
        let old_dropped = DataKeys::new(&[NEW]);
        assert_eq!(
            old_dropped.decrypt(&sealed, b"u"),
            Err(DecryptError::UnknownKey)
        );
        assert!(old_dropped.decrypt(&resealed, b"u").is_ok());
    }
}
