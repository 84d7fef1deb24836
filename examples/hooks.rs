//! Event hooks: react to what happens in auth — welcome a new user, tell a security channel
//! about password changes, count failed logins — without touching the response path.
//!
//! `cargo run --example hooks --features memory` runs a short scenario in memory and prints
//! what the hooks saw, then the audit log the same events were written to.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use myauth::secrecy::SecretString;
use myauth::{AuditQuery, AuthEvent, AuthEvents, MemoryStore, NewUser, async_trait};

/// The application's hooks: only the events it cares about; every other method keeps its
/// no-op default.
#[derive(Debug, Default)]
struct AppHooks {
    failed_logins: AtomicU64,
}

#[async_trait]
impl AuthEvents for AppHooks {
    async fn on_registered(&self, event: &AuthEvent) {
        // A real application would queue a welcome email or create the CRM contact here.
        println!("hook: welcome, user {:?}", event.user_id);
    }

    async fn on_login_succeeded(&self, event: &AuthEvent) {
        println!(
            "hook: user {:?} signed in, session {:?}, from {:?}",
            event.user_id, event.session_id, event.ip
        );
    }

    async fn on_login_failed(&self, event: &AuthEvent) {
        let n = self.failed_logins.fetch_add(1, Ordering::Relaxed) + 1;
        // The reason is a class; the password never reaches a hook.
        println!("hook: failed login #{n}: {:?}", event.reason);
    }

    async fn on_password_changed(&self, event: &AuthEvent) {
        println!(
            "hook: password changed for {:?} — alert the security channel",
            event.user_id
        );
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let hooks = Arc::new(AppHooks::default());
    let auth = myauth::with_store(MemoryStore::new())
        .config(myauth::AuthConfig::default().with_require_verified_email(false))
        .email(myauth::LogEmailSender::new())
        .shared_events(hooks.clone())
        .service()
        .await?;

    let password = SecretString::from("Str0ng!pass");
    auth.register(NewUser {
        email: "alice@example.com".into(),
        username: "alice".into(),
        password: password.clone(),
    })
    .await?;
    let wrong = SecretString::from("Wr0ng!pass");
    assert!(auth.login("alice@example.com", &wrong).await.is_err());
    let tokens = auth.login("alice@example.com", &password).await?;
    let claims = auth.authenticate(&tokens.access_token)?;
    auth.change_password(&claims, &password, &SecretString::from("N3w!passw0rd"))
        .await?;

    // Hooks and audit writes run in the background; give them a moment in this demo.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    println!(
        "failed logins counted: {}",
        hooks.failed_logins.load(Ordering::Relaxed)
    );

    let admin = auth
        .ensure_admin("root@example.com", &SecretString::from("R00t!passw0rd"))
        .await?;
    let access = auth
        .admin_access(&auth.authenticate(&auth.issue_access_token(&admin)?)?)
        .await?;
    let page = auth
        .audit_log(
            &access,
            AuditQuery {
                limit: 20,
                ..AuditQuery::default()
            },
        )
        .await?;
    for record in page.items.iter().rev() {
        println!(
            "audit #{}: {} user={:?} detail={}",
            record.seq, record.event, record.user_id, record.detail
        );
    }
    let report = myauth::audit::verify(&**auth.store()).await?;
    println!(
        "audit chain: {} records, intact: {}",
        report.checked,
        report.broken.is_none()
    );
    Ok(())
}
