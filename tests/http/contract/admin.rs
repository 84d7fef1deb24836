//! Admin routes.

use super::*;

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
