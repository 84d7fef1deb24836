//! The SQLite store on a database file (WAL, default pool): create a user, find one by
//! email, insert a token, consume a token. Run with
//! `cargo bench -p auth-sqlite --bench sqlite`.

#![expect(clippy::expect_used, reason = "a benchmark aborts on a setup failure")]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use auth_core::testing::{sample_token, sample_user};
use auth_core::{ConsumeOutcome, TokenKind, TokenRecord, TokenStore, User, UserStore};
use auth_sqlite::SqliteStore;
use criterion::{Criterion, criterion_group, criterion_main};
use time::OffsetDateTime;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn sqlite(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let store = rt.block_on(SqliteStore::connect(&url)).expect("connect");
    let owner = sample_user("owner@example.com");
    rt.block_on(store.create_user(&owner))
        .expect("create owner");
    // Unique emails across every batch criterion runs.
    let serial = AtomicU64::new(0);
    let fresh_user = || {
        sample_user(&format!(
            "user{}@example.com",
            serial.fetch_add(1, Ordering::Relaxed)
        ))
    };
    let fresh_token = || sample_token(&owner, TokenKind::Refresh);

    let mut group = c.benchmark_group("sqlite file store");
    group
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));

    group.bench_function("create_user", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let users: Vec<User> = (0..iters).map(|_| fresh_user()).collect();
            let store = &store;
            async move {
                let start = Instant::now();
                for user in &users {
                    store.create_user(user).await.expect("create");
                }
                start.elapsed()
            }
        });
    });

    group.bench_function("find_user_by_email", |b| {
        b.to_async(&rt).iter(|| async {
            store
                .find_user_by_email("owner@example.com")
                .await
                .expect("find")
                .expect("exists")
        });
    });

    group.bench_function("insert_token", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let tokens: Vec<TokenRecord> = (0..iters).map(|_| fresh_token()).collect();
            let store = &store;
            async move {
                let start = Instant::now();
                for token in &tokens {
                    store.insert_token(token).await.expect("insert");
                }
                start.elapsed()
            }
        });
    });

    group.bench_function("consume_token", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let tokens: Vec<TokenRecord> = (0..iters).map(|_| fresh_token()).collect();
            let store = &store;
            async move {
                // Inserting is setup here, outside the timed part.
                for token in &tokens {
                    store.insert_token(token).await.expect("insert");
                }
                let now = OffsetDateTime::now_utc();
                let start = Instant::now();
                for token in &tokens {
                    let outcome = store
                        .consume_token(&token.token_hash, TokenKind::Refresh, now)
                        .await
                        .expect("consume");
                    assert!(matches!(outcome, ConsumeOutcome::Consumed(_)));
                }
                start.elapsed()
            }
        });
    });

    group.finish();
    rt.block_on(store.close());
}

criterion_group!(benches, sqlite);
criterion_main!(benches);
