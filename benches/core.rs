//! Core costs: password hashing and verification with the default (OWASP) argon2id
//! parameters, access-token issue and verification (HS256, and per algorithm), and a full
//! login on the memory store. Run with
//! `cargo bench --bench core --no-default-features --features memory,asymmetric`; medians are
//! recorded in `benches/README.md`.

#![expect(clippy::expect_used, reason = "a benchmark aborts on a setup failure")]

use std::time::Duration;

use auth_core::secrecy::SecretString;
use auth_core::{AuthConfig, AuthService, JwtKey, MemoryStore, NewUser, PasswordHasher};
use criterion::{Criterion, criterion_group, criterion_main};

const SECRET: &str = "OYgmqyi5JYM9oZJEYEgaDNNIDwhnDsF6lSkUBNp0QGe";
const PASSWORD: &str = "Str0ng!pass";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn core(c: &mut Criterion) {
    let rt = runtime();
    let service = AuthService::builder()
        .config(AuthConfig::new(SECRET).with_require_verified_email(false))
        .store(MemoryStore::new())
        .build()
        .expect("service");
    // A hasher with the same configuration as the service's: hashing and verification on
    // their own, with the same limits and reused memory as inside a login.
    let hasher = PasswordHasher::new(service.config().hashing()).expect("hasher");
    let password = SecretString::from(PASSWORD);
    let user = rt
        .block_on(service.register(NewUser {
            email: "bench@example.com".into(),
            username: "bench".into(),
            password: password.clone(),
        }))
        .expect("register");

    let mut slow = c.benchmark_group("argon2id (m=19456 KiB, t=2, p=1)");
    slow.sample_size(20)
        .measurement_time(Duration::from_secs(8));
    slow.bench_function("hash", |b| {
        b.to_async(&rt)
            .iter(|| async { hasher.hash(&password).await.expect("hash") });
    });
    slow.bench_function("verify", |b| {
        b.to_async(&rt).iter(|| async {
            hasher
                .verify(&password, Some(&user.password_hash))
                .await
                .expect("verify")
        });
    });
    slow.bench_function("login (memory store)", |b| {
        b.to_async(&rt).iter(|| async {
            service
                .login("bench@example.com", &password)
                .await
                .expect("login")
        });
    });
    slow.finish();

    let mut fast = c.benchmark_group("access token (HS256)");
    fast.bench_function("issue", |b| {
        b.iter(|| service.issue_access_token(&user).expect("issue"));
    });
    let token = service.issue_access_token(&user).expect("issue");
    fast.bench_function("verify", |b| {
        b.iter(|| service.authenticate(&token).expect("verify"));
    });
    fast.finish();

    // Issue and verify per algorithm, with auth-core's test keys (never use them elsewhere).
    let mut algorithms = c.benchmark_group("access token per algorithm");
    for (name, file) in [
        ("HS256", None),
        ("EdDSA", Some("ed25519.pem")),
        ("ES256", Some("p256.pem")),
        ("RS256", Some("rsa2048.pem")),
    ] {
        let mut config = AuthConfig::new(SECRET);
        if let Some(file) = file {
            let path = format!(
                "{}/crates/auth-core/testdata/keys/{file}",
                env!("CARGO_MANIFEST_DIR")
            );
            config = config.with_jwt_signing_key(JwtKey::from_pem_file(path).expect("test key"));
        }
        let service = AuthService::builder()
            .config(config)
            .store(MemoryStore::new())
            .build()
            .expect("service");
        algorithms.bench_function(format!("{name} issue"), |b| {
            b.iter(|| service.issue_access_token(&user).expect("issue"));
        });
        let token = service.issue_access_token(&user).expect("issue");
        algorithms.bench_function(format!("{name} verify"), |b| {
            b.iter(|| service.authenticate(&token).expect("verify"));
        });
    }
    algorithms.finish();
}

criterion_group!(benches, core);
criterion_main!(benches);
