//! The audit chain against an intruder with write access to the database file: a row
//! edited or deleted with plain SQL is found by `audit::verify`, at the first broken link.

#![expect(clippy::expect_used, reason = "a test reports failures by panicking")]

use auth_core::audit::{self, ChainBreak};
use auth_core::testing::write_audit_chain;
use auth_sqlite::SqliteStore;

async fn chain_of_five() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("auth.db").display());
    let store = SqliteStore::connect(&url).await.expect("store");
    write_audit_chain(&store, 5).await;
    (dir, store)
}

#[tokio::test]
async fn an_edited_row_is_found_at_its_seq() {
    let (_dir, store) = chain_of_five().await;
    sqlx::query("UPDATE audit_records SET ip = '198.51.100.66' WHERE seq = 3")
        .execute(store.pool())
        .await
        .expect("tamper");
    let report = audit::verify(&store).await.expect("verify");
    assert_eq!(report.broken, Some(ChainBreak::Altered { seq: 3 }));
    assert_eq!(report.checked, 2);
}

#[tokio::test]
async fn a_deleted_row_breaks_the_link_of_the_next() {
    let (_dir, store) = chain_of_five().await;
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

#[tokio::test]
async fn swapped_contents_are_found_at_the_first_swapped_row() {
    let (_dir, store) = chain_of_five().await;
    // Reordering: rows 2 and 4 exchange what they say (the positions stay unique).
    sqlx::query(
        "UPDATE audit_records SET event = CASE seq WHEN 2 THEN 'login.failed.3' \
         ELSE 'login.failed.1' END WHERE seq IN (2, 4)",
    )
    .execute(store.pool())
    .await
    .expect("tamper");
    let report = audit::verify(&store).await.expect("verify");
    assert_eq!(report.broken, Some(ChainBreak::Altered { seq: 2 }));
}
