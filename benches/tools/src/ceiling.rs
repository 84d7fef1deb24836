//! The ceiling for the HTTP benchmarks (`benches/http/run.sh`): the same small JSON body,
//! once with no auth at all (`GET /bare`) and once behind `CurrentUser` (`GET /protected`,
//! a stateless JWT check with the secret in `MYAUTH_JWT_SECRET`). The ratio between the two
//! is what MyAuth costs on an application's hot path.
//!
//! Both routes run in the same process, on the same runtime as the reference server
//! (`#[tokio::main]`, one worker thread per core), so the ratio is the price of the check
//! alone. The access tokens of a reference server with the same secret pass here.
//!
//! `MYAUTH_BIND=127.0.0.1:4000 MYAUTH_JWT_SECRET=… cargo run --release -p myauth-bench-tools --bin ceiling`

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    match ceiling::run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(reason) => {
            eprintln!("error: {reason}");
            ExitCode::FAILURE
        }
    }
}

mod ceiling {
    use axum::routing::get;
    use axum::{Extension, Json, Router};
    use myauth::auth_axum::CurrentUser;
    use myauth::{AuthConfig, AuthService, MemoryStore};
    use serde_json::{Value, json};

    fn body() -> Value {
        json!({"id": "01a22344-c0af-74c1-8e0e-782f92bf46f8", "email": "bench@example.com", "ok": true})
    }

    pub(crate) async fn run() -> Result<(), String> {
        let bind = std::env::var("MYAUTH_BIND").unwrap_or_else(|_| "127.0.0.1:4000".to_owned());
        let config = AuthConfig::from_env().map_err(|e| e.to_string())?;
        // Only tokens are checked here; the store is never read.
        let service = AuthService::builder()
            .config(config)
            .store(MemoryStore::new())
            .build()
            .map_err(|e| e.to_string())?;
        // The service is added to /protected only: /bare pays for nothing of MyAuth.
        let app = Router::new()
            .route("/bare", get(|| async { Json(body()) }))
            .route(
                "/protected",
                get(|CurrentUser(_claims): CurrentUser| async { Json(body()) })
                    .layer(Extension(service)),
            );
        let listener = tokio::net::TcpListener::bind(&bind)
            .await
            .map_err(|e| format!("cannot listen on {bind}: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        println!("listening on {addr}");
        axum::serve(listener, app).await.map_err(|e| e.to_string())
    }
}
