//! The signed-in user: /me, profile, password change.

use super::*;

#[tokio::test]
async fn me_refuses_disabled_accounts() {
    let h = Harness::new();
    let user = h.verified_user("alice@example.com").await;
    let claims = h.claims_of(&user);
    assert_eq!(h.service.me(&claims).await.unwrap().id, user.id);
    h.patch(
        &user,
        UserPatch {
            is_active: Some(false),
            ..UserPatch::default()
        },
    )
    .await;
    assert!(matches!(
        h.service.me(&claims).await,
        Err(AuthError::AccountDisabled)
    ));
    let mut stranger = claims.clone();
    stranger.sub = UserId::new();
    assert!(matches!(
        h.service.me(&stranger).await,
        Err(AuthError::InvalidToken)
    ));
}

#[tokio::test]
async fn me_refuses_a_token_whose_session_ended_or_whose_version_is_old() {
    let h = Harness::new();
    h.verified_user("alice@example.com").await;
    let (first, first_claims) = h.signed_in("alice@example.com").await;
    let (_, second_claims) = h.signed_in("alice@example.com").await;
    assert!(h.service.me(&first_claims).await.is_ok());
    h.service.logout(&first.refresh_token).await.unwrap();
    assert!(matches!(
        h.service.me(&first_claims).await,
        Err(AuthError::RevokedToken)
    ));
    assert!(
        h.service.me(&second_claims).await.is_ok(),
        "another session is not touched"
    );
    let mut old = second_claims.clone();
    old.ver -= 1;
    assert!(matches!(
        h.service.me(&old).await,
        Err(AuthError::RevokedToken)
    ));
}

#[tokio::test]
async fn update_me_changes_only_username_and_merges_settings() {
    let h = Harness::new();
    let user = h.verified_user("alice@example.com").await;
    let claims = h.claims_of(&user);
    h.clock.advance(Duration::seconds(3));
    let update: ProfileUpdate = serde_json::from_value(serde_json::json!({
        "username": " Alice A. ",
        "user_settings": {"theme": "dark", "lang": "fr"},
        "roles": ["admin"], "is_verified": false, "email": "evil@example.com"
    }))
    .unwrap();
    let updated = h.service.update_me(&claims, update).await.unwrap();
    assert_eq!(updated.username, "Alice A.");
    assert_eq!(updated.user_settings["theme"], "dark");
    assert!(updated.roles.is_empty());
    assert!(updated.is_verified);
    assert_eq!(updated.email, "alice@example.com");
    assert_eq!(updated.updated_at - user.updated_at, Duration::seconds(3));
    let update: ProfileUpdate =
        serde_json::from_value(serde_json::json!({"user_settings": {"lang": null}})).unwrap();
    let updated = h.service.update_me(&claims, update).await.unwrap();
    assert_eq!(
        serde_json::Value::Object(updated.user_settings),
        serde_json::json!({"theme": "dark"})
    );
    let bad = ProfileUpdate {
        username: Some(String::new()),
        user_settings: None,
    };
    assert!(matches!(
        h.service.update_me(&claims, bad).await,
        Err(AuthError::Validation(_))
    ));
}

#[tokio::test]
async fn change_password_checks_the_current_one_and_revokes_sessions() {
    let h = Harness::new();
    h.verified_user("alice@example.com").await;
    let (session, claims) = h.signed_in("alice@example.com").await;
    let reset = reset_link(&h, "alice@example.com").await;
    assert!(matches!(
        h.service
            .change_password(&claims, &secret("Wr0ng!pass"), &secret("N3w!password"))
            .await,
        Err(AuthError::InvalidCredentials)
    ));
    assert!(matches!(
        h.service
            .change_password(&claims, &secret(PASSWORD), &secret("weak"))
            .await,
        Err(AuthError::WeakPassword(_))
    ));
    h.service
        .change_password(&claims, &secret(PASSWORD), &secret("N3w!password"))
        .await
        .unwrap();
    assert!(matches!(
        h.service.refresh(&session.refresh_token).await,
        Err(AuthError::RevokedToken)
    ));
    // The access token of the change itself is cut too, statelessly and in the store.
    assert!(matches!(
        h.service.authenticate(&session.access_token),
        Err(AuthError::RevokedToken)
    ));
    assert!(matches!(
        h.service.me(&claims).await,
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
