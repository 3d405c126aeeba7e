//! The commands that read finished runs and measure nothing: `bench-runner report`, which
//! writes a run's charts and `report.html` from its `results.json` (a deploy run's
//! `deploy.md`, `deploy.csv` and charts from its `deploy.json`) and, with `--screenshot`,
//! checks the page in headless Chromium (`browser`), and `bench-runner compare`, which says,
//! cell by cell, whether a new run is slower or faster than a base run beyond the noise band
//! (`bench_core::compare::compare_runs`), with both runs side by side. The exit status of
//! `compare` is the CI gate: 0 when nothing is slower, 1 when something is, 2 on bad input.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use bench_core::compare::{compare_runs, machine_differences};
use bench_core::results::RunResults;

use crate::browser;
use crate::cli::{CompareArgs, CompareFormat, ReportArgs};
use crate::output::{read_deploy, read_prices, read_results, write_deploy, write_report};

/// Writes the charts and the report of the run in `args.dir`, its cells priced at `--prices`
/// when given; with `--screenshot`, renders the report in Chromium into `report.png` and
/// fails when a reader would see it broken.
pub fn report_command(args: &ReportArgs) -> Result<ExitCode> {
    if args.dir.join("deploy.json").exists() {
        return deploy_report(args);
    }
    let prices = args.prices.as_deref().map(read_prices).transpose()?;
    let mut results = read_results(&args.dir)?;
    if prices.is_some() {
        results.prices = prices;
    }
    write_report(&args.dir, &results)?;
    eprintln!(
        "wrote {} and report.html in {}",
        args.dir.join("charts").display(),
        args.dir.display()
    );
    if !args.screenshot {
        return Ok(ExitCode::SUCCESS);
    }
    let page = args.dir.join("report.html");
    let png = args.dir.join("report.png");
    let rendering = browser::render(&page, &png)
        .with_context(|| format!("could not render {} in Chromium", page.display()))?;
    eprintln!(
        "rendered report.html in Chromium into {} ({} × {} px): {} of {} charts measured, \
         {:.1} % of the page inked",
        png.display(),
        rendering.screenshot_width,
        rendering.screenshot_height,
        rendering.charts.len(),
        rendering.figures,
        rendering.inked_share * 100.0
    );
    let problems = rendering.problems();
    if problems.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!(
        "report.html does not render as it should:\n  - {}",
        problems.join("\n  - ")
    );
    Ok(ExitCode::FAILURE)
}

/// A deploy run's `deploy.md`, `deploy.csv` and timeline charts, again from its
/// `deploy.json`.
fn deploy_report(args: &ReportArgs) -> Result<ExitCode> {
    if args.screenshot {
        bail!(
            "--screenshot renders report.html, which a deploy run ({}) does not have",
            args.dir.display()
        );
    }
    if args.prices.is_some() {
        bail!(
            "--prices prices the cells of a run, which a deploy run ({}) does not have",
            args.dir.display()
        );
    }
    let results = read_deploy(&args.dir)?;
    let charts: Vec<(String, String)> = results
        .swaps
        .iter()
        .filter_map(|result| {
            let report = result.report()?;
            let svg = bench_core::charts::deploy_timeline(report, &result.swap.id());
            Some((bench_core::deploy::chart_file(&result.swap), svg))
        })
        .collect();
    write_deploy(&args.dir, &results, &charts)?;
    eprintln!(
        "wrote deploy.md, deploy.csv and {} timeline charts in {}",
        charts.len(),
        args.dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Bad input: unreadable runs, or runs of different machines.
const BAD_INPUT: u8 = 2;

/// Compares the two runs of `args` and prints the comparison.
pub fn compare_command(args: &CompareArgs) -> Result<ExitCode> {
    match compare(args) {
        Ok(code) => Ok(code),
        Err(err) => {
            eprintln!("error: {err:#}");
            Ok(ExitCode::from(BAD_INPUT))
        }
    }
}

fn compare(args: &CompareArgs) -> Result<ExitCode> {
    let base = read(&args.base)?;
    let new = read(&args.new)?;
    let differences = machine_differences(&base.provenance, &new.provenance);
    if !differences.is_empty() && !args.allow_different_hosts {
        bail!(
            "the runs were made on different machines, so every cell would carry the \
             machines' difference:\n  - {}\n(pass --allow-different-hosts to compare them \
             anyway)",
            differences.join("\n  - ")
        );
    }
    let name = |path: &Path| {
        path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    };
    let comparison = compare_runs(
        &name(&args.base),
        &base,
        &name(&args.new),
        &new,
        args.threshold,
    );
    match args.format {
        CompareFormat::Markdown => print!("{}", comparison.markdown()),
        CompareFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&comparison).context("could not write JSON")?
        ),
    }
    Ok(if comparison.any_slower() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// A run's results from its directory or its `results.json`.
fn read(path: &Path) -> Result<RunResults> {
    if path.is_dir() {
        return read_results(path);
    }
    let json = std::fs::read_to_string(path)
        .with_context(|| format!("could not read {}", path.display()))?;
    RunResults::from_json(&json).with_context(|| format!("could not read {}", path.display()))
}
