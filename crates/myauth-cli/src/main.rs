//! `myauth`: the command line of a MyAuth deployment. See the crate README or
//! `myauth --help`.

use std::io::IsTerminal as _;
use std::process::ExitCode;

use clap::Parser as _;

mod audit;
mod cli;
mod context;
mod error;
mod export;
mod import;
mod keys;
mod output;
mod sessions;
mod user;

use crate::cli::{Cli, Command};
use crate::context::Context;
use crate::error::CliError;

fn main() -> ExitCode {
    // A bug must still end in one line, not a backtrace.
    std::panic::set_hook(Box::new(|info| {
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("error: internal error{place} (please report it)");
    }));
    let cli = Cli::parse();
    let serving = matches!(cli.command, Command::Serve);
    // Commands print their results on standard output; the log goes to standard error
    // and, except for the server, only says something when something is wrong.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("MYAUTH_LOG")
                .or_else(|_| tracing_subscriber::EnvFilter::try_from_default_env())
                .unwrap_or_else(|_| if serving { "info" } else { "error" }.into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error}");
            error.exit_code()
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode, CliError> {
    let context = Context::new(cli.database_url, cli.json);
    match cli.command {
        Command::Serve => context.serve().await.map(|()| ExitCode::SUCCESS),
        Command::Migrate => {
            context.service().await?;
            context.done("schema up to date");
            Ok(ExitCode::SUCCESS)
        }
        Command::User(command) => user::run(&context, command).await,
        Command::Sessions(command) => sessions::run(&context, command).await,
        Command::Purge => {
            let service = context.service().await?;
            let purged = service.purge_expired_tokens().await?;
            if context.json {
                output::json_line(&serde_json::json!({ "purged": purged }))?;
            } else {
                println!("purged {purged} expired records");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Import(args) => import::run(&context, args).await,
        Command::Export(args) => export::run(&context, args).await,
        Command::Keys(command) => keys::run(&context, command),
        Command::Audit(command) => audit::run(&context, command).await,
    }
}
