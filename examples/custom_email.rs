//! A user-written email sender, as one would write for a provider's HTTP API (AWS SES,
//! Mailgun, …). Here it hands the message to a channel; the example then plays the user
//! who clicks the link, and verifies the account.
//!
//! `cargo run --example custom_email`

use myauth::secrecy::SecretString;
use myauth::{EmailError, EmailLink, EmailSender, MemoryStore, NewUser, async_trait};
use tokio::sync::mpsc;

/// Delivers emails by handing them to an "API client" (a channel in this example).
#[derive(Debug, Clone)]
struct ApiEmailSender {
    outbox: mpsc::UnboundedSender<(String, String)>,
}

#[async_trait]
impl EmailSender for ApiEmailSender {
    async fn send_verification_email(&self, email: &EmailLink) -> Result<(), EmailError> {
        // A real implementation would POST to the provider here and map its errors into
        // EmailError::with_source(...). The service logs failures and keeps the account.
        self.outbox
            .send((email.to.clone(), email.link.clone()))
            .map_err(|e| EmailError::with_source("provider unreachable", e.to_string()))
    }

    async fn send_password_reset_email(&self, email: &EmailLink) -> Result<(), EmailError> {
        self.outbox
            .send((email.to.clone(), email.link.clone()))
            .map_err(|e| EmailError::with_source("provider unreachable", e.to_string()))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (outbox, mut inbox) = mpsc::unbounded_channel();
    let service = myauth::with_store(MemoryStore::new())
        .email(ApiEmailSender { outbox })
        .service()
        .await?;

    let password = SecretString::from("Str0ng!pass");
    service
        .register(NewUser {
            email: "alice@example.com".into(),
            username: "alice".into(),
            password: password.clone(),
        })
        .await?;

    let (to, link) = inbox.recv().await.ok_or("no email was sent")?;
    println!("email to {to}: {link}");
    let token = link.split_once("?token=").ok_or("link without token")?.1;
    let user = service.complete_email_verification(token).await?;
    println!("verified: {}", user.is_verified);

    let tokens = service.login("alice@example.com", &password).await?;
    println!("logged in; access token expires in {} s", tokens.expires_in);
    Ok(())
}
