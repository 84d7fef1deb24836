//! An in-memory store: for tests, examples and single-process prototypes.

//!
//! It is also the reference implementation of every store rule: the conformance suite in
//! `auth_core::testing` passes on it, and each other store applies the same rules with its
//! own atomic operations.

mod audit;
mod counters;
mod mfa;
mod sessions;
mod tokens;
mod users;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use time::OffsetDateTime;
use uuid::Uuid;

use crate::audit::{AuditAnchor, AuditRecord};
use crate::counter::{CounterKey, ThrottleState};
use crate::mfa::{RecoveryCodeHash, TotpRecord};
use crate::session::SessionRecord;
use crate::token::{TokenHash, TokenRecord};
use crate::user::{User, UserId};

/// An [`AuthStore`](crate::AuthStore) kept in process memory. Clones share the same data.
///
/// Every operation runs under one mutex, so the single-use and uniqueness rules hold for
/// concurrent tasks of one process. Data is lost when the process ends, and several
/// processes do not share it: use a database store to scale out.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug, Default)]
pub(super) struct Inner {
    pub(super) users: HashMap<UserId, User>,
    pub(super) emails: HashMap<String, UserId>,
    /// When each user's `token_version` was raised last (the revocation feed).
    pub(super) versioned_at: HashMap<UserId, OffsetDateTime>,
    pub(super) tokens: HashMap<TokenHash, TokenRecord>,
    pub(super) sessions: HashMap<Uuid, SessionRecord>,
    pub(super) rates: HashMap<CounterKey, (i64, i64)>,
    pub(super) throttles: HashMap<CounterKey, ThrottleState>,
    pub(super) audit: BTreeMap<i64, AuditRecord>,
    pub(super) audit_anchor: Option<AuditAnchor>,
    pub(super) totp: HashMap<UserId, TotpRecord>,
    pub(super) recovery: HashMap<UserId, Vec<(RecoveryCodeHash, Option<OffsetDateTime>)>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, Inner> {
        // No operation panics while holding the lock, and every write is a single
        // assignment, so the data behind a poisoned lock is still consistent.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
