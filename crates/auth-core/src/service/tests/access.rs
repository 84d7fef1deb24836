//! Access tokens.

use super::*;

#[tokio::test]
async fn access_tokens_expire_with_the_clock() {
    let h = Harness::with_config(config().with_access_ttl(Duration::minutes(1)));
    h.verified_user("alice@example.com").await;
    let pair = h
        .service
        .login("alice@example.com", &secret(PASSWORD))
        .await
        .unwrap();
    h.clock.advance(Duration::seconds(64));
    assert!(h.service.authenticate(&pair.access_token).is_ok(), "leeway");
    h.clock.advance(Duration::seconds(1));
    assert!(matches!(
        h.service.authenticate(&pair.access_token),
        Err(AuthError::ExpiredToken)
    ));
}

#[tokio::test]
async fn verification_and_access_tokens_are_not_interchangeable() {
    let h = Harness::new();
    h.service
        .register(Harness::new_user("alice@example.com"))
        .await
        .unwrap();
    let (_, email) = h.outbox.next().await;
    assert!(matches!(
        h.service.authenticate(&email.token),
        Err(AuthError::InvalidToken)
    ));
    let h2 = Harness::new();
    h2.verified_user("bob@example.com").await;
    let pair = h2
        .service
        .login("bob@example.com", &secret(PASSWORD))
        .await
        .unwrap();
    assert!(matches!(
        h2.service
            .complete_email_verification(&pair.access_token)
            .await,
        Err(AuthError::InvalidToken)
    ));
}

#[tokio::test]
async fn tokens_signed_by_another_service_are_refused() {
    let ours = Harness::new();
    let theirs = Harness::with_config(
        config().with_jwt_secret("HtQbJCtLeVih9epXNzBxYvvOQyEpw-a9srxqrr2Bf-b"),
    );
    theirs.verified_user("alice@example.com").await;
    let pair = theirs
        .service
        .login("alice@example.com", &secret(PASSWORD))
        .await
        .unwrap();
    assert!(matches!(
        ours.service.authenticate(&pair.access_token),
        Err(AuthError::InvalidToken)
    ));
}
