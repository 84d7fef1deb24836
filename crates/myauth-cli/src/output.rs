//! Output for people and for scripts.

use std::io::Write as _;

use myauth::User;
use serde::Serialize;

use crate::error::CliError;

/// One JSON document on its own line on standard output.
pub(crate) fn json_line(value: &impl Serialize) -> Result<(), CliError> {
    let text = serde_json::to_string(value).map_err(|e| CliError::failure(e.to_string()))?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}").map_err(|e| CliError::failure(format!("cannot write: {e}")))
}

/// A user for people: one field per line.
pub(crate) fn user_text(user: &User) -> String {
    let roles = if user.roles.is_empty() {
        "-".to_owned()
    } else {
        user.roles.join(", ")
    };
    format!(
        "id:          {}\nemail:       {}\nusername:    {}\nroles:       {roles}\nverified:    {}\nactive:      {}\nmfa:         {}\ncreated_at:  {}\nupdated_at:  {}",
        user.id,
        user.email,
        user.username,
        yes_no(user.is_verified),
        yes_no(user.is_active),
        yes_no(user.mfa_enabled),
        rfc3339(user.created_at),
        rfc3339(user.updated_at),
    )
}

/// A user on one line, for lists.
pub(crate) fn user_row(user: &User) -> String {
    format!(
        "{}  {:<32}  {:<8}  {:<8}  {}",
        user.id,
        user.email,
        if user.is_active { "active" } else { "inactive" },
        if user.is_verified { "verified" } else { "-" },
        user.roles.join(",")
    )
}

pub(crate) fn yes_no(flag: bool) -> &'static str {
    if flag { "yes" } else { "no" }
}

pub(crate) fn rfc3339(at: time::OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| at.to_string())
}
