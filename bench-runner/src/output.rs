//! The files of a results directory: `results.json`, `results.md` and `results.csv` after
//! every repetition, and at the end of a run (or with `bench-runner report`) the charts under
//! `charts/`, `report.html`, and `results.md` again with the charts linked. Every file is
//! written to a temporary file, flushed to the disk and renamed, so none is ever half
//! written, even after a crash of the machine. This is the one place run results reach the
//! disk.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use bench_core::fargate::cost::Prices;
use bench_core::results::RunResults;

use crate::provenance;
use crate::workspace::Workspace;

/// `results/<prefix><timestamp>-<host>` under the workspace (`prefix` is empty for `run`,
/// `deploy-` for the deploy lab); refused when it exists.
pub fn new_results_dir(workspace: &Workspace, prefix: &str) -> Result<PathBuf> {
    let host = provenance::hostname();
    let stamp = time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .context("could not format the time")?;
    let dir = workspace
        .root
        .join("results")
        .join(format!("{prefix}{stamp}-{host}"));
    if dir.exists() {
        bail!("{} exists already", dir.display());
    }
    Ok(dir)
}

/// Reads the results of the run in `dir`.
pub fn read_results(dir: &Path) -> Result<RunResults> {
    let path = dir.join("results.json");
    let json = std::fs::read_to_string(&path)
        .with_context(|| format!("could not read {}", path.display()))?;
    RunResults::from_json(&json).with_context(|| format!("could not read {}", path.display()))
}

/// Reads the price table of `--prices FILE`; an error names the file and the key at fault.
pub fn read_prices(path: &Path) -> Result<Prices> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("--prices: could not read {}", path.display()))?;
    Prices::from_toml(&path.display().to_string(), &text).context("--prices")
}

/// Reads the results of the deploy run in `dir`.
pub fn read_deploy(dir: &Path) -> Result<bench_core::deploy::DeployResults> {
    let path = dir.join("deploy.json");
    let json = std::fs::read_to_string(&path)
        .with_context(|| format!("could not read {}", path.display()))?;
    bench_core::deploy::DeployResults::from_json(&json)
        .with_context(|| format!("could not read {}", path.display()))
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

/// `deploy.json`, `deploy.md` and `deploy.csv` of a deploy run, and the charts given
/// (`charts/<name>.svg`), after every swap.
pub fn write_deploy(
    dir: &Path,
    results: &bench_core::deploy::DeployResults,
    charts: &[(String, String)],
) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("could not create {}", dir.display()))?;
    for (file, svg) in charts {
        let path = dir.join(file);
        let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
            bail!("invalid chart file name {file}");
        };
        std::fs::create_dir_all(parent)
            .with_context(|| format!("could not create {}", parent.display()))?;
        write_all(parent, [(name.to_string_lossy().as_ref(), svg.clone())])?;
    }
    write_all(
        dir,
        [
            ("deploy.json", bench_core::deploy::deploy_json(results)),
            ("deploy.md", bench_core::deploy::deploy_markdown(results)),
            ("deploy.csv", bench_core::deploy::deploy_csv(results)),
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

/// `timeline.json`, `timeline.md`, `timeline.csv` and, once a launch has a timeline to draw,
/// `timeline.svg` of a `fargate run`, after every launch.
///
/// # Errors
/// When the directory or a file cannot be written.
pub fn write_fargate(dir: &Path, run: &bench_core::fargate::timeline::FargateRun) -> Result<()> {
    use bench_core::fargate::timeline;
    std::fs::create_dir_all(dir).with_context(|| format!("could not create {}", dir.display()))?;
    let mut files = vec![
        ("timeline.json", run.to_json()),
        ("timeline.md", timeline::markdown(run)),
        ("timeline.csv", timeline::csv(run)),
    ];
    if let Some(chart) = timeline::chart(run) {
        files.push((timeline::CHART_FILE, chart.svg));
    }
    write_all(dir, files)
}

/// Writes `images.md` (the table, then the size chart), `images.json` and the chart
/// `image-sizes.svg` into `dir`, creating it.
///
/// # Errors
/// When the directory or a file cannot be written.
pub fn write_image_tables(dir: &Path, rows: &[bench_core::images::ImageRow]) -> Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("could not create '{}'", dir.display()))?;
    let mut markdown = bench_core::images::markdown(rows);
    let mut files = vec![("images.json", bench_core::images::json(rows))];
    if let Some(chart) = bench_core::charts::image_sizes(rows) {
        markdown.push_str(&format!("\n![{}]({})\n", chart.title, chart.file_name));
        files.push(("image-sizes.svg", chart.svg));
    }
    files.push(("images.md", markdown));
    for (name, contents) in files {
        let path = dir.join(name);
        std::fs::write(&path, contents)
            .with_context(|| format!("could not write '{}'", path.display()))?;
    }
    Ok(())
}

/// The rows of the image table in `dir`, or none when it has not been written yet.
///
/// # Errors
/// When `images.json` cannot be read or is not an image table.
pub fn read_image_rows(dir: &Path) -> Result<Vec<bench_core::images::ImageRow>> {
    let path = dir.join("images.json");
    match std::fs::read_to_string(&path) {
        Ok(text) => bench_core::images::from_json(&text)
            .with_context(|| format!("could not read the image table '{}'", path.display())),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(err) => Err(err).with_context(|| format!("could not read '{}'", path.display())),
    }
}
