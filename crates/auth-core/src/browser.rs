//! The configuration of the browser support: cookie mode for the refresh token and the
//! origins allowed to call the API from a browser (`MYAUTH_REFRESH_COOKIE`,
//! `MYAUTH_CORS_ORIGINS`).

use crate::config::AuthConfig;
use crate::error::ConfigError;

/// The browser settings of an [`AuthConfig`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct BrowserConfig {
    /// Whether login and refresh put the refresh token in an `HttpOnly` cookie.
    pub(crate) refresh_cookie: bool,
    /// Normalised origins (`scheme://host[:port]`) allowed to call from a browser.
    pub(crate) cors_origins: Vec<String>,
}

impl BrowserConfig {
    /// Reads `MYAUTH_REFRESH_COOKIE` and `MYAUTH_CORS_ORIGINS`; blank values are unset.
    pub(crate) fn from_lookup(
        lookup: &impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let var = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let mut config = Self::default();
        if let Some(raw) = var("MYAUTH_REFRESH_COOKIE") {
            config.refresh_cookie = match raw.trim().to_ascii_lowercase().as_str() {
                "on" | "true" | "1" | "yes" => true,
                "off" | "false" | "0" | "no" => false,
                _ => {
                    return Err(ConfigError::InvalidVar {
                        name: "MYAUTH_REFRESH_COOKIE",
                        reason: "expected on or off".to_owned(),
                    });
                }
            };
        }
        if let Some(raw) = var("MYAUTH_CORS_ORIGINS") {
            config.cors_origins =
                parse_origins(&raw).map_err(|reason| ConfigError::InvalidVar {
                    name: "MYAUTH_CORS_ORIGINS",
                    reason,
                })?;
        }
        Ok(config)
    }
}

/// Comma-separated origins, each `http(s)://host[:port]` without a path.
fn parse_origins(raw: &str) -> Result<Vec<String>, String> {
    let mut origins = Vec::new();
    for entry in raw.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let origin = normalize_origin(entry).ok_or_else(|| {
            format!("{entry:?} is not an origin such as https://app.example.com (no path)")
        })?;
        if !origins.contains(&origin) {
            origins.push(origin);
        }
    }
    Ok(origins)
}

/// An origin as browsers send it in `Origin`: lower-case scheme and host, the port only
/// when it is not the scheme's default, no trailing slash. `None` for anything else
/// (a path, a query, another scheme, `null`).
pub(crate) fn normalize_origin(raw: &str) -> Option<String> {
    let raw = raw.trim().trim_end_matches('/');
    let (scheme, rest) = raw.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => ":80",
        "https" => ":443",
        _ => return None,
    };
    if rest.is_empty()
        || rest
            .chars()
            .any(|c| matches!(c, '/' | '?' | '#' | '@' | ' ') || c.is_control())
    {
        return None;
    }
    let host = rest.to_ascii_lowercase();
    let host = host.strip_suffix(default_port).unwrap_or(&host);
    Some(format!("{scheme}://{host}"))
}

/// The origin of a URL such as the public URL (its path dropped).
fn origin_of_url(url: &str) -> Option<String> {
    let (scheme, rest) = url.trim().split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    normalize_origin(&format!("{scheme}://{authority}"))
}

impl AuthConfig {
    /// Cookie mode (`MYAUTH_REFRESH_COOKIE=on`; default off): login and refresh also set the
    /// refresh token in a `__Host-` cookie (`HttpOnly; Secure; SameSite=Strict; Path=/`)
    /// and leave it out of the body, `/refresh` and `/logout` take it from the cookie, and
    /// every cookie-authenticated request must pass the CSRF check (`X-CSRF-Token` and
    /// `Origin`). Bearer access tokens work as before.
    #[must_use]
    pub fn with_refresh_cookie(mut self, on: bool) -> Self {
        self.browser.refresh_cookie = on;
        self
    }

    /// Whether cookie mode is on.
    pub fn refresh_cookie(&self) -> bool {
        self.browser.refresh_cookie
    }

    /// The origins allowed to call the API from a browser (`MYAUTH_CORS_ORIGINS`,
    /// comma-separated; default none): CORS answers them with credentials, and cookie-mode
    /// requests from them pass the `Origin` half of the CSRF check. Entries that are not
    /// `http(s)://host[:port]` are dropped; use `from_env` to have them refused.
    #[must_use]
    pub fn with_cors_origins<I, S>(mut self, origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.browser.cors_origins = Vec::new();
        for origin in origins {
            if let Some(origin) = normalize_origin(origin.as_ref())
                && !self.browser.cors_origins.contains(&origin)
            {
                self.browser.cors_origins.push(origin);
            }
        }
        self
    }

    /// The allowed origins, normalised (`https://app.example.com`).
    pub fn cors_origins(&self) -> &[String] {
        &self.browser.cors_origins
    }

    /// Whether a request's `Origin` may make a cookie-authenticated call: one of
    /// [`cors_origins`](Self::cors_origins) or the origin of the public URL.
    pub fn is_allowed_origin(&self, origin: &str) -> bool {
        let Some(origin) = normalize_origin(origin) else {
            return false;
        };
        self.browser.cors_origins.contains(&origin)
            || origin_of_url(self.public_url()).as_deref() == Some(origin.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn origins_are_normalised_like_browsers_send_them() {
        assert_eq!(
            normalize_origin("HTTPS://App.Example.com:443/").as_deref(),
            Some("https://app.example.com")
        );
        assert_eq!(
            normalize_origin("http://127.0.0.1:8080").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        for bad in [
            "null",
            "app.example.com",
            "ftp://x",
            "https://x/path",
            "https://",
        ] {
            assert_eq!(normalize_origin(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_variables_are_read_and_bad_ones_named() {
        let config = BrowserConfig::from_lookup(&lookup(&[
            ("MYAUTH_REFRESH_COOKIE", "on"),
            (
                "MYAUTH_CORS_ORIGINS",
                "https://app.example.com, http://localhost:5173,https://app.example.com",
            ),
        ]))
        .unwrap();
        assert!(config.refresh_cookie);
        assert_eq!(
            config.cors_origins,
            ["https://app.example.com", "http://localhost:5173"]
        );
        assert_eq!(
            BrowserConfig::from_lookup(&lookup(&[])).unwrap(),
            BrowserConfig::default()
        );
        for vars in [
            &[("MYAUTH_REFRESH_COOKIE", "maybe")][..],
            &[("MYAUTH_CORS_ORIGINS", "https://app.example.com/path")][..],
        ] {
            let name = vars[0].0;
            let vars: &'static [(&'static str, &'static str)] = Box::leak(vars.to_vec().into());
            let error = BrowserConfig::from_lookup(&lookup(vars)).unwrap_err();
            assert!(error.to_string().contains(name), "{error}");
        }
    }

    #[test]
    fn the_public_urls_origin_and_listed_origins_are_allowed_and_nothing_else() {
        let config = AuthConfig::default()
            .with_public_url("https://auth.example.com/base/")
            .with_cors_origins(["https://app.example.com"]);
        assert!(config.is_allowed_origin("https://auth.example.com"));
        assert!(config.is_allowed_origin("https://app.example.com"));
        assert!(!config.is_allowed_origin("https://evil.example.com"));
        assert!(!config.is_allowed_origin("null"));
        assert!(!config.is_allowed_origin("http://auth.example.com"));
    }
}
