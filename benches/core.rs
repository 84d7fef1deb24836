//! Core costs: password hashing and verification with the default (OWASP) argon2id
//! parameters, access-token issue and verification (HS256, and per algorithm), and a full
//! login on the memory store, and the stateless check with 0 / 10 000 / 100 000 cuts in the
//! revocation view. Run with
//! `cargo bench --bench core --no-default-features --features memory,asymmetric`; medians are
//! recorded in `benches/README.md`.

#![expect(clippy::expect_used, reason = "a benchmark aborts on a setup failure")]

use std::time::Duration;

use auth_core::secrecy::SecretString;
use auth_core::{
    AuthConfig, AuthService, JwtKey, MemoryStore, NewUser, PasswordHasher, UserStore as _,
};
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

/// A service with the default configuration on a memory store holding one user, the caller.
fn memory_service(rt: &tokio::runtime::Runtime) -> (MemoryStore, AuthService, auth_core::User) {
    let store = MemoryStore::new();
    let service = AuthService::builder()
        .config(AuthConfig::new(SECRET))
        .store(store.clone())
        .build()
        .expect("service");
    let caller = auth_core::testing::sample_user("caller@example.com");
    rt.block_on(store.create_user(&caller)).expect("caller");
    (store, service, caller)
}

/// The stateless check (`CurrentUser`, `RequireRole`) with the revocation view holding 0,
/// 10 000 and 100 000 cuts (one logout-all each, of other users), against signature and
/// claims checking alone: the difference is what the view costs per request.
fn revocation_view(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("stateless check with the revocation view");
    for cuts in [0_usize, 10_000, 100_000] {
        let (store, service, caller) = memory_service(&rt);
        rt.block_on(async {
            for i in 0..cuts {
                let other = auth_core::testing::sample_user(&format!("cut{i}@example.com"));
                store.create_user(&other).await.expect("user");
                service.logout_all(other.id).await.expect("cut");
            }
        });
        let token = service.issue_access_token(&caller).expect("issue");
        if cuts == 0 {
            group.bench_function("signature and claims only", |b| {
                b.iter(|| service.verify_access_token(&token).expect("verify"));
            });
        }
        group.bench_function(format!("authenticate, {cuts} cuts"), |b| {
            b.iter(|| service.authenticate(&token).expect("authenticate"));
        });
    }
    group.finish();
}

/// The per-address limiter on the memory store: one token taken from the bucket of one of
/// 10 000 client addresses, what every limited request pays before its handler; and a
/// `/me` read of the same store for scale.
fn limiter(c: &mut Criterion) {
    let rt = runtime();
    let (_, service, caller) = memory_service(&rt);
    let token = service.issue_access_token(&caller).expect("issue");
    let addresses: Vec<std::net::IpAddr> = (0..10_000_u32)
        .map(|i| std::net::IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i)))
        .collect();
    let mut group = c.benchmark_group("per-address limiter (memory store)");
    let mut next = 0;
    group.bench_function("take a token, 10 000 addresses", |b| {
        b.to_async(&rt).iter(|| {
            next = (next + 1) % addresses.len();
            let ip = addresses[next];
            let service = &service;
            async move {
                // Ten tokens per address and refill: some takes are refused, as in life.
                let _ = service
                    .check_client_limit(auth_core::LimitGroup::Tokens, ip)
                    .await;
            }
        });
    });
    group.bench_function("/me (authenticate + read the user)", |b| {
        b.to_async(&rt).iter(|| async {
            let claims = service.authenticate(&token).expect("authenticate");
            service.me(&claims).await.expect("me")
        });
    });
    group.finish();
}

criterion_group!(benches, core, revocation_view, limiter);
criterion_main!(benches);
