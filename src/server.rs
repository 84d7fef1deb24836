//! The reference server: the whole HTTP contract, configured only by environment variables
//! (the README's variables table). `cargo run --example server` and `myauth serve` both run
//! it through [`run_from_env`].
//!
//! ```no_run
//! # async fn run() -> Result<(), String> {
//! let settings = myauth::server::Settings::from_env()?;
//! let config = myauth::AuthConfig::from_env().map_err(|e| e.to_string())?;
//! myauth::server::run(settings, config).await
//! # }
//! ```
//!
//! It prints one line `listening on ADDR` once it accepts connections, and every failure
//! before that is one line naming the variable at fault.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use auth_core::secrecy::SecretString;
use auth_core::{AuthConfig, AuthService, LogEmailSender};

use crate::MyAuth;

/// The web framework that serves the routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framework {
    /// axum (the default).
    Axum,
    /// poem (needs the `poem` feature).
    Poem,
}

/// Where emails go.
#[derive(Debug, Clone)]
pub enum EmailDelivery {
    /// Sent through this SMTP URL.
    Smtp {
        /// `smtp://…` or `smtps://…`; may carry a password, so never printed.
        url: SecretString,
        /// The `From` header.
        from: String,
    },
    /// Written, with their links, to the log: development only.
    Log,
}

/// The reference server's own settings (everything beside [`AuthConfig`]).
#[derive(Debug)]
#[non_exhaustive]
pub struct Settings {
    /// `MYAUTH_BIND`, default `127.0.0.1:3000`.
    pub bind: String,
    /// `MYAUTH_FRAMEWORK`, default axum.
    pub framework: Framework,
    /// `MYAUTH_DATABASE_URL`, default `sqlite://myauth.db`.
    pub database_url: SecretString,
    /// `MYAUTH_DB_MAX_CONNECTIONS`, default the store's own.
    pub max_connections: Option<u32>,
    /// `MYAUTH_SMTP_URL`, `MYAUTH_EMAIL_FROM` and `MYAUTH_EMAIL_LOG`.
    pub email: EmailDelivery,
    /// `MYAUTH_ADMIN_EMAIL` and `MYAUTH_ADMIN_PASSWORD`, when both are set.
    pub admin: Option<(String, SecretString)>,
    /// `MYAUTH_REDIS_URL`: the abuse counters in Redis instead of the store.
    pub redis_url: Option<SecretString>,
    /// `MYAUTH_PURGE_INTERVAL_SECS`: how often expired tokens, sessions and counters are
    /// deleted (default one hour).
    pub purge_every: Duration,
}

impl Settings {
    /// Reads the settings from the process environment.
    ///
    /// # Errors
    ///
    /// One line naming the variable at fault.
    pub fn from_env() -> Result<Self, String> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `lookup` (tests); blank values count as unset.
    ///
    /// # Errors
    ///
    /// One line naming the variable at fault.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let var = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let bind = var("MYAUTH_BIND").unwrap_or_else(|| "127.0.0.1:3000".to_owned());
        let framework = match var("MYAUTH_FRAMEWORK").as_deref().map(str::trim) {
            None | Some("axum") => Framework::Axum,
            Some("poem") => Framework::Poem,
            Some(other) => {
                return Err(format!(
                    "MYAUTH_FRAMEWORK must be axum or poem, not {other:?}"
                ));
            }
        };
        let max_connections = match var("MYAUTH_DB_MAX_CONNECTIONS") {
            None => None,
            Some(raw) => Some(
                raw.trim()
                    .parse::<u32>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| {
                        format!(
                            "MYAUTH_DB_MAX_CONNECTIONS must be a whole number above 0, not {raw:?}"
                        )
                    })?,
            ),
        };
        let email_log =
            match var("MYAUTH_EMAIL_LOG") {
                None => None,
                Some(raw) => Some(parse_bool(&raw).ok_or_else(|| {
                    format!("MYAUTH_EMAIL_LOG must be true or false, not {raw:?}")
                })?),
            };
        let email = match (var("MYAUTH_SMTP_URL"), email_log) {
            (Some(_), Some(true)) | (None, Some(true)) => EmailDelivery::Log,
            (Some(url), _) => EmailDelivery::Smtp {
                url: SecretString::from(url),
                from: var("MYAUTH_EMAIL_FROM")
                    .unwrap_or_else(|| "MyAuth <no-reply@localhost>".to_owned()),
            },
            (None, Some(false)) => {
                return Err("MYAUTH_EMAIL_LOG is false but MYAUTH_SMTP_URL is unset: \
                            emails could not be delivered; set MYAUTH_SMTP_URL"
                    .to_owned());
            }
            (None, None) if is_loopback(&bind) => EmailDelivery::Log,
            (None, None) => {
                return Err(format!(
                    "MYAUTH_SMTP_URL is unset and MYAUTH_BIND ({bind}) is not a loopback \
                     address: set MYAUTH_SMTP_URL, or MYAUTH_EMAIL_LOG=true to write emails \
                     with their links to the log (development only)"
                ));
            }
        };
        let admin = match (var("MYAUTH_ADMIN_EMAIL"), var("MYAUTH_ADMIN_PASSWORD")) {
            (Some(email), Some(password)) => Some((email, SecretString::from(password))),
            (None, None) => None,
            (Some(_), None) => {
                return Err("MYAUTH_ADMIN_EMAIL is set but MYAUTH_ADMIN_PASSWORD is not".to_owned());
            }
            (None, Some(_)) => {
                return Err("MYAUTH_ADMIN_PASSWORD is set but MYAUTH_ADMIN_EMAIL is not".to_owned());
            }
        };
        let purge_every = match var("MYAUTH_PURGE_INTERVAL_SECS") {
            None => Duration::from_secs(3600),
            Some(raw) => raw
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|secs| (1..=7 * 86_400).contains(secs))
                .map(Duration::from_secs)
                .ok_or_else(|| {
                    format!(
                        "MYAUTH_PURGE_INTERVAL_SECS must be a whole number of seconds from 1 to 604800, not {raw:?}"
                    )
                })?,
        };
        Ok(Self {
            bind,
            framework,
            database_url: SecretString::from(
                var("MYAUTH_DATABASE_URL").unwrap_or_else(|| "sqlite://myauth.db".to_owned()),
            ),
            max_connections,
            email,
            admin,
            redis_url: var("MYAUTH_REDIS_URL").map(SecretString::from),
            purge_every,
        })
    }
}

/// `true`/`false` in the spellings operators use.
fn parse_bool(raw: &str) -> Option<bool> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// Whether a bind address only accepts connections from this machine. A name other than
/// `localhost` might resolve anywhere, so it does not count.
fn is_loopback(bind: &str) -> bool {
    if let Ok(addr) = bind.parse::<SocketAddr>() {
        return addr.ip().is_loopback();
    }
    let host = bind.rsplit_once(':').map_or(bind, |(host, _)| host);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Reads [`Settings`] and [`AuthConfig`] from the environment and runs the server until
/// Ctrl-C.
///
/// # Errors
///
/// One line saying what stopped the server: a bad variable, an unreachable database, an
/// address that cannot be bound.
pub async fn run_from_env() -> Result<(), String> {
    let settings = Settings::from_env()?;
    let config = AuthConfig::from_env().map_err(|e| e.to_string())?;
    run(settings, config).await
}

/// Runs the reference server: opens the store, makes sure the configured admin exists,
/// starts the purge task, and serves [`axum_app`] or [`poem_app`] on `settings.bind` until
/// Ctrl-C.
///
/// # Errors
///
/// As [`run_from_env`].
pub async fn run(settings: Settings, config: AuthConfig) -> Result<(), String> {
    let kid = config.jwt_signing_key().map(|key| key.kid().to_owned());
    tracing::info!(
        algorithm = config.jwt_algorithm().name(),
        kid = kid.as_deref().unwrap_or("the secret's"),
        previous_keys = config.jwt_previous_keys().len(),
        "JWT signing key"
    );
    let service = service(&settings, config).await?;
    if let Some((email, password)) = &settings.admin {
        let admin = service
            .ensure_admin(email, password)
            .await
            .map_err(|error| admin_error(&error))?;
        tracing::info!(user.id = %admin.id, "admin account ready");
    }
    spawn_purge(service.clone(), settings.purge_every);
    let listener = tokio::net::TcpListener::bind(&settings.bind)
        .await
        .map_err(|e| format!("cannot listen on {} (MYAUTH_BIND): {e}", settings.bind))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    serve(settings.framework, listener, service, addr).await
}

/// Opens the store of `settings` and builds the service, with the email delivery and the
/// counters the settings name: what every command of the `myauth` CLI starts from.
///
/// # Errors
///
/// One line: the database cannot be opened, the configuration is refused, the SMTP URL or
/// the Redis URL is bad or names a feature this build lacks.
pub async fn service(settings: &Settings, config: AuthConfig) -> Result<AuthService, String> {
    use auth_core::secrecy::ExposeSecret as _;
    let mut setup = crate::from_url(settings.database_url.expose_secret())
        .map_err(|e| format!("MYAUTH_DATABASE_URL: {e}"))?
        .config(config);
    if let Some(max) = settings.max_connections {
        setup = setup.max_connections(max);
    }
    setup = match &settings.email {
        EmailDelivery::Log => {
            tracing::warn!(
                "emails are written to the log with their links (MYAUTH_EMAIL_LOG): \
                 development only"
            );
            setup.email(LogEmailSender::new())
        }
        EmailDelivery::Smtp { url, from } => with_smtp(setup, url.expose_secret(), from)?,
    };
    if let Some(url) = &settings.redis_url {
        setup = with_redis(setup, url.expose_secret())?;
    }
    setup.service().await.map_err(|e| e.to_string())
}

/// The start-up admin's refusal as one line an operator can act on.
fn admin_error(error: &auth_core::AuthError) -> String {
    match error {
        auth_core::AuthError::InvalidCredentials => "MYAUTH_ADMIN_EMAIL names an existing \
            account without the admin role, and MYAUTH_ADMIN_PASSWORD is not its password: \
            the role is given only to the account's owner"
            .to_owned(),
        auth_core::AuthError::WeakPassword(rules) => {
            let codes: Vec<&str> = rules.iter().map(|rule| rule.code()).collect();
            format!(
                "MYAUTH_ADMIN_PASSWORD is refused by the password policy: {}",
                codes.join(", ")
            )
        }
        auth_core::AuthError::InvalidEmail => {
            "MYAUTH_ADMIN_EMAIL is not a valid email address".to_owned()
        }
        other => format!("cannot create the admin account: {other}"),
    }
}

#[cfg(feature = "smtp")]
fn with_smtp(setup: MyAuth, url: &str, from: &str) -> Result<MyAuth, String> {
    setup
        .smtp(url, from)
        .map_err(|e| format!("MYAUTH_SMTP_URL: {e}"))
}

#[cfg(not(feature = "smtp"))]
fn with_smtp(_: MyAuth, _: &str, _: &str) -> Result<MyAuth, String> {
    Err("MYAUTH_SMTP_URL is set but this build has no SMTP support (feature `smtp`)".to_owned())
}

#[cfg(feature = "redis")]
fn with_redis(setup: MyAuth, url: &str) -> Result<MyAuth, String> {
    Ok(setup.redis(url))
}

#[cfg(not(feature = "redis"))]
fn with_redis(_: MyAuth, _: &str) -> Result<MyAuth, String> {
    Err("MYAUTH_REDIS_URL is set but this build has no Redis support (feature `redis`)".to_owned())
}

async fn serve(
    framework: Framework,
    listener: tokio::net::TcpListener,
    service: AuthService,
    addr: SocketAddr,
) -> Result<(), String> {
    match framework {
        Framework::Axum => {
            let app = axum_app(service).into_make_service_with_connect_info::<SocketAddr>();
            println!("listening on {addr}");
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown())
                .await
                .map_err(|e| e.to_string())
        }
        #[cfg(feature = "poem")]
        Framework::Poem => {
            let acceptor = poem::listener::TcpAcceptor::from_tokio(listener)
                .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
            println!("listening on {addr}");
            poem::Server::new_with_acceptor(acceptor)
                .run_with_graceful_shutdown(poem_app(service), shutdown(), None)
                .await
                .map_err(|e| e.to_string())
        }
        #[cfg(not(feature = "poem"))]
        Framework::Poem => Err(
            "MYAUTH_FRAMEWORK=poem but this build has no poem support (feature `poem`)".to_owned(),
        ),
    }
}

/// The reference application on axum: a landing page at `/`, the auth routes at `/auth`
/// (admin routes at `/auth/admin`), and two routes of the application's own behind the
/// stateless extractors — `GET /hello` (`CurrentUser`) → `{"sub", "sid", "roles"}` and
/// `GET /admin-hello` (`RequireRole<Admin>`) → `{"sub"}`.
pub fn axum_app(service: AuthService) -> axum::Router {
    use auth_axum::{Admin, CurrentUser, RequireRole};
    use axum::routing::get;

    let cors = auth_axum::cors_layer(service.config());
    let app = axum::Router::new()
        .route(
            "/",
            get(|| async { landing_page().map(axum::body::Body::from) }),
        )
        .route(
            "/hello",
            get(|CurrentUser(claims): CurrentUser| async move { axum::Json(hello(&claims)) }),
        )
        .route(
            "/admin-hello",
            get(|RequireRole(claims, ..): RequireRole<Admin>| async move {
                axum::Json(admin_hello(&claims))
            }),
        )
        .layer(axum::Extension(service.clone()))
        .merge(auth_axum::pages_router(service.clone()))
        .nest("/auth", crate::axum_router(service));
    match cors {
        Some(cors) => app.layer(cors),
        None => app,
    }
}

/// The reference application on poem: the same routes as [`axum_app`].
#[cfg(feature = "poem")]
pub fn poem_app(service: AuthService) -> impl poem::Endpoint {
    use auth_poem::{Admin, CurrentUser, RequireRole};
    use poem::web::Json;
    use poem::{EndpointExt as _, Route, get, handler};

    #[handler]
    fn landing() -> poem::Response {
        let page = landing_page();
        let mut builder = poem::Response::builder();
        for (name, value) in page.headers() {
            builder = builder.header(name, value.clone());
        }
        builder.body(page.into_body())
    }

    #[handler]
    fn hello_route(CurrentUser(claims): CurrentUser) -> Json<serde_json::Value> {
        Json(hello(&claims))
    }

    #[handler]
    fn admin_hello_route(RequireRole(claims, ..): RequireRole<Admin>) -> Json<serde_json::Value> {
        Json(admin_hello(&claims))
    }

    let cors = auth_poem::cors(service.config());
    let app = Route::new()
        .at("/", get(landing))
        .at("/hello", get(hello_route))
        .at("/admin-hello", get(admin_hello_route));
    auth_poem::add_pages(app, service.clone(), Default::default(), Default::default())
        .nest("/auth", crate::poem_route(service.clone()))
        .data(service)
        .with(cors)
}

/// The landing page at `/`: plain HTML (no script, no style), pointing at the API, its
/// interactive documentation and the pages behind the email links.
const LANDING: &str = "<!DOCTYPE html>
<html lang=\"en\">
<head><meta charset=\"utf-8\"><title>MyAuth reference server</title></head>
<body>
<h1>MyAuth reference server</h1>
<p>The API is under <code>/auth</code>: see the <a href=\"auth/docs\">interactive API documentation</a>
and the <a href=\"auth/openapi.json\">OpenAPI document</a>.</p>
<p>The links in the emails open the pages of this server:
<code>/verify-email?token=…</code> and <code>/reset-password?token=…</code>.</p>
</body>
</html>
";

/// [`LANDING`] with the pages' security headers: the same bytes on both frameworks.
fn landing_page() -> axum::http::Response<Vec<u8>> {
    use axum::http;
    let mut response = http::Response::new(LANDING.as_bytes().to_vec());
    let headers = response.headers_mut();
    for (name, value) in [
        (http::header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (
            http::header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (http::header::X_FRAME_OPTIONS, "DENY"),
        (http::header::REFERRER_POLICY, "no-referrer"),
    ] {
        headers.insert(name, http::HeaderValue::from_static(value));
    }
    response
}

fn hello(claims: &auth_core::Claims) -> serde_json::Value {
    serde_json::json!({ "sub": claims.sub, "sid": claims.sid, "roles": claims.roles })
}

fn admin_hello(claims: &auth_core::Claims) -> serde_json::Value {
    serde_json::json!({ "sub": claims.sub })
}

/// Deletes expired tokens, sessions and counters every `every`.
fn spawn_purge(service: AuthService, every: Duration) {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(every);
        loop {
            interval.tick().await;
            match service.purge_expired_tokens().await {
                Ok(purged) => tracing::info!(purged, "expired records purged"),
                Err(error) => tracing::warn!(%error, "purging expired records failed"),
            }
        }
    });
}

async fn shutdown() {
    let _ = tokio::signal::ctrl_c().await;
    tracing::info!("shutting down");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::from_lookup(move |name| {
            vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn emails_go_to_the_log_by_default_only_on_a_loopback_bind() {
        for bind in [
            "127.0.0.1:3000",
            "[::1]:3000",
            "localhost:8080",
            "127.0.0.2:1",
        ] {
            let s = settings(&[("MYAUTH_BIND", bind)]).unwrap();
            assert!(matches!(s.email, EmailDelivery::Log), "{bind}");
        }
        for bind in [
            "0.0.0.0:3000",
            "[::]:3000",
            "192.0.2.1:80",
            "example.com:80",
        ] {
            let error = settings(&[("MYAUTH_BIND", bind)]).unwrap_err();
            assert!(
                error.contains("MYAUTH_SMTP_URL") && error.contains("MYAUTH_EMAIL_LOG"),
                "{error}"
            );
            let s = settings(&[("MYAUTH_BIND", bind), ("MYAUTH_EMAIL_LOG", "true")]).unwrap();
            assert!(matches!(s.email, EmailDelivery::Log), "{bind}");
        }
    }

    #[test]
    fn an_smtp_url_sends_mail_unless_the_log_is_asked_for() {
        let smtp = ("MYAUTH_SMTP_URL", "smtp://127.0.0.1:2525");
        let s = settings(&[smtp, ("MYAUTH_BIND", "0.0.0.0:3000")]).unwrap();
        assert!(
            matches!(&s.email, EmailDelivery::Smtp { from, .. } if from == "MyAuth <no-reply@localhost>")
        );
        let s = settings(&[smtp, ("MYAUTH_EMAIL_LOG", "false")]).unwrap();
        assert!(matches!(s.email, EmailDelivery::Smtp { .. }));
        let s = settings(&[smtp, ("MYAUTH_EMAIL_LOG", "true")]).unwrap();
        assert!(matches!(s.email, EmailDelivery::Log));
        let error = settings(&[("MYAUTH_EMAIL_LOG", "false")]).unwrap_err();
        assert!(error.contains("MYAUTH_SMTP_URL"), "{error}");
        let error = settings(&[("MYAUTH_EMAIL_LOG", "maybe")]).unwrap_err();
        assert!(error.contains("MYAUTH_EMAIL_LOG"), "{error}");
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (name, value) in [
            ("MYAUTH_FRAMEWORK", "rocket"),
            ("MYAUTH_DB_MAX_CONNECTIONS", "0"),
            ("MYAUTH_DB_MAX_CONNECTIONS", "many"),
            ("MYAUTH_PURGE_INTERVAL_SECS", "0"),
            ("MYAUTH_PURGE_INTERVAL_SECS", "hourly"),
            ("MYAUTH_ADMIN_EMAIL", "admin@example.com"),
            ("MYAUTH_ADMIN_PASSWORD", "Secret-passw0rd!"),
        ] {
            let error = settings(&[(name, value)]).unwrap_err();
            assert!(error.contains(name), "{name}: {error}");
        }
        let s = settings(&[
            ("MYAUTH_FRAMEWORK", "poem"),
            ("MYAUTH_DB_MAX_CONNECTIONS", "4"),
            ("MYAUTH_PURGE_INTERVAL_SECS", "60"),
        ])
        .unwrap();
        assert_eq!(s.framework, Framework::Poem);
        assert_eq!(s.max_connections, Some(4));
        assert_eq!(s.purge_every, Duration::from_secs(60));
        assert_eq!(
            settings(&[]).unwrap().purge_every,
            Duration::from_secs(3600)
        );
        assert_eq!(s.bind, "127.0.0.1:3000");
    }

    #[test]
    fn the_admin_refusal_says_what_to_fix_without_the_password() {
        let line = admin_error(&auth_core::AuthError::InvalidCredentials);
        assert!(
            line.contains("MYAUTH_ADMIN_PASSWORD") && !line.contains('\n'),
            "{line}"
        );
    }
}
