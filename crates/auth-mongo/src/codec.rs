//! How users and tokens are laid out as BSON documents, and the conversions both ways.
//!
//! - Ids (`_id`, `user_id`, `family_id`) are strings: the UUID in its canonical form, lower
//!   case with hyphens (36 characters). Every driver, shell and BI tool reads them alike —
//!   binary UUIDs have two subtypes (3, with driver-specific byte orders, and 4) that
//!   legacy tools confuse — and the canonical form sorts like the UUID's bytes, so UUID v7
//!   ids sort by creation.
//! - Times are BSON dates (milliseconds since the epoch, UTC).
//! - `token_hash` is BSON binary (generic subtype) of the 32 SHA-256 bytes.
//! - `roles` is an array of strings, `user_settings` an embedded document.
//! - Absent optional values (`used_at`, `revoked_at`, `family_id`, …) are stored as `null`.
//! - Integers (versions, epochs, steps, counter times in ms) are BSON `long`.
//!
//! The documents of the later capabilities have their own submodules: [`session`],
//! [`counter`], [`audit`] and [`mfa`] (the TOTP enrolment and recovery codes, kept inside the
//! user document).

use std::fmt;

use auth_core::{
    HashedPassword, StoreError, TokenHash, TokenKind, TokenRecord, User, UserId, UserSettings,
};
use mongodb::bson::spec::BinarySubtype;
use mongodb::bson::{self, Binary, Bson, Document};
use serde::{Deserialize, Serialize};
use serde_json::{Number, Value};
use time::OffsetDateTime;
use uuid::Uuid;

pub(crate) mod audit;
pub(crate) mod counter;
pub(crate) mod mfa;
pub(crate) mod session;

/// Field names, shared by the documents, the filters and the indexes.
pub(crate) mod field {
    pub(crate) const ID: &str = "_id";
    pub(crate) const EMAIL: &str = "email";
    pub(crate) const USERNAME: &str = "username";
    pub(crate) const PASSWORD_HASH: &str = "password_hash";
    pub(crate) const ROLES: &str = "roles";
    pub(crate) const USER_SETTINGS: &str = "user_settings";
    pub(crate) const IS_VERIFIED: &str = "is_verified";
    pub(crate) const IS_ACTIVE: &str = "is_active";
    pub(crate) const CREATED_AT: &str = "created_at";
    pub(crate) const UPDATED_AT: &str = "updated_at";
    pub(crate) const USER_ID: &str = "user_id";
    pub(crate) const KIND: &str = "kind";
    pub(crate) const TOKEN_HASH: &str = "token_hash";
    pub(crate) const FAMILY_ID: &str = "family_id";
    pub(crate) const EXPIRES_AT: &str = "expires_at";
    pub(crate) const USED_AT: &str = "used_at";
    pub(crate) const REVOKED_AT: &str = "revoked_at";
    // Users, since sessions.
    pub(crate) const TOKEN_VERSION: &str = "token_version";
    pub(crate) const SESSION_EPOCH: &str = "session_epoch";
    pub(crate) const VERSIONED_AT: &str = "versioned_at";
    pub(crate) const MFA_ENABLED: &str = "mfa_enabled";
    pub(crate) const TOTP: &str = "totp";
    pub(crate) const RECOVERY_CODES: &str = "recovery_codes";
    pub(crate) const RECOVERY_CODES_USED: &str = "recovery_codes_used";
    // Sessions.
    pub(crate) const LAST_USED_AT: &str = "last_used_at";
    pub(crate) const EPOCH: &str = "epoch";
    pub(crate) const REVOKED_BY: &str = "revoked_by";
    // Counters (times in ms since the epoch).
    pub(crate) const TAT: &str = "tat";
    pub(crate) const FAILURES: &str = "failures";
    pub(crate) const BLOCKED_UNTIL: &str = "blocked_until";
    // Audit.
    pub(crate) const SEQ: &str = "seq";
    pub(crate) const AT: &str = "at";
    pub(crate) const EVENT: &str = "event";
}

/// A user as stored in the users collection. No `Debug`: it holds the password hash.
///
/// The users collection holds more than this: `versioned_at` (the date of the last raise of
/// `token_version`, for the revocation feed) and the MFA fields of [`mfa`], which user reads
/// leave out ([`user_projection`]); serde ignores fields a struct does not name.
#[derive(Serialize, Deserialize)]
pub(crate) struct UserDoc {
    #[serde(rename = "_id")]
    id: String,
    email: String,
    username: String,
    password_hash: String,
    roles: Vec<String>,
    user_settings: Document,
    is_verified: bool,
    is_active: bool,
    created_at: bson::DateTime,
    updated_at: bson::DateTime,
    // The three fields below are missing from documents written before sessions and MFA
    // existed; they read as 0, 0 and false, which is what those users are.
    #[serde(default)]
    token_version: i64,
    #[serde(default)]
    session_epoch: i64,
    /// Whether a confirmed TOTP enrolment exists. Kept in step with `totp` by the very
    /// write that confirms or deletes the enrolment (both live in this one document), so
    /// every read of the user tells the truth without a transaction or a second query.
    #[serde(default)]
    mfa_enabled: bool,
}

/// The projection of every user read: the document without its second-factor secrets,
/// which only the MFA methods read.
pub(crate) fn user_projection() -> Document {
    mongodb::bson::doc! {
        field::TOTP: 0,
        field::RECOVERY_CODES: 0,
        field::RECOVERY_CODES_USED: 0,
    }
}

impl From<&User> for UserDoc {
    fn from(user: &User) -> Self {
        Self {
            id: id_to_bson(*user.id.as_uuid()),
            email: user.email.clone(),
            username: user.username.clone(),
            password_hash: user.password_hash.as_str().to_owned(),
            roles: user.roles.clone(),
            user_settings: settings_to_document(&user.user_settings),
            is_verified: user.is_verified,
            is_active: user.is_active,
            created_at: date_to_bson(user.created_at),
            updated_at: date_to_bson(user.updated_at),
            token_version: user.token_version,
            session_epoch: user.session_epoch,
            // A new user has no enrolment, whatever the caller's struct says: the flag is
            // the store's account of the `totp` field, never an input.
            mfa_enabled: false,
        }
    }
}

impl TryFrom<UserDoc> for User {
    type Error = StoreError;

    fn try_from(doc: UserDoc) -> Result<Self, StoreError> {
        Ok(Self {
            id: UserId::from_uuid(id_from_bson(&doc.id)?),
            email: doc.email,
            username: doc.username,
            password_hash: HashedPassword::new(doc.password_hash),
            roles: doc.roles,
            user_settings: settings_from_document(doc.user_settings)?,
            is_verified: doc.is_verified,
            is_active: doc.is_active,
            mfa_enabled: doc.mfa_enabled,
            created_at: date_from_bson(doc.created_at)?,
            updated_at: date_from_bson(doc.updated_at)?,
            token_version: doc.token_version,
            session_epoch: doc.session_epoch,
        })
    }
}

/// A token as stored in the tokens collection. No `Debug`: it holds the token hash.
#[derive(Serialize, Deserialize)]
pub(crate) struct TokenDoc {
    #[serde(rename = "_id")]
    id: String,
    user_id: String,
    kind: String,
    token_hash: Binary,
    family_id: Option<String>,
    family_expires_at: Option<bson::DateTime>,
    expires_at: bson::DateTime,
    created_at: bson::DateTime,
    used_at: Option<bson::DateTime>,
    revoked_at: Option<bson::DateTime>,
}

impl From<&TokenRecord> for TokenDoc {
    fn from(token: &TokenRecord) -> Self {
        Self {
            id: id_to_bson(token.id),
            user_id: id_to_bson(*token.user_id.as_uuid()),
            kind: token.kind.as_str().to_owned(),
            token_hash: hash_to_binary(&token.token_hash),
            family_id: token.family_id.map(id_to_bson),
            family_expires_at: token.family_expires_at.map(date_to_bson),
            expires_at: date_to_bson(token.expires_at),
            created_at: date_to_bson(token.created_at),
            used_at: token.used_at.map(date_to_bson),
            revoked_at: token.revoked_at.map(date_to_bson),
        }
    }
}

impl TryFrom<TokenDoc> for TokenRecord {
    type Error = StoreError;

    fn try_from(doc: TokenDoc) -> Result<Self, StoreError> {
        let kind = TokenKind::parse(&doc.kind)
            .ok_or_else(|| corrupt("token kind is neither refresh nor password_reset"))?;
        if doc.token_hash.subtype != BinarySubtype::Generic {
            return Err(corrupt("token_hash is not generic binary"));
        }
        let token_hash = TokenHash::from_slice(&doc.token_hash.bytes)
            .ok_or_else(|| corrupt("token_hash is not 32 bytes long"))?;
        Ok(Self {
            id: id_from_bson(&doc.id)?,
            user_id: UserId::from_uuid(id_from_bson(&doc.user_id)?),
            kind,
            token_hash,
            family_id: doc.family_id.as_deref().map(id_from_bson).transpose()?,
            family_expires_at: doc.family_expires_at.map(date_from_bson).transpose()?,
            expires_at: date_from_bson(doc.expires_at)?,
            created_at: date_from_bson(doc.created_at)?,
            used_at: doc.used_at.map(date_from_bson).transpose()?,
            revoked_at: doc.revoked_at.map(date_from_bson).transpose()?,
        })
    }
}

/// A stored document that cannot become a domain value. The message names the field and
/// the problem, never the stored value (which could be a hash).
#[derive(Debug)]
pub(crate) struct CorruptDocument(&'static str);

impl fmt::Display for CorruptDocument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "stored document is invalid: {}", self.0)
    }
}

impl std::error::Error for CorruptDocument {}

pub(crate) fn corrupt(reason: &'static str) -> StoreError {
    StoreError::corrupt(CorruptDocument(reason))
}

/// The stored form of an id: canonical lower-case hyphenated text.
pub(crate) fn id_to_bson(uuid: Uuid) -> String {
    uuid.hyphenated().to_string()
}

pub(crate) fn id_from_bson(id: &str) -> Result<Uuid, StoreError> {
    Uuid::try_parse(id).map_err(|_| corrupt("an id is not a UUID"))
}

/// Milliseconds since the epoch, rounded towards the past: auth-core already truncates every
/// time it creates to milliseconds, so nothing is lost for its values.
pub(crate) fn date_to_bson(at: OffsetDateTime) -> bson::DateTime {
    let millis = at.unix_timestamp_nanos().div_euclid(1_000_000);
    // Every `OffsetDateTime` (years ±9999) is a few hundred billion milliseconds from the
    // epoch, far inside i64; saturating keeps the conversion total without a panic path.
    let millis = i64::try_from(millis).unwrap_or(if millis < 0 { i64::MIN } else { i64::MAX });
    bson::DateTime::from_millis(millis)
}

pub(crate) fn date_from_bson(at: bson::DateTime) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(at.timestamp_millis()) * 1_000_000)
        .map_err(|_| corrupt("date is outside the supported range"))
}

pub(crate) fn hash_to_binary(hash: &TokenHash) -> Binary {
    Binary {
        subtype: BinarySubtype::Generic,
        bytes: hash.as_bytes().to_vec(),
    }
}

/// Settings become an embedded document, converted by hand rather than through serde so that
/// keys such as `$date` or `$oid` stay plain keys instead of being read as extended JSON.
///
/// Integers that fit 32 bits are stored as `int`, larger ones as `long`; integers beyond
/// `i64::MAX` (possible in JSON, not in BSON) are stored as `double`, as MongoDB's own tools
/// do, and read back as such.
pub(crate) fn settings_to_document(settings: &UserSettings) -> Document {
    settings
        .iter()
        .map(|(key, value)| (key.clone(), json_to_bson(value)))
        .collect()
}

fn json_to_bson(value: &Value) -> Bson {
    match value {
        Value::Null => Bson::Null,
        Value::Bool(b) => Bson::Boolean(*b),
        Value::Number(n) => number_to_bson(n),
        Value::String(s) => Bson::String(s.clone()),
        Value::Array(items) => Bson::Array(items.iter().map(json_to_bson).collect()),
        Value::Object(map) => Bson::Document(
            map.iter()
                .map(|(key, value)| (key.clone(), json_to_bson(value)))
                .collect(),
        ),
    }
}

fn number_to_bson(number: &Number) -> Bson {
    if let Some(i) = number.as_i64() {
        i32::try_from(i).map_or(Bson::Int64(i), Bson::Int32)
    } else {
        // A u64 above i64::MAX or a float; serde_json without `arbitrary_precision` always
        // has an f64 view of both.
        Bson::Double(number.as_f64().unwrap_or(f64::NAN))
    }
}

fn settings_from_document(document: Document) -> Result<UserSettings, StoreError> {
    document
        .into_iter()
        .map(|(key, value)| Ok((key, bson_to_json(value)?)))
        .collect()
}

fn bson_to_json(value: Bson) -> Result<Value, StoreError> {
    Ok(match value {
        Bson::Null => Value::Null,
        Bson::Boolean(b) => Value::Bool(b),
        Bson::Int32(i) => Value::Number(i.into()),
        Bson::Int64(i) => Value::Number(i.into()),
        Bson::Double(f) => Value::Number(
            Number::from_f64(f)
                .ok_or_else(|| corrupt("user_settings holds a NaN or infinite number"))?,
        ),
        Bson::String(s) => Value::String(s),
        Bson::Array(items) => Value::Array(
            items
                .into_iter()
                .map(bson_to_json)
                .collect::<Result<_, _>>()?,
        ),
        Bson::Document(document) => Value::Object(settings_from_document(document)?),
        _ => {
            return Err(corrupt(
                "user_settings holds a BSON type JSON cannot represent",
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn object(value: Value) -> UserSettings {
        match value {
            Value::Object(map) => map,
            other => panic!("not an object: {other}"),
        }
    }

    #[test]
    fn settings_round_trip_through_an_embedded_document() {
        let settings = object(json!({
            "theme": "dark",
            "n": [1, -2, 2.5, 3_000_000_000_i64, "três", null, true, {}],
            "nested": {"deep": {"list": []}},
            "$date": 5,
            "a.b": "dots and dollars stay plain keys",
        }));
        let document = settings_to_document(&settings);
        assert_eq!(document.get("$date"), Some(&Bson::Int32(5)));
        assert!(matches!(document.get("nested"), Some(Bson::Document(_))));
        let Some(Bson::Array(numbers)) = document.get("n") else {
            panic!("n is not an array: {document}");
        };
        assert_eq!(numbers[0], Bson::Int32(1));
        assert_eq!(numbers[2], Bson::Double(2.5));
        assert_eq!(numbers[3], Bson::Int64(3_000_000_000));
        assert_eq!(settings_from_document(document).unwrap(), settings);
    }

    #[test]
    fn integers_beyond_i64_become_doubles() {
        let settings = object(json!({"big": u64::MAX}));
        let document = settings_to_document(&settings);
        assert_eq!(document.get("big"), Some(&Bson::Double(u64::MAX as f64)));
    }

    #[test]
    fn bson_types_json_cannot_hold_are_corrupt() {
        for value in [
            Bson::Double(f64::NAN),
            Bson::ObjectId(bson::oid::ObjectId::new()),
            Bson::DateTime(bson::DateTime::from_millis(0)),
        ] {
            let mut document = Document::new();
            document.insert("x", value);
            let result = settings_from_document(document);
            assert!(matches!(result, Err(StoreError::Corrupt(_))), "{result:?}");
        }
    }

    #[test]
    fn dates_keep_milliseconds_and_round_towards_the_past() {
        let at = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_789).unwrap();
        let stored = date_to_bson(at);
        assert_eq!(stored.timestamp_millis(), 1_700_000_000_123);
        assert_eq!(
            date_from_bson(stored).unwrap(),
            auth_core::truncate_to_millis(at)
        );
        let before_epoch = OffsetDateTime::from_unix_timestamp_nanos(-1).unwrap();
        assert_eq!(date_to_bson(before_epoch).timestamp_millis(), -1);
    }

    #[test]
    fn malformed_token_documents_are_corrupt_without_echoing_values() {
        let user = auth_core::testing::sample_user("a@example.com");
        let token = auth_core::testing::sample_token(&user, TokenKind::Refresh);
        let mut doc = TokenDoc::from(&token);
        doc.kind = "access".into();
        assert!(matches!(
            TokenRecord::try_from(doc),
            Err(StoreError::Corrupt(_))
        ));
        let mut doc = TokenDoc::from(&token);
        doc.token_hash.bytes.truncate(31);
        let error = TokenRecord::try_from(doc).err().unwrap();
        assert!(matches!(error, StoreError::Corrupt(_)));
        let source = std::error::Error::source(&error).unwrap().to_string();
        assert!(
            !source.contains(&token.token_hash.to_hex()[..8]),
            "{source}"
        );
        assert_eq!(
            TokenRecord::try_from(TokenDoc::from(&token)).unwrap(),
            token
        );
    }
}
