//! [`TokenStore`] for [`SqliteStore`].

use auth_core::{
    ConsumeOutcome, StoreError, TokenHash, TokenKind, TokenRecord, TokenStore, UserId, async_trait,
};
use std::time::{Duration, Instant};

use time::OffsetDateTime;
use uuid::Uuid;

use crate::SqliteStore;
use crate::codec::{to_millis, token_columns, token_from_row, uuid_bytes};
use crate::error::store_error;

/// Expired tokens deleted per statement by `purge_expired_tokens`: a few milliseconds of
/// holding the write lock.
pub(crate) const PURGE_BATCH: i64 = 1000;

/// The longest pause between two purge batches.
pub(crate) const MAX_PURGE_PAUSE: Duration = Duration::from_millis(100);

/// Inserts a token through `executor`: the pool, or the connection of a transaction.
pub(crate) async fn insert_token_with<'c, E>(
    executor: E,
    token: &TokenRecord,
) -> Result<(), StoreError>
where
    E: sqlx::Executor<'c, Database = sqlx::Sqlite>,
{
    sqlx::query(concat!(
        "INSERT INTO tokens (",
        token_columns!(),
        ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
    ))
    .bind(uuid_bytes(&token.id))
    .bind(uuid_bytes(token.user_id.as_uuid()))
    .bind(token.kind.as_str())
    .bind(token.token_hash.as_bytes().as_slice())
    .bind(token.family_id.as_ref().map(uuid_bytes))
    .bind(token.family_expires_at.map(to_millis))
    .bind(to_millis(token.expires_at))
    .bind(to_millis(token.created_at))
    .bind(token.used_at.map(to_millis))
    .bind(token.revoked_at.map(to_millis))
    .execute(executor)
    .await
    .map_err(store_error)?;
    Ok(())
}

#[async_trait]
impl TokenStore for SqliteStore {
    async fn insert_token(&self, token: &TokenRecord) -> Result<(), StoreError> {
        let _turn = self.write_turn().await;
        insert_token_with(&self.pool, token).await
    }

    async fn find_token(
        &self,
        hash: &TokenHash,
        kind: TokenKind,
    ) -> Result<Option<TokenRecord>, StoreError> {
        sqlx::query(concat!(
            "SELECT ",
            token_columns!(),
            " FROM tokens WHERE token_hash = ?1 AND kind = ?2"
        ))
        .bind(hash.as_bytes().as_slice())
        .bind(kind.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?
        .as_ref()
        .map(token_from_row)
        .transpose()
    }

    async fn consume_token(
        &self,
        hash: &TokenHash,
        kind: TokenKind,
        now: OffsetDateTime,
    ) -> Result<ConsumeOutcome, StoreError> {
        // The whole single-use rule is this one statement: SQLite runs it under the
        // database's write lock, so of N concurrent callers (in any process) exactly one
        // sees the row. `expires_at > now` on whole milliseconds is the same test as on
        // the exact `now`, since stored times are whole milliseconds.
        let turn = self.write_turn().await;
        let consumed = sqlx::query(concat!(
            "UPDATE tokens SET used_at = ?1 ",
            "WHERE token_hash = ?2 AND kind = ?3 ",
            "AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?1 ",
            "RETURNING ",
            token_columns!()
        ))
        .bind(to_millis(now))
        .bind(hash.as_bytes().as_slice())
        .bind(kind.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        drop(turn);
        if let Some(row) = consumed {
            return token_from_row(&row).map(ConsumeOutcome::Consumed);
        }
        // Not consumed: read it only to say why. Nothing is written from here on.
        let record = self.find_token(hash, kind).await?;
        Ok(ConsumeOutcome::classify(record, now))
    }

    async fn revoke_token(
        &self,
        hash: &TokenHash,
        kind: TokenKind,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let _turn = self.write_turn().await;
        let result = sqlx::query(
            "UPDATE tokens SET revoked_at = ?1 \
             WHERE token_hash = ?2 AND kind = ?3 AND revoked_at IS NULL",
        )
        .bind(to_millis(now))
        .bind(hash.as_bytes().as_slice())
        .bind(kind.as_str())
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(result.rows_affected() > 0)
    }

    async fn revoke_token_family(
        &self,
        family_id: Uuid,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let _turn = self.write_turn().await;
        let result = sqlx::query(
            "UPDATE tokens SET revoked_at = ?1 WHERE family_id = ?2 AND revoked_at IS NULL",
        )
        .bind(to_millis(now))
        .bind(uuid_bytes(&family_id))
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(result.rows_affected())
    }

    async fn revoke_user_tokens(
        &self,
        user_id: UserId,
        kind: Option<TokenKind>,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let _turn = self.write_turn().await;
        let result = sqlx::query(
            "UPDATE tokens SET revoked_at = ?1 \
             WHERE user_id = ?2 AND (?3 IS NULL OR kind = ?3) AND revoked_at IS NULL",
        )
        .bind(to_millis(now))
        .bind(uuid_bytes(user_id.as_uuid()))
        .bind(kind.map(|kind| kind.as_str()))
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(result.rows_affected())
    }

    /// In batches of 1000 rows, each its own short write transaction, pausing
    /// between them as long as the batch took: SQLite has one writer, and a single
    /// `DELETE` of a million rows held it for 17 s, during which logins and refreshes
    /// waited out their busy timeout and failed (benches/README.md).
    async fn purge_expired_tokens(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let cutoff = to_millis(now);
        let mut purged = 0;
        loop {
            let started = Instant::now();
            let turn = self.write_turn().await;
            let deleted = sqlx::query(
                "DELETE FROM tokens WHERE rowid IN \
                 (SELECT rowid FROM tokens WHERE expires_at <= ?1 LIMIT ?2)",
            )
            .bind(cutoff)
            .bind(PURGE_BATCH)
            .execute(&self.pool)
            .await
            .map_err(store_error)?
            .rows_affected();
            drop(turn);
            purged += deleted;
            if deleted < PURGE_BATCH.unsigned_abs() {
                return Ok(purged);
            }
            // The writers that queued behind this batch get the lock first.
            tokio::time::sleep(started.elapsed().min(MAX_PURGE_PAUSE)).await;
        }
    }
}
