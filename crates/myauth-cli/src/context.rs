//! What every command starts from: the database URL and the configuration, resolved as the
//! server resolves them (the MYAUTH_* variables), with `--database-url` first.

use myauth::secrecy::SecretString;
use myauth::{AuthConfig, AuthService};

use crate::error::{CliError, chain};

/// The database the server uses when nothing names one.
const DEFAULT_DATABASE_URL: &str = "sqlite://myauth.db";

/// The resolved global options.
#[derive(Debug)]
pub(crate) struct Context {
    database_url: Option<String>,
    pub(crate) json: bool,
}

impl Context {
    pub(crate) fn new(database_url: Option<String>, json: bool) -> Self {
        Self {
            database_url: database_url.filter(|url| !url.trim().is_empty()),
            json,
        }
    }

    fn url(&self) -> &str {
        self.database_url.as_deref().unwrap_or(DEFAULT_DATABASE_URL)
    }

    /// Opens the store (running its migrations) and builds the service, configured by the
    /// MYAUTH_* variables like the server. Nothing is sent by email from here.
    pub(crate) async fn service(&self) -> Result<AuthService, CliError> {
        let config = AuthConfig::from_env().map_err(|e| CliError::failure(chain(&e)))?;
        myauth::from_url(self.url())
            .map_err(|e| CliError::failure(format!("--database-url: {}", chain(&e))))?
            .config(config)
            .email(myauth::LogEmailSender::new())
            .service()
            .await
            .map_err(|e| CliError::failure(chain(&e)))
    }

    /// Runs the reference server of `myauth::server`, the same code as
    /// `cargo run --example server`.
    pub(crate) async fn serve(&self) -> Result<(), CliError> {
        let mut settings = myauth::server::Settings::from_env().map_err(CliError::failure)?;
        if let Some(url) = &self.database_url {
            settings.database_url = SecretString::from(url.clone());
        }
        let config = AuthConfig::from_env().map_err(|e| CliError::failure(chain(&e)))?;
        myauth::server::run(settings, config)
            .await
            .map_err(CliError::failure)
    }

    /// A success without a result: a line for people, `{"ok":true}` for scripts.
    pub(crate) fn done(&self, text: &str) {
        if self.json {
            println!("{}", serde_json::json!({ "ok": true, "message": text }));
        } else {
            println!("{text}");
        }
    }
}
