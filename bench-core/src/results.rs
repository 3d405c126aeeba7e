//! The output contract of `bench-runner run`: what `results.json` holds (and `--resume`
//! reads back), from which `results.md` and `results.csv` are made. Every raw repetition is
//! kept beside its summary. Fields are added, never renamed; a change that breaks readers
//! bumps [`FORMAT_VERSION`].
//!
//! The rules that judge a cell (generator-bound, noisy, calibration, unsuccessful) are pure
//! functions here, with their thresholds as constants, so every output flags the same cells.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::catalog::{Base, Framework, Packaging};
use crate::oha::LoadReport;
use crate::plan::{Cell, CpuQuota, Matrix};
use crate::stats::{Sample, Spread};
use crate::units::{Bytes, Micros, Millis, Percent, RequestsPerSec};

/// The version of this format, written in every `results.json`.
pub const FORMAT_VERSION: u32 = 1;

/// The load generator is saturated when its CPU reaches this share of its limit (90 %).
pub const GENERATOR_SATURATED: f64 = 0.9;

/// …while the server has headroom when its CPU stays below this share of its quota (90 %).
/// Both together flag a cell generator-bound: the server could have gone faster.
pub const SERVER_HEADROOM: f64 = 0.9;

/// A cell is noisy when the coefficient of variation of its 2xx rate over the repetitions is
/// above this (5 %).
pub const NOISY_CV: f64 = 0.05;

/// A `/sleep/<ms>` cell calibrates the harness; a deviation from C·1000/ms beyond this many
/// percent marks the harness error as too large.
pub const CALIBRATION_TOLERANCE_PERCENT: Percent = 5.0;

/// A cell is unsuccessful when the median share of 2xx among ended requests falls below this.
pub const SUCCESS_RATIO_FLOOR: f64 = 0.999;

/// A whole run: where and with what it ran, what it was asked to measure, and every result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunResults {
    /// [`FORMAT_VERSION`] when written.
    pub format_version: u32,
    pub provenance: Provenance,
    /// The matrix and options as validated, whole.
    pub matrix: Matrix,
    /// The startup phase: one entry per image (and per bare binary).
    pub startup: Vec<StartupResult>,
    /// One entry per finished cell, in the order of [`Matrix::cells`].
    pub cells: Vec<CellResult>,
}

/// Why a `results.json` cannot be resumed.
#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    #[error("not a benchlab results.json")]
    Json(#[from] serde_json::Error),
    #[error("results.json has format version {found}, this runner reads version {FORMAT_VERSION}")]
    Version { found: u32 },
}

impl RunResults {
    /// An empty run, ready to record cells as they finish.
    pub fn new(provenance: Provenance, matrix: Matrix) -> RunResults {
        RunResults {
            format_version: FORMAT_VERSION,
            provenance,
            matrix,
            startup: Vec::new(),
            cells: Vec::new(),
        }
    }

    /// Reads a `results.json` back, for `--resume`.
    pub fn from_json(json: &str) -> Result<RunResults, ResultsError> {
        #[derive(Deserialize)]
        struct Version {
            format_version: u32,
        }
        let Version { format_version } = serde_json::from_str(json)?;
        if format_version != FORMAT_VERSION {
            return Err(ResultsError::Version {
                found: format_version,
            });
        }
        Ok(serde_json::from_str(json)?)
    }

    /// Records a finished cell, replacing an earlier result of the same id (a retried
    /// failure), and keeps cells in matrix order, cells outside the matrix last.
    pub fn record(&mut self, result: CellResult) {
        self.cells.retain(|c| c.id != result.id);
        self.cells.push(result);
        let order: BTreeMap<String, usize> = self
            .matrix
            .cells()
            .iter()
            .enumerate()
            .map(|(i, cell)| (cell.id(), i))
            .collect();
        self.cells
            .sort_by_key(|c| order.get(&c.id).copied().unwrap_or(usize::MAX));
    }

    /// Records a startup result, replacing an earlier one of the same framework and base.
    pub fn record_startup(&mut self, result: StartupResult) {
        self.startup
            .retain(|s| (s.framework, s.base) != (result.framework, result.base));
        self.startup.push(result);
    }

    /// The ids of recorded cells, measured or failed.
    pub fn finished_ids(&self) -> BTreeSet<String> {
        self.cells.iter().map(|c| c.id.clone()).collect()
    }

    /// The cells of the matrix still to measure, in order: those without a result, and the
    /// failed ones too when `retry_failed`.
    pub fn pending_cells(&self, retry_failed: bool) -> Vec<Cell> {
        let done: BTreeSet<&str> = self
            .cells
            .iter()
            .filter(|c| !(retry_failed && c.is_failed()))
            .map(|c| c.id.as_str())
            .collect();
        self.matrix
            .cells()
            .into_iter()
            .filter(|cell| !done.contains(cell.id().as_str()))
            .collect()
    }

    /// The harness error of the run: how many `/sleep/<ms>` cells calibrated it, and the
    /// least and most deviation among them, in percent. `None` without calibration cells.
    pub fn harness_error(&self) -> Option<(usize, Percent, Percent)> {
        let deviations: Vec<Percent> = self
            .cells
            .iter()
            .flat_map(|c| &c.flags)
            .filter_map(|flag| match flag {
                Flag::Calibration {
                    deviation_percent, ..
                } => Some(*deviation_percent),
                _ => None,
            })
            .collect();
        let spread = Spread::of(deviations.iter().copied())?;
        Some((deviations.len(), spread.min, spread.max))
    }

    /// Whether any cell or cold start failed: the runner's exit code.
    pub fn any_failed(&self) -> bool {
        self.cells.iter().any(CellResult::is_failed)
            || self.startup.iter().any(|s| !s.failures.is_empty())
    }
}

/// Where, when and with what the run happened; every field filled by the runner's IO side.
/// Free text where the source is free text (`uname -r`, `docker version`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// When the run started, RFC 3339.
    pub started: String,
    /// The host's name.
    pub host: String,
    /// The CPU model, as `/proc/cpuinfo` names it.
    pub cpu_model: String,
    /// CPUs online.
    pub cores: u32,
    /// The kernel release.
    pub kernel: String,
    /// The Docker engine's version; `None` under the process backend.
    pub docker_version: Option<String>,
    /// `rustc --version` of the toolchain that built the services.
    pub rustc: String,
    /// The version of oha that generated load.
    pub oha_version: String,
    /// Framework name → the version of its crate in Cargo.lock (`axum` → `0.8.9`).
    pub framework_versions: BTreeMap<Framework, String>,
    /// The git commit of the sources measured.
    pub git_commit: String,
    /// Whether the work tree had uncommitted changes.
    pub git_dirty: bool,
    /// SHA-256 of Cargo.lock, hex.
    pub cargo_lock_sha256: String,
    /// The images measured; empty under the process backend.
    pub images: Vec<ImageInfo>,
}

/// One image measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImageInfo {
    pub framework: Framework,
    pub base: Base,
    /// The tag: `benchlab/axum:scratch`.
    pub image: String,
    /// The engine's image id (`sha256:…`).
    pub digest: String,
    /// Uncompressed size, as the engine reports it.
    pub size_bytes: Bytes,
    /// Hex SHA-256 of the service binary in it; empty in results older than the field.
    #[serde(default)]
    pub binary_sha256: String,
    /// Where the base image came from, in words (`none (scratch)`, `upstream … (sha256:…)`).
    pub base_provenance: String,
}

/// How a cell ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Outcome {
    /// Every repetition ran.
    Measured,
    /// The cell stopped at `stage`: a crash, a timeout, an OOM kill, an error of the harness.
    Failed { stage: Stage, reason: String },
}

/// Where in a cell's life it failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// Creating or starting the container or process.
    Start,
    /// Waiting for `/hello` to answer 200.
    Ready,
    /// The warm-up load.
    Warmup,
    /// A measured repetition.
    Load,
    /// Stopping and removing.
    Stop,
}

impl Stage {
    /// The stage's name in JSON and CSV: `start`, `ready`, `warmup`, `load`, `stop`.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Start => "start",
            Stage::Ready => "ready",
            Stage::Warmup => "warmup",
            Stage::Load => "load",
            Stage::Stop => "stop",
        }
    }
}

/// The stage in prose: `waiting for /hello`.
impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::Start => "starting",
            Stage::Ready => "waiting for /hello",
            Stage::Warmup => "warming up",
            Stage::Load => "under load",
            Stage::Stop => "stopping",
        })
    }
}

/// What happened around the measurement.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Lifecycle {
    /// From start to the first 200 on `/hello`.
    pub ready_ms: Option<Millis>,
    /// From SIGTERM to exit.
    pub stop_ms: Option<Millis>,
    /// Whether the service had to be killed after the stop timeout.
    pub killed: bool,
}

/// One cell's result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CellResult {
    /// [`Cell::id`], what `--resume` matches by.
    pub id: String,
    pub cell: Cell,
    pub outcome: Outcome,
    /// Every measured repetition, raw; a failed cell keeps those it finished.
    pub repetitions: Vec<Repetition>,
    /// Medians over the repetitions; `None` for a failed cell.
    pub summary: Option<CellSummary>,
    pub flags: Vec<Flag>,
    pub lifecycle: Lifecycle,
    /// The exact binary and image the cell measured; empty in results older than the field.
    #[serde(default)]
    pub artifact: Artifact,
}

/// What a cell measured, exactly: the service binary and, under Docker, the image it ran in.
/// Two cells with the same artifact ran the same program, whatever else their runs built.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Artifact {
    /// Hex SHA-256 of the service binary.
    pub binary_sha256: Option<String>,
    /// The engine's image id (`sha256:…`); `None` on the process backend.
    pub image_id: Option<String>,
}

impl CellResult {
    /// A cell whose repetitions all ran: summarises them and sets its flags. A cell without
    /// repetitions becomes a failure of [`Stage::Load`].
    pub fn measured(cell: Cell, repetitions: Vec<Repetition>, lifecycle: Lifecycle) -> CellResult {
        if repetitions.is_empty() {
            return CellResult::failed(
                cell,
                Stage::Load,
                "no repetition was measured".to_owned(),
                repetitions,
                lifecycle,
            );
        }
        let summary = CellSummary::of(&cell, &repetitions);
        let flags = summary
            .as_ref()
            .map(|s| flags(&cell, s, &repetitions))
            .unwrap_or_default();
        CellResult {
            id: cell.id(),
            cell,
            outcome: Outcome::Measured,
            repetitions,
            summary,
            flags,
            lifecycle,
            artifact: Artifact::default(),
        }
    }

    /// A cell that failed at `stage` for `reason`, with the repetitions it finished. It has
    /// no summary: an incomplete cell is no measurement, and its repetitions stay raw.
    pub fn failed(
        cell: Cell,
        stage: Stage,
        reason: String,
        repetitions: Vec<Repetition>,
        lifecycle: Lifecycle,
    ) -> CellResult {
        CellResult {
            id: cell.id(),
            summary: None,
            cell,
            outcome: Outcome::Failed { stage, reason },
            repetitions,
            flags: vec![Flag::Failed],
            lifecycle,
            artifact: Artifact::default(),
        }
    }

    pub fn is_failed(&self) -> bool {
        matches!(self.outcome, Outcome::Failed { .. })
    }

    /// The flag of that kind, if set.
    pub fn flag(&self, kind: FlagKind) -> Option<&Flag> {
        self.flags.iter().find(|f| f.kind() == kind)
    }
}

/// One measured repetition: the load and what it cost both sides.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Repetition {
    pub load: LoadReport,
    pub server: ServerUsage,
    pub generator: GeneratorUsage,
}

/// The server's cost during one repetition.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServerUsage {
    /// CPU used over the wall time, in percent of one core (50 = half a core).
    pub cpu_percent: Percent,
    /// CPU time per 2xx response; `None` without any.
    pub cpu_us_per_ok_request: Option<Micros>,
    /// Memory without page cache, the mean of the samples taken.
    pub mem_mean_bytes: Bytes,
    /// Memory without page cache, the largest sample.
    pub mem_peak_bytes: Bytes,
}

impl ServerUsage {
    /// From raw readings: `cpu_time` the server used (the cgroup's `cpuacct.usage` delta)
    /// over `wall`, `ok_requests` 2xx responses in that time, and memory `samples` without
    /// page cache (none gives 0).
    pub fn from_readings(
        cpu_time: Duration,
        wall: Duration,
        ok_requests: u64,
        samples: &[Bytes],
    ) -> ServerUsage {
        let mem_mean_bytes = if samples.is_empty() {
            0
        } else {
            (samples.iter().map(|&b| b as u128).sum::<u128>() / samples.len() as u128) as Bytes
        };
        ServerUsage {
            cpu_percent: percent_of_wall(cpu_time, wall),
            cpu_us_per_ok_request: (ok_requests > 0)
                .then(|| cpu_time.as_secs_f64() * 1e6 / ok_requests as f64),
            mem_mean_bytes,
            mem_peak_bytes: samples.iter().copied().max().unwrap_or(0),
        }
    }
}

/// The load generator's cost during one repetition.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GeneratorUsage {
    /// CPU used over the wall time, in percent of one core.
    pub cpu_percent: Percent,
    /// The most it can use: 100 per CPU it is pinned to.
    pub cpu_limit_percent: Percent,
}

impl GeneratorUsage {
    /// From the generator's `cpu_time` (its child process's rusage) over `wall`, pinned to
    /// `cpus` CPUs.
    pub fn from_readings(cpu_time: Duration, wall: Duration, cpus: usize) -> GeneratorUsage {
        GeneratorUsage {
            cpu_percent: percent_of_wall(cpu_time, wall),
            cpu_limit_percent: cpus as f64 * 100.0,
        }
    }
}

fn percent_of_wall(cpu_time: Duration, wall: Duration) -> Percent {
    if wall.is_zero() {
        0.0
    } else {
        cpu_time.as_secs_f64() / wall.as_secs_f64() * 100.0
    }
}

/// A cell over its repetitions: medians, ranges and CVs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CellSummary {
    /// 2xx responses per second: the throughput.
    pub rate_2xx: Spread,
    /// The median 2xx rate over the quota's vCPUs.
    pub rate_per_vcpu: RequestsPerSec,
    /// Repetitions (0-based) whose 2xx rate is a MAD outlier: reported, never dropped.
    pub rate_outliers: Vec<usize>,
    /// `None` when a repetition has no 2xx response (so no latency).
    pub latency_p50_us: Option<Spread>,
    pub latency_p99_us: Option<Spread>,
    pub success_ratio: Spread,
    pub server_cpu_percent: Spread,
    /// `None` when a repetition has no 2xx response.
    pub cpu_us_per_request: Option<Spread>,
    pub mem_mean_bytes: Spread,
    pub mem_peak_bytes: Spread,
    pub generator_cpu_percent: Spread,
}

impl CellSummary {
    /// The summary of `repetitions`, `None` for none (or non-finite readings).
    pub fn of(cell: &Cell, repetitions: &[Repetition]) -> Option<CellSummary> {
        let rates = Sample::new(repetitions.iter().map(|r| r.load.rate_2xx).collect()).ok()?;
        let all = |f: fn(&Repetition) -> Option<f64>| -> Option<Spread> {
            let values: Option<Vec<f64>> = repetitions.iter().map(f).collect();
            Spread::of(values?)
        };
        let each = |f: fn(&Repetition) -> f64| Spread::of(repetitions.iter().map(f));
        Some(CellSummary {
            rate_2xx: rates.spread(),
            rate_per_vcpu: rates.median() / cell.cpu.vcpus,
            rate_outliers: rates.outliers(),
            latency_p50_us: all(|r| r.load.latency.p50),
            latency_p99_us: all(|r| r.load.latency.p99),
            success_ratio: each(|r| r.load.success_ratio)?,
            server_cpu_percent: each(|r| r.server.cpu_percent)?,
            cpu_us_per_request: all(|r| r.server.cpu_us_per_ok_request),
            mem_mean_bytes: each(|r| r.server.mem_mean_bytes as f64)?,
            mem_peak_bytes: each(|r| r.server.mem_peak_bytes as f64)?,
            generator_cpu_percent: each(|r| r.generator.cpu_percent)?,
        })
    }
}

/// Something every output says about a cell.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "flag", rename_all = "kebab-case")]
pub enum Flag {
    /// The load generator ran out of CPU while the server had some left: the throughput is
    /// the generator's, a floor for the server's. CPU µs per request stays comparable.
    GeneratorBound {
        generator_cpu_percent: Percent,
        generator_limit_percent: Percent,
        server_cpu_percent: Percent,
        server_quota_percent: Percent,
    },
    /// The 2xx rate varied more than [`NOISY_CV`] over the repetitions.
    Noisy {
        /// As a fraction.
        cv: f64,
        /// Repetitions whose rate is a MAD outlier.
        outliers: Vec<usize>,
    },
    /// Fewer than [`SUCCESS_RATIO_FLOOR`] of the requests that ended got a 2xx.
    Unsuccessful { success_ratio: f64 },
    /// The cell failed; [`CellResult::outcome`] says where and why.
    Failed,
    /// A `/sleep/<ms>` cell's harness error: its median rate against C·1000/ms.
    Calibration {
        expected_rate: RequestsPerSec,
        measured_rate: RequestsPerSec,
        /// (measured − expected) / expected, in percent.
        deviation_percent: Percent,
        /// Whether |deviation| ≤ [`CALIBRATION_TOLERANCE_PERCENT`].
        within_tolerance: bool,
    },
}

/// A [`Flag`]'s kind, without its data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FlagKind {
    GeneratorBound,
    Noisy,
    Unsuccessful,
    Failed,
    Calibration,
}

impl Flag {
    pub fn kind(&self) -> FlagKind {
        match self {
            Flag::GeneratorBound { .. } => FlagKind::GeneratorBound,
            Flag::Noisy { .. } => FlagKind::Noisy,
            Flag::Unsuccessful { .. } => FlagKind::Unsuccessful,
            Flag::Failed => FlagKind::Failed,
            Flag::Calibration { .. } => FlagKind::Calibration,
        }
    }

    /// The flag's name in CSV and JSON: `generator-bound`, `noisy`, ….
    pub fn name(&self) -> &'static str {
        match self.kind() {
            FlagKind::GeneratorBound => "generator-bound",
            FlagKind::Noisy => "noisy",
            FlagKind::Unsuccessful => "unsuccessful",
            FlagKind::Failed => "failed",
            FlagKind::Calibration => "calibration",
        }
    }
}

/// Whether a load generator at `generator_cpu_percent` of `generator_limit_percent` bound a
/// server at `server_cpu_percent` under `quota`: the generator at [`GENERATOR_SATURATED`] of
/// its limit or more while the server stays below [`SERVER_HEADROOM`] of its quota.
pub fn is_generator_bound(
    generator_cpu_percent: Percent,
    generator_limit_percent: Percent,
    server_cpu_percent: Percent,
    quota: &CpuQuota,
) -> bool {
    generator_cpu_percent >= GENERATOR_SATURATED * generator_limit_percent
        && server_cpu_percent < SERVER_HEADROOM * quota.percent()
}

/// Whether a rate spread is noisy: its CV above [`NOISY_CV`].
pub fn is_noisy(rate: &Spread) -> bool {
    rate.cv.is_some_and(|cv| cv > NOISY_CV)
}

/// The calibration of a `/sleep/<ms>` cell measured at `measured_rate`; `None` for other
/// endpoints.
pub fn calibration(cell: &Cell, measured_rate: RequestsPerSec) -> Option<Flag> {
    let expected_rate = cell.expected_rate()?;
    let deviation_percent = (measured_rate - expected_rate) / expected_rate * 100.0;
    Some(Flag::Calibration {
        expected_rate,
        measured_rate,
        deviation_percent,
        within_tolerance: deviation_percent.abs() <= CALIBRATION_TOLERANCE_PERCENT,
    })
}

/// The flags of a measured cell, judged on medians over its repetitions.
fn flags(cell: &Cell, summary: &CellSummary, repetitions: &[Repetition]) -> Vec<Flag> {
    let mut flags = Vec::new();
    let generator_limit_percent =
        Spread::of(repetitions.iter().map(|r| r.generator.cpu_limit_percent))
            .map_or(0.0, |s| s.median);
    if is_generator_bound(
        summary.generator_cpu_percent.median,
        generator_limit_percent,
        summary.server_cpu_percent.median,
        &cell.cpu,
    ) {
        flags.push(Flag::GeneratorBound {
            generator_cpu_percent: summary.generator_cpu_percent.median,
            generator_limit_percent,
            server_cpu_percent: summary.server_cpu_percent.median,
            server_quota_percent: cell.cpu.percent(),
        });
    }
    if is_noisy(&summary.rate_2xx) {
        flags.push(Flag::Noisy {
            cv: summary.rate_2xx.cv.unwrap_or_default(),
            outliers: summary.rate_outliers.clone(),
        });
    }
    if summary.success_ratio.median < SUCCESS_RATIO_FLOOR {
        flags.push(Flag::Unsuccessful {
            success_ratio: summary.success_ratio.median,
        });
    }
    flags.extend(calibration(cell, summary.rate_2xx.median));
    flags
}

/// Cold starts of one image (or bare binary): from start to the first 200 on `/hello`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StartupResult {
    pub framework: Framework,
    /// The image's base, or the bare binary.
    pub base: Packaging,
    /// Every successful cold start, in order.
    pub runs_ms: Vec<Millis>,
    /// Why the other cold starts failed.
    pub failures: Vec<String>,
    /// Over `runs_ms`; `None` when every run failed.
    pub summary: Option<Spread>,
}

impl StartupResult {
    pub fn new(
        framework: Framework,
        base: Packaging,
        runs_ms: Vec<Millis>,
        failures: Vec<String>,
    ) -> StartupResult {
        StartupResult {
            summary: Spread::of(runs_ms.iter().copied()),
            framework,
            base,
            runs_ms,
            failures,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Base;
    use crate::oha::{Latency, LatencyScope};
    use crate::plan::Endpoint;

    pub(crate) fn repetition(rate: f64, server_cpu: f64, generator_cpu: f64) -> Repetition {
        let ok = (rate * 10.0) as u64;
        Repetition {
            load: LoadReport {
                total: ok,
                ok_2xx: ok,
                aborted_at_deadline: 0,
                measured_secs: 10.0,
                rate_2xx: rate,
                success_ratio: 1.0,
                latency: Latency {
                    scope: LatencyScope::Successful,
                    mean: Some(200.0),
                    p50: Some(180.0),
                    p90: Some(300.0),
                    p99: Some(900.0),
                    p99_9: Some(2000.0),
                    max: Some(5000.0),
                },
                status_codes: BTreeMap::from([(200, ok)]),
                errors: BTreeMap::new(),
            },
            server: ServerUsage::from_readings(
                Duration::from_secs_f64(server_cpu / 100.0 * 10.0),
                Duration::from_secs(10),
                ok,
                &[3 << 20, 4 << 20],
            ),
            generator: GeneratorUsage::from_readings(
                Duration::from_secs_f64(generator_cpu / 100.0 * 10.0),
                Duration::from_secs(10),
                1,
            ),
        }
    }

    fn cell(vcpus: f64, endpoint: Endpoint, connections: u32) -> Cell {
        Cell {
            framework: Framework::Axum,
            base: Packaging::Image(Base::Scratch),
            cpu: CpuQuota::fargate(vcpus),
            endpoint,
            connections,
        }
    }

    #[test]
    fn the_first_committed_run_reads_with_typed_names() {
        let json = include_str!("../../results/20261123T143648Z-vm/results.json");
        let results = RunResults::from_json(json).expect("the committed results.json reads");
        assert_eq!(
            results.matrix.frameworks,
            [
                Framework::Axum,
                Framework::ActixWeb,
                Framework::Rocket,
                Framework::Hyper
            ]
        );
        assert_eq!(results.cells.len(), 16);
        assert!(
            results
                .cells
                .iter()
                .all(|cell| cell.cell.base == Packaging::Image(Base::Scratch)
                    && cell.artifact == Artifact::default())
        );
        assert!(
            results
                .startup
                .iter()
                .any(|startup| startup.base == Packaging::Process)
        );
        assert_eq!(results.provenance.images[0].framework, Framework::Axum);
    }

    #[test]
    fn usage_from_readings() {
        let server = ServerUsage::from_readings(
            Duration::from_millis(500),
            Duration::from_secs(1),
            50_000,
            &[10, 20, 60],
        );
        assert_eq!(server.cpu_percent, 50.0);
        assert_eq!(server.cpu_us_per_ok_request, Some(10.0));
        assert_eq!((server.mem_mean_bytes, server.mem_peak_bytes), (30, 60));
        let idle = ServerUsage::from_readings(Duration::ZERO, Duration::ZERO, 0, &[]);
        assert_eq!(idle.cpu_us_per_ok_request, None);
        assert_eq!(idle.cpu_percent, 0.0);
        let generator =
            GeneratorUsage::from_readings(Duration::from_secs(3), Duration::from_secs(4), 1);
        assert_eq!(
            (generator.cpu_percent, generator.cpu_limit_percent),
            (75.0, 100.0)
        );
    }

    #[test]
    fn generator_bound_needs_a_saturated_generator_and_an_idle_server() {
        let one = CpuQuota::fargate(1.0);
        assert!(is_generator_bound(95.0, 100.0, 70.0, &one));
        assert!(is_generator_bound(90.0, 100.0, 89.9, &one));
        assert!(
            !is_generator_bound(89.9, 100.0, 70.0, &one),
            "generator has headroom"
        );
        assert!(
            !is_generator_bound(99.0, 100.0, 90.0, &one),
            "server saturated too"
        );
        let half = CpuQuota::fargate(0.5);
        assert!(
            !is_generator_bound(99.0, 100.0, 48.0, &half),
            "server at its 0.5 quota"
        );
        assert!(is_generator_bound(190.0, 200.0, 40.0, &half));
    }

    #[test]
    fn measured_cells_get_their_flags() {
        // 1 vCPU, oha at 97 % of its core, server at 75 %: generator-bound.
        let bound = CellResult::measured(
            cell(1.0, Endpoint::Hello, 64),
            vec![
                repetition(75_000.0, 75.0, 97.0),
                repetition(76_000.0, 76.0, 98.0),
                repetition(74_000.0, 74.0, 96.0),
            ],
            Lifecycle::default(),
        );
        assert_eq!(bound.outcome, Outcome::Measured);
        assert_eq!(bound.flags.len(), 1, "{:?}", bound.flags);
        assert!(bound.flag(FlagKind::GeneratorBound).is_some());
        let summary = bound.summary.as_ref().unwrap();
        assert_eq!(summary.rate_2xx.median, 75_000.0);
        assert_eq!(summary.rate_per_vcpu, 75_000.0);
        assert!((summary.cpu_us_per_request.unwrap().median - 10.0).abs() < 1e-6);
        assert_eq!(summary.mem_peak_bytes.median, (4 << 20) as f64);

        // CV above 5 %: noisy, with the outlier named.
        let noisy = CellResult::measured(
            cell(0.5, Endpoint::Hello, 64),
            vec![
                repetition(40_000.0, 49.0, 50.0),
                repetition(41_000.0, 49.0, 50.0),
                repetition(30_000.0, 49.0, 50.0),
            ],
            Lifecycle::default(),
        );
        assert_eq!(
            noisy.flag(FlagKind::Noisy),
            Some(&Flag::Noisy {
                cv: noisy.summary.as_ref().unwrap().rate_2xx.cv.unwrap(),
                outliers: vec![2]
            })
        );

        // /sleep/100 at 20 connections: expected 200 req/s, measured 196.
        let sleep = CellResult::measured(
            cell(1.0, Endpoint::Sleep { ms: 100 }, 20),
            vec![repetition(196.0, 2.0, 1.0)],
            Lifecycle::default(),
        );
        let Some(Flag::Calibration {
            expected_rate,
            deviation_percent,
            within_tolerance,
            ..
        }) = sleep.flag(FlagKind::Calibration).cloned()
        else {
            panic!("{:?}", sleep.flags)
        };
        assert_eq!(expected_rate, 200.0);
        assert!((deviation_percent + 2.0).abs() < 1e-9);
        assert!(within_tolerance);
        assert!(
            sleep.flag(FlagKind::Noisy).is_none(),
            "one repetition has no CV"
        );
    }

    #[test]
    fn failures_are_data() {
        let empty =
            CellResult::measured(cell(1.0, Endpoint::Hello, 1), vec![], Lifecycle::default());
        assert_eq!(
            empty.outcome,
            Outcome::Failed {
                stage: Stage::Load,
                reason: "no repetition was measured".to_owned()
            }
        );
        assert_eq!(empty.flags, [Flag::Failed]);
        assert!(empty.summary.is_none());

        let oom = CellResult::failed(
            cell(0.25, Endpoint::Hello, 256),
            Stage::Load,
            "OOM-killed at the 512 MiB limit".to_owned(),
            vec![repetition(20_000.0, 25.0, 30.0)],
            Lifecycle {
                ready_ms: Some(280.0),
                ..Lifecycle::default()
            },
        );
        assert!(oom.is_failed());
        assert_eq!(oom.repetitions.len(), 1, "finished repetitions are kept");
        assert!(oom.summary.is_none(), "but not summarised");
    }

    #[test]
    fn resume_reads_results_back_and_finds_what_is_left() {
        let matrix = Matrix::quick();
        let cells = matrix.cells();
        let mut results = RunResults::new(Provenance::default(), matrix);
        results.record(CellResult::measured(
            cells[1].clone(),
            vec![repetition(160.0, 5.0, 3.0)],
            Lifecycle::default(),
        ));
        results.record(CellResult::failed(
            cells[0].clone(),
            Stage::Ready,
            "timed out".to_owned(),
            vec![],
            Lifecycle::default(),
        ));
        assert_eq!(results.cells[0].id, cells[0].id(), "kept in matrix order");
        results.record_startup(StartupResult::new(
            Framework::Axum,
            Packaging::Image(Base::Scratch),
            vec![280.0, 300.0],
            vec![],
        ));

        let json = serde_json::to_string(&results).unwrap();
        let back = RunResults::from_json(&json).unwrap();
        assert_eq!(back, results);
        assert_eq!(back.pending_cells(false).len(), cells.len() - 2);
        assert_eq!(back.pending_cells(true).len(), cells.len() - 1);
        assert_eq!(back.pending_cells(true)[0].id(), cells[0].id());
        assert!(back.any_failed());
        let (n, least, most) = back.harness_error().unwrap();
        assert_eq!(n, 1);
        assert!(
            least == most && (least - 0.0).abs() < 1e-9,
            "160 req/s as expected"
        );

        // A retried cell replaces its failure.
        results.record(CellResult::measured(
            cells[0].clone(),
            vec![repetition(30_000.0, 90.0, 60.0)],
            Lifecycle::default(),
        ));
        assert_eq!(results.cells.len(), 2);
        assert!(!results.any_failed());

        let old = json.replacen("\"format_version\":1", "\"format_version\":0", 1);
        assert_eq!(
            RunResults::from_json(&old).unwrap_err().to_string(),
            "results.json has format version 0, this runner reads version 1"
        );
    }
}
