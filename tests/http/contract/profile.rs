//! The signed-in user and the application routes.

use super::*;

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
                "YegCmsjSJMflllGsq8cM58FU_inpszoguE-wweLDBKz",
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
