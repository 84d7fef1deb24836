//! The bearer token of a request (RFC 6750 §2.1), and the checks every adapter's
//! extractors run on it.

use http::HeaderMap;
use http::header::AUTHORIZATION;

use super::role::Role;
use crate::error::AuthError;
use crate::jwt::Claims;
use crate::service::AuthService;
use crate::user::User;

/// The bearer token of the `Authorization` header.
///
/// # Errors
///
/// [`AuthError::MissingToken`] without a header or with another scheme (so the answer is
/// a plain `WWW-Authenticate: Bearer` challenge, RFC 6750 §3.1);
/// [`AuthError::InvalidToken`] for an unreadable value or an empty token.
pub fn bearer(headers: &HeaderMap) -> Result<&str, AuthError> {
    let value = headers
        .get(AUTHORIZATION)
        .ok_or(AuthError::MissingToken)?
        .to_str()
        .map_err(|_| AuthError::InvalidToken)?;
    let (scheme, token) = value.split_once(' ').ok_or(AuthError::MissingToken)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::MissingToken);
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(AuthError::InvalidToken);
    }
    Ok(token)
}

impl AuthService {
    /// The verified claims of a request's bearer access token, without reading the store:
    /// what the stateless `CurrentUser` extractors run.
    ///
    /// # Errors
    ///
    /// As [`bearer`] and [`authenticate`](Self::authenticate).
    pub fn authenticate_headers(&self, headers: &HeaderMap) -> Result<Claims, AuthError> {
        self.authenticate(bearer(headers)?)
    }

    /// The caller of a request checked against the store: the bearer token's signature and
    /// lifetime, then [`me`](Self::me) — what `CurrentUserRecord` and every route that reads
    /// the caller run. A cut token is refused at once on every instance.
    ///
    /// # Errors
    ///
    /// As [`bearer`], [`verify_access_token`](Self::verify_access_token) and
    /// [`me`](Self::me).
    pub async fn current_user(&self, headers: &HeaderMap) -> Result<User, AuthError> {
        let claims = self.verify_access_token(bearer(headers)?)?;
        self.me(&claims).await
    }

    /// The verified claims of a request's bearer token, not checked against the revocation
    /// view: for routes that check the caller against the store next.
    ///
    /// # Errors
    ///
    /// As [`bearer`] and [`verify_access_token`](Self::verify_access_token).
    pub fn verified_claims(&self, headers: &HeaderMap) -> Result<Claims, AuthError> {
        self.verify_access_token(bearer(headers)?)
    }

    /// Like [`authenticate_headers`](Self::authenticate_headers), and the token must carry
    /// role `R` (for [`Admin`](super::Admin), the configured admin role): what the
    /// stateless `RequireRole<R>` extractors run.
    ///
    /// # Errors
    ///
    /// [`AuthError::Forbidden`] without the role, else as
    /// [`authenticate_headers`](Self::authenticate_headers).
    pub fn authorize_headers<R: Role>(&self, headers: &HeaderMap) -> Result<Claims, AuthError> {
        let claims = self.authenticate_headers(headers)?;
        if claims.has_role(R::name_in(self)) {
            Ok(claims)
        } else {
            Err(AuthError::Forbidden)
        }
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn with(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn bearer_needs_the_scheme_and_a_token() {
        assert_eq!(bearer(&with("Bearer abc")).unwrap(), "abc");
        assert_eq!(bearer(&with("bearer  abc ")).unwrap(), "abc");
        assert!(matches!(
            bearer(&with("Basic abc")),
            Err(AuthError::MissingToken)
        ));
        assert!(matches!(
            bearer(&with("Bearer ")),
            Err(AuthError::InvalidToken)
        ));
        assert!(matches!(
            bearer(&with("Bearer")),
            Err(AuthError::MissingToken)
        ));
        assert!(matches!(
            bearer(&HeaderMap::new()),
            Err(AuthError::MissingToken)
        ));
        let mut opaque = HeaderMap::new();
        opaque.insert(
            AUTHORIZATION,
            HeaderValue::from_bytes(b"Bearer \xff").unwrap(),
        );
        assert!(matches!(bearer(&opaque), Err(AuthError::InvalidToken)));
    }
}
