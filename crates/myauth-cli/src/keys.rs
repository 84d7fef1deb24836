//! `myauth keys generate`: a PKCS#8 PEM private key, written with mode 0600.

use std::io::Write as _;
use std::process::ExitCode;

use myauth::secrecy::ExposeSecret as _;
use myauth::{JwtAlgorithm, JwtKey, generate_private_key_pem};

use crate::cli::{KeyAlgorithm, KeysCommand};
use crate::context::Context;
use crate::error::CliError;

pub(crate) fn run(context: &Context, command: KeysCommand) -> Result<ExitCode, CliError> {
    let KeysCommand::Generate(args) = command;
    let algorithm = match args.alg {
        KeyAlgorithm::EdDsa => JwtAlgorithm::EdDsa,
        KeyAlgorithm::Es256 => JwtAlgorithm::Es256,
        KeyAlgorithm::Rs256 => JwtAlgorithm::Rs256,
    };
    let pem = generate_private_key_pem(algorithm).map_err(|e| CliError::failure(e.to_string()))?;
    let kid = JwtKey::from_pem(pem.expose_secret())
        .map_err(|e| CliError::failure(e.to_string()))?
        .kid()
        .to_owned();
    let mut file = crate::export::private_file(&args.out, args.force)?;
    file.write_all(pem.expose_secret().as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| CliError::failure(format!("cannot write {}: {e}", args.out.display())))?;
    if context.json {
        crate::output::json_line(&serde_json::json!({
            "path": args.out, "alg": algorithm.name(), "kid": kid,
        }))?;
    } else {
        println!(
            "wrote a {} private key to {} (kid {kid}); set MYAUTH_JWT_PRIVATE_KEY_FILE to it",
            algorithm.name(),
            args.out.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
