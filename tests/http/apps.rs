//! The applications under test: what a user of each adapter would write.

use auth_core::AuthService;

/// An axum application: its own routes (one protected by `CurrentUser`, one by a role
/// guard) and the auth routes nested at `/auth`.
pub(crate) fn axum_app(service: AuthService) -> axum::Router {
    use auth_axum::{CurrentUser, RequireRole, Role};
    use axum::routing::get;

    struct Editor;
    impl Role for Editor {
        const NAME: &'static str = "editor";
    }

    axum::Router::new()
        .route("/", get(|| async { "Application running with MyAuth" }))
        .route(
            "/api/whoami",
            get(|CurrentUser(claims): CurrentUser| async move { claims.sub.to_string() }),
        )
        .route(
            "/api/editor",
            get(|RequireRole(claims, ..): RequireRole<Editor>| async move {
                claims.sub.to_string()
            }),
        )
        .layer(axum::Extension(service.clone()))
        .nest("/auth", myauth::axum_router(service))
}
