//! Opaque tokens (refresh and password-reset) as clients present them, the stored forms
//! stores read back, and the `Authorization: Bearer` header.

use std::sync::OnceLock;

use auth_core::api::bearer;
use auth_core::{
    AuthConfig, AuthError, AuthService, HashingConfig, MemoryStore, NewUser, TokenHash, TokenKind,
    TokenPair,
};
use http::{HeaderMap, HeaderValue, header::AUTHORIZATION};
use secrecy::SecretString;

use crate::block_on;
use crate::jwt::SECRET;

/// A service on the memory store with one user and one live session.
fn service() -> &'static (AuthService, TokenPair) {
    static SERVICE: OnceLock<(AuthService, TokenPair)> = OnceLock::new();
    SERVICE.get_or_init(|| {
        let hashing = HashingConfig {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
            ..HashingConfig::default()
        };
        let service = match AuthService::builder()
            .config(
                AuthConfig::new(SECRET)
                    .with_require_verified_email(false)
                    .with_hashing(hashing),
            )
            .store(MemoryStore::new())
            .build()
        {
            Ok(service) => service,
            Err(error) => panic!("fuzz service refused: {error}"),
        };
        let password = SecretString::from("Tr0ub4dor&3-Horse-Staple");
        let session = block_on(async {
            service
                .register(NewUser {
                    email: "fuzz@example.com".into(),
                    username: "fuzz".into(),
                    password: password.clone(),
                })
                .await?;
            service.login("fuzz@example.com", &password).await
        });
        match session {
            Ok(session) => (service, session),
            Err(error) => panic!("fuzz session refused: {error}"),
        }
    })
}

/// Target `opaque_token`: the input as a refresh token (refresh and logout on a real
/// service: refresh refuses it with `invalid_token`, logout shrugs),
/// as a stored hash (hex, bytes) and kind, and as an `Authorization` header value.
pub(crate) fn token(data: &[u8]) {
    // Stored forms: hex and raw bytes of a hash, the kind discriminator.
    if let Some(hash) = TokenHash::from_slice(data) {
        assert_eq!(data.len(), 32);
        assert_eq!(hash.as_bytes(), data);
    } else {
        assert_ne!(data.len(), 32);
    }
    // The header value, exactly as an adapter hands it over.
    if let Ok(value) = HeaderValue::from_bytes(data) {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, value);
        if let Ok(token) = bearer(&headers) {
            assert!(!token.is_empty());
            assert_eq!(token, token.trim());
            assert!(data.windows(token.len()).any(|w| w == token.as_bytes()));
        }
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(hash) = TokenHash::from_hex(text) {
        assert_eq!(hash.to_hex(), text.to_ascii_lowercase());
    }
    if let Some(kind) = TokenKind::parse(text) {
        assert_eq!(kind.as_str(), text);
    }
    let (service, session) = service();
    if text == session.refresh_token {
        return;
    }
    let (refreshed, logged_out) = block_on(async {
        (
            service.refresh(text).await.map(|_| ()),
            service.logout(text).await,
        )
    });
    assert!(
        matches!(refreshed, Err(AuthError::InvalidToken)),
        "refresh of an unknown token answered {refreshed:?}"
    );
    // Logout of a token that names no session is not an error (RFC 7009 §2.2).
    assert!(
        logged_out.is_ok(),
        "logout of an unknown token answered {logged_out:?}"
    );
}
