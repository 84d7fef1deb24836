//! One-line errors with the exit code they end the process with.

use std::fmt;
use std::process::ExitCode;

use myauth::AuthError;

/// Exit code: a failure of the database, a file or the network.
pub(crate) const FAILURE: u8 = 1;
/// Exit code: no user matches.
pub(crate) const NOT_FOUND: u8 = 3;
/// Exit code: input refused (weak password, invalid email, malformed file).
pub(crate) const REFUSED: u8 = 4;
/// Exit code: the user exists already.
pub(crate) const CONFLICT: u8 = 5;
/// Exit code: an import finished, but some rows were refused or in conflict.
pub(crate) const PARTIAL: u8 = 6;

/// What ends a command: one line for standard error, and the exit code.
#[derive(Debug)]
pub(crate) struct CliError {
    pub(crate) code: u8,
    pub(crate) message: String,
}

impl CliError {
    pub(crate) fn new(code: u8, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    pub(crate) fn failure(message: impl Into<String>) -> Self {
        Self::new(FAILURE, message)
    }

    pub(crate) fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.code)
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Always one line, whatever a source said.
        f.write_str(&self.message.replace(['\n', '\r'], " "))
    }
}

/// An error and its sources, `: `-joined: the operator needs the database's own reason
/// ("database is locked"), which the service keeps out of HTTP answers.
pub(crate) fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let next = cause.to_string();
        if !text.ends_with(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = cause.source();
    }
    text
}

/// What the service refused, as the operator should read it.
pub(crate) fn describe(error: &AuthError) -> String {
    match error {
        AuthError::WeakPassword(rules) => {
            let reasons: Vec<String> = rules.iter().map(|rule| rule.message()).collect();
            format!("password refused by the policy: {}", reasons.join("; "))
        }
        AuthError::Validation(fields) => {
            let reasons: Vec<String> = fields
                .iter()
                .map(|field| format!("{}: {}", field.field, field.message))
                .collect();
            format!("invalid input: {}", reasons.join("; "))
        }
        other => chain(other),
    }
}

impl From<AuthError> for CliError {
    fn from(error: AuthError) -> Self {
        let code = match &error {
            AuthError::UserNotFound | AuthError::SessionNotFound => NOT_FOUND,
            AuthError::UserAlreadyExists => CONFLICT,
            AuthError::WeakPassword(_) | AuthError::InvalidEmail | AuthError::Validation(_) => {
                REFUSED
            }
            _ => FAILURE,
        };
        Self::new(code, describe(&error))
    }
}

impl From<myauth::StoreError> for CliError {
    fn from(error: myauth::StoreError) -> Self {
        Self::failure(chain(&error))
    }
}
