//! The browser support in a real browser: Debian's Chromium, driven by its chromedriver over
//! WebDriver (fantoccini), against the suite's axum application on a real SQLite store.
//! `scripts/test.sh` installs both when missing and runs these (`--include-ignored`);
//! `CHROMIUM` and `CHROMEDRIVER` override the binaries' paths.
//!
//! Each page is photographed; with `MYAUTH_UPDATE_SCREENSHOTS=1` the pictures replace
//! those in `docs/screenshots/` (what the README shows), otherwise they go to a temporary
//! directory, so a test run leaves the work tree as it was.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::support::{Adapter, Backend, Mail, PASSWORD, TestServer, config, token_from_link};

/// chromedriver and the session it drives; both end when this is dropped.
struct Browser {
    client: Client,
    driver: Child,
    shots: PathBuf,
    _tmp: Option<tempfile::TempDir>,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Browser {
    async fn start() -> Self {
        let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let chromedriver =
            std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        let port = free_port();
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {chromedriver} (apt-get install chromium-driver): {e}")
            });
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=900,1000",
                         "--no-first-run", "--disable-extensions"]
            }),
        );
        capabilities.insert("goog:loggingPrefs".into(), json!({"browser": "ALL"}));
        let url = format!("http://127.0.0.1:{port}");
        let mut last = None;
        for _ in 0..100 {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(capabilities.clone())
                .connect(&url)
                .await
            {
                Ok(client) => {
                    let (shots, tmp) = if std::env::var_os("MYAUTH_UPDATE_SCREENSHOTS").is_some() {
                        let dir =
                            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots");
                        std::fs::create_dir_all(&dir).expect("screenshot dir");
                        (dir, None)
                    } else {
                        let tmp = tempfile::tempdir().expect("tmp");
                        (tmp.path().to_owned(), Some(tmp))
                    };
                    return Self {
                        client,
                        driver,
                        shots,
                        _tmp: tmp,
                    };
                }
                Err(error) => last = Some(error.to_string()),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("chromedriver did not accept a session: {last:?}");
    }

    async fn shot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        std::fs::write(self.shots.join(format!("{name}.png")), png).expect("write screenshot");
    }

    async fn text(&self, css: &str) -> String {
        self.until_text(css, "").await
    }

    /// The text of the first element matching `css` once it contains `needle`, retried
    /// while a page loads (an element of the page before a navigation goes stale).
    async fn until_text(&self, css: &str, needle: &str) -> String {
        let mut last = String::new();
        for _ in 0..100 {
            if let Ok(element) = self.client.find(Locator::Css(css)).await
                && let Ok(text) = element.text().await
            {
                if text.contains(needle) {
                    return text;
                }
                last = text;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("no {css} containing {needle:?} within 20 s (last: {last:?})");
    }

    async fn click(&self, css: &str) {
        self.client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("cannot click {css}: {e}"));
    }

    async fn script_click(&self, css: &str) {
        self.text(css).await;
        self.client
            .execute(
                "document.querySelector(arguments[0]).click()",
                vec![json!(css)],
            )
            .await
            .unwrap_or_else(|e| panic!("cannot click {css}: {e}"));
    }

    async fn type_into(&self, css: &str, text: &str) {
        let field = self
            .client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"));
        field.clear().await.expect("clear");
        field.send_keys(text).await.expect("type");
    }

    /// The browser's console messages since the last call (chromedriver's log endpoint).
    async fn console(&self) -> Vec<Value> {
        let log = self
            .client
            .issue_cmd(BrowserLog)
            .await
            .expect("browser log");
        log.as_array().cloned().unwrap_or_default()
    }

    async fn close(self) {
        let client = self.client.clone();
        let _ = client.close().await;
        drop(self);
    }
}

/// chromedriver's `POST /session/{id}/se/log` for the `browser` log.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/se/log",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(r#"{"type":"browser"}"#.to_owned()))
    }
}

/// The API server on `localhost` (the name, so that a test page on another port is the
/// same site, as cookie mode needs).
fn localhost(s: &TestServer) -> String {
    s.base.replace("127.0.0.1", "localhost")
}

async fn latest_email_token(s: &TestServer) -> String {
    token_from_link(&s.next_email().await.1.link)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium"]
async fn browser_a_verification_link_is_confirmed_with_one_click() {
    let s = TestServer::start(Adapter::Axum, Backend::Sqlite, Mail::Outbox).await;
    let token = s.register("vera@example.com").await;
    let b = Browser::start().await;
    b.client
        .goto(&format!("{}/verify-email?token={token}", s.base))
        .await
        .unwrap();
    assert_eq!(b.text("h1").await, "Verify your email address");
    b.shot("verify-email-form").await;
    b.click("button[type=submit]").await;
    b.until_text("[role=status]", "verified").await;
    b.shot("verify-email-done").await;
    let login = s
        .post_json(
            "/auth/login",
            json!({"email": "vera@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(login.status(), 200);
    b.client
        .goto(&format!("{}/verify-email?token=not-a-token", s.base))
        .await
        .unwrap();
    b.until_text("h1", "This link cannot be used").await;
    b.shot("link-unusable").await;
    assert_no_console_errors(&b).await;
    b.close().await;
}

/// No error in the browser's console: no script error, no CSP violation, no failed load —
/// but the application's own `/favicon.ico`, which the test application does not have.
async fn assert_no_console_errors(b: &Browser) {
    let console = b.console().await;
    let errors: Vec<&Value> = console
        .iter()
        .filter(|e| e["level"] == "SEVERE")
        .filter(|e| {
            !e["message"]
                .as_str()
                .unwrap_or_default()
                .contains("/favicon.ico")
        })
        .collect();
    assert!(errors.is_empty(), "console errors: {errors:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium"]
async fn browser_a_reset_shows_the_rules_then_takes_a_good_password() {
    let s = TestServer::start(Adapter::Axum, Backend::Sqlite, Mail::Outbox).await;
    s.verified_user("walt@example.com").await;
    let response = s
        .post_json(
            "/auth/password-reset-request",
            json!({"email": "walt@example.com"}),
        )
        .await;
    assert_eq!(response.status(), 202);
    let token = latest_email_token(&s).await;
    let b = Browser::start().await;
    b.client
        .goto(&format!("{}/reset-password?token={token}", s.base))
        .await
        .unwrap();
    assert_eq!(b.text("h1").await, "Choose a new password");
    assert!(
        b.text("#rules")
            .await
            .contains("be at least 8 characters long")
    );
    b.shot("reset-password-form").await;
    b.type_into("#new_password", "weakpass").await;
    b.click("button[type=submit]").await;
    let failed = b.until_text("[role=alert]", "not accepted").await;
    assert!(failed.contains("contain an uppercase letter"), "{failed}");
    assert!(failed.contains("contain a digit"), "{failed}");
    b.shot("reset-password-refused").await;
    b.type_into("#new_password", "Better!Choice77").await;
    b.click("button[type=submit]").await;
    b.until_text("h1", "Password changed").await;
    b.shot("reset-password-done").await;
    let login = s
        .post_json(
            "/auth/login",
            json!({"email": "walt@example.com", "password": "Better!Choice77"}),
        )
        .await;
    assert_eq!(login.status(), 200);
    b.close().await;
}

/// A page of the application's own, on its own port of `localhost`.
async fn test_page() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(|| async {
            axum::response::Html(
                "<!DOCTYPE html><html lang=\"en\"><title>SPA</title><h1>Single-page application</h1></html>",
            )
        }),
    );
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    addr
}

const SPA_SCRIPT: &str = r#"
const [api, email, password, done] = arguments;
(async () => {
  const out = {};
  document.cookie = "visible=1";
  try {
    const login = await fetch(api + "/auth/login", {
      method: "POST", credentials: "include",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({email, password}),
    });
    out.login = login.status;
    const body = await login.json();
    out.body_has_refresh_token = "refresh_token" in body;
    out.cookies = document.cookie;
    const forged = await fetch(api + "/auth/refresh", {
      method: "POST", credentials: "include", headers: {"X-CSRF-Token": "forged"},
    });
    out.forged = forged.status;
    out.forged_code = (await forged.json()).code;
    const refresh = await fetch(api + "/auth/refresh", {
      method: "POST", credentials: "include", headers: {"X-CSRF-Token": body.csrf_token},
    });
    out.refresh = refresh.status;
    const fresh = await refresh.json();
    const me = await fetch(api + "/auth/me", {headers: {"Authorization": "Bearer " + fresh.access_token}});
    out.me = me.status;
    out.cookies_after = document.cookie;
  } catch (error) {
    out.error = String(error);
  }
  done(out);
})();
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium"]
async fn browser_cookie_mode_works_from_an_allowed_origin_and_nowhere_else() {
    let allowed = test_page().await;
    let other = test_page().await;
    let allowed_origin = format!("http://localhost:{}", allowed.port());
    let s = TestServer::start_with(
        Adapter::Axum,
        Backend::Sqlite,
        Mail::Outbox,
        config()
            .with_refresh_cookie(true)
            .with_cors_origins([allowed_origin.as_str()]),
    )
    .await;
    s.verified_user("xena@example.com").await;
    let api = localhost(&s);
    let b = Browser::start().await;
    b.client.goto(&format!("{allowed_origin}/")).await.unwrap();
    let out = b
        .client
        .execute_async(
            SPA_SCRIPT,
            vec![json!(api), json!("xena@example.com"), json!(PASSWORD)],
        )
        .await
        .unwrap();
    assert_eq!(out["login"], 200, "{out}");
    assert_eq!(out["body_has_refresh_token"], false, "{out}");
    assert_eq!(out["forged"], 403, "{out}");
    assert_eq!(out["forged_code"], "csrf_failed", "{out}");
    assert_eq!(
        out["refresh"], 200,
        "the cookie was sent and the refused try used nothing up: {out}"
    );
    assert_eq!(out["me"], 200, "{out}");
    for cookies in [&out["cookies"], &out["cookies_after"]] {
        let cookies = cookies.as_str().unwrap();
        assert!(
            cookies.contains("visible=1"),
            "document.cookie works: {cookies}"
        );
        assert!(
            !cookies.contains("myauth"),
            "the refresh cookie is HttpOnly: {cookies}"
        );
    }
    b.client
        .goto(&format!("http://localhost:{}/", other.port()))
        .await
        .unwrap();
    let out = b
        .client
        .execute_async(
            SPA_SCRIPT,
            vec![json!(api), json!("xena@example.com"), json!(PASSWORD)],
        )
        .await
        .unwrap();
    assert!(
        out["error"]
            .as_str()
            .is_some_and(|e| e.contains("Failed to fetch")),
        "a page of an unlisted origin is refused the answer: {out}"
    );
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium"]
async fn browser_the_docs_render_and_try_it_out_logs_in() {
    let s = TestServer::start(Adapter::Axum, Backend::Sqlite, Mail::Outbox).await;
    s.verified_user("yara@example.com").await;
    let b = Browser::start().await;
    b.client
        .goto(&format!("{}/auth/docs", s.base))
        .await
        .unwrap();
    assert!(b.text(".info .title").await.starts_with("MyAuth"));
    b.shot("api-docs").await;
    b.click("#operations-auth-login .opblock-summary-control")
        .await;
    // Swagger UI re-renders while the operation opens: click once it has settled, and
    // again if the click landed before the handler was there.
    let mut open = false;
    for _ in 0..10 {
        b.client
            .execute(
                "document.querySelector('#operations-auth-login .try-out__btn').scrollIntoView({block: 'center'})",
                vec![],
            )
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
        b.click("#operations-auth-login .try-out__btn").await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        if b.client
            .find(Locator::Css(
                "#operations-auth-login textarea.body-param__text",
            ))
            .await
            .is_ok()
        {
            open = true;
            break;
        }
    }
    assert!(open, "Try it out did not open");
    let body = json!({"email": "yara@example.com", "password": PASSWORD}).to_string();
    b.type_into("#operations-auth-login textarea.body-param__text", &body)
        .await;
    b.script_click("#operations-auth-login button.execute")
        .await;
    let status = b
        .until_text(
            "#operations-auth-login .live-responses-table tr.response .response-col_status",
            "200",
        )
        .await;
    assert!(status.starts_with("200"), "{status}");
    b.client
        .execute(
            "document.querySelector('#operations-auth-login .live-responses-table').scrollIntoView({block: 'center'})",
            vec![],
        )
        .await
        .unwrap();
    b.shot("api-docs-try-it-out").await;
    assert_no_console_errors(&b).await;
    b.close().await;
}
