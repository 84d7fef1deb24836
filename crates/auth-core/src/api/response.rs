//! Success responses and the header sets that go with each kind.

#![expect(
    clippy::result_large_err,
    reason = "a problem is built at most once per failed request; boxing it buys nothing"
)]

use http::{HeaderValue, StatusCode, header};
use serde::Serialize;

use super::{ApiResponse, Problem};
use crate::service::TokenPair;

/// A JSON response with `Content-Type: application/json` and `Cache-Control: no-store`:
/// every JSON answer of the API carries a user's data or a token, or says something about
/// an account, and none may be kept by a cache on the way (ASVS 5.0 14.3.2).
pub(crate) fn json(status: StatusCode, value: &impl Serialize) -> Result<ApiResponse, Problem> {
    let body = serde_json::to_vec(value).map_err(|e| {
        Problem::internal(&format!("auth-core: could not serialise a response: {e}"))
    })?;
    let mut response = http::Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// A token response: never cached (RFC 6749 §5.1), also by HTTP/1.0 caches.
pub(crate) fn tokens(pair: &TokenPair) -> Result<ApiResponse, Problem> {
    let mut response = json(StatusCode::OK, pair)?;
    response
        .headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok(response)
}

/// A response without a body.
pub(crate) fn empty(status: StatusCode) -> ApiResponse {
    let mut response = http::Response::new(Vec::new());
    *response.status_mut() = status;
    response
}

/// An HTML page of ours (the email-link pages, the API documentation) with the headers
/// every one carries: its own `csp`, no framing (`X-Frame-Options` too, for browsers that
/// predate CSP's `frame-ancestors`), no referrer, no content sniffing, and `cache_control`.
pub(crate) fn html_page(
    status: StatusCode,
    body: Vec<u8>,
    csp: &'static str,
    cache_control: &'static str,
) -> ApiResponse {
    let mut response = http::Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CONTENT_SECURITY_POLICY, csp),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::CACHE_CONTROL, cache_control),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}
