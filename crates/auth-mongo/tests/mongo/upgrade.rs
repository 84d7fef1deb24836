//! A database written by the previous version of this crate (users and tokens only, their
//! indexes, documents without versions or second factor) upgrades in place: `migrate` adds
//! the new indexes, old users read as versions 0 without MFA and take every new write, old
//! refresh tokens end at their next use (they belong to no session), old reset tokens keep
//! working.

use std::time::Duration as StdDuration;

use auth_core::testing::{now, sample_session, successor_of};
use auth_core::{
    ConsumeOutcome, Invalidate, MfaStore, Revocation, RotateOutcome, SessionStore, TokenHash,
    TokenKind, TokenStore, TotpRecord, UserId, UserPatch, UserStore,
};
use auth_mongo::bson::spec::BinarySubtype;
use auth_mongo::bson::{Binary, Bson, DateTime, Document, doc};
use auth_mongo::mongodb::options::IndexOptions;
use auth_mongo::mongodb::{Client, IndexModel};
use auth_mongo::{MongoStore, MongoStoreOptions};
use uuid::Uuid;

use crate::common::{test_url, unique_database};
use crate::{index_specs, plain};

fn old_index(keys: Document, unique: bool, ttl: bool) -> IndexModel {
    let options = IndexOptions::builder()
        .unique(unique.then_some(true))
        .expire_after(ttl.then_some(StdDuration::ZERO))
        .build();
    IndexModel::builder().keys(keys).options(options).build()
}

/// A user document exactly as the previous version wrote it.
fn old_user(id: Uuid, email: &str) -> Document {
    let at = DateTime::from_millis(1_700_000_000_000);
    doc! {
        "_id": id.to_string(),
        "email": email,
        "username": "old timer",
        "password_hash": "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGg",
        "roles": ["admin"],
        "user_settings": { "theme": "dark" },
        "is_verified": true,
        "is_active": true,
        "created_at": at,
        "updated_at": at,
    }
}

/// A token document as the previous version wrote it: a refresh token's family was only a
/// rotation chain, not a session.
fn old_token(user: Uuid, kind: &str, hash: &TokenHash, family: Option<Uuid>) -> Document {
    let now = DateTime::now();
    let later = DateTime::from_millis(now.timestamp_millis() + 3_600_000);
    doc! {
        "_id": Uuid::now_v7().to_string(),
        "user_id": user.to_string(),
        "kind": kind,
        "token_hash": Binary { subtype: BinarySubtype::Generic, bytes: hash.as_bytes().to_vec() },
        "family_id": family.map(|f| Bson::String(f.to_string())).unwrap_or(Bson::Null),
        "family_expires_at": family.map(|_| Bson::DateTime(later)).unwrap_or(Bson::Null),
        "expires_at": later,
        "created_at": now,
        "used_at": Bson::Null,
        "revoked_at": Bson::Null,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs MYAUTH_TEST_MONGODB_URL"]
async fn a_database_of_the_previous_version_upgrades_in_place() {
    let name = unique_database();
    let client = Client::with_uri_str(test_url()).await.expect("client");
    let database = client.database(&name);
    let users = database.collection::<Document>("users");
    let tokens = database.collection::<Document>("tokens");
    // What the previous version's `migrate` made, and wrote.
    users
        .create_index(old_index(doc! { "email": 1 }, true, false))
        .await
        .expect("old users index");
    tokens
        .create_indexes([
            old_index(doc! { "token_hash": 1 }, true, false),
            old_index(doc! { "user_id": 1 }, false, false),
            old_index(doc! { "family_id": 1 }, false, false),
            old_index(doc! { "expires_at": 1 }, false, true),
        ])
        .await
        .expect("old tokens indexes");
    let (alice, bob) = (Uuid::now_v7(), Uuid::now_v7());
    users
        .insert_many([
            old_user(alice, "alice@example.com"),
            old_user(bob, "bob@example.com"),
        ])
        .await
        .expect("old users");
    let refresh = TokenHash::of("an old refresh token");
    let reset = TokenHash::of("an old reset token");
    tokens
        .insert_many([
            old_token(alice, "refresh", &refresh, Some(Uuid::now_v7())),
            old_token(alice, "password_reset", &reset, None),
        ])
        .await
        .expect("old tokens");

    // The new version starts on it.
    let options = MongoStoreOptions::new().with_database(&name);
    let store = MongoStore::connect_with(&test_url(), options)
        .await
        .expect("connect and migrate");
    let users_indexes = index_specs(&users).await;
    assert!(
        users_indexes.contains(&plain(doc! { "versioned_at": 1 })),
        "{users_indexes:?}"
    );
    assert!(
        index_specs(&tokens).await.contains(&(
            doc! { "expires_at": 1 },
            false,
            Some(StdDuration::ZERO)
        )),
        "the old TTL index stays as it was"
    );

    let old = store
        .find_user_by_email("alice@example.com")
        .await
        .expect("read")
        .expect("the old user");
    assert_eq!(old.id, UserId::from_uuid(alice));
    assert_eq!(
        (old.token_version, old.session_epoch, old.mfa_enabled),
        (0, 0, false)
    );
    assert_eq!(old.roles, vec!["admin".to_owned()]);
    assert!(
        store
            .list_user_sessions(old.id, now())
            .await
            .expect("list")
            .is_empty(),
        "nobody has a session yet"
    );

    // An old refresh token belongs to no session: it ends at its next use.
    let mut next = successor_of(
        &store
            .find_token(&refresh, TokenKind::Refresh)
            .await
            .expect("find")
            .expect("the old refresh token"),
    );
    next.family_id = Some(Uuid::now_v7());
    let outcome = store
        .rotate_refresh_token(&refresh, &next, now())
        .await
        .expect("rotate");
    assert!(
        matches!(outcome, RotateOutcome::SessionEnded(ref t) if t.token_hash == refresh),
        "{outcome:?}"
    );
    assert_eq!(
        store
            .find_token(&next.token_hash, TokenKind::Refresh)
            .await
            .expect("find"),
        None
    );
    // An old reset token still works.
    assert!(matches!(
        store
            .consume_token(&reset, TokenKind::PasswordReset, now())
            .await
            .expect("consume"),
        ConsumeOutcome::Consumed(_)
    ));

    // Old users take the new writes: a cut (compare-and-set on a missing version), a raise
    // (an increment of a missing field), a login, an enrolment.
    let at = now();
    let cut = store
        .update_user(
            old.id,
            &UserPatch {
                updated_at: Some(at),
                invalidate: Some(Invalidate::Sessions),
                ..UserPatch::default()
            },
        )
        .await
        .expect("cut")
        .expect("exists");
    assert_eq!((cut.token_version, cut.session_epoch), (1, 1));
    let raised = store
        .update_user(
            UserId::from_uuid(bob),
            &UserPatch {
                updated_at: Some(at),
                invalidate: Some(Invalidate::AccessTokens),
                ..UserPatch::default()
            },
        )
        .await
        .expect("raise")
        .expect("exists");
    assert_eq!((raised.token_version, raised.session_epoch), (1, 0));
    let mut feed = store
        .revocations_since(at - time::Duration::seconds(1))
        .await
        .expect("feed");
    feed.sort_by_key(|r| match r {
        Revocation::User { user_id, .. } => *user_id,
        Revocation::Session { user_id, .. } => *user_id,
    });
    assert_eq!(
        feed,
        vec![
            Revocation::User {
                user_id: old.id,
                token_version: 1,
                at
            },
            Revocation::User {
                user_id: raised.id,
                token_version: 1,
                at
            },
        ]
    );
    let (session, first) = sample_session(&cut);
    store.create_session(&session, &first).await.expect("login");
    assert!(matches!(
        store
            .rotate_refresh_token(&first.token_hash, &successor_of(&first), now())
            .await
            .expect("rotate"),
        RotateOutcome::Rotated { .. }
    ));
    let pending = TotpRecord {
        user_id: old.id,
        secret: vec![1, 2, 3],
        created_at: at,
        confirmed_at: None,
        pending_expires_at: at + time::Duration::minutes(10),
        last_used_step: None,
    };
    assert!(store.put_pending_totp(&pending).await.expect("put"));
    assert!(store.confirm_totp(old.id, 7, at).await.expect("confirm"));
    assert!(
        store
            .find_user_by_id(old.id)
            .await
            .expect("read")
            .expect("exists")
            .mfa_enabled
    );
    database.drop().await.expect("drop");
}
