//! Refresh-token rotation on a database file (WAL, default pool): the old path of the
//! service (`consume_token` + `find_user_by_id` + `insert_token` + `find_token`, four
//! statements on the pool) against `rotate_refresh_token` (one `BEGIN IMMEDIATE`
//! transaction), each with the store's in-process write queue on and off, for 1 and 8
//! concurrent rotators. Criterion reports rotations/s; the latencies of every rotation at
//! 8 rotators are printed as p50/p99 after each group. Run with
//! `cargo bench -p auth-sqlite --bench refresh`.

#![expect(clippy::expect_used, reason = "a benchmark aborts on a setup failure")]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use auth_core::testing::{now, sample_session, sample_user, successor_of};
use auth_core::{
    ConsumeOutcome, RotateOutcome, SessionStore, TokenKind, TokenRecord, TokenStore, UserStore,
};
use auth_sqlite::{SqliteStore, SqliteStoreOptions};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tempfile::TempDir;

/// The most concurrent rotators measured: the `POST /auth/refresh` load of record.
const ROTATORS: usize = 8;

#[derive(Clone, Copy, Debug)]
enum Path {
    /// What `AuthService::refresh` did before sessions: four statements.
    Old,
    /// `rotate_refresh_token`.
    Rotate,
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// A store on a new file, and one session (with its first refresh token) per rotator,
/// each of its own user.
async fn setup(serialized: bool) -> (TempDir, SqliteStore, Vec<Mutex<TokenRecord>>) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let options = SqliteStoreOptions::new().with_serialized_writes(serialized);
    let store = SqliteStore::connect_with(&url, options)
        .await
        .expect("connect");
    let mut chains = Vec::new();
    for i in 0..ROTATORS {
        let user = sample_user(&format!("rotator{i}@example.com"));
        store.create_user(&user).await.expect("create user");
        let (session, token) = sample_session(&user);
        store
            .create_session(&session, &token)
            .await
            .expect("create session");
        chains.push(Mutex::new(token));
    }
    (dir, store, chains)
}

/// One refresh of `current` by `path`; returns the successor.
async fn refresh(store: &SqliteStore, path: Path, current: &TokenRecord) -> TokenRecord {
    let at = now();
    let next = successor_of(current);
    match path {
        Path::Old => {
            let ConsumeOutcome::Consumed(record) = store
                .consume_token(&current.token_hash, TokenKind::Refresh, at)
                .await
                .expect("consume")
            else {
                panic!("the current token must be live");
            };
            store
                .find_user_by_id(record.user_id)
                .await
                .expect("find user")
                .expect("the user exists");
            store.insert_token(&next).await.expect("insert");
            store
                .find_token(&current.token_hash, TokenKind::Refresh)
                .await
                .expect("find token");
        }
        Path::Rotate => {
            let outcome = store
                .rotate_refresh_token(&current.token_hash, &next, at)
                .await
                .expect("rotate");
            assert!(
                matches!(outcome, RotateOutcome::Rotated { .. }),
                "{outcome:?}"
            );
        }
    }
    next
}

/// `iters` rotations spread over `rotators` tasks, each rotating its own chain; the
/// wall time, and the latency of every rotation.
async fn run(
    store: &SqliteStore,
    chains: &Arc<Vec<Mutex<TokenRecord>>>,
    path: Path,
    rotators: usize,
    iters: u64,
) -> (Duration, Vec<Duration>) {
    let rotators_u64 = u64::try_from(rotators).expect("small");
    let start = Instant::now();
    let tasks: Vec<_> = (0..rotators)
        .map(|i| {
            let (store, chains) = (store.clone(), Arc::clone(chains));
            let index = u64::try_from(i).expect("small");
            let count = iters / rotators_u64 + u64::from(index < iters % rotators_u64);
            tokio::spawn(async move {
                let mut current = chains[i].lock().expect("chain").clone();
                let mut latencies = Vec::new();
                for _ in 0..count {
                    let started = Instant::now();
                    current = refresh(&store, path, &current).await;
                    latencies.push(started.elapsed());
                }
                *chains[i].lock().expect("chain") = current;
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.expect("rotator"));
    }
    (start.elapsed(), latencies)
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    let index = (sorted.len() * p / 100).min(sorted.len().saturating_sub(1));
    sorted.get(index).copied().unwrap_or_default()
}

fn refresh_rotation(c: &mut Criterion) {
    let rt = runtime();
    for (path, serialized, name) in [
        (Path::Old, false, "old path, no write queue (before)"),
        (Path::Old, true, "old path, write queue"),
        (Path::Rotate, false, "rotate_refresh_token, no write queue"),
        (
            Path::Rotate,
            true,
            "rotate_refresh_token, write queue (after)",
        ),
    ] {
        let (_dir, store, chains) = rt.block_on(setup(serialized));
        let chains = Arc::new(chains);
        let latencies = Arc::new(Mutex::new(Vec::new()));
        let mut group = c.benchmark_group(format!("sqlite refresh: {name}"));
        group
            .sample_size(20)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(4))
            .throughput(Throughput::Elements(1));
        for rotators in [1, ROTATORS] {
            group.bench_function(format!("{rotators} rotators"), |b| {
                b.to_async(&rt).iter_custom(|iters| {
                    let (store, chains, latencies) =
                        (store.clone(), Arc::clone(&chains), Arc::clone(&latencies));
                    async move {
                        let (elapsed, measured) = run(&store, &chains, path, rotators, iters).await;
                        if rotators == ROTATORS {
                            latencies.lock().expect("latencies").extend(measured);
                        }
                        elapsed
                    }
                });
            });
        }
        group.finish();
        let mut all = std::mem::take(&mut *latencies.lock().expect("latencies"));
        all.sort_unstable();
        println!(
            "sqlite refresh: {name}: {ROTATORS} rotators, {} rotations: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            all.len(),
            percentile(&all, 50).as_secs_f64() * 1e3,
            percentile(&all, 99).as_secs_f64() * 1e3,
            all.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        );
        rt.block_on(store.close());
    }
}

criterion_group!(benches, refresh_rotation);
criterion_main!(benches);
