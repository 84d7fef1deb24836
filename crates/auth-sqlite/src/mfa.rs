//! [`MfaStore`] for [`SqliteStore`]: TOTP enrolments and recovery codes.
//!
//! A user's `mfa_enabled` is not written here: every user read computes it from
//! `totp_enrolments` (see `codec::user_columns!`), so each write below that confirms or
//! deletes an enrolment changes it in the same statement.

use auth_core::{MfaStore, RecoveryCodeHash, StoreError, TotpRecord, UserId, async_trait};
use sqlx::QueryBuilder;
use time::OffsetDateTime;

use crate::SqliteStore;
use crate::codec::{to_millis, totp_columns, totp_from_row, uuid_bytes};
use crate::error::store_error;

#[async_trait]
impl MfaStore for SqliteStore {
    /// One upsert whose update applies only to a pending row: a confirmed enrolment is
    /// never replaced, and no row comes back.
    async fn put_pending_totp(&self, record: &TotpRecord) -> Result<bool, StoreError> {
        let _turn = self.write_turn().await;
        let stored = sqlx::query(concat!(
            "INSERT INTO totp_enrolments (",
            totp_columns!(),
            ") VALUES (?1, ?2, ?3, NULL, ?4, ?5) ",
            "ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, ",
            "created_at = excluded.created_at, confirmed_at = NULL, ",
            "pending_expires_at = excluded.pending_expires_at, ",
            "last_used_step = excluded.last_used_step ",
            "WHERE totp_enrolments.confirmed_at IS NULL ",
            "RETURNING user_id"
        ))
        .bind(uuid_bytes(record.user_id.as_uuid()))
        .bind(record.secret.as_slice())
        .bind(to_millis(record.created_at))
        .bind(to_millis(record.pending_expires_at))
        .bind(record.last_used_step)
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(stored.is_some())
    }

    async fn find_totp(&self, user_id: UserId) -> Result<Option<TotpRecord>, StoreError> {
        sqlx::query(concat!(
            "SELECT ",
            totp_columns!(),
            " FROM totp_enrolments WHERE user_id = ?1"
        ))
        .bind(uuid_bytes(user_id.as_uuid()))
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?
        .as_ref()
        .map(totp_from_row)
        .transpose()
    }

    async fn confirm_totp(
        &self,
        user_id: UserId,
        step: i64,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let _turn = self.write_turn().await;
        let result = sqlx::query(
            "UPDATE totp_enrolments SET confirmed_at = ?3, last_used_step = ?2 \
             WHERE user_id = ?1 AND confirmed_at IS NULL AND pending_expires_at > ?3",
        )
        .bind(uuid_bytes(user_id.as_uuid()))
        .bind(step)
        .bind(to_millis(now))
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(result.rows_affected() > 0)
    }

    /// One conditional `UPDATE`: of N concurrent uses of a step, one finds it later than
    /// the last used one.
    async fn use_totp_step(&self, user_id: UserId, step: i64) -> Result<bool, StoreError> {
        let _turn = self.write_turn().await;
        let result = sqlx::query(
            "UPDATE totp_enrolments SET last_used_step = ?2 \
             WHERE user_id = ?1 AND confirmed_at IS NOT NULL \
             AND (last_used_step IS NULL OR last_used_step < ?2)",
        )
        .bind(uuid_bytes(user_id.as_uuid()))
        .bind(step)
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(result.rows_affected() > 0)
    }

    /// The enrolment and the codes in one transaction.
    async fn delete_totp(&self, user_id: UserId) -> Result<bool, StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = ?1")
            .bind(uuid_bytes(user_id.as_uuid()))
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        let deleted = sqlx::query("DELETE FROM totp_enrolments WHERE user_id = ?1")
            .bind(uuid_bytes(user_id.as_uuid()))
            .execute(&mut *tx)
            .await
            .map_err(store_error)?
            .rows_affected();
        tx.commit().await.map_err(store_error)?;
        Ok(deleted > 0)
    }

    /// The old codes deleted and the new ones inserted (one multi-row `INSERT`) in one
    /// transaction: no moment where both or neither work.
    async fn replace_recovery_codes(
        &self,
        user_id: UserId,
        codes: &[RecoveryCodeHash],
        _now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = ?1")
            .bind(uuid_bytes(user_id.as_uuid()))
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        if !codes.is_empty() {
            let mut insert = QueryBuilder::new("INSERT INTO recovery_codes (user_id, code_hash) ");
            insert.push_values(codes, |mut row, code| {
                row.push_bind(uuid_bytes(user_id.as_uuid()))
                    .push_bind(code.0.as_slice());
            });
            insert
                .build()
                .execute(&mut *tx)
                .await
                .map_err(store_error)?;
        }
        tx.commit().await.map_err(store_error)
    }

    /// One conditional `UPDATE`: of N concurrent uses of a code, one finds it unused.
    async fn use_recovery_code(
        &self,
        user_id: UserId,
        code: &RecoveryCodeHash,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let _turn = self.write_turn().await;
        let result = sqlx::query(
            "UPDATE recovery_codes SET used_at = ?3 \
             WHERE user_id = ?1 AND code_hash = ?2 AND used_at IS NULL",
        )
        .bind(uuid_bytes(user_id.as_uuid()))
        .bind(code.0.as_slice())
        .bind(to_millis(now))
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(result.rows_affected() > 0)
    }

    async fn count_recovery_codes(&self, user_id: UserId) -> Result<u32, StoreError> {
        let unused: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM recovery_codes WHERE user_id = ?1 AND used_at IS NULL",
        )
        .bind(uuid_bytes(user_id.as_uuid()))
        .fetch_one(&self.pool)
        .await
        .map_err(store_error)?;
        u32::try_from(unused).map_err(StoreError::corrupt)
    }

    async fn purge_expired_totp(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let _turn = self.write_turn().await;
        let result = sqlx::query(
            "DELETE FROM totp_enrolments WHERE confirmed_at IS NULL AND pending_expires_at <= ?1",
        )
        .bind(to_millis(now))
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(result.rows_affected())
    }
}
