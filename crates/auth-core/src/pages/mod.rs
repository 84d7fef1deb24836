//! The pages behind the email links, framework-free: `GET /verify-email?token=` and
//! `GET /reset-password?token=` (the paths of the links, relative to where the pages are
//! mounted — the reference server mounts them at `/`), the forms they post, and their
//! stylesheet. Every adapter serves them through [`handle_page`], so the bytes are the
//! same on each.
//!
//! - A `GET` never changes anything (mail scanners open links): the verification page
//!   shows a form with one button, and only its `POST` verifies.
//! - Forms post to a relative URL and carry a form token (a MAC of the link token and the
//!   time the page was shown, 30 minutes valid), not an `Origin` check: the pages send
//!   `Referrer-Policy: no-referrer`, so browsers post `Origin: null`.
//! - A refused password shows every failed rule and the form again; the link stays usable.
//! - A malformed, unknown, used or expired link is a friendly page answered 200 (browsers
//!   treat every 4xx page as an error), and the token is never echoed or logged.
//! - A strict `Content-Security-Policy` (no script at all, the stylesheet from this
//!   router), `X-Frame-Options: DENY`, `Referrer-Policy: no-referrer`,
//!   `Cache-Control: no-store`.
//!
//! Templates ([MiniJinja](https://docs.rs/minijinja)) are compiled into the crate; an
//! application replaces one with [`Pages::with_template`] and the texts with
//! [`Pages::with_texts`].

mod texts;

use std::sync::Arc;

use http::{HeaderValue, Method, StatusCode, header};
use minijinja::Environment;
use serde::Serialize;

pub use self::texts::Texts;
use crate::api::{ApiRequest, ApiResponse, RequestBody};
use crate::error::AuthError;
use crate::service::AuthService;

/// The path of the stylesheet, relative to where the pages are mounted.
pub const STYLESHEET_PATH: &str = "/myauth-pages.css";

/// The CSP of every page: nothing but this router's stylesheet, forms to this origin only,
/// no framing, no `<base>`.
const PAGE_CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
                        form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const STYLESHEET: &str = include_str!("templates/pages.css");

/// The templates an application may replace, by name, with their compiled-in sources.
const TEMPLATES: [(&str, &str); 4] = [
    ("base.html", include_str!("templates/base.html")),
    ("message.html", include_str!("templates/message.html")),
    (
        "verify_email.html",
        include_str!("templates/verify_email.html"),
    ),
    (
        "reset_password.html",
        include_str!("templates/reset_password.html"),
    ),
];

const VERIFY: &str = "verify-email";
const RESET: &str = "reset-password";

/// A template that could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PagesError {
    /// The name is none of the replaceable templates.
    #[error(
        "no page template is named {0:?} (known: base.html, message.html, verify_email.html, reset_password.html)"
    )]
    UnknownTemplate(String),
    /// The template does not parse.
    #[error("page template {name:?} does not parse: {source}")]
    Syntax {
        /// The template's name.
        name: String,
        /// What the parser said.
        #[source]
        source: minijinja::Error,
    },
}

/// The pages' templates and texts: [`Pages::default`] is the compiled-in English set.
#[derive(Clone)]
pub struct Pages {
    env: Arc<Environment<'static>>,
    texts: Arc<Texts>,
}

impl std::fmt::Debug for Pages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pages")
            .field("lang", &self.texts.lang)
            .finish_non_exhaustive()
    }
}

impl Default for Pages {
    fn default() -> Self {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            // The compiled-in templates are checked by this module's tests.
            if let Err(error) = env.add_template(name, source) {
                tracing::error!(%error, template = name, "a built-in page template does not parse");
            }
        }
        Self {
            env: Arc::new(env),
            texts: Arc::new(Texts::default()),
        }
    }
}

impl Pages {
    /// The compiled-in templates and English texts.
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces one template (`base.html`, `message.html`, `verify_email.html` or
    /// `reset_password.html`) with the application's own MiniJinja source. Names ending in
    /// `.html` are auto-escaped. See the built-in templates for the variables each gets.
    ///
    /// # Errors
    ///
    /// [`PagesError::UnknownTemplate`], [`PagesError::Syntax`].
    pub fn with_template(
        mut self,
        name: &str,
        source: impl Into<String>,
    ) -> Result<Self, PagesError> {
        let Some((name, _)) = TEMPLATES.iter().find(|(known, _)| *known == name) else {
            return Err(PagesError::UnknownTemplate(name.to_owned()));
        };
        let mut env = (*self.env).clone();
        env.add_template_owned(*name, source.into())
            .map_err(|source| PagesError::Syntax {
                name: (*name).to_owned(),
                source,
            })?;
        self.env = Arc::new(env);
        Ok(self)
    }

    /// Replaces the texts (for another language).
    #[must_use]
    pub fn with_texts(mut self, texts: Texts) -> Self {
        self.texts = Arc::new(texts);
        self
    }

    /// The texts in use.
    pub fn texts(&self) -> &Texts {
        &self.texts
    }
}

/// Every page endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PageEndpoint {
    /// `GET /verify-email?token=`: the form with one button.
    VerifyEmailForm,
    /// `POST /verify-email`: verifies.
    VerifyEmail,
    /// `GET /reset-password?token=`: the new-password form.
    ResetPasswordForm,
    /// `POST /reset-password`: sets the password.
    ResetPassword,
    /// `GET /myauth-pages.css`.
    Stylesheet,
}

impl PageEndpoint {
    /// Whether the endpoint reads a request body (a form).
    pub fn takes_body(self) -> bool {
        matches!(self, Self::VerifyEmail | Self::ResetPassword)
    }
}

/// One row of the pages' route table.
#[derive(Debug, Clone)]
pub struct PageRoute {
    /// The method.
    pub method: Method,
    /// The path, relative to where the pages are mounted.
    pub path: &'static str,
    /// What answers it.
    pub endpoint: PageEndpoint,
}

static PAGE_ROUTES: [PageRoute; 5] = [
    PageRoute {
        method: Method::GET,
        path: "/verify-email",
        endpoint: PageEndpoint::VerifyEmailForm,
    },
    PageRoute {
        method: Method::POST,
        path: "/verify-email",
        endpoint: PageEndpoint::VerifyEmail,
    },
    PageRoute {
        method: Method::GET,
        path: "/reset-password",
        endpoint: PageEndpoint::ResetPasswordForm,
    },
    PageRoute {
        method: Method::POST,
        path: "/reset-password",
        endpoint: PageEndpoint::ResetPassword,
    },
    PageRoute {
        method: Method::GET,
        path: STYLESHEET_PATH,
        endpoint: PageEndpoint::Stylesheet,
    },
];

/// The pages' routes, to mount where the email links point (`MYAUTH_PUBLIC_URL`; the
/// reference server mounts them at `/`).
pub fn page_routes() -> &'static [PageRoute] {
    &PAGE_ROUTES
}

/// The pages' routes grouped by path, in table order.
pub fn page_routes_by_path() -> Vec<(&'static str, Vec<&'static PageRoute>)> {
    let mut grouped: Vec<(&'static str, Vec<&'static PageRoute>)> = Vec::new();
    for route in &PAGE_ROUTES {
        match grouped.iter_mut().find(|(path, _)| *path == route.path) {
            Some((_, methods)) => methods.push(route),
            None => grouped.push((route.path, vec![route])),
        }
    }
    grouped
}

/// What a page is rendered with.
#[derive(Serialize)]
struct Context<'a> {
    t: &'a Texts,
    title: &'a str,
    stylesheet: &'static str,
    action: &'static str,
    token: &'a str,
    form_token: &'a str,
    message: &'a str,
    hint: &'a str,
    tone: &'static str,
    rules: Vec<Rule>,
    failed: Vec<Rule>,
}

#[derive(Serialize)]
struct Rule {
    code: &'static str,
    text: String,
    failed: bool,
}

/// Answers one page request.
pub async fn handle_page(
    service: &AuthService,
    pages: &Pages,
    endpoint: PageEndpoint,
    request: ApiRequest,
) -> ApiResponse {
    let page = Page { service, pages };
    match endpoint {
        PageEndpoint::Stylesheet => stylesheet(),
        PageEndpoint::VerifyEmailForm => page.verify_form(&request),
        PageEndpoint::VerifyEmail => page.verify(&request).await,
        PageEndpoint::ResetPasswordForm => page.reset_form(&request).await,
        PageEndpoint::ResetPassword => page.reset(&request).await,
    }
}

fn stylesheet() -> ApiResponse {
    let mut response = http::Response::new(STYLESHEET.as_bytes().to_vec());
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// The `token` of a query string, if there is exactly a usable one.
fn query_token(query: Option<&str>) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query?).ok()?;
    pairs
        .into_iter()
        .find(|(key, _)| key == "token")
        .map(|(_, value)| value)
        .filter(|value| !value.is_empty())
}

/// The fields of a posted form; `None` when the body is not a readable form.
fn form(request: &ApiRequest) -> Result<Vec<(String, String)>, FormError> {
    let content_type = request
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err(FormError::Unreadable);
    }
    match &request.body {
        RequestBody::TooLarge(_) => Err(FormError::TooLarge),
        RequestBody::Empty => Ok(Vec::new()),
        RequestBody::Bytes(bytes) => {
            serde_urlencoded::from_bytes(bytes).map_err(|_| FormError::Unreadable)
        }
    }
}

enum FormError {
    Unreadable,
    TooLarge,
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields
        .iter()
        .find(|(key, _)| key == name)
        .map_or("", |(_, value)| value.as_str())
}

struct Page<'a> {
    service: &'a AuthService,
    pages: &'a Pages,
}

impl Page<'_> {
    fn texts(&self) -> &Texts {
        &self.pages.texts
    }

    fn context<'c>(&'c self, title: &'c str) -> Context<'c> {
        Context {
            t: self.texts(),
            title,
            // Relative, so the pages work wherever they are mounted.
            stylesheet: "myauth-pages.css",
            action: "",
            token: "",
            form_token: "",
            message: "",
            hint: "",
            tone: "",
            rules: Vec::new(),
            failed: Vec::new(),
        }
    }

    fn render(&self, status: StatusCode, template: &str, context: &Context<'_>) -> ApiResponse {
        let body = self
            .pages
            .env
            .get_template(template)
            .and_then(|template| template.render(context));
        let (status, body) = match body {
            Ok(body) => (status, body),
            Err(error) => {
                // The application's template is broken: its author needs the reason, the
                // visitor a plain page. The context holds no secret that could be logged.
                tracing::error!(%error, template, "a page template failed to render");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "<!DOCTYPE html><html lang=\"en\"><title>Error</title><p>This page \
                     cannot be shown right now.</p></html>"
                        .to_owned(),
                )
            }
        };
        html(status, body)
    }

    fn message(&self, title: &str, message: &str, hint: &str, tone: &'static str) -> ApiResponse {
        let mut context = self.context(title);
        context.message = message;
        context.hint = hint;
        context.tone = tone;
        self.render(StatusCode::OK, "message.html", &context)
    }

    /// The page for a link that cannot be used, or for a failure behind it.
    fn refusal(&self, error: &AuthError) -> ApiResponse {
        let t = self.texts();
        match error {
            AuthError::ExpiredToken => self.message(
                &t.expired_link_title,
                &t.expired_link_message,
                &t.link_hint,
                "warning",
            ),
            AuthError::Unavailable(_)
            | AuthError::Overloaded
            | AuthError::TooManyRequests { .. } => {
                if let AuthError::Unavailable(source) = error {
                    tracing::error!(error = %source, "a page could not be served");
                }
                let mut response =
                    self.message(&t.unavailable_title, &t.unavailable_message, "", "warning");
                *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
                response
            }
            _ => self.message(
                &t.invalid_link_title,
                &t.invalid_link_message,
                &t.link_hint,
                "warning",
            ),
        }
    }

    fn form_refusal(&self, error: &FormError) -> ApiResponse {
        let t = self.texts();
        let mut response = self.message(&t.bad_form_title, &t.bad_form_message, "", "warning");
        if matches!(error, FormError::TooLarge) {
            *response.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
            // The rest of the body was not read: the connection cannot carry another request.
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }

    /// The fields of a form posted to `action`, once it is a form with a link token and a
    /// valid form token for it; otherwise the page that says why.
    fn submitted(
        &self,
        request: &ApiRequest,
        action: &str,
    ) -> Result<Vec<(String, String)>, Box<ApiResponse>> {
        let fields = form(request).map_err(|error| Box::new(self.form_refusal(&error)))?;
        let token = field(&fields, "token");
        if token.is_empty() {
            return Err(Box::new(self.refusal(&AuthError::InvalidToken)));
        }
        if !self
            .service
            .check_page_form_token(action, token, field(&fields, "form_token"))
        {
            return Err(Box::new(self.form_expired()));
        }
        Ok(fields)
    }

    fn form_expired(&self) -> ApiResponse {
        let t = self.texts();
        self.message(
            &t.form_expired_title,
            &t.form_expired_message,
            "",
            "warning",
        )
    }

    fn verify_form(&self, request: &ApiRequest) -> ApiResponse {
        let Some(token) = query_token(request.query.as_deref()) else {
            return self.refusal(&AuthError::InvalidToken);
        };
        if let Err(error) = self.service.check_verification_link(&token) {
            return self.refusal(&error);
        }
        let form_token = self.service.page_form_token(VERIFY, &token);
        let mut context = self.context(&self.texts().verify_title);
        context.action = VERIFY;
        context.token = &token;
        context.form_token = &form_token;
        self.render(StatusCode::OK, "verify_email.html", &context)
    }

    async fn verify(&self, request: &ApiRequest) -> ApiResponse {
        let fields = match self.submitted(request, VERIFY) {
            Ok(fields) => fields,
            Err(page) => return *page,
        };
        let token = field(&fields, "token");
        match self.service.complete_email_verification(token).await {
            Ok(_) => {
                let t = self.texts();
                self.message(&t.verified_title, &t.verified_message, "", "success")
            }
            Err(error) => self.refusal(&error),
        }
    }

    fn rules(&self, failed: &[crate::policy::PolicyViolation]) -> Vec<Rule> {
        self.service
            .config()
            .password_policy()
            .rules()
            .iter()
            .map(|rule| Rule {
                code: rule.code(),
                text: self.texts().rule(rule),
                failed: failed.iter().any(|f| f.code() == rule.code()),
            })
            .collect()
    }

    fn reset_page(&self, token: &str, failed: &[crate::policy::PolicyViolation]) -> ApiResponse {
        let form_token = self.service.page_form_token(RESET, token);
        let mut context = self.context(&self.texts().reset_title);
        context.action = RESET;
        context.token = token;
        context.form_token = &form_token;
        context.rules = self.rules(failed);
        context.failed = failed
            .iter()
            .map(|rule| Rule {
                code: rule.code(),
                text: self.texts().rule(rule),
                failed: true,
            })
            .collect();
        self.render(StatusCode::OK, "reset_password.html", &context)
    }

    async fn reset_form(&self, request: &ApiRequest) -> ApiResponse {
        let Some(token) = query_token(request.query.as_deref()) else {
            return self.refusal(&AuthError::InvalidToken);
        };
        if let Err(error) = self.service.check_reset_link(&token).await {
            return self.refusal(&error);
        }
        self.reset_page(&token, &[])
    }

    async fn reset(&self, request: &ApiRequest) -> ApiResponse {
        let fields = match self.submitted(request, RESET) {
            Ok(fields) => fields,
            Err(page) => return *page,
        };
        let token = field(&fields, "token");
        let password = secrecy::SecretString::from(field(&fields, "new_password").to_owned());
        match self.service.complete_password_reset(token, &password).await {
            Ok(()) => {
                let t = self.texts();
                self.message(&t.reset_done_title, &t.reset_done_message, "", "success")
            }
            Err(AuthError::WeakPassword(failed)) => self.reset_page(token, &failed),
            Err(error) => self.refusal(&error),
        }
    }
}

/// An HTML page with the pages' security headers, never stored by a cache.
fn html(status: StatusCode, body: String) -> ApiResponse {
    crate::api::html_page(status, body.into_bytes(), PAGE_CSP, "no-store")
}

#[cfg(test)]
mod tests;
