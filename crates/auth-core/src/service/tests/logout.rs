//! Logout and logout-all.

use super::*;

#[tokio::test]
async fn logout_revokes_the_session_and_is_idempotent() {
    let h = Harness::new();
    h.verified_user("alice@example.com").await;
    let pair = h
        .service
        .login("alice@example.com", &secret(PASSWORD))
        .await
        .unwrap();
    let rotated = h.service.refresh(&pair.refresh_token).await.unwrap();
    // Logging out with the stale token still ends the session it belongs to.
    h.service.logout(&pair.refresh_token).await.unwrap();
    assert!(matches!(
        h.service.refresh(&rotated.refresh_token).await,
        Err(AuthError::RevokedToken)
    ));
    h.service.logout(&rotated.refresh_token).await.unwrap();
    h.service.logout("unknown").await.unwrap();
    h.service.logout("").await.unwrap();
}

#[tokio::test]
async fn logout_all_revokes_every_session_of_the_user_only() {
    let h = Harness::new();
    let alice = h.verified_user("alice@example.com").await;
    h.verified_user("bob@example.com").await;
    let a1 = h
        .service
        .login("alice@example.com", &secret(PASSWORD))
        .await
        .unwrap();
    let a2 = h
        .service
        .login("alice@example.com", &secret(PASSWORD))
        .await
        .unwrap();
    let b = h
        .service
        .login("bob@example.com", &secret(PASSWORD))
        .await
        .unwrap();
    h.service.logout_all(alice.id).await.unwrap();
    for token in [&a1.refresh_token, &a2.refresh_token] {
        assert!(matches!(
            h.service.refresh(token).await,
            Err(AuthError::RevokedToken)
        ));
    }
    assert!(h.service.refresh(&b.refresh_token).await.is_ok());
}
