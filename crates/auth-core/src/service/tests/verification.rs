//! Email verification.

use super::*;

#[tokio::test]
async fn verification_link_verifies_once_and_twice_is_fine() {
    let h = Harness::new();
    h.service
        .register(Harness::new_user("alice@example.com"))
        .await
        .unwrap();
    let (_, email) = h.outbox.next().await;
    let user = h
        .service
        .complete_email_verification(token_of(&email))
        .await
        .unwrap();
    assert!(user.is_verified);
    let again = h
        .service
        .complete_email_verification(&email.token)
        .await
        .unwrap();
    assert!(again.is_verified);
    assert!(
        h.service
            .login("alice@example.com", &secret(PASSWORD))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn verification_links_expire_after_their_lifetime() {
    let h = Harness::new();
    h.service
        .register(Harness::new_user("alice@example.com"))
        .await
        .unwrap();
    let (_, email) = h.outbox.next().await;
    h.clock.advance(Duration::hours(24) + Duration::seconds(5));
    assert!(matches!(
        h.service.complete_email_verification(&email.token).await,
        Err(AuthError::ExpiredToken)
    ));
}

#[tokio::test]
async fn a_verification_token_is_bound_to_its_email() {
    let h = Harness::new();
    let user = h
        .service
        .register(Harness::new_user("alice@example.com"))
        .await
        .unwrap();
    let keys = JwtKeys::new(&config()).unwrap();
    let other_address = User {
        email: "mallory@example.com".into(),
        ..user
    };
    let token = keys
        .issue_verification(&other_address, h.clock_now(), Duration::hours(1))
        .unwrap();
    assert!(matches!(
        h.service.complete_email_verification(&token).await,
        Err(AuthError::InvalidToken)
    ));
}

#[tokio::test]
async fn verification_requests_answer_the_same_and_only_mail_unverified_accounts() {
    let h = Harness::new();
    h.service
        .register(Harness::new_user("alice@example.com"))
        .await
        .unwrap();
    let _ = h.outbox.next().await;
    h.verified_user("bob@example.com").await;

    h.service
        .request_email_verification("nobody@example.com")
        .await
        .unwrap();
    h.service
        .request_email_verification("bob@example.com")
        .await
        .unwrap();
    h.outbox.assert_empty().await;
    // The email sent at registration started the cooldown.
    h.service
        .request_email_verification("ALICE@example.com")
        .await
        .unwrap();
    h.outbox.assert_empty().await;
    h.clock.advance(Duration::seconds(61));
    h.service
        .request_email_verification("ALICE@example.com")
        .await
        .unwrap();
    let (kind, email) = h.outbox.next().await;
    assert_eq!(
        (kind, email.to.as_str()),
        (Sent::Verification, "alice@example.com")
    );
    assert!(matches!(
        h.service.request_email_verification("nope").await,
        Err(AuthError::InvalidEmail)
    ));
}
