//! The command line, as clap derives it: one enum of subcommands, one module per group.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Operate a MyAuth deployment: serve, migrate, manage users and sessions, import and
/// export users, generate signing keys.
///
/// Exit codes: 0 success; 1 failure (database, file, network); 2 bad usage; 3 no such
/// user; 4 input refused (weak password, invalid email, malformed file); 5 the user
/// exists already; 6 import finished with rows refused or in conflict.
#[derive(Debug, Parser)]
#[command(name = "myauth", version, propagate_version = true)]
pub(crate) struct Cli {
    /// Database URL: sqlite://FILE, postgres://… or mongodb://… [default: sqlite://myauth.db]
    #[arg(
        long,
        global = true,
        env = "MYAUTH_DATABASE_URL",
        hide_env_values = true
    )]
    pub(crate) database_url: Option<String>,
    /// Print JSON for scripts instead of text for people.
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the reference HTTP server (configured by the MYAUTH_* variables, see the README).
    Serve,
    /// Create or update the database schema, then exit.
    Migrate,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// List or end a user's sessions.
    #[command(subcommand)]
    Sessions(SessionsCommand),
    /// Delete expired tokens, sessions, abuse counters and second-factor set-ups.
    Purge,
    /// Import users with their password hashes from JSON Lines or CSV.
    Import(ImportArgs),
    /// Export users as JSON Lines.
    Export(ExportArgs),
    /// Manage JWT signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Check the audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
}

/// `myauth user …`.
#[derive(Debug, Subcommand)]
pub(crate) enum UserCommand {
    /// Create a user; the password is asked at the terminal without echo, or read from
    /// standard input with --password-stdin (never from a flag).
    Create(CreateArgs),
    /// Show one user.
    Show(UserArg),
    /// List users, oldest first.
    List(ListArgs),
    /// Deactivate a user and end every session.
    Deactivate(UserArg),
    /// Reactivate a user.
    Activate(UserArg),
    /// Replace a user's roles (none given: remove every role).
    SetRoles(SetRolesArgs),
    /// Mark a user's email verified.
    Verify(UserArg),
}

/// `myauth user create`.
#[derive(Debug, Args)]
pub(crate) struct CreateArgs {
    /// The email address.
    #[arg(long)]
    pub(crate) email: String,
    /// The display name [default: the email's local part].
    #[arg(long)]
    pub(crate) username: Option<String>,
    /// Give the user the admin role.
    #[arg(long)]
    pub(crate) admin: bool,
    /// Mark the email verified.
    #[arg(long)]
    pub(crate) verified: bool,
    /// Read the password from the first line of standard input instead of prompting.
    #[arg(long)]
    pub(crate) password_stdin: bool,
}

/// A user named by id or email.
#[derive(Debug, Args)]
pub(crate) struct UserArg {
    /// The user's id (UUID) or email.
    pub(crate) user: String,
}

/// `myauth user list`.
#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Most users to list.
    #[arg(long, default_value_t = 50)]
    pub(crate) limit: u32,
    /// Users to skip.
    #[arg(long, default_value_t = 0)]
    pub(crate) offset: u64,
}

/// `myauth user set-roles`.
#[derive(Debug, Args)]
pub(crate) struct SetRolesArgs {
    /// The user's id (UUID) or email.
    pub(crate) user: String,
    /// The new roles.
    pub(crate) roles: Vec<String>,
}

/// `myauth sessions …`.
#[derive(Debug, Subcommand)]
pub(crate) enum SessionsCommand {
    /// List a user's live sessions.
    List(SessionsArgs),
    /// End every session of a user and cut their access tokens.
    Revoke(SessionsArgs),
}

/// The user whose sessions are meant.
#[derive(Debug, Args)]
pub(crate) struct SessionsArgs {
    /// The user's id (UUID) or email.
    #[arg(long)]
    pub(crate) user: String,
}

/// The shape of the rows to import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ImportFormat {
    /// By the file: `.csv` is a fastapi-users export, JSON Lines rows are fastapi-users
    /// rows when they have `is_superuser`, MyAuth (seed) rows otherwise.
    Auto,
    /// MyAuth's user shape (id, email, username, hashed_password, roles, user_settings,
    /// is_verified, is_active, created_at, updated_at), as JSON Lines.
    Seed,
    /// A fastapi-users `user` table (id, email, hashed_password, is_active, is_superuser,
    /// is_verified) as CSV with a header row.
    FastapiUsersCsv,
    /// The same table as JSON Lines.
    FastapiUsersJsonl,
}

/// `myauth import`.
#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// The file to read; `-` for standard input.
    pub(crate) file: PathBuf,
    /// The shape of its rows.
    #[arg(long, value_enum, default_value_t = ImportFormat::Auto)]
    pub(crate) format: ImportFormat,
    /// Users written per transaction.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub(crate) batch_size: u32,
    /// No progress bar (it is hidden anyway when standard error is not a terminal).
    #[arg(long)]
    pub(crate) no_progress: bool,
}

/// `myauth export`.
#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// Include each user's password hash (`hashed_password`): the file then deserves the
    /// care of the database itself.
    #[arg(long)]
    pub(crate) include_hashes: bool,
    /// Write to this file (created with mode 0600) instead of standard output.
    #[arg(long, short)]
    pub(crate) output: Option<PathBuf>,
}

/// `myauth keys …`.
#[derive(Debug, Subcommand)]
pub(crate) enum KeysCommand {
    /// Generate a private signing key as unencrypted PKCS#8 PEM (mode 0600), for
    /// MYAUTH_JWT_PRIVATE_KEY_FILE.
    Generate(GenerateArgs),
}

/// The asymmetric algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum KeyAlgorithm {
    /// Ed25519.
    #[value(name = "EdDSA")]
    EdDsa,
    /// ECDSA P-256 with SHA-256.
    #[value(name = "ES256")]
    Es256,
    /// RSA 3072 with PKCS#1 v1.5 and SHA-256.
    #[value(name = "RS256")]
    Rs256,
}

/// `myauth keys generate`.
#[derive(Debug, Args)]
pub(crate) struct GenerateArgs {
    /// The algorithm the key is for.
    #[arg(long)]
    pub(crate) alg: KeyAlgorithm,
    /// The file to write; refused if it exists, unless --force.
    #[arg(long, short)]
    pub(crate) out: PathBuf,
    /// Replace an existing file.
    #[arg(long)]
    pub(crate) force: bool,
}

/// `myauth audit …`.
#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// Check that the hash-chained audit log is unbroken.
    Verify,
}
