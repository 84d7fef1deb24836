//! [`UserStore`] for [`PostgresStore`].

use std::sync::LazyLock;

use auth_core::async_trait;
use auth_core::{Invalidate, StoreError, User, UserId, UserPage, UserPatch, UserStore};
use sqlx::Row;
use sqlx::types::Json;

use crate::codec::{self, USER_INSERT_COLUMNS, user_columns};
use crate::error::store_error;
use crate::store::PostgresStore;

static SELECT_USER_BY_ID: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {} FROM users u WHERE u.id = $1",
        user_columns("u", "")
    )
});

static SELECT_USER_BY_EMAIL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {} FROM users u WHERE u.email = $1",
        user_columns("u", "")
    )
});

static INSERT_USER: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT INTO users ({USER_INSERT_COLUMNS})
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    )
});

/// One statement: the patch, and the cut it asks for, are applied and the result read back
/// in the same write. The raises are increments of the stored values — in a `SET` list
/// every column names its value before the update, so `session_epoch = token_version + 1`
/// is the new `token_version` — and a concurrent update of the row makes PostgreSQL wait
/// for its lock and evaluate the `SET` list again on the updated row (READ COMMITTED's
/// re-check), so no raise is lost.
static UPDATE_USER: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE users AS u SET
            username = COALESCE($2, u.username),
            password_hash = COALESCE($3, u.password_hash),
            roles = COALESCE($4, u.roles),
            user_settings = COALESCE($5, u.user_settings),
            is_verified = COALESCE($6, u.is_verified),
            is_active = COALESCE($7, u.is_active),
            updated_at = COALESCE($8, u.updated_at),
            token_version = CASE WHEN $9::text IS NULL THEN u.token_version
                                 ELSE u.token_version + 1 END,
            session_epoch = CASE WHEN $9::text = 'sessions' THEN u.token_version + 1
                                 ELSE u.session_epoch END,
            versioned_at = CASE WHEN $9::text IS NULL THEN u.versioned_at
                                ELSE COALESCE($8, u.updated_at) END
         WHERE u.id = $1
         RETURNING {}",
        user_columns("u", "")
    )
});

/// A page and the total in one statement (one snapshot); an empty page has no row to carry
/// the total, and then a second query counts.
static LIST_USERS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT (SELECT count(*) FROM users) AS total, {}
         FROM users u ORDER BY u.created_at, u.id LIMIT $1 OFFSET $2",
        user_columns("u", "")
    )
});

/// How [`UserPatch::invalidate`] is passed to [`UPDATE_USER`].
fn invalidate_param(invalidate: Option<Invalidate>) -> Option<&'static str> {
    invalidate.map(|cut| match cut {
        Invalidate::AccessTokens => "access_tokens",
        Invalidate::Sessions => "sessions",
    })
}

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
                .bind(user.token_version)
                .bind(user.session_epoch)
                .execute(&self.pool)
                .await
                .map_err(store_error)?;
            Ok(())
        })
        .await
    }

    async fn find_user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        self.timed(async {
            sqlx::query(&SELECT_USER_BY_ID)
                .bind(id.as_uuid())
                .fetch_optional(&self.pool)
                .await
                .map_err(store_error)?
                .map(|row| codec::user(&row, ""))
                .transpose()
        })
        .await
    }

    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        self.timed(async {
            sqlx::query(&SELECT_USER_BY_EMAIL)
                .bind(email)
                .fetch_optional(&self.pool)
                .await
                .map_err(store_error)?
                .map(|row| codec::user(&row, ""))
                .transpose()
        })
        .await
    }

    async fn update_user(&self, id: UserId, patch: &UserPatch) -> Result<Option<User>, StoreError> {
        self.timed(async {
            sqlx::query(&UPDATE_USER)
                .bind(id.as_uuid())
                .bind(patch.username.as_deref())
                .bind(patch.password_hash.as_ref().map(|h| h.as_str()))
                .bind(patch.roles.as_deref())
                .bind(patch.user_settings.as_ref().map(Json))
                .bind(patch.is_verified)
                .bind(patch.is_active)
                .bind(patch.updated_at)
                .bind(invalidate_param(patch.invalidate))
                .fetch_optional(&self.pool)
                .await
                .map_err(store_error)?
                .map(|row| codec::user(&row, ""))
                .transpose()
        })
        .await
    }

    async fn list_users(&self, limit: u32, offset: u64) -> Result<UserPage, StoreError> {
        self.timed(async {
            let rows = sqlx::query(&LIST_USERS)
                .bind(i64::from(limit))
                .bind(i64::try_from(offset).unwrap_or(i64::MAX))
                .fetch_all(&self.pool)
                .await
                .map_err(store_error)?;
            let total: i64 = match rows.first() {
                Some(row) => row.try_get("total").map_err(store_error)?,
                None => sqlx::query_scalar("SELECT count(*) FROM users")
                    .fetch_one(&self.pool)
                    .await
                    .map_err(store_error)?,
            };
            Ok(UserPage {
                items: rows
                    .iter()
                    .map(|row| codec::user(row, ""))
                    .collect::<Result<_, _>>()?,
                total: u64::try_from(total).map_err(StoreError::corrupt)?,
            })
        })
        .await
    }

    /// One transaction of multi-row `INSERT … ON CONFLICT DO NOTHING RETURNING id`
    /// statements (at most 1000 rows each, within PostgreSQL's 65 535
    /// parameters): the batch is stored whole or not at all.
    async fn create_users(&self, users: &[User]) -> Result<Vec<bool>, StoreError> {
        self.timed(async {
            let mut tx = self.pool.begin().await.map_err(store_error)?;
            let mut inserted = std::collections::HashSet::new();
            for chunk in users.chunks(INSERT_CHUNK) {
                let mut query = sqlx::QueryBuilder::<sqlx::Postgres>::new(format!(
                    "INSERT INTO users ({USER_INSERT_COLUMNS}) "
                ));
                query.push_values(chunk, |mut row, user| {
                    row.push_bind(*user.id.as_uuid())
                        .push_bind(&user.email)
                        .push_bind(&user.username)
                        .push_bind(user.password_hash.as_str())
                        .push_bind(&user.roles)
                        .push_bind(Json(&user.user_settings))
                        .push_bind(user.is_verified)
                        .push_bind(user.is_active)
                        .push_bind(user.created_at)
                        .push_bind(user.updated_at)
                        .push_bind(user.token_version)
                        .push_bind(user.session_epoch);
                });
                query.push(" ON CONFLICT DO NOTHING RETURNING id");
                let ids: Vec<uuid::Uuid> = query
                    .build_query_scalar()
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(store_error)?;
                inserted.extend(ids);
            }
            tx.commit().await.map_err(store_error)?;
            Ok(users
                .iter()
                .map(|user| inserted.contains(user.id.as_uuid()))
                .collect())
        })
        .await
    }
}

/// Rows per statement of [`UserStore::create_users`]: 12 parameters each.
const INSERT_CHUNK: usize = 1000;
