//! Audit chains for the stores' own tests, beyond the conformance cases: a short chain to
//! tamper with directly in the database ([`write_audit_chain`]), and a rule that must hold
//! across processes, checked with two real ones — the test binary starts itself again to run
//! one test as the other process ([`spawn_test_process`]) and both append to one chain at
//! once ([`audit_chain_across_processes`]): it stays intact and complete.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::{Instrumented, now};
use crate::audit::{self, AuditEvent, AuditQuery};
use crate::store::AuthStore;
use crate::user::UserId;

/// Concurrent writers inside each process of [`audit_chain_across_processes`].
const TASKS: usize = 4;

/// Starts this test binary again to run only `test` (its full name, as the harness lists
/// it), with `var=value` in its environment: the test sees the variable and plays the
/// other process. Its standard output is dropped; a failure shows in its exit status.
pub fn spawn_test_process(test: &str, var: &str, value: &str) -> Child {
    Command::new(std::env::current_exe().expect("the test binary's path"))
        .args([test, "--exact", "--include-ignored", "--test-threads=1"])
        .env(var, value)
        .stdout(Stdio::null())
        .spawn()
        .expect("start the second process")
}

/// A failed-login record named `name`, about a new user, from one address.
fn audit_event(name: String) -> AuditEvent {
    AuditEvent {
        event: name,
        user_id: Some(UserId::new()),
        ip: Some("192.0.2.1".to_owned()),
        detail: serde_json::json!({"reason": "wrong_password"}),
        ..AuditEvent::default()
    }
}

/// Appends `records` records (`login.failed.0`, `login.failed.1`, …; `seq` 1 to `records` on
/// an empty store) and asserts that the chain verifies — the starting point of a tamper test,
/// which then edits, deletes or swaps rows behind the store's back.
pub async fn write_audit_chain(store: &impl AuthStore, records: usize) {
    for i in 0..records {
        audit::append(store, now(), audit_event(format!("login.failed.{i}")))
            .await
            .expect("append");
    }
    let report = audit::verify(store).await.expect("verify");
    assert_eq!((report.checked, report.broken), (records as u64, None));
}

/// What [`audit_chain_across_processes`] saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainReport {
    /// How often the chain passes from one process's record to the other's: at least 2,
    /// or the writers did not overlap.
    pub writer_switches: usize,
    /// How often this process asked the store to append (a writer that lost a position
    /// to the other process asks again).
    pub append_calls: usize,
}

/// The other process's half of [`audit_chain_across_processes`]: appends `per_process`
/// records named `{writer}-{n}` from a few concurrent tasks, and returns how often it asked
/// the store to append.
pub async fn append_audit_records<S>(store: S, writer: &str, per_process: usize) -> usize
where
    S: AuthStore + Clone,
{
    let store = Instrumented::new(store);
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let store = store.clone();
            let writer = writer.to_owned();
            tokio::spawn(async move {
                for n in (task..per_process).step_by(TASKS) {
                    audit::append(&store, now(), audit_event(format!("{writer}-{n}")))
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

/// Two processes append to one audit chain at once: `child` (started with
/// [`spawn_test_process`], running [`append_audit_records`] as `"child"` on the same
/// database) and this one, which starts once the child's first record is in. Asserts that
/// the chain verifies, holds every record of both exactly once, and interleaves them.
pub async fn audit_chain_across_processes<S>(
    store: S,
    mut child: Child,
    per_process: usize,
) -> ChainReport
where
    S: AuthStore + Clone,
{
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
    if !started {
        let _ = child.kill();
        panic!("the child process never appended");
    }
    let append_calls = append_audit_records(store.clone(), "parent", per_process).await;
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .expect("join")
        .expect("wait for the child process");
    assert!(status.success(), "the child process failed: {status}");

    let report = audit::verify(&store).await.expect("verify");
    assert_eq!(report.broken, None);
    assert_eq!(report.checked, (2 * per_process) as u64);
    let records = store
        .audit_records_after(0, u32::try_from(2 * per_process + 1).expect("a page size"))
        .await
        .expect("read the chain");
    let from_parent: Vec<bool> = records
        .iter()
        .map(|r| r.event.starts_with("parent-"))
        .collect();
    for name in ["parent", "child"] {
        let mut seen: Vec<usize> = records
            .iter()
            .filter_map(|r| r.event.strip_prefix(name)?.strip_prefix('-'))
            .map(|n| n.parse().expect("a record number"))
            .collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..per_process).collect::<Vec<_>>(), "{name}");
    }
    let writer_switches = from_parent.windows(2).filter(|w| w[0] != w[1]).count();
    assert!(
        writer_switches >= 2,
        "the writers did not overlap ({writer_switches} switches)"
    );
    assert!(append_calls >= per_process, "{append_calls}");
    ChainReport {
        writer_switches,
        append_calls,
    }
}
