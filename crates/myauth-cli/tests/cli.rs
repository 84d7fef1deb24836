//! The `myauth` binary, run as an operator runs it, against real SQLite files (and a real
//! PostgreSQL server for the ignored cases).

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use myauth::secrecy::SecretString;
use myauth::{AuthConfig, AuthService, HashingConfig};

const PASSWORD: &str = "Str0ng!pass-Zebra";

/// A fresh SQLite database in a temporary directory.
struct Db {
    dir: tempfile::TempDir,
    url: String,
}

impl Db {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("auth.db").display());
        Self { dir, url }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn run(&self, args: &[&str]) -> Output {
        self.run_with_stdin(args, "")
    }

    fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Output {
        run(&self.url, args, stdin)
    }
}

fn run(url: &str, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_myauth"))
        .args(args)
        .env("MYAUTH_DATABASE_URL", url)
        .env_remove("RUST_LOG")
        .env_remove("MYAUTH_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// Asserts the exit code, and for a failure that standard error is exactly one line
/// `error: …` (no panic, no backtrace).
#[track_caller]
fn assert_exit(output: &Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        stdout(output),
        stderr(output)
    );
    if code != 0 {
        let err = stderr(output);
        assert_eq!(err.lines().count(), 1, "not one line: {err:?}");
        assert!(err.starts_with("error: "), "{err:?}");
        assert!(!err.contains("panicked"), "{err:?}");
    }
}

fn json(output: &Output) -> serde_json::Value {
    serde_json::from_str(stdout(output).trim()).unwrap()
}

/// The service on the same database, with fast hashing, as the server would open it.
async fn service(url: &str) -> AuthService {
    myauth::from_url(url)
        .unwrap()
        .config(
            AuthConfig::new("NZO5LnoEIv6NpiR_NR8fvqNi3Fx0Y0aGxOk2pJFJ3m8").with_hashing(
                HashingConfig {
                    memory_kib: 72, // no reference vector uses it: every import is upgraded
                    iterations: 1,
                    parallelism: 1,
                    max_concurrent: 2,
                    max_waiting: 64,
                },
            ),
        )
        .service()
        .await
        .unwrap()
}

#[test]
fn every_subcommand_has_help() {
    let db = Db::new();
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["migrate", "--help"],
        vec!["user", "--help"],
        vec!["user", "create", "--help"],
        vec!["user", "show", "--help"],
        vec!["user", "list", "--help"],
        vec!["user", "deactivate", "--help"],
        vec!["user", "activate", "--help"],
        vec!["user", "set-roles", "--help"],
        vec!["user", "verify", "--help"],
        vec!["sessions", "list", "--help"],
        vec!["sessions", "revoke", "--help"],
        vec!["purge", "--help"],
        vec!["import", "--help"],
        vec!["export", "--help"],
        vec!["keys", "generate", "--help"],
        vec!["audit", "verify", "--help"],
    ] {
        let output = db.run(&args);
        assert_exit(&output, 0);
        assert!(stdout(&output).contains("Usage: myauth"), "{args:?}");
    }
    // The exit codes are documented where people look.
    assert!(stdout(&db.run(&["--help"])).contains("Exit codes"));
    // A usage error is clap's exit code 2.
    assert_eq!(db.run(&["user", "frobnicate"]).status.code(), Some(2));
}

#[test]
fn an_operator_manages_a_user_from_creation_to_deactivation() {
    let db = Db::new();
    assert_exit(&db.run(&["migrate"]), 0);
    let created = db.run_with_stdin(
        &[
            "--json",
            "user",
            "create",
            "--email",
            "Root@Example.com",
            "--admin",
            "--verified",
            "--password-stdin",
        ],
        &format!("{PASSWORD}\n"),
    );
    assert_exit(&created, 0);
    let user = json(&created);
    assert_eq!(user["email"], "root@example.com");
    assert_eq!(user["roles"], serde_json::json!(["admin"]));
    assert_eq!(user["is_verified"], true);
    assert!(
        !stdout(&created).contains(PASSWORD) && !stdout(&created).contains("argon2"),
        "password or hash printed"
    );

    let again = db.run_with_stdin(
        &[
            "user",
            "create",
            "--email",
            "root@example.com",
            "--password-stdin",
        ],
        &format!("{PASSWORD}\n"),
    );
    assert_exit(&again, 5);

    let weak = db.run_with_stdin(
        &[
            "user",
            "create",
            "--email",
            "weak@example.com",
            "--password-stdin",
        ],
        "short\n",
    );
    assert_exit(&weak, 4);
    assert!(stderr(&weak).contains("password refused by the policy: "));
    assert!(stderr(&weak).contains("at least"), "{}", stderr(&weak));
    assert!(!stderr(&weak).contains("short\n"));

    let listed = db.run(&["--json", "user", "list"]);
    assert_exit(&listed, 0);
    assert_eq!(json(&listed)["total"], 1);

    let id = user["id"].as_str().unwrap().to_owned();
    let shown = db.run(&["user", "show", &id]);
    assert_exit(&shown, 0);
    assert!(stdout(&shown).contains("root@example.com"));

    let off = db.run(&["--json", "user", "deactivate", "root@example.com"]);
    assert_exit(&off, 0);
    assert_eq!(json(&off)["is_active"], false);
    let on = db.run(&["--json", "user", "activate", &id]);
    assert_eq!(json(&on)["is_active"], true);
    let roles = db.run(&["--json", "user", "set-roles", &id, "editor", "ops"]);
    assert_exit(&roles, 0);
    assert_eq!(json(&roles)["roles"], serde_json::json!(["editor", "ops"]));
    let bad_roles = db.run(&["user", "set-roles", &id, "no spaces!"]);
    assert_exit(&bad_roles, 4);

    let plain = db.run_with_stdin(
        &[
            "user",
            "create",
            "--email",
            "bob@example.com",
            "--password-stdin",
        ],
        &format!("{PASSWORD}\n"),
    );
    assert_exit(&plain, 0);
    let verified = db.run(&["--json", "user", "verify", "bob@example.com"]);
    assert_eq!(json(&verified)["is_verified"], true);

    for args in [
        vec!["user", "show", "nobody@example.com"],
        vec!["user", "deactivate", "0192f5c4-8d2e-7b7a-9a53-0d4c7e0e1a11"],
        vec!["sessions", "list", "--user", "nobody@example.com"],
    ] {
        assert_exit(&db.run(&args), 3);
    }
    assert_exit(&db.run(&["user", "show", "not an email"]), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_are_listed_and_revoked_and_purge_runs() {
    let db = Db::new();
    assert_exit(
        &db.run_with_stdin(
            &[
                "user",
                "create",
                "--email",
                "a@example.com",
                "--verified",
                "--password-stdin",
            ],
            &format!("{PASSWORD}\n"),
        ),
        0,
    );
    let service = service(&db.url).await;
    let pair = service
        .login("a@example.com", &SecretString::from(PASSWORD))
        .await
        .unwrap();
    let listed = db.run(&["--json", "sessions", "list", "--user", "a@example.com"]);
    assert_exit(&listed, 0);
    assert_eq!(json(&listed)["items"].as_array().unwrap().len(), 1);
    assert_exit(
        &db.run(&["sessions", "revoke", "--user", "a@example.com"]),
        0,
    );
    let after = db.run(&["--json", "sessions", "list", "--user", "a@example.com"]);
    assert_eq!(json(&after)["items"].as_array().unwrap().len(), 0);
    assert!(service.refresh(&pair.refresh_token).await.is_err());
    let purged = db.run(&["--json", "purge"]);
    assert_exit(&purged, 0);
    assert!(json(&purged)["purged"].is_u64());
    let audit = db.run(&["--json", "audit", "verify"]);
    assert_exit(&audit, 0);
    assert_eq!(json(&audit)["ok"], true);
}

#[derive(serde::Deserialize)]
struct Vector {
    scheme: String,
    password: String,
    hash: String,
}

fn vectors() -> Vec<Vector> {
    #[derive(serde::Deserialize)]
    struct Vectors {
        vectors: Vec<Vector>,
    }
    let text = include_str!("../../auth-core/testdata/legacy_hashes.json");
    serde_json::from_str::<Vectors>(text).unwrap().vectors
}

/// A seed-shaped file: one user per reference vector, then bad rows.
fn seed_file(path: &Path) -> Vec<(String, String)> {
    let mut out = String::new();
    let mut logins = Vec::new();
    for (i, v) in vectors().iter().enumerate() {
        let email = format!("seed{i}@example.com");
        let row = serde_json::json!({
            "id": format!("{i}"),
            "email": email,
            "username": format!("Seed {i}"),
            "hashed_password": v.hash,
            "roles": ["member"],
            "user_settings": {"theme": "dark", "scheme": v.scheme},
            "is_verified": true,
            "is_active": true,
            "created_at": "2024-05-01 12:00:00.123456",
            "updated_at": "2024-06-01T08:30:00+00:00",
        });
        out.push_str(&row.to_string());
        out.push('\n');
        logins.push((email, v.password.clone()));
    }
    out.push_str("{\"email\": \"broken\n");
    out.push_str(&serde_json::json!({"email": "nohash@example.com", "username": "x"}).to_string());
    out.push('\n');
    out.push_str(
        &serde_json::json!({"email": "seed0@example.com", "hashed_password": vectors()[0].hash})
            .to_string(),
    );
    out.push('\n');
    out.push_str(
        &serde_json::json!({"email": "plain@example.com", "hashed_password": "hunter2"})
            .to_string(),
    );
    out.push('\n');
    std::fs::write(path, out).unwrap();
    logins
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_and_fastapi_users_exports_import_and_log_in_with_their_old_passwords() {
    let db = Db::new();
    let seed = db.path("users.jsonl");
    let logins = seed_file(&seed);
    let imported = db.run(&["--json", "import", seed.to_str().unwrap()]);
    assert_exit(&imported, 6);
    let summary = json(&imported);
    assert_eq!(summary["imported"], logins.len());
    let refused = summary["refused"].as_array().unwrap();
    let lines: Vec<u64> = refused
        .iter()
        .map(|r| r["line"].as_u64().unwrap())
        .collect();
    let n = logins.len() as u64;
    assert_eq!(lines, vec![n + 1, n + 2, n + 3, n + 4], "{refused:?}");
    let reasons: Vec<&str> = refused
        .iter()
        .map(|r| r["reason"].as_str().unwrap())
        .collect();
    assert!(
        reasons[0].starts_with("not a JSON user object"),
        "{reasons:?}"
    );
    assert_eq!(reasons[1], "hashed_password: missing");
    assert_eq!(reasons[2], "the email is also on line 1");
    assert!(reasons[3].contains("hashed_password"), "{reasons:?}");
    assert!(!stdout(&imported).contains("hunter2"), "a hash was echoed");

    // Idempotent: a second run skips every user it stored.
    let again = db.run(&["--json", "import", seed.to_str().unwrap()]);
    assert_eq!(json(&again)["imported"], 0);
    assert_eq!(json(&again)["skipped"], logins.len());

    // fastapi-users: CSV as PostgreSQL's COPY writes it, and JSON Lines.
    let csv = db.path("user.csv");
    let bcrypt = vectors()
        .into_iter()
        .find(|v| v.hash.starts_with("$2b$"))
        .unwrap();
    let argon = vectors()
        .into_iter()
        .find(|v| v.hash.starts_with("$argon2id$"))
        .unwrap();
    std::fs::write(
        &csv,
        format!(
            "id,email,hashed_password,is_active,is_superuser,is_verified\n\
             0192f5c4-8d2e-7b7a-9a53-0d4c7e0e1a11,boss@example.com,{},t,t,t\n\
             0192f5c4-8d2e-7b7a-9a53-0d4c7e0e1a12,dev@example.com,\"{}\",t,f,t\n\
             0192f5c4-8d2e-7b7a-9a53-0d4c7e0e1a13,bad@example.com,{},maybe,f,f\n",
            bcrypt.hash, argon.hash, bcrypt.hash
        ),
    )
    .unwrap();
    let fastapi = db.run(&["--json", "import", csv.to_str().unwrap()]);
    assert_exit(&fastapi, 6);
    assert_eq!(json(&fastapi)["imported"], 2);
    assert_eq!(json(&fastapi)["refused"][0]["line"], 4);
    let jsonl = db.path("user.jsonl");
    std::fs::write(
        &jsonl,
        serde_json::json!({
            "id": "0192f5c4-8d2e-7b7a-9a53-0d4c7e0e1a14", "email": "ops@example.com",
            "hashed_password": argon.hash, "is_active": true, "is_superuser": false,
            "is_verified": true,
        })
        .to_string(),
    )
    .unwrap();
    assert_exit(&db.run(&["import", jsonl.to_str().unwrap()]), 0);

    let boss = json(&db.run(&["--json", "user", "show", "boss@example.com"]));
    assert_eq!(boss["roles"], serde_json::json!(["admin"]));
    assert_eq!(boss["id"], "0192f5c4-8d2e-7b7a-9a53-0d4c7e0e1a11");
    assert_eq!(boss["username"], "boss");
    let seed0 = json(&db.run(&["--json", "user", "show", "seed0@example.com"]));
    assert_eq!(seed0["created_at"], "2024-05-01T12:00:00.123Z");
    assert_eq!(seed0["user_settings"]["theme"], "dark");

    // Everyone logs in with the old password, and the hash becomes argon2id.
    let service = service(&db.url).await;
    let mut all = logins;
    all.push(("boss@example.com".into(), bcrypt.password.clone()));
    all.push(("dev@example.com".into(), argon.password.clone()));
    all.push(("ops@example.com".into(), argon.password.clone()));
    for (email, password) in &all {
        let before = service
            .store()
            .find_user_by_email(email)
            .await
            .unwrap()
            .unwrap();
        service
            .login(email, &SecretString::from(password.clone()))
            .await
            .unwrap_or_else(|e| panic!("{email}: {e}"));
        let after = service
            .store()
            .find_user_by_email(email)
            .await
            .unwrap()
            .unwrap();
        assert!(
            after
                .password_hash
                .as_str()
                .starts_with("$argon2id$v=19$m=72,t=1,p=1$"),
            "{email} not upgraded: {}",
            &after.password_hash.as_str()[..after.password_hash.as_str().len().min(30)]
        );
        assert_ne!(before.password_hash, after.password_hash);
    }
}

#[test]
fn export_writes_json_lines_with_hashes_only_when_asked() {
    let db = Db::new();
    for email in ["a@example.com", "b@example.com"] {
        assert_exit(
            &db.run_with_stdin(
                &["user", "create", "--email", email, "--password-stdin"],
                &format!("{PASSWORD}\n"),
            ),
            0,
        );
    }
    let plain = db.run(&["export"]);
    assert_exit(&plain, 0);
    let rows: Vec<serde_json::Value> = stdout(&plain)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["email"], "a@example.com");
    assert!(rows[0].get("hashed_password").is_none());
    assert!(!stdout(&plain).contains("argon2"));

    let file = db.path("export.jsonl");
    let with = db.run(&["export", "--include-hashes", "-o", file.to_str().unwrap()]);
    assert_exit(&with, 0);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.lines()
            .all(|l| l.contains("\"hashed_password\":\"$argon2id$"))
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // The export imports back into another database as the same users.
    let other = Db::new();
    let back = other.run(&["--json", "import", file.to_str().unwrap()]);
    assert_exit(&back, 0);
    assert_eq!(json(&back)["imported"], 2);
}

#[test]
fn keys_are_generated_as_pkcs8_pem_readable_only_by_the_owner() {
    let db = Db::new();
    for (alg, label) in [("EdDSA", "EdDSA"), ("ES256", "ES256"), ("RS256", "RS256")] {
        let path = db.path(&format!("{alg}.pem"));
        let output = db.run(&[
            "--json",
            "keys",
            "generate",
            "--alg",
            alg,
            "--out",
            path.to_str().unwrap(),
        ]);
        assert_exit(&output, 0);
        assert_eq!(json(&output)["alg"], label);
        let pem = std::fs::read_to_string(&path).unwrap();
        let key = myauth::JwtKey::from_pem(&pem).unwrap();
        assert_eq!(key.kid(), json(&output)["kid"]);
        assert_eq!(key.algorithm().unwrap().name(), label);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{alg}");
        }
        // An existing key is never overwritten by accident.
        let again = db.run(&[
            "keys",
            "generate",
            "--alg",
            alg,
            "--out",
            path.to_str().unwrap(),
        ]);
        assert_exit(&again, 1);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), pem);
    }
    assert_eq!(
        db.run(&["keys", "generate", "--alg", "HS256", "--out", "x"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn bad_urls_missing_files_and_locked_databases_are_one_line_errors() {
    let db = Db::new();
    let wrong = run("ftp://example.com/db", &["user", "list"], "");
    assert_exit(&wrong, 1);
    assert!(stderr(&wrong).contains("--database-url"));
    let unreachable = run(
        "postgres://nobody:secret@127.0.0.1:1/db",
        &["user", "list"],
        "",
    );
    assert_exit(&unreachable, 1);
    assert!(!stderr(&unreachable).contains("secret"));
    assert_exit(&db.run(&["import", "/nonexistent/users.jsonl"]), 1);

    // Another process holds SQLite's write lock for longer than the busy timeout.
    assert_exit(&db.run(&["migrate"]), 0);
    let file = db.path("auth.db");
    let mut locker = Command::new("python3")
        .arg("-c")
        .arg(format!(
            "import sqlite3,time,sys\nc=sqlite3.connect({:?},isolation_level=None)\nc.execute('BEGIN EXCLUSIVE')\nprint('locked',flush=True)\ntime.sleep(30)",
            file.display().to_string()
        ))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(locker.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), "locked");
    let started = Instant::now();
    let locked = db.run_with_stdin(
        &[
            "user",
            "create",
            "--email",
            "late@example.com",
            "--password-stdin",
        ],
        &format!("{PASSWORD}\n"),
    );
    locker.kill().unwrap();
    let _ = locker.wait();
    assert_exit(&locked, 1);
    assert!(stderr(&locked).contains("locked"), "{}", stderr(&locked));
    assert!(started.elapsed() < Duration::from_secs(25));
}

/// The interactive prompt in a real terminal (tmux): what is typed is never shown, a
/// mismatch is refused, and the account is created with the typed password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_password_prompt_does_not_echo_in_a_terminal() {
    assert!(
        Command::new("tmux").arg("-V").output().is_ok(),
        "tmux is needed (scripts/test.sh installs it)"
    );
    let db = Db::new();
    let session = format!("myauth-cli-{}", std::process::id());
    let script = db.path("run.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nMYAUTH_DATABASE_URL='{}' '{}' user create --email tty@example.com --verified\necho \"EXIT=$?\"\nsleep 60\n",
            db.url,
            env!("CARGO_BIN_EXE_myauth")
        ),
    )
    .unwrap();
    let tmux = |args: &[&str]| {
        let output = Command::new("tmux").args(args).output().unwrap();
        assert!(output.status.success(), "tmux {args:?}: {output:?}");
        String::from_utf8(output.stdout).unwrap()
    };
    tmux(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "120",
        "-y",
        "20",
        "sh",
        script.to_str().unwrap(),
    ]);
    let screen = |wanted: &str| {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let text = tmux(&["capture-pane", "-p", "-t", &session]);
            if text.contains(wanted) {
                return text;
            }
            assert!(Instant::now() < deadline, "no {wanted:?} on screen: {text}");
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    screen("Password:");
    tmux(&["send-keys", "-t", &session, "-l", PASSWORD]);
    tmux(&["send-keys", "-t", &session, "Enter"]);
    screen("Repeat the password:");
    tmux(&["send-keys", "-t", &session, "-l", PASSWORD]);
    tmux(&["send-keys", "-t", &session, "Enter"]);
    let text = screen("EXIT=");
    let _ = Command::new("tmux")
        .args(["kill-session", "-t", &session])
        .output();
    assert!(text.contains("EXIT=0"), "{text}");
    assert!(!text.contains(PASSWORD), "the password was echoed: {text}");
    assert!(text.contains("tty@example.com"), "{text}");
    let service = service(&db.url).await;
    service
        .login("tty@example.com", &SecretString::from(PASSWORD))
        .await
        .unwrap();
}

/// PostgreSQL: a fresh database per run, created and dropped here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL (MYAUTH_TEST_POSTGRES_URL)"]
async fn postgres_users_import_and_export() {
    use myauth::auth_postgres::sqlx::{Connection as _, PgConnection};
    let base = std::env::var("MYAUTH_TEST_POSTGRES_URL")
        .expect("MYAUTH_TEST_POSTGRES_URL is not set (scripts/test.sh sets it)");
    let name = format!("myauth_cli_{}", uuid::Uuid::now_v7().simple());
    let mut admin = PgConnection::connect(&base).await.unwrap();
    myauth::auth_postgres::sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let (prefix, _) = base.rsplit_once('/').unwrap();
    let url = format!("{prefix}/{name}");

    let created = run(
        &url,
        &[
            "--json",
            "user",
            "create",
            "--email",
            "pg@example.com",
            "--admin",
            "--password-stdin",
        ],
        &format!("{PASSWORD}\n"),
    );
    assert_exit(&created, 0);
    let dir = tempfile::tempdir().unwrap();
    let seed = dir.path().join("users.jsonl");
    let logins = seed_file(&seed);
    let imported = run(&url, &["--json", "import", seed.to_str().unwrap()], "");
    assert_exit(&imported, 6);
    assert_eq!(json(&imported)["imported"], logins.len());
    let again = run(&url, &["--json", "import", seed.to_str().unwrap()], "");
    assert_eq!(json(&again)["skipped"], logins.len());
    let listed = run(&url, &["--json", "user", "list"], "");
    assert_eq!(json(&listed)["total"], logins.len() + 1);
    let exported = run(&url, &["export"], "");
    assert_exit(&exported, 0);
    assert_eq!(stdout(&exported).lines().count(), logins.len() + 1);
    let service = service(&url).await;
    for (email, password) in &logins {
        service
            .login(email, &SecretString::from(password.clone()))
            .await
            .unwrap_or_else(|e| panic!("{email}: {e}"));
        let after = service
            .store()
            .find_user_by_email(email)
            .await
            .unwrap()
            .unwrap();
        assert!(after.password_hash.as_str().starts_with("$argon2id$"));
    }
    assert_exit(
        &run(
            &url,
            &["sessions", "revoke", "--user", "seed0@example.com"],
            "",
        ),
        0,
    );
    drop(service);
    myauth::auth_postgres::sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .unwrap();
}
