//! `bench-runner compare`: reads two finished runs and prints, as markdown, how far the
//! second reproduces the first (`bench_core::compare::reproducibility`). It reads results
//! only; it measures nothing.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use bench_core::results::RunResults;

use crate::cli::CompareArgs;

/// Prints the comparison of the two runs of `args`.
pub fn compare_command(args: &CompareArgs) -> Result<ExitCode> {
    let first = read(&args.first)?;
    let second = read(&args.second)?;
    let name = |path: &Path| {
        path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    };
    let comparison = bench_core::compare::reproducibility(
        &name(&args.first),
        &first,
        &name(&args.second),
        &second,
    );
    print!("{}", comparison.markdown());
    Ok(ExitCode::SUCCESS)
}

/// A run's results from its directory or its `results.json`.
fn read(path: &Path) -> Result<RunResults> {
    let file: PathBuf = if path.is_dir() {
        path.join("results.json")
    } else {
        path.to_owned()
    };
    let json = std::fs::read_to_string(&file)
        .with_context(|| format!("could not read {}", file.display()))?;
    RunResults::from_json(&json).with_context(|| format!("could not read {}", file.display()))
}
