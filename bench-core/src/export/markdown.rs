//! `results.md`: what a person reads first. The provenance in a few lines, a table per CPU
//! quota (a row per framework × base × endpoint, a column per connection count), the image
//! and startup tables, and notes: every flag a cell carries is a numbered note, and each
//! kind of flag that occurs is explained once, with what to do about it.

use std::fmt::Write as _;

use crate::catalog::{Framework, Packaging};
use crate::plan::{Cell, CpuQuota, Endpoint, Matrix};
use crate::results::{
    CALIBRATION_TOLERANCE_PERCENT, CellResult, Flag, FlagKind, NOISY_CV, Outcome, RunResults,
    SUCCESS_RATIO_FLOOR,
};
use crate::units::{Bytes, Micros, Millis, format_duration};

/// `results.md`.
pub fn markdown(results: &RunResults) -> String {
    let mut out = String::new();
    let mut notes = Notes::default();
    header(&mut out, results);
    for quota in &results.matrix.cpus {
        quota_table(&mut out, results, quota, &mut notes);
    }
    images(&mut out, results);
    startup(&mut out, results);
    notes.write(&mut out);
    out
}

/// Notes in the order their markers appear, and the flag kinds that need explaining.
#[derive(Default)]
struct Notes {
    lines: Vec<String>,
    kinds: Vec<FlagKind>,
}

impl Notes {
    /// The marker for a cell's flags (` [n]`), empty when it has none.
    fn marker(&mut self, result: &CellResult) -> String {
        if result.flags.is_empty() {
            return String::new();
        }
        let parts: Vec<String> = result.flags.iter().map(|f| note(result, f)).collect();
        for flag in &result.flags {
            if !self.kinds.contains(&flag.kind()) {
                self.kinds.push(flag.kind());
            }
        }
        self.lines
            .push(format!("`{}`: {}", result.id, parts.join("; ")));
        format!(" [{}]", self.lines.len())
    }

    fn write(mut self, out: &mut String) {
        if self.lines.is_empty() {
            return;
        }
        out.push_str("## Notes\n\n");
        for (i, line) in self.lines.iter().enumerate() {
            let _ = writeln!(out, "- [{}] {line}", i + 1);
        }
        out.push_str("\nWhat the flags mean:\n\n");
        self.kinds.sort();
        for kind in self.kinds {
            let _ = writeln!(out, "- {}", explain(kind));
        }
        out.push('\n');
    }
}

fn note(result: &CellResult, flag: &Flag) -> String {
    match flag {
        Flag::GeneratorBound {
            generator_cpu_percent,
            generator_limit_percent,
            server_cpu_percent,
            server_quota_percent,
        } => format!(
            "generator-bound (oha at {generator_cpu_percent:.0} % CPU of {generator_limit_percent:.0} %, the server at {server_cpu_percent:.0} % of its {server_quota_percent:.0} % quota)"
        ),
        Flag::Noisy { cv, outliers } => {
            let mut text = format!("noisy (CV {:.1} %", cv * 100.0);
            if !outliers.is_empty() {
                let runs: Vec<String> = outliers.iter().map(|i| (i + 1).to_string()).collect();
                let _ = write!(text, "; outlier repetition {}", runs.join(", "));
            }
            text.push(')');
            text
        }
        Flag::Unsuccessful { success_ratio } => {
            format!("unsuccessful (only {:.2} % 2xx)", success_ratio * 100.0)
        }
        Flag::Failed => match &result.outcome {
            Outcome::Failed { stage, reason } => format!("failed while {stage}: {reason}"),
            Outcome::Measured => "failed".to_owned(),
        },
        Flag::Calibration {
            expected_rate,
            measured_rate,
            deviation_percent,
            within_tolerance,
        } => format!(
            "calibration: harness error {deviation_percent:+.1} % ({} req/s measured, {} expected){}",
            rate(*measured_rate),
            rate(*expected_rate),
            if *within_tolerance {
                ""
            } else {
                ", beyond tolerance"
            }
        ),
    }
}

fn explain(kind: FlagKind) -> String {
    match kind {
        FlagKind::GeneratorBound => "**generator-bound**: the load generator saturated its CPU while the server had CPU to spare, so the server could go faster than shown. Compare CPU µs per request, which stays comparable, or give the server a smaller quota or the generator more CPUs (`--generator-cpus`).".to_owned(),
        FlagKind::Noisy => format!("**noisy**: the 2xx rate varied by more than {:.0} % (coefficient of variation) over the repetitions. Rerun on a quieter machine or with more or longer repetitions (`--repetitions`, `--duration`); outlier repetitions are named, none is dropped.", NOISY_CV * 100.0),
        FlagKind::Unsuccessful => format!("**unsuccessful**: fewer than {:.1} % of the requests that ended got a 2xx; `results.json` has the status codes and errors of every repetition.", SUCCESS_RATIO_FLOOR * 100.0),
        FlagKind::Failed => "**failed**: the cell has no measurement; the note says at which stage and why. `--resume <dir>` measures what is missing.".to_owned(),
        FlagKind::Calibration => format!("**calibration**: at C connections `/sleep/<ms>` must serve C·1000/ms req/s; the deviation is the harness error of this run, suspect beyond ±{CALIBRATION_TOLERANCE_PERCENT:.0} %."),
    }
}

fn header(out: &mut String, results: &RunResults) {
    let p = &results.provenance;
    let m = &results.matrix;
    out.push_str("# benchlab results\n\n");
    let docker = p
        .docker_version
        .as_deref()
        .map_or_else(|| "no Docker".to_owned(), |v| format!("Docker {v}"));
    let _ = writeln!(
        out,
        "Started {} on `{}`: {}, {} cores, kernel {}, {docker}.",
        p.started, p.host, p.cpu_model, p.cores, p.kernel
    );
    let commit = p.git_commit.get(..12).unwrap_or(&p.git_commit);
    let dirty = if p.git_dirty {
        " (uncommitted changes)"
    } else {
        ""
    };
    let lock = p
        .cargo_lock_sha256
        .get(..12)
        .unwrap_or(&p.cargo_lock_sha256);
    let _ = writeln!(
        out,
        "Commit `{commit}`{dirty}, Cargo.lock `{lock}`, {}, oha {}.",
        p.rustc, p.oha_version
    );
    if !p.framework_versions.is_empty() {
        let versions: Vec<String> = p
            .framework_versions
            .iter()
            .map(|(name, version)| format!("{name} {version}"))
            .collect();
        let _ = writeln!(out, "Frameworks: {}.", versions.join(", "));
    }
    out.push('\n');

    let expected = m.cells().len();
    let failed = results.cells.iter().filter(|c| c.is_failed()).count();
    let measured = results.cells.len() - failed;
    let _ = writeln!(
        out,
        "Backend {}; per cell {} of warm-up, then {} × {} of oha with keep-alive; the server on CPU {}, oha on CPU {}. {expected} cells: {measured} measured, {failed} failed, {} not run.",
        m.backend,
        format_duration(m.warmup),
        m.repetitions,
        format_duration(m.duration),
        m.server_cpus,
        m.generator_cpus,
        expected.saturating_sub(results.cells.len()),
    );
    if let Some((cells, least, most)) = results.harness_error() {
        let _ = writeln!(
            out,
            "Harness error, from {cells} `/sleep/<ms>` calibration cell(s): {least:+.1} % to {most:+.1} %."
        );
    }
    out.push('\n');
    out.push_str("Each cell gives the median over repetitions of 2xx responses per second · p99 latency of 2xx responses. Per vCPU and CPU per request are those of the row's fastest cell; memory (without page cache) is the row's peak. `–` is a cell not run.\n\n");
}

/// The rows of a quota's table: framework × base × endpoint, in matrix order.
fn rows(matrix: &Matrix) -> Vec<(Framework, Packaging, Endpoint)> {
    let mut rows = Vec::new();
    for &framework in &matrix.frameworks {
        for base in matrix.packagings() {
            for &endpoint in &matrix.endpoints {
                rows.push((framework, base, endpoint));
            }
        }
    }
    rows
}

fn quota_table(out: &mut String, results: &RunResults, quota: &CpuQuota, notes: &mut Notes) {
    let m = &results.matrix;
    let _ = writeln!(
        out,
        "## {} vCPU, {} MiB (WORKERS={})\n",
        quota.vcpus,
        quota.memory_mib,
        quota.workers()
    );
    out.push_str("| framework | base | endpoint |");
    for c in &m.connections {
        let _ = write!(out, " c={c} |");
    }
    out.push_str(" req/s per vCPU | CPU µs/req | memory peak |\n");
    out.push_str("| --- | --- | --- |");
    for _ in &m.connections {
        out.push_str(" ---: |");
    }
    out.push_str(" ---: | ---: | ---: |\n");

    for (framework, base, endpoint) in rows(m) {
        let _ = write!(out, "| {framework} | {base} | {endpoint} |");
        let mut row_cells = Vec::new();
        for &connections in &m.connections {
            let cell = Cell {
                framework,
                base,
                cpu: *quota,
                endpoint,
                connections,
            };
            let id = cell.id();
            let Some(result) = results.cells.iter().find(|c| c.id == id) else {
                out.push_str(" – |");
                continue;
            };
            let marker = notes.marker(result);
            match (&result.outcome, &result.summary) {
                (Outcome::Failed { .. }, _) => {
                    let _ = write!(out, " failed{marker} |");
                }
                (Outcome::Measured, Some(summary)) => {
                    let p99 = summary
                        .latency_p99_us
                        .map_or_else(|| "–".to_owned(), |p99| ms(p99.median));
                    let _ = write!(out, " {} · {p99}{marker} |", rate(summary.rate_2xx.median));
                    row_cells.push(result);
                }
                (Outcome::Measured, None) => {
                    let _ = write!(out, " –{marker} |");
                }
            }
        }
        let best = row_cells.iter().max_by(|a, b| {
            let rate = |c: &&&CellResult| c.summary.as_ref().map_or(0.0, |s| s.rate_2xx.median);
            rate(a).total_cmp(&rate(b))
        });
        let per_vcpu = best
            .and_then(|c| c.summary.as_ref())
            .map_or_else(|| "–".to_owned(), |s| rate(s.rate_per_vcpu));
        let cpu = best
            .and_then(|c| c.summary.as_ref())
            .and_then(|s| s.cpu_us_per_request)
            .map_or_else(|| "–".to_owned(), |s| micros(s.median));
        let memory = row_cells
            .iter()
            .filter_map(|c| c.summary.as_ref())
            .map(|s| s.mem_peak_bytes.max)
            .max_by(f64::total_cmp)
            .map_or_else(|| "–".to_owned(), |b| mib(b as Bytes));
        let _ = writeln!(out, " {per_vcpu} | {cpu} | {memory} |");
    }
    out.push('\n');
}

fn images(out: &mut String, results: &RunResults) {
    let images = &results.provenance.images;
    if images.is_empty() {
        return;
    }
    out.push_str("## Images\n\n");
    out.push_str("| framework | base | image | size | id | base image |\n");
    out.push_str("| --- | --- | --- | ---: | --- | --- |\n");
    for image in images {
        let id = image.digest.get(..19).unwrap_or(&image.digest);
        let _ = writeln!(
            out,
            "| {} | {} | `{}` | {} | `{id}` | {} |",
            image.framework,
            image.base,
            image.image,
            mib(image.size_bytes),
            image.base_provenance
        );
    }
    out.push('\n');
}

fn startup(out: &mut String, results: &RunResults) {
    if results.startup.is_empty() {
        return;
    }
    out.push_str("## Startup: from start to the first 200 on /hello\n\n");
    out.push_str("| framework | base | runs | median | min–max | failed |\n");
    out.push_str("| --- | --- | ---: | ---: | ---: | ---: |\n");
    for s in &results.startup {
        let (median, range) = match &s.summary {
            Some(spread) => (
                millis(spread.median),
                format!("{}–{}", ms_number(spread.min), millis(spread.max)),
            ),
            None => ("–".to_owned(), "–".to_owned()),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {median} | {range} | {} |",
            s.framework,
            s.base,
            s.runs_ms.len(),
            s.failures.len()
        );
    }
    out.push('\n');
}

/// A rate with three significant digits: `9.95`, `62.1`, `950`, `5.12k`, `48.2k`, `196k`,
/// `1.20M`.
fn rate(value: f64) -> String {
    let abs = value.abs();
    if abs < 10.0 {
        format!("{value:.2}")
    } else if abs < 100.0 {
        format!("{value:.1}")
    } else if abs < 1_000.0 {
        format!("{value:.0}")
    } else if abs < 10_000.0 {
        format!("{:.2}k", value / 1e3)
    } else if abs < 100_000.0 {
        format!("{:.1}k", value / 1e3)
    } else if abs < 1_000_000.0 {
        format!("{:.0}k", value / 1e3)
    } else {
        format!("{:.2}M", value / 1e6)
    }
}

/// Microseconds of latency shown as milliseconds: `0.21 ms`, `45.3 ms`, `1002 ms`.
fn ms(us: Micros) -> String {
    millis(us / 1e3)
}

fn millis(ms: Millis) -> String {
    format!("{} ms", ms_number(ms))
}

/// `0.21`, `45.3`, `1002`: milliseconds without their unit.
fn ms_number(ms: Millis) -> String {
    if ms < 10.0 {
        format!("{ms:.2}")
    } else if ms < 100.0 {
        format!("{ms:.1}")
    } else {
        format!("{ms:.0}")
    }
}

/// CPU microseconds: `10.4`.
fn micros(us: Micros) -> String {
    if us < 100.0 {
        format!("{us:.1}")
    } else {
        format!("{us:.0}")
    }
}

fn mib(bytes: Bytes) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_units() {
        let rates: Vec<String> = [0.4, 950.0, 5123.0, 48_213.0, 196_400.0, 1_204_000.0]
            .into_iter()
            .map(rate)
            .collect();
        assert_eq!(rates, ["0.40", "950", "5.12k", "48.2k", "196k", "1.20M"]);
        assert_eq!(rate(62.14), "62.1");
        assert_eq!(ms(212.0), "0.21 ms");
        assert_eq!(ms(45_310.0), "45.3 ms");
        assert_eq!(ms(1_002_000.0), "1002 ms");
        assert_eq!(micros(10.43), "10.4");
        assert_eq!(mib(3 << 20), "3.0 MiB");
    }
}
