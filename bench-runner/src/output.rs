//! The files of a results directory: `results.json`, `results.md` and `results.csv` after
//! every repetition, and at the end of a run (or with `bench-runner report`) the charts under
//! `charts/`, `report.html`, and `results.md` again with the charts linked. Every file is
//! written to a temporary file, flushed to the disk and renamed, so none is ever half
//! written, even after a crash of the machine. This is the one place run results reach the
//! disk.

use std::io::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use bench_core::results::RunResults;

/// Reads the results of the run in `dir`.
pub fn read_results(dir: &Path) -> Result<RunResults> {
    let path = dir.join("results.json");
    let json = std::fs::read_to_string(&path)
        .with_context(|| format!("could not read {}", path.display()))?;
    RunResults::from_json(&json).with_context(|| format!("could not read {}", path.display()))
}

/// All three result files.
pub fn write_results(dir: &Path, results: &RunResults) -> Result<()> {
    write_all(
        dir,
        [
            ("results.json", bench_core::export::json(results)),
            ("results.md", bench_core::export::markdown(results)),
            ("results.csv", bench_core::export::csv(results)),
        ],
    )
}

/// The charts, `report.html` and `results.md` with the charts linked.
pub fn write_report(dir: &Path, results: &RunResults) -> Result<()> {
    let charts = bench_core::charts::charts(results);
    let chart_dir = dir.join("charts");
    std::fs::create_dir_all(&chart_dir)
        .with_context(|| format!("could not create {}", chart_dir.display()))?;
    write_all(
        &chart_dir,
        charts.iter().map(|c| (c.file_name.as_str(), c.svg.clone())),
    )?;
    write_all(
        dir,
        [
            ("report.html", bench_core::export::html(results, &charts)),
            (
                "results.md",
                bench_core::export::markdown_with_charts(results, &charts),
            ),
        ],
    )
}

fn write_all<'a>(dir: &Path, files: impl IntoIterator<Item = (&'a str, String)>) -> Result<()> {
    for (name, contents) in files {
        let path = dir.join(name);
        let temporary = dir.join(format!(".{name}.tmp"));
        let mut file = std::fs::File::create(&temporary)
            .with_context(|| format!("could not write {}", temporary.display()))?;
        file.write_all(contents.as_bytes())
            .and_then(|()| file.sync_all())
            .with_context(|| format!("could not write {}", temporary.display()))?;
        std::fs::rename(&temporary, &path)
            .with_context(|| format!("could not write {}", path.display()))?;
    }
    if let Ok(directory) = std::fs::File::open(dir) {
        let _ = directory.sync_all();
    }
    Ok(())
}
