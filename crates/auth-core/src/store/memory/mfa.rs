//! [`MfaStore`] for [`MemoryStore`].

use async_trait::async_trait;
use time::OffsetDateTime;

use super::{Inner, MemoryStore};
use crate::error::StoreError;
use crate::mfa::{RecoveryCodeHash, TotpRecord};
use crate::store::MfaStore;
use crate::user::UserId;

/// Keeps the user's `mfa_enabled` equal to "a confirmed enrolment exists".
fn sync_flag(inner: &mut Inner, user_id: UserId) {
    let enabled = inner
        .totp
        .get(&user_id)
        .is_some_and(TotpRecord::is_confirmed);
    if let Some(user) = inner.users.get_mut(&user_id) {
        user.mfa_enabled = enabled;
    }
}

#[async_trait]
impl MfaStore for MemoryStore {
    async fn put_pending_totp(&self, record: &TotpRecord) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        if inner
            .totp
            .get(&record.user_id)
            .is_some_and(TotpRecord::is_confirmed)
        {
            return Ok(false);
        }
        let mut pending = record.clone();
        pending.confirmed_at = None;
        inner.totp.insert(record.user_id, pending);
        Ok(true)
    }

    async fn find_totp(&self, user_id: UserId) -> Result<Option<TotpRecord>, StoreError> {
        Ok(self.lock().totp.get(&user_id).cloned())
    }

    async fn confirm_totp(
        &self,
        user_id: UserId,
        step: i64,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        let confirmed = match inner.totp.get_mut(&user_id) {
            Some(record) if record.confirmed_at.is_none() && record.pending_expires_at > now => {
                record.confirmed_at = Some(now);
                record.last_used_step = Some(step);
                true
            }
            _ => false,
        };
        sync_flag(&mut inner, user_id);
        Ok(confirmed)
    }

    async fn use_totp_step(&self, user_id: UserId, step: i64) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        match inner.totp.get_mut(&user_id) {
            Some(record)
                if record.is_confirmed()
                    && record.last_used_step.is_none_or(|last| last < step) =>
            {
                record.last_used_step = Some(step);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn delete_totp(&self, user_id: UserId) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        let existed = inner.totp.remove(&user_id).is_some();
        inner.recovery.remove(&user_id);
        sync_flag(&mut inner, user_id);
        Ok(existed)
    }

    async fn replace_recovery_codes(
        &self,
        user_id: UserId,
        codes: &[RecoveryCodeHash],
        _now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.lock()
            .recovery
            .insert(user_id, codes.iter().map(|c| (*c, None)).collect());
        Ok(())
    }

    async fn use_recovery_code(
        &self,
        user_id: UserId,
        code: &RecoveryCodeHash,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        let slot = inner.recovery.get_mut(&user_id).and_then(|codes| {
            codes
                .iter_mut()
                .find(|(c, used)| c == code && used.is_none())
        });
        match slot {
            Some((_, used)) => {
                *used = Some(now);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn count_recovery_codes(&self, user_id: UserId) -> Result<u32, StoreError> {
        let inner = self.lock();
        let unused = inner.recovery.get(&user_id).map_or(0, |codes| {
            codes.iter().filter(|(_, used)| used.is_none()).count()
        });
        Ok(u32::try_from(unused).unwrap_or(u32::MAX))
    }

    async fn purge_expired_totp(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let mut inner = self.lock();
        let before = inner.totp.len();
        inner
            .totp
            .retain(|_, r| r.is_confirmed() || r.pending_expires_at > now);
        Ok((before - inner.totp.len()) as u64)
    }
}
