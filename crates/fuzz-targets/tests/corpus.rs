//! Every fuzz target over its committed corpus (`fuzz/corpus/<target>/`) and its crash
//! reproducers (`fuzz/regressions/<target>/`), on stable Rust without libFuzzer: what
//! the fuzzer once found stays fixed, and every target still runs.

use std::fs;
use std::path::{Path, PathBuf};

use myauth_fuzz_targets::TARGETS;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// The files of `dir`, sorted; none when it does not exist.
fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn every_target_passes_its_corpus_and_its_regressions() {
    for (name, run) in TARGETS {
        let corpus = inputs(&fuzz_dir().join("corpus").join(name));
        assert!(
            corpus.len() >= 3,
            "fuzz/corpus/{name} has {} inputs; seed it",
            corpus.len()
        );
        let regressions = inputs(&fuzz_dir().join("regressions").join(name));
        for path in corpus.iter().chain(&regressions) {
            let Ok(bytes) = fs::read(path) else {
                panic!("cannot read {}", path.display());
            };
            run(&bytes);
        }
        println!(
            "{name}: {} corpus inputs, {} regressions",
            corpus.len(),
            regressions.len()
        );
    }
}

#[test]
fn every_target_has_a_libfuzzer_binary() {
    for (name, _) in TARGETS {
        let binary = fuzz_dir().join("fuzz_targets").join(format!("{name}.rs"));
        let Ok(source) = fs::read_to_string(&binary) else {
            panic!("no {}", binary.display());
        };
        assert!(
            source.contains(&format!("target(\"{name}\")")),
            "{} does not run its target",
            binary.display()
        );
    }
}
