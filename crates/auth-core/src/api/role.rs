//! Roles for the role guard (`RequireRole<R>` in each adapter).

use crate::service::AuthService;

/// A role name for the role guard.
///
/// ```
/// use auth_core::api::Role;
///
/// struct Editor;
/// impl Role for Editor {
///     const NAME: &'static str = "editor";
/// }
/// ```
pub trait Role: Send + Sync + 'static {
    /// The role's name as stored in users' `roles`.
    const NAME: &'static str;

    /// The name the guard checks in `service`. [`NAME`](Self::NAME) unless the role is
    /// configured by the service, as [`Admin`] is.
    fn name_in(service: &AuthService) -> &str {
        let _ = service;
        Self::NAME
    }
}

/// The admin role: whatever name [`AuthConfig::with_admin_role`](crate::AuthConfig::with_admin_role)
/// gives it (`admin` by default) — the same role the admin routes require.
#[derive(Debug, Clone, Copy)]
pub struct Admin;

impl Role for Admin {
    const NAME: &'static str = "admin";

    fn name_in(service: &AuthService) -> &str {
        service.config().admin_role()
    }
}
