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

use auth_core::audit::{self, ChainBreak};
use auth_core::testing::{
    append_audit_records, audit_chain_across_processes, spawn_test_process, write_audit_chain,
};
use auth_mongo::bson::doc;
use auth_mongo::{MongoStore, MongoStoreOptions};

/// Set in the child process: the database it appends to.
const CHILD_SCHEMA_VAR: &str = "MYAUTH_TEST_AUDIT_CHILD_DATABASE";
/// Records each process appends.
const PER_PROCESS: usize = 60;

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
    write_audit_chain(&store, 5).await;
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

/// Both processes append at once: every record of both is in one chain that verifies, and
/// their records interleave in it. In the child process (started by the parent with
/// [`CHILD_SCHEMA_VAR`]), this test is the other writer.
#[tokio::test]
#[ignore = "needs MYAUTH_TEST_MONGODB_URL"]
async fn two_processes_append_to_one_chain() {
    if let Ok(name) = std::env::var(CHILD_SCHEMA_VAR) {
        append_audit_records(store_in(&name).await, "child", PER_PROCESS).await;
        return;
    }
    let name = common::unique_database();
    // Set up (migrate) before the child starts, so that only one process does.
    let store = store_in(&name).await;
    let child = spawn_test_process("two_processes_append_to_one_chain", CHILD_SCHEMA_VAR, &name);
    let report = audit_chain_across_processes(store.clone(), child, PER_PROCESS).await;
    println!(
        "writer switches in the chain: {}; parent append calls: {}",
        report.writer_switches, report.append_calls
    );
    store.database().drop().await.expect("drop");
}
