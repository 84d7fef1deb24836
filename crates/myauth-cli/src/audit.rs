//! `myauth audit …`: the place for audit-log commands. `verify` checks the hash chain
//! with `auth_core::audit::verify` on the configured store.

use std::process::ExitCode;

use myauth::audit::ChainBreak;

use crate::cli::AuditCommand;
use crate::context::Context;
use crate::error::{CliError, REFUSED};

pub(crate) async fn run(context: &Context, command: AuditCommand) -> Result<ExitCode, CliError> {
    match command {
        AuditCommand::Verify => {
            let service = context.service().await?;
            let report = myauth::audit::verify(&**service.store()).await?;
            let head = myauth::audit::to_hex(&report.head);
            match report.broken {
                None => {
                    if context.json {
                        crate::output::json_line(&serde_json::json!({
                            "ok": true, "checked": report.checked, "head": head,
                        }))?;
                    } else {
                        println!("audit log intact: {} records, head {head}", report.checked);
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Some(broken) => {
                    let at = match broken {
                        ChainBreak::Altered { seq } => format!("record {seq} was altered"),
                        ChainBreak::Unlinked { seq, expected_seq } => format!(
                            "record {seq} does not follow its predecessor (expected {expected_seq})"
                        ),
                    };
                    Err(CliError::new(REFUSED, format!("audit log broken: {at}")))
                }
            }
        }
    }
}
