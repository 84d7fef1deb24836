//! `MyAuth::max_connections` reaches the store's pool: under 32 concurrent requests the
//! server never holds more connections than it was given.

use myauth::NewUser;
use myauth::auth_postgres::sqlx::{self, Connection as _, PgConnection};

use crate::support::{config, fresh_name, server_url};

/// Connections PostgreSQL holds open to `database`.
async fn connections_to(admin: &mut PgConnection, database: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM pg_stat_activity WHERE datname = $1")
        .bind(database)
        .fetch_one(admin)
        .await
        .unwrap()
}

#[tokio::test]
#[ignore = "needs MYAUTH_TEST_POSTGRES_URL"]
async fn the_pool_never_opens_more_connections_than_max_connections() {
    let base = server_url("MYAUTH_TEST_POSTGRES_URL");
    let database = fresh_name();
    let mut admin = PgConnection::connect(&base).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {database}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let (server, _) = base.rsplit_once('/').unwrap();
    let service = myauth::postgres(format!("{server}/{database}"))
        .config(config().with_require_verified_email(false))
        .max_connections(3)
        .service()
        .await
        .unwrap();
    service
        .register(NewUser {
            email: "pool@example.com".into(),
            username: "pool".into(),
            password: "Str0ng!pass".to_owned().into(),
        })
        .await
        .unwrap();
    let user = service
        .store()
        .find_user_by_email("pool@example.com")
        .await
        .unwrap()
        .unwrap();

    let claims = service
        .authenticate(&service.issue_access_token(&user).unwrap())
        .unwrap();
    let mut readers = tokio::task::JoinSet::new();
    for _ in 0..32 {
        let (service, claims) = (service.clone(), claims.clone());
        readers.spawn(async move {
            for _ in 0..10 {
                service.me(&claims).await.unwrap();
            }
        });
    }
    while let Some(reader) = readers.join_next().await {
        reader.unwrap();
    }
    // The pool keeps what it opened; the default (4 per core, at least 4) would be more.
    let held = connections_to(&mut admin, &database).await;
    assert!(
        (1..=3).contains(&held),
        "{held} connections for a pool of 3"
    );

    drop(service);
    sqlx::query(&format!("DROP DATABASE {database} WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .unwrap();
}
