//! Writes the seeds (`myauth_fuzz_targets::seeds`) to `fuzz/corpus/<target>/seed-*`, after
//! a change to the seeds: `cargo run -p myauth-fuzz-targets --bin write_seeds`. Not a test:
//! the stored-hash seeds carry fresh random salts, so every run rewrites those files.

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
    for (target, name, bytes) in myauth_fuzz_targets::seeds::seeds() {
        let dir = corpus.join(target);
        if let Err(error) = std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::write(dir.join(format!("seed-{name}")), &bytes))
        {
            eprintln!("error: cannot write {}: {error}", dir.display());
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
