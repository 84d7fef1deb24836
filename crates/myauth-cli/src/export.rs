//! `myauth export`: every user as one JSON Lines row of the seed's shape, oldest first.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;

use myauth::User;
use serde::Serialize;

use crate::cli::ExportArgs;
use crate::context::Context;
use crate::error::CliError;

/// Users read per store query.
const PAGE: u32 = 1000;

/// One exported row: the seed's user shape. The hash only when asked for.
#[derive(Serialize)]
struct Row<'a> {
    id: String,
    email: &'a str,
    username: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    hashed_password: Option<&'a str>,
    roles: &'a [String],
    user_settings: &'a myauth::UserSettings,
    is_verified: bool,
    is_active: bool,
    created_at: String,
    updated_at: String,
}

impl<'a> Row<'a> {
    fn of(user: &'a User, include_hash: bool) -> Self {
        Self {
            id: user.id.to_string(),
            email: &user.email,
            username: &user.username,
            hashed_password: include_hash.then(|| user.password_hash.as_str()),
            roles: &user.roles,
            user_settings: &user.user_settings,
            is_verified: user.is_verified,
            is_active: user.is_active,
            created_at: crate::output::rfc3339(user.created_at),
            updated_at: crate::output::rfc3339(user.updated_at),
        }
    }
}

pub(crate) async fn run(context: &Context, args: ExportArgs) -> Result<ExitCode, CliError> {
    let service = context.service().await?;
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(BufWriter::new(private_file(path, true)?)),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    let write_error = |e: std::io::Error| CliError::failure(format!("cannot write: {e}"));
    let mut offset = 0u64;
    let mut written = 0u64;
    loop {
        let page = service.store().list_users(PAGE, offset).await?;
        for user in &page.items {
            let line = serde_json::to_string(&Row::of(user, args.include_hashes))
                .map_err(|e| CliError::failure(e.to_string()))?;
            writeln!(out, "{line}").map_err(write_error)?;
            written += 1;
        }
        if page.items.len() < PAGE as usize {
            break;
        }
        offset += u64::from(PAGE);
    }
    out.flush().map_err(write_error)?;
    drop(out);
    if let Some(path) = &args.output {
        let text = format!("exported {written} users to {}", path.display());
        context.done(&text);
    }
    Ok(ExitCode::SUCCESS)
}

/// Creates a file only its owner can read (mode 0600 from the start, never wider for a
/// moment): for keys and for exports that may hold hashes. An existing file is refused
/// unless `replace`.
pub(crate) fn private_file(path: &Path, replace: bool) -> Result<File, CliError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if replace {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let file = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            CliError::failure(format!(
                "{} exists; pass --force to replace it",
                path.display()
            ))
        } else {
            CliError::failure(format!("cannot create {}: {e}", path.display()))
        }
    })?;
    // A file that existed keeps its old mode through `open`: narrow it too.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(|e| CliError::failure(format!("cannot restrict {}: {e}", path.display())))?;
    }
    Ok(file)
}
