//! Refresh-token rotation and sessions.

use super::*;

#[tokio::test]
async fn refresh_rotates_and_uses_up_the_old_token() {
    let h = Harness::new();
    h.verified_user("alice@example.com").await;
    let first = h
        .service
        .login("alice@example.com", &secret(PASSWORD))
        .await
        .unwrap();
    let second = h.service.refresh(&first.refresh_token).await.unwrap();
    assert_ne!(second.refresh_token, first.refresh_token);
    assert!(h.service.authenticate(&second.access_token).is_ok());
    let third = h.service.refresh(&second.refresh_token).await.unwrap();
    assert_ne!(third.refresh_token, second.refresh_token);
}

#[tokio::test]
async fn replaying_a_rotated_refresh_token_revokes_the_whole_family() {
    let h = Harness::new();
    h.verified_user("alice@example.com").await;
    let first = h
        .service
        .login("alice@example.com", &secret(PASSWORD))
        .await
        .unwrap();
    let other_session = h
        .service
        .login("alice@example.com", &secret(PASSWORD))
        .await
        .unwrap();
    let second = h.service.refresh(&first.refresh_token).await.unwrap();
    // An attacker replays the stolen first token.
    assert!(matches!(
        h.service.refresh(&first.refresh_token).await,
        Err(AuthError::RevokedToken)
    ));
    // The legitimate client's current token died with the family.
    assert!(matches!(
        h.service.refresh(&second.refresh_token).await,
        Err(AuthError::RevokedToken)
    ));
    // Another login's family is untouched.
    assert!(
        h.service
            .refresh(&other_session.refresh_token)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn unknown_or_malformed_refresh_tokens_are_invalid() {
    let h = Harness::new();
    for token in ["", "garbage", &"x".repeat(10_000)] {
        assert!(matches!(
            h.service.refresh(token).await,
            Err(AuthError::InvalidToken)
        ));
    }
}

#[tokio::test]
async fn refresh_tokens_expire_with_the_clock() {
    let h = Harness::with_config(config().with_refresh_ttl(Duration::hours(1)));
    h.verified_user("alice@example.com").await;
    let pair = h
        .service
        .login("alice@example.com", &secret(PASSWORD))
        .await
        .unwrap();
    h.clock.advance(Duration::hours(1));
    assert!(matches!(
        h.service.refresh(&pair.refresh_token).await,
        Err(AuthError::ExpiredToken)
    ));
}

#[tokio::test]
async fn rotation_never_outlives_the_family_absolute_lifetime() {
    let h = Harness::with_config(
        config()
            .with_refresh_ttl(Duration::days(7))
            .with_refresh_absolute_ttl(Duration::days(10)),
    );
    h.verified_user("alice@example.com").await;
    let mut pair = h
        .service
        .login("alice@example.com", &secret(PASSWORD))
        .await
        .unwrap();
    h.clock.advance(Duration::days(6));
    pair = h.service.refresh(&pair.refresh_token).await.unwrap();
    assert_eq!(pair.refresh_expires_in, Duration::days(4).whole_seconds());
    h.clock.advance(Duration::days(3));
    pair = h.service.refresh(&pair.refresh_token).await.unwrap();
    assert_eq!(pair.refresh_expires_in, Duration::days(1).whole_seconds());
    h.clock.advance(Duration::days(1));
    assert!(matches!(
        h.service.refresh(&pair.refresh_token).await,
        Err(AuthError::ExpiredToken)
    ));
}

#[tokio::test]
async fn disabled_accounts_cannot_refresh() {
    let h = Harness::new();
    let user = h.verified_user("alice@example.com").await;
    let pair = h
        .service
        .login("alice@example.com", &secret(PASSWORD))
        .await
        .unwrap();
    h.patch(
        &user,
        UserPatch {
            is_active: Some(false),
            ..UserPatch::default()
        },
    )
    .await;
    assert!(matches!(
        h.service.refresh(&pair.refresh_token).await,
        Err(AuthError::AccountDisabled)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_refreshes_of_one_token_have_one_winner() {
    let h = Harness::new();
    h.verified_user("alice@example.com").await;
    let pair = h
        .service
        .login("alice@example.com", &secret(PASSWORD))
        .await
        .unwrap();
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (service, token) = (h.service.clone(), pair.refresh_token.clone());
            tokio::spawn(async move { service.refresh(&token).await })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            Ok(pair) => winners.push(pair),
            Err(AuthError::RevokedToken) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1);
    // The others looked like replays, so the family is revoked, whichever way the race
    // between their revocation and the winner's insert went.
    assert!(matches!(
        h.service.refresh(&winners[0].refresh_token).await,
        Err(AuthError::RevokedToken)
    ));
}
