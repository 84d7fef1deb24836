//! Email and username normalisation, and the password policy that reads both.

use auth_core::{
    AuthError, MAX_EMAIL_LEN, MAX_USERNAME_CHARS, PasswordPolicy, normalize_email,
    normalize_username,
};
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory as _};

fn invisible(c: char) -> bool {
    c.is_control() || c.general_category() == GeneralCategory::Format
}

/// Target `normalize`: the input as an email and as a username, and — split at its
/// newlines — as a password checked with a username and an email by the default and the
/// NIST policies (without the common-password list, see below). A normalised value is a fixed point (what is stored is what a login with
/// it looks up), within its length limit and free of invisible characters; refusals are
/// the documented errors.
pub(crate) fn names(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match normalize_email(text) {
        Ok(email) => {
            assert!(email.len() <= MAX_EMAIL_LEN);
            assert!(!email.chars().any(invisible), "invisible character kept");
            let again = normalize_email(&email);
            assert_eq!(again.as_ref().ok(), Some(&email), "email not a fixed point");
        }
        Err(AuthError::InvalidEmail) => {}
        Err(other) => panic!("email answered {other:?}"),
    }
    match normalize_username(text) {
        Ok(username) => {
            let chars = username.chars().count();
            assert!((1..=MAX_USERNAME_CHARS).contains(&chars));
            assert!(!username.chars().any(invisible), "invisible character kept");
            let again = normalize_username(&username);
            assert_eq!(
                again.as_ref().ok(),
                Some(&username),
                "username not a fixed point"
            );
        }
        Err(AuthError::Validation(errors)) => {
            assert!(errors.iter().all(|e| e.field == "username"));
        }
        Err(other) => panic!("username answered {other:?}"),
    }
    let mut parts = text.splitn(3, '\n');
    let password = parts.next().unwrap_or_default();
    let username = parts.next();
    let email = parts.next();
    // Without the common-password lookup: the fuzz build has debug assertions on, under
    // which the `passwords` crate scans its 10 000 entries linearly (≈ 8 ms an input, a
    // binary search in release); it is a lookup of the input in a static list.
    let policies = [PasswordPolicy::default(), PasswordPolicy::nist()];
    for policy in policies.map(|policy| policy.with_refuse_common(false)) {
        if let Err(violations) = policy.check_for(password, username, email) {
            assert!(!violations.is_empty());
            for violation in violations {
                assert!(!violation.code().is_empty());
                assert!(!violation.message().is_empty());
            }
        }
    }
}
