//! Counter states as documents of the counters collection.
//!
//! `_id` is the 32-byte [`CounterKey`](auth_core::CounterKey) as generic binary; times are
//! `long` milliseconds since the epoch, the unit of [`auth_core::RateLimit::decide`] and
//! [`auth_core::Throttle::decide`]. A token bucket stores `tat` (its theoretical arrival
//! time), a throttle `failures` and `blocked_until`; both store `expires_at`, which the
//! purge reads. A field a state does not use is absent, never `null`.
//!
//! One key holds one kind of state: keys are hashes of a scope and a value, and the
//! service never uses one scope for both kinds.

use auth_core::{CounterKey, StoreError, ThrottleState};
use mongodb::bson::spec::BinarySubtype;
use mongodb::bson::{Binary, Bson, Document, doc};
use serde::Deserialize;

use super::{corrupt, field};

/// The stored form of a key.
pub(crate) fn key_to_binary(key: &CounterKey) -> Binary {
    Binary {
        subtype: BinarySubtype::Generic,
        bytes: key.as_bytes().to_vec(),
    }
}

/// A counter document as read: every state field, each possibly absent.
#[derive(Debug, Deserialize)]
pub(crate) struct CounterDoc {
    tat: Option<i64>,
    failures: Option<i64>,
    blocked_until: Option<i64>,
    expires_at: Option<i64>,
}

impl CounterDoc {
    /// The bucket's `tat` if it is still live at `now_ms` (an expired state counts as
    /// none, as in the memory store).
    pub(crate) fn live_tat(&self, now_ms: i64) -> Option<i64> {
        self.tat.filter(|_| {
            self.expires_at
                .is_some_and(|expires_at| expires_at > now_ms)
        })
    }

    /// The throttle state, if this document holds one.
    pub(crate) fn throttle(&self) -> Result<Option<ThrottleState>, StoreError> {
        let Some(failures) = self.failures else {
            return Ok(None);
        };
        Ok(Some(ThrottleState {
            failures: u32::try_from(failures)
                .map_err(|_| corrupt("counter failures is negative or too large"))?,
            blocked_until: self.blocked_until.unwrap_or(0),
            expires_at: self.expires_at.unwrap_or(0),
        }))
    }

    /// The compare-and-set condition "the document of `key` is still exactly this one":
    /// every state field equal to the value read, or still absent.
    pub(crate) fn unchanged(&self, key: &CounterKey) -> Document {
        let mut filter = doc! { field::ID: key_to_binary(key) };
        for (name, value) in [
            (field::TAT, self.tat),
            (field::FAILURES, self.failures),
            (field::BLOCKED_UNTIL, self.blocked_until),
            (field::EXPIRES_AT, self.expires_at),
        ] {
            let condition = match value {
                Some(value) => Bson::Int64(value),
                None => Bson::Document(doc! { "$exists": false }),
            };
            filter.insert(name, condition);
        }
        filter
    }
}

/// The fields of a bucket whose next `tat` is `tat`: it expires when it is full again.
pub(crate) fn rate_fields(tat: i64) -> Document {
    doc! { field::TAT: tat, field::EXPIRES_AT: tat }
}

/// The fields of a throttle state.
pub(crate) fn throttle_fields(state: &ThrottleState) -> Document {
    doc! {
        field::FAILURES: i64::from(state.failures),
        field::BLOCKED_UNTIL: state.blocked_until,
        field::EXPIRES_AT: state.expires_at,
    }
}
