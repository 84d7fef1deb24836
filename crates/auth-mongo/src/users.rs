//! [`UserStore`] for [`MongoStore`].

use auth_core::async_trait;
use auth_core::{StoreError, User, UserId, UserPage, UserPatch, UserStore};
use mongodb::IndexModel;
use mongodb::bson::{Bson, Document, doc};
use mongodb::options::ReturnDocument;

use crate::codec::{UserDoc, date_to_bson, field, id_to_bson, settings_to_document};
use crate::store::{MongoStore, index};

/// The indexes of the users collection, created by [`MongoStore::migrate`]: unique on the
/// normalised email, so that of concurrent registrations of one address exactly one
/// succeeds.
pub(crate) fn indexes() -> [IndexModel; 1] {
    [index(doc! { field::EMAIL: 1 }, "email_unique", true, None)]
}

#[async_trait]
impl UserStore for MongoStore {
    async fn create_user(&self, user: &User) -> Result<(), StoreError> {
        // The unique index on `email` (and `_id`) decides: a duplicate is error 11000,
        // reported as Conflict. Never check-then-insert.
        self.bounded(self.users.0.insert_one(UserDoc::from(user)))
            .await
            .map(drop)
    }

    async fn find_user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let filter = doc! { field::ID: id_to_bson(*id.as_uuid()) };
        let found = self.bounded(self.users.0.find_one(filter)).await?;
        found.map(User::try_from).transpose()
    }

    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        let found = self
            .bounded(self.users.0.find_one(doc! { field::EMAIL: email }))
            .await?;
        found.map(User::try_from).transpose()
    }

    async fn update_user(&self, id: UserId, patch: &UserPatch) -> Result<Option<User>, StoreError> {
        let changes = set_of(patch);
        if changes.is_empty() {
            // Nothing to write; an empty `$set` is an error on servers before 5.0.
            return self.find_user_by_id(id).await;
        }
        let updated = self
            .bounded(
                self.users
                    .0
                    .find_one_and_update(
                        doc! { field::ID: id_to_bson(*id.as_uuid()) },
                        doc! { "$set": changes },
                    )
                    .return_document(ReturnDocument::After),
            )
            .await?;
        updated.map(User::try_from).transpose()
    }

    async fn list_users(&self, limit: u32, offset: u64) -> Result<UserPage, StoreError> {
        let total = self
            .bounded(self.users.0.count_documents(Document::new()))
            .await?;
        let mut items = Vec::new();
        // The driver reads a limit of 0 as "no limit".
        if limit > 0 && offset < total {
            let mut cursor = self
                .bounded(
                    self.users
                        .0
                        .find(Document::new())
                        .sort(doc! { field::CREATED_AT: 1, field::ID: 1 })
                        .skip(offset)
                        .limit(i64::from(limit)),
                )
                .await?;
            while self.bounded(cursor.advance()).await? {
                let doc = cursor
                    .deserialize_current()
                    .map_err(crate::error::store_error)?;
                items.push(User::try_from(doc)?);
            }
        }
        Ok(UserPage { items, total })
    }
}

/// The `$set` document of a patch: only the fields it sets.
fn set_of(patch: &UserPatch) -> Document {
    let mut set = Document::new();
    if let Some(username) = &patch.username {
        set.insert(field::USERNAME, username.as_str());
    }
    if let Some(hash) = &patch.password_hash {
        set.insert(field::PASSWORD_HASH, hash.as_str());
    }
    if let Some(roles) = &patch.roles {
        set.insert(
            field::ROLES,
            roles
                .iter()
                .map(|role| Bson::String(role.clone()))
                .collect::<Vec<_>>(),
        );
    }
    if let Some(settings) = &patch.user_settings {
        set.insert(field::USER_SETTINGS, settings_to_document(settings));
    }
    if let Some(verified) = patch.is_verified {
        set.insert(field::IS_VERIFIED, verified);
    }
    if let Some(active) = patch.is_active {
        set.insert(field::IS_ACTIVE, active);
    }
    if let Some(at) = patch.updated_at {
        set.insert(field::UPDATED_AT, date_to_bson(at));
    }
    set
}
