//! Multi-factor authentication: what a store keeps of a user's TOTP enrolment and
//! recovery codes.
//!
//! The TOTP secret is stored only encrypted (the service encrypts it under its data keys
//! before a store sees it); recovery codes only as keyed hashes. Single use is the store's
//! job: [`MfaStore::use_totp_step`](crate::MfaStore::use_totp_step) and
//! [`MfaStore::use_recovery_code`](crate::MfaStore::use_recovery_code) are each one atomic
//! conditional write, so of N concurrent uses of one code exactly one succeeds.

use std::fmt;

use time::OffsetDateTime;

use crate::user::UserId;

/// A user's TOTP enrolment.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpRecord {
    /// Owner.
    pub user_id: UserId,
    /// The secret, encrypted by the service (it names its key); never the secret itself.
    pub secret: Vec<u8>,
    /// When the setup began.
    pub created_at: OffsetDateTime,
    /// When it was confirmed with a first code; `None` while pending.
    pub confirmed_at: Option<OffsetDateTime>,
    /// A pending setup is discarded after this time.
    pub pending_expires_at: OffsetDateTime,
    /// The last time step whose code was accepted; a code of this step or an earlier one is
    /// refused (RFC 6238 §5.2).
    pub last_used_step: Option<i64>,
}

impl fmt::Debug for TotpRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TotpRecord")
            .field("user_id", &self.user_id)
            .field("secret", &"[redacted]")
            .field("created_at", &self.created_at)
            .field("confirmed_at", &self.confirmed_at)
            .field("pending_expires_at", &self.pending_expires_at)
            .field("last_used_step", &self.last_used_step)
            .finish()
    }
}

impl TotpRecord {
    /// Whether the enrolment is confirmed: TOTP is then required at login.
    pub fn is_confirmed(&self) -> bool {
        self.confirmed_at.is_some()
    }
}

/// The keyed hash of one recovery code, as stored.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct RecoveryCodeHash(pub [u8; 32]);

impl fmt::Debug for RecoveryCodeHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecoveryCodeHash([redacted])")
    }
}
