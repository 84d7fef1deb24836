//! Login.

use super::*;

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
