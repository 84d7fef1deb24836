//! The audit chain on MongoDB: documents edited or deleted directly are found by
//! `audit::verify` at the first broken link, and two processes appending to one chain at
//! once leave it intact and complete. The second process is this test binary itself,
//! started again with [`CHILD_SCHEMA_VAR`] naming the database to write to.

#![expect(
    clippy::expect_used,
    reason = "test helpers report failures by panicking with a message"
)]

#[path = "common/mod.rs"]
mod common;

use std::time::Duration;

use auth_core::audit::{self, ChainBreak};
use auth_core::testing::{Instrumented, now};
use auth_core::{AuditEvent, AuditQuery, AuditStore, UserId};
use auth_mongo::bson::doc;
use auth_mongo::{MongoStore, MongoStoreOptions};

/// Set in the child process: the database it appends to.
const CHILD_SCHEMA_VAR: &str = "MYAUTH_TEST_AUDIT_CHILD_DATABASE";
/// Records each process appends.
const PER_PROCESS: usize = 60;
/// Concurrent writers inside each process.
const TASKS: usize = 4;

fn event(name: String) -> AuditEvent {
    AuditEvent {
        event: name,
        user_id: Some(UserId::new()),
        ip: Some("192.0.2.1".to_owned()),
        detail: serde_json::json!({"reason": "wrong_password"}),
        ..AuditEvent::default()
    }
}

async fn store_in(database: &str) -> MongoStore {
    MongoStore::connect_with(
        &common::test_url(),
        MongoStoreOptions::new().with_database(database),
    )
    .await
    .expect("connect")
}

fn audit_collection(
    store: &MongoStore,
) -> auth_mongo::mongodb::Collection<auth_mongo::bson::Document> {
    store.database().collection("audit")
}

async fn chain_of_five() -> MongoStore {
    let store = store_in(&common::unique_database()).await;
    for i in 0..5 {
        audit::append(&store, now(), event(format!("login.failed.{i}")))
            .await
            .expect("append");
    }
    let report = audit::verify(&store).await.expect("verify");
    assert_eq!((report.checked, report.broken), (5, None));
    store
}

#[tokio::test]
#[ignore = "needs MYAUTH_TEST_MONGODB_URL"]
async fn an_edited_row_is_found_at_its_seq() {
    let store = chain_of_five().await;
    audit_collection(&store)
        .update_one(
            doc! { "_id": 3_i64 },
            doc! { "$set": { "ip": "198.51.100.66" } },
        )
        .await
        .expect("tamper");
    let report = audit::verify(&store).await.expect("verify");
    assert_eq!(report.broken, Some(ChainBreak::Altered { seq: 3 }));
    store.database().drop().await.expect("drop");
}

#[tokio::test]
#[ignore = "needs MYAUTH_TEST_MONGODB_URL"]
async fn a_deleted_row_breaks_the_link_of_the_next() {
    let store = chain_of_five().await;
    audit_collection(&store)
        .delete_one(doc! { "_id": 2_i64 })
        .await
        .expect("tamper");
    let report = audit::verify(&store).await.expect("verify");
    assert_eq!(
        report.broken,
        Some(ChainBreak::Unlinked {
            seq: 3,
            expected_seq: 2
        })
    );
    store.database().drop().await.expect("drop");
}

/// Appends [`PER_PROCESS`] records named `{writer}-{n}` from [`TASKS`] tasks; returns how
/// often the store was asked to append (retries after a lost position included).
async fn write(store: Instrumented<MongoStore>, writer: &'static str) -> usize {
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let store = store.clone();
            tokio::spawn(async move {
                for n in (task..PER_PROCESS).step_by(TASKS) {
                    audit::append(&store, now(), event(format!("{writer}-{n}")))
                        .await
                        .expect("append");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("writer task");
    }
    store.calls("append_audit_record")
}

/// Both processes append at once: every record of both is in one chain that verifies, and
/// their records interleave in it. In the child process (started by the parent with
/// [`CHILD_SCHEMA_VAR`]), this test is the other writer.
#[tokio::test]
#[ignore = "needs MYAUTH_TEST_MONGODB_URL"]
async fn two_processes_append_to_one_chain() {
    if let Ok(database) = std::env::var(CHILD_SCHEMA_VAR) {
        let store = Instrumented::new(store_in(&database).await);
        write(store, "child").await;
        return;
    }
    let schema = common::unique_database();
    let store = store_in(&schema).await;
    let mut child = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "two_processes_append_to_one_chain",
            "--exact",
            "--include-ignored",
            "--test-threads=1",
        ])
        .env(CHILD_SCHEMA_VAR, &schema)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("start the second process");
    // Start writing once the child does, so that the two really overlap.
    let mut started = false;
    for _ in 0..600 {
        let first = store
            .list_audit_records(&AuditQuery {
                limit: 1,
                ..AuditQuery::default()
            })
            .await
            .expect("list");
        if !first.is_empty() {
            started = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(started, "the child process never appended");
    let calls = write(Instrumented::new(store.clone()), "parent").await;
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .expect("join")
        .expect("wait");
    assert!(status.success(), "the child process failed: {status}");

    let report = audit::verify(&store).await.expect("verify");
    assert_eq!(report.broken, None);
    assert_eq!(report.checked, (2 * PER_PROCESS) as u64);
    let records = store
        .audit_records_after(0, 1000)
        .await
        .expect("read the chain");
    let writers: Vec<bool> = records
        .iter()
        .map(|r| r.event.starts_with("parent-"))
        .collect();
    for (writer, name) in [(true, "parent"), (false, "child")] {
        let mut seen: Vec<usize> = records
            .iter()
            .filter(|r| r.event.starts_with(&format!("{name}-")))
            .map(|r| r.event.rsplit('-').next().expect("n").parse().expect("n"))
            .collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..PER_PROCESS).collect::<Vec<_>>(), "{name}");
        assert_eq!(
            writers.iter().filter(|w| **w == writer).count(),
            PER_PROCESS
        );
    }
    let switches = writers.windows(2).filter(|w| w[0] != w[1]).count();
    assert!(
        switches >= 2,
        "the writers did not overlap ({switches} switches)"
    );
    assert!(calls >= PER_PROCESS, "{calls}");
    println!("writer switches in the chain: {switches}; parent append calls: {calls}");
    store.database().drop().await.expect("drop");
}
