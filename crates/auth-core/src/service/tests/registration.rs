//! Registration.

use super::*;

#[tokio::test]
async fn register_creates_an_unverified_active_user_and_emails_a_link() {
    let h = Harness::new();
    let user = h
        .service
        .register(Harness::new_user("  Alice@Example.COM "))
        .await
        .unwrap();
    assert_eq!(user.email, "alice@example.com");
    assert!(!user.is_verified);
    assert!(user.is_active);
    assert!(user.roles.is_empty());
    assert!(user.password_hash.as_str().starts_with("$argon2id$"));
    let (kind, email) = h.outbox.next().await;
    assert_eq!(kind, Sent::Verification);
    assert_eq!(email.to, "alice@example.com");
    assert!(
        email
            .link
            .starts_with("http://localhost:3000/verify-email?token=")
    );
    assert_eq!(token_of(&email), email.token);
    assert_eq!(email.expires_in, Duration::hours(24));
}

#[tokio::test]
async fn duplicate_registration_is_refused_case_insensitively() {
    let h = Harness::new();
    h.service
        .register(Harness::new_user("alice@example.com"))
        .await
        .unwrap();
    let again = h
        .service
        .register(Harness::new_user(" ALICE@example.com"))
        .await;
    assert!(matches!(again, Err(AuthError::UserAlreadyExists)));
}

#[tokio::test]
async fn registration_reports_every_failed_password_rule() {
    let h = Harness::new();
    let mut new_user = Harness::new_user("alice@example.com");
    new_user.password = secret("short");
    let Err(AuthError::WeakPassword(violations)) = h.service.register(new_user).await else {
        panic!("weak password accepted");
    };
    assert_eq!(
        violations,
        vec![
            PolicyViolation::TooShort { min: 8 },
            PolicyViolation::MissingUppercase,
            PolicyViolation::MissingDigit,
            PolicyViolation::MissingSpecial,
            PolicyViolation::CommonPassword,
        ]
    );
    let mut own_name = Harness::new_user("alice@example.com");
    own_name.password = secret("X-alice-9!");
    let Err(AuthError::WeakPassword(violations)) = h.service.register(own_name).await else {
        panic!("a password with the username accepted");
    };
    assert_eq!(violations, vec![PolicyViolation::ContainsUserInfo]);
    assert_eq!(h.store.list_users(10, 0).await.unwrap().total, 0);
}

#[tokio::test]
async fn registration_validates_email_and_username() {
    let h = Harness::new();
    let mut bad_email = Harness::new_user("not-an-email");
    assert!(matches!(
        h.service.register(bad_email.clone()).await,
        Err(AuthError::InvalidEmail)
    ));
    bad_email.email = "alice@example.com".into();
    bad_email.username = "   ".into();
    let Err(AuthError::Validation(errors)) = h.service.register(bad_email).await else {
        panic!("empty username accepted");
    };
    assert_eq!(errors[0].field, "username");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_registrations_of_one_email_create_one_account() {
    let h = Harness::new();
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let service = h.service.clone();
            let email = if i % 2 == 0 {
                "race@example.com"
            } else {
                "RACE@example.com "
            };
            tokio::spawn(async move { service.register(Harness::new_user(email)).await })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => created += 1,
            Err(AuthError::UserAlreadyExists) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(created, 1);
}
