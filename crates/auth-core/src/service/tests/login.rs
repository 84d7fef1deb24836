//! Login: errors, timing, hashing limits.

use super::*;

#[tokio::test]
async fn login_returns_a_bearer_pair_with_the_configured_lifetimes() {
    let h = Harness::new();
    let user = h.verified_user("alice@example.com").await;
    let pair = h
        .service
        .login("ALICE@example.com", &secret(PASSWORD))
        .await
        .unwrap();
    assert_eq!(pair.token_type, "bearer");
    assert_eq!(pair.expires_in, 1800);
    assert_eq!(pair.refresh_expires_in, 604_800);
    let claims = h.service.authenticate(&pair.access_token).unwrap();
    assert_eq!(claims.sub, user.id);
    // Only the hash of the refresh token is stored.
    let stored = h
        .store
        .find_token(&TokenHash::of(&pair.refresh_token), TokenKind::Refresh)
        .await
        .unwrap()
        .expect("refresh token stored by hash");
    assert_eq!(stored.user_id, user.id);
}

#[tokio::test]
async fn unknown_email_and_wrong_password_give_the_same_error() {
    let h = Harness::new();
    h.verified_user("alice@example.com").await;
    let wrong = h
        .service
        .login("alice@example.com", &secret("Wr0ng!pass"))
        .await
        .unwrap_err();
    let unknown = h
        .service
        .login("bob@example.com", &secret(PASSWORD))
        .await
        .unwrap_err();
    let malformed = h.service.login("bob", &secret(PASSWORD)).await.unwrap_err();
    for error in [&wrong, &unknown, &malformed] {
        assert!(matches!(error, AuthError::InvalidCredentials), "{error:?}");
        assert_eq!(error.to_string(), wrong.to_string());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_email_costs_a_password_verification() {
    // ASVS 5.0 6.3.8: no timing oracle. With the real (OWASP) parameters, an unknown email
    // must take about as long as a wrong password, not return at once.
    let h = Harness::with_config(AuthConfig::new(SECRET));
    h.verified_user("alice@example.com").await;
    // Alternating single attempts and comparing medians keeps the comparison fair when the
    // machine is busy with other work.
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for _ in 0..7 {
        for (email, times) in [
            ("alice@example.com", &mut known),
            ("nobody@example.com", &mut unknown),
        ] {
            let start = Instant::now();
            let _ = h.service.login(email, &secret("Wr0ng!pass")).await;
            times.push(start.elapsed());
        }
    }
    known.sort();
    unknown.sort();
    let (known, unknown) = (known[3], unknown[3]);
    assert!(
        unknown.as_secs_f64() > 0.5 * known.as_secs_f64(),
        "unknown {unknown:?} vs known {known:?}"
    );
}

#[tokio::test]
async fn unverified_login_is_refused_only_after_the_password_checks() {
    let h = Harness::new();
    h.service
        .register(Harness::new_user("alice@example.com"))
        .await
        .unwrap();
    assert!(matches!(
        h.service
            .login("alice@example.com", &secret("Wr0ng!pass"))
            .await,
        Err(AuthError::InvalidCredentials)
    ));
    assert!(matches!(
        h.service
            .login("alice@example.com", &secret(PASSWORD))
            .await,
        Err(AuthError::EmailNotVerified)
    ));
}

#[tokio::test]
async fn unverified_login_is_allowed_when_verification_is_not_required() {
    let h = Harness::with_config(config().with_require_verified_email(false));
    h.service
        .register(Harness::new_user("alice@example.com"))
        .await
        .unwrap();
    assert!(
        h.service
            .login("alice@example.com", &secret(PASSWORD))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn disabled_accounts_cannot_log_in_but_wrong_passwords_stay_generic() {
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
    assert!(matches!(
        h.service
            .login("alice@example.com", &secret("Wr0ng!pass"))
            .await,
        Err(AuthError::InvalidCredentials)
    ));
    assert!(matches!(
        h.service
            .login("alice@example.com", &secret(PASSWORD))
            .await,
        Err(AuthError::AccountDisabled)
    ));
}

#[tokio::test]
async fn oversized_passwords_are_refused_before_hashing() {
    let h = Harness::new();
    h.verified_user("alice@example.com").await;
    let huge = "A1!a".repeat(1000);
    assert!(matches!(
        h.service.login("alice@example.com", &secret(&huge)).await,
        Err(AuthError::InvalidCredentials)
    ));
}

#[tokio::test]
async fn login_upgrades_a_hash_made_with_older_parameters() {
    let old = Harness::new();
    old.verified_user("alice@example.com").await;
    let before = old
        .store
        .find_user_by_email("alice@example.com")
        .await
        .unwrap()
        .unwrap();
    assert!(before.password_hash.as_str().contains("m=64,t=1,p=1"));
    let stronger = HashingConfig {
        memory_kib: 256,
        iterations: 2,
        ..fast_hashing()
    };
    let service = AuthService::builder()
        .config(config().with_hashing(stronger))
        .store(old.store.clone())
        .build()
        .unwrap();
    service
        .login("alice@example.com", &secret(PASSWORD))
        .await
        .unwrap();
    let after = old
        .store
        .find_user_by_email("alice@example.com")
        .await
        .unwrap()
        .unwrap();
    assert!(
        after.password_hash.as_str().contains("m=256,t=2,p=1"),
        "{:?} not upgraded",
        after.password_hash.as_str().split('$').nth(3)
    );
    assert!(
        service
            .login("alice@example.com", &secret(PASSWORD))
            .await
            .is_ok()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_storm_beyond_the_queue_bound_gets_overloaded() {
    let hashing = HashingConfig {
        memory_kib: 4096,
        iterations: 3,
        max_concurrent: 1,
        max_waiting: 2,
        ..fast_hashing()
    };
    // Twelve logins at once are more than the throttle's free attempts; this test is about
    // the hashing queue, so the throttle is set out of its way.
    let throttle = crate::Throttle {
        free_failures: 100,
        ..crate::Throttle::default()
    };
    let h = Harness::with_config(config().with_hashing(hashing).with_login_throttle(throttle));
    h.verified_user("alice@example.com").await;
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let service = h.service.clone();
            tokio::spawn(async move { service.login("alice@example.com", &secret(PASSWORD)).await })
        })
        .collect();
    let mut ok = 0;
    let mut overloaded = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => ok += 1,
            Err(error @ AuthError::Overloaded) => {
                assert_eq!(error.status(), 503);
                assert_eq!(error.retry_after(), Some(1));
                overloaded += 1;
            }
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert!(
        ok >= 1 && overloaded >= 1,
        "ok {ok}, overloaded {overloaded}"
    );
}
