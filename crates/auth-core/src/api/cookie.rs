//! Cookie mode (`MYAUTH_REFRESH_COOKIE=on`): the refresh token travels in a `__Host-`
//! cookie that scripts cannot read, and every request the cookie authenticates passes a
//! CSRF check first (the session's `X-CSRF-Token` and an allowed `Origin`).
//!
//! A body that carries a refresh token is served as in bearer mode (no CSRF check: a
//! cross-site page cannot know the token), so OAuth2 and JSON clients keep working beside
//! the browsers; the answer sets the cookie all the same.

#![expect(
    clippy::result_large_err,
    reason = "a problem is built at most once per failed request; boxing it buys nothing"
)]

use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde::Serialize;

use super::requests::{LogoutRequest, RefreshRequest};
use super::response::{empty, json};
use super::{ApiRequest, ApiResponse, Problem};
use crate::service::{AuthService, TokenPair};

/// The name of the refresh cookie. The `__Host-` prefix makes browsers refuse it unless it
/// is `Secure`, has `Path=/` and no `Domain`, so no sibling host can plant or widen it.
pub const REFRESH_COOKIE: &str = "__Host-myauth_refresh";

/// The attributes every refresh cookie carries, the clearing one too.
const ATTRIBUTES: &str = "HttpOnly; Secure; SameSite=Strict; Path=/";

/// The token response of cookie mode: the pair without the refresh token, and the
/// session's CSRF token.
#[derive(Serialize)]
struct CookieTokens<'a> {
    access_token: &'a str,
    token_type: &'a str,
    expires_in: i64,
    refresh_expires_in: i64,
    csrf_token: &'a str,
}

/// The refresh token of the request's cookie, if it has one.
pub(crate) fn refresh_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == REFRESH_COOKIE)
        .map(|(_, value)| value.trim().trim_matches('"').to_owned())
        .filter(|value| !value.is_empty())
}

fn set_cookie(value: &str, max_age: i64) -> Result<HeaderValue, Problem> {
    HeaderValue::from_str(&format!(
        "{REFRESH_COOKIE}={value}; {ATTRIBUTES}; Max-Age={}",
        max_age.max(0)
    ))
    .map_err(|_| Problem::internal("auth-core: a refresh token is not a cookie value"))
}

/// A token answer in cookie mode: the cookie set, the body without the refresh token and
/// with the session's CSRF token.
pub(crate) fn tokens(service: &AuthService, pair: &TokenPair) -> Result<ApiResponse, Problem> {
    let csrf = service.csrf_token_for_access(&pair.access_token)?;
    let mut response = json(
        StatusCode::OK,
        &CookieTokens {
            access_token: &pair.access_token,
            token_type: pair.token_type,
            expires_in: pair.expires_in,
            refresh_expires_in: pair.refresh_expires_in,
            csrf_token: &csrf,
        },
    )?;
    let headers = response.headers_mut();
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::SET_COOKIE,
        set_cookie(&pair.refresh_token, pair.refresh_expires_in)?,
    );
    Ok(response)
}

/// `POST /refresh` in cookie mode.
pub(crate) async fn refresh(
    service: &AuthService,
    request: &ApiRequest,
) -> Result<ApiResponse, Problem> {
    let refresh_token = match (
        request.decode::<RefreshRequest>(),
        refresh_cookie(&request.headers),
    ) {
        (Ok(RefreshRequest { refresh_token }), _) => refresh_token,
        (Err(_), Some(cookie)) => {
            service.check_cookie_csrf(&request.headers, &cookie).await?;
            cookie
        }
        (Err(problem), None) => return Err(problem),
    };
    tokens(service, &service.refresh(&refresh_token).await?)
}

/// `POST /logout` in cookie mode: the session of the body's or the cookie's token ends,
/// and the cookie is cleared.
pub(crate) async fn logout(
    service: &AuthService,
    request: &ApiRequest,
) -> Result<ApiResponse, Problem> {
    let cookie = refresh_cookie(&request.headers);
    let (refresh_token, clear) = match (request.decode::<LogoutRequest>(), cookie) {
        // A body token clears the cookie only when it is the cookie's own token.
        (Ok(LogoutRequest { refresh_token }), cookie) => {
            let clear = cookie.as_deref() == Some(refresh_token.as_str());
            (refresh_token, clear)
        }
        (Err(_), Some(cookie)) => {
            service.check_cookie_csrf(&request.headers, &cookie).await?;
            (cookie, true)
        }
        (Err(problem), None) => return Err(problem),
    };
    service.logout(&refresh_token).await?;
    let mut response = empty(StatusCode::NO_CONTENT);
    if clear {
        response
            .headers_mut()
            .insert(header::SET_COOKIE, set_cookie("", 0)?);
    }
    Ok(response)
}

/// The methods a CORS preflight allows (every method of the API), for the adapters' CORS
/// middleware.
pub const CORS_METHODS: [http::Method; 5] = [
    http::Method::GET,
    http::Method::POST,
    http::Method::PUT,
    http::Method::PATCH,
    http::Method::DELETE,
];

/// The request headers a CORS preflight allows: the body's type, the bearer token and cookie
/// mode's CSRF header.
pub const CORS_HEADERS: [http::HeaderName; 3] = [
    http::header::CONTENT_TYPE,
    http::header::AUTHORIZATION,
    http::HeaderName::from_static(crate::service::CSRF_HEADER),
];

/// How long a browser may cache a preflight answer, in seconds.
pub const CORS_MAX_AGE_SECS: u64 = 600;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(header::COOKIE, HeaderValue::from_static("a=1; b=2"));
        assert_eq!(refresh_cookie(&headers), None);
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("theme=dark; __Host-myauth_refresh=abc ; x=y"),
        );
        assert_eq!(refresh_cookie(&headers).as_deref(), Some("abc"));
    }

    #[test]
    fn the_cookie_has_the_contracts_attributes() {
        let value = set_cookie("tok", 60).unwrap();
        assert_eq!(
            value,
            "__Host-myauth_refresh=tok; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=60"
        );
        assert!(
            set_cookie("", 0)
                .unwrap()
                .to_str()
                .unwrap()
                .ends_with("Max-Age=0")
        );
    }
}
