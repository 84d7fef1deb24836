//! [`UserStore`] for [`PostgresStore`].

use std::sync::LazyLock;

use auth_core::async_trait;
use auth_core::store::UserStore;
use auth_core::{StoreError, User, UserId, UserPage, UserPatch};
use sqlx::types::Json;

use crate::codec::{USER_COLUMNS, UserPageRow, UserRow};
use crate::error::store_error;
use crate::store::PostgresStore;

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
