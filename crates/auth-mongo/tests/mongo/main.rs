//! MongoDB-specific behaviour over a server: indexes, the stored representation, collection
//! and database names, corrupt documents (here); races between two independent clients of
//! one database, the way two processes share it (`two_clients`); an upgrade of a database
//! written by the previous version (`upgrade`); and the shape of the documents of sessions,
//! counters, audit and MFA, with the test-server quirks they work around (`layout`). Each
//! test works in a database of its own and drops it at the end.

#![expect(
    clippy::expect_used,
    reason = "the helpers of a test crate report failures by panicking, like its tests"
)]

#[path = "../common/mod.rs"]
mod common;
mod layout;
mod two_clients;
mod upgrade;

use std::time::Duration;

use auth_core::testing::{now, sample_session, sample_token, sample_user};
use auth_core::{
    AuditEvent, AuditStore, CounterKey, CounterStore, RateLimit, SessionStore, StoreError,
    TokenKind, TokenStore, UserStore, audit,
};
use auth_mongo::bson::spec::BinarySubtype;
use auth_mongo::bson::{Bson, Document, doc};
use auth_mongo::mongodb::{Client, Collection};
use auth_mongo::{MongoStore, MongoStoreOptions};
use common::{fresh_options, test_url, unique_database, url_with_database};

/// One index as (keys, unique, TTL), the name left out: the test server renames indexes.
/// The keys keep their order but not their direction: the test server reads every key back
/// as ascending.
type IndexSpec = (Document, bool, Option<Duration>);

async fn index_specs(collection: &Collection<Document>) -> Vec<IndexSpec> {
    let mut cursor = collection.list_indexes().await.expect("list_indexes");
    let mut specs = Vec::new();
    while cursor.advance().await.expect("next index") {
        let model = cursor.deserialize_current().expect("index model");
        if model.keys == doc! { "_id": 1 } {
            continue;
        }
        let options = model.options.unwrap_or_default();
        let keys = model.keys.keys().map(|key| (key.clone(), Bson::Int32(1)));
        specs.push((
            keys.collect::<Document>(),
            options.unique.unwrap_or(false),
            options.expire_after,
        ));
    }
    specs.sort_by_key(|(keys, _, _)| keys.to_string());
    specs
}

async fn all_index_specs(store: &MongoStore) -> (Vec<IndexSpec>, Vec<IndexSpec>) {
    let db = store.database();
    (
        index_specs(&db.collection("users")).await,
        index_specs(&db.collection("tokens")).await,
    )
}

/// The indexes of the collections that came with sessions, counters, audit and MFA.
async fn later_index_specs(store: &MongoStore) -> [Vec<IndexSpec>; 3] {
    let db = store.database();
    [
        index_specs(&db.collection("sessions")).await,
        index_specs(&db.collection("counters")).await,
        index_specs(&db.collection("audit")).await,
    ]
}

/// A plain index on these fields, in this order.
fn plain(keys: Document) -> IndexSpec {
    let keys = keys.keys().map(|key| (key.clone(), Bson::Int32(1)));
    (keys.collect(), false, None)
}

/// An integer field, whatever its width: MongoDB keeps the `long` this crate writes, the
/// test server reads small ones back as `int`.
fn integer(document: &Document, name: &str) -> Option<i64> {
    match document.get(name)? {
        Bson::Int32(value) => Some(i64::from(*value)),
        Bson::Int64(value) => Some(*value),
        _ => None,
    }
}

fn raw(store: &MongoStore, collection: &str) -> Collection<Document> {
    store.database().collection(collection)
}

fn event(name: &str) -> AuditEvent {
    AuditEvent {
        event: name.to_owned(),
        detail: serde_json::json!({"reason": "test", "n": 1}),
        ..AuditEvent::default()
    }
}

#[tokio::test]
#[ignore = "needs MYAUTH_TEST_MONGODB_URL"]
async fn connect_creates_every_index_and_migrate_is_idempotent_across_stores() {
    let options = fresh_options();
    let store = MongoStore::connect_with(&test_url(), options.clone())
        .await
        .expect("connect and migrate");
    let (users, tokens) = all_index_specs(&store).await;
    assert_eq!(
        users,
        vec![
            (doc! { "email": 1 }, true, None),
            plain(doc! { "totp.pending_expires_at": 1 }),
            plain(doc! { "versioned_at": 1 }),
        ]
    );
    let later = later_index_specs(&store).await;
    assert_eq!(
        later,
        [
            vec![
                plain(doc! { "expires_at": 1 }),
                plain(doc! { "revoked_at": 1 }),
                plain(doc! { "user_id": 1, "created_at": -1 }),
            ],
            vec![plain(doc! { "expires_at": 1 })],
            vec![
                plain(doc! { "at": 1 }),
                plain(doc! { "event": 1, "seq": -1 }),
                plain(doc! { "user_id": 1, "seq": -1 }),
            ],
        ]
    );
    assert_eq!(
        tokens,
        vec![
            (doc! { "expires_at": 1 }, false, Some(Duration::ZERO)),
            (doc! { "family_id": 1 }, false, None),
            (doc! { "token_hash": 1 }, true, None),
            (doc! { "user_id": 1 }, false, None),
        ]
    );

    // Two more processes start at once on the same database, then one restarts.
    let second = MongoStore::connect_with(&test_url(), options.clone().with_migrations(false))
        .await
        .expect("second store");
    let third = MongoStore::connect_with(&test_url(), options.with_migrations(false))
        .await
        .expect("third store");
    let (a, b) = tokio::join!(second.migrate(), third.migrate());
    a.expect("concurrent migrate a");
    b.expect("concurrent migrate b");
    store.migrate().await.expect("migrate again");
    assert_eq!(
        all_index_specs(&store).await,
        (users, tokens),
        "migrating again changes no index"
    );
    assert_eq!(later_index_specs(&store).await, later);

    // The unique indexes are in force.
    let user = sample_user("alice@example.com");
    store.create_user(&user).await.expect("create");
    let twin = sample_user("alice@example.com");
    assert!(matches!(
        second.create_user(&twin).await,
        Err(StoreError::Conflict)
    ));
    store.database().drop().await.expect("drop");
}

#[tokio::test]
#[ignore = "needs MYAUTH_TEST_MONGODB_URL"]
async fn without_ttl_the_expires_at_index_is_plain() {
    let store = MongoStore::connect_with(&test_url(), fresh_options().with_ttl_index(false))
        .await
        .expect("connect");
    let (_, tokens) = all_index_specs(&store).await;
    assert!(
        tokens.contains(&(doc! { "expires_at": 1 }, false, None)),
        "{tokens:?}"
    );
    assert!(tokens.iter().all(|(_, _, ttl)| ttl.is_none()), "{tokens:?}");
    store.database().drop().await.expect("drop");
}

/// The documented representation: ids as canonical UUID strings, times as BSON dates with
/// milliseconds, the token hash as generic binary, roles as an array, settings as an
/// embedded document, unset times as null.
#[tokio::test]
#[ignore = "needs MYAUTH_TEST_MONGODB_URL"]
async fn stored_documents_have_the_documented_bson_types() {
    let store = MongoStore::connect_with(&test_url(), fresh_options())
        .await
        .expect("connect");
    let user = sample_user("alice@example.com");
    store.create_user(&user).await.expect("create");
    let refresh = sample_token(&user, TokenKind::Refresh);
    let reset = sample_token(&user, TokenKind::PasswordReset);
    store.insert_token(&refresh).await.expect("insert refresh");
    store.insert_token(&reset).await.expect("insert reset");

    let stored = raw(&store, "users")
        .find_one(doc! {})
        .await
        .expect("find")
        .expect("one user");
    let id = user.id.to_string();
    assert_eq!(id.len(), 36, "canonical hyphenated form");
    assert_eq!(stored.get("_id"), Some(&Bson::String(id.clone())));
    assert_eq!(
        stored.get("email"),
        Some(&Bson::String("alice@example.com".into()))
    );
    assert_eq!(
        stored.get("roles"),
        Some(&Bson::Array(vec!["admin".into(), "editor".into()]))
    );
    let settings = stored
        .get_document("user_settings")
        .expect("settings are an embedded document");
    assert_eq!(settings.get_str("theme").ok(), Some("dark"));
    assert!(settings.get_document("nested").is_ok());
    assert_eq!(stored.get("is_active"), Some(&Bson::Boolean(true)));
    let created = stored.get_datetime("created_at").expect("a BSON date");
    assert_eq!(
        i128::from(created.timestamp_millis()),
        user.created_at.unix_timestamp_nanos() / 1_000_000
    );
    assert!(stored.get_datetime("updated_at").is_ok());

    let tokens = raw(&store, "tokens");
    let stored = tokens
        .find_one(doc! { "_id": refresh.id.to_string() })
        .await
        .expect("find")
        .expect("the refresh token, found by its string id");
    assert_eq!(stored.get("user_id"), Some(&Bson::String(id.clone())));
    assert_eq!(stored.get_str("kind").ok(), Some("refresh"));
    let family = refresh.family_id.expect("refresh tokens have a family");
    assert_eq!(
        stored.get("family_id"),
        Some(&Bson::String(family.to_string()))
    );
    let hash = stored
        .get_binary_generic("token_hash")
        .expect("binary hash");
    assert_eq!(hash.as_slice(), refresh.token_hash.as_bytes());
    assert!(matches!(
        stored.get("token_hash"),
        Some(Bson::Binary(b)) if b.subtype == BinarySubtype::Generic
    ));
    assert!(stored.get_datetime("expires_at").is_ok());
    assert!(stored.get_datetime("family_expires_at").is_ok());
    assert_eq!(stored.get("used_at"), Some(&Bson::Null));
    assert_eq!(stored.get("revoked_at"), Some(&Bson::Null));

    let stored = tokens
        .find_one(doc! { "_id": reset.id.to_string() })
        .await
        .expect("find")
        .expect("the reset token");
    assert_eq!(stored.get_str("kind").ok(), Some("password_reset"));
    assert_eq!(stored.get("family_id"), Some(&Bson::Null));

    // Consuming sets `used_at` to a date.
    store
        .consume_token(
            &reset.token_hash,
            TokenKind::PasswordReset,
            reset.created_at,
        )
        .await
        .expect("consume");
    let stored = tokens
        .find_one(doc! { "_id": reset.id.to_string() })
        .await
        .expect("find")
        .expect("the reset token");
    assert!(stored.get_datetime("used_at").is_ok(), "{stored}");
    store.database().drop().await.expect("drop");
}

#[tokio::test]
#[ignore = "needs MYAUTH_TEST_MONGODB_URL"]
async fn configured_collection_names_are_used() {
    let options = fresh_options()
        .with_users_collection("accounts")
        .with_tokens_collection("auth_tokens")
        .with_sessions_collection("logins")
        .with_counters_collection("limits")
        .with_audit_collection("journal");
    let store = MongoStore::connect_with(&test_url(), options)
        .await
        .expect("connect");
    let user = sample_user("alice@example.com");
    store.create_user(&user).await.expect("create");
    store
        .insert_token(&sample_token(&user, TokenKind::Refresh))
        .await
        .expect("insert");
    let (session, first) = sample_session(&user);
    store
        .create_session(&session, &first)
        .await
        .expect("session");
    store
        .take_rate_token(
            &CounterKey::new("ip", "192.0.2.1"),
            RateLimit::new(5, time::Duration::minutes(1)),
            now(),
        )
        .await
        .expect("take");
    let mut records = Vec::new();
    for _ in 0..2 {
        records.push(
            audit::append(&store, now() - time::Duration::days(2), event("e"))
                .await
                .expect("append"),
        );
    }
    assert_eq!(
        store
            .purge_audit_records(now() - time::Duration::days(1), now())
            .await
            .expect("purge"),
        1
    );
    let count = |name: &'static str| {
        let collection = raw(&store, name);
        async move { collection.count_documents(doc! {}).await.expect("count") }
    };
    for (name, expected) in [
        ("accounts", 1),
        ("auth_tokens", 2),
        ("logins", 1),
        ("limits", 1),
        ("journal", 1),
        ("journal_anchor", 1),
    ] {
        assert_eq!(count(name).await, expected, "{name}");
    }
    for name in [
        "users",
        "tokens",
        "sessions",
        "counters",
        "audit",
        "audit_anchor",
    ] {
        assert_eq!(count(name).await, 0, "{name}");
    }
    let indexes = |name: &'static str| {
        let collection = raw(&store, name);
        async move { index_specs(&collection).await }
    };
    assert!(
        indexes("accounts")
            .await
            .contains(&(doc! { "email": 1 }, true, None))
    );
    assert!(
        indexes("auth_tokens")
            .await
            .contains(&(doc! { "token_hash": 1 }, true, None))
    );
    assert!(
        indexes("logins")
            .await
            .contains(&plain(doc! { "revoked_at": 1 }))
    );
    assert!(
        indexes("limits")
            .await
            .contains(&plain(doc! { "expires_at": 1 }))
    );
    assert!(
        indexes("journal")
            .await
            .contains(&plain(doc! { "event": 1, "seq": -1 }))
    );
    store.database().drop().await.expect("drop");
}

#[tokio::test]
#[ignore = "needs MYAUTH_TEST_MONGODB_URL"]
async fn the_database_is_taken_from_the_url_path() {
    let name = unique_database();
    let url = url_with_database(&test_url(), &name);
    let store = MongoStore::connect(&url).await.expect("connect");
    assert_eq!(store.database().name(), name);
    store
        .create_user(&sample_user("alice@example.com"))
        .await
        .expect("create");

    let client = Client::with_uri_str(test_url()).await.expect("client");
    let users = client.database(&name).collection::<Document>("users");
    assert_eq!(users.count_documents(doc! {}).await.expect("count"), 1);
    client.database(&name).drop().await.expect("drop");
}

#[tokio::test]
#[ignore = "needs MYAUTH_TEST_MONGODB_URL"]
async fn undecodable_documents_are_corrupt() {
    let store = MongoStore::connect_with(&test_url(), fresh_options())
        .await
        .expect("connect");
    let good = sample_user("good@example.com");
    store.create_user(&good).await.expect("create");
    let users = raw(&store, "users");
    let mut bad_id = users
        .find_one(doc! {})
        .await
        .expect("find")
        .expect("the good user");
    bad_id.insert("_id", "not-a-uuid");
    bad_id.insert("email", "bad-id@example.com");
    users.insert_one(&bad_id).await.expect("insert bad id");
    let mut bad_date = bad_id.clone();
    bad_date.insert("_id", uuid::Uuid::now_v7().to_string());
    bad_date.insert("email", "bad-date@example.com");
    bad_date.insert("created_at", "yesterday");
    users.insert_one(&bad_date).await.expect("insert bad date");

    for email in ["bad-id@example.com", "bad-date@example.com"] {
        let result = store.find_user_by_email(email).await;
        assert!(
            matches!(result, Err(StoreError::Corrupt(_))),
            "{email}: {result:?}"
        );
    }
    assert!(matches!(
        store.list_users(10, 0).await,
        Err(StoreError::Corrupt(_))
    ));

    let token = sample_token(&good, TokenKind::Refresh);
    store.insert_token(&token).await.expect("insert token");
    raw(&store, "tokens")
        .update_one(
            doc! { "_id": token.id.to_string() },
            doc! { "$set": { "family_id": 42 } },
        )
        .await
        .expect("spoil the token");
    let result = store
        .find_token(&token.token_hash, TokenKind::Refresh)
        .await;
    assert!(matches!(result, Err(StoreError::Corrupt(_))), "{result:?}");
    store.database().drop().await.expect("drop");
}

/// `MongoStore::new` over an application's own `Database` creates nothing until `migrate`.
#[tokio::test]
#[ignore = "needs MYAUTH_TEST_MONGODB_URL"]
async fn a_store_over_an_existing_database_migrates_on_request() {
    let client = Client::with_uri_str(test_url()).await.expect("client");
    let database = client.database(&unique_database());
    let store = MongoStore::new(database.clone());
    assert!(index_specs(&database.collection("users")).await.is_empty());
    store.migrate().await.expect("migrate");
    let (users, tokens) = all_index_specs(&store).await;
    assert_eq!(users.len(), 3);
    assert_eq!(tokens.len(), 4);
    assert_eq!(
        later_index_specs(&store).await.map(|specs| specs.len()),
        [3, 1, 3]
    );
    let with_options = MongoStore::with_options(
        database.clone(),
        &MongoStoreOptions::new().with_users_collection("people"),
    );
    with_options
        .create_user(&sample_user("alice@example.com"))
        .await
        .expect("create");
    assert_eq!(
        database
            .collection::<Document>("people")
            .count_documents(doc! {})
            .await
            .expect("count"),
        1
    );
    database.drop().await.expect("drop");
}
