//! Behaviour that needs no MongoDB server: failures are bounded and reported as
//! `Unavailable` (503) when the server is gone or silent, connection strings are read as
//! documented, and the password of a connection string never shows.

use std::time::{Duration, Instant};

use auth_core::secrecy::SecretString;
use auth_core::{AuthConfig, AuthError, AuthService, StoreError, UserId, UserStore};
use auth_mongo::{Error, MongoStore, MongoStoreOptions};

const PASSWORD: &str = "s3cr3t-Pa55word";

/// A loopback port with nothing listening: bound, then released.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .unwrap_or_else(|e| panic!("cannot bind a loopback port: {e}"))
}

/// The `Debug` text of an error and the `Display` text of its whole source chain.
fn everything_said_about(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = format!("{error:?}");
    let mut next = Some(error);
    while let Some(e) = next {
        text.push_str(&format!(" / {e}"));
        next = e.source();
    }
    text
}

/// With nothing listening, every path fails within the default 5 s server selection timeout
/// with `Unavailable`, and the service answers 503 — never a hang.
#[tokio::test]
async fn an_unreachable_server_is_unavailable_within_the_timeout() {
    let url = format!("mongodb://alice:{PASSWORD}@127.0.0.1:{}/app", closed_port());
    let store = MongoStore::connect_with(&url, MongoStoreOptions::new().with_migrations(false))
        .await
        .expect("without migration nothing is sent yet");
    let service = AuthService::builder()
        .config(AuthConfig::new(
            "tvwAoQ4v4ZVAjY1xRNzdGtktCuD__r6WpkeiQNI0In9",
        ))
        .store(store.clone())
        .build()
        .expect("service");

    let password = SecretString::from("Str0ng!pass");
    let started = Instant::now();
    let (found, connected, login) = tokio::time::timeout(Duration::from_secs(30), async {
        tokio::join!(
            store.find_user_by_id(UserId::new()),
            MongoStore::connect(&url),
            service.login("alice@example.com", &password),
        )
    })
    .await
    .expect("a request hung past 30 s");
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_secs(12),
        "took {elapsed:?}, the default bound is 5 s"
    );

    let found = found.expect_err("no server, no user");
    assert!(matches!(found, StoreError::Unavailable(_)), "{found:?}");
    let connected = connected.expect_err("connect migrates, which needs the server");
    assert!(
        matches!(connected, Error::Store(StoreError::Unavailable(_))),
        "{connected:?}"
    );
    let login = login.expect_err("no server, no login");
    assert!(matches!(login, AuthError::Unavailable(_)), "{login:?}");
    assert_eq!(login.status(), 503);
    assert_eq!(login.code(), "service_unavailable");

    for said in [
        everything_said_about(&found),
        everything_said_about(&connected),
        everything_said_about(&login),
    ] {
        assert!(!said.contains(PASSWORD), "the password leaked: {said}");
    }
}

/// A server that accepts connections and never answers is cut off by the operation timeout,
/// even when the driver's own timeouts are long.
#[tokio::test]
async fn a_silent_server_is_cut_off_by_the_operation_timeout() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let options = MongoStoreOptions::new()
        .with_migrations(false)
        .with_server_selection_timeout(Duration::from_secs(120))
        .with_connect_timeout(Duration::from_secs(120))
        .with_operation_timeout(Some(Duration::from_secs(1)));
    let store = MongoStore::connect_with(&format!("mongodb://127.0.0.1:{port}/app"), options)
        .await
        .expect("store");

    let started = Instant::now();
    let result = tokio::time::timeout(
        Duration::from_secs(30),
        store.find_user_by_email("alice@example.com"),
    )
    .await
    .expect("the operation timeout did not fire");
    let elapsed = started.elapsed();
    let error = result.expect_err("a silent server answers nothing");
    assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
    assert!(
        everything_said_about(&error).contains("did not finish within"),
        "{error:?}"
    );
    assert!(
        elapsed >= Duration::from_secs(1) && elapsed < Duration::from_secs(10),
        "{elapsed:?}"
    );
    silent.abort();
}

#[tokio::test]
async fn the_database_name_comes_from_the_path_then_defaults_to_myauth() {
    let offline = || MongoStoreOptions::new().with_migrations(false);
    let port = closed_port();
    let cases = [
        (format!("mongodb://127.0.0.1:{port}"), offline(), "myauth"),
        (
            format!("mongodb://127.0.0.1:{port}/?directConnection=true"),
            offline(),
            "myauth",
        ),
        (
            format!("mongodb://127.0.0.1:{port}/shop?directConnection=true"),
            offline(),
            "shop",
        ),
        (
            format!("mongodb://127.0.0.1:{port}/shop"),
            offline().with_database("override"),
            "override",
        ),
    ];
    for (url, options, expected) in cases {
        let store = MongoStore::connect_with(&url, options)
            .await
            .unwrap_or_else(|e| panic!("{url}: {e:?}"));
        assert_eq!(store.database().name(), expected, "{url}");
    }
}

#[tokio::test]
async fn debug_output_never_shows_the_password() {
    let url = format!("mongodb://alice:{PASSWORD}@127.0.0.1:{}/app", closed_port());
    let store = MongoStore::connect_with(&url, MongoStoreOptions::new().with_migrations(false))
        .await
        .expect("store");
    let debug = format!("{store:?}");
    assert!(!debug.contains(PASSWORD), "{debug}");
    assert!(debug.contains("\"app\""), "{debug}");
    assert!(
        debug.contains("\"users\"") && debug.contains("\"tokens\""),
        "{debug}"
    );
}

#[tokio::test]
async fn invalid_connection_strings_are_refused_without_echoing_the_password() {
    for url in [
        format!("mongodb://alice:{PASSWORD}@127.0.0.1:notaport/app"),
        format!("mongodb+srv://alice:{PASSWORD}@cluster0.example.com/app"),
        format!("mongodb://alice:{PASSWORD}:extra@127.0.0.1/app"),
        format!("postgres://alice:{PASSWORD}@127.0.0.1/app"),
        format!("mongodb://alice:{PASSWORD}@127.0.0.1/app?serverSelectionTimeoutMS=soon"),
    ] {
        let error = MongoStore::connect(&url)
            .await
            .expect_err("an invalid connection string");
        assert!(matches!(error, Error::InvalidUrl(_)), "{url}: {error:?}");
        let said = everything_said_about(&error);
        assert!(!said.contains(PASSWORD), "the password leaked: {said}");
    }
}
