//! The MongoDB server goes away under the service and comes back: after the first failures
//! the HTTP edge answers 503 with `Retry-After` at once (the store circuit breaker), and the
//! service recovers by itself once the server answers again. The outage is a real one: the
//! store talks to the server through a loopback [`TcpRelay`] that the test stops (port
//! closed, every connection cut) and starts again.

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
use auth_mongo::MongoStore;
use http::{HeaderMap, HeaderValue, header};

const PASSWORD: &str = "Tr1cky!Walrus-Lamp-42";

/// The test server's address and the URL rewritten to go through `relay_port`.
fn upstream() -> SocketAddr {
    let url = common::test_url();
    let rest = url.split_once("://").expect("scheme").1;
    let authority = rest.split(['/', '?']).next().expect("authority");
    authority
        .parse()
        .unwrap_or_else(|_| panic!("{authority} is not an IP address and port"))
}

fn through(relay: &TcpRelay) -> String {
    let url = common::test_url();
    let authority = upstream().to_string();
    let rewritten = url.replacen(&authority, &relay.addr().to_string(), 1);
    if rewritten.contains("directConnection") {
        rewritten
    } else if rewritten.contains('?') {
        format!("{rewritten}&directConnection=true")
    } else {
        format!("{rewritten}/?directConnection=true")
    }
}

fn request(body: serde_json::Value) -> ApiRequest {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    ApiRequest {
        headers,
        query: None,
        id: None,
        body: RequestBody::Bytes(bytes::Bytes::from(body.to_string())),
        peer: None,
    }
}

fn login(email: &str) -> ApiRequest {
    request(serde_json::json!({"email": email, "password": PASSWORD}))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs MYAUTH_TEST_MONGODB_URL"]
async fn a_server_outage_is_answered_at_once_and_recovered_from_by_itself() {
    let relay = TcpRelay::start(upstream()).await;
    let store = MongoStore::connect_with(
        &through(&relay),
        common::fresh_options()
            .with_server_selection_timeout(Duration::from_millis(800))
            .with_connect_timeout(Duration::from_millis(800))
            .with_operation_timeout(Some(Duration::from_secs(2))),
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
    let service = AuthService::builder()
        .config(config)
        .store(store)
        .build()
        .expect("service");
    let email = "outage@example.com";
    let registered = handle(
        &service,
        Endpoint::Register,
        request(serde_json::json!({"email": email, "username": "outage", "password": PASSWORD})),
    )
    .await;
    assert_eq!(registered.status(), 201);

    relay.stop();
    let mut slow = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let response = handle(&service, Endpoint::Login, login(email)).await;
        slow.push(started.elapsed());
        assert_eq!(response.status(), 503);
        assert!(response.headers().contains_key(header::RETRY_AFTER));
    }
    assert!(service.store_breaker_open());
    let mut fast = Vec::new();
    let outage = Instant::now();
    while outage.elapsed() < Duration::from_secs(2) {
        let started = Instant::now();
        let response = handle(&service, Endpoint::Login, login(email)).await;
        fast.push(started.elapsed());
        assert_eq!(response.status(), 503);
        assert!(response.headers().contains_key(header::RETRY_AFTER));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let slowest = fast.iter().max().copied().unwrap_or_default();
    assert!(
        slowest < Duration::from_millis(100),
        "an open breaker answered in {slowest:?}"
    );

    relay.resume().await;
    let back = Instant::now();
    let recovered = loop {
        let response = handle(&service, Endpoint::Login, login(email)).await;
        if response.status() == 200 {
            break back.elapsed();
        }
        assert_eq!(response.status(), 503);
        assert!(
            back.elapsed() < Duration::from_secs(15),
            "not recovered 15 s after the server came back"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    eprintln!(
        "mongo outage: first answers {slow:?}; open-breaker answers: {} requests, slowest \
         {slowest:?}; recovered {recovered:?} after the server came back",
        fast.len()
    );
}
