//! Admin use cases. Each takes an [`AdminAccess`]: proof, checked once per request against
//! the store, that the caller holds the admin role — roles inside an access token may be up
//! to one access lifetime old.

use secrecy::SecretString;

use super::AuthService;
use super::sessions::SessionList;
use crate::error::{AuthError, FieldError};
use crate::events::AuthEventKind;
use crate::jwt::Claims;
use crate::token::TokenKind;
use crate::user::{Invalidate, NewUser, User, UserId, UserPage, UserPatch, normalize_email};

/// Default page size of [`AuthService::list_users`].
pub const DEFAULT_PAGE_SIZE: u32 = 50;
/// Largest page size of [`AuthService::list_users`]; larger requests are capped.
pub const MAX_PAGE_SIZE: u32 = 100;
/// Most roles one user may hold.
pub const MAX_ROLES: usize = 32;
/// Longest role name.
pub const MAX_ROLE_LEN: usize = 64;

/// Proof that the caller of an admin use case is an active user holding the admin role
/// according to the store, made by [`AuthService::admin_access`]: the check runs once per
/// request, and every admin use case takes it.
#[derive(Debug, Clone)]
pub struct AdminAccess {
    admin: User,
}

impl AdminAccess {
    /// The acting admin, as the store had them when access was checked.
    pub fn admin(&self) -> &User {
        &self.admin
    }
}

impl AuthService {
    /// Loads the caller and checks they are active, their token not cut, and that they
    /// hold the admin role now (one store read).
    ///
    /// # Errors
    ///
    /// [`AuthError::Forbidden`], or the errors of [`me`](Self::me).
    pub async fn admin_access(&self, caller: &Claims) -> Result<AdminAccess, AuthError> {
        let admin = self.me(caller).await?;
        if admin.has_role(self.inner.config.admin_role()) {
            Ok(AdminAccess { admin })
        } else {
            Err(AuthError::Forbidden)
        }
    }

    /// A page of users, oldest first. `limit` defaults to 50 and is capped at 100.
    ///
    /// # Errors
    ///
    /// [`AuthError::Unavailable`].
    pub async fn list_users(
        &self,
        _access: &AdminAccess,
        limit: Option<u32>,
        offset: Option<u64>,
    ) -> Result<UserPage, AuthError> {
        let limit = limit.unwrap_or(DEFAULT_PAGE_SIZE).clamp(1, MAX_PAGE_SIZE);
        Ok(self
            .inner
            .store
            .list_users(limit, offset.unwrap_or(0))
            .await?)
    }

    /// One user.
    ///
    /// # Errors
    ///
    /// [`AuthError::UserNotFound`], [`AuthError::Unavailable`].
    pub async fn get_user(&self, _access: &AdminAccess, id: UserId) -> Result<User, AuthError> {
        self.inner
            .store
            .find_user_by_id(id)
            .await?
            .ok_or(AuthError::UserNotFound)
    }

    /// Deactivates a user, ends every session and cuts every access token (ASVS 5.0
    /// 7.4.2), in one store write; their reset tokens are revoked first.
    ///
    /// # Errors
    ///
    /// [`AuthError::UserNotFound`], [`AuthError::Unavailable`].
    #[tracing::instrument(skip_all, fields(user.id = %id))]
    pub async fn deactivate_user(
        &self,
        access: &AdminAccess,
        id: UserId,
    ) -> Result<User, AuthError> {
        let now = self.now();
        self.inner
            .store
            .revoke_user_tokens(id, Some(TokenKind::PasswordReset), now)
            .await?;
        let user = self
            .patch_user(
                id,
                UserPatch {
                    is_active: Some(false),
                    updated_at: Some(now),
                    invalidate: Some(Invalidate::Sessions),
                    ..UserPatch::default()
                },
            )
            .await?;
        self.cut_user(&user, now);
        tracing::info!(admin.id = %access.admin.id, "user deactivated; every session ended");
        self.admin_event(access, AuthEventKind::Deactivated, user.id, None)
            .await?;
        Ok(user)
    }

    /// Reactivates a user.
    ///
    /// # Errors
    ///
    /// [`AuthError::UserNotFound`], [`AuthError::Unavailable`].
    #[tracing::instrument(skip_all, fields(user.id = %id))]
    pub async fn activate_user(&self, access: &AdminAccess, id: UserId) -> Result<User, AuthError> {
        let user = self
            .patch_user(
                id,
                UserPatch {
                    is_active: Some(true),
                    updated_at: Some(self.now()),
                    ..UserPatch::default()
                },
            )
            .await?;
        tracing::info!(admin.id = %access.admin.id, "user activated");
        self.admin_event(access, AuthEventKind::Activated, user.id, None)
            .await?;
        Ok(user)
    }

    /// Replaces a user's roles. Role names are 1–64 characters of letters, digits and
    /// `_ - . :`; at most 32 roles; duplicates are dropped. Access tokens issued before
    /// carry the old roles: the stateless extractors refuse them from now on (the client
    /// refreshes and gets the current roles), the database-checked routes apply the
    /// current ones.
    ///
    /// # Errors
    ///
    /// [`AuthError::Validation`], [`AuthError::UserNotFound`],
    /// [`AuthError::Unavailable`].
    #[tracing::instrument(skip_all, fields(user.id = %id))]
    pub async fn set_roles(
        &self,
        access: &AdminAccess,
        id: UserId,
        roles: Vec<String>,
    ) -> Result<User, AuthError> {
        let roles = validate_roles(roles)?;
        let now = self.now();
        let user = self
            .patch_user(
                id,
                UserPatch {
                    roles: Some(roles),
                    updated_at: Some(now),
                    invalidate: Some(Invalidate::AccessTokens),
                    ..UserPatch::default()
                },
            )
            .await?;
        self.cut_user(&user, now);
        tracing::info!(admin.id = %access.admin.id, roles = ?user.roles, "roles replaced");
        self.admin_event(
            access,
            AuthEventKind::RolesChanged,
            user.id,
            Some(user.roles.clone()),
        )
        .await?;
        Ok(user)
    }

    /// A user's live sessions.
    ///
    /// # Errors
    ///
    /// [`AuthError::UserNotFound`], [`AuthError::Unavailable`].
    pub async fn user_sessions(
        &self,
        _access: &AdminAccess,
        id: UserId,
    ) -> Result<SessionList, AuthError> {
        self.inner
            .store
            .find_user_by_id(id)
            .await?
            .ok_or(AuthError::UserNotFound)?;
        self.list_sessions(id, None).await
    }

    /// Ends every session of a user and cuts their access tokens.
    ///
    /// # Errors
    ///
    /// [`AuthError::UserNotFound`], [`AuthError::Unavailable`].
    #[tracing::instrument(skip_all, fields(user.id = %id))]
    pub async fn end_user_sessions(
        &self,
        access: &AdminAccess,
        id: UserId,
    ) -> Result<(), AuthError> {
        self.cut_all_sessions(id)
            .await?
            .ok_or(AuthError::UserNotFound)?;
        tracing::info!(admin.id = %access.admin.id, "every session of the user ended");
        self.admin_event(access, AuthEventKind::LogoutAll, id, None)
            .await
    }

    /// Fires the event of an admin action on `user`, naming the acting admin.
    pub(super) async fn admin_event(
        &self,
        access: &AdminAccess,
        kind: AuthEventKind,
        user: UserId,
        roles: Option<Vec<String>>,
    ) -> Result<(), AuthError> {
        let mut event = self.user_event(kind, user).with_actor(access.admin.id);
        if let Some(roles) = roles {
            event = event.with_roles(roles);
        }
        self.emit(event).await
    }

    /// Makes sure an admin account exists for this email, for bootstrapping a deployment
    /// from configuration (docs/security.md, decision 11):
    ///
    /// - no account has the email: one is created, verified, with this password (which
    ///   must pass the password policy) and the admin role;
    /// - an account has it and holds the admin role: it is left exactly as it is (its
    ///   password may have been changed since);
    /// - an account has it without the admin role: it is given the role only if this
    ///   password verifies against its hash — otherwise whoever registered the address
    ///   first would be made admin by the operator's configuration.
    ///
    /// Start-up never changes an existing account's activation or verification.
    ///
    /// # Errors
    ///
    /// [`AuthError::InvalidCredentials`] when an existing account's password is not this
    /// one; [`AuthError::InvalidEmail`], [`AuthError::WeakPassword`],
    /// [`AuthError::Unavailable`].
    pub async fn ensure_admin(
        &self,
        email: &str,
        password: &SecretString,
    ) -> Result<User, AuthError> {
        let email = normalize_email(email)?;
        let admin_role = self.inner.config.admin_role().to_owned();
        let store = &self.inner.store;
        if let Some(user) = store.find_user_by_email(&email).await? {
            if user.has_role(&admin_role) {
                return Ok(user);
            }
            let verification = self
                .inner
                .hasher
                .verify(password, Some(&user.password_hash))
                .await?;
            if !verification.matched {
                return Err(AuthError::InvalidCredentials);
            }
            let mut roles = user.roles.clone();
            roles.push(admin_role);
            let now = self.now();
            let user = self
                .patch_user(
                    user.id,
                    UserPatch {
                        roles: Some(roles),
                        updated_at: Some(now),
                        invalidate: Some(Invalidate::AccessTokens),
                        ..UserPatch::default()
                    },
                )
                .await?;
            self.cut_user(&user, now);
            self.emit(
                self.user_event(AuthEventKind::RolesChanged, user.id)
                    .with_roles(user.roles.clone()),
            )
            .await?;
            return Ok(user);
        }
        let new_user = NewUser {
            username: email.split('@').next().unwrap_or("admin").to_owned(),
            email,
            password: password.clone(),
        };
        match self.create_account(&new_user, vec![admin_role], true).await {
            // Another process created it at the same moment: the rules above decide.
            Err(AuthError::UserAlreadyExists) => {
                Box::pin(self.ensure_admin(&new_user.email, password)).await
            }
            other => other,
        }
    }

    /// Registers a user like [`register`](Self::register) but without email, as an already
    /// verified account — for seeding and tests.
    ///
    /// # Errors
    ///
    /// As [`register`](Self::register).
    pub async fn create_verified_user(&self, new_user: NewUser) -> Result<User, AuthError> {
        self.create_account(&new_user, Vec::new(), true).await
    }

    async fn patch_user(&self, id: UserId, patch: UserPatch) -> Result<User, AuthError> {
        self.inner
            .store
            .update_user(id, &patch)
            .await?
            .ok_or(AuthError::UserNotFound)
    }
}

pub(super) fn validate_roles(roles: Vec<String>) -> Result<Vec<String>, AuthError> {
    let mut errors = Vec::new();
    if roles.len() > MAX_ROLES {
        errors.push(FieldError::new(
            "roles",
            "too_many",
            format!("at most {MAX_ROLES} roles"),
        ));
    }
    let mut unique: Vec<String> = Vec::with_capacity(roles.len());
    for role in roles {
        let valid = !role.is_empty()
            && role.len() <= MAX_ROLE_LEN
            && role
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-.:".contains(c));
        if !valid {
            errors.push(FieldError::new(
                "roles",
                "invalid_role",
                format!(
                    "role names are 1-{MAX_ROLE_LEN} characters of letters, digits and _ - . :"
                ),
            ));
        } else if !unique.contains(&role) {
            unique.push(role);
        }
    }
    if errors.is_empty() {
        Ok(unique)
    } else {
        Err(AuthError::Validation(errors))
    }
}

impl AdminAccess {
    /// The operator at the command line, who holds the database credentials (see
    /// [`AuthService::operator_access`]): logged as the nil id.
    pub(super) fn operator() -> Self {
        let now = time::OffsetDateTime::now_utc();
        Self {
            admin: User {
                id: UserId::from_uuid(uuid::Uuid::nil()),
                email: "operator@localhost".to_owned(),
                username: "operator".to_owned(),
                password_hash: crate::user::HashedPassword::new(""),
                roles: Vec::new(),
                user_settings: crate::user::UserSettings::new(),
                is_verified: true,
                is_active: true,
                mfa_enabled: false,
                created_at: now,
                updated_at: now,
                token_version: 0,
                session_epoch: 0,
            },
        }
    }
}
