//! How domain values are stored: ids as 16-byte BLOBs, token hashes as 32-byte BLOBs,
//! times as INTEGER Unix milliseconds, roles and settings as JSON text.

use auth_core::{
    HashedPassword, StoreError, TokenHash, TokenKind, TokenRecord, User, UserId, UserSettings,
};
use sqlx::sqlite::SqliteRow;
use sqlx::{Decode, Row, Sqlite, Type};
use time::OffsetDateTime;
use uuid::Uuid;

/// The columns of `users`, in the order [`user_from_row`] reads them.
macro_rules! user_columns {
    () => {
        "id, email, username, password_hash, roles, user_settings, is_verified, is_active, \
         created_at, updated_at"
    };
}

/// The columns of `tokens`, in the order [`token_from_row`] reads them.
macro_rules! token_columns {
    () => {
        "id, user_id, kind, token_hash, family_id, family_expires_at, expires_at, created_at, \
         used_at, revoked_at"
    };
}

pub(crate) use {token_columns, user_columns};

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

fn uuid_from_bytes(bytes: &[u8]) -> Result<Uuid, StoreError> {
    Uuid::from_slice(bytes).map_err(StoreError::corrupt)
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
        created_at: from_millis(get(row, "created_at")?)?,
        updated_at: from_millis(get(row, "updated_at")?)?,
    })
}

/// Decodes a row of [`token_columns!`].
pub(crate) fn token_from_row(row: &SqliteRow) -> Result<TokenRecord, StoreError> {
    let kind = get::<&str>(row, "kind")?;
    let kind = TokenKind::parse(kind)
        .ok_or_else(|| StoreError::corrupt(format!("unknown token kind {kind:?}")))?;
    let token_hash = TokenHash::from_slice(get(row, "token_hash")?)
        .ok_or_else(|| StoreError::corrupt("token_hash is not 32 bytes long"))?;
    let optional_time = |column: &str| {
        get::<Option<i64>>(row, column)?
            .map(from_millis)
            .transpose()
    };
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
