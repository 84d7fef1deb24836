//! [`PostgresStore`] and its implementation of the store traits.

use std::future::Future;
use std::sync::LazyLock;
use std::time::Duration;

use auth_core::async_trait;
use auth_core::store::{TokenStore, UserStore};
use auth_core::{
    ConsumeOutcome, StoreError, TokenHash, TokenKind, TokenRecord, User, UserId, UserPage,
    UserPatch,
};
use sqlx::PgPool;
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{Error, OperationTimedOut, store_error};
use crate::options::{PostgresOptions, migrator};
use crate::rows::{TOKEN_COLUMNS, TokenRow, USER_COLUMNS, UserPageRow, UserRow};

/// An [`AuthStore`](auth_core::AuthStore) on PostgreSQL: a cheap-to-clone handle around a
/// [`PgPool`]. Clones share the pool.
///
/// Every rule holds across processes sharing the database: uniqueness is a unique index,
/// and each single-use rule is one atomic `UPDATE … RETURNING`. Driver failures, timeouts
/// and a closed pool are [`StoreError::Unavailable`]; the `Debug` output shows pool
/// statistics, never connection credentials.
#[derive(Clone, Debug)]
pub struct PostgresStore {
    pool: PgPool,
    operation_timeout: Duration,
}

impl PostgresStore {
    /// Connects with the default [`PostgresOptions`] (4 connections per core, 5 s timeouts,
    /// migrations run, default schema).
    ///
    /// # Errors
    ///
    /// As [`PostgresOptions::connect`].
    pub async fn connect(url: &str) -> Result<Self, Error> {
        PostgresOptions::new().connect(url).await
    }

    /// Wraps a pool as it is: no I/O, no migrations (call [`migrate`](Self::migrate), or
    /// use [`PostgresOptions::from_pool`] to prepare a schema too).
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            operation_timeout: PostgresOptions::DEFAULT_OPERATION_TIMEOUT,
        }
    }

    /// The same store with another bound on each operation (default 10 s).
    #[must_use]
    pub fn with_operation_timeout(mut self, timeout: Duration) -> Self {
        self.operation_timeout = timeout;
        self
    }

    /// Runs the embedded migrations. Safe while other processes do the same: sqlx holds a
    /// PostgreSQL advisory lock while it migrates.
    ///
    /// # Errors
    ///
    /// [`Error::Migrate`] when a migration fails or the database cannot be reached.
    pub async fn migrate(&self) -> Result<(), Error> {
        migrator().run(&self.pool).await.map_err(Error::Migrate)
    }

    /// The pool, for the application's own queries.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Closes the pool: waits for connections in use to come back and closes them all.
    /// Every later operation of this store (and its clones) fails as unavailable.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Runs one store operation within the operation timeout.
    async fn timed<T>(
        &self,
        operation: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        tokio::time::timeout(self.operation_timeout, operation)
            .await
            .unwrap_or_else(|_| {
                Err(StoreError::unavailable(OperationTimedOut(
                    self.operation_timeout,
                )))
            })
    }

    async fn fetch_token(
        &self,
        hash: &TokenHash,
        kind: TokenKind,
    ) -> Result<Option<TokenRecord>, StoreError> {
        sqlx::query_as::<_, TokenRow>(&SELECT_TOKEN)
            .bind(&hash.as_bytes()[..])
            .bind(kind.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?
            .map(TokenRecord::try_from)
            .transpose()
    }
}

static SELECT_USER_BY_ID: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"));

static SELECT_USER_BY_EMAIL: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1"));

static INSERT_USER: LazyLock<String> = LazyLock::new(|| {
    format!("INSERT INTO users ({USER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
});

/// One statement: the patch is applied and the result read back in the same write.
static UPDATE_USER: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE users SET
            username = COALESCE($2, username),
            password_hash = COALESCE($3, password_hash),
            roles = COALESCE($4, roles),
            user_settings = COALESCE($5, user_settings),
            is_verified = COALESCE($6, is_verified),
            is_active = COALESCE($7, is_active),
            updated_at = COALESCE($8, updated_at)
         WHERE id = $1
         RETURNING {USER_COLUMNS}"
    )
});

/// A page and the total in one statement (one snapshot); an empty page has no row to carry
/// the total, and then a second query counts.
static LIST_USERS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH page AS (
            SELECT {USER_COLUMNS} FROM users ORDER BY created_at, id LIMIT $1 OFFSET $2
         )
         SELECT (SELECT count(*) FROM users) AS total, page.* FROM page
         ORDER BY created_at, id"
    )
});

static INSERT_TOKEN: LazyLock<String> = LazyLock::new(|| {
    format!("INSERT INTO tokens ({TOKEN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
});

static SELECT_TOKEN: LazyLock<String> = LazyLock::new(|| {
    format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE token_hash = $1 AND kind = $2")
});

/// The single-use rule as one atomic statement. Under concurrent calls PostgreSQL makes the
/// others wait for the row lock and re-check the `WHERE` on the updated row, so exactly one
/// sees `used_at IS NULL`.
static CONSUME_TOKEN: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE tokens SET used_at = $3
         WHERE token_hash = $1 AND kind = $2
           AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $3
         RETURNING {TOKEN_COLUMNS}"
    )
});

#[async_trait]
impl UserStore for PostgresStore {
    async fn create_user(&self, user: &User) -> Result<(), StoreError> {
        self.timed(async {
            sqlx::query(&INSERT_USER)
                .bind(user.id.as_uuid())
                .bind(&user.email)
                .bind(&user.username)
                .bind(user.password_hash.as_str())
                .bind(&user.roles)
                .bind(Json(&user.user_settings))
                .bind(user.is_verified)
                .bind(user.is_active)
                .bind(user.created_at)
                .bind(user.updated_at)
                .execute(&self.pool)
                .await
                .map_err(store_error)?;
            Ok(())
        })
        .await
    }

    async fn find_user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        self.timed(async {
            let row = sqlx::query_as::<_, UserRow>(&SELECT_USER_BY_ID)
                .bind(id.as_uuid())
                .fetch_optional(&self.pool)
                .await
                .map_err(store_error)?;
            Ok(row.map(User::from))
        })
        .await
    }

    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        self.timed(async {
            let row = sqlx::query_as::<_, UserRow>(&SELECT_USER_BY_EMAIL)
                .bind(email)
                .fetch_optional(&self.pool)
                .await
                .map_err(store_error)?;
            Ok(row.map(User::from))
        })
        .await
    }

    async fn update_user(&self, id: UserId, patch: &UserPatch) -> Result<Option<User>, StoreError> {
        self.timed(async {
            let row = sqlx::query_as::<_, UserRow>(&UPDATE_USER)
                .bind(id.as_uuid())
                .bind(patch.username.as_deref())
                .bind(patch.password_hash.as_ref().map(|h| h.as_str()))
                .bind(patch.roles.as_deref())
                .bind(patch.user_settings.as_ref().map(Json))
                .bind(patch.is_verified)
                .bind(patch.is_active)
                .bind(patch.updated_at)
                .fetch_optional(&self.pool)
                .await
                .map_err(store_error)?;
            Ok(row.map(User::from))
        })
        .await
    }

    async fn list_users(&self, limit: u32, offset: u64) -> Result<UserPage, StoreError> {
        self.timed(async {
            let rows = sqlx::query_as::<_, UserPageRow>(&LIST_USERS)
                .bind(i64::from(limit))
                .bind(i64::try_from(offset).unwrap_or(i64::MAX))
                .fetch_all(&self.pool)
                .await
                .map_err(store_error)?;
            let total = match rows.first() {
                Some(row) => row.total,
                None => sqlx::query_scalar::<_, i64>("SELECT count(*) FROM users")
                    .fetch_one(&self.pool)
                    .await
                    .map_err(store_error)?,
            };
            Ok(UserPage {
                items: rows.into_iter().map(|row| User::from(row.user)).collect(),
                total: u64::try_from(total).map_err(StoreError::corrupt)?,
            })
        })
        .await
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
            let consumed = sqlx::query_as::<_, TokenRow>(&CONSUME_TOKEN)
                .bind(&hash.as_bytes()[..])
                .bind(kind.as_str())
                .bind(now)
                .fetch_optional(&self.pool)
                .await
                .map_err(store_error)?;
            match consumed {
                Some(row) => Ok(ConsumeOutcome::Consumed(row.try_into()?)),
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
