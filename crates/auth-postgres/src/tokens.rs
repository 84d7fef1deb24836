//! [`TokenStore`] for [`PostgresStore`].

use std::sync::LazyLock;

use auth_core::async_trait;
use auth_core::{
    ConsumeOutcome, StoreError, TokenHash, TokenKind, TokenRecord, TokenStore, UserId,
};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::codec::{self, TOKEN_INSERT_COLUMNS, token_columns};
use crate::error::store_error;
use crate::store::PostgresStore;

static INSERT_TOKEN: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT INTO tokens ({TOKEN_INSERT_COLUMNS})
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    )
});

static SELECT_TOKEN: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {} FROM tokens t WHERE t.token_hash = $1 AND t.kind = $2",
        token_columns("t", "")
    )
});

/// The single-use rule as one atomic statement. Under concurrent calls PostgreSQL makes the
/// others wait for the row lock and re-check the `WHERE` on the updated row, so exactly one
/// sees `used_at IS NULL`.
static CONSUME_TOKEN: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE tokens AS t SET used_at = $3
         WHERE t.token_hash = $1 AND t.kind = $2
           AND t.used_at IS NULL AND t.revoked_at IS NULL AND t.expires_at > $3
         RETURNING {}",
        token_columns("t", "")
    )
});

impl PostgresStore {
    /// [`find_token`](TokenStore::find_token) without its own operation timeout, for use
    /// inside an operation that already runs within one.
    pub(crate) async fn fetch_token(
        &self,
        hash: &TokenHash,
        kind: TokenKind,
    ) -> Result<Option<TokenRecord>, StoreError> {
        sqlx::query(&SELECT_TOKEN)
            .bind(&hash.as_bytes()[..])
            .bind(kind.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?
            .map(|row| codec::token(&row, ""))
            .transpose()
    }
}

#[async_trait]
impl TokenStore for PostgresStore {
    async fn insert_token(&self, token: &TokenRecord) -> Result<(), StoreError> {
        self.timed(async {
            sqlx::query(&INSERT_TOKEN)
                .bind(token.id)
                .bind(token.user_id.as_uuid())
                .bind(token.kind.as_str())
                .bind(&token.token_hash.as_bytes()[..])
                .bind(token.family_id)
                .bind(token.family_expires_at)
                .bind(token.expires_at)
                .bind(token.created_at)
                .bind(token.used_at)
                .bind(token.revoked_at)
                .execute(&self.pool)
                .await
                .map_err(store_error)?;
            Ok(())
        })
        .await
    }

    async fn find_token(
        &self,
        hash: &TokenHash,
        kind: TokenKind,
    ) -> Result<Option<TokenRecord>, StoreError> {
        self.timed(self.fetch_token(hash, kind)).await
    }

    async fn consume_token(
        &self,
        hash: &TokenHash,
        kind: TokenKind,
        now: OffsetDateTime,
    ) -> Result<ConsumeOutcome, StoreError> {
        self.timed(async {
            let consumed = sqlx::query(&CONSUME_TOKEN)
                .bind(&hash.as_bytes()[..])
                .bind(kind.as_str())
                .bind(now)
                .fetch_optional(&self.pool)
                .await
                .map_err(store_error)?;
            match consumed {
                Some(row) => Ok(ConsumeOutcome::Consumed(codec::token(&row, "")?)),
                // Not consumed: read it only to say why. The decision was the UPDATE's.
                None => Ok(ConsumeOutcome::classify(
                    self.fetch_token(hash, kind).await?,
                    now,
                )),
            }
        })
        .await
    }

    async fn revoke_token(
        &self,
        hash: &TokenHash,
        kind: TokenKind,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.timed(async {
            let done = sqlx::query(
                "UPDATE tokens SET revoked_at = $3
                 WHERE token_hash = $1 AND kind = $2 AND revoked_at IS NULL",
            )
            .bind(&hash.as_bytes()[..])
            .bind(kind.as_str())
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
            Ok(done.rows_affected() > 0)
        })
        .await
    }

    async fn revoke_token_family(
        &self,
        family_id: Uuid,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        self.timed(async {
            let done = sqlx::query(
                "UPDATE tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL",
            )
            .bind(family_id)
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
            Ok(done.rows_affected())
        })
        .await
    }

    async fn revoke_user_tokens(
        &self,
        user_id: UserId,
        kind: Option<TokenKind>,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        self.timed(async {
            let done = sqlx::query(
                "UPDATE tokens SET revoked_at = $3
                 WHERE user_id = $1 AND ($2::text IS NULL OR kind = $2) AND revoked_at IS NULL",
            )
            .bind(user_id.as_uuid())
            .bind(kind.map(|k| k.as_str()))
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
            Ok(done.rows_affected())
        })
        .await
    }

    async fn purge_expired_tokens(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        self.timed(async {
            let done = sqlx::query("DELETE FROM tokens WHERE expires_at <= $1")
                .bind(now)
                .execute(&self.pool)
                .await
                .map_err(store_error)?;
            Ok(done.rows_affected())
        })
        .await
    }
}
