//! How domain values are stored: ids as 16-byte BLOBs, token, code and audit hashes as
//! 32-byte BLOBs, times as INTEGER Unix milliseconds, roles, settings and audit details as
//! JSON text.

use auth_core::{
    AuditRecord, HashedPassword, SessionRecord, StoreError, TokenHash, TokenKind, TokenRecord,
    TotpRecord, User, UserId, UserSettings,
};
use sqlx::sqlite::SqliteRow;
use sqlx::{Decode, Row, Sqlite, Type};
use time::OffsetDateTime;
use uuid::Uuid;

/// The columns written by `create_user`, in the order of its parameters.
macro_rules! user_insert_columns {
    () => {
        "id, email, username, password_hash, roles, user_settings, is_verified, is_active, \
         created_at, updated_at, token_version, session_epoch"
    };
}

/// What [`user_from_row`] reads: the columns of `users`, qualified so that the list also
/// works in a join (and in `UPDATE users … RETURNING`), and `mfa_enabled`.
///
/// `mfa_enabled` is not a column but "a confirmed TOTP enrolment exists", computed by
/// every read: a primary-key lookup in `totp_enrolments`, and it can never disagree with
/// that table (a flag column would have to be kept in step by every MFA write).
macro_rules! user_columns {
    () => {
        "users.id AS id, users.email AS email, users.username AS username, \
         users.password_hash AS password_hash, users.roles AS roles, \
         users.user_settings AS user_settings, users.is_verified AS is_verified, \
         users.is_active AS is_active, users.created_at AS created_at, \
         users.updated_at AS updated_at, users.token_version AS token_version, \
         users.session_epoch AS session_epoch, \
         EXISTS (SELECT 1 FROM totp_enrolments \
                 WHERE totp_enrolments.user_id = users.id \
                 AND totp_enrolments.confirmed_at IS NOT NULL) AS mfa_enabled"
    };
}

/// The columns of `sessions` as [`session_from_row`] reads them: aliased with an `s_`
/// prefix, so that a row may also hold a user's or a token's columns.
macro_rules! session_columns {
    () => {
        "sessions.id AS s_id, sessions.user_id AS s_user_id, \
         sessions.created_at AS s_created_at, sessions.last_used_at AS s_last_used_at, \
         sessions.expires_at AS s_expires_at, sessions.revoked_at AS s_revoked_at, \
         sessions.epoch AS s_epoch, sessions.user_agent AS s_user_agent, sessions.ip AS s_ip"
    };
}

/// The columns of `audit_records`, in the order [`audit_from_row`] reads them.
macro_rules! audit_columns {
    () => {
        "seq, at, event, user_id, actor_id, session_id, ip, user_agent, detail, prev_hash, hash"
    };
}

/// The columns of `totp_enrolments`, in the order [`totp_from_row`] reads them.
macro_rules! totp_columns {
    () => {
        "user_id, secret, created_at, confirmed_at, pending_expires_at, last_used_step"
    };
}

/// The columns of `tokens`, in the order [`token_from_row`] reads them.
macro_rules! token_columns {
    () => {
        "id, user_id, kind, token_hash, family_id, family_expires_at, expires_at, created_at, \
         used_at, revoked_at"
    };
}

pub(crate) use {
    audit_columns, session_columns, token_columns, totp_columns, user_columns, user_insert_columns,
};

const NANOS_PER_MILLI: i128 = 1_000_000;

/// Milliseconds since the Unix epoch, rounded down: what the database stores.
pub(crate) fn to_millis(at: OffsetDateTime) -> i64 {
    let millis = at.unix_timestamp_nanos().div_euclid(NANOS_PER_MILLI);
    // `OffsetDateTime` spans years -9999..=9999, about ±3.2e14 ms: always inside i64.
    i64::try_from(millis).unwrap_or(if millis < 0 { i64::MIN } else { i64::MAX })
}

/// The time of a stored millisecond count, in UTC.
pub(crate) fn from_millis(millis: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * NANOS_PER_MILLI)
        .map_err(StoreError::corrupt)
}

/// The 16 bytes stored for a UUID.
pub(crate) fn uuid_bytes(id: &Uuid) -> &[u8] {
    id.as_bytes().as_slice()
}

pub(crate) fn uuid_from_bytes(bytes: &[u8]) -> Result<Uuid, StoreError> {
    Uuid::from_slice(bytes).map_err(StoreError::corrupt)
}

/// A 32-byte hash stored as a BLOB.
fn hash_from_bytes(bytes: &[u8], column: &str) -> Result<[u8; 32], StoreError> {
    bytes
        .try_into()
        .map_err(|_| StoreError::corrupt(format!("{column} is not 32 bytes long")))
}

fn get<'r, T>(row: &'r SqliteRow, column: &str) -> Result<T, StoreError>
where
    T: Decode<'r, Sqlite> + Type<Sqlite>,
{
    row.try_get(column).map_err(StoreError::corrupt)
}

/// Decodes a row of [`user_columns!`].
pub(crate) fn user_from_row(row: &SqliteRow) -> Result<User, StoreError> {
    let roles: Vec<String> =
        serde_json::from_str(get(row, "roles")?).map_err(StoreError::corrupt)?;
    let user_settings: UserSettings =
        serde_json::from_str(get(row, "user_settings")?).map_err(StoreError::corrupt)?;
    Ok(User {
        id: UserId::from_uuid(uuid_from_bytes(get(row, "id")?)?),
        email: get(row, "email")?,
        username: get(row, "username")?,
        password_hash: HashedPassword::new(get::<String>(row, "password_hash")?),
        roles,
        user_settings,
        is_verified: get(row, "is_verified")?,
        is_active: get(row, "is_active")?,
        mfa_enabled: get(row, "mfa_enabled")?,
        created_at: from_millis(get(row, "created_at")?)?,
        updated_at: from_millis(get(row, "updated_at")?)?,
        token_version: get(row, "token_version")?,
        session_epoch: get(row, "session_epoch")?,
    })
}

/// Decodes the user of a row of [`user_columns!`] read through an outer join: `None`
/// when the join found no user.
pub(crate) fn optional_user_from_row(row: &SqliteRow) -> Result<Option<User>, StoreError> {
    match get::<Option<&[u8]>>(row, "id")? {
        None => Ok(None),
        Some(_) => user_from_row(row).map(Some),
    }
}

/// Decodes a row of [`session_columns!`].
pub(crate) fn session_from_row(row: &SqliteRow) -> Result<SessionRecord, StoreError> {
    Ok(SessionRecord {
        id: uuid_from_bytes(get(row, "s_id")?)?,
        user_id: UserId::from_uuid(uuid_from_bytes(get(row, "s_user_id")?)?),
        created_at: from_millis(get(row, "s_created_at")?)?,
        last_used_at: from_millis(get(row, "s_last_used_at")?)?,
        expires_at: from_millis(get(row, "s_expires_at")?)?,
        revoked_at: optional_millis(row, "s_revoked_at")?,
        epoch: get(row, "s_epoch")?,
        user_agent: get(row, "s_user_agent")?,
        ip: get(row, "s_ip")?,
    })
}

/// Decodes the session of a row of [`session_columns!`] read through an outer join.
pub(crate) fn optional_session_from_row(
    row: &SqliteRow,
) -> Result<Option<SessionRecord>, StoreError> {
    match get::<Option<&[u8]>>(row, "s_id")? {
        None => Ok(None),
        Some(_) => session_from_row(row).map(Some),
    }
}

/// Decodes a row of [`audit_columns!`]. `detail` is parsed from the exact text stored.
pub(crate) fn audit_from_row(row: &SqliteRow) -> Result<AuditRecord, StoreError> {
    let optional_uuid = |column: &str| {
        get::<Option<&[u8]>>(row, column)?
            .map(uuid_from_bytes)
            .transpose()
    };
    Ok(AuditRecord {
        seq: get(row, "seq")?,
        at: from_millis(get(row, "at")?)?,
        event: get(row, "event")?,
        user_id: optional_uuid("user_id")?.map(UserId::from_uuid),
        actor_id: optional_uuid("actor_id")?.map(UserId::from_uuid),
        session_id: optional_uuid("session_id")?,
        ip: get(row, "ip")?,
        user_agent: get(row, "user_agent")?,
        detail: serde_json::from_str(get(row, "detail")?).map_err(StoreError::corrupt)?,
        prev_hash: hash_from_bytes(get(row, "prev_hash")?, "prev_hash")?,
        hash: hash_from_bytes(get(row, "hash")?, "hash")?,
    })
}

/// Decodes a row of [`totp_columns!`].
pub(crate) fn totp_from_row(row: &SqliteRow) -> Result<TotpRecord, StoreError> {
    Ok(TotpRecord {
        user_id: UserId::from_uuid(uuid_from_bytes(get(row, "user_id")?)?),
        secret: get(row, "secret")?,
        created_at: from_millis(get(row, "created_at")?)?,
        confirmed_at: optional_millis(row, "confirmed_at")?,
        pending_expires_at: from_millis(get(row, "pending_expires_at")?)?,
        last_used_step: get(row, "last_used_step")?,
    })
}

/// A nullable time column.
fn optional_millis(row: &SqliteRow, column: &str) -> Result<Option<OffsetDateTime>, StoreError> {
    get::<Option<i64>>(row, column)?
        .map(from_millis)
        .transpose()
}

/// Decodes a row of [`token_columns!`].
pub(crate) fn token_from_row(row: &SqliteRow) -> Result<TokenRecord, StoreError> {
    let kind = get::<&str>(row, "kind")?;
    let kind = TokenKind::parse(kind)
        .ok_or_else(|| StoreError::corrupt(format!("unknown token kind {kind:?}")))?;
    let token_hash = TokenHash::from_slice(get(row, "token_hash")?)
        .ok_or_else(|| StoreError::corrupt("token_hash is not 32 bytes long"))?;
    let optional_time = |column: &str| optional_millis(row, column);
    Ok(TokenRecord {
        id: uuid_from_bytes(get(row, "id")?)?,
        user_id: UserId::from_uuid(uuid_from_bytes(get(row, "user_id")?)?),
        kind,
        token_hash,
        family_id: get::<Option<&[u8]>>(row, "family_id")?
            .map(uuid_from_bytes)
            .transpose()?,
        family_expires_at: optional_time("family_expires_at")?,
        expires_at: from_millis(get(row, "expires_at")?)?,
        created_at: from_millis(get(row, "created_at")?)?,
        used_at: optional_time("used_at")?,
        revoked_at: optional_time("revoked_at")?,
    })
}

/// Roles as the JSON array stored for them.
pub(crate) fn roles_json(roles: &[String]) -> Result<String, StoreError> {
    // Serialising strings cannot fail; keep the error path anyway rather than panic.
    serde_json::to_string(roles).map_err(StoreError::unavailable)
}

/// Settings as the JSON object stored for them.
pub(crate) fn settings_json(settings: &UserSettings) -> Result<String, StoreError> {
    serde_json::to_string(settings).map_err(StoreError::unavailable)
}

/// An audit record's detail as the text stored: serde_json's, the text its hash covers.
pub(crate) fn detail_json(detail: &serde_json::Value) -> Result<String, StoreError> {
    serde_json::to_string(detail).map_err(StoreError::unavailable)
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn times_round_trip_at_millisecond_precision() {
        for at in [
            datetime!(2026-11-28 15:00:00.123 UTC),
            datetime!(1970-01-01 00:00:00 UTC),
            datetime!(1969-12-31 23:59:59.999 UTC),
            datetime!(9999-12-31 23:59:59.999 UTC),
            datetime!(-9999-01-01 00:00:00 UTC),
        ] {
            assert_eq!(from_millis(to_millis(at)).unwrap(), at, "{at}");
        }
    }

    #[test]
    fn sub_millisecond_parts_are_rounded_down() {
        let at = datetime!(1969-12-31 23:59:59.9995 UTC);
        assert_eq!(to_millis(at), -1);
        assert_eq!(
            to_millis(datetime!(2026-01-01 00:00:00.000_999 UTC)),
            to_millis(datetime!(2026-01-01 00:00:00 UTC))
        );
    }

    #[test]
    fn offsets_are_stored_as_the_same_instant() {
        let utc = datetime!(2026-11-28 15:00:00 UTC);
        let paris = datetime!(2026-11-28 16:00:00 +1);
        assert_eq!(to_millis(utc), to_millis(paris));
    }

    #[test]
    fn out_of_range_times_are_corrupt() {
        assert!(matches!(from_millis(i64::MAX), Err(StoreError::Corrupt(_))));
    }
}
