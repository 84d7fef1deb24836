//! Sessions and revocation: the session list, ending one, and cuts that reach every access
//! token — at once on the database-checked routes and on this instance's stateless ones.

use super::*;

async fn hello(s: &TestServer, access: &str) -> reqwest::Response {
    s.get("/hello")
        .header("authorization", bearer(access))
        .send()
        .await
        .unwrap()
}

async fn me(s: &TestServer, access: &str) -> reqwest::Response {
    s.get("/auth/me")
        .header("authorization", bearer(access))
        .send()
        .await
        .unwrap()
}

pub(crate) async fn sessions_are_listed_newest_first_with_the_current_one_marked(s: TestServer) {
    s.verified_user("alice@example.com").await;
    let first = s.login("alice@example.com", PASSWORD).await;
    s.clock.advance(Duration::seconds(2));
    let second = s
        .post("/auth/login")
        .header("user-agent", "Phone/1.0")
        .json(&json!({"email": "alice@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), StatusCode::OK);
    let second: Value = second.json().await.unwrap();
    let response = s
        .get("/auth/sessions")
        .header(
            "authorization",
            bearer(second["access_token"].as_str().unwrap()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{body}");
    assert_eq!(
        keys(&items[0]),
        [
            "created_at",
            "current",
            "expires_at",
            "id",
            "ip",
            "last_used_at",
            "user_agent"
        ]
        .into_iter()
        .map(str::to_owned)
        .collect()
    );
    assert_eq!(items[0]["current"], true);
    assert_eq!(items[1]["current"], false);
    assert_eq!(items[0]["user_agent"], "Phone/1.0");
    assert_eq!(items[0]["ip"], "127.0.0.1");
    let sid = |pair: &Value| {
        let access = pair["access_token"].as_str().unwrap();
        let payload = access.split('.').nth(1).unwrap();
        let claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        claims["sid"].as_str().unwrap().to_owned()
    };
    assert_eq!(items[0]["id"], sid(&second));
    assert_eq!(items[1]["id"], sid(&first));
}

pub(crate) async fn deleting_a_session_ends_it_and_cuts_its_access_tokens(s: TestServer) {
    s.verified_user("alice@example.com").await;
    let phone = s.login("alice@example.com", PASSWORD).await;
    let laptop = s.login("alice@example.com", PASSWORD).await;
    let phone_access = phone["access_token"].as_str().unwrap();
    let laptop_access = laptop["access_token"].as_str().unwrap();
    let phone_sid = hello(&s, phone_access).await.json::<Value>().await.unwrap()["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    let response = s
        .client
        .delete(s.url(&format!("/auth/sessions/{phone_sid}")))
        .header("authorization", bearer(laptop_access))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    // Cut everywhere on this instance at once: the stateless route and /me.
    assert_problem(hello(&s, phone_access).await, 401, "revoked_token").await;
    assert_problem(me(&s, phone_access).await, 401, "revoked_token").await;
    let refreshed = s
        .post_json(
            "/auth/refresh",
            json!({"refresh_token": phone["refresh_token"]}),
        )
        .await;
    assert_problem(refreshed, 401, "revoked_token").await;
    // The other session lives on.
    assert_eq!(hello(&s, laptop_access).await.status(), StatusCode::OK);
    assert_eq!(me(&s, laptop_access).await.status(), StatusCode::OK);
    // Deleting it again, an unknown id, a malformed id and another user's session all get
    // the same 404.
    s.verified_user("bob@example.com").await;
    let bob = s.login("bob@example.com", PASSWORD).await;
    let bob_sid = hello(&s, bob["access_token"].as_str().unwrap())
        .await
        .json::<Value>()
        .await
        .unwrap()["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut bodies = Vec::new();
    for id in [
        phone_sid.clone(),
        uuid::Uuid::now_v7().to_string(),
        "not-a-uuid".to_owned(),
        bob_sid,
    ] {
        let response = s
            .client
            .delete(s.url(&format!("/auth/sessions/{id}")))
            .header("authorization", bearer(laptop_access))
            .send()
            .await
            .unwrap();
        let mut body = assert_problem(response, 404, "session_not_found").await;
        body["detail"] = json!("");
        bodies.push(body);
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "{bodies:?}");
    assert_eq!(
        hello(&s, bob["access_token"].as_str().unwrap())
            .await
            .status(),
        StatusCode::OK,
        "another user's session is untouched"
    );
}

pub(crate) async fn logout_cuts_the_access_tokens_of_its_session(s: TestServer) {
    s.verified_user("alice@example.com").await;
    let pair = s.login("alice@example.com", PASSWORD).await;
    let access = pair["access_token"].as_str().unwrap();
    assert_eq!(hello(&s, access).await.status(), StatusCode::OK);
    let response = s
        .post_json(
            "/auth/logout",
            json!({"refresh_token": pair["refresh_token"]}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_problem(hello(&s, access).await, 401, "revoked_token").await;
    assert_problem(me(&s, access).await, 401, "revoked_token").await;
}

pub(crate) async fn every_cut_reaches_the_access_tokens_issued_before_it(s: TestServer) {
    // logout-all
    s.verified_user("alice@example.com").await;
    let a = s.login("alice@example.com", PASSWORD).await;
    let b = s.login("alice@example.com", PASSWORD).await;
    let response = s
        .post("/auth/logout-all")
        .header("authorization", bearer(a["access_token"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    for pair in [&a, &b] {
        let access = pair["access_token"].as_str().unwrap();
        assert_problem(hello(&s, access).await, 401, "revoked_token").await;
        assert_problem(me(&s, access).await, 401, "revoked_token").await;
    }
    // A token issued after the cut works, even within the same second.
    let after = s.login("alice@example.com", PASSWORD).await;
    assert_eq!(
        hello(&s, after["access_token"].as_str().unwrap())
            .await
            .status(),
        StatusCode::OK
    );

    // change-password
    let (access, _) = s.signed_in("bob@example.com").await;
    let response = s
        .post("/auth/change-password")
        .header("authorization", bearer(&access))
        .json(&json!({"current_password": PASSWORD, "new_password": "N3w!passw0rd"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_problem(hello(&s, &access).await, 401, "revoked_token").await;
    assert_problem(me(&s, &access).await, 401, "revoked_token").await;

    // password reset
    let (access, _) = s.signed_in("carol@example.com").await;
    let token = reset_token(&s, "carol@example.com").await;
    let response = s
        .post_json(
            "/auth/password-reset",
            json!({"token": token, "new_password": "N3w!passw0rd"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_problem(hello(&s, &access).await, 401, "revoked_token").await;
    assert_problem(me(&s, &access).await, 401, "revoked_token").await;
}

pub(crate) async fn deactivation_cuts_access_tokens_and_me_still_says_disabled(s: TestServer) {
    let admin = s.admin("root@example.com").await;
    let (access, _) = s.signed_in("alice@example.com").await;
    let id = me(&s, &access).await.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let response = s
        .post(&format!("/auth/admin/users/{id}/deactivate"))
        .header("authorization", bearer(&admin))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_problem(hello(&s, &access).await, 401, "revoked_token").await;
    assert_problem(me(&s, &access).await, 403, "account_disabled").await;
}

pub(crate) async fn a_role_change_makes_older_tokens_stale_and_the_database_applies_it(
    s: TestServer,
) {
    let root = s.admin("root@example.com").await;
    let (other_admin, _) = s.signed_in("alice@example.com").await;
    let id = me(&s, &other_admin).await.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let set = |roles: Value| {
        s.client
            .put(s.url(&format!("/auth/admin/users/{id}/roles")))
            .header("authorization", bearer(&root))
            .json(&json!({ "roles": roles }))
            .send()
    };
    assert_eq!(
        set(json!(["admin"])).await.unwrap().status(),
        StatusCode::OK
    );
    // The old token does not carry the role, and it is stale now: refresh to get it.
    assert_problem(hello(&s, &other_admin).await, 401, "revoked_token").await;
    let promoted = s.login("alice@example.com", PASSWORD).await;
    let promoted = promoted["access_token"].as_str().unwrap().to_owned();
    let admin_hello = |token: String| {
        s.get("/admin-hello")
            .header("authorization", bearer(&token))
            .send()
    };
    assert_eq!(
        admin_hello(promoted.clone()).await.unwrap().status(),
        StatusCode::OK
    );
    // Demoted: the stateless guard refuses the stale token, the admin routes answer 403
    // from the current roles.
    assert_eq!(set(json!([])).await.unwrap().status(), StatusCode::OK);
    assert_problem(
        admin_hello(promoted.clone()).await.unwrap(),
        401,
        "revoked_token",
    )
    .await;
    let listing = s
        .get("/auth/admin/users")
        .header("authorization", bearer(&promoted))
        .send()
        .await
        .unwrap();
    assert_problem(listing, 403, "forbidden").await;
    let demoted = s.login("alice@example.com", PASSWORD).await;
    let demoted = demoted["access_token"].as_str().unwrap().to_owned();
    assert_problem(admin_hello(demoted).await.unwrap(), 403, "forbidden").await;
}

pub(crate) async fn admins_list_and_end_a_users_sessions(s: TestServer) {
    let admin = s.admin("root@example.com").await;
    let (access, refresh) = s.signed_in("alice@example.com").await;
    s.login("alice@example.com", PASSWORD).await;
    let id = me(&s, &access).await.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let listed = s
        .get(&format!("/auth/admin/users/{id}/sessions"))
        .header("authorization", bearer(&admin))
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), StatusCode::OK);
    let body: Value = listed.json().await.unwrap();
    assert_eq!(body["items"].as_array().unwrap().len(), 2);
    assert!(
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["current"] == false)
    );
    let ended = s
        .client
        .delete(s.url(&format!("/auth/admin/users/{id}/sessions")))
        .header("authorization", bearer(&admin))
        .send()
        .await
        .unwrap();
    assert_eq!(ended.status(), StatusCode::NO_CONTENT);
    assert_problem(hello(&s, &access).await, 401, "revoked_token").await;
    let refreshed = s
        .post_json("/auth/refresh", json!({"refresh_token": refresh}))
        .await;
    assert_problem(refreshed, 401, "revoked_token").await;
    let empty = s
        .get(&format!("/auth/admin/users/{id}/sessions"))
        .header("authorization", bearer(&admin))
        .send()
        .await
        .unwrap();
    assert_eq!(
        empty.json::<Value>().await.unwrap()["items"],
        json!([]),
        "no live session left"
    );
    for (method, path) in [
        (
            "GET",
            format!("/auth/admin/users/{}/sessions", uuid::Uuid::now_v7()),
        ),
        (
            "DELETE",
            format!("/auth/admin/users/{}/sessions", uuid::Uuid::now_v7()),
        ),
    ] {
        let response = s
            .client
            .request(method.parse().unwrap(), s.url(&path))
            .header("authorization", bearer(&admin))
            .send()
            .await
            .unwrap();
        assert_problem(response, 404, "user_not_found").await;
    }
}

/// A reset racing logins that are in flight: none of the tokens those logins return works
/// after the reset, whatever the interleaving.
pub(crate) async fn no_login_in_flight_outlives_a_password_reset(s: TestServer) {
    s.verified_user("alice@example.com").await;
    let token = reset_token(&s, "alice@example.com").await;
    let logins = (0..6).map(|_| {
        s.post_json(
            "/auth/login",
            json!({"email": "alice@example.com", "password": PASSWORD}),
        )
    });
    let reset = s.post_json(
        "/auth/password-reset",
        json!({"token": token, "new_password": "N3w!passw0rd"}),
    );
    let (logins, reset) = tokio::join!(futures_join(logins), reset);
    assert_eq!(reset.status(), StatusCode::NO_CONTENT);
    for response in logins {
        if response.status() != StatusCode::OK {
            continue;
        }
        let pair: Value = response.json().await.unwrap();
        let access = pair["access_token"].as_str().unwrap();
        assert_problem(me(&s, access).await, 401, "revoked_token").await;
        assert_problem(hello(&s, access).await, 401, "revoked_token").await;
        let refreshed = s
            .post_json(
                "/auth/refresh",
                json!({"refresh_token": pair["refresh_token"]}),
            )
            .await;
        assert_problem(refreshed, 401, "revoked_token").await;
    }
    s.login("alice@example.com", "N3w!passw0rd").await;
}

/// With a reuse grace window, presenting a rotated token again within it gets the same
/// successor; after it, the session ends.
pub(crate) async fn a_replay_inside_the_grace_window_gets_the_same_successor(s: TestServer) {
    let s = s
        .sibling(crate::support::config().with_refresh_reuse_grace(Duration::seconds(10)))
        .await;
    s.verified_user("alice@example.com").await;
    let pair = s.login("alice@example.com", PASSWORD).await;
    let first = s
        .post_json(
            "/auth/refresh",
            json!({"refresh_token": pair["refresh_token"]}),
        )
        .await;
    assert_eq!(first.status(), StatusCode::OK);
    let first: Value = first.json().await.unwrap();
    s.clock.advance(Duration::seconds(5));
    let again = s
        .post_json(
            "/auth/refresh",
            json!({"refresh_token": pair["refresh_token"]}),
        )
        .await;
    assert_eq!(again.status(), StatusCode::OK);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["refresh_token"], first["refresh_token"]);
    assert_ne!(again["access_token"], first["access_token"]);
    s.clock.advance(Duration::seconds(6));
    let late = s
        .post_json(
            "/auth/refresh",
            json!({"refresh_token": pair["refresh_token"]}),
        )
        .await;
    assert_problem(late, 401, "revoked_token").await;
    let successor = s
        .post_json(
            "/auth/refresh",
            json!({"refresh_token": first["refresh_token"]}),
        )
        .await;
    assert_problem(successor, 401, "revoked_token").await;
}
