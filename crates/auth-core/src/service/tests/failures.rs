//! Failures of the mail server and the store; configuration.

use super::*;

mockall::mock! {
    #[derive(Debug)]
    Mailer {}
    #[async_trait]
    impl EmailSender for Mailer {
        async fn send_verification_email(&self, email: &EmailLink) -> Result<(), EmailError>;
        async fn send_password_reset_email(&self, email: &EmailLink) -> Result<(), EmailError>;
    }
}

#[tokio::test]
async fn a_failing_mail_server_never_loses_the_account() {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut mailer = MockMailer::new();
    mailer
        .expect_send_verification_email()
        .times(1)
        .returning(move |_| {
            let _ = tx.send(());
            Err(EmailError::new("connection refused"))
        });
    let store = MemoryStore::new();
    let service = AuthService::builder()
        .config(config())
        .store(store.clone())
        .email_sender(mailer)
        .build()
        .unwrap();
    let user = service
        .register(Harness::new_user("alice@example.com"))
        .await
        .unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(5), rx.recv())
        .await
        .unwrap();
    assert_eq!(
        store
            .find_user_by_id(user.id)
            .await
            .unwrap()
            .map(|u| u.email),
        Some("alice@example.com".to_owned())
    );
}

#[tokio::test]
async fn a_failing_store_is_unavailable_without_leaking_its_message() {
    let store = crate::testing::Instrumented::new(MemoryStore::new());
    store.fail("find_user_by_email");
    store.fail("create_user");
    let service = AuthService::builder()
        .config(config())
        .store(store)
        .build()
        .unwrap();
    let login = service
        .login("alice@example.com", &secret(PASSWORD))
        .await
        .unwrap_err();
    assert_eq!(login.status(), 503);
    assert!(!login.to_string().contains("injected"));
    let register = service
        .register(Harness::new_user("alice@example.com"))
        .await
        .unwrap_err();
    assert_eq!(register.code(), "service_unavailable");
    assert!(!register.to_string().contains("injected"));
}

#[test]
fn building_without_a_store_or_with_a_short_secret_fails() {
    assert!(matches!(
        AuthService::builder().config(config()).build(),
        Err(crate::ConfigError::MissingStore)
    ));
    assert!(matches!(
        AuthService::builder()
            .config(AuthConfig::new("short"))
            .store(MemoryStore::new())
            .build(),
        Err(crate::ConfigError::JwtSecretTooShort { .. })
    ));
}
