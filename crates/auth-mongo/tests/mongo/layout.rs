//! The documents of sessions, counters, audit and MFA as stored, including the choices made
//! for the MongoDB-wire test server (no binary in updates, no `_id` in compound indexes), and
//! what undecodable ones become.

use auth_core::testing::{now, sample_session, sample_user};
use auth_core::{
    AuditQuery, AuditRecord, AuditStore, CounterKey, CounterStore, Invalidate, MfaStore, RateLimit,
    RecoveryCodeHash, SessionRecord, SessionStore, StoreError, Throttle, TokenHash, TotpRecord,
    UserPatch, UserStore, audit,
};
use auth_mongo::MongoStore;
use auth_mongo::bson::spec::BinarySubtype;
use auth_mongo::bson::{Binary, Bson, DateTime, Document, doc};
use uuid::Uuid;

use crate::common::{fresh_options, test_url};
use crate::{event, integer, raw};

async fn fresh() -> MongoStore {
    MongoStore::connect_with(&test_url(), fresh_options().with_ttl_index(false))
        .await
        .expect("connect")
}

async fn only(store: &MongoStore, collection: &str, filter: Document) -> Document {
    raw(store, collection)
        .find_one(filter)
        .await
        .expect("find")
        .unwrap_or_else(|| panic!("nothing in {collection}"))
}

/// Sessions: id strings, BSON dates, a `long` epoch, `null` while not revoked; the call id
/// of `revoke_user_sessions` once ended by it. Users: `versioned_at` only once raised.
#[tokio::test]
#[ignore = "needs MYAUTH_TEST_MONGODB_URL"]
async fn session_documents_have_the_documented_bson_types() {
    let store = fresh().await;
    let user = sample_user("alice@example.com");
    store.create_user(&user).await.expect("create");
    let stored = only(&store, "users", doc! {}).await;
    assert_eq!(integer(&stored, "token_version"), Some(0));
    assert_eq!(integer(&stored, "session_epoch"), Some(0));
    assert_eq!(stored.get("mfa_enabled"), Some(&Bson::Boolean(false)));
    assert!(!stored.contains_key("versioned_at"));

    let (session, first) = sample_session(&user);
    store.create_session(&session, &first).await.expect("login");
    let stored = only(&store, "sessions", doc! {}).await;
    assert_eq!(
        stored.get("_id"),
        Some(&Bson::String(session.id.to_string()))
    );
    assert_eq!(
        stored.get("user_id"),
        Some(&Bson::String(user.id.to_string()))
    );
    for name in ["created_at", "last_used_at", "expires_at"] {
        assert!(stored.get_datetime(name).is_ok(), "{name}: {stored}");
    }
    assert_eq!(stored.get("revoked_at"), Some(&Bson::Null));
    assert_eq!(integer(&stored, "epoch"), Some(0));
    assert_eq!(
        stored.get("ip"),
        Some(&Bson::String("2001:db8::1".to_owned()))
    );
    let token = only(&store, "tokens", doc! {}).await;
    assert_eq!(
        token.get("family_id"),
        Some(&Bson::String(session.id.to_string()))
    );

    let ended = store
        .revoke_user_sessions(user.id, None, now())
        .await
        .expect("revoke");
    assert_eq!(ended, vec![session.id]);
    let stored = only(&store, "sessions", doc! {}).await;
    assert!(stored.get_datetime("revoked_at").is_ok());
    assert!(stored.get_str("revoked_by").is_ok(), "{stored}");

    store
        .update_user(
            user.id,
            &UserPatch {
                updated_at: Some(now()),
                invalidate: Some(Invalidate::Sessions),
                ..UserPatch::default()
            },
        )
        .await
        .expect("cut")
        .expect("exists");
    let stored = only(&store, "users", doc! {}).await;
    assert_eq!(integer(&stored, "token_version"), Some(1));
    assert_eq!(integer(&stored, "session_epoch"), Some(1));
    assert!(stored.get_datetime("versioned_at").is_ok());
    store.database().drop().await.expect("drop");
}

/// Counters: the key's 32 bytes as a binary `_id`, times as `long` milliseconds, only the
/// fields of the state's kind.
#[tokio::test]
#[ignore = "needs MYAUTH_TEST_MONGODB_URL"]
async fn counter_documents_have_the_documented_bson_types() {
    let store = fresh().await;
    let at = now();
    let bucket = CounterKey::new("ip", "192.0.2.1");
    let limit = RateLimit::new(2, time::Duration::seconds(10));
    store
        .take_rate_token(&bucket, limit, at)
        .await
        .expect("take");
    let stored = only(&store, "counters", doc! {}).await;
    let Some(Bson::Binary(id)) = stored.get("_id") else {
        panic!("the key is not binary: {stored}");
    };
    assert_eq!(id.subtype, BinarySubtype::Generic);
    assert_eq!(id.bytes, bucket.as_bytes().to_vec());
    let ms = auth_core::unix_millis(at);
    assert_eq!(integer(&stored, "tat"), Some(ms + 10_000));
    assert_eq!(integer(&stored, "expires_at"), Some(ms + 10_000));
    assert!(!stored.contains_key("failures"));

    let account = CounterKey::new("login", "alice@example.com");
    store
        .begin_attempt(&account, Throttle::default(), at)
        .await
        .expect("attempt");
    let stored = only(&store, "counters", doc! { "failures": { "$exists": true } }).await;
    assert_eq!(integer(&stored, "failures"), Some(1));
    assert_eq!(integer(&stored, "blocked_until"), Some(0));
    assert_eq!(integer(&stored, "expires_at"), Some(ms + 24 * 3_600_000));
    assert!(!stored.contains_key("tat"));

    // A state that does not decode is Corrupt, not a fresh start.
    raw(&store, "counters")
        .update_one(
            doc! { "failures": { "$exists": true } },
            doc! { "$set": { "failures": -1_i64 } },
        )
        .await
        .expect("spoil");
    let result = store.begin_attempt(&account, Throttle::default(), at).await;
    assert!(matches!(result, Err(StoreError::Corrupt(_))), "{result:?}");
    store.database().drop().await.expect("drop");
}

/// Audit: the position as a `long` `_id`, repeated in `seq`; `detail` as the very JSON text
/// the hash covers; hashes as 32-byte binary; the purge anchor in its own collection.
#[tokio::test]
#[ignore = "needs MYAUTH_TEST_MONGODB_URL"]
async fn audit_documents_keep_the_hashed_text() {
    let store = fresh().await;
    let old = now() - time::Duration::days(30);
    let first = audit::append(&store, old, event("login.failed"))
        .await
        .expect("append");
    audit::append(&store, now(), event("login.succeeded"))
        .await
        .expect("append");
    let stored = only(&store, "audit", doc! { "_id": 1_i64 }).await;
    assert_eq!(integer(&stored, "seq"), Some(1));
    assert_eq!(
        stored.get_str("detail").ok(),
        Some(serde_json::to_string(&first.detail).expect("json").as_str())
    );
    assert_eq!(stored.get("user_id"), Some(&Bson::Null));
    let hash = stored.get_binary_generic("hash").expect("binary hash");
    assert_eq!(hash.as_slice(), first.hash);
    assert!(stored.get_datetime("at").is_ok());

    assert_eq!(
        store
            .purge_audit_records(now() - time::Duration::days(1), now())
            .await
            .expect("purge"),
        1
    );
    let anchor = only(&store, "audit_anchor", doc! {}).await;
    assert_eq!(integer(&anchor, "_id"), Some(1));
    assert_eq!(
        anchor
            .get_binary_generic("hash")
            .expect("binary")
            .as_slice(),
        first.hash
    );

    // Text that is not JSON is Corrupt.
    raw(&store, "audit")
        .update_one(
            doc! { "_id": 2_i64 },
            doc! { "$set": { "detail": "{not json" } },
        )
        .await
        .expect("spoil");
    let result: Result<Option<AuditRecord>, _> = store.last_audit_record().await;
    assert!(matches!(result, Err(StoreError::Corrupt(_))), "{result:?}");
    store.database().drop().await.expect("drop");
}

/// MFA: the enrolment and codes inside the user document, secrets and hashes as hex text,
/// `confirmed_at` absent (not `null`) while pending, the flag set by the confirming write.
#[tokio::test]
#[ignore = "needs MYAUTH_TEST_MONGODB_URL"]
async fn mfa_fields_live_in_the_user_document() {
    let store = fresh().await;
    let user = sample_user("alice@example.com");
    store.create_user(&user).await.expect("create");
    let at = now();
    let pending = TotpRecord {
        user_id: user.id,
        secret: vec![0x00, 0xab, 0xff],
        created_at: at,
        confirmed_at: None,
        pending_expires_at: at + time::Duration::minutes(10),
        last_used_step: None,
    };
    assert!(store.put_pending_totp(&pending).await.expect("put"));
    let stored = only(&store, "users", doc! {}).await;
    let totp = stored.get_document("totp").expect("embedded enrolment");
    assert_eq!(totp.get_str("secret").ok(), Some("00abff"));
    assert!(!totp.contains_key("confirmed_at"), "{totp}");
    assert!(!totp.contains_key("last_used_step"), "{totp}");
    assert_eq!(stored.get("mfa_enabled"), Some(&Bson::Boolean(false)));

    assert!(store.confirm_totp(user.id, 42, at).await.expect("confirm"));
    store
        .replace_recovery_codes(user.id, &[RecoveryCodeHash([0xab; 32])], at)
        .await
        .expect("codes");
    let stored = only(&store, "users", doc! {}).await;
    let totp = stored.get_document("totp").expect("embedded enrolment");
    assert!(totp.get_datetime("confirmed_at").is_ok());
    assert_eq!(integer(totp, "last_used_step"), Some(42));
    assert_eq!(stored.get("mfa_enabled"), Some(&Bson::Boolean(true)));
    assert_eq!(
        stored.get("recovery_codes"),
        Some(&Bson::Array(vec![Bson::String("ab".repeat(32))]))
    );
    assert!(
        store
            .use_recovery_code(user.id, &RecoveryCodeHash([0xab; 32]), at)
            .await
            .expect("use")
    );
    let stored = only(&store, "users", doc! {}).await;
    assert_eq!(stored.get("recovery_codes"), Some(&Bson::Array(vec![])));
    let used = stored.get_array("recovery_codes_used").expect("used codes");
    assert_eq!(used.len(), 1);

    // Every user read, whichever path, carries the flag.
    assert!(
        store
            .update_user(
                user.id,
                &UserPatch {
                    username: Some("al".to_owned()),
                    ..UserPatch::default()
                },
            )
            .await
            .expect("update")
            .expect("exists")
            .mfa_enabled
    );
    assert!(store.list_users(10, 0).await.expect("list").items[0].mfa_enabled);

    // Nothing to enrol, nothing to hold codes, for an unknown user.
    let stranger = auth_core::UserId::new();
    let mut foreign = pending.clone();
    foreign.user_id = stranger;
    assert!(!store.put_pending_totp(&foreign).await.expect("put"));
    store
        .replace_recovery_codes(stranger, &[RecoveryCodeHash([1; 32])], at)
        .await
        .expect("codes");
    assert_eq!(
        store.count_recovery_codes(stranger).await.expect("count"),
        0
    );
    assert_eq!(store.list_users(10, 0).await.expect("list").total, 1);

    // A secret that is not hex is Corrupt.
    raw(&store, "users")
        .update_one(doc! {}, doc! { "$set": { "totp.secret": "xyz" } })
        .await
        .expect("spoil");
    let result = store.find_totp(user.id).await;
    assert!(matches!(result, Err(StoreError::Corrupt(_))), "{result:?}");
    store.database().drop().await.expect("drop");
}

/// Past nine records the audit positions must still compare as numbers: the test server
/// compares `_id`s as text when a date comparison shares the filter (so the purge bounds
/// `seq`), and the listings page across 9 → 10.
#[tokio::test]
#[ignore = "needs MYAUTH_TEST_MONGODB_URL"]
async fn audit_positions_compare_as_numbers_past_nine() {
    let store = fresh().await;
    let old = now() - time::Duration::days(30);
    let mut records = Vec::new();
    for i in 0..12 {
        let at = if i < 10 { old } else { now() };
        records.push(
            audit::append(&store, at, event(&format!("e{i}")))
                .await
                .expect("append"),
        );
    }
    let seqs = |records: Vec<AuditRecord>| records.iter().map(|r| r.seq).collect::<Vec<_>>();
    let page = store
        .list_audit_records(&AuditQuery {
            before: Some(11),
            limit: 3,
            ..AuditQuery::default()
        })
        .await
        .expect("list");
    assert_eq!(seqs(page), vec![10, 9, 8]);
    assert_eq!(
        seqs(store.audit_records_after(8, 3).await.expect("after")),
        vec![9, 10, 11]
    );
    assert_eq!(
        store
            .purge_audit_records(now() - time::Duration::days(1), now())
            .await
            .expect("purge"),
        10
    );
    let anchor = store.audit_anchor().await.expect("anchor").expect("one");
    assert_eq!((anchor.seq, anchor.hash), (10, records[9].hash));
    let report = audit::verify(&store).await.expect("verify");
    assert_eq!((report.broken, report.checked), (None, 2));
    store.database().drop().await.expect("drop");
}

fn date(at: time::OffsetDateTime) -> DateTime {
    DateTime::from_millis(auth_core::unix_millis(at))
}

/// A session document as the store writes it (checked above), for raw bulk inserts.
fn session_document(session: &SessionRecord) -> Document {
    doc! {
        "_id": session.id.to_string(),
        "user_id": session.user_id.to_string(),
        "created_at": date(session.created_at),
        "last_used_at": date(session.last_used_at),
        "expires_at": date(session.expires_at),
        "revoked_at": Bson::Null,
        "epoch": session.epoch,
        "user_agent": Bson::Null,
        "ip": Bson::Null,
    }
}

/// A refresh token document of `session` as the store writes it, for raw bulk inserts.
fn token_document(session: &SessionRecord) -> Document {
    let hash = TokenHash::of(&Uuid::now_v7().to_string());
    doc! {
        "_id": Uuid::now_v7().to_string(),
        "user_id": session.user_id.to_string(),
        "kind": "refresh",
        "token_hash": Binary { subtype: BinarySubtype::Generic, bytes: hash.as_bytes().to_vec() },
        "family_id": session.id.to_string(),
        "family_expires_at": date(session.expires_at),
        "expires_at": date(session.expires_at),
        "created_at": date(session.created_at),
        "used_at": Bson::Null,
        "revoked_at": Bson::Null,
    }
}

/// More expired sessions than one purge round takes: every round deletes its batch with
/// the sessions' tokens, and live sessions stay.
#[tokio::test]
#[ignore = "needs MYAUTH_TEST_MONGODB_URL"]
async fn purge_expired_sessions_goes_through_every_batch() {
    let store = fresh().await;
    let user = sample_user("alice@example.com");
    store.create_user(&user).await.expect("create");
    let at = now();
    let (live, live_token) = sample_session(&user);
    store
        .create_session(&live, &live_token)
        .await
        .expect("login");
    // Written raw, in one command per collection, to keep the test fast on the test server.
    let expired: Vec<SessionRecord> = (0..1_100)
        .map(|_| {
            let (mut session, _) = sample_session(&user);
            session.expires_at = at - time::Duration::seconds(1);
            session
        })
        .collect();
    raw(&store, "sessions")
        .insert_many(expired.iter().map(session_document))
        .await
        .expect("expired sessions");
    raw(&store, "tokens")
        .insert_many(expired.iter().map(token_document))
        .await
        .expect("their tokens");
    assert_eq!(
        store.purge_expired_sessions(at).await.expect("purge"),
        1_100
    );
    let count = |name: &'static str| {
        let collection = raw(&store, name);
        async move { collection.count_documents(doc! {}).await.expect("count") }
    };
    assert_eq!(count("sessions").await, 1);
    assert_eq!(
        count("tokens").await,
        1,
        "only the live session's token is left"
    );
    assert_eq!(store.find_session(live.id).await.expect("find"), Some(live));
    store.database().drop().await.expect("drop");
}
