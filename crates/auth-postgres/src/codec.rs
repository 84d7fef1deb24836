//! How domain values are stored: rows as the database returns them (`uuid`, `text[]`,
//! `jsonb`, `bytea`, `timestamptz`), and their conversion into domain types.

use auth_core::{
    HashedPassword, StoreError, TokenHash, TokenKind, TokenRecord, User, UserId, UserSettings,
};
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

/// The columns of `users`, in [`UserRow`] order.
pub(crate) const USER_COLUMNS: &str = "id, email, username, password_hash, roles, user_settings, \
     is_verified, is_active, created_at, updated_at";

/// The columns of `tokens`, in [`TokenRow`] order.
pub(crate) const TOKEN_COLUMNS: &str = "id, user_id, kind, token_hash, family_id, \
     family_expires_at, expires_at, created_at, used_at, revoked_at";

/// One `users` row. No `Debug`: it holds the password hash.
#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: Uuid,
    email: String,
    username: String,
    password_hash: String,
    roles: Vec<String>,
    user_settings: Json<UserSettings>,
    is_verified: bool,
    is_active: bool,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

impl From<UserRow> for User {
    fn from(row: UserRow) -> Self {
        Self {
            id: UserId::from_uuid(row.id),
            email: row.email,
            username: row.username,
            password_hash: HashedPassword::new(row.password_hash),
            roles: row.roles,
            user_settings: row.user_settings.0,
            is_verified: row.is_verified,
            is_active: row.is_active,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// A page of users with the total count alongside each row.
#[derive(sqlx::FromRow)]
pub(crate) struct UserPageRow {
    pub(crate) total: i64,
    #[sqlx(flatten)]
    pub(crate) user: UserRow,
}

/// One `tokens` row.
#[derive(sqlx::FromRow)]
pub(crate) struct TokenRow {
    id: Uuid,
    user_id: Uuid,
    kind: String,
    token_hash: Vec<u8>,
    family_id: Option<Uuid>,
    family_expires_at: Option<OffsetDateTime>,
    expires_at: OffsetDateTime,
    created_at: OffsetDateTime,
    used_at: Option<OffsetDateTime>,
    revoked_at: Option<OffsetDateTime>,
}

impl TryFrom<TokenRow> for TokenRecord {
    type Error = StoreError;

    fn try_from(row: TokenRow) -> Result<Self, StoreError> {
        let kind = TokenKind::parse(&row.kind)
            .ok_or_else(|| StoreError::corrupt(format!("token {} has an unknown kind", row.id)))?;
        // The hash itself is never put into an error message.
        let token_hash = TokenHash::from_slice(&row.token_hash).ok_or_else(|| {
            StoreError::corrupt(format!("token {} has a hash that is not 32 bytes", row.id))
        })?;
        Ok(Self {
            id: row.id,
            user_id: UserId::from_uuid(row.user_id),
            kind,
            token_hash,
            family_id: row.family_id,
            family_expires_at: row.family_expires_at,
            expires_at: row.expires_at,
            created_at: row.created_at,
            used_at: row.used_at,
            revoked_at: row.revoked_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(kind: &str, hash: Vec<u8>) -> TokenRow {
        let now = OffsetDateTime::UNIX_EPOCH;
        TokenRow {
            id: Uuid::nil(),
            user_id: Uuid::nil(),
            kind: kind.into(),
            token_hash: hash,
            family_id: None,
            family_expires_at: None,
            expires_at: now,
            created_at: now,
            used_at: None,
            revoked_at: None,
        }
    }

    #[test]
    fn unknown_kinds_and_short_hashes_are_corrupt() {
        assert!(matches!(
            TokenRecord::try_from(row("access", vec![0; 32])),
            Err(StoreError::Corrupt(_))
        ));
        let short = TokenRecord::try_from(row("refresh", vec![7; 31]));
        match short {
            Err(StoreError::Corrupt(source)) => {
                assert!(!source.to_string().contains("0707"), "{source}");
            }
            other => panic!("expected Corrupt, got {other:?}"),
        }
        assert!(TokenRecord::try_from(row("password_reset", vec![0; 32])).is_ok());
    }
}
