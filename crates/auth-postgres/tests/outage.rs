//! PostgreSQL goes away under the service and comes back: the HTTP edge answers 503 with
//! `Retry-After` at once once the store is known to be down (the store circuit breaker),
//! and recovers by itself within about a second of the database answering again.
//!
//! The outage is real: the store talks to PostgreSQL through a TCP relay on loopback
//! ([`TcpRelay`]) that the test stops (closing its port and cutting every open connection,
//! as a stopped server or a lost network does) and starts again on the same port.

#![expect(
    clippy::expect_used,
    reason = "test helpers report failures by panicking with a message"
)]

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use auth_core::api::{ApiRequest, Endpoint, RequestBody, handle};
use auth_core::testing::TcpRelay;
use auth_core::{AuthConfig, AuthService, BreakerSettings, HashingConfig};
use auth_postgres::PostgresStore;
use auth_postgres::sqlx::postgres::PgConnectOptions;
use http::{HeaderMap, HeaderValue, header};

fn upstream() -> (SocketAddr, PgConnectOptions) {
    let options: PgConnectOptions = common::url().parse().expect("test URL");
    let host = if options.get_host().starts_with('/') {
        "127.0.0.1"
    } else {
        options.get_host()
    };
    let addr = format!("{host}:{}", options.get_port())
        .parse::<SocketAddr>()
        .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], options.get_port())));
    (addr, options)
}

fn login_request(email: &str) -> ApiRequest {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let body = serde_json::json!({"email": email, "password": "Tr1cky!Walrus-Lamp-42"});
    ApiRequest {
        headers,
        query: None,
        id: None,
        body: RequestBody::Bytes(bytes::Bytes::from(body.to_string())),
        peer: None,
    }
}

fn register_request(email: &str) -> ApiRequest {
    let mut request = login_request(email);
    let body = serde_json::json!({
        "email": email, "username": "outage", "password": "Tr1cky!Walrus-Lamp-42"
    });
    request.body = RequestBody::Bytes(bytes::Bytes::from(body.to_string()));
    request
}

async fn service_through(relay: &TcpRelay, schema: &str) -> AuthService {
    let (_, options) = upstream();
    let through_relay = options.host("127.0.0.1").port(relay.addr().port());
    let store = PostgresStore::connect_to(
        through_relay,
        common::options(schema)
            .with_acquire_timeout(Duration::from_millis(800))
            .with_operation_timeout(Duration::from_secs(2)),
    )
    .await
    .expect("connect through the relay");
    let config = AuthConfig::new("UdlzF3JY4wB5tfmeHMh6WwkXrwX_hCYnkG_fa8EusTv")
        .with_require_verified_email(false)
        .with_ip_limits(None)
        .with_store_breaker(Some(BreakerSettings {
            threshold: 3,
            cooldown: Duration::from_millis(500),
        }))
        .with_hashing(HashingConfig {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
            ..HashingConfig::default()
        });
    AuthService::builder()
        .config(config)
        .store(store)
        .build()
        .expect("service")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs MYAUTH_TEST_POSTGRES_URL"]
async fn a_database_outage_is_answered_at_once_and_recovered_from_by_itself() {
    let schema = common::fresh_schema();
    // Create and migrate the schema directly, so the relay carries only the test's traffic.
    drop(common::store_in(&schema).await);
    let (upstream, _) = upstream();
    let relay = TcpRelay::start(upstream).await;
    let service = service_through(&relay, &schema).await;
    let email = "outage@example.com";
    let registered = handle(&service, Endpoint::Register, register_request(email)).await;
    assert_eq!(registered.status(), 201);
    assert_eq!(
        handle(&service, Endpoint::Login, login_request(email))
            .await
            .status(),
        200
    );

    relay.stop();
    // The first requests find out the hard way: each waits for the pool's acquire timeout.
    let mut slow = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let response = handle(&service, Endpoint::Login, login_request(email)).await;
        slow.push(started.elapsed());
        assert_eq!(response.status(), 503);
        assert!(response.headers().contains_key(header::RETRY_AFTER));
    }
    assert!(
        service.store_breaker_open(),
        "three failures open the breaker"
    );

    // From now on every request that needs the store is answered at once.
    let mut fast = Vec::new();
    let outage = Instant::now();
    while outage.elapsed() < Duration::from_secs(2) {
        let started = Instant::now();
        let response = handle(&service, Endpoint::Login, login_request(email)).await;
        fast.push(started.elapsed());
        assert_eq!(response.status(), 503);
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .expect("Retry-After")
            .to_str()
            .expect("ascii")
            .parse::<u64>()
            .expect("seconds");
        assert!((1..=5).contains(&retry_after), "Retry-After {retry_after}");
        let body: serde_json::Value = serde_json::from_slice(response.body()).expect("json");
        assert_eq!(body["code"], "service_unavailable");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let slowest_fast = fast.iter().max().copied().unwrap_or_default();
    assert!(
        slowest_fast < Duration::from_millis(100),
        "an open breaker answered in {slowest_fast:?}"
    );
    // Documents built from configuration never need the store.
    assert_eq!(
        handle(
            &service,
            Endpoint::Jwks,
            ApiRequest {
                headers: HeaderMap::new(),
                query: None,
                id: None,
                body: RequestBody::Empty,
                peer: None,
            }
        )
        .await
        .status(),
        200
    );

    relay.resume().await;
    let back = Instant::now();
    let recovered = loop {
        let response = handle(&service, Endpoint::Login, login_request(email)).await;
        if response.status() == 200 {
            break back.elapsed();
        }
        assert_eq!(response.status(), 503);
        assert!(
            back.elapsed() < Duration::from_secs(10),
            "not recovered 10 s after the database came back"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    assert!(!service.store_breaker_open());
    eprintln!(
        "outage: first answers {slow:?}; open-breaker answers: {} requests, slowest {slowest_fast:?}; \
         recovered {recovered:?} after the database came back",
        fast.len()
    );
}
