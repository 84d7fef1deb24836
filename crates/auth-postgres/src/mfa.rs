//! [`MfaStore`] for [`PostgresStore`]: TOTP enrolments and recovery codes.
//!
//! Every single-use rule is one conditional UPDATE: concurrent calls on one row wait for
//! its lock and re-check the `WHERE` on the row as the winner left it, so exactly one of N
//! succeeds. A user's `mfa_enabled` is computed from `totp_enrolments` on every user read
//! (see `codec::user_columns`), so nothing here writes `users`.

use std::sync::LazyLock;

use auth_core::async_trait;
use auth_core::{MfaStore, RecoveryCodeHash, StoreError, TotpRecord, UserId};
use time::OffsetDateTime;

use crate::codec::{self, TOTP_COLUMNS};
use crate::error::store_error;
use crate::store::PostgresStore;

/// Inserts a pending enrolment, or replaces the user's pending one — never a confirmed one:
/// the upsert's `WHERE` leaves a confirmed row as it is and returns nothing. One statement,
/// so no confirmation can slip in between a check and a write.
static PUT_PENDING_TOTP: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT INTO totp_enrolments AS e ({TOTP_COLUMNS})
         VALUES ($1, $2, $3, NULL, $4, $5)
         ON CONFLICT (user_id) DO UPDATE SET
            secret = EXCLUDED.secret,
            created_at = EXCLUDED.created_at,
            confirmed_at = NULL,
            pending_expires_at = EXCLUDED.pending_expires_at,
            last_used_step = EXCLUDED.last_used_step
         WHERE e.confirmed_at IS NULL
         RETURNING true"
    )
});

static SELECT_TOTP: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {TOTP_COLUMNS} FROM totp_enrolments WHERE user_id = $1"));

#[async_trait]
impl MfaStore for PostgresStore {
    async fn put_pending_totp(&self, record: &TotpRecord) -> Result<bool, StoreError> {
        self.timed(async {
            let stored: Option<bool> = sqlx::query_scalar(&PUT_PENDING_TOTP)
                .bind(record.user_id.as_uuid())
                .bind(&record.secret)
                .bind(record.created_at)
                .bind(record.pending_expires_at)
                .bind(record.last_used_step)
                .fetch_optional(&self.pool)
                .await
                .map_err(store_error)?;
            Ok(stored.is_some())
        })
        .await
    }

    async fn find_totp(&self, user_id: UserId) -> Result<Option<TotpRecord>, StoreError> {
        self.timed(async {
            sqlx::query(&SELECT_TOTP)
                .bind(user_id.as_uuid())
                .fetch_optional(&self.pool)
                .await
                .map_err(store_error)?
                .map(|row| codec::totp(&row))
                .transpose()
        })
        .await
    }

    async fn confirm_totp(
        &self,
        user_id: UserId,
        step: i64,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.timed(async {
            let done = sqlx::query(
                "UPDATE totp_enrolments SET confirmed_at = $3, last_used_step = $2
                 WHERE user_id = $1 AND confirmed_at IS NULL AND pending_expires_at > $3",
            )
            .bind(user_id.as_uuid())
            .bind(step)
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
            Ok(done.rows_affected() > 0)
        })
        .await
    }

    async fn use_totp_step(&self, user_id: UserId, step: i64) -> Result<bool, StoreError> {
        self.timed(async {
            let done = sqlx::query(
                "UPDATE totp_enrolments SET last_used_step = $2
                 WHERE user_id = $1 AND confirmed_at IS NOT NULL
                   AND (last_used_step IS NULL OR last_used_step < $2)",
            )
            .bind(user_id.as_uuid())
            .bind(step)
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
            Ok(done.rows_affected() > 0)
        })
        .await
    }

    async fn delete_totp(&self, user_id: UserId) -> Result<bool, StoreError> {
        self.timed(async {
            // One statement: the codes go with the enrolment or neither goes. The count is
            // the main DELETE's, the enrolment.
            let done = sqlx::query(
                "WITH codes AS (DELETE FROM recovery_codes WHERE user_id = $1)
                 DELETE FROM totp_enrolments WHERE user_id = $1",
            )
            .bind(user_id.as_uuid())
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
            Ok(done.rows_affected() > 0)
        })
        .await
    }

    async fn replace_recovery_codes(
        &self,
        user_id: UserId,
        codes: &[RecoveryCodeHash],
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let hashes: Vec<&[u8]> = codes.iter().map(|c| &c.0[..]).collect();
        self.timed(async {
            let mut tx = self.pool.begin().await.map_err(store_error)?;
            // Two replacements for one user at once must not leave both sets: each DELETE
            // only sees the codes committed when it starts. Locking the user's row first
            // makes the second wait until the first commits, and its DELETE then sees (and
            // removes) the first one's codes. A missing user locks nothing; the INSERT then
            // fails on the foreign key.
            sqlx::query("SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE")
                .bind(user_id.as_uuid())
                .fetch_optional(&mut *tx)
                .await
                .map_err(store_error)?;
            sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
                .bind(user_id.as_uuid())
                .execute(&mut *tx)
                .await
                .map_err(store_error)?;
            // A code listed twice is one code: it is stored, and usable, once.
            sqlx::query(
                "INSERT INTO recovery_codes (user_id, code_hash, created_at)
                 SELECT $1, code, $3 FROM unnest($2::bytea[]) AS code
                 ON CONFLICT (user_id, code_hash) DO NOTHING",
            )
            .bind(user_id.as_uuid())
            .bind(&hashes)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
            tx.commit().await.map_err(store_error)
        })
        .await
    }

    async fn use_recovery_code(
        &self,
        user_id: UserId,
        code: &RecoveryCodeHash,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.timed(async {
            let done = sqlx::query(
                "UPDATE recovery_codes SET used_at = $3
                 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
            )
            .bind(user_id.as_uuid())
            .bind(&code.0[..])
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
            Ok(done.rows_affected() > 0)
        })
        .await
    }

    async fn count_recovery_codes(&self, user_id: UserId) -> Result<u32, StoreError> {
        self.timed(async {
            let unused: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL",
            )
            .bind(user_id.as_uuid())
            .fetch_one(&self.pool)
            .await
            .map_err(store_error)?;
            Ok(u32::try_from(unused).unwrap_or(u32::MAX))
        })
        .await
    }

    async fn purge_expired_totp(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        self.timed(async {
            let done = sqlx::query(
                "DELETE FROM totp_enrolments
                 WHERE confirmed_at IS NULL AND pending_expires_at <= $1",
            )
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
            Ok(done.rows_affected())
        })
        .await
    }
}
