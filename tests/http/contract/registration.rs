//! Registration.

use super::*;

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
            "mfa_enabled",
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
            "missing_special",
            "common_password"
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
