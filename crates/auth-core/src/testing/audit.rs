//! Conformance cases of [`AuditStore`](crate::AuditStore): records kept as given, unique
//! positions, and one chain under concurrent writers.

use std::collections::HashSet;
use std::sync::Arc;

use time::Duration;
use uuid::Uuid;

use super::{CONCURRENT_TASKS, now};
use crate::audit::{self, AuditEvent, AuditQuery, AuditRecord};
use crate::error::StoreError;
use crate::store::AuthStore;
use crate::user::UserId;

fn event(name: &str, user: Option<UserId>) -> AuditEvent {
    AuditEvent {
        event: name.to_owned(),
        user_id: user,
        actor_id: Some(UserId::new()),
        session_id: Some(Uuid::now_v7()),
        ip: Some("203.0.113.9".to_owned()),
        user_agent: Some("curl/8 «ünïcode»".to_owned()),
        detail: serde_json::json!({"reason": "wrong_password", "n": 3, "ok": false, "z": null}),
    }
}

async fn append(store: &impl AuthStore, name: &str, user: Option<UserId>) -> AuditRecord {
    audit::append(store, now(), event(name, user))
        .await
        .expect("append")
}

/// A record reads back exactly as written, its hash still matching its content.
pub async fn audit_record_round_trips_every_field(store: impl AuthStore) {
    let record = append(&store, "login.failed", Some(UserId::new())).await;
    let bare = audit::append(
        &store,
        now(),
        AuditEvent {
            event: "purge".to_owned(),
            ..AuditEvent::default()
        },
    )
    .await
    .expect("append bare");
    let read = store.audit_records_after(0, 10).await.expect("read");
    assert_eq!(read, vec![record.clone(), bare]);
    assert_eq!(read[0].compute_hash(), record.hash);
}

/// A second record at a taken position is a `Conflict`, and the first stays.
pub async fn duplicate_audit_seq_is_conflict(store: impl AuthStore) {
    let first = append(&store, "a", None).await;
    let rival = AuditRecord::chain(None, now(), event("b", None));
    assert_eq!(rival.seq, first.seq);
    let result = store.append_audit_record(&rival).await;
    assert!(
        matches!(result, Err(StoreError::Conflict)),
        "expected Conflict, got {result:?}"
    );
    assert_eq!(store.last_audit_record().await.expect("last"), Some(first));
}

/// The last record is the one with the highest position.
pub async fn last_audit_record_is_the_highest_seq(store: impl AuthStore) {
    assert_eq!(store.last_audit_record().await.expect("empty"), None);
    let mut last = None;
    for i in 0..12 {
        last = Some(append(&store, &format!("e{i}"), None).await);
    }
    let last = last.expect("appended");
    assert_eq!(last.seq, 12);
    assert_eq!(store.last_audit_record().await.expect("last"), Some(last));
}

/// Listing filters by user, event and cursor, newest first, up to the limit.
pub async fn list_audit_records_filters_newest_first(store: impl AuthStore) {
    let alice = UserId::new();
    let bob = UserId::new();
    for i in 0..6 {
        let user = if i % 2 == 0 { alice } else { bob };
        let name = if i < 3 {
            "login.failed"
        } else {
            "login.succeeded"
        };
        append(&store, name, Some(user)).await;
    }
    let seqs = |records: Vec<AuditRecord>| records.iter().map(|r| r.seq).collect::<Vec<_>>();
    let all = store
        .list_audit_records(&AuditQuery {
            limit: 100,
            ..AuditQuery::default()
        })
        .await
        .expect("all");
    assert_eq!(seqs(all), vec![6, 5, 4, 3, 2, 1]);
    let alices = store
        .list_audit_records(&AuditQuery {
            user_id: Some(alice),
            limit: 100,
            ..AuditQuery::default()
        })
        .await
        .expect("alice");
    assert_eq!(seqs(alices), vec![5, 3, 1]);
    let failed = store
        .list_audit_records(&AuditQuery {
            event: Some("login.failed".to_owned()),
            limit: 100,
            ..AuditQuery::default()
        })
        .await
        .expect("failed");
    assert_eq!(seqs(failed), vec![3, 2, 1]);
    let page = store
        .list_audit_records(&AuditQuery {
            before: Some(5),
            limit: 2,
            ..AuditQuery::default()
        })
        .await
        .expect("page");
    assert_eq!(seqs(page), vec![4, 3]);
    let both = store
        .list_audit_records(&AuditQuery {
            user_id: Some(bob),
            event: Some("login.succeeded".to_owned()),
            before: Some(6),
            limit: 100,
        })
        .await
        .expect("both");
    assert_eq!(seqs(both), vec![4]);
}

/// Reading for verification pages in ascending order from a position.
pub async fn audit_records_after_pages_in_order(store: impl AuthStore) {
    for i in 0..7 {
        append(&store, &format!("e{i}"), None).await;
    }
    let seqs = |records: Vec<AuditRecord>| records.iter().map(|r| r.seq).collect::<Vec<_>>();
    assert_eq!(
        seqs(store.audit_records_after(0, 3).await.expect("first")),
        vec![1, 2, 3]
    );
    assert_eq!(
        seqs(store.audit_records_after(3, 3).await.expect("second")),
        vec![4, 5, 6]
    );
    assert_eq!(
        seqs(store.audit_records_after(6, 3).await.expect("last")),
        vec![7]
    );
    assert!(
        store
            .audit_records_after(7, 3)
            .await
            .expect("end")
            .is_empty()
    );
}

/// [`CONCURRENT_TASKS`] writers appending at once build one chain: every position once,
/// every link to its predecessor, and it verifies.
pub async fn concurrent_appenders_build_one_chain(store: impl AuthStore) {
    let store = Arc::new(store);
    let barrier = Arc::new(tokio::sync::Barrier::new(CONCURRENT_TASKS));
    let tasks: Vec<_> = (0..CONCURRENT_TASKS)
        .map(|i| {
            let (store, barrier) = (Arc::clone(&store), Arc::clone(&barrier));
            tokio::spawn(async move {
                barrier.wait().await;
                audit::append(&*store, now(), event(&format!("writer{i}"), None)).await
            })
        })
        .collect();
    let mut events = HashSet::new();
    for task in tasks {
        let record = task.await.expect("task panicked").expect("append failed");
        events.insert(record.event);
    }
    assert_eq!(
        events.len(),
        CONCURRENT_TASKS,
        "every writer's record is kept"
    );
    let report = audit::verify(&*store).await.expect("verify");
    assert_eq!(report.broken, None);
    assert_eq!(report.checked, CONCURRENT_TASKS as u64);
}

/// A purge deletes old records but never the head, leaves an anchor, and the rest still
/// verifies from it.
pub async fn audit_purge_keeps_the_head_and_an_anchor_that_verifies(store: impl AuthStore) {
    let old = now() - Duration::days(400);
    let mut records = Vec::new();
    for i in 0..5 {
        let previous = store.last_audit_record().await.expect("last");
        let at = if i < 3 { old } else { now() };
        let record = AuditRecord::chain(previous.as_ref(), at, event(&format!("e{i}"), None));
        store.append_audit_record(&record).await.expect("append");
        records.push(record);
    }
    assert_eq!(store.audit_anchor().await.expect("no anchor"), None);
    let cutoff = now() - Duration::days(365);
    assert_eq!(
        store
            .purge_audit_records(cutoff, now())
            .await
            .expect("purge"),
        3
    );
    let anchor = store
        .audit_anchor()
        .await
        .expect("anchor")
        .expect("a purge leaves an anchor");
    assert_eq!((anchor.seq, anchor.hash), (3, records[2].hash));
    let report = audit::verify(&store).await.expect("verify");
    assert_eq!(report.broken, None);
    assert_eq!((report.checked, report.head), (2, records[4].hash));

    // A chain whose every record is old keeps its head.
    let store_head = store.last_audit_record().await.expect("last");
    assert_eq!(
        store
            .purge_audit_records(now() + Duration::days(1), now())
            .await
            .expect("purge all"),
        1
    );
    assert_eq!(store.last_audit_record().await.expect("last"), store_head);
    assert_eq!(audit::verify(&store).await.expect("verify").broken, None);
}
