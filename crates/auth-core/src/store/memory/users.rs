//! [`UserStore`] for [`MemoryStore`].

use async_trait::async_trait;

use super::MemoryStore;
use crate::error::StoreError;
use crate::store::UserStore;
use crate::user::{Invalidate, User, UserId, UserPage, UserPatch};

#[async_trait]
impl UserStore for MemoryStore {
    async fn create_user(&self, user: &User) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if inner.emails.contains_key(&user.email) || inner.users.contains_key(&user.id) {
            return Err(StoreError::Conflict);
        }
        inner.emails.insert(user.email.clone(), user.id);
        inner.users.insert(user.id, user.clone());
        Ok(())
    }

    async fn find_user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        Ok(self.lock().users.get(&id).cloned())
    }

    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        let inner = self.lock();
        Ok(inner
            .emails
            .get(email)
            .and_then(|id| inner.users.get(id))
            .cloned())
    }

    async fn update_user(&self, id: UserId, patch: &UserPatch) -> Result<Option<User>, StoreError> {
        let mut inner = self.lock();
        let inner = &mut *inner;
        let Some(user) = inner.users.get_mut(&id) else {
            return Ok(None);
        };
        if let Some(username) = &patch.username {
            user.username.clone_from(username);
        }
        if let Some(hash) = &patch.password_hash {
            user.password_hash = hash.clone();
        }
        if let Some(roles) = &patch.roles {
            user.roles.clone_from(roles);
        }
        if let Some(settings) = &patch.user_settings {
            user.user_settings.clone_from(settings);
        }
        if let Some(verified) = patch.is_verified {
            user.is_verified = verified;
        }
        if let Some(active) = patch.is_active {
            user.is_active = active;
        }
        if let Some(at) = patch.updated_at {
            user.updated_at = at;
        }
        if let Some(invalidate) = patch.invalidate {
            user.token_version += 1;
            if invalidate == Invalidate::Sessions {
                user.session_epoch = user.token_version;
            }
            let at = patch.updated_at.unwrap_or(user.updated_at);
            inner.versioned_at.insert(id, at);
        }
        Ok(Some(user.clone()))
    }

    async fn list_users(&self, limit: u32, offset: u64) -> Result<UserPage, StoreError> {
        let inner = self.lock();
        let mut users: Vec<&User> = inner.users.values().collect();
        users.sort_by_key(|u| (u.created_at, u.id));
        let skip = usize::try_from(offset).unwrap_or(usize::MAX);
        let items = users
            .into_iter()
            .skip(skip)
            .take(limit as usize)
            .cloned()
            .collect();
        Ok(UserPage {
            items,
            total: inner.users.len() as u64,
        })
    }
}
