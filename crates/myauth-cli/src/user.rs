//! `myauth user …`.

use std::io::{BufRead as _, IsTerminal as _};
use std::process::ExitCode;

use myauth::secrecy::{ExposeSecret as _, SecretString};
use myauth::{AuthService, NewUser, User, UserId, normalize_email};

use crate::cli::{CreateArgs, UserCommand};
use crate::context::Context;
use crate::error::{CliError, NOT_FOUND, REFUSED};
use crate::output;

pub(crate) async fn run(context: &Context, command: UserCommand) -> Result<ExitCode, CliError> {
    let service = context.service().await?;
    let access = service.operator_access();
    let user = match command {
        UserCommand::Create(args) => create(&service, args).await?,
        UserCommand::Show(arg) => find(&service, &arg.user).await?,
        UserCommand::List(args) => {
            let page = service
                .store()
                .list_users(args.limit.clamp(1, 10_000), args.offset)
                .await?;
            if context.json {
                output::json_line(&page)?;
            } else {
                for user in &page.items {
                    println!("{}", output::user_row(user));
                }
                println!(
                    "{} of {} users (from {})",
                    page.items.len(),
                    page.total,
                    args.offset
                );
            }
            return Ok(ExitCode::SUCCESS);
        }
        UserCommand::Deactivate(arg) => {
            let user = find(&service, &arg.user).await?;
            service.deactivate_user(&access, user.id).await?
        }
        UserCommand::Activate(arg) => {
            let user = find(&service, &arg.user).await?;
            service.activate_user(&access, user.id).await?
        }
        UserCommand::SetRoles(args) => {
            let user = find(&service, &args.user).await?;
            service.set_roles(&access, user.id, args.roles).await?
        }
        UserCommand::Verify(arg) => {
            let user = find(&service, &arg.user).await?;
            service.mark_verified(user.id).await?
        }
    };
    if context.json {
        output::json_line(&user)?;
    } else {
        println!("{}", output::user_text(&user));
    }
    Ok(ExitCode::SUCCESS)
}

/// The user an argument names: a UUID is an id, anything else an email.
pub(crate) async fn find(service: &AuthService, which: &str) -> Result<User, CliError> {
    let store = service.store();
    let found = match which.trim().parse::<UserId>() {
        Ok(id) => store.find_user_by_id(id).await?,
        Err(_) => match normalize_email(which) {
            Ok(email) => store.find_user_by_email(&email).await?,
            Err(_) => {
                return Err(CliError::new(
                    REFUSED,
                    format!("{which:?} is neither a user id nor an email address"),
                ));
            }
        },
    };
    found.ok_or_else(|| CliError::new(NOT_FOUND, format!("no user matches {which:?}")))
}

async fn create(service: &AuthService, args: CreateArgs) -> Result<User, CliError> {
    let email = normalize_email(&args.email)
        .map_err(|_| CliError::new(REFUSED, "invalid email address"))?;
    let username = args
        .username
        .clone()
        .unwrap_or_else(|| email.split('@').next().unwrap_or("user").to_owned());
    let password = if args.password_stdin {
        read_stdin_password()?
    } else {
        prompt_password(service, &email, &username)?
    };
    service.check_new_password(&password, &email, &username)?;
    let roles = if args.admin {
        vec![service.config().admin_role().to_owned()]
    } else {
        Vec::new()
    };
    let new_user = NewUser {
        email,
        username,
        password,
    };
    Ok(service
        .create_user_as_operator(new_user, roles, args.verified)
        .await?)
}

/// The first line of standard input, without its line ending; nothing else is trimmed
/// (passwords are taken exactly as given).
fn read_stdin_password() -> Result<SecretString, CliError> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| CliError::failure(format!("cannot read the password from stdin: {e}")))?;
    let password = line
        .strip_suffix('\n')
        .map(|rest| rest.strip_suffix('\r').unwrap_or(rest))
        .unwrap_or(&line);
    if password.is_empty() {
        return Err(CliError::new(REFUSED, "no password on standard input"));
    }
    Ok(SecretString::from(password.to_owned()))
}

/// Asks twice at the terminal, without echo; the policy is checked before the repeat.
fn prompt_password(
    service: &AuthService,
    email: &str,
    username: &str,
) -> Result<SecretString, CliError> {
    if !std::io::stdin().is_terminal() {
        return Err(CliError::new(
            REFUSED,
            "no terminal to ask for the password: pipe it with --password-stdin",
        ));
    }
    let ask = |prompt: &str| {
        rpassword::prompt_password(prompt)
            .map(SecretString::from)
            .map_err(|e| CliError::failure(format!("cannot read the password: {e}")))
    };
    let password = ask("Password: ")?;
    service.check_new_password(&password, email, username)?;
    let repeat = ask("Repeat the password: ")?;
    if password.expose_secret() != repeat.expose_secret() {
        return Err(CliError::new(REFUSED, "the passwords differ"));
    }
    Ok(password)
}
