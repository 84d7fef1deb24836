//! [`CounterStore`] for [`MongoStore`]: the rules of [`RateLimit::decide`] and
//! [`Throttle::decide`], applied by compare-and-set.
//!
//! Each call reads the key's document, lets auth-core's rule decide, and when the rule
//! changes the state writes the new one only if the document is still exactly the one read
//! (an update whose filter pins every state field; a first state is an insert, which the
//! unique `_id` lets only one writer make). A writer that loses the race reads again. So
//! every allowed call is one successful single-document write, and of N concurrent calls
//! exactly the allowed number pass, across processes, with no transaction. A refused call
//! writes nothing: the read it decided on is its moment in the order of calls.
//!
//! Why not one update doing the arithmetic on the server: that takes an update pipeline
//! (`$cond`, `$max`, `$add` over the stored fields), which the MongoDB-wire test server
//! refuses; and with the compare-and-set the rule lives once, in auth-core.

use auth_core::async_trait;
use auth_core::{
    CounterKey, CounterStore, RateDecision, RateLimit, StoreError, Throttle, ThrottleDecision,
    unix_millis,
};
use mongodb::IndexModel;
use mongodb::bson::{Document, doc};
use time::OffsetDateTime;

use crate::codec::counter::{CounterDoc, key_to_binary, rate_fields, throttle_fields};
use crate::codec::field;
use crate::store::{MongoStore, backoff, index};

/// How often one call reads again after losing the race for its key. Every lost round is
/// another caller's won write on the same key, so this bounds the burst one key absorbs
/// without an error: far more than the conformance suite's 32 concurrent callers.
const MAX_COUNTER_ATTEMPTS: u32 = 200;

/// The indexes of the counters collection, created by [`MongoStore::migrate`]: on
/// `expires_at` for the purge (the key is the `_id`). Not a TTL index: the times are
/// milliseconds in a `long`, the unit of auth-core's rules, and the purge reports how many
/// states it deleted.
pub(crate) fn indexes() -> [IndexModel; 1] {
    [index(
        doc! { field::EXPIRES_AT: 1 },
        "expires_at",
        false,
        None,
    )]
}

#[async_trait]
impl CounterStore for MongoStore {
    async fn take_rate_token(
        &self,
        key: &CounterKey,
        limit: RateLimit,
        now: OffsetDateTime,
    ) -> Result<RateDecision, StoreError> {
        let now = unix_millis(now);
        for attempt in 0..MAX_COUNTER_ATTEMPTS {
            let stored = self.counter(key).await?;
            let tat = stored.as_ref().and_then(|doc| doc.live_tat(now));
            let (decision, next) = limit.decide(tat, now);
            let Some(tat) = next else {
                return Ok(decision);
            };
            if self
                .compare_and_set(key, stored.as_ref(), rate_fields(tat))
                .await?
            {
                return Ok(decision);
            }
            backoff(attempt).await;
        }
        Err(contended())
    }

    async fn begin_attempt(
        &self,
        key: &CounterKey,
        throttle: Throttle,
        now: OffsetDateTime,
    ) -> Result<ThrottleDecision, StoreError> {
        let now = unix_millis(now);
        for attempt in 0..MAX_COUNTER_ATTEMPTS {
            let stored = self.counter(key).await?;
            let state = stored
                .as_ref()
                .map(CounterDoc::throttle)
                .transpose()?
                .flatten();
            let (decision, next) = throttle.decide(state, now);
            let Some(state) = next else {
                return Ok(decision);
            };
            if self
                .compare_and_set(key, stored.as_ref(), throttle_fields(&state))
                .await?
            {
                return Ok(decision);
            }
            backoff(attempt).await;
        }
        Err(contended())
    }

    async fn clear_attempts(&self, key: &CounterKey) -> Result<(), StoreError> {
        let filter = doc! { field::ID: key_to_binary(key) };
        self.bounded(self.counters.0.delete_one(filter))
            .await
            .map(drop)
    }

    async fn purge_expired_counters(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let filter = doc! { field::EXPIRES_AT: { "$lte": unix_millis(now) } };
        let result = self.bounded(self.counters.0.delete_many(filter)).await?;
        Ok(result.deleted_count)
    }
}

impl MongoStore {
    async fn counter(&self, key: &CounterKey) -> Result<Option<CounterDoc>, StoreError> {
        let filter = doc! { field::ID: key_to_binary(key) };
        self.bounded(self.counters.0.find_one(filter)).await
    }

    /// Writes `fields` as the key's state if the document is still `read` (`None`: still
    /// absent). `false` when another writer got there first.
    async fn compare_and_set(
        &self,
        key: &CounterKey,
        read: Option<&CounterDoc>,
        fields: Document,
    ) -> Result<bool, StoreError> {
        match read {
            None => {
                let mut first = doc! { field::ID: key_to_binary(key) };
                first.extend(fields);
                let documents = self.counters.0.clone_with_type::<Document>();
                match self.bounded(documents.insert_one(first)).await {
                    Ok(_) => Ok(true),
                    // The unique `_id`: another caller stored the first state.
                    Err(StoreError::Conflict) => Ok(false),
                    Err(error) => Err(error),
                }
            }
            Some(read) => {
                // `update_one`, not `findAndModify`, and its match count as the answer: the
                // MongoDB-wire test server's findAndModify answers errors with "no
                // document", which would read as a lost race.
                let update = self
                    .counters
                    .0
                    .update_one(read.unchanged(key), doc! { "$set": fields });
                Ok(self.bounded(update).await?.matched_count == 1)
            }
        }
    }
}

fn contended() -> StoreError {
    StoreError::unavailable("the counter was contended for too long")
}
