//! Use cases of an operator at the command line (`myauth user …`, `myauth import`): someone
//! who holds the database credentials and so may act as an admin without logging in.

use secrecy::SecretString;
use time::OffsetDateTime;

use super::AuthService;
use super::admin::{AdminAccess, validate_roles};
use crate::error::{AuthError, FieldError};
use crate::password::check_stored_hash;
use crate::user::{
    HashedPassword, NewUser, User, UserId, UserPatch, UserSettings, merge_settings,
    normalize_email, normalize_username,
};

/// A user as another system exported it, before validation by
/// [`AuthService::prepare_import`].
#[derive(Clone, Default)]
pub struct ImportedUser {
    /// The id to keep; a fresh one when `None`.
    pub id: Option<UserId>,
    /// The email, as exported; it is normalised.
    pub email: String,
    /// The display name; the email's local part when `None`.
    pub username: Option<String>,
    /// The stored password hash: argon2, bcrypt, PBKDF2 or scrypt in one of the formats
    /// [`check_stored_hash`] accepts.
    pub hashed_password: String,
    /// Roles.
    pub roles: Vec<String>,
    /// Settings object.
    pub user_settings: UserSettings,
    /// Whether the email was verified.
    pub is_verified: bool,
    /// Whether the account may sign in.
    pub is_active: bool,
    /// Creation time; now when `None`.
    pub created_at: Option<OffsetDateTime>,
    /// Last change; `created_at` when `None`.
    pub updated_at: Option<OffsetDateTime>,
}

impl std::fmt::Debug for ImportedUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportedUser")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("hashed_password", &"[redacted]")
            .finish_non_exhaustive()
    }
}

impl AuthService {
    /// Admin access for the operator of this deployment (the command line), who holds the
    /// database credentials: the acting admin in logs is the nil id.
    pub fn operator_access(&self) -> AdminAccess {
        AdminAccess::operator()
    }

    /// Creates an account from the command line: validated like a registration, password
    /// policy included, with these roles and this verification flag; no email is sent.
    ///
    /// # Errors
    ///
    /// [`AuthError::InvalidEmail`], [`AuthError::Validation`] (username, roles),
    /// [`AuthError::WeakPassword`] with every failed rule,
    /// [`AuthError::UserAlreadyExists`], [`AuthError::Unavailable`].
    pub async fn create_user_as_operator(
        &self,
        new_user: NewUser,
        roles: Vec<String>,
        is_verified: bool,
    ) -> Result<User, AuthError> {
        let roles = validate_roles(roles)?;
        self.create_account(&new_user, roles, is_verified).await
    }

    /// Marks a user's email verified.
    ///
    /// # Errors
    ///
    /// [`AuthError::UserNotFound`], [`AuthError::Unavailable`].
    pub async fn mark_verified(&self, id: UserId) -> Result<User, AuthError> {
        self.inner
            .store
            .update_user(
                id,
                &UserPatch {
                    is_verified: Some(true),
                    updated_at: Some(self.now()),
                    ..UserPatch::default()
                },
            )
            .await?
            .ok_or(AuthError::UserNotFound)
    }

    /// Validates an imported user with the rules of registration except the password
    /// policy (the password is not known): the email is normalised, the username checked,
    /// roles and settings checked as the admin and profile routes check them, and the hash
    /// must be one this service can verify within its budget. Nothing is stored.
    ///
    /// # Errors
    ///
    /// [`AuthError::InvalidEmail`], or [`AuthError::Validation`] naming each field at
    /// fault (`username`, `roles`, `user_settings`, `hashed_password`, `updated_at`).
    pub fn prepare_import(&self, record: ImportedUser) -> Result<User, AuthError> {
        let email = normalize_email(&record.email)?;
        let mut errors = Vec::new();
        let username = match record.username {
            Some(name) => normalize_username(&name),
            None => normalize_username(email.split('@').next().unwrap_or_default()),
        };
        let username = collect(username, &mut errors);
        let roles = collect(validate_roles(record.roles), &mut errors);
        let settings = collect(
            merge_settings(&UserSettings::new(), &record.user_settings),
            &mut errors,
        );
        if let Err(reason) = check_stored_hash(&record.hashed_password) {
            errors.push(FieldError::new("hashed_password", "unusable_hash", reason));
        }
        let created_at = record
            .created_at
            .map_or_else(|| self.now(), crate::clock::truncate_to_millis);
        let updated_at = record
            .updated_at
            .map_or(created_at, crate::clock::truncate_to_millis);
        if updated_at < created_at {
            errors.push(FieldError::new(
                "updated_at",
                "before_created_at",
                "must not be before created_at",
            ));
        }
        let (Some(username), Some(roles), Some(user_settings), true) =
            (username, roles, settings, errors.is_empty())
        else {
            return Err(AuthError::Validation(errors));
        };
        Ok(User {
            id: record.id.unwrap_or_default(),
            email,
            username,
            password_hash: HashedPassword::new(record.hashed_password),
            roles,
            user_settings,
            is_verified: record.is_verified,
            is_active: record.is_active,
            mfa_enabled: false,
            created_at,
            updated_at,
            token_version: 0,
            session_epoch: 0,
        })
    }

    /// Stores a batch of users made by [`prepare_import`](Self::prepare_import), skipping
    /// each whose id or email exists (see [`UserStore::create_users`](crate::UserStore::create_users));
    /// says per user whether it was inserted.
    ///
    /// # Errors
    ///
    /// [`AuthError::Unavailable`]: then nothing of the batch is stored on the SQL stores.
    pub async fn import_users(&self, users: &[User]) -> Result<Vec<bool>, AuthError> {
        Ok(self.inner.store.create_users(users).await?)
    }

    /// Checks a password against the policy for a new account with this email and
    /// username, before anything else is done (the command line asks for the password
    /// twice only once it passes).
    ///
    /// # Errors
    ///
    /// [`AuthError::WeakPassword`] with every failed rule.
    pub fn check_new_password(
        &self,
        password: &SecretString,
        email: &str,
        username: &str,
    ) -> Result<(), AuthError> {
        self.check_policy(
            password,
            super::UserWords {
                username: Some(username),
                email: Some(email),
            },
        )
    }
}

/// Keeps the value, or moves its field errors into `errors`.
fn collect<T>(result: Result<T, AuthError>, errors: &mut Vec<FieldError>) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(AuthError::Validation(mut fields)) => {
            errors.append(&mut fields);
            None
        }
        Err(other) => {
            errors.push(FieldError::new("user", "invalid", other.to_string()));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{Harness, PASSWORD, secret};
    use super::*;

    fn record(email: &str) -> ImportedUser {
        ImportedUser {
            email: email.to_owned(),
            hashed_password: "$2b$04$CpiAL.NTz6cSCDNEG7YULeiuHpII29ABm2Mrop9lzchUUMD9QyrDC"
                .to_owned(),
            is_active: true,
            ..ImportedUser::default()
        }
    }

    #[tokio::test]
    async fn an_import_is_validated_like_a_registration_but_without_the_policy() {
        let h = Harness::new();
        let user = h
            .service
            .prepare_import(record("  Alice@Example.COM "))
            .unwrap();
        assert_eq!(user.email, "alice@example.com");
        assert_eq!(user.username, "alice");
        assert!(user.roles.is_empty());

        let bad = ImportedUser {
            username: Some("a\u{202e}b".to_owned()),
            roles: vec!["bad role!".to_owned()],
            hashed_password: "plaintext".to_owned(),
            ..record("bob@example.com")
        };
        let Err(AuthError::Validation(errors)) = h.service.prepare_import(bad) else {
            panic!("accepted");
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["username", "roles", "hashed_password"]);
        assert!(matches!(
            h.service.prepare_import(record("not-an-email")),
            Err(AuthError::InvalidEmail)
        ));
    }

    #[tokio::test]
    async fn an_operator_creates_an_admin_and_weak_passwords_are_refused() {
        let h = Harness::new();
        let new_user = NewUser {
            email: "root@example.com".to_owned(),
            username: "root".to_owned(),
            password: secret(PASSWORD),
        };
        let admin = h
            .service
            .create_user_as_operator(new_user.clone(), vec!["admin".to_owned()], true)
            .await
            .unwrap();
        assert!(admin.is_verified && admin.has_role("admin"));
        let weak = NewUser {
            email: "weak@example.com".to_owned(),
            password: secret("short"),
            ..new_user
        };
        assert!(matches!(
            h.service.create_user_as_operator(weak, vec![], false).await,
            Err(AuthError::WeakPassword(_))
        ));
    }
}
