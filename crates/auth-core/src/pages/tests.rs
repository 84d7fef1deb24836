use bytes::Bytes;
use http::HeaderValue;

use super::*;
use crate::service::test_support::{Harness, PASSWORD, secret};

fn get(query: &str) -> ApiRequest {
    ApiRequest {
        query: Some(query.to_owned()),
        ..ApiRequest::default()
    }
}

fn post(fields: &[(&str, &str)]) -> ApiRequest {
    let mut request = ApiRequest {
        body: RequestBody::Bytes(Bytes::from(serde_urlencoded::to_string(fields).unwrap())),
        ..ApiRequest::default()
    };
    request.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    // With `Referrer-Policy: no-referrer`, browsers post `Origin: null`: accepted.
    request
        .headers
        .insert(header::ORIGIN, HeaderValue::from_static("null"));
    request
}

fn text(response: &ApiResponse) -> &str {
    std::str::from_utf8(response.body()).unwrap()
}

/// The value of a hidden form field in a page.
fn hidden(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {page}"))
        + marker.len();
    let end = start + page[start..].find('"').unwrap();
    page[start..end].to_owned()
}

async fn page(h: &Harness, endpoint: PageEndpoint, request: ApiRequest) -> ApiResponse {
    handle_page(&h.service, &Pages::default(), endpoint, request).await
}

async fn registered(h: &Harness, email: &str) -> String {
    h.service.register(Harness::new_user(email)).await.unwrap();
    h.outbox.next().await.1.token
}

async fn reset_link(h: &Harness, email: &str) -> String {
    h.verified_user(email).await;
    h.service.request_password_reset(email).await.unwrap();
    h.outbox.next().await.1.token
}

async fn is_verified(h: &Harness, email: &str) -> bool {
    use crate::store::UserStore as _;
    h.store
        .find_user_by_email(email)
        .await
        .unwrap()
        .unwrap()
        .is_verified
}

#[test]
fn every_built_in_template_parses() {
    let pages = Pages::default();
    for (name, _) in TEMPLATES {
        assert!(pages.env.get_template(name).is_ok(), "{name}");
    }
}

#[tokio::test]
async fn the_verification_get_only_shows_a_form_and_its_post_verifies() {
    let h = Harness::new();
    let token = registered(&h, "ann@example.com").await;
    let form = page(
        &h,
        PageEndpoint::VerifyEmailForm,
        get(&format!("token={token}")),
    )
    .await;
    assert_eq!(form.status(), StatusCode::OK);
    let html = text(&form);
    assert!(
        html.contains("<html lang=\"en\">") && html.contains("<button type=\"submit\" autofocus>")
    );
    assert!(
        !is_verified(&h, "ann@example.com").await,
        "a GET must change nothing"
    );
    let form_token = hidden(html, "form_token");
    let done = page(
        &h,
        PageEndpoint::VerifyEmail,
        post(&[("token", &token), ("form_token", &form_token)]),
    )
    .await;
    assert_eq!(done.status(), StatusCode::OK);
    assert!(text(&done).contains("verified"), "{}", text(&done));
    assert!(is_verified(&h, "ann@example.com").await);
}

#[tokio::test]
async fn a_post_without_a_valid_form_token_changes_nothing() {
    let h = Harness::new();
    let token = registered(&h, "bob@example.com").await;
    let other = h.service.page_form_token(RESET, &token);
    for form_token in ["", "forged", other.as_str()] {
        let response = page(
            &h,
            PageEndpoint::VerifyEmail,
            post(&[("token", &token), ("form_token", form_token)]),
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(text(&response).contains(&h_texts().form_expired_title));
        assert!(!is_verified(&h, "bob@example.com").await);
    }
}

fn h_texts() -> Texts {
    Texts::default()
}

#[tokio::test]
async fn bad_links_get_a_friendly_200_page_that_never_echoes_the_token() {
    let h = Harness::new();
    let reset = reset_link(&h, "cy@example.com").await;
    let used = reset.clone();
    h.service
        .complete_password_reset(&used, &secret("An0ther!pass"))
        .await
        .unwrap();
    for (endpoint, query, token) in [
        (PageEndpoint::VerifyEmailForm, "", ""),
        (
            PageEndpoint::VerifyEmailForm,
            "token=not-a-jwt-SECRETISH",
            "not-a-jwt-SECRETISH",
        ),
        (PageEndpoint::ResetPasswordForm, "token=%ZZ%", "%ZZ%"),
        (
            PageEndpoint::ResetPasswordForm,
            &format!("token={used}"),
            used.as_str(),
        ),
        (
            PageEndpoint::ResetPasswordForm,
            "token=unknown-token-VALUE",
            "unknown-token-VALUE",
        ),
    ] {
        let response = page(&h, endpoint, get(query)).await;
        assert_eq!(response.status(), StatusCode::OK, "{query}");
        let html = text(&response);
        assert!(
            html.contains(&h_texts().invalid_link_title),
            "{query}: {html}"
        );
        if !token.is_empty() {
            assert!(!html.contains(token), "{query} echoed");
        }
    }
}

#[tokio::test]
async fn an_expired_link_says_so() {
    let h = Harness::new();
    let token = reset_link(&h, "dee@example.com").await;
    h.clock.advance(time::Duration::hours(1));
    let response = page(
        &h,
        PageEndpoint::ResetPasswordForm,
        get(&format!("token={token}")),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(text(&response).contains(&h_texts().expired_link_title));
    assert!(!text(&response).contains(&token));
}

#[tokio::test]
async fn a_weak_password_shows_every_failed_rule_and_the_link_stays_usable() {
    let h = Harness::new();
    let token = reset_link(&h, "eve@example.com").await;
    let form = page(
        &h,
        PageEndpoint::ResetPasswordForm,
        get(&format!("token={token}")),
    )
    .await;
    let html = text(&form).to_owned();
    for rule in h.service.config().password_policy().rules() {
        assert!(
            html.contains(&format!("data-rule=\"{}\"", rule.code())),
            "{rule:?} not listed"
        );
    }
    assert!(html.contains("<label for=\"new_password\">"));
    let weak = page(
        &h,
        PageEndpoint::ResetPassword,
        post(&[
            ("token", &token),
            ("form_token", &hidden(&html, "form_token")),
            ("new_password", "short"),
        ]),
    )
    .await;
    assert_eq!(weak.status(), StatusCode::OK);
    let weak_html = text(&weak).to_owned();
    assert!(weak_html.contains("role=\"alert\""));
    for code in [
        "too_short",
        "missing_uppercase",
        "missing_digit",
        "missing_special",
    ] {
        assert!(
            weak_html.contains(&format!("class=\"failed\" data-rule=\"{code}\"")),
            "{code}"
        );
    }
    assert!(weak_html.contains("class=\"rule\" data-rule=\"missing_lowercase\""));
    let done = page(
        &h,
        PageEndpoint::ResetPassword,
        post(&[
            ("token", &token),
            ("form_token", &hidden(&weak_html, "form_token")),
            ("new_password", "N3w!password"),
        ]),
    )
    .await;
    assert!(
        text(&done).contains(&h_texts().reset_done_title),
        "{}",
        text(&done)
    );
    assert!(
        h.service
            .login("eve@example.com", &secret("N3w!password"))
            .await
            .is_ok()
    );
    assert!(
        h.service
            .login("eve@example.com", &secret(PASSWORD))
            .await
            .is_err()
    );
    let again = page(
        &h,
        PageEndpoint::ResetPassword,
        post(&[
            ("token", &token),
            ("form_token", &hidden(&weak_html, "form_token")),
            ("new_password", "Y3t!another"),
        ]),
    )
    .await;
    assert!(text(&again).contains(&h_texts().invalid_link_title));
}

#[tokio::test]
async fn pages_carry_the_security_headers_and_the_stylesheet_is_served() {
    let h = Harness::new();
    let response = page(&h, PageEndpoint::VerifyEmailForm, get("token=x")).await;
    let headers = response.headers();
    assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
    assert!(!csp.contains("script-src"), "no script at all");
    assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");
    assert_eq!(headers[header::REFERRER_POLICY], "no-referrer");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    assert!(!text(&response).contains("<script"));
    let css = page(&h, PageEndpoint::Stylesheet, ApiRequest::default()).await;
    assert_eq!(
        css.headers()[header::CONTENT_TYPE],
        "text/css; charset=utf-8"
    );
    assert!(text(&css).contains("main"));
}

#[tokio::test]
async fn forms_that_cannot_be_read_get_a_page_and_large_ones_413() {
    let h = Harness::new();
    let mut json = post(&[]);
    json.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let response = page(&h, PageEndpoint::VerifyEmail, json).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(text(&response).contains(&h_texts().bad_form_title));
    let mut large = post(&[]);
    large.body = RequestBody::TooLarge(64 * 1024);
    let response = page(&h, PageEndpoint::ResetPassword, large).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn an_application_replaces_one_template_and_the_texts() {
    let h = Harness::new();
    let pages = Pages::default()
        .with_template(
            "message.html",
            "<!DOCTYPE html><html lang=\"{{ t.lang }}\"><h1>Acme: {{ title }}</h1><p>{{ message }}</p></html>",
        )
        .unwrap();
    let texts = Texts {
        lang: "fr".to_owned(),
        invalid_link_title: "Lien inutilisable <b>".to_owned(),
        ..Texts::default()
    };
    let pages = pages.with_texts(texts);
    let response = handle_page(&h.service, &pages, PageEndpoint::VerifyEmailForm, get("")).await;
    let html = text(&response);
    assert!(
        html.starts_with(
            "<!DOCTYPE html><html lang=\"fr\"><h1>Acme: Lien inutilisable &lt;b&gt;</h1>"
        ),
        "{html}"
    );
    assert!(matches!(
        Pages::default().with_template("nope.html", ""),
        Err(PagesError::UnknownTemplate(_))
    ));
    assert!(matches!(
        Pages::default().with_template("base.html", "{% if %}"),
        Err(PagesError::Syntax { .. })
    ));
}
