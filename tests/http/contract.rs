//! The HTTP contract (docs/http-contract.md), one function per rule, run against every
//! adapter × store pair by `http_suite!` in main.rs.

use std::collections::BTreeSet;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::Duration;

use crate::support::{PASSWORD, Sent, TestServer, assert_problem, token_from_link};

fn keys(value: &Value) -> BTreeSet<String> {
    value
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

// ---- registration ----------------------------------------------------------------------

pub(crate) async fn register_returns_201_with_the_user_shape_and_emails_a_link(s: TestServer) {
    let response = s
        .post_json(
            "/auth/register",
            json!({"email": " Alice@Example.com ", "username": "alice", "password": PASSWORD}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let user: Value = response.json().await.unwrap();
    assert_eq!(
        keys(&user),
        [
            "created_at",
            "email",
            "id",
            "is_active",
            "is_verified",
            "roles",
            "updated_at",
            "user_settings",
            "username"
        ]
        .into_iter()
        .map(str::to_owned)
        .collect()
    );
    assert_eq!(user["email"], "alice@example.com");
    assert_eq!(user["username"], "alice");
    assert_eq!(user["roles"], json!([]));
    assert_eq!(user["user_settings"], json!({}));
    assert_eq!(user["is_verified"], false);
    assert_eq!(user["is_active"], true);
    assert!(!user.to_string().contains("argon2"));
    let (kind, email) = s.next_email().await;
    assert_eq!(kind, Sent::Verification);
    assert_eq!(email.to, "alice@example.com");
    assert!(
        email
            .link
            .starts_with("http://localhost:3000/verify-email?token="),
        "{}",
        email.link
    );
}

pub(crate) async fn duplicate_registration_is_409_case_insensitively(s: TestServer) {
    s.register("alice@example.com").await;
    let again = s
        .post_json(
            "/auth/register",
            json!({"email": "ALICE@example.com", "username": "x", "password": PASSWORD}),
        )
        .await;
    assert_problem(again, 409, "user_already_exists").await;
}

pub(crate) async fn weak_password_is_422_with_every_failed_rule(s: TestServer) {
    let response = s
        .post_json(
            "/auth/register",
            json!({"email": "a@example.com", "username": "a", "password": "abc"}),
        )
        .await;
    let body = assert_problem(response, 422, "weak_password").await;
    let codes: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert_eq!(e["field"], "password");
            e["code"].as_str().unwrap()
        })
        .collect();
    assert_eq!(
        codes,
        [
            "too_short",
            "missing_uppercase",
            "missing_digit",
            "missing_special"
        ]
    );
}

pub(crate) async fn invalid_email_and_missing_fields_are_422(s: TestServer) {
    let bad = s
        .post_json(
            "/auth/register",
            json!({"email": "not-an-email", "username": "a", "password": PASSWORD}),
        )
        .await;
    assert_problem(bad, 422, "invalid_email").await;
    let missing = s
        .post_json("/auth/register", json!({"email": "a@example.com"}))
        .await;
    let body = assert_problem(missing, 422, "validation_failed").await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["username", "password"]);
}

pub(crate) async fn registration_ignores_privileged_fields(s: TestServer) {
    let response = s
        .post_json(
            "/auth/register",
            json!({"email": "mallory@example.com", "username": "m", "password": PASSWORD,
                   "roles": ["admin"], "is_verified": true, "is_active": true,
                   "id": "00000000-0000-7000-8000-000000000000", "hashed_password": "x"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let user: Value = response.json().await.unwrap();
    assert_eq!(user["roles"], json!([]));
    assert_eq!(user["is_verified"], false);
    assert_ne!(user["id"], "00000000-0000-7000-8000-000000000000");
    let login = s
        .post_json(
            "/auth/login",
            json!({"email": "mallory@example.com", "password": PASSWORD}),
        )
        .await;
    assert_problem(login, 403, "email_not_verified").await;
}

pub(crate) async fn concurrent_registrations_of_one_email_create_exactly_one(s: TestServer) {
    let requests = (0..16).map(|i| {
        let email = if i % 2 == 0 {
            "race@example.com"
        } else {
            "RACE@Example.com"
        };
        s.post_json(
            "/auth/register",
            json!({"email": email, "username": "r", "password": PASSWORD}),
        )
    });
    let statuses: Vec<u16> = futures_join(requests)
        .await
        .into_iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|&&s| s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|&&s| s == 409).count(),
        15,
        "{statuses:?}"
    );
}

// ---- login ----------------------------------------------------------------------------

pub(crate) async fn login_returns_an_uncacheable_token_pair(s: TestServer) {
    s.verified_user("alice@example.com").await;
    let response = s
        .post_json(
            "/auth/login",
            json!({"email": "ALICE@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let pair: Value = response.json().await.unwrap();
    assert_eq!(
        keys(&pair),
        [
            "access_token",
            "expires_in",
            "refresh_expires_in",
            "refresh_token",
            "token_type"
        ]
        .into_iter()
        .map(str::to_owned)
        .collect()
    );
    assert_eq!(pair["token_type"], "bearer");
    assert_eq!(pair["expires_in"], 1800);
    assert_eq!(pair["refresh_expires_in"], 604_800);
    // The access token is a standard JWT: header typ at+jwt, HS256.
    let header = pair["access_token"]
        .as_str()
        .unwrap()
        .split('.')
        .next()
        .unwrap();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "HS256");
}

pub(crate) async fn login_accepts_the_oauth2_password_grant_form(s: TestServer) {
    s.verified_user("alice@example.com").await;
    let response = s
        .post("/auth/login")
        .form(&[
            ("grant_type", "password"),
            ("username", "alice@example.com"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let pair: Value = response.json().await.unwrap();
    let form = s
        .post("/auth/refresh")
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", pair["refresh_token"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    let wrong_grant = s
        .post("/auth/login")
        .form(&[
            ("grant_type", "client_credentials"),
            ("username", "alice@example.com"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_problem(wrong_grant, 422, "validation_failed").await;
}

pub(crate) async fn login_failures_are_identical_for_unknown_email_and_wrong_password(
    s: TestServer,
) {
    s.verified_user("alice@example.com").await;
    let wrong = s
        .post_json(
            "/auth/login",
            json!({"email": "alice@example.com", "password": "Wr0ng!pass"}),
        )
        .await;
    let wrong = assert_problem(wrong, 401, "invalid_credentials").await;
    let unknown = s
        .post_json(
            "/auth/login",
            json!({"email": "nobody@example.com", "password": PASSWORD}),
        )
        .await;
    let unknown = assert_problem(unknown, 401, "invalid_credentials").await;
    assert_eq!(wrong, unknown);
}

pub(crate) async fn unverified_login_is_403_only_after_the_password(s: TestServer) {
    s.register("alice@example.com").await;
    let wrong = s
        .post_json(
            "/auth/login",
            json!({"email": "alice@example.com", "password": "Wr0ng!pass"}),
        )
        .await;
    assert_problem(wrong, 401, "invalid_credentials").await;
    let right = s
        .post_json(
            "/auth/login",
            json!({"email": "alice@example.com", "password": PASSWORD}),
        )
        .await;
    assert_problem(right, 403, "email_not_verified").await;
}

// ---- refresh ----------------------------------------------------------------------------

pub(crate) async fn refresh_rotates_and_reuse_revokes_the_family(s: TestServer) {
    let (_, first) = s.signed_in("alice@example.com").await;
    let response = s
        .post_json("/auth/refresh", json!({"refresh_token": first}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let second: Value = response.json().await.unwrap();
    let second = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second, first);
    let replay = s
        .post_json("/auth/refresh", json!({"refresh_token": first}))
        .await;
    let body = assert_problem(replay, 401, "revoked_token").await;
    assert!(!body.to_string().contains(&first));
    let victim = s
        .post_json("/auth/refresh", json!({"refresh_token": second}))
        .await;
    assert_problem(victim, 401, "revoked_token").await;
}

pub(crate) async fn unknown_refresh_tokens_are_401_invalid_token(s: TestServer) {
    let response = s
        .post_json("/auth/refresh", json!({"refresh_token": "not-a-token"}))
        .await;
    assert_eq!(
        response.headers()["www-authenticate"],
        r#"Bearer error="invalid_token""#
    );
    assert_problem(response, 401, "invalid_token").await;
    let missing = s.post_json("/auth/refresh", json!({})).await;
    assert_problem(missing, 422, "validation_failed").await;
}

pub(crate) async fn refresh_tokens_expire(s: TestServer) {
    let (_, refresh) = s.signed_in("alice@example.com").await;
    s.clock.advance(Duration::days(7));
    let response = s
        .post_json("/auth/refresh", json!({"refresh_token": refresh}))
        .await;
    assert_problem(response, 401, "expired_token").await;
}

pub(crate) async fn concurrent_refreshes_of_one_token_have_exactly_one_200(s: TestServer) {
    let (_, refresh) = s.signed_in("alice@example.com").await;
    let requests = (0..16).map(|_| s.post_json("/auth/refresh", json!({"refresh_token": refresh})));
    let statuses: Vec<u16> = futures_join(requests)
        .await
        .into_iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|&&s| s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|&&s| s == 401).count(),
        15,
        "{statuses:?}"
    );
}

// ---- logout -------------------------------------------------------------------------------

pub(crate) async fn logout_is_204_idempotent_and_ends_the_session(s: TestServer) {
    let (_, refresh) = s.signed_in("alice@example.com").await;
    for _ in 0..2 {
        let response = s
            .post_json("/auth/logout", json!({"refresh_token": refresh}))
            .await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
    }
    let unknown = s
        .post_json("/auth/logout", json!({"refresh_token": "nope"}))
        .await;
    assert_eq!(unknown.status(), StatusCode::NO_CONTENT);
    let after = s
        .post_json("/auth/refresh", json!({"refresh_token": refresh}))
        .await;
    assert_problem(after, 401, "revoked_token").await;
    let missing = s.post_json("/auth/logout", json!({})).await;
    assert_problem(missing, 422, "validation_failed").await;
}

pub(crate) async fn logout_all_revokes_every_session(s: TestServer) {
    let (access, first) = s.signed_in("alice@example.com").await;
    let second = s.login("alice@example.com", PASSWORD).await["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let unauthenticated = s.post("/auth/logout-all").send().await.unwrap();
    assert_problem(unauthenticated, 401, "missing_token").await;
    let response = s
        .post("/auth/logout-all")
        .header("authorization", bearer(&access))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    for token in [first, second] {
        let r = s
            .post_json("/auth/refresh", json!({"refresh_token": token}))
            .await;
        assert_problem(r, 401, "revoked_token").await;
    }
}

// ---- password reset -------------------------------------------------------------------------

pub(crate) async fn reset_requests_answer_identically_for_unknown_emails(s: TestServer) {
    s.verified_user("alice@example.com").await;
    let known = s
        .post_json(
            "/auth/password-reset-request",
            json!({"email": "alice@example.com"}),
        )
        .await;
    assert_eq!(known.status(), StatusCode::ACCEPTED);
    let known: Value = known.json().await.unwrap();
    let (kind, _) = s.next_email().await;
    assert_eq!(kind, Sent::PasswordReset);
    let unknown = s
        .post_json(
            "/auth/password-reset-request",
            json!({"email": "nobody@example.com"}),
        )
        .await;
    assert_eq!(unknown.status(), StatusCode::ACCEPTED);
    assert_eq!(unknown.json::<Value>().await.unwrap(), known);
    s.assert_no_email().await;
    let bad = s
        .post_json("/auth/password-reset-request", json!({"email": "nope"}))
        .await;
    assert_problem(bad, 422, "invalid_email").await;
}

async fn reset_token(s: &TestServer, email: &str) -> String {
    let response = s
        .post_json("/auth/password-reset-request", json!({"email": email}))
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let (kind, link) = s.next_email().await;
    assert_eq!(kind, Sent::PasswordReset);
    assert!(
        link.link
            .starts_with("http://localhost:3000/reset-password?token=")
    );
    token_from_link(&link.link)
}

pub(crate) async fn password_reset_is_single_use_and_revokes_sessions(s: TestServer) {
    let (_, refresh) = s.signed_in("alice@example.com").await;
    let token = reset_token(&s, "alice@example.com").await;
    let weak = s
        .post_json(
            "/auth/password-reset",
            json!({"token": token, "new_password": "weak"}),
        )
        .await;
    assert_problem(weak, 422, "weak_password").await;
    let ok = s
        .post_json(
            "/auth/password-reset",
            json!({"token": token, "new_password": "N3w!password"}),
        )
        .await;
    assert_eq!(ok.status(), StatusCode::NO_CONTENT);
    let again = s
        .post_json(
            "/auth/password-reset",
            json!({"token": token, "new_password": "An0ther!pass"}),
        )
        .await;
    assert_problem(again, 401, "invalid_token").await;
    let old_session = s
        .post_json("/auth/refresh", json!({"refresh_token": refresh}))
        .await;
    assert_problem(old_session, 401, "revoked_token").await;
    let old_password = s
        .post_json(
            "/auth/login",
            json!({"email": "alice@example.com", "password": PASSWORD}),
        )
        .await;
    assert_problem(old_password, 401, "invalid_credentials").await;
    s.login("alice@example.com", "N3w!password").await;
}

pub(crate) async fn reset_tokens_expire_after_fifteen_minutes(s: TestServer) {
    s.verified_user("alice@example.com").await;
    let token = reset_token(&s, "alice@example.com").await;
    s.clock.advance(Duration::minutes(15));
    let response = s
        .post_json(
            "/auth/password-reset",
            json!({"token": token, "new_password": "N3w!password"}),
        )
        .await;
    assert_problem(response, 401, "expired_token").await;
}

// ---- email verification -----------------------------------------------------------------------

pub(crate) async fn verification_link_verifies_and_twice_is_fine(s: TestServer) {
    let token = s.register("alice@example.com").await;
    for _ in 0..2 {
        let response = s
            .post_json("/auth/verify-email", json!({"token": token}))
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let user: Value = response.json().await.unwrap();
        assert_eq!(user["is_verified"], true);
    }
    s.login("alice@example.com", PASSWORD).await;
    let garbage = s
        .post_json("/auth/verify-email", json!({"token": "x.y.z"}))
        .await;
    assert_problem(garbage, 401, "invalid_token").await;
}

pub(crate) async fn verify_requests_answer_identically(s: TestServer) {
    s.register("alice@example.com").await;
    let pending = s
        .post_json(
            "/auth/verify-email-request",
            json!({"email": "alice@example.com"}),
        )
        .await;
    assert_eq!(pending.status(), StatusCode::ACCEPTED);
    let pending: Value = pending.json().await.unwrap();
    s.next_email().await;
    let unknown = s
        .post_json(
            "/auth/verify-email-request",
            json!({"email": "nobody@example.com"}),
        )
        .await;
    assert_eq!(unknown.status(), StatusCode::ACCEPTED);
    assert_eq!(unknown.json::<Value>().await.unwrap(), pending);
    s.assert_no_email().await;
}

pub(crate) async fn verification_and_access_tokens_are_not_interchangeable(s: TestServer) {
    let verify = s.register("alice@example.com").await;
    let me = s
        .get("/auth/me")
        .header("authorization", bearer(&verify))
        .send()
        .await
        .unwrap();
    assert_problem(me, 401, "invalid_token").await;
    let (access, _) = s.signed_in("bob@example.com").await;
    let response = s
        .post_json("/auth/verify-email", json!({"token": access}))
        .await;
    assert_problem(response, 401, "invalid_token").await;
}

pub(crate) async fn verification_links_expire(s: TestServer) {
    let token = s.register("alice@example.com").await;
    s.clock.advance(Duration::hours(24) + Duration::seconds(5));
    let response = s
        .post_json("/auth/verify-email", json!({"token": token}))
        .await;
    assert_problem(response, 401, "expired_token").await;
}

// ---- the signed-in user ---------------------------------------------------------------------

pub(crate) async fn me_needs_a_valid_bearer_token(s: TestServer) {
    let (access, _) = s.signed_in("alice@example.com").await;
    let me = s
        .get("/auth/me")
        .header("authorization", bearer(&access))
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    let me: Value = me.json().await.unwrap();
    assert_eq!(me["email"], "alice@example.com");

    let missing = s.get("/auth/me").send().await.unwrap();
    assert_eq!(missing.headers()["www-authenticate"], "Bearer");
    assert_problem(missing, 401, "missing_token").await;
    let basic = s
        .get("/auth/me")
        .header("authorization", "Basic YTpi")
        .send()
        .await
        .unwrap();
    assert_problem(basic, 401, "missing_token").await;
    let garbage = s
        .get("/auth/me")
        .header("authorization", "Bearer garbage")
        .send()
        .await
        .unwrap();
    assert_eq!(
        garbage.headers()["www-authenticate"],
        r#"Bearer error="invalid_token""#
    );
    assert_problem(garbage, 401, "invalid_token").await;
}

pub(crate) async fn forged_tokens_are_refused(s: TestServer) {
    let (access, _) = s.signed_in("alice@example.com").await;
    let parts: Vec<&str> = access.split('.').collect();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    claims["roles"] = json!(["admin"]);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let tampered = format!("{}.{payload}.{}", parts[0], parts[2]);
    let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"at+jwt"}"#);
    let alg_none = format!("{none_header}.{payload}.");
    let other_secret = {
        let other = auth_core::AuthService::builder()
            .config(auth_core::AuthConfig::new(
                "a completely different secret, 32+ bytes",
            ))
            .store(auth_core::MemoryStore::new())
            .build()
            .unwrap();
        let user = s
            .service
            .store()
            .find_user_by_email("alice@example.com")
            .await
            .unwrap()
            .unwrap();
        other.issue_access_token(&user).unwrap()
    };
    for token in [tampered, alg_none, other_secret] {
        let response = s
            .get("/auth/me")
            .header("authorization", bearer(&token))
            .send()
            .await
            .unwrap();
        assert_problem(response, 401, "invalid_token").await;
    }
}

pub(crate) async fn access_tokens_expire(s: TestServer) {
    let (access, _) = s.signed_in("alice@example.com").await;
    s.clock
        .advance(Duration::minutes(30) + Duration::seconds(5));
    let response = s
        .get("/auth/me")
        .header("authorization", bearer(&access))
        .send()
        .await
        .unwrap();
    assert_problem(response, 401, "expired_token").await;
}

pub(crate) async fn patch_me_changes_username_and_settings_only(s: TestServer) {
    let (access, _) = s.signed_in("alice@example.com").await;
    let response = s
        .client
        .patch(s.url("/auth/me"))
        .header("authorization", bearer(&access))
        .json(&json!({"username": "Alice", "user_settings": {"theme": "dark"}, "roles": ["admin"], "is_active": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let user: Value = response.json().await.unwrap();
    assert_eq!(user["username"], "Alice");
    assert_eq!(user["user_settings"], json!({"theme": "dark"}));
    assert_eq!(user["roles"], json!([]));
    assert_eq!(user["is_active"], true);
    let bad = s
        .client
        .patch(s.url("/auth/me"))
        .header("authorization", bearer(&access))
        .json(&json!({"user_settings": "not an object"}))
        .send()
        .await
        .unwrap();
    assert_problem(bad, 422, "validation_failed").await;
}

pub(crate) async fn change_password_checks_the_current_one_and_revokes_sessions(s: TestServer) {
    let (access, refresh) = s.signed_in("alice@example.com").await;
    let change = |current: &str, new: &str| {
        s.post("/auth/change-password")
            .header("authorization", bearer(&access))
            .json(&json!({"current_password": current, "new_password": new}))
            .send()
    };
    assert_problem(
        change("Wr0ng!pass", "N3w!password").await.unwrap(),
        401,
        "invalid_credentials",
    )
    .await;
    assert_problem(
        change(PASSWORD, "weak").await.unwrap(),
        422,
        "weak_password",
    )
    .await;
    assert_eq!(
        change(PASSWORD, "N3w!password").await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    let old = s
        .post_json("/auth/refresh", json!({"refresh_token": refresh}))
        .await;
    assert_problem(old, 401, "revoked_token").await;
    s.login("alice@example.com", "N3w!password").await;
}

pub(crate) async fn application_routes_use_the_extractors(s: TestServer) {
    let (access, _) = s.signed_in("alice@example.com").await;
    let root = s.get("/").send().await.unwrap();
    assert_eq!(root.status(), StatusCode::OK);
    let whoami = s
        .get("/api/whoami")
        .header("authorization", bearer(&access))
        .send()
        .await
        .unwrap();
    assert_eq!(whoami.status(), StatusCode::OK);
    assert_eq!(whoami.text().await.unwrap().len(), 36);
    let anonymous = s.get("/api/whoami").send().await.unwrap();
    assert_problem(anonymous, 401, "missing_token").await;
    let not_editor = s
        .get("/api/editor")
        .header("authorization", bearer(&access))
        .send()
        .await
        .unwrap();
    assert_problem(not_editor, 403, "forbidden").await;
}

// ---- malformed requests ---------------------------------------------------------------------

pub(crate) async fn malformed_oversized_and_mistyped_bodies_get_their_codes(s: TestServer) {
    let malformed = s
        .post("/auth/register")
        .header("content-type", "application/json")
        .body("{\"email\": ")
        .send()
        .await
        .unwrap();
    assert_problem(malformed, 400, "malformed_body").await;
    let text = s
        .post("/auth/register")
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_problem(text, 415, "unsupported_media_type").await;
    let form_on_register = s
        .post("/auth/register")
        .form(&[("email", "a@example.com")])
        .send()
        .await
        .unwrap();
    assert_problem(form_on_register, 415, "unsupported_media_type").await;
    let huge =
        json!({"email": "a@example.com", "username": "x".repeat(70 * 1024), "password": PASSWORD});
    let too_large = s.post_json("/auth/register", huge).await;
    assert_problem(too_large, 413, "body_too_large").await;
    let wrong_type = s
        .post_json("/auth/login", json!({"email": 42, "password": PASSWORD}))
        .await;
    assert_problem(wrong_type, 422, "validation_failed").await;
    let unknown_route = s.get("/auth/nope").send().await.unwrap();
    assert_problem(unknown_route, 404, "not_found").await;
    let wrong_method = s.get("/auth/login").send().await.unwrap();
    assert_problem(wrong_method, 405, "method_not_allowed").await;
}

pub(crate) async fn openapi_document_is_served(s: TestServer) {
    let response = s.get("/auth/openapi.json").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let doc: Value = response.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/auth/login"]["post"].is_object());
}

// ---- admin ----------------------------------------------------------------------------------

pub(crate) async fn admin_routes_need_the_admin_role(s: TestServer) {
    let (access, _) = s.signed_in("alice@example.com").await;
    let response = s
        .get("/auth/admin/users")
        .header("authorization", bearer(&access))
        .send()
        .await
        .unwrap();
    assert_problem(response, 403, "forbidden").await;
    let anonymous = s.get("/auth/admin/users").send().await.unwrap();
    assert_problem(anonymous, 401, "missing_token").await;
}

pub(crate) async fn admin_lists_gets_and_sets_roles(s: TestServer) {
    let admin = s.admin("root@example.com").await;
    s.verified_user("alice@example.com").await;
    let page = s
        .get("/auth/admin/users?limit=1&offset=1")
        .header("authorization", bearer(&admin))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let page: Value = page.json().await.unwrap();
    assert_eq!(page["total"], 2);
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["email"], "alice@example.com");
    let id = page["items"][0]["id"].as_str().unwrap().to_owned();

    let user = s
        .get(&format!("/auth/admin/users/{id}"))
        .header("authorization", bearer(&admin))
        .send()
        .await
        .unwrap();
    assert_eq!(user.status(), StatusCode::OK);
    for missing in ["00000000-0000-7000-8000-000000000000", "not-a-uuid"] {
        let response = s
            .get(&format!("/auth/admin/users/{missing}"))
            .header("authorization", bearer(&admin))
            .send()
            .await
            .unwrap();
        assert_problem(response, 404, "user_not_found").await;
    }
    let roles = s
        .client
        .put(s.url(&format!("/auth/admin/users/{id}/roles")))
        .header("authorization", bearer(&admin))
        .json(&json!({"roles": ["editor"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(roles.status(), StatusCode::OK);
    assert_eq!(
        roles.json::<Value>().await.unwrap()["roles"],
        json!(["editor"])
    );
    let bad = s
        .client
        .put(s.url(&format!("/auth/admin/users/{id}/roles")))
        .header("authorization", bearer(&admin))
        .json(&json!({"roles": ["not a role"]}))
        .send()
        .await
        .unwrap();
    assert_problem(bad, 422, "validation_failed").await;
    let bad_query = s
        .get("/auth/admin/users?limit=abc")
        .header("authorization", bearer(&admin))
        .send()
        .await
        .unwrap();
    assert_problem(bad_query, 422, "validation_failed").await;
    // The new role is in the next access token.
    let editor = s.login("alice@example.com", PASSWORD).await;
    let route = s
        .get("/api/editor")
        .header(
            "authorization",
            bearer(editor["access_token"].as_str().unwrap()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(route.status(), StatusCode::OK);
}

pub(crate) async fn deactivation_cuts_off_login_refresh_and_me(s: TestServer) {
    let admin = s.admin("root@example.com").await;
    let (access, refresh) = s.signed_in("alice@example.com").await;
    let me: Value = s
        .get("/auth/me")
        .header("authorization", bearer(&access))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = me["id"].as_str().unwrap().to_owned();
    let response = s
        .post(&format!("/auth/admin/users/{id}/deactivate"))
        .header("authorization", bearer(&admin))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<Value>().await.unwrap()["is_active"], false);

    let login = s
        .post_json(
            "/auth/login",
            json!({"email": "alice@example.com", "password": PASSWORD}),
        )
        .await;
    assert_problem(login, 403, "account_disabled").await;
    let refreshed = s
        .post_json("/auth/refresh", json!({"refresh_token": refresh}))
        .await;
    assert_problem(refreshed, 401, "revoked_token").await;
    let me = s
        .get("/auth/me")
        .header("authorization", bearer(&access))
        .send()
        .await
        .unwrap();
    assert_problem(me, 403, "account_disabled").await;

    let response = s
        .post(&format!("/auth/admin/users/{id}/activate"))
        .header("authorization", bearer(&admin))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    s.login("alice@example.com", PASSWORD).await;
}

/// Runs the requests concurrently (each on its own connection) and collects the answers.
async fn futures_join<F: std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    futures_util::future::join_all(futures).await
}
