//! `myauth sessions …`.

use std::process::ExitCode;

use crate::cli::SessionsCommand;
use crate::context::Context;
use crate::error::CliError;
use crate::output;

pub(crate) async fn run(context: &Context, command: SessionsCommand) -> Result<ExitCode, CliError> {
    let service = context.service().await?;
    let access = service.operator_access();
    match command {
        SessionsCommand::List(args) => {
            let user = crate::user::find(&service, &args.user).await?;
            let sessions = service.user_sessions(&access, user.id).await?;
            if context.json {
                output::json_line(&sessions)?;
            } else {
                for session in &sessions.items {
                    println!(
                        "{}  since {}  last used {}  until {}  {}  {}",
                        session.id,
                        output::rfc3339(session.created_at),
                        output::rfc3339(session.last_used_at),
                        output::rfc3339(session.expires_at),
                        session.ip.as_deref().unwrap_or("-"),
                        session.user_agent.as_deref().unwrap_or("-"),
                    );
                }
                println!("{} live sessions of {}", sessions.items.len(), user.email);
            }
        }
        SessionsCommand::Revoke(args) => {
            let user = crate::user::find(&service, &args.user).await?;
            service.end_user_sessions(&access, user.id).await?;
            context.done(&format!("every session of {} ended", user.email));
        }
    }
    Ok(ExitCode::SUCCESS)
}
