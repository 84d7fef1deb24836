//! Password reset.

use super::*;

#[tokio::test]
async fn password_reset_replaces_the_password_and_revokes_every_session() {
    let h = Harness::new();
    h.verified_user("alice@example.com").await;
    let session = h
        .service
        .login("alice@example.com", &secret(PASSWORD))
        .await
        .unwrap();
    let token = reset_link(&h, "alice@example.com").await;
    let stored = h
        .store
        .find_token(&TokenHash::of(&token), TokenKind::PasswordReset)
        .await
        .unwrap()
        .expect("only the hash is stored");
    assert_eq!(stored.expires_at - stored.created_at, Duration::minutes(15));

    h.service
        .complete_password_reset(&token, &secret("N3w!password"))
        .await
        .unwrap();
    assert!(matches!(
        h.service.refresh(&session.refresh_token).await,
        Err(AuthError::RevokedToken)
    ));
    assert!(matches!(
        h.service
            .login("alice@example.com", &secret(PASSWORD))
            .await,
        Err(AuthError::InvalidCredentials)
    ));
    assert!(
        h.service
            .login("alice@example.com", &secret("N3w!password"))
            .await
            .is_ok()
    );
    // Single use.
    assert!(matches!(
        h.service
            .complete_password_reset(&token, &secret("An0ther!pass"))
            .await,
        Err(AuthError::InvalidToken)
    ));
}

#[tokio::test]
async fn reset_requests_answer_the_same_for_unknown_accounts_and_send_nothing() {
    let h = Harness::new();
    h.verified_user("alice@example.com").await;
    h.service
        .request_password_reset("nobody@example.com")
        .await
        .unwrap();
    h.outbox.assert_empty().await;
    assert!(matches!(
        h.service.request_password_reset("nope").await,
        Err(AuthError::InvalidEmail)
    ));
}

#[tokio::test]
async fn reset_tokens_expire_after_fifteen_minutes() {
    let h = Harness::new();
    h.verified_user("alice@example.com").await;
    let token = reset_link(&h, "alice@example.com").await;
    h.clock.advance(Duration::minutes(15));
    assert!(matches!(
        h.service
            .complete_password_reset(&token, &secret("N3w!password"))
            .await,
        Err(AuthError::ExpiredToken)
    ));
}

#[tokio::test]
async fn a_new_reset_request_invalidates_older_links() {
    let h = Harness::new();
    h.verified_user("alice@example.com").await;
    let old = reset_link(&h, "alice@example.com").await;
    h.clock.advance(Duration::seconds(61));
    let new = reset_link(&h, "alice@example.com").await;
    assert!(matches!(
        h.service
            .complete_password_reset(&old, &secret("N3w!password"))
            .await,
        Err(AuthError::InvalidToken)
    ));
    assert!(
        h.service
            .complete_password_reset(&new, &secret("N3w!password"))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_reset_request_inside_the_cooldown_sends_nothing_and_keeps_the_link() {
    let h = Harness::new();
    h.verified_user("alice@example.com").await;
    let first = reset_link(&h, "alice@example.com").await;
    h.clock.advance(Duration::seconds(30));
    for _ in 0..5 {
        h.service
            .request_password_reset("alice@example.com")
            .await
            .unwrap();
    }
    h.outbox.assert_empty().await;
    h.service
        .complete_password_reset(&first, &secret("N3w!password"))
        .await
        .expect("the link sent first keeps working");
    h.clock.advance(Duration::seconds(31));
    reset_link(&h, "alice@example.com").await;
}

#[tokio::test]
async fn a_completed_reset_lifts_the_login_throttle() {
    let h = Harness::new();
    h.verified_user("alice@example.com").await;
    for _ in 0..10 {
        let _ = h
            .service
            .login("alice@example.com", &secret("Wr0ng!pass"))
            .await;
    }
    assert!(matches!(
        h.service
            .login("alice@example.com", &secret(PASSWORD))
            .await,
        Err(AuthError::TooManyRequests { .. })
    ));
    let link = reset_link(&h, "alice@example.com").await;
    h.service
        .complete_password_reset(&link, &secret("N3w!password"))
        .await
        .unwrap();
    assert!(
        h.service
            .login("alice@example.com", &secret("N3w!password"))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn an_unknown_reset_token_costs_no_hash() {
    let hashing = HashingConfig {
        memory_kib: 64 * 1024,
        iterations: 4,
        ..fast_hashing()
    };
    let h = Harness::with_config(config().with_hashing(hashing));
    let started = Instant::now();
    for _ in 0..20 {
        assert!(matches!(
            h.service
                .complete_password_reset("not-a-token", &secret("N3w!password"))
                .await,
            Err(AuthError::InvalidToken)
        ));
    }
    // Twenty 64 MiB × 4 hashes would take seconds; twenty lookups take milliseconds.
    assert!(
        started.elapsed() < std::time::Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_weak_new_password_does_not_burn_the_reset_token() {
    let h = Harness::new();
    h.verified_user("alice@example.com").await;
    let token = reset_link(&h, "alice@example.com").await;
    assert!(matches!(
        h.service
            .complete_password_reset(&token, &secret("weak"))
            .await,
        Err(AuthError::WeakPassword(_))
    ));
    assert!(
        h.service
            .complete_password_reset(&token, &secret("N3w!password"))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_completed_reset_verifies_the_email() {
    let h = Harness::new();
    h.service
        .register(Harness::new_user("alice@example.com"))
        .await
        .unwrap();
    let _ = h.outbox.next().await;
    let token = reset_link(&h, "alice@example.com").await;
    h.service
        .complete_password_reset(&token, &secret("N3w!password"))
        .await
        .unwrap();
    assert!(
        h.service
            .login("alice@example.com", &secret("N3w!password"))
            .await
            .is_ok()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_uses_of_one_reset_token_have_one_winner() {
    let h = Harness::new();
    h.verified_user("alice@example.com").await;
    let token = reset_link(&h, "alice@example.com").await;
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let (service, token) = (h.service.clone(), token.clone());
            tokio::spawn(async move {
                service
                    .complete_password_reset(&token, &secret(&format!("N3w!password{i}")))
                    .await
            })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => ok += 1,
            Err(AuthError::InvalidToken) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(ok, 1);
}

#[tokio::test]
async fn disabled_accounts_get_no_reset_email() {
    let h = Harness::new();
    let user = h.verified_user("alice@example.com").await;
    h.patch(
        &user,
        UserPatch {
            is_active: Some(false),
            ..UserPatch::default()
        },
    )
    .await;
    h.service
        .request_password_reset("alice@example.com")
        .await
        .unwrap();
    h.outbox.assert_empty().await;
}
