//! Scale-out on PostgreSQL: two application instances (two servers, two pools) over one
//! database. Every single-use and uniqueness rule must hold across them.

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{
    Adapter, Backend, PASSWORD, Sent, TestServer, assert_problem, config, fresh_name, server_url,
    token_from_link,
};

async fn two_instances() -> (TestServer, TestServer) {
    let url = server_url("MYAUTH_TEST_POSTGRES_URL");
    let schema = fresh_name();
    let mut servers = Vec::new();
    for _ in 0..2 {
        let options = auth_postgres::PostgresStoreOptions::new()
            .with_schema(schema.clone())
            .with_max_connections(8);
        let store = auth_postgres::PostgresStore::connect_with(&url, options)
            .await
            .expect("postgres store");
        servers.push(
            TestServer::serve(Adapter::Axum, Backend::Postgres, Arc::new(store), config()).await,
        );
    }
    let b = servers.pop().expect("two");
    let a = servers.pop().expect("two");
    (a, b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs MYAUTH_TEST_POSTGRES_URL"]
async fn tokens_issued_by_one_instance_work_on_the_other() {
    let (a, b) = two_instances().await;
    let (access, refresh) = a.signed_in("alice@example.com").await;
    let me = b
        .get("/auth/me")
        .header("authorization", format!("Bearer {access}"))
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    let rotated = b
        .post_json("/auth/refresh", json!({"refresh_token": refresh}))
        .await;
    assert_eq!(rotated.status(), StatusCode::OK);
    let replay = a
        .post_json("/auth/refresh", json!({"refresh_token": refresh}))
        .await;
    assert_problem(replay, 401, "revoked_token").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs MYAUTH_TEST_POSTGRES_URL"]
async fn concurrent_refreshes_over_both_instances_have_exactly_one_winner() {
    let (a, b) = two_instances().await;
    let (_, refresh) = a.signed_in("alice@example.com").await;
    let requests = (0..32).map(|i| {
        let server = if i % 2 == 0 { &a } else { &b };
        server.post_json("/auth/refresh", json!({"refresh_token": refresh}))
    });
    let statuses: Vec<u16> = futures_util::future::join_all(requests)
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
        31,
        "{statuses:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs MYAUTH_TEST_POSTGRES_URL"]
async fn concurrent_registrations_over_both_instances_create_exactly_one_account() {
    let (a, b) = two_instances().await;
    let requests = (0..32).map(|i| {
        let server = if i % 2 == 0 { &a } else { &b };
        server.post_json(
            "/auth/register",
            json!({"email": "race@example.com", "username": "r", "password": PASSWORD}),
        )
    });
    let statuses: Vec<u16> = futures_util::future::join_all(requests)
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
        31,
        "{statuses:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs MYAUTH_TEST_POSTGRES_URL"]
async fn a_reset_token_used_on_one_instance_is_refused_on_the_other() {
    let (a, b) = two_instances().await;
    a.verified_user("alice@example.com").await;
    let requested = a
        .post_json(
            "/auth/password-reset-request",
            json!({"email": "alice@example.com"}),
        )
        .await;
    assert_eq!(requested.status(), StatusCode::ACCEPTED);
    let (kind, link) = a.next_email().await;
    assert_eq!(kind, Sent::PasswordReset);
    let token = token_from_link(&link.link);
    let used = a
        .post_json(
            "/auth/password-reset",
            json!({"token": token, "new_password": "N3w!password"}),
        )
        .await;
    assert_eq!(used.status(), StatusCode::NO_CONTENT);
    let again = b
        .post_json(
            "/auth/password-reset",
            json!({"token": token, "new_password": "An0ther!pass"}),
        )
        .await;
    assert_problem(again, 401, "invalid_token").await;
    b.login("alice@example.com", "N3w!password").await;
}
