//! [`UserStore`] for [`SqliteStore`].

use auth_core::{StoreError, User, UserId, UserPage, UserPatch, UserStore, async_trait};

use crate::SqliteStore;
use crate::codec::{roles_json, settings_json, to_millis, user_columns, user_from_row, uuid_bytes};
use crate::error::store_error;

#[async_trait]
impl UserStore for SqliteStore {
    async fn create_user(&self, user: &User) -> Result<(), StoreError> {
        sqlx::query(concat!(
            "INSERT INTO users (",
            user_columns!(),
            ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
        ))
        .bind(uuid_bytes(user.id.as_uuid()))
        .bind(&user.email)
        .bind(&user.username)
        .bind(user.password_hash.as_str())
        .bind(roles_json(&user.roles)?)
        .bind(settings_json(&user.user_settings)?)
        .bind(user.is_verified)
        .bind(user.is_active)
        .bind(to_millis(user.created_at))
        .bind(to_millis(user.updated_at))
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(())
    }

    async fn find_user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE id = ?1"
        ))
        .bind(uuid_bytes(id.as_uuid()))
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?
        .as_ref()
        .map(user_from_row)
        .transpose()
    }

    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE email = ?1"
        ))
        .bind(email)
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?
        .as_ref()
        .map(user_from_row)
        .transpose()
    }

    async fn update_user(&self, id: UserId, patch: &UserPatch) -> Result<Option<User>, StoreError> {
        // One statement: a NULL parameter keeps the column, so the patch is applied
        // atomically and the row is returned as it is afterwards.
        sqlx::query(concat!(
            "UPDATE users SET ",
            "username = COALESCE(?2, username), ",
            "password_hash = COALESCE(?3, password_hash), ",
            "roles = COALESCE(?4, roles), ",
            "user_settings = COALESCE(?5, user_settings), ",
            "is_verified = COALESCE(?6, is_verified), ",
            "is_active = COALESCE(?7, is_active), ",
            "updated_at = COALESCE(?8, updated_at) ",
            "WHERE id = ?1 RETURNING ",
            user_columns!()
        ))
        .bind(uuid_bytes(id.as_uuid()))
        .bind(patch.username.as_deref())
        .bind(patch.password_hash.as_ref().map(|hash| hash.as_str()))
        .bind(patch.roles.as_deref().map(roles_json).transpose()?)
        .bind(
            patch
                .user_settings
                .as_ref()
                .map(settings_json)
                .transpose()?,
        )
        .bind(patch.is_verified)
        .bind(patch.is_active)
        .bind(patch.updated_at.map(to_millis))
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?
        .as_ref()
        .map(user_from_row)
        .transpose()
    }

    async fn list_users(&self, limit: u32, offset: u64) -> Result<UserPage, StoreError> {
        // One read transaction, so the page and the total come from the same snapshot.
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        let rows = sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users ORDER BY created_at, id LIMIT ?1 OFFSET ?2"
        ))
        .bind(i64::from(limit))
        .bind(i64::try_from(offset).unwrap_or(i64::MAX))
        .fetch_all(&mut *tx)
        .await
        .map_err(store_error)?;
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&mut *tx)
            .await
            .map_err(store_error)?;
        tx.commit().await.map_err(store_error)?;
        Ok(UserPage {
            items: rows.iter().map(user_from_row).collect::<Result<_, _>>()?,
            total: u64::try_from(total).map_err(StoreError::corrupt)?,
        })
    }
}
