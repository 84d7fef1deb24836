//! PostgreSQL goes away under the service and comes back: the HTTP edge answers 503 with
//! `Retry-After` at once once the store is known to be down (the store circuit breaker),
//! and recovers by itself within about a second of the database answering again.
//!
//! The outage is real: the store talks to PostgreSQL through a TCP relay on loopback
//! ([`TcpRelay`]) that the test stops (closing its port and cutting every open connection,
//! as a stopped server or a lost network does) and starts again on the same port.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use auth_core::testing::{TcpRelay, outage_drill};
use auth_postgres::PostgresStore;
use auth_postgres::sqlx::postgres::PgConnectOptions;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs MYAUTH_TEST_POSTGRES_URL"]
async fn a_database_outage_is_answered_at_once_and_recovered_from_by_itself() {
    let schema = common::fresh_schema();
    // Create and migrate the schema directly, so the relay carries only the test's traffic.
    drop(common::store_in(&schema).await);
    let options: PgConnectOptions = common::url().parse().expect("test URL");
    let upstream = SocketAddr::from(([127, 0, 0, 1], options.get_port()));
    let relay = TcpRelay::start(upstream).await;
    let store = PostgresStore::connect_to(
        options.host("127.0.0.1").port(relay.addr().port()),
        common::options(&schema)
            .with_acquire_timeout(Duration::from_millis(800))
            .with_operation_timeout(Duration::from_secs(2)),
    )
    .await
    .expect("connect through the relay");
    let report = outage_drill(store, &relay, Duration::from_secs(10)).await;
    eprintln!("postgres outage: {report:?}");
}
