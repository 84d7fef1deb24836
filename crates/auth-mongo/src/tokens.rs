//! [`TokenStore`] for [`MongoStore`].

use std::time::Duration;

use auth_core::async_trait;
use auth_core::{
    ConsumeOutcome, StoreError, TokenHash, TokenKind, TokenRecord, TokenStore, UserId,
};
use mongodb::IndexModel;
use mongodb::bson::{Bson, Document, doc};
use mongodb::options::ReturnDocument;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::codec::{TokenDoc, date_to_bson, field, hash_to_binary, id_to_bson};
use crate::store::{MongoStore, index};

/// The indexes of the tokens collection, created by [`MongoStore::migrate`]: unique on
/// `token_hash`, on `user_id` and `family_id` for the revocations, and on `expires_at` for
/// the purge — a TTL index (`expireAfterSeconds: 0`) when `ttl_index` is set, so the server
/// also deletes expired tokens on its own.
pub(crate) fn indexes(ttl_index: bool) -> [IndexModel; 4] {
    let expires_at = if ttl_index {
        index(
            doc! { field::EXPIRES_AT: 1 },
            "expires_at_ttl",
            false,
            Some(Duration::ZERO),
        )
    } else {
        index(doc! { field::EXPIRES_AT: 1 }, "expires_at", false, None)
    };
    [
        index(
            doc! { field::TOKEN_HASH: 1 },
            "token_hash_unique",
            true,
            None,
        ),
        index(doc! { field::USER_ID: 1 }, "user_id", false, None),
        index(doc! { field::FAMILY_ID: 1 }, "family_id", false, None),
        expires_at,
    ]
}

/// The filter selecting one token by hash and kind.
fn by_hash(hash: &TokenHash, kind: TokenKind) -> Document {
    doc! { field::TOKEN_HASH: hash_to_binary(hash), field::KIND: kind.as_str() }
}

/// The condition "this optional field is unset": `null` (or missing). Spelt `{$eq: null}`,
/// which MongoDB treats exactly like `null`; the MongoDB-wire test server only understands
/// this spelling.
fn unset() -> Document {
    doc! { "$eq": Bson::Null }
}

/// `$set` of one timestamp field.
fn set_time(name: &str, at: OffsetDateTime) -> Document {
    doc! { "$set": { name: date_to_bson(at) } }
}

#[async_trait]
impl TokenStore for MongoStore {
    async fn insert_token(&self, token: &TokenRecord) -> Result<(), StoreError> {
        self.bounded(self.tokens.0.insert_one(TokenDoc::from(token)))
            .await
            .map(drop)
    }

    async fn find_token(
        &self,
        hash: &TokenHash,
        kind: TokenKind,
    ) -> Result<Option<TokenRecord>, StoreError> {
        let found = self
            .bounded(self.tokens.0.find_one(by_hash(hash, kind)))
            .await?;
        found.map(TokenRecord::try_from).transpose()
    }

    async fn consume_token(
        &self,
        hash: &TokenHash,
        kind: TokenKind,
        now: OffsetDateTime,
    ) -> Result<ConsumeOutcome, StoreError> {
        // One findAndModify carrying every condition, so that of N concurrent consumers
        // exactly one matches (ASVS 5.0 15.4.2: check-then-act must be atomic).
        //
        // The hash is matched with a one-element `$in`, which MongoDB plans exactly like an
        // equality (same unique index, same result): the MongoDB-wire test server matches
        // nothing when a binary equality and a date comparison share one filter.
        let mut live = doc! {
            field::TOKEN_HASH: { "$in": [hash_to_binary(hash)] },
            field::KIND: kind.as_str(),
        };
        live.insert(field::USED_AT, unset());
        live.insert(field::REVOKED_AT, unset());
        live.insert(field::EXPIRES_AT, doc! { "$gt": date_to_bson(now) });
        let consumed = self
            .bounded(
                self.tokens
                    .0
                    .find_one_and_update(live, set_time(field::USED_AT, now))
                    .return_document(ReturnDocument::After),
            )
            .await?;
        match consumed {
            Some(doc) => Ok(ConsumeOutcome::Consumed(TokenRecord::try_from(doc)?)),
            // Not consumed: read it only to say why. The answer is a refusal either way.
            None => Ok(ConsumeOutcome::classify(
                self.find_token(hash, kind).await?,
                now,
            )),
        }
    }

    async fn revoke_token(
        &self,
        hash: &TokenHash,
        kind: TokenKind,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut filter = by_hash(hash, kind);
        filter.insert(field::REVOKED_AT, unset());
        let result = self
            .bounded(
                self.tokens
                    .0
                    .update_one(filter, set_time(field::REVOKED_AT, now)),
            )
            .await?;
        Ok(result.modified_count > 0)
    }

    async fn revoke_token_family(
        &self,
        family_id: Uuid,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let filter = doc! { field::FAMILY_ID: id_to_bson(family_id), field::REVOKED_AT: unset() };
        let result = self
            .bounded(
                self.tokens
                    .0
                    .update_many(filter, set_time(field::REVOKED_AT, now)),
            )
            .await?;
        Ok(result.modified_count)
    }

    async fn revoke_user_tokens(
        &self,
        user_id: UserId,
        kind: Option<TokenKind>,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let mut filter =
            doc! { field::USER_ID: id_to_bson(*user_id.as_uuid()), field::REVOKED_AT: unset() };
        if let Some(kind) = kind {
            filter.insert(field::KIND, kind.as_str());
        }
        let result = self
            .bounded(
                self.tokens
                    .0
                    .update_many(filter, set_time(field::REVOKED_AT, now)),
            )
            .await?;
        Ok(result.modified_count)
    }

    async fn purge_expired_tokens(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        // Deletes on its own rather than trusting the TTL index: the TTL monitor runs only
        // every 60 s, and the index may be turned off.
        let filter = doc! { field::EXPIRES_AT: { "$lte": date_to_bson(now) } };
        let result = self.bounded(self.tokens.0.delete_many(filter)).await?;
        Ok(result.deleted_count)
    }
}
