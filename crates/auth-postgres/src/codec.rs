//! How domain values are stored: rows as the database returns them (`uuid`, `text[]`,
//! `jsonb`, `bytea`, `timestamptz`), and their conversion into domain types.
//!
//! Columns are selected through the `*_columns(table, prefix)` functions and read back by
//! the matching `from_row(row, prefix)`, so that one statement can return a user, a session
//! and a token side by side (the rotation, the user-and-session read) under distinct
//! names: the same three tables all have `id`, `user_id` and `created_at`.

use std::borrow::Cow;

use auth_core::{
    AuditAnchor, AuditRecord, HashedPassword, SessionRecord, StoreError, TokenHash, TokenKind,
    TokenRecord, TotpRecord, User, UserId, UserSettings,
};
use sqlx::Row;
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::store_error;

/// `prefix` + `name`, allocating only when there is a prefix.
fn col<'a>(prefix: &str, name: &'a str) -> Cow<'a, str> {
    if prefix.is_empty() {
        Cow::Borrowed(name)
    } else {
        Cow::Owned(format!("{prefix}{name}"))
    }
}

fn get<'r, T>(row: &'r PgRow, prefix: &str, name: &str) -> Result<T, sqlx::Error>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    row.try_get(&*col(prefix, name))
}

/// `table.a AS prefix_a, table.b AS prefix_b, …`.
fn select_list(table: &str, prefix: &str, columns: &[&str]) -> String {
    columns
        .iter()
        .map(|c| format!("{table}.{c} AS {prefix}{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The stored columns of `users`, in insert order.
pub(crate) const USER_INSERT_COLUMNS: &str = "id, email, username, password_hash, roles, \
     user_settings, is_verified, is_active, created_at, updated_at, token_version, session_epoch";

const USER_COLUMNS: [&str; 12] = [
    "id",
    "email",
    "username",
    "password_hash",
    "roles",
    "user_settings",
    "is_verified",
    "is_active",
    "created_at",
    "updated_at",
    "token_version",
    "session_epoch",
];

/// The select list of a user read from `table` (an alias of `users`), names prefixed.
///
/// `mfa_enabled` is not stored with the user: it is computed on every read as "a confirmed
/// TOTP enrolment exists" (one probe of the `totp_enrolments` primary key). A column kept
/// in step would need every write of an enrolment to update `users` too, in the same
/// transaction; the subquery cannot disagree with the enrolments, by construction.
pub(crate) fn user_columns(table: &str, prefix: &str) -> String {
    format!(
        "{}, EXISTS (SELECT 1 FROM totp_enrolments mfa \
         WHERE mfa.user_id = {table}.id AND mfa.confirmed_at IS NOT NULL) AS {prefix}mfa_enabled",
        select_list(table, prefix, &USER_COLUMNS)
    )
}

/// One `users` row. No `Debug`: it holds the password hash.
pub(crate) struct UserRow {
    id: Uuid,
    email: String,
    username: String,
    password_hash: String,
    roles: Vec<String>,
    user_settings: Json<UserSettings>,
    is_verified: bool,
    is_active: bool,
    mfa_enabled: bool,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
    token_version: i64,
    session_epoch: i64,
}

impl UserRow {
    /// Reads the columns of [`user_columns`] with this prefix.
    pub(crate) fn from_row(row: &PgRow, p: &str) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: get(row, p, "id")?,
            email: get(row, p, "email")?,
            username: get(row, p, "username")?,
            password_hash: get(row, p, "password_hash")?,
            roles: get(row, p, "roles")?,
            user_settings: get(row, p, "user_settings")?,
            is_verified: get(row, p, "is_verified")?,
            is_active: get(row, p, "is_active")?,
            mfa_enabled: get(row, p, "mfa_enabled")?,
            created_at: get(row, p, "created_at")?,
            updated_at: get(row, p, "updated_at")?,
            token_version: get(row, p, "token_version")?,
            session_epoch: get(row, p, "session_epoch")?,
        })
    }
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
            mfa_enabled: row.mfa_enabled,
            created_at: row.created_at,
            updated_at: row.updated_at,
            token_version: row.token_version,
            session_epoch: row.session_epoch,
        }
    }
}

/// A user read with [`user_columns`] and `prefix`.
pub(crate) fn user(row: &PgRow, prefix: &str) -> Result<User, StoreError> {
    UserRow::from_row(row, prefix)
        .map(User::from)
        .map_err(store_error)
}

/// A user of a LEFT JOIN: `None` when its id column is NULL.
pub(crate) fn optional_user(row: &PgRow, prefix: &str) -> Result<Option<User>, StoreError> {
    match get::<Option<Uuid>>(row, prefix, "id").map_err(store_error)? {
        Some(_) => user(row, prefix).map(Some),
        None => Ok(None),
    }
}

/// The columns of `tokens`, in insert order.
pub(crate) const TOKEN_INSERT_COLUMNS: &str = "id, user_id, kind, token_hash, family_id, \
     family_expires_at, expires_at, created_at, used_at, revoked_at";

const TOKEN_COLUMNS: [&str; 10] = [
    "id",
    "user_id",
    "kind",
    "token_hash",
    "family_id",
    "family_expires_at",
    "expires_at",
    "created_at",
    "used_at",
    "revoked_at",
];

/// The select list of a token read from `table`, names prefixed.
pub(crate) fn token_columns(table: &str, prefix: &str) -> String {
    select_list(table, prefix, &TOKEN_COLUMNS)
}

/// One `tokens` row.
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

impl TokenRow {
    /// Reads the columns of [`token_columns`] with this prefix.
    pub(crate) fn from_row(row: &PgRow, p: &str) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: get(row, p, "id")?,
            user_id: get(row, p, "user_id")?,
            kind: get(row, p, "kind")?,
            token_hash: get(row, p, "token_hash")?,
            family_id: get(row, p, "family_id")?,
            family_expires_at: get(row, p, "family_expires_at")?,
            expires_at: get(row, p, "expires_at")?,
            created_at: get(row, p, "created_at")?,
            used_at: get(row, p, "used_at")?,
            revoked_at: get(row, p, "revoked_at")?,
        })
    }
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

/// A token read with [`token_columns`] and `prefix`.
pub(crate) fn token(row: &PgRow, prefix: &str) -> Result<TokenRecord, StoreError> {
    TokenRow::from_row(row, prefix)
        .map_err(store_error)?
        .try_into()
}

/// The columns of `sessions`, in insert order.
pub(crate) const SESSION_INSERT_COLUMNS: &str =
    "id, user_id, created_at, last_used_at, expires_at, revoked_at, epoch, user_agent, ip";

const SESSION_COLUMNS: [&str; 9] = [
    "id",
    "user_id",
    "created_at",
    "last_used_at",
    "expires_at",
    "revoked_at",
    "epoch",
    "user_agent",
    "ip",
];

/// The select list of a session read from `table`, names prefixed.
pub(crate) fn session_columns(table: &str, prefix: &str) -> String {
    select_list(table, prefix, &SESSION_COLUMNS)
}

/// A session read with [`session_columns`] and `prefix`.
pub(crate) fn session(row: &PgRow, p: &str) -> Result<SessionRecord, StoreError> {
    let decode = || -> Result<SessionRecord, sqlx::Error> {
        Ok(SessionRecord {
            id: get(row, p, "id")?,
            user_id: UserId::from_uuid(get(row, p, "user_id")?),
            created_at: get(row, p, "created_at")?,
            last_used_at: get(row, p, "last_used_at")?,
            expires_at: get(row, p, "expires_at")?,
            revoked_at: get(row, p, "revoked_at")?,
            epoch: get(row, p, "epoch")?,
            user_agent: get(row, p, "user_agent")?,
            ip: get(row, p, "ip")?,
        })
    };
    decode().map_err(store_error)
}

/// A session of a LEFT JOIN: `None` when its id column is NULL.
pub(crate) fn optional_session(
    row: &PgRow,
    prefix: &str,
) -> Result<Option<SessionRecord>, StoreError> {
    match get::<Option<Uuid>>(row, prefix, "id").map_err(store_error)? {
        Some(_) => session(row, prefix).map(Some),
        None => Ok(None),
    }
}

/// 32 stored bytes, or `Corrupt` naming what they were (never the bytes).
pub(crate) fn hash32(bytes: &[u8], what: &str) -> Result<[u8; 32], StoreError> {
    bytes
        .try_into()
        .map_err(|_| StoreError::corrupt(format!("{what} is not 32 bytes")))
}

/// The columns of `audit_records`, in insert and select order.
pub(crate) const AUDIT_COLUMNS: &str =
    "seq, at, event, user_id, actor_id, session_id, ip, user_agent, detail, prev_hash, hash";

/// An audit record read with [`AUDIT_COLUMNS`]. `detail` is parsed from the exact JSON text
/// that was stored.
pub(crate) fn audit_record(row: &PgRow) -> Result<AuditRecord, StoreError> {
    let seq: i64 = row.try_get("seq").map_err(store_error)?;
    let detail: String = row.try_get("detail").map_err(store_error)?;
    let detail = serde_json::from_str(&detail).map_err(|e| {
        StoreError::corrupt(format!(
            "audit record {seq} has a detail that is not JSON: {e}"
        ))
    })?;
    let prev_hash: Vec<u8> = row.try_get("prev_hash").map_err(store_error)?;
    let hash: Vec<u8> = row.try_get("hash").map_err(store_error)?;
    let decode = || -> Result<AuditRecord, sqlx::Error> {
        Ok(AuditRecord {
            seq,
            at: row.try_get("at")?,
            event: row.try_get("event")?,
            user_id: row
                .try_get::<Option<Uuid>, _>("user_id")?
                .map(UserId::from_uuid),
            actor_id: row
                .try_get::<Option<Uuid>, _>("actor_id")?
                .map(UserId::from_uuid),
            session_id: row.try_get("session_id")?,
            ip: row.try_get("ip")?,
            user_agent: row.try_get("user_agent")?,
            detail,
            prev_hash: [0; 32],
            hash: [0; 32],
        })
    };
    let mut record = decode().map_err(store_error)?;
    record.prev_hash = hash32(&prev_hash, &format!("audit record {seq}'s prev_hash"))?;
    record.hash = hash32(&hash, &format!("audit record {seq}'s hash"))?;
    Ok(record)
}

/// The anchor row.
pub(crate) fn audit_anchor(row: &PgRow) -> Result<AuditAnchor, StoreError> {
    let hash: Vec<u8> = row.try_get("hash").map_err(store_error)?;
    Ok(AuditAnchor {
        seq: row.try_get("seq").map_err(store_error)?,
        hash: hash32(&hash, "the audit anchor's hash")?,
        purged_at: row.try_get("purged_at").map_err(store_error)?,
    })
}

/// The columns of `totp_enrolments`, in insert and select order.
pub(crate) const TOTP_COLUMNS: &str =
    "user_id, secret, created_at, confirmed_at, pending_expires_at, last_used_step";

/// An enrolment read with [`TOTP_COLUMNS`].
pub(crate) fn totp(row: &PgRow) -> Result<TotpRecord, StoreError> {
    let decode = || -> Result<TotpRecord, sqlx::Error> {
        Ok(TotpRecord {
            user_id: UserId::from_uuid(row.try_get("user_id")?),
            secret: row.try_get("secret")?,
            created_at: row.try_get("created_at")?,
            confirmed_at: row.try_get("confirmed_at")?,
            pending_expires_at: row.try_get("pending_expires_at")?,
            last_used_step: row.try_get("last_used_step")?,
        })
    };
    decode().map_err(store_error)
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

    #[test]
    fn select_lists_alias_every_column_with_the_prefix() {
        assert_eq!(
            session_columns("s", "s_"),
            "s.id AS s_id, s.user_id AS s_user_id, s.created_at AS s_created_at, \
             s.last_used_at AS s_last_used_at, s.expires_at AS s_expires_at, \
             s.revoked_at AS s_revoked_at, s.epoch AS s_epoch, s.user_agent AS s_user_agent, \
             s.ip AS s_ip"
        );
        assert!(user_columns("u", "").starts_with("u.id AS id, u.email AS email"));
        assert!(user_columns("u", "").ends_with("AS mfa_enabled"));
        for (list, insert) in [
            (user_columns("u", ""), USER_INSERT_COLUMNS),
            (token_columns("t", ""), TOKEN_INSERT_COLUMNS),
            (session_columns("s", ""), SESSION_INSERT_COLUMNS),
        ] {
            for column in insert.split(", ") {
                assert!(
                    list.contains(&format!(" AS {column}")),
                    "{column} in {list}"
                );
            }
        }
    }

    #[test]
    fn hashes_of_the_wrong_length_are_corrupt_without_their_bytes() {
        match hash32(&[9; 31], "x") {
            Err(StoreError::Corrupt(source)) => assert_eq!(source.to_string(), "x is not 32 bytes"),
            other => panic!("expected Corrupt, got {other:?}"),
        }
        assert_eq!(hash32(&[9; 32], "x").ok(), Some([9; 32]));
    }
}
