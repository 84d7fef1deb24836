//! Logout and logout-all.

use super::*;

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
