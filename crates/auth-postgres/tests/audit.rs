//! The audit chain on PostgreSQL: rows edited or deleted with plain SQL are found by
//! `audit::verify` at the first broken link, and two processes appending to one chain at
//! once leave it intact and complete. The second process is this test binary itself,
//! started again with [`CHILD_SCHEMA_VAR`] naming the schema to write to.

mod common;

use auth_core::audit::{self, ChainBreak};
use auth_core::testing::{
    append_audit_records, audit_chain_across_processes, spawn_test_process, write_audit_chain,
};
use auth_postgres::PostgresStore;
use auth_postgres::sqlx;

/// Set in the child process: the schema it appends to.
const CHILD_SCHEMA_VAR: &str = "MYAUTH_TEST_AUDIT_CHILD_SCHEMA";
/// Records each process appends.
const PER_PROCESS: usize = 120;

async fn chain_of_five() -> PostgresStore {
    let store = common::fresh_store().await;
    write_audit_chain(&store, 5).await;
    store
}

#[tokio::test]
#[ignore = "needs MYAUTH_TEST_POSTGRES_URL"]
async fn an_edited_row_is_found_at_its_seq() {
    let store = chain_of_five().await;
    sqlx::query("UPDATE audit_records SET ip = '198.51.100.66' WHERE seq = 3")
        .execute(store.pool())
        .await
        .expect("tamper");
    let report = audit::verify(&store).await.expect("verify");
    assert_eq!(report.broken, Some(ChainBreak::Altered { seq: 3 }));
}

#[tokio::test]
#[ignore = "needs MYAUTH_TEST_POSTGRES_URL"]
async fn a_deleted_row_breaks_the_link_of_the_next() {
    let store = chain_of_five().await;
    sqlx::query("DELETE FROM audit_records WHERE seq = 2")
        .execute(store.pool())
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
}

/// Both processes append at once: every record of both is in one chain that verifies, and
/// their records interleave in it. In the child process (started by the parent with
/// [`CHILD_SCHEMA_VAR`]), this test is the other writer.
#[tokio::test]
#[ignore = "needs MYAUTH_TEST_POSTGRES_URL"]
async fn two_processes_append_to_one_chain() {
    if let Ok(name) = std::env::var(CHILD_SCHEMA_VAR) {
        append_audit_records(common::store_in(&name).await, "child", PER_PROCESS).await;
        return;
    }
    let name = common::fresh_schema();
    // Set up (migrate) before the child starts, so that only one process does.
    let store = common::store_in(&name).await;
    let child = spawn_test_process("two_processes_append_to_one_chain", CHILD_SCHEMA_VAR, &name);
    let report = audit_chain_across_processes(store, child, PER_PROCESS).await;
    println!(
        "writer switches in the chain: {}; parent append calls: {}",
        report.writer_switches, report.append_calls
    );
}
