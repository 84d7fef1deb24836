//! [`SessionStore`] for [`MongoStore`].
//!
//! No rule here needs a multi-document transaction; each holds on its own:
//!
//! - A rotation reads the presented token and its session with their owner and checks
//!   liveness, *then* consumes the token with one conditional `findAndModify` (of N
//!   concurrent rotations exactly one matches), and only then stores the successor. A cut
//!   (a revoked session, a raised `session_epoch`) stored after the check cannot be
//!   outlived: the successor belongs to the session the cut ended, so its own rotation
//!   meets the cut and ends there, and the access token issued with it carries the
//!   `token_version` and `sid` the cut made stale. Checking before consuming keeps the
//!   winner of a race winning when the losers, seeing the token used, end its session.
//! - Creating a session writes the session first, then its first token: a session without a
//!   token lets nobody in; a token without its session would end at its first use anyway.
//! - Purging deletes the tokens of expired sessions before the sessions, so an interrupted
//!   purge leaves sessions to purge again, never tokens of vanished sessions.

use auth_core::async_trait;
use auth_core::{
    ConsumeOutcome, Revocation, RotateOutcome, SessionRecord, SessionStore, StoreError, TokenHash,
    TokenKind, TokenRecord, TokenStore, User, UserId, UserStore,
};
use mongodb::IndexModel;
use mongodb::bson::{Bson, Document, doc};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::codec::session::{SessionDoc, VersionDoc};
use crate::codec::{TokenDoc, date_from_bson, date_to_bson, field, id_from_bson, id_to_bson};
use crate::error::store_error;
use crate::store::{MongoStore, index};

/// How many expired sessions one round of the purge deletes (with their tokens): a bound on
/// the `$in` lists the server gets.
const PURGE_BATCH: i64 = 500;

/// The indexes of the sessions collection, created by [`MongoStore::migrate`]: on
/// `(user_id, created_at)` for a user's sessions newest first, on `revoked_at` for the
/// revocation feed, on `expires_at` for the purge.
///
/// The listing breaks ties of `created_at` by `_id`, which is not in the index: the
/// MongoDB-wire test server cannot index `_id` inside a compound key (its inserts then fail),
/// and one user's sessions are few enough to sort the ties in memory.
pub(crate) fn indexes() -> [IndexModel; 3] {
    [
        index(
            doc! { field::USER_ID: 1, field::CREATED_AT: -1 },
            "user_id_created_at",
            false,
            None,
        ),
        index(doc! { field::REVOKED_AT: 1 }, "revoked_at", false, None),
        index(doc! { field::EXPIRES_AT: 1 }, "expires_at", false, None),
    ]
}

fn by_id(id: Uuid) -> Document {
    doc! { field::ID: id_to_bson(id) }
}

/// The condition "not revoked": `revoked_at` is `null`, spelt `{$eq: null}`, the one spelling
/// the MongoDB-wire test server matches a stored `null` with (see `tokens.rs`).
fn not_revoked() -> Document {
    doc! { "$eq": Bson::Null }
}

#[async_trait]
impl SessionStore for MongoStore {
    async fn create_session(
        &self,
        session: &SessionRecord,
        first_token: &TokenRecord,
    ) -> Result<(), StoreError> {
        // Two documents, two writes, the session first (the order the trait asks for when
        // one write is impossible). A duplicate session id fails the first, a duplicate
        // token hash the second — then the session just written is taken back, so a failed
        // login leaves no session behind to list.
        self.bounded(self.sessions.0.insert_one(SessionDoc::from(session)))
            .await?;
        if let Err(error) = self
            .bounded(self.tokens.0.insert_one(TokenDoc::from(first_token)))
            .await
        {
            let _ = self
                .bounded(self.sessions.0.delete_one(by_id(session.id)))
                .await;
            return Err(error);
        }
        Ok(())
    }

    async fn find_session(&self, id: Uuid) -> Result<Option<SessionRecord>, StoreError> {
        let found = self.bounded(self.sessions.0.find_one(by_id(id))).await?;
        found.map(SessionRecord::try_from).transpose()
    }

    async fn find_user_and_session(
        &self,
        user_id: UserId,
        session_id: Uuid,
    ) -> Result<(Option<User>, Option<SessionRecord>), StoreError> {
        // Two documents of two collections: both reads at once, one round trip of wait.
        tokio::try_join!(self.find_user_by_id(user_id), self.find_session(session_id))
    }

    async fn list_user_sessions(
        &self,
        user_id: UserId,
        now: OffsetDateTime,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        let Some(user) = self.find_user_by_id(user_id).await? else {
            return Ok(Vec::new());
        };
        let filter = doc! {
            field::USER_ID: id_to_bson(*user_id.as_uuid()),
            field::REVOKED_AT: not_revoked(),
            field::EXPIRES_AT: { "$gt": date_to_bson(now) },
            field::EPOCH: { "$gte": user.session_epoch },
        };
        let mut cursor = self
            .bounded(
                self.sessions
                    .0
                    .find(filter)
                    .sort(doc! { field::CREATED_AT: -1, field::ID: -1 }),
            )
            .await?;
        let mut live = Vec::new();
        while self.bounded(cursor.advance()).await? {
            let doc = cursor.deserialize_current().map_err(store_error)?;
            live.push(SessionRecord::try_from(doc)?);
        }
        Ok(live)
    }

    async fn rotate_refresh_token(
        &self,
        presented: &TokenHash,
        successor: &TokenRecord,
        now: OffsetDateTime,
    ) -> Result<RotateOutcome, StoreError> {
        // 1. The token, and its session with its owner as stored now. A token that is not
        //    consumable is refused with its reason, one whose session has ended rotates
        //    into nothing — both before anything is written.
        let Some(token) = self.find_token(presented, TokenKind::Refresh).await? else {
            return Ok(RotateOutcome::Refused(ConsumeOutcome::Unknown));
        };
        if token.used_at.is_some() || token.revoked_at.is_some() || token.expires_at <= now {
            return Ok(RotateOutcome::Refused(ConsumeOutcome::classify(
                Some(token),
                now,
            )));
        }
        let Some(session_id) = token.family_id else {
            return Ok(RotateOutcome::SessionEnded(token));
        };
        let (user, session) = self
            .find_user_and_session(token.user_id, session_id)
            .await?;
        let (Some(user), Some(mut session)) = (user, session) else {
            // A token from before sessions existed, or one whose session or user is gone.
            return Ok(RotateOutcome::SessionEnded(token));
        };
        if !session.is_live(&user, now) {
            return Ok(RotateOutcome::SessionEnded(token));
        }
        // 2. Consume: the one atomic step that picks the single winner. Checking the session
        //    first means a session ended by a concurrent replay of this very token (the
        //    losers of the race end the session) does not also fail the winner; a cut that
        //    lands after the check leaves the successor in an ended session, refused at its
        //    next use (see the module docs).
        match self
            .consume_token(presented, TokenKind::Refresh, now)
            .await?
        {
            ConsumeOutcome::Consumed(_) => {}
            refused => return Ok(RotateOutcome::Refused(refused)),
        }
        // 3. Only now the successor, capped at the session's end, and the touch of the
        //    session, both at once. Should a cut land from here on, the successor's next
        //    rotation meets it (see the module docs).
        let mut next = successor.clone();
        next.expires_at = next.expires_at.min(session.expires_at);
        let touch = self.sessions.0.update_one(
            by_id(session.id),
            doc! { "$set": { field::LAST_USED_AT: date_to_bson(now) } },
        );
        // `join!`, not `try_join!`: a failing touch must not cut the insert off midway.
        let (inserted, touched) = tokio::join!(
            self.bounded(self.tokens.0.insert_one(TokenDoc::from(&next))),
            self.bounded(touch),
        );
        inserted?;
        touched?;
        session.last_used_at = now;
        Ok(RotateOutcome::Rotated { session, user })
    }

    async fn revoke_session(
        &self,
        id: Uuid,
        owner: Option<UserId>,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut filter = by_id(id);
        filter.insert(field::REVOKED_AT, not_revoked());
        if let Some(owner) = owner {
            filter.insert(field::USER_ID, id_to_bson(*owner.as_uuid()));
        }
        let update = doc! { "$set": { field::REVOKED_AT: date_to_bson(now) } };
        let result = self
            .bounded(self.sessions.0.update_one(filter, update))
            .await?;
        Ok(result.modified_count > 0)
    }

    async fn revoke_user_sessions(
        &self,
        user_id: UserId,
        keep: Option<Uuid>,
        now: OffsetDateTime,
    ) -> Result<Vec<Uuid>, StoreError> {
        // One conditional update of every live session, marked with this call's own id,
        // then the marked ones read back: exactly the sessions this call ended, even when
        // another call ends some of them at the same time (each document is revoked by
        // one writer only, as its `revoked_at: null` condition is checked per document).
        let call = id_to_bson(Uuid::now_v7());
        let mut filter = doc! {
            field::USER_ID: id_to_bson(*user_id.as_uuid()),
            field::REVOKED_AT: not_revoked(),
        };
        if let Some(keep) = keep {
            filter.insert(field::ID, doc! { "$ne": id_to_bson(keep) });
        }
        let update = doc! {
            "$set": { field::REVOKED_AT: date_to_bson(now), field::REVOKED_BY: &call },
        };
        let result = self
            .bounded(self.sessions.0.update_many(filter, update))
            .await?;
        if result.modified_count == 0 {
            return Ok(Vec::new());
        }
        let marked = doc! {
            field::USER_ID: id_to_bson(*user_id.as_uuid()),
            field::REVOKED_BY: &call,
        };
        self.session_ids(marked).await
    }

    async fn revocations_since(
        &self,
        since: OffsetDateTime,
    ) -> Result<Vec<Revocation>, StoreError> {
        let since = date_to_bson(since);
        let (sessions, users) = tokio::try_join!(
            self.ended_sessions(doc! { field::REVOKED_AT: { "$gt": since } }),
            self.raised_versions(doc! { field::VERSIONED_AT: { "$gt": since } }),
        )?;
        Ok(sessions.into_iter().chain(users).collect())
    }

    async fn purge_expired_sessions(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let expired = doc! { field::EXPIRES_AT: { "$lte": date_to_bson(now) } };
        let mut purged = 0;
        loop {
            let batch = self
                .session_ids_limited(expired.clone(), PURGE_BATCH)
                .await?;
            if batch.is_empty() {
                return Ok(purged);
            }
            let ids: Vec<Bson> = batch
                .iter()
                .map(|id| Bson::String(id_to_bson(*id)))
                .collect();
            self.bounded(
                self.tokens
                    .0
                    .delete_many(doc! { field::FAMILY_ID: { "$in": ids.clone() } }),
            )
            .await?;
            let mut doomed = expired.clone();
            doomed.insert(field::ID, doc! { "$in": ids });
            purged += self
                .bounded(self.sessions.0.delete_many(doomed))
                .await?
                .deleted_count;
            if batch.len() < PURGE_BATCH as usize {
                return Ok(purged);
            }
        }
    }
}

impl MongoStore {
    /// The ids of the sessions matching `filter`.
    async fn session_ids(&self, filter: Document) -> Result<Vec<Uuid>, StoreError> {
        self.session_ids_limited(filter, 0).await
    }

    /// The ids of at most `limit` sessions matching `filter` (0: no limit).
    async fn session_ids_limited(
        &self,
        filter: Document,
        limit: i64,
    ) -> Result<Vec<Uuid>, StoreError> {
        let ids = self.sessions.0.clone_with_type::<Document>();
        let mut cursor = self
            .bounded(
                ids.find(filter)
                    .projection(doc! { field::ID: 1 })
                    .limit(limit),
            )
            .await?;
        let mut found = Vec::new();
        while self.bounded(cursor.advance()).await? {
            let doc = cursor.deserialize_current().map_err(store_error)?;
            let id = doc
                .get_str(field::ID)
                .map_err(|_| crate::codec::corrupt("a session id is not a string"))?;
            found.push(id_from_bson(id)?);
        }
        Ok(found)
    }

    /// The revoked sessions matching `filter`, as the feed reports them.
    async fn ended_sessions(&self, filter: Document) -> Result<Vec<Revocation>, StoreError> {
        let mut cursor = self.bounded(self.sessions.0.find(filter)).await?;
        let mut found = Vec::new();
        while self.bounded(cursor.advance()).await? {
            let session =
                SessionRecord::try_from(cursor.deserialize_current().map_err(store_error)?)?;
            if let Some(at) = session.revoked_at {
                found.push(Revocation::Session {
                    id: session.id,
                    user_id: session.user_id,
                    at,
                });
            }
        }
        Ok(found)
    }

    /// The users matching `filter` with their current version and its date.
    async fn raised_versions(&self, filter: Document) -> Result<Vec<Revocation>, StoreError> {
        let versions = self.users.0.clone_with_type::<VersionDoc>();
        let mut cursor = self
            .bounded(versions.find(filter).projection(doc! {
                field::ID: 1,
                field::TOKEN_VERSION: 1,
                field::VERSIONED_AT: 1,
            }))
            .await?;
        let mut found = Vec::new();
        while self.bounded(cursor.advance()).await? {
            let doc = cursor.deserialize_current().map_err(store_error)?;
            found.push(Revocation::User {
                user_id: UserId::from_uuid(id_from_bson(&doc.id)?),
                token_version: doc.token_version,
                at: date_from_bson(doc.versioned_at)?,
            });
        }
        Ok(found)
    }
}
