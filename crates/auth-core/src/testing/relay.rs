//! A TCP relay for outage tests: the store under test talks to its server through a
//! loopback port that the test can close (cutting every open connection, as a stopped
//! server or a lost network does) and open again on the same port.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A relay from a loopback port to `upstream`. Dropping it stops it.
#[derive(Debug)]
pub struct TcpRelay {
    addr: SocketAddr,
    upstream: SocketAddr,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl TcpRelay {
    /// Starts relaying from a free loopback port to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port for the relay");
        let relay = Self {
            addr: listener.local_addr().expect("the relay's address"),
            upstream,
            tasks: Arc::default(),
        };
        relay.serve(listener);
        relay
    }

    /// The loopback address to connect to instead of the upstream.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn tasks(&self) -> MutexGuard<'_, Vec<JoinHandle<()>>> {
        self.tasks.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn serve(&self, listener: TcpListener) {
        let upstream = self.upstream;
        let tasks = Arc::clone(&self.tasks);
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let pipe = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                tasks.lock().unwrap_or_else(|p| p.into_inner()).push(pipe);
            }
        });
        self.tasks().push(accept);
    }

    /// The server "stops": the port closes (new connections are refused) and every open
    /// connection is cut.
    pub fn stop(&self) {
        for task in self.tasks().drain(..) {
            task.abort();
        }
    }

    /// The server "starts" again, on the same port.
    pub async fn resume(&self) {
        // An aborted accept loop releases the port once its task has been dropped.
        let listener = loop {
            match TcpListener::bind(self.addr).await {
                Ok(listener) => break listener,
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        };
        self.serve(listener);
    }
}

impl Drop for TcpRelay {
    fn drop(&mut self) {
        self.stop();
    }
}
