//! Password reset.

use super::*;

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
