//! Unit tests of the service's rules, on the memory store with a manual clock. Time moves
//! by advancing the clock, never by sleeping. `mockall` injects failures.

use std::time::Instant;

use async_trait::async_trait;
use time::Duration;

use super::test_support::{Harness, PASSWORD, SECRET, Sent, config, fast_hashing, secret};
use crate::config::{AuthConfig, HashingConfig};
use crate::email::{EmailError, EmailLink, EmailSender};
use crate::error::AuthError;
use crate::jwt::JwtKeys;
use crate::policy::PolicyViolation;
use crate::store::{TokenStore, UserStore};
use crate::token::{TokenHash, TokenKind};
use crate::user::{ProfileUpdate, User, UserId, UserPatch};
use crate::{AuthService, MemoryStore};

fn token_of(link: &EmailLink) -> &str {
    link.link
        .split_once("?token=")
        .map(|(_, t)| t)
        .expect("link carries a token")
}

// ---- registration -------------------------------------------------------------------

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
        ]
    );
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

// ---- login ----------------------------------------------------------------------------

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
    let time = |email: &'static str| {
        let service = h.service.clone();
        async move {
            let start = Instant::now();
            for _ in 0..5 {
                let _ = service.login(email, &secret("Wr0ng!pass")).await;
            }
            start.elapsed()
        }
    };
    let known = time("alice@example.com").await;
    let unknown = time("nobody@example.com").await;
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
    let h = Harness::with_config(config().with_hashing(hashing));
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

// ---- access tokens --------------------------------------------------------------------

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
    let theirs =
        Harness::with_config(config().with_jwt_secret("a different secret of 32+ bytes!!!"));
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

// ---- refresh rotation -----------------------------------------------------------------

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

// ---- logout ---------------------------------------------------------------------------

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

// ---- email verification -----------------------------------------------------------------

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

// ---- password reset -----------------------------------------------------------------------

async fn reset_link(h: &Harness, email: &str) -> String {
    h.service.request_password_reset(email).await.unwrap();
    let (kind, email) = h.outbox.next().await;
    assert_eq!(kind, Sent::PasswordReset);
    assert!(
        email
            .link
            .starts_with("http://localhost:3000/reset-password?token=")
    );
    email.token
}

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

// ---- the signed-in user -----------------------------------------------------------------

#[tokio::test]
async fn me_refuses_disabled_accounts() {
    let h = Harness::new();
    let user = h.verified_user("alice@example.com").await;
    assert_eq!(h.service.me(user.id).await.unwrap().id, user.id);
    h.patch(
        &user,
        UserPatch {
            is_active: Some(false),
            ..UserPatch::default()
        },
    )
    .await;
    assert!(matches!(
        h.service.me(user.id).await,
        Err(AuthError::AccountDisabled)
    ));
    assert!(matches!(
        h.service.me(UserId::new()).await,
        Err(AuthError::InvalidToken)
    ));
}

#[tokio::test]
async fn update_me_changes_only_username_and_merges_settings() {
    let h = Harness::new();
    let user = h.verified_user("alice@example.com").await;
    h.clock.advance(Duration::seconds(3));
    let update: ProfileUpdate = serde_json::from_value(serde_json::json!({
        "username": " Alice A. ",
        "user_settings": {"theme": "dark", "lang": "fr"},
        "roles": ["admin"], "is_verified": false, "email": "evil@example.com"
    }))
    .unwrap();
    let updated = h.service.update_me(user.id, update).await.unwrap();
    assert_eq!(updated.username, "Alice A.");
    assert_eq!(updated.user_settings["theme"], "dark");
    assert!(updated.roles.is_empty());
    assert!(updated.is_verified);
    assert_eq!(updated.email, "alice@example.com");
    assert_eq!(updated.updated_at - user.updated_at, Duration::seconds(3));
    let update: ProfileUpdate =
        serde_json::from_value(serde_json::json!({"user_settings": {"lang": null}})).unwrap();
    let updated = h.service.update_me(user.id, update).await.unwrap();
    assert_eq!(
        serde_json::Value::Object(updated.user_settings),
        serde_json::json!({"theme": "dark"})
    );
    let bad = ProfileUpdate {
        username: Some(String::new()),
        user_settings: None,
    };
    assert!(matches!(
        h.service.update_me(user.id, bad).await,
        Err(AuthError::Validation(_))
    ));
}

#[tokio::test]
async fn change_password_checks_the_current_one_and_revokes_sessions() {
    let h = Harness::new();
    let user = h.verified_user("alice@example.com").await;
    let session = h
        .service
        .login("alice@example.com", &secret(PASSWORD))
        .await
        .unwrap();
    let reset = reset_link(&h, "alice@example.com").await;
    assert!(matches!(
        h.service
            .change_password(user.id, &secret("Wr0ng!pass"), &secret("N3w!password"))
            .await,
        Err(AuthError::InvalidCredentials)
    ));
    assert!(matches!(
        h.service
            .change_password(user.id, &secret(PASSWORD), &secret("weak"))
            .await,
        Err(AuthError::WeakPassword(_))
    ));
    h.service
        .change_password(user.id, &secret(PASSWORD), &secret("N3w!password"))
        .await
        .unwrap();
    assert!(matches!(
        h.service.refresh(&session.refresh_token).await,
        Err(AuthError::RevokedToken)
    ));
    assert!(matches!(
        h.service
            .complete_password_reset(&reset, &secret("Other!pass1"))
            .await,
        Err(AuthError::InvalidToken)
    ));
    assert!(
        h.service
            .login("alice@example.com", &secret("N3w!password"))
            .await
            .is_ok()
    );
}

// ---- admin ------------------------------------------------------------------------------

#[tokio::test]
async fn admin_routes_need_the_admin_role_in_the_store() {
    let h = Harness::new();
    let (admin, admin_access) = h.admin("root@example.com").await;
    let admin_claims = h
        .service
        .authenticate(&h.service.issue_access_token(&admin).unwrap())
        .unwrap();
    let alice = h.verified_user("alice@example.com").await;
    let alice_claims = h
        .service
        .authenticate(
            &h.service
                .login("alice@example.com", &secret(PASSWORD))
                .await
                .unwrap()
                .access_token,
        )
        .unwrap();
    assert!(matches!(
        h.service.admin_access(&alice_claims).await,
        Err(AuthError::Forbidden)
    ));
    let page = h
        .service
        .list_users(&admin_access, Some(1), None)
        .await
        .unwrap();
    assert_eq!((page.items.len(), page.total), (1, 2));
    assert_eq!(
        h.service
            .get_user(&admin_access, alice.id)
            .await
            .unwrap()
            .id,
        alice.id
    );
    // The role is checked against the store, not the (older) token.
    h.patch(
        &admin,
        UserPatch {
            roles: Some(vec![]),
            ..UserPatch::default()
        },
    )
    .await;
    assert!(matches!(
        h.service.admin_access(&admin_claims).await,
        Err(AuthError::Forbidden)
    ));
}

#[tokio::test]
async fn deactivation_cuts_off_login_refresh_and_me_until_activation() {
    let h = Harness::new();
    let (_, admin) = h.admin("root@example.com").await;
    let alice = h.verified_user("alice@example.com").await;
    let session = h
        .service
        .login("alice@example.com", &secret(PASSWORD))
        .await
        .unwrap();
    let user = h.service.deactivate_user(&admin, alice.id).await.unwrap();
    assert!(!user.is_active);
    assert!(matches!(
        h.service.refresh(&session.refresh_token).await,
        Err(AuthError::RevokedToken)
    ));
    assert!(matches!(
        h.service
            .login("alice@example.com", &secret(PASSWORD))
            .await,
        Err(AuthError::AccountDisabled)
    ));
    assert!(matches!(
        h.service.me(alice.id).await,
        Err(AuthError::AccountDisabled)
    ));
    assert!(
        h.service
            .activate_user(&admin, alice.id)
            .await
            .unwrap()
            .is_active
    );
    assert!(
        h.service
            .login("alice@example.com", &secret(PASSWORD))
            .await
            .is_ok()
    );
    assert!(matches!(
        h.service.deactivate_user(&admin, UserId::new()).await,
        Err(AuthError::UserNotFound)
    ));
}

#[tokio::test]
async fn set_roles_validates_and_deduplicates() {
    let h = Harness::new();
    let (_, admin) = h.admin("root@example.com").await;
    let alice = h.verified_user("alice@example.com").await;
    let user = h
        .service
        .set_roles(
            &admin,
            alice.id,
            vec!["editor".into(), "editor".into(), "ops:read".into()],
        )
        .await
        .unwrap();
    assert_eq!(user.roles, vec!["editor".to_owned(), "ops:read".to_owned()]);
    assert!(matches!(
        h.service
            .set_roles(&admin, alice.id, vec!["bad role".into()])
            .await,
        Err(AuthError::Validation(_))
    ));
    assert!(matches!(
        h.service
            .set_roles(&admin, alice.id, (0..33).map(|i| format!("r{i}")).collect())
            .await,
        Err(AuthError::Validation(_))
    ));
    assert!(matches!(
        h.service.get_user(&admin, UserId::new()).await,
        Err(AuthError::UserNotFound)
    ));
}

#[tokio::test]
async fn ensure_admin_creates_once_and_promotes_existing_accounts() {
    let h = Harness::new();
    let admin = h
        .service
        .ensure_admin("Root@Example.com", &secret(PASSWORD))
        .await
        .unwrap();
    assert!(admin.is_verified && admin.is_active && admin.has_role("admin"));
    let again = h
        .service
        .ensure_admin("root@example.com", &secret("Ignored!1"))
        .await
        .unwrap();
    assert_eq!(again.id, admin.id);
    assert!(
        h.service
            .login("root@example.com", &secret(PASSWORD))
            .await
            .is_ok()
    );
    let bob = h
        .service
        .register(Harness::new_user("bob@example.com"))
        .await
        .unwrap();
    let promoted = h
        .service
        .ensure_admin("bob@example.com", &secret(PASSWORD))
        .await
        .unwrap();
    assert_eq!(promoted.id, bob.id);
    assert!(promoted.has_role("admin") && promoted.is_verified);
}

// ---- failures -----------------------------------------------------------------------------

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

impl Harness {
    fn clock_now(&self) -> time::OffsetDateTime {
        crate::Clock::now(&self.clock)
    }
}
