//! Opaque tokens (refresh and password reset): generation, hashing, and the stored record.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::user::UserId;

/// Bytes of OS randomness in an opaque token: 256 bits (ASVS 5.0 7.2.3 asks for 128).
pub const OPAQUE_TOKEN_BYTES: usize = 32;
/// Longest string accepted as an opaque token; anything longer is refused unhashed.
pub const MAX_OPAQUE_TOKEN_LEN: usize = 256;

/// What an opaque token is for; the `token_type` discriminator of the Python MyAuth module
/// this project re-imagines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// A rotating refresh token.
    Refresh,
    /// A single-use password-reset token.
    PasswordReset,
}

impl TokenKind {
    /// The stored discriminator: `refresh` or `password_reset`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Refresh => "refresh",
            Self::PasswordReset => "password_reset",
        }
    }

    /// Parses a stored discriminator.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "refresh" => Some(Self::Refresh),
            "password_reset" => Some(Self::PasswordReset),
            _ => None,
        }
    }
}

impl fmt::Display for TokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The SHA-256 of an opaque token: the only form in which tokens are stored.
///
/// Equality is constant-time. `Debug` prints only a short prefix, enough to correlate logs
/// but not to look a token up.
#[derive(Clone, Copy, Eq)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// Hashes a token as presented by a client.
    pub fn of(token: &str) -> Self {
        Self(Sha256::digest(token.as_bytes()).into())
    }

    /// Wraps 32 stored bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Wraps a stored byte slice; `None` unless it is exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(Self)
    }

    /// The 32 bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex, for stores that keep text.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Parses lower- or upper-case hex of 32 bytes.
    pub fn from_hex(hex: &str) -> Option<Self> {
        // Hex digits only: `from_str_radix` alone would also take a sign (`+f`).
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(Self(out))
    }
}

impl PartialEq for TokenHash {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl std::hash::Hash for TokenHash {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenHash({}…)", &self.to_hex()[..8])
    }
}

/// A freshly generated opaque token: the string for the client and its hash for the store.
pub struct OpaqueToken {
    token: String,
    hash: TokenHash,
}

impl fmt::Debug for OpaqueToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpaqueToken")
            .field("token", &"[redacted]")
            .field("hash", &self.hash)
            .finish()
    }
}

impl OpaqueToken {
    /// 32 bytes from the operating system's CSPRNG, base64url without padding (43 chars).
    ///
    /// # Errors
    ///
    /// When the OS random source fails, which callers treat as the service being unavailable.
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut bytes = [0u8; OPAQUE_TOKEN_BYTES];
        getrandom::fill(&mut bytes)?;
        let token = URL_SAFE_NO_PAD.encode(bytes);
        let hash = TokenHash::of(&token);
        Ok(Self { token, hash })
    }

    /// The token to hand to the client.
    pub fn as_str(&self) -> &str {
        &self.token
    }

    /// The hash to store.
    pub fn hash(&self) -> TokenHash {
        self.hash
    }

    /// Splits into the client string and the hash.
    pub fn into_parts(self) -> (String, TokenHash) {
        (self.token, self.hash)
    }
}

/// A stored opaque token. One table/collection holds every kind, told apart by `kind`.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenRecord {
    /// Row id.
    pub id: Uuid,
    /// Owner.
    pub user_id: UserId,
    /// What the token is for.
    pub kind: TokenKind,
    /// SHA-256 of the token; unique.
    pub token_hash: TokenHash,
    /// Refresh tokens: the rotation family (one per login). `None` for other kinds.
    pub family_id: Option<Uuid>,
    /// Refresh tokens: the absolute end of the family, which rotation never passes.
    pub family_expires_at: Option<OffsetDateTime>,
    /// End of this token's own life.
    pub expires_at: OffsetDateTime,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// When it was consumed, if it was.
    pub used_at: Option<OffsetDateTime>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<OffsetDateTime>,
}

/// The outcome of [`TokenStore::consume_token`](crate::TokenStore::consume_token).
///
/// When a token is in several states at once, the first that applies wins:
/// used, then revoked, then expired.
#[derive(Debug, Clone, PartialEq)]
pub enum ConsumeOutcome {
    /// The token was live and is now marked used; the record as it is after the update.
    Consumed(TokenRecord),
    /// No token of that kind has that hash.
    Unknown,
    /// The token had been used before (for refresh tokens: a replay).
    AlreadyUsed(TokenRecord),
    /// The token had been revoked.
    Revoked(TokenRecord),
    /// The token's lifetime is over.
    Expired(TokenRecord),
}

impl ConsumeOutcome {
    /// Classifies a record that the atomic update did *not* consume.
    pub fn classify(record: Option<TokenRecord>, now: OffsetDateTime) -> Self {
        match record {
            None => Self::Unknown,
            Some(r) if r.used_at.is_some() => Self::AlreadyUsed(r),
            Some(r) if r.revoked_at.is_some() => Self::Revoked(r),
            Some(r) if r.expires_at <= now => Self::Expired(r),
            // Live when read: only possible if another writer changed it in between. Report
            // it as used, the conservative answer for a token we failed to consume.
            Some(r) => Self::AlreadyUsed(r),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn opaque_tokens_are_256_bit_url_safe_and_distinct() {
        let mut seen = HashSet::new();
        for _ in 0..1000 {
            let token = OpaqueToken::generate().unwrap();
            assert_eq!(token.as_str().len(), 43);
            assert!(
                token
                    .as_str()
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            );
            let decoded = URL_SAFE_NO_PAD.decode(token.as_str()).unwrap();
            assert_eq!(decoded.len(), OPAQUE_TOKEN_BYTES);
            assert!(seen.insert(token.as_str().to_owned()));
        }
    }

    #[test]
    fn only_the_sha256_is_kept_for_storage() {
        let token = OpaqueToken::generate().unwrap();
        let expected: [u8; 32] = Sha256::digest(token.as_str().as_bytes()).into();
        assert_eq!(token.hash().as_bytes(), &expected);
        assert_eq!(TokenHash::of(token.as_str()), token.hash());
        assert!(!format!("{token:?}").contains(token.as_str()));
        assert!(!format!("{:?}", token.hash()).contains(&token.hash().to_hex()));
    }

    #[test]
    fn hex_round_trips() {
        let hash = TokenHash::of("abc");
        assert_eq!(TokenHash::from_hex(&hash.to_hex()), Some(hash));
        assert_eq!(
            TokenHash::from_hex(&hash.to_hex().to_uppercase()),
            Some(hash)
        );
        assert_eq!(TokenHash::from_hex("zz"), None);
        assert_eq!(TokenHash::from_slice(hash.as_bytes()), Some(hash));
        assert_eq!(TokenHash::from_slice(&[0u8; 31]), None);
    }

    /// Found by the fuzz target `opaque_token`: `u8::from_str_radix` takes a leading `+`,
    /// so a 64-character string with `+3` in it was read as the byte 0x03 — a stored
    /// hash with two spellings.
    #[test]
    fn hex_with_a_sign_is_not_a_hash() {
        let hex = TokenHash::of("abc").to_hex();
        let signed = format!("{}+{}", &hex[..2], &hex[3..]);
        assert_eq!(signed.len(), 64);
        assert_eq!(TokenHash::from_hex(&signed), None);
        assert_eq!(TokenHash::from_hex(&format!("-{}", &hex[1..])), None);
        assert_eq!(TokenHash::from_hex(&" ".repeat(64)), None);
    }

    #[test]
    fn kinds_round_trip_through_their_discriminator() {
        for kind in [TokenKind::Refresh, TokenKind::PasswordReset] {
            assert_eq!(TokenKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(TokenKind::parse("access"), None);
    }
}
