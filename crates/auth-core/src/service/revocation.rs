//! The revocation view: what the stateless extractors check, with no store read per
//! request.
//!
//! It holds the recent cuts only — sessions ended and users whose token version was
//! raised within the last access-token lifetime (plus the leeway and the poll overlap):
//! an access token issued before an older cut has expired anyway. So its size follows the
//! rate of cuts, not the number of users. It is a cache of the store, never the truth:
//!
//! - a cut made by this instance is added at once, after it was stored;
//! - every `revocation_poll` a background task asks the store for the cuts after its last
//!   poll (minus an overlap for clock differences between instances and for writes that
//!   committed late), one indexed query, and adds them — so every instance sharing the
//!   store refuses a cut token within the poll interval;
//! - when polls fail, the last view is kept and the failures are logged; once the last
//!   successful poll is older than `revocation_max_staleness` (default 60 s) the check
//!   fails closed with 503, since it can no longer promise to see cuts, and recovers with
//!   the next successful poll.
//!
//! The check on the hot path is one atomic load while the view is empty, and a read lock
//! with two hash lookups otherwise (benches/README.md has its cost with 0, 10 000 and
//! 100 000 cuts).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError, RwLock};
use std::time::Instant;

use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::error::{AuthError, StoreError};
use crate::jwt::Claims;
use crate::session::Revocation;
use crate::store::AuthStore;
use crate::user::UserId;

/// Hashes the ids the view is keyed by. Session and user ids are UUID v7 made by us, whose
/// last eight bytes are random, and the ids looked up come from tokens we signed: no one
/// can choose colliding keys, so SipHash's protection is not needed and its cost (a third
/// of the whole check) is saved.
#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = self.0.rotate_left(5) ^ u64::from_le_bytes(word);
        }
    }

    fn write_usize(&mut self, _length: usize) {}
}

type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

#[derive(Debug, Default)]
struct Cuts {
    /// User → (the lowest token version still current, when it was raised).
    users: IdMap<UserId, (i64, OffsetDateTime)>,
    /// Ended session → when.
    sessions: IdMap<Uuid, OffsetDateTime>,
}

impl Cuts {
    fn add(&mut self, revocation: Revocation) {
        match revocation {
            Revocation::Session { id, at, .. } => {
                self.sessions.entry(id).or_insert(at);
            }
            Revocation::User {
                user_id,
                token_version,
                at,
            } => {
                let entry = self.users.entry(user_id).or_insert((token_version, at));
                if token_version > entry.0 {
                    *entry = (token_version, at);
                }
            }
        }
    }

    fn prune(&mut self, before: OffsetDateTime) {
        self.users.retain(|_, (_, at)| *at >= before);
        self.sessions.retain(|_, at| *at >= before);
    }

    fn is_empty(&self) -> bool {
        self.users.is_empty() && self.sessions.is_empty()
    }
}

/// How a poll went, for the poller's log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PollReport {
    pub(crate) added: usize,
    pub(crate) held: usize,
}

#[derive(Debug)]
pub(crate) struct RevocationView {
    cuts: RwLock<Cuts>,
    /// Whether `cuts` has anything: the hot path skips the lock while it has not.
    nonempty: AtomicBool,
    /// Set by the poller once polls have failed for longer than the staleness bound.
    stale: AtomicBool,
    /// The store time of the last successful poll's start, and the instant of it.
    polled: Mutex<(OffsetDateTime, Instant)>,
    /// How far back a poll looks beyond the previous one.
    overlap: Duration,
    /// How long a cut is kept.
    retention: Duration,
    max_staleness: Option<std::time::Duration>,
}

impl RevocationView {
    /// A view that will first ask the store for every cut within `retention` before `now`.
    pub(crate) fn new(
        now: OffsetDateTime,
        poll: Duration,
        retention: Duration,
        max_staleness: Option<Duration>,
    ) -> Self {
        // Instances' clocks and commit order differ a little; looking back twice the poll
        // interval (at least 10 s) on every poll costs a few repeated rows and misses none.
        let overlap = (poll * 2_i32).max(Duration::seconds(10));
        Self {
            cuts: RwLock::default(),
            nonempty: AtomicBool::new(false),
            stale: AtomicBool::new(false),
            polled: Mutex::new((now - retention, Instant::now())),
            overlap,
            retention: retention + overlap,
            max_staleness: max_staleness.and_then(|d| d.try_into().ok()),
        }
    }

    /// Refuses a cut token: 401 `revoked_token`; or 503 while the view is stale.
    pub(crate) fn check(&self, claims: &Claims) -> Result<(), AuthError> {
        if self.stale.load(Ordering::Relaxed) {
            return Err(AuthError::Unavailable(Box::new(StoreError::unavailable(
                "the revocation view could not be refreshed from the store for too long",
            ))));
        }
        if !self.nonempty.load(Ordering::Acquire) {
            return Ok(());
        }
        let cuts = self.cuts.read().unwrap_or_else(PoisonError::into_inner);
        let stale_version = cuts
            .users
            .get(&claims.sub)
            .is_some_and(|(version, _)| claims.ver < *version);
        let ended = claims
            .sid
            .is_some_and(|sid| cuts.sessions.contains_key(&sid));
        if stale_version || ended {
            Err(AuthError::RevokedToken)
        } else {
            Ok(())
        }
    }

    /// Adds a cut this instance has just stored.
    pub(crate) fn note(&self, revocation: Revocation) {
        let mut cuts = self.cuts.write().unwrap_or_else(PoisonError::into_inner);
        cuts.add(revocation);
        self.nonempty.store(true, Ordering::Release);
    }

    /// Asks the store for the cuts since the last poll and forgets the ones too old to
    /// matter.
    pub(crate) async fn poll(
        &self,
        store: &dyn AuthStore,
        now: OffsetDateTime,
    ) -> Result<PollReport, StoreError> {
        let since = self.polled.lock().unwrap_or_else(PoisonError::into_inner).0 - self.overlap;
        let started = Instant::now();
        let result = store.revocations_since(since).await;
        let revocations = match result {
            Ok(revocations) => revocations,
            Err(error) => {
                self.poll_timed_out();
                return Err(error);
            }
        };
        let added = revocations.len();
        let mut cuts = self.cuts.write().unwrap_or_else(PoisonError::into_inner);
        for revocation in revocations {
            cuts.add(revocation);
        }
        cuts.prune(now - self.retention);
        let held = cuts.users.len() + cuts.sessions.len();
        self.nonempty.store(!cuts.is_empty(), Ordering::Release);
        drop(cuts);
        *self.polled.lock().unwrap_or_else(PoisonError::into_inner) = (now, started);
        self.stale.store(false, Ordering::Relaxed);
        Ok(PollReport { added, held })
    }

    /// Records a poll that did not answer in time: like a failed one.
    pub(crate) fn poll_timed_out(&self) {
        let last = self.polled.lock().unwrap_or_else(PoisonError::into_inner).1;
        if self
            .max_staleness
            .is_some_and(|bound| last.elapsed() > bound)
        {
            self.stale.store(true, Ordering::Relaxed);
        }
    }

    /// How many cuts the view holds.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        let cuts = self.cuts.read().unwrap_or_else(PoisonError::into_inner);
        cuts.users.len() + cuts.sessions.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(sub: UserId, sid: Option<Uuid>, ver: i64) -> Claims {
        Claims {
            sub,
            roles: vec![],
            iat: 0,
            exp: 0,
            nbf: None,
            jti: Uuid::now_v7(),
            iss: "myauth".into(),
            aud: "myauth".into(),
            token_use: "access".into(),
            sid,
            ver,
        }
    }

    fn view() -> RevocationView {
        RevocationView::new(
            OffsetDateTime::now_utc(),
            Duration::seconds(5),
            Duration::minutes(30),
            Some(Duration::seconds(60)),
        )
    }

    #[test]
    fn a_cut_refuses_older_tokens_and_keeps_newer_ones() {
        let view = view();
        let alice = UserId::new();
        let sid = Uuid::now_v7();
        assert!(view.check(&claims(alice, Some(sid), 0)).is_ok());
        view.note(Revocation::User {
            user_id: alice,
            token_version: 3,
            at: OffsetDateTime::now_utc(),
        });
        assert!(matches!(
            view.check(&claims(alice, Some(sid), 2)),
            Err(AuthError::RevokedToken)
        ));
        assert!(view.check(&claims(alice, Some(sid), 3)).is_ok());
        // An older version learnt later never lowers the bar.
        view.note(Revocation::User {
            user_id: alice,
            token_version: 1,
            at: OffsetDateTime::now_utc(),
        });
        assert!(view.check(&claims(alice, Some(sid), 2)).is_err());
        view.note(Revocation::Session {
            id: sid,
            user_id: alice,
            at: OffsetDateTime::now_utc(),
        });
        assert!(view.check(&claims(alice, Some(sid), 3)).is_err());
        assert!(view.check(&claims(alice, Some(Uuid::now_v7()), 3)).is_ok());
        assert!(view.check(&claims(UserId::new(), None, 0)).is_ok());
    }

    #[tokio::test]
    async fn polls_learn_other_instances_cuts_and_forget_old_ones() {
        let store = crate::MemoryStore::new();
        let view = view();
        let now = OffsetDateTime::now_utc();
        let user = crate::testing::sample_user("alice@example.com");
        crate::UserStore::create_user(&store, &user).await.unwrap();
        let (session, token) = crate::testing::sample_session(&user);
        crate::SessionStore::create_session(&store, &session, &token)
            .await
            .unwrap();
        crate::SessionStore::revoke_session(&store, session.id, None, now)
            .await
            .unwrap();
        let report = view.poll(&store, now).await.unwrap();
        assert_eq!(report, PollReport { added: 1, held: 1 });
        assert!(view.check(&claims(user.id, Some(session.id), 0)).is_err());
        // Long after, the cut is forgotten: every token it could refuse has expired.
        let later = now + Duration::hours(2);
        view.poll(&store, later).await.unwrap();
        assert_eq!(view.len(), 0);
        assert!(view.check(&claims(user.id, Some(session.id), 0)).is_ok());
    }

    #[tokio::test]
    async fn failing_polls_keep_the_view_until_the_bound_then_fail_closed() {
        let store = crate::testing::Instrumented::new(crate::MemoryStore::new());
        let view = RevocationView::new(
            OffsetDateTime::now_utc(),
            Duration::seconds(5),
            Duration::minutes(30),
            Some(Duration::milliseconds(50)),
        );
        let alice = UserId::new();
        store.fail("revocations_since");
        assert!(view.poll(&store, OffsetDateTime::now_utc()).await.is_err());
        assert!(
            view.check(&claims(alice, None, 0)).is_ok(),
            "within the bound the last view is used"
        );
        tokio::time::sleep(std::time::Duration::from_millis(60)).await;
        assert!(view.poll(&store, OffsetDateTime::now_utc()).await.is_err());
        assert!(matches!(
            view.check(&claims(alice, None, 0)),
            Err(AuthError::Unavailable(_))
        ));
        store.heal("revocations_since");
        view.poll(&store, OffsetDateTime::now_utc()).await.unwrap();
        assert!(view.check(&claims(alice, None, 0)).is_ok(), "recovered");
    }
}
