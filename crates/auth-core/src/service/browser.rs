//! The browser support's checks: the CSRF token of cookie mode, the form tokens of the
//! pages, and a look at an emailed link that changes nothing (what a page shows on `GET`).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac as _};
use http::HeaderMap;
use sha2::Sha256;
use subtle::ConstantTimeEq as _;
use uuid::Uuid;

use super::AuthService;
use super::sessions::opaque_hash;
use crate::error::AuthError;
use crate::token::TokenKind;

/// The header a cookie-authenticated request carries its CSRF token in.
pub(crate) const CSRF_HEADER: &str = "x-csrf-token";

/// How long a page's form token is accepted after the page was shown: long enough to
/// type a password, short enough that a leaked page is soon useless.
const FORM_TOKEN_SECS: i64 = 30 * 60;

impl AuthService {
    fn csrf_mac(&self, purpose: &[u8]) -> Hmac<Sha256> {
        // HMAC accepts a key of any length; 32 bytes never fails.
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(self.inner.keys.csrf_key())
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(purpose);
        mac.update(b"\0");
        mac
    }

    /// The CSRF token of a session in cookie mode: a MAC of its id, so it stays the same
    /// for every refresh of the session and is checked without a stored copy.
    pub(crate) fn session_csrf_token(&self, session: Uuid) -> String {
        let mut mac = self.csrf_mac(b"cookie-session");
        mac.update(session.as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// The CSRF token that goes with the session of a freshly issued access token.
    pub(crate) fn csrf_token_for_access(&self, access_token: &str) -> Result<String, AuthError> {
        let claims = self.inner.jwt.verify_access(access_token, self.now())?;
        let session = claims.sid.ok_or(AuthError::InvalidToken)?;
        Ok(self.session_csrf_token(session))
    }

    /// The CSRF check of a request authenticated by the refresh cookie: its `Origin` is an
    /// allowed one (or the public URL's), and its `X-CSRF-Token` is the session's token
    /// (compared in constant time). Reads the token's record, never changes it: a refused
    /// request uses nothing up.
    ///
    /// # Errors
    ///
    /// [`AuthError::CsrfFailed`]; [`AuthError::Unavailable`] when the store fails.
    pub(crate) async fn check_cookie_csrf(
        &self,
        headers: &HeaderMap,
        refresh_token: &str,
    ) -> Result<(), AuthError> {
        let origin = headers
            .get(http::header::ORIGIN)
            .and_then(|value| value.to_str().ok());
        if !origin.is_some_and(|origin| self.inner.config.is_allowed_origin(origin)) {
            return Err(AuthError::CsrfFailed);
        }
        let Some(presented) = headers
            .get(CSRF_HEADER)
            .and_then(|value| value.to_str().ok())
        else {
            return Err(AuthError::CsrfFailed);
        };
        let Ok(hash) = opaque_hash(refresh_token) else {
            // A malformed cookie: nothing to use up; the token check answers it.
            return Ok(());
        };
        match self
            .inner
            .store
            .find_token(&hash, TokenKind::Refresh)
            .await?
        {
            Some(record) => {
                let Some(session) = record.family_id else {
                    return Err(AuthError::CsrfFailed);
                };
                let expected = self.session_csrf_token(session);
                if bool::from(expected.as_bytes().ct_eq(presented.trim().as_bytes())) {
                    Ok(())
                } else {
                    Err(AuthError::CsrfFailed)
                }
            }
            // An unknown token: nothing it could use up; the refresh answers 401.
            None => Ok(()),
        }
    }

    /// A page's form token for one link token and purpose: the issue time and a MAC of the
    /// purpose, the time and the link token. Not an `Origin` check: the pages send
    /// `Referrer-Policy: no-referrer`, so browsers post `Origin: null`.
    pub(crate) fn page_form_token(&self, purpose: &str, link_token: &str) -> String {
        let issued = self.now().unix_timestamp();
        self.form_token_at(purpose, link_token, issued)
    }

    fn form_token_at(&self, purpose: &str, link_token: &str, issued: i64) -> String {
        let mut mac = self.csrf_mac(b"page-form");
        mac.update(purpose.as_bytes());
        mac.update(b"\0");
        mac.update(&issued.to_be_bytes());
        mac.update(link_token.as_bytes());
        let mut raw = issued.to_be_bytes().to_vec();
        raw.extend_from_slice(&mac.finalize().into_bytes());
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// Whether a form token was made by [`page_form_token`](Self::page_form_token) for this
    /// purpose and link token within the last 30 minutes (constant-time comparison).
    pub(crate) fn check_page_form_token(
        &self,
        purpose: &str,
        link_token: &str,
        form_token: &str,
    ) -> bool {
        let Ok(raw) = URL_SAFE_NO_PAD.decode(form_token.trim()) else {
            return false;
        };
        let Some(issued) = raw.get(..8).and_then(|b| <[u8; 8]>::try_from(b).ok()) else {
            return false;
        };
        let issued = i64::from_be_bytes(issued);
        let now = self.now().unix_timestamp();
        if issued > now + 60 || now - issued > FORM_TOKEN_SECS {
            return false;
        }
        let expected = self.form_token_at(purpose, link_token, issued);
        bool::from(expected.as_bytes().ct_eq(form_token.trim().as_bytes()))
    }

    /// Whether an email-verification link's token is genuine and unexpired, without
    /// verifying anything.
    ///
    /// # Errors
    ///
    /// [`AuthError::InvalidToken`], [`AuthError::ExpiredToken`].
    pub(crate) fn check_verification_link(&self, token: &str) -> Result<(), AuthError> {
        self.inner
            .jwt
            .verify_verification(token, self.now())
            .map(|_| ())
    }

    /// Whether a password-reset link's token can still be used, without using it.
    ///
    /// # Errors
    ///
    /// [`AuthError::InvalidToken`] (unknown, used, revoked), [`AuthError::ExpiredToken`],
    /// [`AuthError::Unavailable`].
    pub(crate) async fn check_reset_link(&self, token: &str) -> Result<(), AuthError> {
        let hash = opaque_hash(token)?;
        match self
            .inner
            .store
            .find_token(&hash, TokenKind::PasswordReset)
            .await?
        {
            Some(record) if record.used_at.is_some() || record.revoked_at.is_some() => {
                Err(AuthError::InvalidToken)
            }
            Some(record) if record.expires_at <= self.now() => Err(AuthError::ExpiredToken),
            Some(_) => Ok(()),
            None => Err(AuthError::InvalidToken),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::test_support::Harness;

    #[test]
    fn form_tokens_are_bound_to_purpose_and_link_and_expire() {
        let h = Harness::new();
        let token = h.service.page_form_token("reset", "link-a");
        assert!(h.service.check_page_form_token("reset", "link-a", &token));
        assert!(!h.service.check_page_form_token("verify", "link-a", &token));
        assert!(!h.service.check_page_form_token("reset", "link-b", &token));
        assert!(
            !h.service
                .check_page_form_token("reset", "link-a", "garbage")
        );
        let old = h.service.now().unix_timestamp() - FORM_TOKEN_SECS - 1;
        let stale = h.service.form_token_at("reset", "link-a", old);
        assert!(!h.service.check_page_form_token("reset", "link-a", &stale));
        let mut forged = URL_SAFE_NO_PAD.decode(&token).unwrap();
        forged[12] ^= 1;
        let forged = URL_SAFE_NO_PAD.encode(forged);
        assert!(!h.service.check_page_form_token("reset", "link-a", &forged));
    }

    #[test]
    fn session_csrf_tokens_differ_per_session() {
        let h = Harness::new();
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        assert_eq!(
            h.service.session_csrf_token(a),
            h.service.session_csrf_token(a)
        );
        assert_ne!(
            h.service.session_csrf_token(a),
            h.service.session_csrf_token(b)
        );
    }
}
