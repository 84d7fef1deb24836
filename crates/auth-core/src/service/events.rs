//! Firing events: the application's hooks and the audit log, after each stored change
//! (see [`crate::events`]); and the admin's view of the audit log.

use std::sync::Arc;

use time::OffsetDateTime;

use super::AuthService;
use super::admin::AdminAccess;
use crate::audit::{AuditQuery, AuditRecord};
use crate::error::AuthError;
use crate::events::{AUDIT_TIMEOUT, AuthEvent, AuthEventKind, AuthEvents, HOOK_TIMEOUT, deliver};
use crate::user::UserId;

/// Default page size of [`AuthService::audit_log`].
pub const DEFAULT_AUDIT_PAGE_SIZE: u32 = 50;
/// Largest page size of [`AuthService::audit_log`]; larger requests are capped.
pub const MAX_AUDIT_PAGE_SIZE: u32 = 500;

/// A page of the audit log, newest first: `GET /admin/audit`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditPage {
    /// The records.
    pub items: Vec<AuditRecord>,
    /// The `before` of the next (older) page; `null` on the last page.
    pub next_before: Option<i64>,
}

impl AuthService {
    /// An event of this kind now, from the current client.
    pub(super) fn event(&self, kind: AuthEventKind) -> AuthEvent {
        AuthEvent::new(kind, self.now())
    }

    /// An event of this kind about `user` now, from the current client.
    pub(super) fn user_event(&self, kind: AuthEventKind, user: UserId) -> AuthEvent {
        self.event(kind).with_user(user)
    }

    /// Fires an event whose change is stored: the hooks in the background, and the audit
    /// record — awaited when the audit log is strict, in the background otherwise.
    ///
    /// # Errors
    ///
    /// [`AuthError::Unavailable`] when a strict audit log could not be written.
    pub(super) async fn emit(&self, event: AuthEvent) -> Result<(), AuthError> {
        if let Some(hooks) = &self.inner.events {
            deliver(Arc::clone(hooks), event.clone(), HOOK_TIMEOUT);
        }
        let Some(sink) = &self.inner.audit else {
            return Ok(());
        };
        if self.inner.config.audit().strict() {
            if let Err(error) = sink.record(&event).await {
                sink.failed(&event, &error);
                return Err(error.into());
            }
        } else {
            deliver(
                Arc::new(sink.clone()) as Arc<dyn AuthEvents>,
                event,
                AUDIT_TIMEOUT,
            );
        }
        Ok(())
    }

    /// Fires an event where nobody waits for the answer any more (a background task): a
    /// strict audit failure is logged and counted only.
    pub(super) async fn emit_detached(&self, event: AuthEvent) {
        let _ = self.emit(event).await;
    }

    /// How many audit writes failed since the service was built (each one is also logged
    /// at error level). Export it as a metric; anything above zero means the audit log
    /// misses events.
    pub fn audit_failures(&self) -> u64 {
        self.inner.audit.as_ref().map_or(0, |sink| sink.failures())
    }

    /// A page of the audit log, newest first, optionally only about one user and/or of one
    /// event; `before` is the `next_before` of the previous page. `limit` defaults to 50
    /// and is capped at 500.
    ///
    /// # Errors
    ///
    /// [`AuthError::Unavailable`].
    pub async fn audit_log(
        &self,
        _access: &AdminAccess,
        query: AuditQuery,
    ) -> Result<AuditPage, AuthError> {
        let limit = match query.limit {
            0 => DEFAULT_AUDIT_PAGE_SIZE,
            n => n.min(MAX_AUDIT_PAGE_SIZE),
        };
        let items = self
            .inner
            .store
            .list_audit_records(&AuditQuery { limit, ..query })
            .await?;
        let full = items.len() >= limit as usize;
        let next_before = items.last().filter(|_| full).map(|last| last.seq);
        Ok(AuditPage { items, next_before })
    }

    /// Deletes the audit records older than the configured retention, keeping an anchor
    /// (see [`AuditConfig::with_retention`](crate::AuditConfig::with_retention)). Returns
    /// how many; none without a retention.
    pub(super) async fn purge_audit(&self, now: OffsetDateTime) -> Result<u64, AuthError> {
        let Some(retention) = self.inner.config.audit().retention() else {
            return Ok(0);
        };
        Ok(self
            .inner
            .store
            .purge_audit_records(now - retention, now)
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration as StdDuration;

    use async_trait::async_trait;
    use tokio::sync::mpsc;

    use super::*;
    use crate::audit::{self, ChainBreak};
    use crate::client::ClientInfo;
    use crate::error::AuthError;
    use crate::events::LoginFailure;
    use crate::service::test_support::{Harness, PASSWORD, config, secret};
    use crate::store::AuthStore;
    use crate::store::memory::MemoryStore;
    use crate::testing::Instrumented;
    use crate::{AuditConfig, AuditStore, SessionStore};

    #[derive(Debug, Clone)]
    struct Recorder(mpsc::UnboundedSender<AuthEvent>);

    #[async_trait]
    impl AuthEvents for Recorder {
        async fn on_event(&self, event: &AuthEvent) {
            let _ = self.0.send(event.clone());
        }
    }

    #[derive(Debug)]
    struct Hostile;

    #[async_trait]
    impl AuthEvents for Hostile {
        async fn on_login_succeeded(&self, _event: &AuthEvent) {
            tokio::time::sleep(StdDuration::from_secs(3600)).await;
        }
        async fn on_login_failed(&self, _event: &AuthEvent) {
            panic!("a hook bug");
        }
    }

    fn service_on(
        store: impl AuthStore,
        config: crate::AuthConfig,
        events: impl AuthEvents,
    ) -> AuthService {
        AuthService::builder()
            .config(config)
            .store(store)
            .events(events)
            .build()
            .unwrap()
    }

    async fn next(rx: &mut mpsc::UnboundedReceiver<AuthEvent>) -> AuthEvent {
        tokio::time::timeout(StdDuration::from_secs(5), rx.recv())
            .await
            .expect("an event within 5 s")
            .expect("open")
    }

    /// Waits until the store holds `n` audit records.
    async fn audit_records(store: &dyn AuthStore, n: usize) -> Vec<AuditRecord> {
        for _ in 0..500 {
            let records = store.audit_records_after(0, 1000).await.unwrap();
            if records.len() >= n {
                return records;
            }
            tokio::time::sleep(StdDuration::from_millis(10)).await;
        }
        panic!("fewer than {n} audit records after 5 s");
    }

    fn client() -> ClientInfo {
        ClientInfo::new(Some("192.0.2.44".parse().unwrap()), Some("unit-test/1"))
    }

    #[tokio::test]
    async fn hooks_and_the_audit_log_see_each_event_with_its_client_after_the_change() {
        let store = MemoryStore::new();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let service = service_on(
            store.clone(),
            config().with_require_verified_email(false),
            Recorder(tx),
        );
        let user = client()
            .scope(async {
                let user = service
                    .register(Harness::new_user("ev@example.com"))
                    .await
                    .unwrap();
                let wrong = service.login("ev@example.com", &secret("Wr0ng!pass")).await;
                assert!(matches!(wrong, Err(AuthError::InvalidCredentials)));
                let unknown = service.login("no@example.com", &secret(PASSWORD)).await;
                assert!(matches!(unknown, Err(AuthError::InvalidCredentials)));
                service
                    .login("ev@example.com", &secret(PASSWORD))
                    .await
                    .unwrap();
                user
            })
            .await;
        let registered = next(&mut rx).await;
        assert_eq!(registered.kind, AuthEventKind::Registered);
        assert_eq!(registered.user_id, Some(user.id));
        assert_eq!(registered.ip, Some("192.0.2.44".parse().unwrap()));
        assert_eq!(registered.user_agent.as_deref(), Some("unit-test/1"));
        let mut rest = [
            next(&mut rx).await,
            next(&mut rx).await,
            next(&mut rx).await,
        ];
        rest.sort_by_key(|e| e.reason.map(LoginFailure::name));
        assert_eq!(
            rest.iter().map(|e| (e.kind, e.reason)).collect::<Vec<_>>(),
            [
                (AuthEventKind::LoginSucceeded, None),
                (
                    AuthEventKind::LoginFailed,
                    Some(LoginFailure::UnknownAccount)
                ),
                (
                    AuthEventKind::LoginFailed,
                    Some(LoginFailure::WrongPassword)
                ),
            ]
        );
        // The session the login started exists when its event fires.
        let session = rest[0].session_id.expect("a session id");
        assert!(
            store
                .list_user_sessions(user.id, service.now())
                .await
                .unwrap()
                .iter()
                .any(|s| s.id == session)
        );
        assert_eq!(rest[1].user_id, None);
        assert!(rest[1].account.is_some());

        let records = audit_records(&store, 4).await;
        let mut names: Vec<_> = records.iter().map(|r| r.event.as_str()).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "login.failed",
                "login.failed",
                "login.succeeded",
                "user.registered"
            ]
        );
        assert!(
            records
                .iter()
                .all(|r| r.ip.as_deref() == Some("192.0.2.44"))
        );
        let failed = records
            .iter()
            .find(|r| r.detail["reason"] == "wrong_password")
            .expect("the wrong password");
        assert_eq!(failed.user_id, Some(user.id));
        // Nothing secret in any record.
        let text = serde_json::to_string(&records).unwrap();
        assert!(!text.contains(PASSWORD) && !text.contains("Wr0ng!pass"));
        let report = audit::verify(&store).await.unwrap();
        assert_eq!((report.checked, report.broken), (4, None));
    }

    #[tokio::test]
    async fn a_slow_or_panicking_hook_neither_delays_nor_changes_the_answer() {
        let service = service_on(
            MemoryStore::new(),
            config().with_require_verified_email(false),
            Hostile,
        );
        service
            .register(Harness::new_user("h@example.com"))
            .await
            .unwrap();
        let started = std::time::Instant::now();
        let wrong = service.login("h@example.com", &secret("Wr0ng!pass")).await;
        assert!(matches!(wrong, Err(AuthError::InvalidCredentials)));
        service
            .login("h@example.com", &secret(PASSWORD))
            .await
            .expect("the sleeping hook does not hold the login");
        assert!(started.elapsed() < StdDuration::from_secs(5));
        // The panic was caught: the service keeps working.
        service
            .login("h@example.com", &secret(PASSWORD))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_failed_audit_write_is_counted_and_only_a_strict_log_fails_the_request() {
        let store = Instrumented::new(MemoryStore::new());
        let (tx, _rx) = mpsc::unbounded_channel();
        let lenient = service_on(
            store.clone(),
            config().with_require_verified_email(false),
            Recorder(tx.clone()),
        );
        lenient
            .register(Harness::new_user("a@example.com"))
            .await
            .unwrap();
        audit_records(store.inner(), 1).await;
        store.fail("append_audit_record");
        lenient
            .login("a@example.com", &secret(PASSWORD))
            .await
            .expect("the request succeeds without its audit record");
        for _ in 0..500 {
            if lenient.audit_failures() == 1 {
                break;
            }
            tokio::time::sleep(StdDuration::from_millis(10)).await;
        }
        assert_eq!(lenient.audit_failures(), 1);

        let strict = service_on(
            store.clone(),
            config()
                .with_require_verified_email(false)
                .with_audit(AuditConfig::new().with_strict(true)),
            Recorder(tx),
        );
        let refused = strict.login("a@example.com", &secret(PASSWORD)).await;
        assert!(
            matches!(refused, Err(AuthError::Unavailable(_))),
            "{refused:?}"
        );
        assert_eq!(strict.audit_failures(), 1);
        store.heal("append_audit_record");
        strict
            .login("a@example.com", &secret(PASSWORD))
            .await
            .unwrap();
        // Strict: the record is written before the answer.
        let last = store.inner().last_audit_record().await.unwrap().unwrap();
        assert_eq!(last.event, "login.succeeded");
    }

    #[tokio::test]
    async fn with_the_audit_log_off_nothing_is_written_and_the_hooks_still_fire() {
        let store = MemoryStore::new();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let service = service_on(
            store.clone(),
            config().with_audit(AuditConfig::new().with_enabled(false)),
            Recorder(tx),
        );
        service
            .register(Harness::new_user("off@example.com"))
            .await
            .unwrap();
        assert_eq!(next(&mut rx).await.kind, AuthEventKind::Registered);
        tokio::time::sleep(StdDuration::from_millis(50)).await;
        assert_eq!(store.last_audit_record().await.unwrap(), None);
    }

    #[tokio::test]
    async fn the_purge_drops_records_past_the_retention_and_the_rest_still_verifies() {
        let h = Harness::with_config(
            config().with_audit(AuditConfig::new().with_retention(Some(time::Duration::days(30)))),
        );
        let (_, access) = h.admin("root@example.com").await;
        let old = h.verified_user("old@example.com").await;
        h.service.deactivate_user(&access, old.id).await.unwrap();
        let before = audit_records(&h.store, 4).await.len();
        h.clock.advance(time::Duration::days(31));
        h.service.activate_user(&access, old.id).await.unwrap();
        let all = audit_records(&h.store, before + 1).await;
        let kept_from = all.last().unwrap().seq;
        h.service.purge_expired_tokens().await.unwrap();
        let kept = h.store.audit_records_after(0, 100).await.unwrap();
        assert_eq!(kept.iter().map(|r| r.seq).collect::<Vec<_>>(), [kept_from]);
        assert_eq!(kept[0].event, "user.activated");
        assert_eq!(kept[0].actor_id, Some(access.admin().id));
        let anchor = h.store.audit_anchor().await.unwrap().expect("an anchor");
        assert_eq!(anchor.seq, kept_from - 1);
        let report = audit::verify(&**h.service.store()).await.unwrap();
        assert_eq!((report.checked, report.broken), (1, None));
    }

    #[tokio::test]
    async fn the_admin_page_pages_by_seq_and_filters() {
        let h = Harness::new();
        let (_, access) = h.admin("root@example.com").await;
        let user = h.verified_user("u@example.com").await;
        for _ in 0..3 {
            h.service.deactivate_user(&access, user.id).await.unwrap();
        }
        audit_records(&h.store, 5).await;
        let page = h
            .service
            .audit_log(
                &access,
                AuditQuery {
                    user_id: Some(user.id),
                    event: Some("user.deactivated".to_owned()),
                    limit: 2,
                    before: None,
                },
            )
            .await
            .unwrap();
        assert_eq!(page.items.len(), 2);
        assert!(page.items[0].seq > page.items[1].seq);
        let rest = h
            .service
            .audit_log(
                &access,
                AuditQuery {
                    user_id: Some(user.id),
                    event: Some("user.deactivated".to_owned()),
                    limit: 2,
                    before: page.next_before,
                },
            )
            .await
            .unwrap();
        assert_eq!(rest.items.len(), 1);
        assert_eq!(rest.next_before, None);
        assert!(rest.items[0].seq < page.items[1].seq);
    }

    #[tokio::test]
    async fn verify_runs_on_a_dyn_store_and_finds_a_tampered_record() {
        let store = MemoryStore::new();
        let dyn_store: std::sync::Arc<dyn AuthStore> = std::sync::Arc::new(store.clone());
        for i in 0..3 {
            audit::append(
                &*dyn_store,
                crate::clock::truncate_to_millis(time::OffsetDateTime::now_utc()),
                crate::audit::AuditEvent {
                    event: format!("e{i}"),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        }
        assert_eq!(audit::verify(&*dyn_store).await.unwrap().broken, None);
        store.tamper_audit_record(2, |record| record.ip = Some("198.51.100.1".to_owned()));
        assert_eq!(
            audit::verify(&*dyn_store).await.unwrap().broken,
            Some(ChainBreak::Altered { seq: 2 })
        );
        store.tamper_audit_record(2, |record| record.hash = record.compute_hash());
        assert_eq!(
            audit::verify(&*dyn_store).await.unwrap().broken,
            Some(ChainBreak::Unlinked {
                seq: 3,
                expected_seq: 3
            })
        );
    }
}
