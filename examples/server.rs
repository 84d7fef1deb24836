//! The reference server: the whole HTTP contract, configured only by environment variables
//! (see the README). `cargo run --example server` serves it on SQLite (./myauth.db) with
//! emails written to the log.
//!
//! It prints one line `listening on ADDR` once it accepts connections, and exits non-zero
//! with a one-line reason on bad configuration.

use std::io::IsTerminal as _;
use std::process::ExitCode;
use std::time::Duration;

use myauth::secrecy::SecretString;
use myauth::{AuthConfig, AuthService, LogEmailSender};

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        // Colours only for a person at a terminal: in a file, a pipe or a log collector the
        // escape codes are noise that breaks grep and log parsers.
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(reason) => {
            eprintln!("error: {reason}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let bind = var("MYAUTH_BIND").unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    let framework = var("MYAUTH_FRAMEWORK").unwrap_or_else(|| "axum".to_owned());
    if framework != "axum" && framework != "poem" {
        return Err(format!(
            "MYAUTH_FRAMEWORK must be axum or poem, not {framework:?}"
        ));
    }
    let database = var("MYAUTH_DATABASE_URL").unwrap_or_else(|| "sqlite://myauth.db".to_owned());
    if var("MYAUTH_JWT_SECRET").is_none() {
        tracing::warn!(
            "!!! MYAUTH_JWT_SECRET is not set: a random secret is used for this run only. \
             Every token it signs or keys dies when the server stops. Set a secret of 32+ \
             random bytes. !!!"
        );
    }
    // MYAUTH_JWT_ALGORITHM, MYAUTH_JWT_PRIVATE_KEY_FILE and MYAUTH_JWT_PREVIOUS_KEYS are read
    // here too; a bad key file is a one-line error naming the variable and the file.
    let config = AuthConfig::from_env().map_err(|e| e.to_string())?;
    let kid = config.jwt_signing_key().map(|key| key.kid().to_owned());
    tracing::info!(
        algorithm = config.jwt_algorithm().name(),
        kid = kid.as_deref().unwrap_or("the secret's"),
        previous_keys = config.jwt_previous_keys().len(),
        "JWT signing key"
    );
    let mut setup = myauth::from_url(&database)
        .map_err(|e| e.to_string())?
        .config(config);
    if let Some(raw) = var("MYAUTH_DB_MAX_CONNECTIONS") {
        let max = raw
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| {
                format!("MYAUTH_DB_MAX_CONNECTIONS must be a whole number above 0, not {raw:?}")
            })?;
        setup = setup.max_connections(max);
    }
    setup = match var("MYAUTH_SMTP_URL") {
        Some(url) => with_smtp(setup, &url)?,
        None => {
            tracing::warn!("MYAUTH_SMTP_URL is not set: emails are written to the log");
            setup.email(LogEmailSender::new())
        }
    };
    let service = setup.service().await.map_err(|e| e.to_string())?;

    if let (Some(email), Some(password)) = (var("MYAUTH_ADMIN_EMAIL"), var("MYAUTH_ADMIN_PASSWORD"))
    {
        let admin = service
            .ensure_admin(&email, &SecretString::from(password))
            .await
            .map_err(|e| format!("cannot create the admin account: {e}"))?;
        tracing::info!(user.id = %admin.id, "admin account ready");
    }

    spawn_purge(service.clone());

    let listener = tokio::net::TcpListener::bind(&bind)
        .await
        .map_err(|e| format!("cannot listen on {bind}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    serve(&framework, listener, service, addr).await
}

#[cfg(feature = "smtp")]
fn with_smtp(setup: myauth::MyAuth, url: &str) -> Result<myauth::MyAuth, String> {
    let from = var("MYAUTH_EMAIL_FROM").unwrap_or_else(|| "MyAuth <no-reply@localhost>".to_owned());
    setup.smtp(url, &from).map_err(|e| e.to_string())
}

#[cfg(not(feature = "smtp"))]
fn with_smtp(_: myauth::MyAuth, _: &str) -> Result<myauth::MyAuth, String> {
    Err(
        "MYAUTH_SMTP_URL is set but this build has no SMTP support: \
         cargo run --example server --features smtp"
            .to_owned(),
    )
}

async fn serve(
    framework: &str,
    listener: tokio::net::TcpListener,
    service: AuthService,
    addr: std::net::SocketAddr,
) -> Result<(), String> {
    match framework {
        #[cfg(feature = "poem")]
        "poem" => {
            let acceptor = poem::listener::TcpAcceptor::from_tokio(listener)
                .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
            let app = poem::Route::new().nest("/auth", myauth::poem_route(service));
            println!("listening on {addr}");
            poem::Server::new_with_acceptor(acceptor)
                .run_with_graceful_shutdown(app, shutdown(), None)
                .await
                .map_err(|e| e.to_string())
        }
        #[cfg(not(feature = "poem"))]
        "poem" => Err("MYAUTH_FRAMEWORK=poem but this build has no poem support: \
                       cargo run --example server --features poem"
            .to_owned()),
        _ => {
            let app = axum::Router::new().nest("/auth", myauth::axum_router(service));
            println!("listening on {addr}");
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown())
                .await
                .map_err(|e| e.to_string())
        }
    }
}

/// Deletes expired tokens every hour.
fn spawn_purge(service: AuthService) {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(Duration::from_secs(3600));
        loop {
            interval.tick().await;
            match service.purge_expired_tokens().await {
                Ok(purged) => tracing::info!(purged, "expired tokens purged"),
                Err(error) => tracing::warn!(%error, "purging expired tokens failed"),
            }
        }
    });
}

async fn shutdown() {
    let _ = tokio::signal::ctrl_c().await;
    tracing::info!("shutting down");
}
