//! `GET /admin/audit`: the query and the handler.

use http::StatusCode;

use super::handlers::admin;
use super::requests::{each_query_param, non_negative};
use super::response::json;
use super::{ApiRequest, ApiResponse, Problem};
use crate::audit::AuditQuery;
use crate::error::{AuthError, FieldError};
use crate::service::AuthService;
use crate::user::UserId;

/// Longest `event` filter accepted (every event name is far shorter).
const MAX_EVENT_FILTER_CHARS: usize = 64;

/// The query of `GET /admin/audit?user=&event=&limit=&before=`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditLogQuery {
    /// Only records about this user.
    pub user: Option<UserId>,
    /// Only records of this event.
    pub event: Option<String>,
    /// Page size.
    pub limit: Option<u32>,
    /// Only records with a lower `seq`.
    pub before: Option<i64>,
}

impl AuditLogQuery {
    /// Parses a raw query string (without `?`). Unknown parameters are ignored.
    ///
    /// # Errors
    ///
    /// 422 `validation_failed` naming each parameter that is not a UUID (`user`), a
    /// non-negative integer (`limit`), a positive integer (`before`), or is too long
    /// (`event`).
    pub fn parse(query: Option<&str>) -> Result<Self, AuthError> {
        let mut out = Self::default();
        each_query_param(query, |key, value, errors| match key {
            "user" => match value.parse() {
                Ok(id) => out.user = Some(id),
                Err(_) => errors.push(FieldError::new("user", "invalid", "must be a UUID")),
            },
            "event" if value.chars().count() > MAX_EVENT_FILTER_CHARS || value.contains('\0') => {
                errors.push(FieldError::new(
                    "event",
                    "invalid",
                    "must be an event name of at most 64 characters",
                ));
            }
            "event" => out.event = Some(value.to_owned()),
            "limit" => out.limit = non_negative("limit", value, errors),
            "before" => match value.parse::<i64>() {
                Ok(n) if n > 0 => out.before = Some(n),
                _ => errors.push(FieldError::new(
                    "before",
                    "invalid",
                    "must be a positive integer (a seq)",
                )),
            },
            _ => {}
        })?;
        Ok(out)
    }
}

/// `GET /admin/audit`.
pub(super) async fn audit_log(
    service: &AuthService,
    request: &ApiRequest,
) -> Result<ApiResponse, Problem> {
    let access = admin(service, request).await?;
    let query = AuditLogQuery::parse(request.query.as_deref())?;
    let page = service
        .audit_log(
            &access,
            AuditQuery {
                user_id: query.user,
                event: query.event,
                before: query.before,
                limit: query.limit.map_or(0, |n| n.max(1)),
            },
        )
        .await?;
    json(StatusCode::OK, &page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_parses_every_filter_and_names_bad_ones() {
        let user = UserId::new();
        let parsed = AuditLogQuery::parse(Some(&format!(
            "user={user}&event=login.failed&limit=5&before=9&x=1"
        )))
        .unwrap();
        assert_eq!(
            parsed,
            AuditLogQuery {
                user: Some(user),
                event: Some("login.failed".to_owned()),
                limit: Some(5),
                before: Some(9),
            }
        );
        assert_eq!(
            AuditLogQuery::parse(None).unwrap(),
            AuditLogQuery::default()
        );
        let Err(AuthError::Validation(errors)) = AuditLogQuery::parse(Some(&format!(
            "user=nope&limit=-1&before=0&event={}",
            "e".repeat(65)
        ))) else {
            panic!("expected a validation error");
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["user", "limit", "before", "event"]);
    }
}
