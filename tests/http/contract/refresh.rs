//! Refresh-token rotation.

use super::*;

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
