//! The reference server as a user runs it: its environment variables, its one-line errors,
//! its `listening on ADDR` line. `cargo test` builds the examples, so the binary is next to
//! this test's.

use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// `target/<profile>/examples/server`, built by `cargo test` along with this suite.
fn server_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test binary lives in target/<profile>/deps");
    let binary = profile_dir
        .join("examples")
        .join(format!("server{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.exists(),
        "{} is missing: `cargo test` builds it; with `--test http` alone, run \
         `cargo build --example server` first",
        binary.display()
    );
    binary
}

/// A server command with a clean MyAuth environment (nothing inherited from the caller).
fn server(vars: &[(&str, &str)]) -> Command {
    let mut command = Command::new(server_binary());
    for (name, _) in std::env::vars() {
        if name.starts_with("MYAUTH_") {
            command.env_remove(name);
        }
    }
    command
        .env("RUST_LOG", "warn")
        .env(
            "MYAUTH_JWT_SECRET",
            "6IRK5iOXzts1bs5SKw5IUb9v3A8hszVZCCIRy5dmEOl",
        )
        .env("MYAUTH_DATABASE_URL", "sqlite::memory:")
        .env("MYAUTH_BIND", "127.0.0.1:0")
        .envs(vars.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Runs a server that must refuse to start; its output, once it exited (within 30 s).
fn refused(vars: &[(&str, &str)]) -> Output {
    let mut child = server(vars).spawn().expect("spawn the server");
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            child.kill().ok();
            panic!("the server kept running with {vars:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

/// Kills the server when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}

#[test]
fn bad_settings_stop_the_server_with_one_line_naming_the_variable() {
    for (vars, named) in [
        (
            vec![("MYAUTH_DB_MAX_CONNECTIONS", "0")],
            "MYAUTH_DB_MAX_CONNECTIONS",
        ),
        (
            vec![("MYAUTH_DB_MAX_CONNECTIONS", "many")],
            "MYAUTH_DB_MAX_CONNECTIONS",
        ),
        (vec![("MYAUTH_FRAMEWORK", "rocket")], "MYAUTH_FRAMEWORK"),
        (vec![("MYAUTH_JWT_SECRET", "short")], "secret"),
        (
            vec![("MYAUTH_ACCESS_TTL_SECS", "soon")],
            "MYAUTH_ACCESS_TTL_SECS",
        ),
        // No SMTP and reachable from other machines: reset links must not land in a log.
        (vec![("MYAUTH_BIND", "0.0.0.0:0")], "MYAUTH_SMTP_URL"),
        (vec![("MYAUTH_EMAIL_LOG", "sometimes")], "MYAUTH_EMAIL_LOG"),
        (
            vec![("MYAUTH_ADMIN_EMAIL", "admin@example.com")],
            "MYAUTH_ADMIN_PASSWORD",
        ),
        (
            vec![
                ("MYAUTH_ADMIN_EMAIL", "admin@example.com"),
                ("MYAUTH_ADMIN_PASSWORD", "password"),
            ],
            "MYAUTH_ADMIN_PASSWORD",
        ),
        (
            vec![("MYAUTH_DATABASE_URL", "mysql://127.0.0.1/auth")],
            "MYAUTH_DATABASE_URL",
        ),
    ] {
        refused_with_one_line(&vars, named);
    }
}

#[test]
fn logs_into_a_pipe_carry_no_colour_codes() {
    // No SMTP URL, so the server warns that emails go to the log: there is a log line.
    let mut child = server(&[]).spawn().expect("spawn the server");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(Duration::from_secs(30));
    child.kill().ok();
    let output = child.wait_with_output().expect("output");
    let line = line.expect("`listening on` within 30 s");
    assert!(line.starts_with("listening on "), "first line {line:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("MYAUTH_EMAIL_LOG"), "{stderr}");
    assert!(!stderr.contains('\x1b'), "escape codes in {stderr:?}");
}

/// auth-core's test keys (never use them elsewhere).
fn test_key(name: &str) -> String {
    format!(
        "{}/crates/auth-core/testdata/keys/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[test]
fn bad_key_files_stop_the_server_with_one_line_naming_the_variable_and_the_file() {
    let missing = test_key("missing.pem");
    let cases: Vec<(&str, String)> = vec![
        ("EdDSA", missing),
        ("EdDSA", test_key("ed25519-encrypted.pem")),
        ("ES256", test_key("ed25519.pem")),
        ("ES256", test_key("p384.pem")),
        ("RS256", test_key("rsa1024.pem")),
        ("RS256", test_key("rsa2048-pkcs1.pem")),
        ("EdDSA", test_key("ed25519.pub.pem")),
    ];
    for (algorithm, file) in &cases {
        let vars = [
            ("MYAUTH_JWT_ALGORITHM", *algorithm),
            ("MYAUTH_JWT_PRIVATE_KEY_FILE", file.as_str()),
        ];
        let stderr = refused_with_one_line(&vars, "MYAUTH_JWT_PRIVATE_KEY_FILE");
        assert!(stderr.contains(file.as_str()), "{vars:?}: {stderr}");
        // Never a byte of the key.
        let pem = std::fs::read_to_string(file).unwrap_or_default();
        if let Some(body) = pem.lines().nth(1) {
            assert!(!stderr.contains(&body[..16]), "{vars:?}: {stderr}");
        }
    }
    let previous = format!("{},{}", test_key("ed25519.pem"), test_key("rsa1024.pem"));
    let stderr = refused_with_one_line(
        &[("MYAUTH_JWT_PREVIOUS_KEYS", previous.as_str())],
        "MYAUTH_JWT_PREVIOUS_KEYS entry 2",
    );
    assert!(stderr.contains("rsa1024.pem"), "{stderr}");
}

/// Runs a server that must refuse to start; asserts its one `error:` line names `named`,
/// with no panic and nothing on stdout, and returns its stderr.
fn refused_with_one_line(vars: &[(&str, &str)], named: &str) -> String {
    let output = refused(vars);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{vars:?} started");
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    assert_eq!(errors.len(), 1, "{vars:?}: {stderr}");
    assert!(errors[0].contains(named), "{vars:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{vars:?}: {stderr}");
    assert!(
        output.stdout.is_empty(),
        "{vars:?} printed {:?}",
        output.stdout
    );
    stderr.into_owned()
}

/// Starts the server; the address it announced, and the guard that stops it.
async fn running(vars: &[(&str, &str)]) -> (String, Running) {
    let mut child = server(vars).spawn().expect("spawn the server");
    let stdout = child.stdout.take().expect("stdout");
    let running = Running(child);
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map(|_| line)
    });
    let line = tokio::time::timeout(Duration::from_secs(30), line)
        .await
        .expect("`listening on` within 30 s")
        .expect("join")
        .expect("read stdout");
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line {line:?}"))
        .to_owned();
    (format!("http://{addr}"), running)
}

fn kid_of(token: &str) -> String {
    use base64::Engine as _;
    let header = token.split('.').next().expect("a JWT");
    let header: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header)
            .expect("base64url"),
    )
    .expect("JSON header");
    header["kid"].as_str().expect("a kid").to_owned()
}

#[tokio::test]
async fn a_key_rotation_across_a_restart_of_the_binary_logs_nobody_out() {
    let dir = tempfile::tempdir().expect("temp dir");
    let database = format!("sqlite://{}", dir.path().join("rotation.db").display());
    let (old_key, new_key, old_public) = (
        test_key("ed25519.pem"),
        test_key("p256.pem"),
        test_key("ed25519.pub.pem"),
    );
    let base_vars = [
        ("MYAUTH_DATABASE_URL", database.as_str()),
        ("MYAUTH_REQUIRE_VERIFIED_EMAIL", "false"),
    ];
    let client = reqwest::Client::new();
    let login = |base: String| {
        let client = client.clone();
        async move {
            let pair: serde_json::Value = client
                .post(format!("{base}/auth/login"))
                .json(
                    &serde_json::json!({"email": "rotate@example.com", "password": "Str0ng!pass"}),
                )
                .send()
                .await
                .expect("POST /auth/login")
                .json()
                .await
                .expect("token pair");
            pair["access_token"]
                .as_str()
                .expect("access_token")
                .to_owned()
        }
    };

    let mut vars = base_vars.to_vec();
    vars.extend([
        ("MYAUTH_JWT_ALGORITHM", "EdDSA"),
        ("MYAUTH_JWT_PRIVATE_KEY_FILE", old_key.as_str()),
    ]);
    let (base, first) = running(&vars).await;
    let registered = client
        .post(format!("{base}/auth/register"))
        .json(&serde_json::json!({
            "email": "rotate@example.com", "username": "rotate", "password": "Str0ng!pass"
        }))
        .send()
        .await
        .expect("POST /auth/register");
    assert_eq!(registered.status(), 201);
    let old_token = login(base).await;
    drop(first);

    let mut vars = base_vars.to_vec();
    vars.extend([
        ("MYAUTH_JWT_ALGORITHM", "ES256"),
        ("MYAUTH_JWT_PRIVATE_KEY_FILE", new_key.as_str()),
        ("MYAUTH_JWT_PREVIOUS_KEYS", old_public.as_str()),
    ]);
    let (base, _second) = running(&vars).await;
    let me = client
        .get(format!("{base}/auth/me"))
        .bearer_auth(&old_token)
        .send()
        .await
        .expect("GET /auth/me");
    assert_eq!(me.status(), 200, "the old token stopped working");
    let jwks = client
        .get(format!("{base}/auth/.well-known/jwks.json"))
        .send()
        .await
        .expect("GET jwks");
    assert_eq!(jwks.headers()["cache-control"], "public, max-age=300");
    let jwks: serde_json::Value = jwks.json().await.expect("JWK Set");
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| k["kid"].as_str().expect("kid"))
        .collect();
    let new_token = login(base).await;
    assert_eq!(kids, [kid_of(&new_token), kid_of(&old_token)]);
    assert_ne!(kid_of(&new_token), kid_of(&old_token));
}

#[tokio::test]
async fn the_server_announces_its_address_and_serves_the_contract() {
    let mut child = server(&[("MYAUTH_DB_MAX_CONNECTIONS", "2")])
        .spawn()
        .expect("spawn the server");
    let stdout = child.stdout.take().expect("stdout");
    let running = Running(child);
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map(|_| line)
    });
    let line = tokio::time::timeout(Duration::from_secs(30), line)
        .await
        .expect("`listening on` within 30 s")
        .expect("join")
        .expect("read stdout");
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line {line:?}"));
    let client = reqwest::Client::new();
    let me = client
        .get(format!("http://{addr}/auth/me"))
        .send()
        .await
        .expect("GET /auth/me");
    assert_eq!(me.status(), 401);
    let registered = client
        .post(format!("http://{addr}/auth/register"))
        .json(&serde_json::json!({
            "email": "binary@example.com", "username": "binary", "password": "Str0ng!pass"
        }))
        .send()
        .await
        .expect("POST /auth/register");
    assert_eq!(registered.status(), 201);
    drop(running);
}

/// Registers, logs in (verification off) and returns the access token.
async fn login(client: &reqwest::Client, base: &str, email: &str, password: &str) -> String {
    let registered = client
        .post(format!("{base}/auth/register"))
        .json(&serde_json::json!({"email": email, "username": email.split('@').next(), "password": password}))
        .send()
        .await
        .expect("register");
    assert!(
        registered.status() == 201 || registered.status() == 409,
        "register: {}",
        registered.status()
    );
    let login: serde_json::Value = client
        .post(format!("{base}/auth/login"))
        .json(&serde_json::json!({"email": email, "password": password}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("token pair");
    login["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("login: {login}"))
        .to_owned()
}

#[tokio::test]
async fn the_application_routes_and_the_client_address_work_on_both_frameworks() {
    let admin = ("MYAUTH_ADMIN_EMAIL", "root@example.com");
    let admin_password = ("MYAUTH_ADMIN_PASSWORD", "Adm1n!binary-pass");
    let unverified = ("MYAUTH_REQUIRE_VERIFIED_EMAIL", "false");
    let mut frameworks = vec!["axum"];
    if cfg!(feature = "poem") {
        frameworks.push("poem");
    }
    for framework in frameworks {
        let (base, _running) = running(&[
            ("MYAUTH_FRAMEWORK", framework),
            admin,
            admin_password,
            unverified,
        ])
        .await;
        let client = reqwest::Client::new();
        let user = login(&client, &base, "hello@example.com", "Hell0!binary-pass").await;
        let hello: serde_json::Value = client
            .get(format!("{base}/hello"))
            .bearer_auth(&user)
            .send()
            .await
            .expect("GET /hello")
            .json()
            .await
            .expect("JSON");
        assert!(
            hello["sub"].is_string() && hello["sid"].is_string(),
            "{framework}: {hello}"
        );
        assert_eq!(hello["roles"], serde_json::json!([]), "{framework}");
        let anonymous = client
            .get(format!("{base}/hello"))
            .send()
            .await
            .expect("GET");
        assert_eq!(anonymous.status(), 401, "{framework}");
        let forbidden = client
            .get(format!("{base}/admin-hello"))
            .bearer_auth(&user)
            .send()
            .await
            .expect("GET /admin-hello");
        assert_eq!(forbidden.status(), 403, "{framework}");
        let root = login(&client, &base, admin.1, admin_password.1).await;
        let admin_hello: serde_json::Value = client
            .get(format!("{base}/admin-hello"))
            .bearer_auth(&root)
            .send()
            .await
            .expect("GET /admin-hello")
            .json()
            .await
            .expect("JSON");
        assert!(admin_hello["sub"].is_string(), "{framework}: {admin_hello}");
        // Served with the peer address: the session records the client's IP.
        let sessions: serde_json::Value = client
            .get(format!("{base}/auth/sessions"))
            .bearer_auth(&user)
            .send()
            .await
            .expect("GET /auth/sessions")
            .json()
            .await
            .expect("JSON");
        assert_eq!(
            sessions["items"][0]["ip"], "127.0.0.1",
            "{framework}: {sessions}"
        );
    }
}

#[tokio::test]
async fn an_admin_email_owned_by_someone_else_stops_the_server_with_one_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("auth.db").display());
    {
        let (base, _running) = running(&[
            ("MYAUTH_DATABASE_URL", &url),
            ("MYAUTH_REQUIRE_VERIFIED_EMAIL", "false"),
        ])
        .await;
        login(
            &reqwest::Client::new(),
            &base,
            "squatter@example.com",
            "Squ4tter!first-pass",
        )
        .await;
    }
    let stderr = refused_with_one_line(
        &[
            ("MYAUTH_DATABASE_URL", &url),
            ("MYAUTH_ADMIN_EMAIL", "squatter@example.com"),
            ("MYAUTH_ADMIN_PASSWORD", "0perator!other-pass"),
        ],
        "MYAUTH_ADMIN_PASSWORD",
    );
    assert!(!stderr.contains("0perator!other-pass"), "{stderr}");
}

/// Two reference servers — two processes — on one database: a cut made through one is
/// refused by the other's stateless `/hello` within the revocation poll bound, and at once
/// by the one that made it.
async fn a_cut_on_one_process_reaches_the_other_within_the_poll_bound(database_url: &str) {
    let vars = [
        ("MYAUTH_DATABASE_URL", database_url),
        ("MYAUTH_REVOCATION_POLL_SECS", "1"),
        ("MYAUTH_REQUIRE_VERIFIED_EMAIL", "false"),
        ("MYAUTH_IP_RATE_LIMITS", "off"),
    ];
    let (a, _a) = running(&vars).await;
    let (b, _b) = running(&vars).await;
    let client = reqwest::Client::new();
    let access = login(&client, &a, "two@example.com", "Tw0-processes!lamp").await;
    let hello = |base: &str| {
        client
            .get(format!("{base}/hello"))
            .bearer_auth(&access)
            .send()
    };
    assert_eq!(hello(&b).await.expect("hello on b").status(), 200);

    let cut = client
        .post(format!("{a}/auth/logout-all"))
        .bearer_auth(&access)
        .send()
        .await
        .expect("logout-all");
    assert_eq!(cut.status(), 204);
    let cut_at = Instant::now();
    assert_eq!(
        hello(&a).await.expect("hello on a").status(),
        401,
        "the instance that made the cut refuses at once"
    );
    let seen = loop {
        let status = hello(&b).await.expect("hello on b").status();
        if status == 401 {
            break cut_at.elapsed();
        }
        assert_eq!(status, 200);
        assert!(
            cut_at.elapsed() < Duration::from_secs(5),
            "the other process still accepts the cut token after 5 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // One poll interval (1 s) plus the poll itself and scheduling.
    assert!(seen < Duration::from_millis(2500), "seen after {seen:?}");
}

/// Two reference servers on one database share the account throttle: with four free
/// failures, two wrong passwords on each process use them all up, and the next attempt on
/// either is refused — which neither process would do with a count of its own.
async fn failed_logins_on_two_processes_count_toward_one_throttle(database_url: &str) {
    let vars = [
        ("MYAUTH_DATABASE_URL", database_url),
        ("MYAUTH_REQUIRE_VERIFIED_EMAIL", "false"),
        ("MYAUTH_IP_RATE_LIMITS", "off"),
        ("MYAUTH_LOGIN_FREE_FAILURES", "4"),
    ];
    let (a, _a) = running(&vars).await;
    let (b, _b) = running(&vars).await;
    let client = reqwest::Client::new();
    let email = "throttled@example.com";
    login(&client, &a, email, "Thr0ttle!walrus-lamp").await;
    let attempt = |base: String| {
        let client = client.clone();
        async move {
            client
                .post(format!("{base}/auth/login"))
                .json(&serde_json::json!({"email": email, "password": "Wrong-passw0rd!"}))
                .send()
                .await
                .expect("login")
                .status()
        }
    };
    for base in [&a, &b, &a, &b] {
        assert_eq!(attempt(base.clone()).await, 401, "a free failure on {base}");
    }
    for base in [&a, &b] {
        assert_eq!(
            attempt(base.clone()).await,
            429,
            "the fifth failure, on {base}, is over the shared count"
        );
    }
}

#[cfg(feature = "postgres")]
#[tokio::test]
#[ignore = "needs MYAUTH_TEST_POSTGRES_URL"]
async fn two_processes_on_one_postgresql_database_share_cuts_and_counts() {
    use auth_postgres::sqlx::{Connection as _, Executor as _, PgConnection};

    let url = crate::support::server_url("MYAUTH_TEST_POSTGRES_URL");
    let database = crate::support::fresh_name();
    let mut admin = PgConnection::connect(&url).await.expect("connect");
    admin
        .execute(format!("CREATE DATABASE {database}").as_str())
        .await
        .expect("create database");
    let (base, _) = url.rsplit_once('/').expect("a database in the URL");
    let database_url = format!("{base}/{database}");
    a_cut_on_one_process_reaches_the_other_within_the_poll_bound(&database_url).await;
    failed_logins_on_two_processes_count_toward_one_throttle(&database_url).await;
    // The servers are gone (their guards dropped above); the database can go too.
    admin
        .execute(format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)").as_str())
        .await
        .ok();
}

#[cfg(feature = "mongodb")]
#[tokio::test]
#[ignore = "needs MYAUTH_TEST_MONGODB_URL"]
async fn two_processes_on_one_mongodb_database_share_cuts_and_counts() {
    let url = crate::support::server_url("MYAUTH_TEST_MONGODB_URL");
    let database = crate::support::fresh_name();
    let (before, query) = url.split_once('?').unwrap_or((url.as_str(), ""));
    let authority = before.trim_end_matches('/');
    let authority = authority
        .strip_prefix("mongodb://")
        .map(|rest| rest.split('/').next().unwrap_or(rest))
        .expect("a mongodb:// URL");
    let with_database = if query.is_empty() {
        format!("mongodb://{authority}/{database}")
    } else {
        format!("mongodb://{authority}/{database}?{query}")
    };
    a_cut_on_one_process_reaches_the_other_within_the_poll_bound(&with_database).await;
    failed_logins_on_two_processes_count_toward_one_throttle(&with_database).await;
}
