//! [`UserStore`] for [`SqliteStore`].

use auth_core::{
    Invalidate, StoreError, User, UserId, UserPage, UserPatch, UserStore, async_trait,
};

use crate::SqliteStore;
use crate::codec::{
    roles_json, settings_json, to_millis, user_columns, user_from_row, user_insert_columns,
    uuid_bytes,
};
use crate::error::store_error;

/// How `update_user` is told what to cut: `NULL`, or the raise to apply.
fn invalidate_code(invalidate: Option<Invalidate>) -> Option<i64> {
    invalidate.map(|invalidate| match invalidate {
        Invalidate::AccessTokens => 1,
        Invalidate::Sessions => 2,
    })
}

#[async_trait]
impl UserStore for SqliteStore {
    /// `mfa_enabled` is not stored: it follows the user's TOTP enrolment.
    async fn create_user(&self, user: &User) -> Result<(), StoreError> {
        let _turn = self.write_turn().await;
        sqlx::query(concat!(
            "INSERT INTO users (",
            user_insert_columns!(),
            ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
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
        .bind(user.token_version)
        .bind(user.session_epoch)
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
        // atomically and the row is returned as it is afterwards. The cut is part of it,
        // as increments of the stored values: SQLite evaluates every SET expression on
        // the row as it was, so `session_epoch = token_version + 1` is the new version.
        let _turn = self.write_turn().await;
        sqlx::query(concat!(
            "UPDATE users SET ",
            "username = COALESCE(?2, username), ",
            "password_hash = COALESCE(?3, password_hash), ",
            "roles = COALESCE(?4, roles), ",
            "user_settings = COALESCE(?5, user_settings), ",
            "is_verified = COALESCE(?6, is_verified), ",
            "is_active = COALESCE(?7, is_active), ",
            "updated_at = COALESCE(?8, updated_at), ",
            "token_version = token_version + (?9 IS NOT NULL), ",
            "session_epoch = CASE WHEN ?9 = 2 THEN token_version + 1 ELSE session_epoch END, ",
            "versioned_at = CASE WHEN ?9 IS NULL THEN versioned_at ",
            "ELSE COALESCE(?8, updated_at) END ",
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
        .bind(invalidate_code(patch.invalidate))
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

    /// One `BEGIN IMMEDIATE` transaction of multi-row `INSERT … ON CONFLICT DO NOTHING
    /// RETURNING id` statements (at most 500 rows each, within SQLite's
    /// parameter limit): the batch is stored whole or not at all.
    async fn create_users(&self, users: &[User]) -> Result<Vec<bool>, StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        let mut inserted = std::collections::HashSet::new();
        for chunk in users.chunks(INSERT_CHUNK) {
            let mut rows = Vec::with_capacity(chunk.len());
            for user in chunk {
                rows.push((
                    user,
                    roles_json(&user.roles)?,
                    settings_json(&user.user_settings)?,
                ));
            }
            let mut query = sqlx::QueryBuilder::<sqlx::Sqlite>::new(concat!(
                "INSERT INTO users (",
                user_insert_columns!(),
                ") "
            ));
            query.push_values(&rows, |mut row, (user, roles, settings)| {
                row.push_bind(uuid_bytes(user.id.as_uuid()))
                    .push_bind(&user.email)
                    .push_bind(&user.username)
                    .push_bind(user.password_hash.as_str())
                    .push_bind(roles)
                    .push_bind(settings)
                    .push_bind(user.is_verified)
                    .push_bind(user.is_active)
                    .push_bind(to_millis(user.created_at))
                    .push_bind(to_millis(user.updated_at))
                    .push_bind(user.token_version)
                    .push_bind(user.session_epoch);
            });
            query.push(" ON CONFLICT DO NOTHING RETURNING id");
            let ids: Vec<Vec<u8>> = query
                .build_query_scalar()
                .fetch_all(&mut *tx)
                .await
                .map_err(store_error)?;
            inserted.extend(ids);
        }
        tx.commit().await.map_err(store_error)?;
        Ok(users
            .iter()
            .map(|user| inserted.contains(uuid_bytes(user.id.as_uuid())))
            .collect())
    }
}

/// Rows per statement of [`UserStore::create_users`]: 12 parameters each, well within
/// SQLite's 32 766.
const INSERT_CHUNK: usize = 500;
