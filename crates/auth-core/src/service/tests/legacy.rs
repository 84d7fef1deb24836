//! Users imported with another system's password hash log in with their old password, and
//! the hash becomes the configured argon2id.

use super::*;
use crate::user::HashedPassword;

#[derive(serde::Deserialize)]
struct Vectors {
    vectors: Vec<Vector>,
}

#[derive(serde::Deserialize)]
struct Vector {
    scheme: String,
    password: String,
    hash: String,
}

/// One reference vector of every scheme, from `testdata/legacy_hashes.json`.
fn one_per_scheme() -> Vec<Vector> {
    let text = include_str!("../../../testdata/legacy_hashes.json");
    let mut all = serde_json::from_str::<Vectors>(text).unwrap().vectors;
    let mut seen = std::collections::HashSet::new();
    all.retain(|v| seen.insert(v.scheme.clone()));
    all
}

#[tokio::test]
async fn legacy_hashes_log_in_with_the_old_password_and_become_argon2id() {
    let h = Harness::new();
    let vectors = one_per_scheme();
    assert!(vectors.len() >= 12, "{} schemes", vectors.len());
    for (i, v) in vectors.iter().enumerate() {
        let email = format!("legacy{i}@example.com");
        let user = h.verified_user(&email).await;
        h.patch(
            &user,
            UserPatch {
                password_hash: Some(HashedPassword::new(v.hash.clone())),
                ..UserPatch::default()
            },
        )
        .await;
        let wrong = h.service.login(&email, &secret("Wr0ng!pass")).await;
        assert!(
            matches!(wrong, Err(AuthError::InvalidCredentials)),
            "{}: {wrong:?}",
            v.scheme
        );
        let stored = h.store.find_user_by_email(&email).await.unwrap().unwrap();
        assert_eq!(stored.password_hash.as_str(), v.hash, "a failure rehashed");

        h.service
            .login(&email, &secret(&v.password))
            .await
            .unwrap_or_else(|e| panic!("{}: {e:?}", v.scheme));
        let after = h.store.find_user_by_email(&email).await.unwrap().unwrap();
        assert!(
            after
                .password_hash
                .as_str()
                .starts_with("$argon2id$v=19$m=64,t=1,p=1$"),
            "{} not upgraded",
            v.scheme
        );
        // The upgraded hash holds the same password.
        h.service.login(&email, &secret(&v.password)).await.unwrap();
    }
}

#[tokio::test]
async fn a_legacy_hash_over_the_budget_refuses_the_login_at_once() {
    let h = Harness::new();
    let user = h.verified_user("costly@example.com").await;
    h.patch(
        &user,
        UserPatch {
            password_hash: Some(HashedPassword::new(
                "$2b$31$CpiAL.NTz6cSCDNEG7YULeiuHpII29ABm2Mrop9lzchUUMD9QyrDC",
            )),
            ..UserPatch::default()
        },
    )
    .await;
    let started = Instant::now();
    let result = h
        .service
        .login("costly@example.com", &secret(PASSWORD))
        .await;
    assert!(matches!(result, Err(AuthError::InvalidCredentials)));
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
}
