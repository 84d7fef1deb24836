//! [`MfaStore`]: TOTP enrolments and recovery codes.

use std::fmt::Debug;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::error::StoreError;
use crate::mfa::{RecoveryCodeHash, TotpRecord};
use crate::user::UserId;

/// Persistence of second factors (see [`crate::TotpRecord`]). A user's
/// [`User::mfa_enabled`](crate::User::mfa_enabled), as every user read returns it, is
/// whether a confirmed TOTP enrolment exists.
#[async_trait]
pub trait MfaStore: Debug + Send + Sync + 'static {
    /// Stores a pending enrolment (`confirmed_at: None`), replacing a pending one; refused
    /// (`false`, nothing written) when a confirmed one exists.
    ///
    /// # Errors
    ///
    /// Backend failures.
    async fn put_pending_totp(&self, record: &TotpRecord) -> Result<bool, StoreError>;

    /// The user's enrolment, pending or confirmed.
    ///
    /// # Errors
    ///
    /// Backend failures.
    async fn find_totp(&self, user_id: UserId) -> Result<Option<TotpRecord>, StoreError>;

    /// Confirms a pending enrolment whose `pending_expires_at > now`, recording `step` as
    /// used; `false` when there is none (or it is confirmed already, or expired).
    ///
    /// # Errors
    ///
    /// Backend failures.
    async fn confirm_totp(
        &self,
        user_id: UserId,
        step: i64,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// Records `step` as used for a confirmed enrolment, atomically and only if it is
    /// later than the last used step: `false` for a replayed (or older) step.
    ///
    /// # Errors
    ///
    /// Backend failures.
    async fn use_totp_step(&self, user_id: UserId, step: i64) -> Result<bool, StoreError>;

    /// Deletes the user's enrolment and recovery codes; `true` if there was an enrolment.
    ///
    /// # Errors
    ///
    /// Backend failures.
    async fn delete_totp(&self, user_id: UserId) -> Result<bool, StoreError>;

    /// Replaces all of the user's recovery codes with these.
    ///
    /// # Errors
    ///
    /// Backend failures.
    async fn replace_recovery_codes(
        &self,
        user_id: UserId,
        codes: &[RecoveryCodeHash],
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;

    /// Uses one recovery code, atomically: `true` once, `false` for an unknown or used one.
    ///
    /// # Errors
    ///
    /// Backend failures.
    async fn use_recovery_code(
        &self,
        user_id: UserId,
        code: &RecoveryCodeHash,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// How many unused recovery codes the user has.
    ///
    /// # Errors
    ///
    /// Backend failures.
    async fn count_recovery_codes(&self, user_id: UserId) -> Result<u32, StoreError>;

    /// Deletes pending enrolments with `pending_expires_at <= now`; returns how many.
    ///
    /// # Errors
    ///
    /// Backend failures.
    async fn purge_expired_totp(&self, now: OffsetDateTime) -> Result<u64, StoreError>;
}
