//! Bad input gets the same answer on every backend; mistyped fields are named; nothing that
//! carries a user's data is cacheable.

use super::*;

pub(crate) async fn input_one_store_cannot_keep_is_422_on_every_backend(s: TestServer) {
    let (access, _) = s.signed_in("alice@example.com").await;
    let before = s
        .get("/auth/me")
        .header("authorization", bearer(&access))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let mut deep = json!("leaf");
    for _ in 0..40 {
        deep = json!({ "d": deep });
    }
    for patch in [
        json!({"user_settings": {"note": "nul\u{0}byte"}}),
        json!({"user_settings": {"nul\u{0}key": 1}}),
        json!({"user_settings": {"$set": 1}}),
        json!({"user_settings": {"a.b": 1}}),
        json!({"user_settings": {"deep": deep}}),
        json!({"user_settings": {"big": 18_446_744_073_709_551_615_u64}}),
        json!({"username": "nul\u{0}name"}),
        json!({"username": "bidi\u{202e}name"}),
    ] {
        let response = s
            .client
            .patch(s.url("/auth/me"))
            .header("authorization", bearer(&access))
            .json(&patch)
            .send()
            .await
            .unwrap();
        let status = response.status();
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{patch}");
        assert_problem(response, 422, "validation_failed").await;
    }
    let after = s
        .get("/auth/me")
        .header("authorization", bearer(&access))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(before, after, "nothing was written");
    let response = s
        .post_json(
            "/auth/register",
            json!({"email": "nul\u{0}@example.com", "username": "x", "password": PASSWORD}),
        )
        .await;
    assert_problem(response, 422, "invalid_email").await;
}

pub(crate) async fn a_mistyped_field_is_named_and_a_non_object_body_is_422(s: TestServer) {
    let response = s
        .post_json(
            "/auth/register",
            json!({"email": 5, "username": 12345, "password": ["Str0ng!pass"]}),
        )
        .await;
    let body = assert_problem(response, 422, "validation_failed").await;
    let errors: Vec<(String, String)> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert!(!e["message"].as_str().unwrap().contains("column"), "{e}");
            (
                e["field"].as_str().unwrap().to_owned(),
                e["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        errors,
        [
            ("email".to_owned(), "invalid_type".to_owned()),
            ("username".to_owned(), "invalid_type".to_owned()),
            ("password".to_owned(), "invalid_type".to_owned()),
        ]
    );
    // Valid JSON that is not an object creates nothing, on every JSON route.
    let array = s
        .post_json(
            "/auth/register",
            json!(["array@example.com", "alice", PASSWORD]),
        )
        .await;
    assert_problem(array, 422, "validation_failed").await;
    let login = s
        .post_json("/auth/login", json!(["array@example.com", PASSWORD]))
        .await;
    assert_problem(login, 422, "validation_failed").await;
    let (access, _) = s.signed_in("alice@example.com").await;
    let patch = s
        .client
        .patch(s.url("/auth/me"))
        .header("authorization", bearer(&access))
        .json(&json!([null, null]))
        .send()
        .await
        .unwrap();
    assert_problem(patch, 422, "validation_failed").await;
    let reset = s
        .post_json("/auth/password-reset-request", json!("alice@example.com"))
        .await;
    assert_problem(reset, 422, "validation_failed").await;
}

pub(crate) async fn every_answer_with_a_users_data_is_uncacheable(s: TestServer) {
    let admin = s.admin("root@example.com").await;
    let register = s
        .post_json(
            "/auth/register",
            json!({"email": "alice@example.com", "username": "alice", "password": PASSWORD}),
        )
        .await;
    assert_eq!(register.status(), StatusCode::CREATED);
    assert_eq!(register.headers()["cache-control"], "no-store");
    let id = register.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, link) = s.next_email().await;
    let verify = s
        .post_json(
            "/auth/verify-email",
            json!({"token": token_from_link(&link.link)}),
        )
        .await;
    assert_eq!(verify.headers()["cache-control"], "no-store");
    let pair = s.login("alice@example.com", PASSWORD).await;
    let access = pair["access_token"].as_str().unwrap().to_owned();
    let me = s
        .get("/auth/me")
        .header("authorization", bearer(&access))
        .send()
        .await
        .unwrap();
    assert_eq!(me.headers()["cache-control"], "no-store");
    let patched = s
        .client
        .patch(s.url("/auth/me"))
        .header("authorization", bearer(&access))
        .json(&json!({"username": "al"}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.headers()["cache-control"], "no-store");
    for path in [
        "/auth/admin/users".to_owned(),
        format!("/auth/admin/users/{id}"),
        format!("/auth/admin/users/{id}/sessions"),
    ] {
        let response = s
            .get(&path)
            .header("authorization", bearer(&admin))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(response.headers()["cache-control"], "no-store", "{path}");
    }
}
