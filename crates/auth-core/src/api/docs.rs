//! The interactive API documentation: Swagger UI, its assets compiled into the crate
//! (utoipa-swagger-ui's `vendored` build: nothing is downloaded at build time, no CDN at
//! run time), reading the OpenAPI document next to it. Served at `GET /docs` below the
//! auth routes' prefix (`/auth/docs`), assets at `/docs/{file}`.
//!
//! It is not part of the route table (and not in the OpenAPI document): it is no API
//! operation, only a page about them.

use std::sync::{Arc, OnceLock};

use http::{HeaderValue, StatusCode, header};
use utoipa_swagger_ui::Config;

use super::{ApiResponse, Problem};

/// The path of the documentation page, relative to the auth routes' prefix.
pub const DOCS_PATH: &str = "/docs";
/// The path of its assets (`{file}` one file name), relative to the auth routes' prefix.
pub const DOCS_ASSET_PATH: &str = "/docs/{file}";

/// Swagger UI runs its own scripts and sets inline styles, loads its icons as `data:`
/// images and calls only this origin (the document and "Try it out"). No inline script:
/// the initializer is a file.
const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                        img-src 'self' data:; connect-src 'self'; font-src 'self'; \
                        form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The page: Swagger UI's own markup, its links relative to `/auth/docs`.
const INDEX: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>API documentation</title>
<link rel="stylesheet" href="docs/swagger-ui.css">
<link rel="stylesheet" href="docs/index.css">
<link rel="icon" type="image/png" href="docs/favicon-32x32.png" sizes="32x32">
</head>
<body>
<div id="swagger-ui"></div>
<script src="docs/swagger-ui-bundle.js"></script>
<script src="docs/swagger-ui-standalone-preset.js"></script>
<script src="docs/swagger-initializer.js"></script>
</body>
</html>
"#;

fn config() -> Arc<Config<'static>> {
    static CONFIG: OnceLock<Arc<Config<'static>>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            // Relative to the page (`/auth/docs`): the document next to it.
            Arc::new(
                Config::new(["openapi.json"])
                    .validator_url("none")
                    .try_it_out_enabled(true)
                    .with_credentials(true)
                    .display_request_duration(true),
            )
        })
        .clone()
}

/// `GET /docs`: the documentation page.
pub fn docs_page() -> ApiResponse {
    super::html_page(
        StatusCode::OK,
        INDEX.as_bytes().to_vec(),
        DOCS_CSP,
        "no-cache",
    )
}

/// `GET /docs/{file}`: one of Swagger UI's files; 404 `not_found` for any other name.
pub fn docs_asset(file: &str) -> ApiResponse {
    if file.is_empty() || file.contains(['/', '\\']) || file.starts_with('.') {
        return Problem::not_found().to_response();
    }
    match utoipa_swagger_ui::serve(file, config()) {
        Ok(Some(asset)) => {
            let mut response = http::Response::new(asset.bytes.into_owned());
            let headers = response.headers_mut();
            if let Ok(value) = HeaderValue::from_str(&asset.content_type) {
                headers.insert(header::CONTENT_TYPE, value);
            }
            headers.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            );
            headers.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            *response.status_mut() = StatusCode::OK;
            response
        }
        Ok(None) => Problem::not_found().to_response(),
        Err(error) => Problem::internal(&format!("auth-core: a Swagger UI file failed: {error}"))
            .to_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_and_every_asset_it_names_are_served_from_the_binary() {
        let page = docs_page();
        let html = std::str::from_utf8(page.body()).unwrap();
        assert!(!html.contains("http"), "no CDN: every link is relative");
        for file in [
            "swagger-ui.css",
            "index.css",
            "favicon-32x32.png",
            "swagger-ui-bundle.js",
            "swagger-ui-standalone-preset.js",
        ] {
            assert!(html.contains(&format!("docs/{file}")), "{file}");
            let asset = docs_asset(file);
            assert_eq!(asset.status(), StatusCode::OK, "{file}");
            assert!(asset.body().len() > 100, "{file}");
        }
        let init = docs_asset("swagger-initializer.js");
        let init = std::str::from_utf8(init.body()).unwrap();
        assert!(init.contains("\"openapi.json\""), "{init}");
        assert!(init.contains("\"validatorUrl\": \"none\""), "{init}");
        assert_eq!(docs_asset("nope.js").status(), StatusCode::NOT_FOUND);
        assert_eq!(docs_asset("../Cargo.toml").status(), StatusCode::NOT_FOUND);
    }
}
