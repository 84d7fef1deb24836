//! A TCP relay for outage tests: the store under test talks to its server through a
//! loopback port that the test can close (cutting every open connection, as a stopped
//! server or a lost network does) and open again on the same port.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A relay from a loopback port to `upstream`. Dropping it stops it.
#[derive(Debug)]
pub struct TcpRelay {
    addr: SocketAddr,
    upstream: SocketAddr,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl TcpRelay {
    /// Starts relaying from a free loopback port to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port for the relay");
        let relay = Self {
            addr: listener.local_addr().expect("the relay's address"),
            upstream,
            tasks: Arc::default(),
        };
        relay.serve(listener);
        relay
    }

    /// The loopback address to connect to instead of the upstream.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn tasks(&self) -> MutexGuard<'_, Vec<JoinHandle<()>>> {
        self.tasks.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn serve(&self, listener: TcpListener) {
        let upstream = self.upstream;
        let tasks = Arc::clone(&self.tasks);
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let pipe = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                tasks.lock().unwrap_or_else(|p| p.into_inner()).push(pipe);
            }
        });
        self.tasks().push(accept);
    }

    /// The server "stops": the port closes (new connections are refused) and every open
    /// connection is cut.
    pub fn stop(&self) {
        for task in self.tasks().drain(..) {
            task.abort();
        }
    }

    /// The server "starts" again, on the same port.
    pub async fn resume(&self) {
        // An aborted accept loop releases the port once its task has been dropped.
        let listener = loop {
            match TcpListener::bind(self.addr).await {
                Ok(listener) => break listener,
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        };
        self.serve(listener);
    }
}

impl Drop for TcpRelay {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What [`outage_drill`] measured.
#[derive(Debug, Clone)]
pub struct OutageReport {
    /// How long each of the requests that found the outage out took (one per failure the
    /// breaker needs to open).
    pub first_answers: Vec<Duration>,
    /// Requests answered while the breaker was open.
    pub open_answers: usize,
    /// The slowest of them.
    pub slowest_open_answer: Duration,
    /// From the server coming back to the first successful login.
    pub recovered_after: Duration,
}

/// Takes a store that talks to its server through `relay` through an outage, at the HTTP
/// edge (`auth_core::api::handle`, as both adapters call it), with a service on
/// [`fast_config`](super::fast_config) and a breaker of 3 failures and a 500 ms cooldown:
/// registers and logs in an account; stops the relay; checks that the first three logins
/// answer 503 with `Retry-After` (each after the store's own timeout), that the breaker is
/// then open and every login for the next two seconds is a 503 with `Retry-After` within
/// 100 ms, and that the JWKS (which needs no store) still answers; resumes the relay and
/// waits (at most `recovery_bound`) for a login to succeed. Panics on any deviation.
pub async fn outage_drill(
    store: impl crate::AuthStore,
    relay: &TcpRelay,
    recovery_bound: Duration,
) -> OutageReport {
    use std::time::Instant;

    use crate::api::{ApiRequest, Endpoint, RequestBody, handle};

    const THRESHOLD: u32 = 3;
    let service = crate::AuthService::builder()
        .config(
            super::fast_config("UdlzF3JY4wB5tfmeHMh6WwkXrwX_hCYnkG_fa8EusTv")
                .with_require_verified_email(false)
                .with_store_breaker(Some(crate::BreakerSettings {
                    threshold: THRESHOLD,
                    cooldown: Duration::from_millis(500),
                })),
        )
        .store(store)
        .build()
        .expect("service");
    let service = &service;

    const PASSWORD: &str = "Tr1cky!Walrus-Lamp-42";
    let email = "outage@example.com";
    let request = |body: serde_json::Value| {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        ApiRequest {
            headers,
            query: None,
            id: None,
            body: RequestBody::Bytes(bytes::Bytes::from(body.to_string())),
            peer: None,
        }
    };
    let login = || request(serde_json::json!({"email": email, "password": PASSWORD}));
    let register = request(serde_json::json!({
        "email": email, "username": "outage", "password": PASSWORD
    }));
    assert_eq!(
        handle(service, Endpoint::Register, register).await.status(),
        201
    );
    assert_eq!(
        handle(service, Endpoint::Login, login()).await.status(),
        200
    );

    relay.stop();
    let mut first_answers = Vec::new();
    for _ in 0..THRESHOLD {
        let started = Instant::now();
        let response = handle(service, Endpoint::Login, login()).await;
        first_answers.push(started.elapsed());
        assert_eq!(response.status(), 503);
        assert!(response.headers().contains_key(http::header::RETRY_AFTER));
    }
    assert!(
        service.store_breaker_open(),
        "{THRESHOLD} failures open the breaker"
    );

    let mut open = Vec::new();
    let outage = Instant::now();
    while outage.elapsed() < Duration::from_secs(2) {
        let started = Instant::now();
        let response = handle(service, Endpoint::Login, login()).await;
        open.push(started.elapsed());
        assert_eq!(response.status(), 503);
        let retry_after: u64 = response
            .headers()
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .expect("Retry-After in seconds");
        assert!((1..=5).contains(&retry_after), "Retry-After {retry_after}");
        let body: serde_json::Value = serde_json::from_slice(response.body()).expect("json");
        assert_eq!(body["code"], "service_unavailable");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let slowest_open_answer = open.iter().max().copied().unwrap_or_default();
    assert!(
        slowest_open_answer < Duration::from_millis(100),
        "an open breaker answered in {slowest_open_answer:?}"
    );
    let jwks = ApiRequest {
        headers: http::HeaderMap::new(),
        query: None,
        id: None,
        body: RequestBody::Empty,
        peer: None,
    };
    assert_eq!(
        handle(service, Endpoint::Jwks, jwks).await.status(),
        200,
        "what needs no store still answers"
    );

    relay.resume().await;
    let back = Instant::now();
    let recovered_after = loop {
        let response = handle(service, Endpoint::Login, login()).await;
        if response.status() == 200 {
            break back.elapsed();
        }
        assert_eq!(response.status(), 503);
        assert!(
            back.elapsed() < recovery_bound,
            "not recovered {recovery_bound:?} after the server came back"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    assert!(!service.store_breaker_open());
    OutageReport {
        first_answers,
        open_answers: open.len(),
        slowest_open_answer,
        recovered_after,
    }
}
