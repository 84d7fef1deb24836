//! The MongoDB server goes away under the service and comes back: after the first failures
//! the HTTP edge answers 503 with `Retry-After` at once (the store circuit breaker), and the
//! service recovers by itself once the server answers again. The outage is a real one: the
//! store talks to the server through a loopback [`TcpRelay`] that the test stops (port
//! closed, every connection cut) and starts again.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use auth_core::testing::{TcpRelay, outage_drill};
use auth_mongo::MongoStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs MYAUTH_TEST_MONGODB_URL"]
async fn a_server_outage_is_answered_at_once_and_recovered_from_by_itself() {
    let url = common::test_url();
    let authority = url
        .split_once("://")
        .and_then(|(_, rest)| rest.split(['/', '?']).next())
        .expect("host:port in the URL");
    let upstream: SocketAddr = authority
        .parse()
        .unwrap_or_else(|_| panic!("{authority} is not an IP address and port"));
    let relay = TcpRelay::start(upstream).await;
    let mut through = url.replacen(authority, &relay.addr().to_string(), 1);
    if !through.contains("directConnection") {
        through.push_str(if through.contains('?') { "&" } else { "/?" });
        through.push_str("directConnection=true");
    }
    let store = MongoStore::connect_with(
        &through,
        common::fresh_options()
            .with_server_selection_timeout(Duration::from_millis(800))
            .with_connect_timeout(Duration::from_millis(800))
            .with_operation_timeout(Some(Duration::from_secs(2))),
    )
    .await
    .expect("connect through the relay");
    let report = outage_drill(store, &relay, Duration::from_secs(15)).await;
    eprintln!("mongo outage: {report:?}");
}
