//! Admin use cases and the admin bootstrap.

use super::*;

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
    let (session, alice_claims) = h.signed_in("alice@example.com").await;
    let user = h.service.deactivate_user(&admin, alice.id).await.unwrap();
    assert!(!user.is_active);
    assert!(matches!(
        h.service.authenticate(&session.access_token),
        Err(AuthError::RevokedToken)
    ));
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
        h.service.me(&alice_claims).await,
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
async fn ensure_admin_creates_once_and_promotes_only_an_account_with_that_password() {
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
    // Bob registered the address first; the operator's password is another one.
    assert!(matches!(
        h.service
            .ensure_admin("bob@example.com", &secret("0perator!pw"))
            .await,
        Err(AuthError::InvalidCredentials)
    ));
    assert!(
        !h.store
            .find_user_by_id(bob.id)
            .await
            .unwrap()
            .unwrap()
            .has_role("admin"),
        "a squatter is never promoted"
    );
    let promoted = h
        .service
        .ensure_admin("bob@example.com", &secret(PASSWORD))
        .await
        .unwrap();
    assert_eq!(promoted.id, bob.id);
    assert!(promoted.has_role("admin"));
    assert!(!promoted.is_verified, "start-up never verifies an account");
}

#[tokio::test]
async fn ensure_admin_never_reactivates_or_changes_an_existing_admin() {
    let h = Harness::new();
    let admin = h
        .service
        .ensure_admin("root@example.com", &secret(PASSWORD))
        .await
        .unwrap();
    h.patch(
        &admin,
        UserPatch {
            is_active: Some(false),
            ..UserPatch::default()
        },
    )
    .await;
    let again = h
        .service
        .ensure_admin("root@example.com", &secret("Changed!pw9"))
        .await
        .unwrap();
    assert!(!again.is_active, "a deactivated admin stays deactivated");
    assert_eq!(again.updated_at, admin.updated_at, "nothing was written");
}
