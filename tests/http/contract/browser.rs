//! Browser support (docs/http-contract.md, Browser support): the pages behind the email
//! links, the interactive documentation, cookie mode with its CSRF check, and CORS.

use reqwest::Response;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use time::Duration;

use super::{bearer, reset_token};
use crate::support::{PASSWORD, TestServer, assert_problem, config};

const APP: &str = "http://app.example.test:5173";
const OWN: &str = "http://localhost:3000";

fn header(headers: &HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// The value of a hidden form field in a page.
pub(crate) fn hidden(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} field in {page}"))
        + marker.len();
    let end = start + page[start..].find('"').expect("closing quote");
    page[start..end].to_owned()
}

/// A page answer: 200 HTML with the pages' security headers; returns the text.
async fn page(response: Response) -> String {
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(header(&headers, "content-type"), "text/html; charset=utf-8");
    let csp = header(&headers, "content-security-policy");
    assert!(
        csp.contains("default-src 'none'")
            && csp.contains("frame-ancestors 'none'")
            && !csp.contains("script-src"),
        "{csp}"
    );
    assert_eq!(header(&headers, "x-frame-options"), "DENY");
    assert_eq!(header(&headers, "referrer-policy"), "no-referrer");
    assert_eq!(header(&headers, "cache-control"), "no-store");
    let text = response.text().await.expect("page");
    assert!(text.contains("<html lang=\"en\">") && !text.contains("<script"));
    text
}

/// Posts a page's form as a browser does with `Referrer-Policy: no-referrer`.
async fn submit(s: &TestServer, path: &str, fields: &[(&str, &str)]) -> Response {
    s.post(path)
        .header("origin", "null")
        .form(fields)
        .send()
        .await
        .expect("form")
}

async fn login_status(s: &TestServer, email: &str, password: &str) -> u16 {
    s.post_json("/auth/login", json!({"email": email, "password": password}))
        .await
        .status()
        .as_u16()
}

pub(crate) async fn the_verification_page_verifies_only_on_its_button(s: TestServer) {
    let token = s.register("pat@example.com").await;
    let form = page(
        s.get(&format!("/verify-email?token={token}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(
        form.contains("<button type=\"submit\" autofocus>"),
        "{form}"
    );
    assert!(
        form.contains("action=\"verify-email\""),
        "a relative form action"
    );
    // A mail scanner's GET (or a second one) changes nothing.
    let _ = s
        .get(&format!("/verify-email?token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(login_status(&s, "pat@example.com", PASSWORD).await, 403);
    let done = page(
        submit(
            &s,
            "/verify-email",
            &[
                ("token", &token),
                ("form_token", &hidden(&form, "form_token")),
            ],
        )
        .await,
    )
    .await;
    assert!(done.contains("verified"), "{done}");
    assert_eq!(login_status(&s, "pat@example.com", PASSWORD).await, 200);
    // Without a genuine form token nothing happens, whatever the Origin says.
    let token = s.register("quinn@example.com").await;
    let refused = page(
        submit(
            &s,
            "/verify-email",
            &[("token", &token), ("form_token", "forged")],
        )
        .await,
    )
    .await;
    assert!(refused.contains("This form has expired"), "{refused}");
    assert_eq!(login_status(&s, "quinn@example.com", PASSWORD).await, 403);
}

pub(crate) async fn the_reset_page_shows_every_rule_and_survives_a_weak_password(s: TestServer) {
    s.verified_user("rob@example.com").await;
    let token = reset_token(&s, "rob@example.com").await;
    let form = page(
        s.get(&format!("/reset-password?token={token}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    for code in [
        "too_short",
        "too_long",
        "missing_uppercase",
        "missing_lowercase",
        "missing_digit",
        "missing_special",
        "common_password",
        "contains_user_info",
    ] {
        assert!(
            form.contains(&format!("data-rule=\"{code}\"")),
            "{code} not listed"
        );
    }
    assert!(form.contains("<label for=\"new_password\">"));
    let weak = page(
        submit(
            &s,
            "/reset-password",
            &[
                ("token", &token),
                ("form_token", &hidden(&form, "form_token")),
                ("new_password", "password"),
            ],
        )
        .await,
    )
    .await;
    for code in [
        "missing_uppercase",
        "missing_digit",
        "missing_special",
        "common_password",
    ] {
        assert!(
            weak.contains(&format!("class=\"failed\" data-rule=\"{code}\"")),
            "{code} not marked failed: {weak}"
        );
    }
    assert!(
        !weak.contains("password\" value=\"password"),
        "the password is never echoed"
    );
    // The link still works: the old password too, until the new one is set.
    assert_eq!(login_status(&s, "rob@example.com", PASSWORD).await, 200);
    let done = page(
        submit(
            &s,
            "/reset-password",
            &[
                ("token", &token),
                ("form_token", &hidden(&weak, "form_token")),
                ("new_password", "Fresh!Start42"),
            ],
        )
        .await,
    )
    .await;
    assert!(done.contains("Password changed"), "{done}");
    assert_eq!(
        login_status(&s, "rob@example.com", "Fresh!Start42").await,
        200
    );
    assert_eq!(login_status(&s, "rob@example.com", PASSWORD).await, 401);
    let used = page(
        s.get(&format!("/reset-password?token={token}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(used.contains("This link cannot be used") && !used.contains(&token));
}

pub(crate) async fn bad_links_and_forms_get_friendly_pages_never_the_token(s: TestServer) {
    for path in [
        "/verify-email",
        "/verify-email?token=",
        "/verify-email?token=eyJhbGciOiJIUzI1NiJ9.e30.SECRETISH",
        "/reset-password?token=not-a-real-RESET-token",
        "/reset-password?token=%FF%FE",
    ] {
        let text = page(s.get(path).send().await.unwrap()).await;
        assert!(text.contains("This link cannot be used"), "{path}: {text}");
        for secret in ["SECRETISH", "RESET", "%FF"] {
            assert!(!text.contains(secret), "{path} echoed its token");
        }
    }
    s.verified_user("sam@example.com").await;
    let token = reset_token(&s, "sam@example.com").await;
    s.clock.advance(Duration::minutes(16));
    let expired = page(
        s.get(&format!("/reset-password?token={token}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(expired.contains("This link has expired") && !expired.contains(&token));
    // A form that is not a form, and one over the body limit.
    let json = s
        .post("/reset-password")
        .json(&json!({"token": "x"}))
        .send()
        .await
        .unwrap();
    assert!(page(json).await.contains("The form could not be read"));
    let large = s
        .post("/reset-password")
        .form(&[("new_password", "x".repeat(70_000))])
        .send()
        .await
        .unwrap();
    assert_eq!(large.status(), 413);
    let css = s.get("/myauth-pages.css").send().await.unwrap();
    assert_eq!(css.status(), 200);
    assert_eq!(
        header(css.headers(), "content-type"),
        "text/css; charset=utf-8"
    );
    // A method a page path does not take is the contract's 405, on both adapters.
    for (method, path) in [
        (reqwest::Method::PUT, "/verify-email"),
        (reqwest::Method::DELETE, "/reset-password"),
        (reqwest::Method::POST, "/myauth-pages.css"),
    ] {
        let wrong = s.client.request(method, s.url(path)).send().await.unwrap();
        assert_problem(wrong, 405, "method_not_allowed").await;
    }
}

pub(crate) async fn the_docs_page_runs_swagger_ui_from_the_binary(s: TestServer) {
    let docs = s.get("/auth/docs").send().await.unwrap();
    assert_eq!(docs.status(), 200);
    let csp = header(docs.headers(), "content-security-policy");
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-eval"),
        "{csp}"
    );
    assert!(csp.contains("connect-src 'self'"), "{csp}");
    let html = docs.text().await.unwrap();
    assert!(!html.contains("//"), "no CDN: {html}");
    for asset in [
        "swagger-ui.css",
        "swagger-ui-bundle.js",
        "swagger-ui-standalone-preset.js",
        "swagger-initializer.js",
    ] {
        assert!(html.contains(&format!("docs/{asset}")));
        let response = s.get(&format!("/auth/docs/{asset}")).send().await.unwrap();
        assert_eq!(response.status(), 200, "{asset}");
        let body = response.text().await.unwrap();
        if asset == "swagger-initializer.js" {
            assert!(
                body.contains("\"validatorUrl\": \"none\"") && body.contains("\"openapi.json\"")
            );
        }
    }
    assert_problem(
        s.get("/auth/docs/missing.js").send().await.unwrap(),
        404,
        "not_found",
    )
    .await;
    let document: Value = s
        .get("/auth/openapi.json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(document["paths"]["/auth/login"]["post"].is_object());
    assert!(
        document["paths"]
            .as_object()
            .unwrap()
            .keys()
            .all(|path| path.starts_with("/auth/"))
    );
}

/// The `Set-Cookie` of a response, with its value and attributes.
fn refresh_cookie(response: &Response) -> (String, String) {
    let set = header(response.headers(), "set-cookie");
    let (pair, attributes) = set.split_once("; ").expect("attributes");
    let value = pair
        .strip_prefix("__Host-myauth_refresh=")
        .unwrap_or_else(|| panic!("not the refresh cookie: {set}"));
    (value.to_owned(), attributes.to_owned())
}

async fn cookie_refresh(
    s: &TestServer,
    cookie: &str,
    csrf: &str,
    origin: Option<&str>,
) -> Response {
    let mut request = s
        .post("/auth/refresh")
        .header(
            "cookie",
            format!("theme=dark; __Host-myauth_refresh={cookie}"),
        )
        .header("x-csrf-token", csrf);
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    request.send().await.unwrap()
}

pub(crate) async fn cookie_mode_keeps_the_refresh_token_in_a_host_cookie_behind_csrf(
    s: TestServer,
) {
    let s = s
        .sibling(config().with_refresh_cookie(true).with_cors_origins([APP]))
        .await;
    s.verified_user("tia@example.com").await;
    let login = s
        .post_json(
            "/auth/login",
            json!({"email": "tia@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(login.status(), 200);
    let (cookie, attributes) = refresh_cookie(&login);
    assert_eq!(
        attributes,
        "HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=604800"
    );
    let body: Value = login.json().await.unwrap();
    assert!(body.get("refresh_token").is_none(), "{body}");
    let csrf = body["csrf_token"].as_str().expect("csrf_token").to_owned();
    let access = body["access_token"].as_str().unwrap().to_owned();
    // Bearer access tokens work as in bearer mode.
    let me = s
        .get("/auth/me")
        .header("authorization", bearer(&access))
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);

    // Every failed CSRF check is 403 csrf_failed and uses nothing up.
    for (csrf_header, origin) in [
        ("wrong", Some(APP)),
        ("", Some(APP)),
        (csrf.as_str(), Some("https://evil.example.test")),
        (csrf.as_str(), Some("null")),
        (csrf.as_str(), None),
    ] {
        let refused = cookie_refresh(&s, &cookie, csrf_header, origin).await;
        assert!(refused.headers().get("set-cookie").is_none());
        assert_problem(refused, 403, "csrf_failed").await;
    }
    // The listed origin and the server's own both pass, and the CSRF token stays the
    // session's across rotations.
    let first = cookie_refresh(&s, &cookie, &csrf, Some(APP)).await;
    assert_eq!(first.status(), 200);
    let (rotated, _) = refresh_cookie(&first);
    assert_ne!(rotated, cookie);
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["csrf_token"], csrf.as_str());
    assert!(first.get("refresh_token").is_none());
    let second = cookie_refresh(&s, &rotated, &csrf, Some(OWN)).await;
    assert_eq!(second.status(), 200);
    let (current, _) = refresh_cookie(&second);

    // Logout needs the check too, then clears the cookie with the same attributes.
    let refused = s
        .post("/auth/logout")
        .header("cookie", format!("__Host-myauth_refresh={current}"))
        .header("origin", APP)
        .send()
        .await
        .unwrap();
    assert_problem(refused, 403, "csrf_failed").await;
    let logout = s
        .post("/auth/logout")
        .header("cookie", format!("__Host-myauth_refresh={current}"))
        .header("origin", APP)
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 204);
    assert_eq!(
        header(logout.headers(), "set-cookie"),
        "__Host-myauth_refresh=; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=0"
    );
    let after = cookie_refresh(&s, &current, &csrf, Some(APP)).await;
    assert_eq!(after.status(), 401);

    // A client that sends the refresh token in the body is served as in bearer mode.
    let second_login = s
        .post_json(
            "/auth/login",
            json!({"email": "tia@example.com", "password": PASSWORD}),
        )
        .await;
    let (token, _) = refresh_cookie(&second_login);
    let by_body = s
        .post_json("/auth/refresh", json!({"refresh_token": token}))
        .await;
    assert_eq!(by_body.status(), 200);
    // Without a cookie or a body: the usual 4xx of a missing field.
    let neither = s
        .post("/auth/refresh")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(neither.status(), 422);
}

pub(crate) async fn bearer_mode_ignores_cookies_and_sets_none(s: TestServer) {
    let (_, refresh) = s.signed_in("uma@example.com").await;
    let login = s
        .post_json(
            "/auth/login",
            json!({"email": "uma@example.com", "password": PASSWORD}),
        )
        .await;
    assert!(login.headers().get("set-cookie").is_none());
    let body: Value = login.json().await.unwrap();
    assert!(body["refresh_token"].is_string() && body.get("csrf_token").is_none());
    let cookie_only = s
        .post("/auth/refresh")
        .header("cookie", format!("__Host-myauth_refresh={refresh}"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(cookie_only.status(), 422);
}

pub(crate) async fn cors_answers_listed_origins_with_credentials_and_no_one_else(s: TestServer) {
    // Without MYAUTH_CORS_ORIGINS: no CORS header at all.
    let plain = s
        .post("/auth/login")
        .header("origin", APP)
        .json(&json!({"email": "x@example.com", "password": "nope"}))
        .send()
        .await
        .unwrap();
    assert!(plain.headers().get("access-control-allow-origin").is_none());
    let s = s.sibling(config().with_cors_origins([APP])).await;
    let preflight = s
        .client
        .request(reqwest::Method::OPTIONS, s.url("/auth/refresh"))
        .header("origin", APP)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type,x-csrf-token",
        )
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success(), "{}", preflight.status());
    let headers = preflight.headers();
    assert_eq!(header(headers, "access-control-allow-origin"), APP);
    assert_eq!(header(headers, "access-control-allow-credentials"), "true");
    let methods = header(headers, "access-control-allow-methods").to_ascii_uppercase();
    for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
        assert!(methods.contains(method), "{methods}");
    }
    let allowed = header(headers, "access-control-allow-headers").to_ascii_lowercase();
    for name in ["content-type", "authorization", "x-csrf-token"] {
        assert!(allowed.contains(name), "{allowed}");
    }
    // Echoed on errors too.
    let error = s
        .post("/auth/login")
        .header("origin", APP)
        .json(&json!({"email": "x@example.com", "password": "nope"}))
        .send()
        .await
        .unwrap();
    assert_eq!(header(error.headers(), "access-control-allow-origin"), APP);
    assert_eq!(
        header(error.headers(), "access-control-allow-credentials"),
        "true"
    );
    assert_problem(error, 401, "invalid_credentials").await;
    // Any other origin: no CORS header, whatever the route answers.
    let other = s
        .post("/auth/login")
        .header("origin", "https://evil.example.test")
        .json(&json!({"email": "x@example.com", "password": "nope"}))
        .send()
        .await
        .unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
    assert!(
        other
            .headers()
            .get("access-control-allow-credentials")
            .is_none()
    );
    let other_preflight = s
        .client
        .request(reqwest::Method::OPTIONS, s.url("/auth/refresh"))
        .header("origin", "https://evil.example.test")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(
        other_preflight
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}
