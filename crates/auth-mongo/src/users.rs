//! [`UserStore`] for [`MongoStore`].

use auth_core::async_trait;
use auth_core::{Invalidate, StoreError, User, UserId, UserPage, UserPatch, UserStore};
use mongodb::IndexModel;
use mongodb::bson::{Bson, Document, doc};
use mongodb::options::ReturnDocument;
use serde::Deserialize;
use time::OffsetDateTime;

use crate::codec::{
    UserDoc, date_to_bson, field, id_to_bson, settings_to_document, user_projection,
};
use crate::error::{is_duplicate_code, store_error};
use crate::store::{MongoStore, backoff, index, sparse_index};

/// How often a session cut re-reads the user's `token_version` after another write raised
/// it in between. Each lost round means another cut or raise of the same user landed, so
/// this bounds a burst of that many concurrent invalidations of one account.
const MAX_CUT_ATTEMPTS: u32 = 200;

/// The indexes of the users collection, created by [`MongoStore::migrate`]: unique on the
/// normalised email, so that of concurrent registrations of one address exactly one
/// succeeds; on `versioned_at` for the revocation feed (sparse: only users whose version was
/// ever raised have one); and on `totp.pending_expires_at` for the purge of abandoned
/// enrolments (sparse: only users with an enrolment have one).
pub(crate) fn indexes() -> [IndexModel; 3] {
    [
        index(doc! { field::EMAIL: 1 }, "email_unique", true, None),
        sparse_index(doc! { field::VERSIONED_AT: 1 }, "versioned_at"),
        sparse_index(
            doc! { format!("{}.pending_expires_at", field::TOTP): 1 },
            "totp_pending_expires_at",
        ),
    ]
}

/// The user's current `token_version`, as a session cut reads it.
#[derive(Deserialize)]
struct Version {
    #[serde(default)]
    token_version: i64,
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
        let found = self
            .bounded(self.users.0.find_one(filter).projection(user_projection()))
            .await?;
        found.map(User::try_from).transpose()
    }

    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        let found = self
            .bounded(
                self.users
                    .0
                    .find_one(doc! { field::EMAIL: email })
                    .projection(user_projection()),
            )
            .await?;
        found.map(User::try_from).transpose()
    }

    async fn update_user(&self, id: UserId, patch: &UserPatch) -> Result<Option<User>, StoreError> {
        let mut set = set_of(patch);
        let by_id = doc! { field::ID: id_to_bson(*id.as_uuid()) };
        let update = match patch.invalidate {
            None if set.is_empty() => {
                // Nothing to write; an empty `$set` is an error on servers before 5.0.
                return self.find_user_by_id(id).await;
            }
            None => doc! { "$set": set },
            Some(Invalidate::AccessTokens) => {
                // An increment of the stored value, applied by the server in the same
                // single-document write as the rest of the patch.
                set.insert(field::VERSIONED_AT, cut_date(patch));
                doc! { "$set": set, "$inc": { field::TOKEN_VERSION: 1_i64 } }
            }
            Some(Invalidate::Sessions) => return self.cut_sessions(by_id, set, patch).await,
        };
        self.update_and_read(by_id, update).await
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
                        .projection(user_projection())
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

    /// One unordered `insertMany`: every user is written unless its `_id` or email is
    /// taken (error 11000 for that document only). Each document is atomic on its own; a
    /// batch is not one transaction, which would need a replica set.
    async fn create_users(&self, users: &[User]) -> Result<Vec<bool>, StoreError> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let docs: Vec<UserDoc> = users.iter().map(UserDoc::from).collect();
        let insert = self.users.0.insert_many(docs).ordered(false);
        // The driver's error is needed whole (which documents failed), so `bounded` only
        // bounds the time here.
        let outcome = self
            .bounded(async { Ok::<_, mongodb::error::Error>(insert.await) })
            .await?;
        let Err(error) = outcome else {
            return Ok(vec![true; users.len()]);
        };
        if let mongodb::error::ErrorKind::InsertMany(failure) = error.kind.as_ref() {
            let errors = failure.write_errors.as_deref().unwrap_or_default();
            if failure.write_concern_error.is_none()
                && errors.iter().all(|e| is_duplicate_code(e.code))
            {
                let mut inserted = vec![true; users.len()];
                for e in errors {
                    if let Some(slot) = inserted.get_mut(e.index) {
                        *slot = false;
                    }
                }
                return Ok(inserted);
            }
        }
        Err(store_error(error))
    }
}

impl MongoStore {
    /// One `findAndModify` of the user matching `filter`, returning it as it is afterwards.
    async fn update_and_read(
        &self,
        filter: Document,
        update: Document,
    ) -> Result<Option<User>, StoreError> {
        let updated = self
            .bounded(
                self.users
                    .0
                    .find_one_and_update(filter, update)
                    .projection(user_projection())
                    .return_document(ReturnDocument::After),
            )
            .await?;
        updated.map(User::try_from).transpose()
    }

    /// [`Invalidate::Sessions`]: `token_version + 1`, and `session_epoch` set to that new
    /// value, with the rest of the patch, in one single-document write.
    ///
    /// Update operators cannot copy one field into another, and an update pipeline
    /// (`[{$set: {session_epoch: {$add: ["$token_version", 1]}}}]`, MongoDB 4.2+) is refused
    /// by the MongoDB-wire test server. So the write is a compare-and-set: read the version
    /// `v`, then write `v + 1` to both fields only if the version is still `v`; when another
    /// raise landed in between, nothing is written and the cut reads again. Every cut is
    /// counted once and the epoch is always the version its own write set — never a value
    /// left over from an earlier read.
    async fn cut_sessions(
        &self,
        by_id: Document,
        set: Document,
        patch: &UserPatch,
    ) -> Result<Option<User>, StoreError> {
        let versions = self.users.0.clone_with_type::<Version>();
        for attempt in 0..MAX_CUT_ATTEMPTS {
            let read = versions
                .find_one(by_id.clone())
                .projection(doc! { field::TOKEN_VERSION: 1 });
            let Some(Version { token_version }) = self.bounded(read).await? else {
                return Ok(None);
            };
            let next = token_version.saturating_add(1);
            let mut filter = by_id.clone();
            if token_version == 0 {
                // Documents from before sessions existed have no version: 0.
                filter.insert(
                    "$or",
                    vec![
                        Bson::Document(doc! { field::TOKEN_VERSION: 0_i64 }),
                        Bson::Document(doc! { field::TOKEN_VERSION: { "$exists": false } }),
                    ],
                );
            } else {
                filter.insert(field::TOKEN_VERSION, token_version);
            }
            let mut set = set.clone();
            set.insert(field::TOKEN_VERSION, next);
            set.insert(field::SESSION_EPOCH, next);
            set.insert(field::VERSIONED_AT, cut_date(patch));
            if let Some(user) = self.update_and_read(filter, doc! { "$set": set }).await? {
                return Ok(Some(user));
            }
            backoff(attempt).await;
        }
        Err(StoreError::unavailable(
            "the user's token version was raised concurrently too many times",
        ))
    }
}

/// The date of a cut: the patch's `updated_at`, which the service always sets with an
/// `invalidate`; the current time otherwise, so the cut still reaches the revocation feed
/// (whose readers ask for what happened after their last poll).
fn cut_date(patch: &UserPatch) -> mongodb::bson::DateTime {
    date_to_bson(
        patch
            .updated_at
            .unwrap_or_else(|| auth_core::truncate_to_millis(OffsetDateTime::now_utc())),
    )
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
