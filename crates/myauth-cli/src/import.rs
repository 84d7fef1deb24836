//! `myauth import`: users with their password hashes, from MyAuth's (the seed's) JSON Lines
//! or a fastapi-users export (CSV or JSON Lines).
//!
//! Every row is validated as a registration is, except the password policy (the password
//! is not known), and its hash must be one the service can verify within its budget; a
//! row that fails is refused with its line number and stored not at all. Valid rows are
//! written in batches, one transaction per batch on the SQL stores, skipping users whose id
//! or email exists: re-running an import skips what the last run stored. Rows without an
//! id get one derived from their email, so that holds for them too.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use futures_util::{StreamExt as _, TryStreamExt as _};
use indicatif::{ProgressBar, ProgressStyle};
use myauth::{AuthError, AuthService, ImportedUser, User, UserId, UserSettings};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::cli::{ImportArgs, ImportFormat};
use crate::context::Context;
use crate::error::{CliError, PARTIAL, REFUSED};

/// Store lookups in flight while sorting skipped rows from conflicts.
const LOOKUPS: usize = 16;

/// Refusals listed in the text summary; `--json` lists all.
const LISTED: usize = 50;

/// A row as read, before validation; every field optional so that a missing one is
/// reported by name.
#[derive(Debug, Default, Deserialize)]
struct Row {
    id: Option<serde_json::Value>,
    email: Option<String>,
    username: Option<String>,
    hashed_password: Option<String>,
    roles: Option<Vec<String>>,
    user_settings: Option<serde_json::Value>,
    is_verified: Option<Flag>,
    is_active: Option<Flag>,
    is_superuser: Option<Flag>,
    created_at: Option<String>,
    updated_at: Option<String>,
}

/// A boolean as exports write it: JSON `true`, or text (`t`, `true`, `1`, `yes`; CSV from
/// PostgreSQL's `COPY` writes `t`/`f`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Flag {
    Bool(bool),
    Number(i64),
    Text(String),
}

impl Flag {
    fn value(&self, field: &str) -> Result<bool, String> {
        match self {
            Self::Bool(b) => Ok(*b),
            Self::Number(0) => Ok(false),
            Self::Number(1) => Ok(true),
            Self::Number(n) => Err(format!("{field}: {n} is not a boolean")),
            Self::Text(text) => match text.trim().to_ascii_lowercase().as_str() {
                "t" | "true" | "1" | "yes" | "y" => Ok(true),
                "f" | "false" | "0" | "no" | "n" => Ok(false),
                _ => Err(format!("{field}: {text:?} is not a boolean")),
            },
        }
    }
}

/// One refused row.
#[derive(Debug, Serialize)]
struct Refusal {
    line: u64,
    reason: String,
}

/// What an import did.
#[derive(Debug, Default, Serialize)]
struct Summary {
    imported: u64,
    skipped: u64,
    refused: Vec<Refusal>,
    seconds: f64,
    users_per_second: f64,
}

pub(crate) async fn run(context: &Context, args: ImportArgs) -> Result<ExitCode, CliError> {
    let service = context.service().await?;
    let csv = match args.format {
        ImportFormat::FastapiUsersCsv => true,
        ImportFormat::Auto => args
            .file
            .extension()
            .is_some_and(|ext| ext.eq_ignore_ascii_case("csv")),
        ImportFormat::Seed | ImportFormat::FastapiUsersJsonl => false,
    };
    let stdin = args.file.as_os_str() == "-";
    let total = if stdin {
        None
    } else {
        Some(count_lines(&args.file)?.saturating_sub(u64::from(csv)))
    };
    let progress = progress_bar(total, args.no_progress || context.json);
    let reader: Box<dyn Read> =
        if stdin {
            Box::new(std::io::stdin())
        } else {
            Box::new(File::open(&args.file).map_err(|e| {
                CliError::failure(format!("cannot open {}: {e}", args.file.display()))
            })?)
        };
    let mut importer = Importer {
        service: &service,
        batch: Vec::with_capacity(args.batch_size as usize),
        batch_size: args.batch_size as usize,
        emails: HashMap::new(),
        ids: HashMap::new(),
        summary: Summary::default(),
        progress: &progress,
        format: args.format,
    };
    let started = Instant::now();
    let read = if csv {
        read_csv(reader, &mut importer).await
    } else {
        read_jsonl(reader, &mut importer).await
    };
    let flushed = match read {
        Ok(()) => importer.flush().await,
        Err(error) => Err(error),
    };
    progress.finish_and_clear();
    let mut summary = importer.summary;
    let elapsed = started.elapsed();
    summary.seconds = elapsed.as_secs_f64();
    summary.users_per_second = rate(summary.imported, elapsed);
    if let Err(error) = flushed {
        return Err(CliError::new(
            error.code,
            format!(
                "{error}; {} users were imported before, and re-running skips them",
                summary.imported
            ),
        ));
    }
    report(context, &summary)?;
    if summary.refused.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "error: {} rows refused or in conflict (listed in the summary); the others were imported",
            summary.refused.len()
        );
        Ok(ExitCode::from(PARTIAL))
    }
}

fn rate(count: u64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 {
        // Lossless for any realistic count.
        #[expect(clippy::cast_precision_loss, reason = "a rate for people to read")]
        let count = count as f64;
        (count / secs).round()
    } else {
        0.0
    }
}

fn report(context: &Context, summary: &Summary) -> Result<(), CliError> {
    if context.json {
        return crate::output::json_line(summary);
    }
    println!(
        "imported {}, skipped {} (already there), refused {} — {:.1} s, {} users/s",
        summary.imported,
        summary.skipped,
        summary.refused.len(),
        summary.seconds,
        summary.users_per_second
    );
    for refusal in summary.refused.iter().take(LISTED) {
        println!("line {}: {}", refusal.line, refusal.reason);
    }
    if summary.refused.len() > LISTED {
        println!(
            "… and {} more (--json lists all)",
            summary.refused.len() - LISTED
        );
    }
    Ok(())
}

fn progress_bar(total: Option<u64>, hidden: bool) -> ProgressBar {
    if hidden {
        return ProgressBar::hidden();
    }
    let (bar, template) = match total {
        Some(total) => (
            ProgressBar::new(total),
            "{elapsed_precise} [{wide_bar}] {pos}/{len} rows  {per_sec}  ETA {eta}",
        ),
        None => (
            ProgressBar::new_spinner(),
            "{spinner} {elapsed_precise} {pos} rows  {per_sec}",
        ),
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

fn count_lines(path: &Path) -> Result<u64, CliError> {
    let file = File::open(path)
        .map_err(|e| CliError::failure(format!("cannot open {}: {e}", path.display())))?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut lines = 0u64;
    loop {
        let buffer = reader
            .fill_buf()
            .map_err(|e| CliError::failure(format!("cannot read {}: {e}", path.display())))?;
        if buffer.is_empty() {
            break;
        }
        lines += buffer.iter().filter(|&&b| b == b'\n').count() as u64;
        let used = buffer.len();
        reader.consume(used);
    }
    Ok(lines)
}

async fn read_jsonl(reader: Box<dyn Read>, importer: &mut Importer<'_>) -> Result<(), CliError> {
    let mut reader = BufReader::with_capacity(1 << 16, reader);
    let mut line = Vec::new();
    let mut number = 0u64;
    loop {
        line.clear();
        let read = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| CliError::failure(format!("cannot read the input: {e}")))?;
        if read == 0 {
            return Ok(());
        }
        number += 1;
        let text = match std::str::from_utf8(&line) {
            Ok(text) => text.trim(),
            Err(_) => {
                importer.refuse(number, "not UTF-8 text".to_owned());
                continue;
            }
        };
        if text.is_empty() {
            importer.progress.inc(1);
            continue;
        }
        match serde_json::from_str::<Row>(text) {
            Ok(row) => importer.add(number, row).await?,
            // serde_json's message names the position, never the content.
            Err(error) => importer.refuse(number, format!("not a JSON user object: {error}")),
        }
    }
}

async fn read_csv(reader: Box<dyn Read>, importer: &mut Importer<'_>) -> Result<(), CliError> {
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(reader);
    let headers = csv
        .headers()
        .map_err(|e| CliError::new(REFUSED, format!("line 1: not a CSV header: {e}")))?
        .clone();
    for required in ["email", "hashed_password"] {
        if !headers.iter().any(|h| h.trim() == required) {
            return Err(CliError::new(
                REFUSED,
                format!("line 1: the CSV header has no {required:?} column"),
            ));
        }
    }
    let mut record = csv::StringRecord::new();
    loop {
        let more = csv.read_record(&mut record);
        let number = record.position().map_or(0, csv::Position::line);
        match more {
            Ok(false) => return Ok(()),
            Ok(true) => {
                let cell = |name: &str| {
                    headers
                        .iter()
                        .position(|h| h.trim() == name)
                        .and_then(|i| record.get(i))
                        .map(str::to_owned)
                        .filter(|value| !value.is_empty())
                };
                let row = Row {
                    id: cell("id").map(serde_json::Value::String),
                    email: cell("email"),
                    username: cell("username"),
                    hashed_password: cell("hashed_password"),
                    is_verified: cell("is_verified").map(Flag::Text),
                    is_active: cell("is_active").map(Flag::Text),
                    is_superuser: cell("is_superuser").map(Flag::Text),
                    created_at: cell("created_at"),
                    updated_at: cell("updated_at"),
                    ..Row::default()
                };
                importer.add(number, row).await?;
            }
            Err(error) => {
                let number = error.position().map_or(number, csv::Position::line);
                let reason = match error.kind() {
                    csv::ErrorKind::Utf8 { .. } => "not UTF-8 text".to_owned(),
                    csv::ErrorKind::UnequalLengths { .. } => {
                        "not as many fields as the header".to_owned()
                    }
                    _ => "malformed CSV".to_owned(),
                };
                importer.refuse(number, reason);
                if !matches!(
                    error.kind(),
                    csv::ErrorKind::Utf8 { .. } | csv::ErrorKind::UnequalLengths { .. }
                ) {
                    return Err(CliError::new(
                        REFUSED,
                        format!("line {number}: the CSV cannot be read further"),
                    ));
                }
            }
        }
    }
}

struct Importer<'a> {
    service: &'a AuthService,
    batch: Vec<(u64, User)>,
    batch_size: usize,
    /// Line of each email and id seen in this file, to refuse duplicates.
    emails: HashMap<String, u64>,
    ids: HashMap<UserId, u64>,
    summary: Summary,
    progress: &'a ProgressBar,
    format: ImportFormat,
}

impl Importer<'_> {
    fn refuse(&mut self, line: u64, reason: String) {
        self.summary.refused.push(Refusal { line, reason });
        self.progress.inc(1);
    }

    async fn add(&mut self, line: u64, row: Row) -> Result<(), CliError> {
        let user = match self.prepare(row) {
            Ok(user) => user,
            Err(reason) => {
                self.refuse(line, reason);
                return Ok(());
            }
        };
        if let Some(first) = self.emails.get(&user.email) {
            let reason = format!("the email is also on line {first}");
            self.refuse(line, reason);
            return Ok(());
        }
        if let Some(first) = self.ids.get(&user.id) {
            let reason = format!("the id is also on line {first}");
            self.refuse(line, reason);
            return Ok(());
        }
        self.emails.insert(user.email.clone(), line);
        self.ids.insert(user.id, line);
        self.batch.push((line, user));
        if self.batch.len() >= self.batch_size {
            self.flush().await?;
        }
        Ok(())
    }

    /// Maps and validates a row; the reason, naming the field, when it is refused.
    fn prepare(&self, row: Row) -> Result<User, String> {
        let fastapi = match self.format {
            ImportFormat::FastapiUsersCsv | ImportFormat::FastapiUsersJsonl => true,
            ImportFormat::Seed => false,
            ImportFormat::Auto => row.is_superuser.is_some(),
        };
        let email = row.email.ok_or("email: missing")?;
        let hashed_password = row.hashed_password.ok_or("hashed_password: missing")?;
        let flag = |flag: Option<Flag>, field: &str, default: bool| {
            flag.map_or(Ok(default), |f| f.value(field))
        };
        let roles = if fastapi {
            if flag(row.is_superuser, "is_superuser", false)? {
                vec![self.service.config().admin_role().to_owned()]
            } else {
                Vec::new()
            }
        } else {
            row.roles.unwrap_or_default()
        };
        let user_settings = match row.user_settings {
            None | Some(serde_json::Value::Null) => UserSettings::new(),
            Some(serde_json::Value::Object(map)) => map,
            Some(_) => return Err("user_settings: must be a JSON object".to_owned()),
        };
        let id = match row.id {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(text)) => Some(user_id(&text)),
            Some(serde_json::Value::Number(n)) => Some(user_id(&n.to_string())),
            Some(_) => return Err("id: must be a string or a number".to_owned()),
        };
        let record = ImportedUser {
            id,
            email,
            username: if fastapi { None } else { row.username },
            hashed_password,
            roles,
            user_settings,
            is_verified: flag(row.is_verified, "is_verified", false)?,
            is_active: flag(row.is_active, "is_active", true)?,
            created_at: row
                .created_at
                .map(|t| datetime(&t).ok_or(format!("created_at: {t:?} is not a date and time")))
                .transpose()?,
            updated_at: row
                .updated_at
                .map(|t| datetime(&t).ok_or(format!("updated_at: {t:?} is not a date and time")))
                .transpose()?,
        };
        let has_id = record.id.is_some();
        let mut user = self
            .service
            .prepare_import(record)
            .map_err(|error| match error {
                AuthError::InvalidEmail => "email: invalid email address".to_owned(),
                other => crate::error::describe(&other),
            })?;
        if !has_id {
            user.id = derived_id("email", &user.email);
        }
        Ok(user)
    }

    /// Writes the batch in one transaction; rows not inserted are skipped when the same
    /// user is there already, and refused as conflicts otherwise.
    async fn flush(&mut self) -> Result<(), CliError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.batch);
        let users: Vec<User> = batch.iter().map(|(_, user)| user.clone()).collect();
        let inserted = self.service.import_users(&users).await.map_err(|error| {
            let first = batch.first().map_or(0, |(line, _)| *line);
            CliError::failure(format!(
                "import stopped at the batch from line {first}: {}",
                crate::error::describe(&error)
            ))
        })?;
        let store = self.service.store();
        // Who holds the id of each row not inserted, looked up a few at a time: a re-run
        // of a large import is all lookups.
        let holders: Vec<Option<User>> = futures_util::stream::iter(
            batch
                .iter()
                .zip(&inserted)
                .filter(|(_, inserted)| !**inserted)
                .map(|((_, user), _)| store.find_user_by_id(user.id)),
        )
        .buffered(LOOKUPS)
        .try_collect()
        .await?;
        let mut holders = holders.into_iter();
        for ((line, user), inserted) in batch.iter().zip(inserted) {
            if inserted {
                self.summary.imported += 1;
                self.progress.inc(1);
                continue;
            }
            let by_id = holders.next().flatten();
            match by_id {
                Some(existing) if existing.email == user.email => {
                    self.summary.skipped += 1;
                    self.progress.inc(1);
                }
                Some(_) => self.refuse(
                    *line,
                    format!("conflict: id {} belongs to another email", user.id),
                ),
                None => {
                    let owner = store.find_user_by_email(&user.email).await?;
                    let reason = match owner {
                        Some(owner) => {
                            format!(
                                "conflict: the email belongs to another user (id {})",
                                owner.id
                            )
                        }
                        None => "conflict: written by someone else meanwhile".to_owned(),
                    };
                    self.refuse(*line, reason);
                }
            }
        }
        Ok(())
    }
}

/// The id of an imported row: its UUID, or — for the ids of other systems (integers,
/// MongoDB ObjectIds) — a UUID (version 8) derived from it, the same on every run.
fn user_id(text: &str) -> UserId {
    text.trim()
        .parse::<UserId>()
        .unwrap_or_else(|_| derived_id("id", text.trim()))
}

fn derived_id(kind: &str, value: &str) -> UserId {
    let digest = Sha256::digest(format!("myauth-import-{kind}:{value}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    UserId::from_uuid(uuid::Uuid::new_v8(bytes))
}

/// RFC 3339, or the ISO 8601 Python writes (`2024-05-01 12:00:00.123456`, with or without
/// an offset; without one, UTC).
fn datetime(text: &str) -> Option<OffsetDateTime> {
    let text = text.trim();
    if let Ok(at) = OffsetDateTime::parse(text, &Rfc3339) {
        return Some(at);
    }
    let mut fixed = text.replacen(' ', "T", 1);
    let time_part = fixed.split_once('T').map_or("", |(_, t)| t);
    if !(time_part.ends_with('Z') || time_part.contains('+') || time_part.contains('-')) {
        fixed.push('Z');
    }
    OffsetDateTime::parse(&fixed, &Rfc3339).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_and_rfc3339_datetimes_parse_and_garbage_does_not() {
        let utc = datetime("2024-05-01T12:00:00Z").unwrap();
        assert_eq!(datetime("2024-05-01 12:00:00").unwrap(), utc);
        assert_eq!(datetime("2024-05-01T14:00:00+02:00").unwrap(), utc);
        assert_eq!(
            datetime("2024-05-01 12:00:00.250000").unwrap(),
            utc + time::Duration::milliseconds(250)
        );
        for bad in ["yesterday", "2024-13-01T00:00:00Z", ""] {
            assert!(datetime(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn foreign_ids_map_to_the_same_uuid_every_time() {
        let uuid = "0192f5c4-8d2e-7b7a-9a53-0d4c7e0e1a11";
        assert_eq!(user_id(uuid).to_string(), uuid);
        assert_eq!(user_id("42"), user_id("42"));
        assert_ne!(user_id("42"), user_id("43"));
        assert_eq!(
            user_id("665f1c2e9b1e8a0012345678")
                .as_uuid()
                .get_version_num(),
            8
        );
    }

    #[test]
    fn flags_read_the_spellings_of_exports() {
        assert!(Flag::Text("t".into()).value("x").unwrap());
        assert!(!Flag::Text("False".into()).value("x").unwrap());
        assert!(Flag::Number(1).value("x").unwrap());
        assert!(Flag::Text("maybe".into()).value("x").is_err());
    }
}
