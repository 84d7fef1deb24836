//! Request bodies: every request type of the contract from JSON and from forms, the
//! `Content-Type` decision, the admin list query and the settings merge patch.

use auth_core::api::{
    Accepts, ChangePasswordRequest, Credentials, EmailRequest, FromBody, ListQuery,
    LoginMfaRequest, LogoutRequest, MfaCodeRequest, PasswordAndCodeRequest, PasswordResetRequest,
    Problem, RefreshRequest, RolesRequest, VerifyEmailRequest, body_format, decode,
};
use auth_core::{AuthError, NewUser, ProfileUpdate, UserSettings, merge_settings};

use crate::split_at_byte;

const JSON: &str = "application/json";
const FORM: &str = "application/x-www-form-urlencoded";

/// A refusal must be one of the contract's answers to a bad body.
fn check<T>(what: &str, result: &Result<T, Problem>) {
    if let Err(problem) = result {
        assert!(
            matches!(problem.status, 400 | 415 | 422),
            "{what}: status {} ({})",
            problem.status,
            problem.code
        );
        if problem.status == 422 {
            assert!(!problem.errors.is_empty(), "{what}: 422 naming no field");
        }
    }
}

fn one<T: FromBody>(what: &str, content_type: Option<&str>, bytes: &[u8]) -> Option<T> {
    let result = decode::<T>(content_type, bytes);
    check(what, &result);
    result.ok()
}

/// Decodes `bytes` as every request type under `content_type`.
fn every_request(content_type: Option<&str>, bytes: &[u8]) {
    one::<NewUser>("register", content_type, bytes);
    one::<Credentials>("login", content_type, bytes);
    one::<RefreshRequest>("refresh", content_type, bytes);
    one::<LogoutRequest>("logout", content_type, bytes);
    one::<EmailRequest>("email", content_type, bytes);
    one::<PasswordResetRequest>("password reset", content_type, bytes);
    one::<VerifyEmailRequest>("verify email", content_type, bytes);
    one::<ChangePasswordRequest>("change password", content_type, bytes);
    one::<LoginMfaRequest>("login mfa", content_type, bytes);
    one::<MfaCodeRequest>("mfa code", content_type, bytes);
    one::<PasswordAndCodeRequest>("password and code", content_type, bytes);
    one::<RolesRequest>("roles", content_type, bytes);
    if let Some(update) = one::<ProfileUpdate>("profile", content_type, bytes)
        && let Some(patch) = update.user_settings
    {
        settings(&patch);
    }
}

/// The merge patch onto an empty and onto a populated object: refused only with a
/// validation error naming `user_settings`, and a merged result is storable (merging it
/// again onto nothing gives itself).
fn settings(patch: &UserSettings) {
    let mut current = UserSettings::new();
    current.insert(
        "theme".into(),
        serde_json::json!({"mode": "dark", "size": 3}),
    );
    for base in [UserSettings::new(), current] {
        match merge_settings(&base, patch) {
            Ok(merged) => {
                let again = merge_settings(&UserSettings::new(), &merged);
                assert!(again.is_ok(), "a merged result is not storable: {again:?}");
            }
            Err(AuthError::Validation(errors)) => {
                assert!(errors.iter().all(|e| e.field == "user_settings"));
            }
            Err(other) => panic!("settings merge answered {other:?}"),
        }
    }
}

/// Target `body_json`: the input as a JSON body of every request type.
pub(crate) fn json(data: &[u8]) {
    every_request(Some(JSON), data);
}

/// Target `body_form`: the input as a form body of every request type, as the admin list
/// query, and — split at its first newline — as a `Content-Type` and a body.
pub(crate) fn form(data: &[u8]) {
    every_request(Some(FORM), data);
    if let Ok(query) = std::str::from_utf8(data) {
        match ListQuery::parse(Some(query)) {
            Ok(_) | Err(AuthError::Validation(_)) => {}
            Err(other) => panic!("list query answered {other:?}"),
        }
    }
    let (content_type, body) = split_at_byte(data, b'\n');
    if let Ok(content_type) = std::str::from_utf8(content_type) {
        for accepts in [Accepts::Json, Accepts::JsonOrForm, Accepts::Form] {
            let result = body_format(Some(content_type), accepts);
            check("content type", &result);
        }
        one::<Credentials>("login", Some(content_type), body);
        one::<NewUser>("register", Some(content_type), body);
    }
}
