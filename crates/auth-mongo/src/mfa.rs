//! [`MfaStore`] for [`MongoStore`]: the enrolment and the recovery codes live in the user
//! document (see [`crate::codec::mfa`]), so each rule is one conditional single-document
//! write and `mfa_enabled` changes in the very write that confirms or deletes the
//! enrolment.

use std::collections::BTreeSet;

use auth_core::async_trait;
use auth_core::{MfaStore, RecoveryCodeHash, StoreError, TotpRecord, UserId};
use mongodb::bson::{Bson, Document, doc};
use mongodb::options::ReturnDocument;
use time::OffsetDateTime;

use crate::codec::mfa::{MfaDoc, TotpDoc, code_to_hex};
use crate::codec::{date_to_bson, field, id_to_bson};
use crate::store::MongoStore;

/// `totp.<name>`.
fn totp(name: &str) -> String {
    format!("{}.{name}", field::TOTP)
}

fn by_user(user_id: UserId) -> Document {
    doc! { field::ID: id_to_bson(*user_id.as_uuid()) }
}

/// The condition "no confirmed enrolment": none at all, or a pending one.
fn not_confirmed() -> Document {
    doc! { "$exists": false }
}

#[async_trait]
impl MfaStore for MongoStore {
    async fn put_pending_totp(&self, record: &TotpRecord) -> Result<bool, StoreError> {
        // One conditional write: the enrolment is replaced only while it is not confirmed.
        // `false` as well for an unknown user: there is nothing to enrol.
        let mut filter = by_user(record.user_id);
        filter.insert(totp("confirmed_at"), not_confirmed());
        let update = doc! { "$set": { field::TOTP: TotpDoc::pending(record) } };
        let result = self
            .bounded(self.users.0.update_one(filter, update))
            .await?;
        Ok(result.matched_count == 1)
    }

    async fn find_totp(&self, user_id: UserId) -> Result<Option<TotpRecord>, StoreError> {
        let Some(doc) = self.mfa_fields(user_id, field::TOTP).await? else {
            return Ok(None);
        };
        doc.totp.map(|totp| totp.into_record(user_id)).transpose()
    }

    async fn confirm_totp(
        &self,
        user_id: UserId,
        step: i64,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut filter = by_user(user_id);
        filter.insert(totp("confirmed_at"), not_confirmed());
        filter.insert(
            totp("pending_expires_at"),
            doc! { "$gt": date_to_bson(now) },
        );
        let update = doc! {
            "$set": {
                totp("confirmed_at"): date_to_bson(now),
                totp("last_used_step"): step,
                field::MFA_ENABLED: true,
            },
        };
        let result = self
            .bounded(self.users.0.update_one(filter, update))
            .await?;
        Ok(result.matched_count == 1)
    }

    async fn use_totp_step(&self, user_id: UserId, step: i64) -> Result<bool, StoreError> {
        // The step check and the write are one conditional update, so of N concurrent uses
        // of one step exactly one matches (RFC 6238 §5.2).
        let mut filter = by_user(user_id);
        filter.insert(totp("confirmed_at"), doc! { "$exists": true });
        filter.insert(
            "$or",
            vec![
                Bson::Document(doc! { totp("last_used_step"): { "$exists": false } }),
                Bson::Document(doc! { totp("last_used_step"): { "$lt": step } }),
            ],
        );
        let update = doc! { "$set": { totp("last_used_step"): step } };
        let result = self
            .bounded(self.users.0.update_one(filter, update))
            .await?;
        Ok(result.matched_count == 1)
    }

    async fn delete_totp(&self, user_id: UserId) -> Result<bool, StoreError> {
        // The enrolment, the codes and the flag in one write; the document as it was says
        // whether there was an enrolment.
        let update = doc! {
            "$unset": {
                field::TOTP: "",
                field::RECOVERY_CODES: "",
                field::RECOVERY_CODES_USED: "",
            },
            "$set": { field::MFA_ENABLED: false },
        };
        let before = self
            .bounded(
                self.users
                    .0
                    .clone_with_type::<MfaDoc>()
                    .find_one_and_update(by_user(user_id), update)
                    .projection(doc! { field::TOTP: 1 })
                    .return_document(ReturnDocument::Before),
            )
            .await?;
        Ok(before.is_some_and(|doc| doc.totp.is_some()))
    }

    async fn replace_recovery_codes(
        &self,
        user_id: UserId,
        codes: &[RecoveryCodeHash],
        _now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        // One `$set` of the whole list: no moment with both sets, or neither. Duplicates
        // collapse, as the SQL stores' unique (user_id, code_hash) makes them. For an
        // unknown user nothing is stored (there is no document to hold the codes).
        let codes: BTreeSet<String> = codes.iter().map(code_to_hex).collect();
        let update = doc! {
            "$set": { field::RECOVERY_CODES: codes.into_iter().collect::<Vec<_>>() },
            "$unset": { field::RECOVERY_CODES_USED: "" },
        };
        self.bounded(self.users.0.update_one(by_user(user_id), update))
            .await
            .map(drop)
    }

    async fn use_recovery_code(
        &self,
        user_id: UserId,
        code: &RecoveryCodeHash,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        // Matching the code in the unused list and pulling it out of that list is one
        // write: of N concurrent uses exactly one finds it there.
        let code = code_to_hex(code);
        let mut filter = by_user(user_id);
        filter.insert(field::RECOVERY_CODES, code.as_str());
        let used = doc! { "code_hash": code.as_str(), "used_at": date_to_bson(now) };
        let update = doc! {
            "$pull": { field::RECOVERY_CODES: code.as_str() },
            "$push": { field::RECOVERY_CODES_USED: used },
        };
        let result = self
            .bounded(self.users.0.update_one(filter, update))
            .await?;
        Ok(result.matched_count == 1)
    }

    async fn count_recovery_codes(&self, user_id: UserId) -> Result<u32, StoreError> {
        let unused = self
            .mfa_fields(user_id, field::RECOVERY_CODES)
            .await?
            .map_or(0, |doc| doc.recovery_codes.len());
        Ok(u32::try_from(unused).unwrap_or(u32::MAX))
    }

    async fn purge_expired_totp(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let filter = doc! {
            totp("confirmed_at"): not_confirmed(),
            totp("pending_expires_at"): { "$lte": date_to_bson(now) },
        };
        let update = doc! { "$unset": { field::TOTP: "" } };
        let result = self
            .bounded(self.users.0.update_many(filter, update))
            .await?;
        Ok(result.modified_count)
    }
}

impl MongoStore {
    /// One MFA field of the user's document; `None` when there is no such user.
    async fn mfa_fields(&self, user_id: UserId, name: &str) -> Result<Option<MfaDoc>, StoreError> {
        self.bounded(
            self.users
                .0
                .clone_with_type::<MfaDoc>()
                .find_one(by_user(user_id))
                .projection(doc! { name: 1 }),
        )
        .await
    }
}
