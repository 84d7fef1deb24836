//! Users: identifiers, the stored record, and the inputs that create or change one.

use std::fmt;
use std::str::FromStr;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use unicode_normalization::UnicodeNormalization as _;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory as _};

use crate::error::{AuthError, FieldError};

/// Free-form per-user settings: a JSON object.
pub type UserSettings = serde_json::Map<String, serde_json::Value>;

/// A user's identifier: a UUID v7, so ids sort by creation time.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(Uuid);

impl UserId {
    /// A fresh, time-ordered id.
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }

    /// Wraps an existing UUID (for stores reading a record back).
    pub const fn from_uuid(uuid: Uuid) -> Self {
        Self(uuid)
    }

    /// The UUID inside.
    pub const fn as_uuid(&self) -> &Uuid {
        &self.0
    }
}

impl Default for UserId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UserId({})", self.0)
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl FromStr for UserId {
    type Err = uuid::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(Self)
    }
}

/// An argon2id hash in PHC string format. Its `Debug` never prints the hash.
#[derive(Clone, PartialEq, Eq)]
pub struct HashedPassword(String);

impl HashedPassword {
    /// Wraps a PHC string read from a store.
    pub fn new(phc: impl Into<String>) -> Self {
        Self(phc.into())
    }

    /// The PHC string, for stores to persist.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for HashedPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HashedPassword([redacted])")
    }
}

/// A user as stored. Serialising it gives the API's User shape: the hash is never written.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct User {
    /// The id.
    pub id: UserId,
    /// The normalised email (trimmed, lower case); unique.
    pub email: String,
    /// The display name; not unique.
    pub username: String,
    /// The password hash; never serialised.
    #[serde(skip)]
    pub password_hash: HashedPassword,
    /// Free-form roles, e.g. `admin`.
    pub roles: Vec<String>,
    /// Free-form settings object.
    pub user_settings: UserSettings,
    /// Whether the email address was verified.
    pub is_verified: bool,
    /// Whether the account may sign in.
    pub is_active: bool,
    /// Whether a confirmed second factor (TOTP) is required at login.
    pub mfa_enabled: bool,
    /// Creation time.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last change.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// Access tokens with a `ver` claim below this are stale (see [`crate::SessionRecord`]).
    /// Starts at 0; only ever raised, by [`UserPatch::invalidate`].
    #[serde(skip)]
    pub token_version: i64,
    /// Sessions with an `epoch` below this are cut. Starts at 0; only ever raised, by
    /// [`UserPatch::invalidate`].
    #[serde(skip)]
    pub session_epoch: i64,
}

impl User {
    /// Whether the user holds `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }
}

/// A registration request: the only fields a client may set when signing up.
/// Roles and flags are never taken from it (ASVS 5.0 15.3.3, mass assignment).
#[derive(Debug, Clone)]
pub struct NewUser {
    /// The email, as typed; it is normalised by the service.
    pub email: String,
    /// The display name.
    pub username: String,
    /// The password, as typed.
    pub password: SecretString,
}

/// A partial update of a stored user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserPatch {
    /// New display name.
    pub username: Option<String>,
    /// New password hash.
    pub password_hash: Option<HashedPassword>,
    /// New roles (replacing the old ones).
    pub roles: Option<Vec<String>>,
    /// New settings object (replacing the old one).
    pub user_settings: Option<UserSettings>,
    /// New verification flag.
    pub is_verified: Option<bool>,
    /// New activation flag.
    pub is_active: Option<bool>,
    /// The time of the change; stores set `updated_at` to it.
    pub updated_at: Option<OffsetDateTime>,
    /// Credentials to cut in the same write. Needs `updated_at`, which dates the cut.
    pub invalidate: Option<Invalidate>,
}

/// What a [`UserPatch`] cuts, in the same write as the rest of the patch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalidate {
    /// Every access token issued before is stale (`token_version + 1`); sessions live on,
    /// so a refresh gets a token with the current roles. For a role change.
    AccessTokens,
    /// Every session and every access token issued before is cut (`token_version + 1`,
    /// `session_epoch` = the new `token_version`). For a password change or reset, a
    /// deactivation, logout-all.
    Sessions,
}

/// What a user may change about themselves with `PATCH /me`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ProfileUpdate {
    /// New display name.
    #[serde(default)]
    pub username: Option<String>,
    /// Settings to merge in as an RFC 7396 JSON merge patch: keys with `null` are removed.
    #[serde(default)]
    pub user_settings: Option<UserSettings>,
}

/// One page of users and the total count.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserPage {
    /// The users of this page, oldest first.
    pub items: Vec<User>,
    /// How many users exist in all.
    pub total: u64,
}

/// Longest accepted email address (RFC 5321 §4.5.3.1.3 path limit minus the brackets).
pub const MAX_EMAIL_LEN: usize = 254;
/// Longest accepted username, in characters.
pub const MAX_USERNAME_CHARS: usize = 64;
/// Largest accepted `user_settings` object, as serialised JSON bytes.
pub const MAX_SETTINGS_BYTES: usize = 16 * 1024;

/// Normalises an email for storage and lookup: trimmed, NFKC-normalised, lower case. Returns
/// [`AuthError::InvalidEmail`] when the result is not a plausible address, or when the input
/// holds an invisible formatting character (Unicode category Cf: zero-width spaces and
/// joiners, the soft hyphen, the byte-order mark, bidirectional controls), which would
/// otherwise let `alice\u{200b}@example.com` open a second account beside
/// `alice@example.com`. NFKC maps compatibility forms (fullwidth `ａｌｉｃｅ`, ligatures) to
/// their plain letters, so they name the same account (Django CVE-2019-19844 is the
/// classic case of lookalikes).
///
/// The check is deliberately structural (one `@`, a non-empty local part of at most 64
/// bytes, a dotted domain of DNS labels, no whitespace or control characters): the only
/// real proof of an address is the verification email.
///
/// # Errors
///
/// [`AuthError::InvalidEmail`] when the address is implausible.
pub fn normalize_email(raw: &str) -> Result<String, AuthError> {
    if raw.chars().any(is_invisible) {
        return Err(AuthError::InvalidEmail);
    }
    // NFKC again after lower-casing: a lower-case mapping can leave combining marks out of
    // canonical order (`İ` + U+0327 becomes `i` U+0307 U+0327), and the stored form must
    // be one that normalises to itself, or one address would have two spellings.
    let email = raw
        .trim()
        .nfkc()
        .collect::<String>()
        .to_lowercase()
        .nfkc()
        .collect::<String>();
    if email.len() > MAX_EMAIL_LEN {
        return Err(AuthError::InvalidEmail);
    }
    let Some((local, domain)) = email.split_once('@') else {
        return Err(AuthError::InvalidEmail);
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && !"@<>()[]\\,;:\"".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
    if local_ok && domain_ok {
        Ok(email)
    } else {
        Err(AuthError::InvalidEmail)
    }
}

/// Whether a character is invisible formatting (Unicode category Cf) or a control
/// character: refused in every stored name.
fn is_invisible(c: char) -> bool {
    c.is_control() || c.general_category() == GeneralCategory::Format
}

/// Validates and trims a username: NFKC-normalised, 1–64 characters, no control or
/// invisible formatting characters (bidirectional overrides would let a name display as
/// another).
///
/// # Errors
///
/// [`AuthError::Validation`] naming the `username` field.
pub fn normalize_username(raw: &str) -> Result<String, AuthError> {
    let normalized: String = raw.trim().nfkc().collect();
    let username = normalized.trim();
    let chars = username.chars().count();
    let problem = if chars == 0 {
        Some(("required", "must not be empty".to_owned()))
    } else if chars > MAX_USERNAME_CHARS {
        Some((
            "too_long",
            format!("must be at most {MAX_USERNAME_CHARS} characters long"),
        ))
    } else if raw.chars().any(is_invisible) {
        Some((
            "invalid_characters",
            "must not contain control or invisible formatting characters".to_owned(),
        ))
    } else {
        None
    };
    match problem {
        Some((code, message)) => Err(AuthError::Validation(vec![FieldError::new(
            "username", code, message,
        )])),
        None => Ok(username.to_owned()),
    }
}

/// Deepest nesting of objects and arrays accepted in `user_settings`.
pub const MAX_SETTINGS_DEPTH: usize = 32;

/// Applies an RFC 7396 JSON merge patch to a settings object and checks that every store
/// can keep the result the same way: at most [`MAX_SETTINGS_BYTES`] of JSON and
/// [`MAX_SETTINGS_DEPTH`] levels, no NUL character in a string or key, no key that starts
/// with `$` or contains `.` (MongoDB refuses them), and integers within 64 bits. Input
/// that one backend cannot store is refused on all of them, before any store sees it.
///
/// # Errors
///
/// [`AuthError::Validation`] naming `user_settings`; nothing is stored.
pub fn merge_settings(
    current: &UserSettings,
    patch: &UserSettings,
) -> Result<UserSettings, AuthError> {
    let mut merged = serde_json::Value::Object(current.clone());
    merge_value(&mut merged, &serde_json::Value::Object(patch.clone()));
    let serde_json::Value::Object(merged) = merged else {
        return Err(settings_error("must be a JSON object"));
    };
    check_storable(&serde_json::Value::Object(merged.clone()), 1)?;
    let size = serde_json::to_vec(&merged).map_or(usize::MAX, |bytes| bytes.len());
    if size > MAX_SETTINGS_BYTES {
        return Err(settings_error(&format!(
            "must serialise to at most {MAX_SETTINGS_BYTES} bytes"
        )));
    }
    Ok(merged)
}

/// Refuses what a store could not keep identically (see [`merge_settings`]).
fn check_storable(value: &serde_json::Value, depth: usize) -> Result<(), AuthError> {
    use serde_json::Value;
    match value {
        Value::String(text) if text.contains('\0') => {
            Err(settings_error("strings must not contain a NUL character"))
        }
        Value::Number(number) if number.is_u64() && number.as_i64().is_none() => Err(
            settings_error("integers must fit in a signed 64-bit integer"),
        ),
        Value::Array(items) => {
            if depth > MAX_SETTINGS_DEPTH {
                return Err(settings_error(&format!(
                    "must not nest more than {MAX_SETTINGS_DEPTH} levels"
                )));
            }
            items
                .iter()
                .try_for_each(|item| check_storable(item, depth + 1))
        }
        Value::Object(map) => {
            if depth > MAX_SETTINGS_DEPTH {
                return Err(settings_error(&format!(
                    "must not nest more than {MAX_SETTINGS_DEPTH} levels"
                )));
            }
            for (key, item) in map {
                if key.contains('\0') || key.starts_with('$') || key.contains('.') {
                    return Err(settings_error(
                        "keys must not contain a NUL character or a dot, nor start with $",
                    ));
                }
                check_storable(item, depth + 1)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn settings_error(message: &str) -> AuthError {
    AuthError::Validation(vec![FieldError::new("user_settings", "invalid", message)])
}

fn merge_value(target: &mut serde_json::Value, patch: &serde_json::Value) {
    let serde_json::Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = serde_json::Value::Object(UserSettings::new());
    }
    if let serde_json::Value::Object(map) = target {
        for (key, value) in patch {
            if value.is_null() {
                map.remove(key);
            } else {
                merge_value(
                    map.entry(key.clone()).or_insert(serde_json::Value::Null),
                    value,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(
            normalize_email("  Alice@Example.COM ").ok().as_deref(),
            Some("alice@example.com")
        );
    }

    #[test]
    fn implausible_emails_are_refused() {
        for bad in [
            "",
            "alice",
            "@example.com",
            "alice@",
            "alice@localhost",
            "al ice@example.com",
            "alice@exa mple.com",
            "alice@@example.com",
            "alice@-example.com",
            "a..b@example.com",
            "alice@example..com",
            "alice\n@example.com",
        ] {
            assert!(
                matches!(normalize_email(bad), Err(AuthError::InvalidEmail)),
                "{bad:?} was accepted"
            );
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(normalize_email(&long).is_err());
    }

    #[test]
    fn lookalike_emails_are_one_account_or_refused() {
        assert_eq!(
            normalize_email("ａｌｉｃｅ@ｅｘａｍｐｌｅ.com")
                .ok()
                .as_deref(),
            Some("alice@example.com"),
            "fullwidth forms are the plain letters"
        );
        for invisible in [
            "alice\u{200b}@example.com",
            "ali\u{00ad}ce@example.com",
            "\u{feff}alice@example.com",
            "alice@exa\u{200d}mple.com",
            "alice\u{202e}@example.com",
        ] {
            assert!(
                matches!(normalize_email(invisible), Err(AuthError::InvalidEmail)),
                "{invisible:?} accepted"
            );
        }
    }

    /// Found by the fuzz target `normalize`: NFKC, then lower case, left `İ` followed by
    /// combining marks out of canonical order, so the stored address was not its own
    /// normal form — logging in with it looked up another string, and registering with it
    /// made a second account for the same address.
    #[test]
    fn a_normalised_email_is_its_own_normal_form() {
        for raw in [
            "\u{130}\u{307}\u{327}@ma.m",
            "\u{130}\u{327}@example.com",
            "Ä\u{323}@example.com",
            "ＡＬＩＣＥ@ｅｘａｍｐｌｅ.com",
        ] {
            let Ok(once) = normalize_email(raw) else {
                panic!("{raw:?} refused");
            };
            assert_eq!(normalize_email(&once).ok(), Some(once.clone()), "{raw:?}");
        }
        assert_eq!(
            normalize_email("\u{130}\u{307}\u{327}@ma.m")
                .ok()
                .as_deref(),
            Some("i\u{327}\u{307}\u{307}@ma.m")
        );
    }

    #[test]
    fn usernames_refuse_invisible_and_bidi_characters() {
        assert!(normalize_username("ali\u{202e}ce").is_err());
        assert!(normalize_username("ali\u{200b}ce").is_err());
        assert_eq!(
            normalize_username("ＡＬＩＣＥ").ok().as_deref(),
            Some("ALICE")
        );
    }

    #[test]
    fn settings_no_store_could_keep_are_refused() {
        let object = |v: serde_json::Value| match v {
            serde_json::Value::Object(map) => map,
            _ => unreachable!(),
        };
        let mut deep = json!(1);
        for _ in 0..MAX_SETTINGS_DEPTH {
            deep = json!({ "d": deep });
        }
        let ok_deep = object(deep.clone());
        assert!(merge_settings(&UserSettings::new(), &ok_deep).is_ok());
        let too_deep = object(json!({ "d": deep }));
        for bad in [
            json!({"name": "a\u{0}b"}),
            json!({"a\u{0}b": 1}),
            json!({"$where": 1}),
            json!({"a.b": 1}),
            json!({"n": 18_446_744_073_709_551_615_u64}),
            json!({"list": [{"x": "nul\u{0}"}]}),
        ] {
            assert!(
                matches!(
                    merge_settings(&UserSettings::new(), &object(bad.clone())),
                    Err(AuthError::Validation(_))
                ),
                "{bad} accepted"
            );
        }
        assert!(merge_settings(&UserSettings::new(), &too_deep).is_err());
    }

    #[test]
    fn usernames_are_trimmed_and_bounded() {
        assert_eq!(normalize_username(" alice ").ok().as_deref(), Some("alice"));
        assert!(normalize_username("   ").is_err());
        assert!(normalize_username(&"x".repeat(65)).is_err());
        assert!(normalize_username("a\u{0}b").is_err());
    }

    #[test]
    fn settings_merge_follows_rfc_7396() {
        let current = json!({"theme": "dark", "lang": "fr", "ui": {"a": 1, "b": 2}});
        let patch = json!({"lang": null, "ui": {"b": null, "c": 3}, "tz": "UTC"});
        let (serde_json::Value::Object(current), serde_json::Value::Object(patch)) =
            (current, patch)
        else {
            unreachable!()
        };
        let merged = merge_settings(&current, &patch).unwrap();
        assert_eq!(
            serde_json::Value::Object(merged),
            json!({"theme": "dark", "ui": {"a": 1, "c": 3}, "tz": "UTC"})
        );
    }

    #[test]
    fn oversized_settings_are_refused() {
        let mut patch = UserSettings::new();
        patch.insert("blob".into(), json!("x".repeat(MAX_SETTINGS_BYTES)));
        assert!(matches!(
            merge_settings(&UserSettings::new(), &patch),
            Err(AuthError::Validation(_))
        ));
    }

    #[test]
    fn user_json_never_contains_the_hash() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let user = User {
            id: UserId::new(),
            email: "a@example.com".into(),
            username: "a".into(),
            password_hash: HashedPassword::new("$argon2id$v=19$secret"),
            roles: vec![],
            user_settings: UserSettings::new(),
            is_verified: false,
            is_active: true,
            mfa_enabled: false,
            created_at: now,
            updated_at: now,
            token_version: 0,
            session_epoch: 0,
        };
        let json = serde_json::to_string(&user).unwrap();
        assert!(!json.contains("argon2"), "{json}");
        assert!(!json.contains("password"), "{json}");
        assert!(
            json.contains("\"created_at\":\"1970-01-01T00:00:00Z\""),
            "{json}"
        );
        assert!(!format!("{user:?}").contains("argon2"));
    }
}
