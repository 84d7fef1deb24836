//! Email verification.

use super::*;

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
    // The email sent at registration started the verification cooldown.
    s.clock.advance(Duration::seconds(61));
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
