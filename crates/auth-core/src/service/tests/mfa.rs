//! TOTP and recovery codes: enrolment, the two-step login, replay, skew, throttle, data keys.
//! Codes are computed from the secret with the manual clock, as an authenticator app would.

use super::*;
use crate::Throttle;
use crate::counter::IpLimits;
use crate::store::MfaStore;
use crate::{Clock as _, MFA_TOKEN_TTL, RecoveryCodes, TOTP_SETUP_TTL, TokenPair, totp_code};

/// An account with TOTP enabled: its secret and recovery codes.
struct Enrolled {
    user: User,
    secret: String,
    recovery: RecoveryCodes,
}

async fn enrolled(h: &Harness, email: &str) -> Enrolled {
    let user = h.verified_user(email).await;
    let claims = h.claims_of(&user);
    let setup = h.service.setup_totp(&claims).await.expect("setup");
    let code = totp_code(&setup.secret, h.clock_now()).unwrap();
    let recovery = h
        .service
        .confirm_totp(&claims, &code)
        .await
        .expect("confirm");
    // The confirming code's step is used: move on to the next one.
    h.clock.advance(Duration::seconds(30));
    let user = h.store.find_user_by_id(user.id).await.unwrap().unwrap();
    Enrolled {
        user,
        secret: setup.secret,
        recovery,
    }
}

/// The MFA token a right password answers with.
async fn mfa_token(h: &Harness, email: &str) -> String {
    match h.service.login(email, &secret(PASSWORD)).await {
        Err(AuthError::MfaRequired(challenge)) => {
            assert_eq!(challenge.expires_in(), MFA_TOKEN_TTL.whole_seconds());
            challenge.token().to_owned()
        }
        other => panic!("expected mfa_required, got {other:?}"),
    }
}

fn now_code(h: &Harness, secret: &str) -> String {
    totp_code(secret, h.clock_now()).unwrap()
}

#[tokio::test]
async fn setup_shows_the_secret_once_and_stores_it_only_encrypted() {
    let h = Harness::new();
    let user = h.verified_user("alice@example.com").await;
    let setup = h.service.setup_totp(&h.claims_of(&user)).await.unwrap();
    assert_eq!(setup.secret.len(), 32, "160 bits in base32");
    assert!(
        setup
            .otpauth_uri
            .starts_with("otpauth://totp/MyAuth:alice%40example.com?")
    );
    assert!(
        setup
            .otpauth_uri
            .contains(&format!("secret={}", setup.secret))
    );
    assert!(setup.otpauth_uri.contains("issuer=MyAuth"));
    assert!(setup.qr_svg.contains("<svg"), "{}", &setup.qr_svg[..80]);
    let stored = h.store.find_totp(user.id).await.unwrap().unwrap();
    assert!(!stored.is_confirmed());
    let raw = totp_rs::Secret::try_from_base32(&setup.secret).unwrap();
    let raw: &[u8] = raw.as_ref();
    assert!(!stored.secret.windows(raw.len()).any(|w| w == raw));
    assert!(!String::from_utf8_lossy(&stored.secret).contains(&setup.secret));
    // Not enabled until confirmed.
    assert!(!h.service.me(&h.claims_of(&user)).await.unwrap().mfa_enabled);
}

#[tokio::test]
async fn a_confirmed_enrolment_makes_login_a_two_step_affair() {
    let h = Harness::new();
    let e = enrolled(&h, "alice@example.com").await;
    assert!(e.user.mfa_enabled);
    assert_eq!(e.recovery.recovery_codes.len(), 10);
    for code in &e.recovery.recovery_codes {
        assert_eq!(code.len(), 19, "{code}");
        assert!(
            code.bytes()
                .all(|b| b == b'-' || b"abcdefghijklmnopqrstuvwxyz234567".contains(&b))
        );
    }
    let token = mfa_token(&h, "alice@example.com").await;
    // The MFA token is no access token.
    assert!(matches!(
        h.service.authenticate(&token),
        Err(AuthError::InvalidToken)
    ));
    let wrong = h.service.login_mfa(&token, "000000").await;
    let right = now_code(&h, &e.secret);
    let wrong = if right == "000000" {
        h.service.login_mfa(&token, "111111").await
    } else {
        wrong
    };
    assert!(matches!(wrong, Err(AuthError::InvalidMfaCode)), "{wrong:?}");
    let pair: TokenPair = h.service.login_mfa(&token, &right).await.unwrap();
    let claims = h.service.authenticate(&pair.access_token).unwrap();
    assert_eq!(claims.sub, e.user.id);
    assert!(claims.sid.is_some());
    // Spent: the same token does not log in twice, even with a fresh code.
    h.clock.advance(Duration::seconds(30));
    let again = h.service.login_mfa(&token, &now_code(&h, &e.secret)).await;
    assert!(matches!(again, Err(AuthError::InvalidToken)), "{again:?}");
}

#[tokio::test]
async fn a_code_is_accepted_once_and_one_step_of_skew_either_way() {
    let h = Harness::new();
    let e = enrolled(&h, "alice@example.com").await;
    // The confirming code was of the step before this one: move one more away from it.
    h.clock.advance(Duration::seconds(30));
    let now = h.clock_now();
    let step = |secs: i64| totp_code(&e.secret, now + Duration::seconds(secs)).unwrap();
    // Two steps ago: outside the window.
    let token = mfa_token(&h, "alice@example.com").await;
    if step(-60) != step(-30) && step(-60) != step(0) && step(-60) != step(30) {
        assert!(matches!(
            h.service.login_mfa(&token, &step(-60)).await,
            Err(AuthError::InvalidMfaCode)
        ));
    }
    // The previous step is still accepted…
    h.service.login_mfa(&token, &step(-30)).await.unwrap();
    // …and once used, neither it nor anything older is.
    let token = mfa_token(&h, "alice@example.com").await;
    assert!(matches!(
        h.service.login_mfa(&token, &step(-30)).await,
        Err(AuthError::InvalidMfaCode)
    ));
    // The next step (a phone whose clock runs ahead) is accepted.
    h.service.login_mfa(&token, &step(30)).await.unwrap();
    // After it, the current step is older than the last used one: refused.
    let token = mfa_token(&h, "alice@example.com").await;
    assert!(matches!(
        h.service.login_mfa(&token, &step(0)).await,
        Err(AuthError::InvalidMfaCode)
    ));
}

#[tokio::test]
async fn recovery_codes_work_once_in_any_spelling_and_are_replaced_together() {
    let h = Harness::new();
    let e = enrolled(&h, "alice@example.com").await;
    let first = e.recovery.recovery_codes[0].clone();
    let token = mfa_token(&h, "alice@example.com").await;
    let shouted = first.to_uppercase().replace('-', " ");
    h.service.login_mfa(&token, &shouted).await.unwrap();
    let token = mfa_token(&h, "alice@example.com").await;
    assert!(matches!(
        h.service.login_mfa(&token, &first).await,
        Err(AuthError::InvalidMfaCode)
    ));
    // Replacing them needs the password and a current code; the old ones stop working.
    let (_, claims) = {
        let pair = h
            .service
            .login_mfa(&token, &e.recovery.recovery_codes[1])
            .await
            .unwrap();
        let claims = h.service.authenticate(&pair.access_token).unwrap();
        (pair, claims)
    };
    let refused = h
        .service
        .regenerate_recovery_codes(&claims, &secret("Wr0ng!pass"), &now_code(&h, &e.secret))
        .await;
    assert!(
        matches!(refused, Err(AuthError::InvalidCredentials)),
        "{refused:?}"
    );
    let fresh = h
        .service
        .regenerate_recovery_codes(&claims, &secret(PASSWORD), &now_code(&h, &e.secret))
        .await
        .unwrap();
    assert_eq!(h.store.count_recovery_codes(e.user.id).await.unwrap(), 10);
    let token = mfa_token(&h, "alice@example.com").await;
    assert!(matches!(
        h.service
            .login_mfa(&token, &e.recovery.recovery_codes[2])
            .await,
        Err(AuthError::InvalidMfaCode)
    ));
    h.service
        .login_mfa(&token, &fresh.recovery_codes[0])
        .await
        .unwrap();
}

#[tokio::test]
async fn malformed_codes_are_422_and_cost_no_attempt() {
    let h = Harness::with_config(config().with_login_throttle(Throttle {
        free_failures: 1,
        ..Throttle::default()
    }));
    enrolled(&h, "alice@example.com").await;
    let token = mfa_token(&h, "alice@example.com").await;
    h.clock.advance(Duration::seconds(5));
    for code in [
        "",
        "12345",
        "1234567",
        "abcdef",
        "12345x",
        &"9".repeat(100_000),
        "٣٤٥٦٧٨",
    ] {
        match h.service.login_mfa(&token, code).await {
            Err(AuthError::Validation(errors)) => {
                assert_eq!(errors[0].field, "code");
                assert_eq!(errors[0].code, "invalid_format");
            }
            other => panic!("{code:?}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn wrong_codes_count_toward_the_throttle_and_only_the_second_step_clears_it() {
    let h = Harness::with_config(config().with_login_throttle(Throttle {
        free_failures: 2,
        ..Throttle::default()
    }));
    let e = enrolled(&h, "alice@example.com").await;
    // The right password is attempt 1 and is not cleared.
    let token = mfa_token(&h, "alice@example.com").await;
    let right = now_code(&h, &e.secret);
    let wrong = if right == "123456" {
        "654321"
    } else {
        "123456"
    };
    // Attempt 2: a wrong code; the account now waits.
    assert!(matches!(
        h.service.login_mfa(&token, wrong).await,
        Err(AuthError::InvalidMfaCode)
    ));
    let throttled = h.service.login_mfa(&token, &right).await;
    assert!(
        matches!(throttled, Err(AuthError::TooManyRequests { .. })),
        "{throttled:?}"
    );
    // Nothing was used up by the refused attempt: after the delay the code works.
    h.clock.advance(Duration::seconds(2));
    h.service.login_mfa(&token, &right).await.unwrap();
    // Cleared: the next login is not throttled.
    h.clock.advance(Duration::seconds(30));
    mfa_token(&h, "alice@example.com").await;
}

#[tokio::test]
async fn of_concurrent_second_steps_with_one_code_exactly_one_wins() {
    let h = Harness::with_config(config().with_ip_limits(None::<IpLimits>));
    let e = enrolled(&h, "alice@example.com").await;
    let code = now_code(&h, &e.secret);
    // Every first step before any second step: the losers' failures count toward the
    // account's throttle, and must not refuse a first step still to come.
    let mut tokens = Vec::new();
    for _ in 0..8 {
        tokens.push(mfa_token(&h, "alice@example.com").await);
    }
    let mut tasks = Vec::new();
    for token in tokens {
        let service = h.service.clone();
        let code = code.clone();
        tasks.push(tokio::spawn(async move {
            service.login_mfa(&token, &code).await
        }));
    }
    let mut wins = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => wins += 1,
            Err(AuthError::InvalidMfaCode | AuthError::TooManyRequests { .. }) => {}
            Err(other) => panic!("{other:?}"),
        }
    }
    assert_eq!(wins, 1);
}

#[tokio::test]
async fn enabling_and_disabling_end_the_other_sessions_and_keep_the_callers() {
    let h = Harness::new();
    let user = h.verified_user("alice@example.com").await;
    let (mine, claims) = h.signed_in("alice@example.com").await;
    let (other, _) = h.signed_in("alice@example.com").await;
    let setup = h.service.setup_totp(&claims).await.unwrap();
    h.service
        .confirm_totp(&claims, &now_code(&h, &setup.secret))
        .await
        .unwrap();
    assert!(matches!(
        h.service.refresh(&other.refresh_token).await,
        Err(AuthError::RevokedToken | AuthError::InvalidToken)
    ));
    let mine = h.service.refresh(&mine.refresh_token).await.unwrap();
    let claims = h.service.authenticate(&mine.access_token).unwrap();
    assert!(h.service.me(&claims).await.unwrap().mfa_enabled);
    // A second session through the two-step login, then disable from the first.
    h.clock.advance(Duration::seconds(30));
    let token = mfa_token(&h, "alice@example.com").await;
    let second = h
        .service
        .login_mfa(&token, &now_code(&h, &setup.secret))
        .await
        .unwrap();
    h.clock.advance(Duration::seconds(30));
    let wrong_code = h
        .service
        .disable_totp(&claims, &secret(PASSWORD), "000000")
        .await;
    assert!(
        matches!(wrong_code, Err(AuthError::InvalidMfaCode))
            || now_code(&h, &setup.secret) == "000000"
    );
    h.service
        .disable_totp(&claims, &secret(PASSWORD), &now_code(&h, &setup.secret))
        .await
        .unwrap();
    assert!(h.service.refresh(&second.refresh_token).await.is_err());
    h.service.refresh(&mine.refresh_token).await.unwrap();
    assert!(h.store.find_totp(user.id).await.unwrap().is_none());
    // Off: the password alone logs in again.
    h.service
        .login("alice@example.com", &secret(PASSWORD))
        .await
        .unwrap();
}

#[tokio::test]
async fn setup_rules_pending_expiry_and_conflicts() {
    let h = Harness::new();
    let user = h.verified_user("alice@example.com").await;
    let claims = h.claims_of(&user);
    assert!(matches!(
        h.service.confirm_totp(&claims, "123456").await,
        Err(AuthError::MfaSetupRequired)
    ));
    let setup = h.service.setup_totp(&claims).await.unwrap();
    h.clock.advance(TOTP_SETUP_TTL + Duration::seconds(1));
    assert!(matches!(
        h.service
            .confirm_totp(&claims, &now_code(&h, &setup.secret))
            .await,
        Err(AuthError::MfaSetupRequired)
    ));
    // A new set-up replaces the pending one; the old secret's codes do not confirm it.
    let old = setup;
    let setup = h.service.setup_totp(&claims).await.unwrap();
    assert_ne!(old.secret, setup.secret);
    let old_code = now_code(&h, &old.secret);
    if old_code != now_code(&h, &setup.secret) {
        assert!(matches!(
            h.service.confirm_totp(&claims, &old_code).await,
            Err(AuthError::InvalidMfaCode)
        ));
    }
    h.service
        .confirm_totp(&claims, &now_code(&h, &setup.secret))
        .await
        .unwrap();
    assert!(matches!(
        h.service.setup_totp(&claims).await,
        Err(AuthError::MfaAlreadyEnabled)
    ));
    // A recovery code cannot confirm a set-up.
    assert!(matches!(
        h.service.confirm_totp(&claims, "abcd-efgh-ijkl-mnop").await,
        Err(AuthError::Validation(_))
    ));
}

#[tokio::test]
async fn an_mfa_token_dies_with_a_password_change_and_with_the_second_factor() {
    let h = Harness::new();
    let e = enrolled(&h, "alice@example.com").await;
    let token = mfa_token(&h, "alice@example.com").await;
    let (admin, access) = h.admin("root@example.com").await;
    let _ = admin;
    h.service.reset_mfa(&access, e.user.id).await.unwrap();
    assert!(
        !h.store
            .find_user_by_id(e.user.id)
            .await
            .unwrap()
            .unwrap()
            .mfa_enabled
    );
    assert!(matches!(
        h.service.login_mfa(&token, &now_code(&h, &e.secret)).await,
        Err(AuthError::InvalidToken)
    ));
    assert!(matches!(
        h.service.reset_mfa(&access, UserId::new()).await,
        Err(AuthError::UserNotFound)
    ));
    // Enrol again, then a password change between the two steps voids the token.
    let claims = h.claims_of(&e.user);
    let setup = h.service.setup_totp(&claims).await.unwrap();
    h.service
        .confirm_totp(&claims, &now_code(&h, &setup.secret))
        .await
        .unwrap();
    h.clock.advance(Duration::seconds(30));
    let token = mfa_token(&h, "alice@example.com").await;
    let user = h.store.find_user_by_id(e.user.id).await.unwrap().unwrap();
    h.patch(
        &user,
        UserPatch {
            invalidate: Some(crate::user::Invalidate::Sessions),
            ..UserPatch::default()
        },
    )
    .await;
    assert!(matches!(
        h.service
            .login_mfa(&token, &now_code(&h, &setup.secret))
            .await,
        Err(AuthError::InvalidToken)
    ));
    // Expired after its lifetime.
    let token = mfa_token(&h, "alice@example.com").await;
    h.clock.advance(MFA_TOKEN_TTL + Duration::seconds(10));
    assert!(matches!(
        h.service
            .login_mfa(&token, &now_code(&h, &setup.secret))
            .await,
        Err(AuthError::ExpiredToken)
    ));
}

#[tokio::test]
async fn data_keys_rotate_without_losing_enrolments() {
    let old = [3u8; 32];
    let new = [4u8; 32];
    let h = Harness::with_config(config().with_data_keys(vec![old]));
    let e = enrolled(&h, "alice@example.com").await;
    let with_keys = |keys: Vec<[u8; 32]>| {
        AuthService::builder()
            .config(config().with_data_keys(keys))
            .store(h.store.clone())
            .clock(h.clock.clone())
            .build()
            .unwrap()
    };
    let rotated = with_keys(vec![new, old]);
    let token = match rotated.login("alice@example.com", &secret(PASSWORD)).await {
        Err(AuthError::MfaRequired(c)) => c.token().to_owned(),
        other => panic!("{other:?}"),
    };
    rotated
        .login_mfa(&token, &totp_code(&e.secret, h.clock.now()).unwrap())
        .await
        .unwrap();
    // Without the old key the secret cannot be read: 503, never a silent pass.
    h.clock.advance(Duration::seconds(30));
    let dropped = with_keys(vec![new]);
    let token = match dropped.login("alice@example.com", &secret(PASSWORD)).await {
        Err(AuthError::MfaRequired(c)) => c.token().to_owned(),
        other => panic!("{other:?}"),
    };
    let refused = dropped
        .login_mfa(&token, &totp_code(&e.secret, h.clock.now()).unwrap())
        .await;
    assert!(
        matches!(refused, Err(AuthError::Unavailable(_))),
        "{refused:?}"
    );
}
