//! The output contract of `bench-runner run`: what `results.json` holds (and `--resume`
//! reads back), from which `results.md` and `results.csv` are made. Every raw repetition is
//! kept beside its summary. Fields are added, never renamed; a change that breaks readers
//! bumps [`FORMAT_VERSION`].
//!
//! The rules that judge a cell (generator-bound, noisy, timing check, unsuccessful, p99
//! cliff) are pure functions here, with their thresholds as constants, so every output flags
//! the same cells.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::catalog::{Base, Framework, Generator, Packaging};
use crate::compare::{CrossCheck, GroupComparison};
use crate::fargate::cost::{CellCost, Prices};
use crate::latency::Percentiles;
use crate::oha::LoadReport;
use crate::plan::{Cell, CpuQuota, Matrix};
use crate::stats::{CONFIDENCE, Interval, Sample, Spread};
use crate::units::{Bytes, Micros, Millis, Percent, RequestsPerSec};

/// The version of this format, written in every `results.json`.
///
/// Version 2: repetitions interleaved in rounds, HDR latency, CFS throttling, CPU over oha's
/// load window, anon memory and the cgroup's peak, comparison groups, run sessions. Added
/// within it: a repetition's `server` is absent under the ecs backend (not measured), and
/// so are the summary's server figures (null).
pub const FORMAT_VERSION: u32 = 2;

/// The load generator is saturated when its CPU reaches this share of its limit (90 %).
pub const GENERATOR_SATURATED: f64 = 0.9;

/// …while the server has headroom when its CPU stays below this share of its quota (90 %).
/// Both together flag a cell generator-bound: the server could have gone faster.
pub const SERVER_HEADROOM: f64 = 0.9;

/// A cell is noisy when the coefficient of variation of its 2xx rate over the repetitions is
/// above this (5 %).
pub const NOISY_CV: f64 = 0.05;

/// A `/sleep/<ms>` cell checks the harness's timing; a deviation from C·1000/ms beyond this
/// many percent marks it as failed.
pub const TIMING_CHECK_TOLERANCE_PERCENT: Percent = 5.0;

/// The p99 of a cell sits on the cliff when the share of its requests caught by a CFS
/// throttling stall lies between these fractions (0.3 % and 3 %): a little noise then moves
/// p99 between the latency of a served request and that of a stall.
pub const CLIFF_STALLED_SHARE: (f64, f64) = (0.003, 0.03);

/// A cell is unsuccessful when the median share of 2xx among ended requests falls below this.
pub const SUCCESS_RATIO_FLOOR: f64 = 0.999;

/// How far below its target a fixed-rate cell's 2xx rate may fall before it is flagged, in
/// percent: beyond it the server (or the generator) did not hold the rate, and the latencies
/// are those of a queue, not of the load asked for.
pub const RATE_SHORTFALL_TOLERANCE_PERCENT: Percent = 1.0;

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
    /// One entry per cell with a result, finished or under way, in the order of
    /// [`Matrix::cells`].
    pub cells: Vec<CellResult>,
    /// Each invocation that worked on this run: the first, then every `--resume`.
    pub sessions: Vec<Session>,
    /// Set when the runner fell back to the process backend because no engine answered:
    /// why, in words. Every output says so first.
    pub backend_fallback: Option<String>,
    /// Derived from `cells` whenever one is recorded: each comparison group, its members
    /// relative to the hyper baseline, and the ranking the intervals allow.
    pub comparisons: Vec<GroupComparison>,
    /// Derived like `comparisons`: each cell measured by both generators, side by side.
    #[serde(default)]
    pub cross_checks: Vec<CrossCheck>,
    /// The Fargate price table the outputs price each cell at (the built-in one, or
    /// `--prices`); the costs themselves are derived when exporting. `None` in results older
    /// than the field, which are priced at the built-in table.
    #[serde(default)]
    pub prices: Option<Prices>,
}

/// One invocation of `bench-runner run` on a results directory.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// RFC 3339.
    pub started: String,
    /// RFC 3339; `None` while it runs, or when it was killed.
    pub ended: Option<String>,
    /// Whether this session resumed an earlier one.
    pub resumed: bool,
    /// What differed from the first session and was accepted with `--force`, in words
    /// (`git commit 1a2b… → 3c4d…`); empty without `--force`.
    pub forced_over: Vec<String>,
    /// CPU time stolen by the hypervisor over the session, as a percentage of all CPU time
    /// (`steal` of `/proc/stat`); `None` until the session has read it twice.
    pub steal_percent: Option<Percent>,
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
            sessions: Vec::new(),
            backend_fallback: None,
            comparisons: Vec::new(),
            cross_checks: Vec::new(),
            prices: Some(Prices::committed().clone()),
        }
    }

    /// The price table to price cells at: the recorded one, else the built-in one.
    pub fn prices(&self) -> &Prices {
        self.prices.as_ref().unwrap_or_else(|| Prices::committed())
    }

    /// What `result`'s 2xx cost on Fargate at [`RunResults::prices`]; `None` without a
    /// summary, or as [`CellCost::of`] says.
    pub fn cost(&self, result: &CellResult) -> Option<CellCost> {
        let summary = result.summary.as_ref()?;
        CellCost::of(&result.cell, &summary.rate_estimate, &self.prices().table)
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

    /// Records a cell's result, finished or under way, replacing an earlier result of the
    /// same id (a retried failure, or the same cell one repetition further), keeps cells in
    /// matrix order, cells outside the matrix last, and derives the comparisons again.
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
        self.comparisons = crate::compare::comparisons(&self.cells);
        self.cross_checks = crate::compare::cross_checks(&self.cells);
    }

    /// The recorded result of `cell`, finished or under way.
    pub fn cell(&self, cell: &Cell) -> Option<&CellResult> {
        let id = cell.id();
        self.cells.iter().find(|c| c.id == id)
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

    /// The cells of the matrix still to measure, in order: those without a result or with
    /// an incomplete one, and the failed ones too when `retry_failed`.
    pub fn pending_cells(&self, retry_failed: bool) -> Vec<Cell> {
        let done: BTreeSet<&str> = self
            .cells
            .iter()
            .filter(|c| !(c.is_incomplete() || retry_failed && c.is_failed()))
            .map(|c| c.id.as_str())
            .collect();
        self.matrix
            .cells()
            .into_iter()
            .filter(|cell| !done.contains(cell.id().as_str()))
            .collect()
    }

    /// The timing check of the run: how many `/sleep/<ms>` cells made it, and the least and
    /// most deviation among them, in percent. `None` without such cells. It checks oha's
    /// timer and the rate arithmetic at a few hundred requests per second, where the
    /// generator is idle; it says nothing of its accuracy at 100k req/s.
    pub fn timing_check(&self) -> Option<(usize, Percent, Percent)> {
        let deviations: Vec<Percent> = self
            .cells
            .iter()
            .flat_map(|c| &c.flags)
            .filter_map(|flag| match flag {
                Flag::TimingCheck {
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
    /// `v1` or `v2`, and what mounts `/sys/fs/cgroup`.
    pub cgroup: String,
    /// The SMT siblings of the server's and the generator's CPUs
    /// (`topology/thread_siblings_list`), and whether the two sets share a core.
    pub cpu_topology: String,
    /// The CPU frequency governor, or why there is none (`no cpufreq`: a VM, usually).
    pub cpu_governor: String,
    /// The images measured; empty under the process backend.
    pub images: Vec<ImageInfo>,
    /// The Docker engine that ran the services and how it was reached; `None` under the
    /// process backend and in results older than the field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<EngineProvenance>,
    /// Where the load went: the address the services bound and the generator loaded
    /// (`--target-host`, a name resolved once); `None` in results older than the field,
    /// which all loaded 127.0.0.1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_host: Option<String>,
    /// Where the ecs backend ran the services: the cluster, its network and the registry;
    /// `None` under the other backends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecs: Option<EcsProvenance>,
}

/// The ECS cluster and network a run of the ecs backend started its Fargate tasks in, and
/// where their images came from.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EcsProvenance {
    /// The AWS region of the cluster and the registry: `us-east-1`.
    pub region: String,
    /// The ECS cluster the tasks ran in, as given (name or ARN).
    pub cluster: String,
    /// `AWS_ENDPOINT_URL` when it was set: an emulator (moto) answered the AWS calls, so the
    /// tasks were the emulator's stand-ins and nothing ran on Fargate. `None`: AWS itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// The subnets of the tasks' network interfaces (`subnet-…`).
    pub subnets: Vec<String>,
    /// The security groups of the tasks' network interfaces (`sg-…`).
    pub security_groups: Vec<String>,
    /// The registry the images came from: `123456789012.dkr.ecr.us-east-1.amazonaws.com`.
    pub registry: String,
    /// How the load reached the tasks: `each task's private IPv4 address`, or
    /// `<ip> (--target-host)`.
    pub target: String,
}

/// The Docker engine of a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineProvenance {
    /// `unix:///var/run/docker.sock`, `tcp://10.0.0.5:2376`.
    pub address: String,
    /// Whether it was reached over TLS with client certificates (`DOCKER_TLS_VERIFY`).
    pub tls: bool,
    /// An engine on another machine: that machine, as its `docker info` describes it. The
    /// machine fields of the provenance are then the load generator's. `None` for an engine
    /// on the generator's machine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_machine: Option<String>,
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
    /// Some of its repetitions ran: its group's rounds are under way, or were interrupted
    /// (`--resume` measures the rest).
    Incomplete,
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
    /// Whether SIGKILL was sent because the service outlived the stop timeout.
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
    /// The exact binary and image the cell measured.
    pub artifact: Artifact,
    /// When its first repetition started, RFC 3339.
    pub started: Option<String>,
}

/// What a cell measured, exactly: the service binary and, under Docker or ECS, the image it
/// ran in. Two cells with the same artifact ran the same program, whatever else their runs
/// built.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Artifact {
    /// Hex SHA-256 of the service binary; `None` under the ecs backend, where the runner
    /// has only the image in the registry.
    pub binary_sha256: Option<String>,
    /// The engine's image id (`sha256:…`); under the ecs backend the registry's manifest
    /// digest (`sha256:…`), by which the task definition names the image; `None` on the
    /// process backend.
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
            started: repetitions.first().map(|r| r.started.clone()),
            repetitions,
            summary,
            flags,
            lifecycle,
            artifact: Artifact::default(),
        }
    }

    /// A cell whose rounds are under way: its repetitions so far, no summary and no flags.
    pub fn incomplete(
        cell: Cell,
        repetitions: Vec<Repetition>,
        lifecycle: Lifecycle,
    ) -> CellResult {
        CellResult {
            id: cell.id(),
            cell,
            outcome: Outcome::Incomplete,
            started: repetitions.first().map(|r| r.started.clone()),
            repetitions,
            summary: None,
            flags: Vec::new(),
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
            started: repetitions.first().map(|r| r.started.clone()),
            repetitions,
            flags: vec![Flag::Failed],
            lifecycle,
            artifact: Artifact::default(),
        }
    }

    pub fn is_failed(&self) -> bool {
        matches!(self.outcome, Outcome::Failed { .. })
    }

    pub fn is_incomplete(&self) -> bool {
        matches!(self.outcome, Outcome::Incomplete)
    }

    /// The flag of that kind, if set.
    pub fn flag(&self, kind: FlagKind) -> Option<&Flag> {
        self.flags.iter().find(|f| f.kind() == kind)
    }
}

/// One measured repetition: the load, its latency distribution, and what it cost both sides.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Repetition {
    /// The round of its comparison group it ran in (0-based): repetitions of the same round
    /// of two cells ran minutes apart at most, and are compared pairwise.
    pub round: u32,
    /// When the generator started, RFC 3339.
    pub started: String,
    /// A fixed-rate cell's target in req/s, resolved when its group started (a share of the
    /// closed-loop maximum becomes req/s then); `None` for a closed loop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_rate: Option<RequestsPerSec>,
    /// For a fixed-rate cell `rate_2xx` is over the scheduled window (the duration), in
    /// which oha sent every request; for a closed loop over the generator's own window.
    pub load: LoadReport,
    /// Every 2xx response's latency, as [`crate::latency::encode`] writes it; `None` when
    /// oha's per-request records were not available.
    pub latency_histogram: Option<String>,
    /// Second by second: 2xx responses, other statuses, p50 and p99 (from the same
    /// records); empty when they were not available, and in results older than the field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub timeline: Vec<crate::latency::Second>,
    /// What the server used; `None` (absent from the JSON) when it was not measured: under
    /// the ecs backend, whose Fargate tasks give the runner no cgroup to read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<ServerUsage>,
    pub generator: GeneratorUsage,
}

impl Repetition {
    /// The p99 of this repetition: from its histogram, else oha's own.
    pub fn p99_us(&self) -> Option<Micros> {
        self.latency_histogram
            .as_deref()
            .and_then(|text| crate::latency::decode(text).ok())
            .and_then(|h| crate::latency::Percentiles::of(&h))
            .map(|p| p.p99_us)
            .or(self.load.latency.p99)
    }
}

/// CFS bandwidth control of the server's cgroup over one repetition (`cpu.stat`, v1 and v2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Throttling {
    /// Enforcement periods (100 ms each by default) that elapsed while the server ran.
    pub periods: u64,
    /// Those in which the server used up its quota and was stalled until the next period.
    pub throttled_periods: u64,
    /// The time its threads spent stalled, summed, in microseconds.
    pub throttled_us: u64,
}

impl Throttling {
    /// The share of periods that ended in a stall, as a fraction; `None` without periods.
    pub fn throttled_share(&self) -> Option<f64> {
        (self.periods > 0).then(|| self.throttled_periods as f64 / self.periods as f64)
    }
}

/// The server's cost during one repetition, over oha's load window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServerUsage {
    /// CPU used over oha's load window, in percent of one core (50 = half a core).
    pub cpu_percent: Percent,
    /// CPU time per 2xx response; `None` without any.
    pub cpu_us_per_ok_request: Option<Micros>,
    /// Anonymous memory (heap, stacks: the working set without any page cache), the mean of
    /// the samples taken under load: `anon` of the cgroup's `memory.stat` (v1 `total_rss`),
    /// or `Anonymous` of the process's `smaps_rollup`.
    pub anon_mean_bytes: Bytes,
    /// The largest of those samples.
    pub anon_max_bytes: Bytes,
    /// The high-water mark the kernel kept over the repetition: the container cgroup's peak
    /// charge, page cache included (v1 `memory.max_usage_in_bytes`, reset before each
    /// repetition; v2 `memory.peak`, since the start), or a process's `VmHWM`.
    pub peak_bytes: Option<Bytes>,
    /// `None` for a process, which has no quota.
    pub throttling: Option<Throttling>,
}

impl ServerUsage {
    /// From raw readings: `cpu_time` the server used in oha's load window of length
    /// `window`, `ok_requests` 2xx responses in it, anonymous memory `samples` taken under load
    /// (none gives 0), the kernel's `peak` and the `throttling` counters' deltas.
    pub fn from_readings(
        cpu_time: Duration,
        window: Duration,
        ok_requests: u64,
        samples: &[Bytes],
        peak: Option<Bytes>,
        throttling: Option<Throttling>,
    ) -> ServerUsage {
        let anon_mean_bytes = if samples.is_empty() {
            0
        } else {
            (samples.iter().map(|&b| b as u128).sum::<u128>() / samples.len() as u128) as Bytes
        };
        ServerUsage {
            cpu_percent: percent_of_wall(cpu_time, window),
            cpu_us_per_ok_request: (ok_requests > 0)
                .then(|| cpu_time.as_secs_f64() * 1e6 / ok_requests as f64),
            anon_mean_bytes,
            anon_max_bytes: samples.iter().copied().max().unwrap_or(0),
            peak_bytes: peak,
            throttling,
        }
    }
}

/// The load generator's cost during one repetition, over its load window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GeneratorUsage {
    /// CPU used over oha's load window, in percent of one core.
    pub cpu_percent: Percent,
    /// The most it can use: 100 per worker thread oha ran, at most 100 per CPU it is pinned
    /// to.
    pub cpu_limit_percent: Percent,
    /// oha's worker threads.
    pub threads: u32,
}

impl GeneratorUsage {
    /// From the generator's `cpu_time` (its own rusage) over its load `window`, with
    /// `threads` worker threads pinned to `cpus` CPUs.
    pub fn from_readings(
        cpu_time: Duration,
        window: Duration,
        threads: u32,
        cpus: usize,
    ) -> GeneratorUsage {
        GeneratorUsage {
            cpu_percent: percent_of_wall(cpu_time, window),
            cpu_limit_percent: (threads as usize).min(cpus).max(1) as f64 * 100.0,
            threads,
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

/// A median with its confidence interval: what every throughput in a table is.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    pub median: f64,
    /// `None` with too few repetitions for [`crate::stats::CONFIDENCE`].
    pub interval: Option<Interval>,
}

impl Estimate {
    pub fn of(sample: &Sample) -> Estimate {
        Estimate {
            median: sample.median(),
            interval: sample.median_interval(CONFIDENCE),
        }
    }
}

/// A cell over its repetitions: medians with intervals, ranges and CVs, and the latency of
/// every request of every repetition.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CellSummary {
    /// 2xx responses per second: the throughput.
    pub rate_2xx: Spread,
    /// The median 2xx rate with its confidence interval.
    pub rate_estimate: Estimate,
    /// The median 2xx rate over the quota's vCPUs; `None` for a process, which has no quota.
    pub rate_per_vcpu: Option<RequestsPerSec>,
    /// Repetitions (0-based) whose 2xx rate is a MAD outlier (five repetitions or more):
    /// reported, never dropped.
    pub rate_outliers: Vec<usize>,
    /// From the histogram of every 2xx response of every repetition; `None` without
    /// histograms.
    pub latency: Option<Percentiles>,
    /// p99 per repetition: how far one repetition's p99 can be trusted.
    pub latency_p99_us: Option<Spread>,
    pub success_ratio: Spread,
    /// `None` when a repetition's server usage was not measured (the ecs backend), like
    /// every server figure below.
    pub server_cpu_percent: Option<Spread>,
    /// `None` also when a repetition has no 2xx response.
    pub cpu_us_per_request: Option<Spread>,
    pub anon_mean_bytes: Option<Spread>,
    /// The largest high-water mark of any repetition.
    pub peak_bytes: Option<Bytes>,
    /// The share of CFS periods that ended throttled, as a fraction, per repetition; `None`
    /// also without a quota (a process).
    pub throttled_share: Option<Spread>,
    /// The share of requests caught by a throttling stall, C × throttled periods ÷ 2xx
    /// responses, the median over the repetitions, as a fraction.
    pub stalled_share: Option<f64>,
    pub generator_cpu_percent: Spread,
}

impl CellSummary {
    /// The summary of `repetitions`, `None` for none (or non-finite readings).
    pub fn of(cell: &Cell, repetitions: &[Repetition]) -> Option<CellSummary> {
        let rates = Sample::new(repetitions.iter().map(|r| r.load.rate_2xx).collect()).ok()?;
        let all = |f: &dyn Fn(&Repetition) -> Option<f64>| -> Option<Spread> {
            let values: Option<Vec<f64>> = repetitions.iter().map(f).collect();
            Spread::of(values?)
        };
        let each = |f: fn(&Repetition) -> f64| Spread::of(repetitions.iter().map(f));
        let histograms: Option<Vec<&str>> = repetitions
            .iter()
            .map(|r| r.latency_histogram.as_deref())
            .collect();
        let latency = histograms
            .and_then(|texts| crate::latency::merge(texts).ok().flatten())
            .and_then(|merged| Percentiles::of(&merged));
        // Every repetition's server usage, or `None` when any was not measured.
        let server: Option<Vec<&ServerUsage>> =
            repetitions.iter().map(|r| r.server.as_ref()).collect();
        let server_spread = |f: fn(&ServerUsage) -> f64| match &server {
            Some(usages) => Spread::of(usages.iter().map(|&u| f(u))).map(Some),
            None => Some(None),
        };
        let stalled = |r: &Repetition| {
            let throttling = r.server.as_ref()?.throttling?;
            (r.load.ok_2xx > 0).then(|| {
                f64::from(cell.connections) * throttling.throttled_periods as f64
                    / r.load.ok_2xx as f64
            })
        };
        Some(CellSummary {
            rate_2xx: rates.spread(),
            rate_estimate: Estimate::of(&rates),
            rate_per_vcpu: cell.cpu_quota().map(|quota| rates.median() / quota.vcpus),
            rate_outliers: rates.outliers(),
            latency,
            latency_p99_us: all(&Repetition::p99_us),
            success_ratio: each(|r| r.load.success_ratio)?,
            server_cpu_percent: server_spread(|u| u.cpu_percent)?,
            cpu_us_per_request: all(&|r| r.server.as_ref()?.cpu_us_per_ok_request),
            anon_mean_bytes: server_spread(|u| u.anon_mean_bytes as f64)?,
            peak_bytes: server
                .as_ref()
                .and_then(|usages| usages.iter().filter_map(|u| u.peak_bytes).max()),
            throttled_share: all(&|r| r.server.as_ref()?.throttling?.throttled_share()),
            stalled_share: all(&stalled).map(|s| s.median),
            generator_cpu_percent: each(|r| r.generator.cpu_percent)?,
        })
    }
}

/// Something every output says about a cell.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "flag", rename_all = "kebab-case")]
pub enum Flag {
    /// The load generator ran out of CPU while the server had some left: the throughput is
    /// the generator's, a floor for the server's. CPU µs per request stays comparable. When
    /// the server's CPU was not measured (the ecs backend), the generator's saturation alone.
    GeneratorBound {
        generator_cpu_percent: Percent,
        generator_limit_percent: Percent,
        /// `None` (null): the server's CPU was not measured, and the flag rests on the
        /// generator's CPU alone.
        #[serde(default)]
        server_cpu_percent: Option<Percent>,
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
    /// A `/sleep/<ms>` cell's timing check: its median rate against C·1000/ms.
    TimingCheck {
        expected_rate: RequestsPerSec,
        measured_rate: RequestsPerSec,
        /// (measured − expected) / expected, in percent.
        deviation_percent: Percent,
        /// Whether |deviation| ≤ [`TIMING_CHECK_TOLERANCE_PERCENT`].
        within_tolerance: bool,
    },
    /// A fixed-rate cell's median 2xx rate fell more than
    /// [`RATE_SHORTFALL_TOLERANCE_PERCENT`] below its target.
    RateShortfall {
        target_rate: RequestsPerSec,
        achieved_rate: RequestsPerSec,
        /// (target − achieved) / target, in percent.
        shortfall_percent: Percent,
    },
    /// Between [`CLIFF_STALLED_SHARE`] of the requests were caught by a throttling stall, so
    /// the p99 is either a served request's latency or a stall's, by chance.
    P99Cliff {
        /// The share of requests caught by a stall, as a fraction.
        stalled_share: f64,
        /// The share of CFS periods that ended throttled, as a fraction.
        throttled_share: f64,
    },
}

/// A [`Flag`]'s kind, without its data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FlagKind {
    GeneratorBound,
    Noisy,
    Unsuccessful,
    Failed,
    TimingCheck,
    RateShortfall,
    P99Cliff,
}

impl Flag {
    pub fn kind(&self) -> FlagKind {
        match self {
            Flag::GeneratorBound { .. } => FlagKind::GeneratorBound,
            Flag::Noisy { .. } => FlagKind::Noisy,
            Flag::Unsuccessful { .. } => FlagKind::Unsuccessful,
            Flag::Failed => FlagKind::Failed,
            Flag::TimingCheck { .. } => FlagKind::TimingCheck,
            Flag::RateShortfall { .. } => FlagKind::RateShortfall,
            Flag::P99Cliff { .. } => FlagKind::P99Cliff,
        }
    }

    /// The flag's name in CSV and JSON: `generator-bound`, `noisy`, ….
    pub fn name(&self) -> &'static str {
        match self.kind() {
            FlagKind::GeneratorBound => "generator-bound",
            FlagKind::Noisy => "noisy",
            FlagKind::Unsuccessful => "unsuccessful",
            FlagKind::Failed => "failed",
            FlagKind::TimingCheck => "timing-check",
            FlagKind::RateShortfall => "rate-shortfall",
            FlagKind::P99Cliff => "p99-cliff",
        }
    }
}

/// Whether a load generator at `generator_cpu_percent` of `generator_limit_percent` bound a
/// server at `server_cpu_percent` under `quota`: the generator at [`GENERATOR_SATURATED`] of
/// its limit or more while the server stays below [`SERVER_HEADROOM`] of its quota. A server
/// whose CPU was not measured (`None`) is not taken to have had any to spare or not: the
/// generator's saturation alone decides.
pub fn is_generator_bound(
    generator_cpu_percent: Percent,
    generator_limit_percent: Percent,
    server_cpu_percent: Option<Percent>,
    quota: &CpuQuota,
) -> bool {
    generator_cpu_percent >= GENERATOR_SATURATED * generator_limit_percent
        && server_cpu_percent.is_none_or(|server| server < SERVER_HEADROOM * quota.percent())
}

/// Whether a rate spread is noisy: its CV above [`NOISY_CV`].
pub fn is_noisy(rate: &Spread) -> bool {
    rate.cv.is_some_and(|cv| cv > NOISY_CV)
}

/// Whether a share of requests caught by stalls puts p99 on the cliff.
pub fn is_on_cliff(stalled_share: f64) -> bool {
    (CLIFF_STALLED_SHARE.0..=CLIFF_STALLED_SHARE.1).contains(&stalled_share)
}

/// The timing check of a `/sleep/<ms>` cell measured at `measured_rate`; `None` for other
/// endpoints.
pub fn timing_check(cell: &Cell, measured_rate: RequestsPerSec) -> Option<Flag> {
    let expected_rate = cell.expected_rate()?;
    let deviation_percent = (measured_rate - expected_rate) / expected_rate * 100.0;
    Some(Flag::TimingCheck {
        expected_rate,
        measured_rate,
        deviation_percent,
        within_tolerance: deviation_percent.abs() <= TIMING_CHECK_TOLERANCE_PERCENT,
    })
}

/// A fixed-rate cell's shortfall check: its median achieved rate against its median target
/// (the same in every repetition); `None` for a closed loop or within tolerance.
pub fn rate_shortfall(achieved_rate: RequestsPerSec, target_rate: RequestsPerSec) -> Option<Flag> {
    let shortfall_percent = (target_rate - achieved_rate) / target_rate * 100.0;
    (shortfall_percent > RATE_SHORTFALL_TOLERANCE_PERCENT).then_some(Flag::RateShortfall {
        target_rate,
        achieved_rate,
        shortfall_percent,
    })
}

/// The flags of a measured cell, judged on medians over its repetitions. A fixed-rate cell
/// is judged on its rate against its target instead of the generator-bound and p99-cliff
/// rules, which assume every connection is busy all the time.
fn flags(cell: &Cell, summary: &CellSummary, repetitions: &[Repetition]) -> Vec<Flag> {
    let mut flags = Vec::new();
    if cell.rate.is_some() {
        let targets: Option<Vec<f64>> = repetitions.iter().map(|r| r.target_rate).collect();
        if let Some(target) = targets.and_then(Spread::of) {
            flags.extend(rate_shortfall(summary.rate_2xx.median, target.median));
        }
        if summary.success_ratio.median < SUCCESS_RATIO_FLOOR {
            flags.push(Flag::Unsuccessful {
                success_ratio: summary.success_ratio.median,
            });
        }
        return flags;
    }
    let generator_limit_percent =
        Spread::of(repetitions.iter().map(|r| r.generator.cpu_limit_percent))
            .map_or(0.0, |s| s.median);
    let server_cpu_percent = summary.server_cpu_percent.map(|s| s.median);
    if let Some(quota) = cell.cpu_quota()
        && is_generator_bound(
            summary.generator_cpu_percent.median,
            generator_limit_percent,
            server_cpu_percent,
            &quota,
        )
    {
        flags.push(Flag::GeneratorBound {
            generator_cpu_percent: summary.generator_cpu_percent.median,
            generator_limit_percent,
            server_cpu_percent,
            server_quota_percent: quota.percent(),
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
    // The timing check is oha's: wrk drops the requests in flight when it stops, which
    // lowers a slow endpoint's closed-loop rate by about latency ÷ duration (a tenth for
    // `/sleep/100` over 1 s), a known bias of its own, not a timer's.
    if cell.generator == Generator::Oha {
        flags.extend(timing_check(cell, summary.rate_2xx.median));
    }
    if let (Some(stalled_share), Some(throttled)) = (summary.stalled_share, summary.throttled_share)
        && is_on_cliff(stalled_share)
    {
        flags.push(Flag::P99Cliff {
            stalled_share,
            throttled_share: throttled.median,
        });
    }
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
pub(crate) mod tests {
    use super::*;
    use crate::catalog::Base;
    use crate::oha::{Latency, LatencyScope};
    use crate::plan::Endpoint;

    pub(crate) fn repetition(rate: f64, server_cpu: f64, generator_cpu: f64) -> Repetition {
        repetition_in(0, rate, server_cpu, generator_cpu)
    }

    pub(crate) fn repetition_in(
        round: u32,
        rate: f64,
        server_cpu: f64,
        generator_cpu: f64,
    ) -> Repetition {
        let ok = (rate * 10.0) as u64;
        Repetition {
            round,
            started: format!("2026-11-25T12:{round:02}:00Z"),
            target_rate: None,
            latency_histogram: None,
            timeline: Vec::new(),
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
            server: Some(ServerUsage::from_readings(
                Duration::from_secs_f64(server_cpu / 100.0 * 10.0),
                Duration::from_secs(10),
                ok,
                &[3 << 20, 4 << 20],
                Some(5 << 20),
                Some(Throttling {
                    periods: 100,
                    throttled_periods: 0,
                    throttled_us: 0,
                }),
            )),
            generator: GeneratorUsage::from_readings(
                Duration::from_secs_f64(generator_cpu / 100.0 * 10.0),
                Duration::from_secs(10),
                1,
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
            keep_alive: true,
            rate: None,
            generator: Default::default(),
        }
    }

    #[test]
    fn results_of_the_first_format_are_refused_by_name() {
        let json = include_str!("../../results/20261123T143648Z-vm/results.json");
        assert_eq!(
            RunResults::from_json(json).unwrap_err().to_string(),
            "results.json has format version 1, this runner reads version 2"
        );
    }

    #[test]
    fn usage_from_readings() {
        let server = ServerUsage::from_readings(
            Duration::from_millis(500),
            Duration::from_secs(1),
            50_000,
            &[10, 20, 60],
            Some(100),
            None,
        );
        assert_eq!(server.cpu_percent, 50.0);
        assert_eq!(server.cpu_us_per_ok_request, Some(10.0));
        assert_eq!((server.anon_mean_bytes, server.anon_max_bytes), (30, 60));
        assert_eq!(server.peak_bytes, Some(100));
        let idle = ServerUsage::from_readings(Duration::ZERO, Duration::ZERO, 0, &[], None, None);
        assert_eq!(idle.cpu_us_per_ok_request, None);
        assert_eq!(idle.cpu_percent, 0.0);
        let generator =
            GeneratorUsage::from_readings(Duration::from_secs(3), Duration::from_secs(4), 1, 1);
        assert_eq!(
            (generator.cpu_percent, generator.cpu_limit_percent),
            (75.0, 100.0)
        );
        // Two CPUs but one worker thread: the limit is the one thread's core.
        let one_thread =
            GeneratorUsage::from_readings(Duration::from_secs(1), Duration::from_secs(1), 1, 2);
        assert_eq!(one_thread.cpu_limit_percent, 100.0);
    }

    #[test]
    fn generator_bound_needs_a_saturated_generator_and_an_idle_server() {
        let one = CpuQuota::fargate(1.0);
        assert!(is_generator_bound(95.0, 100.0, Some(70.0), &one));
        assert!(is_generator_bound(90.0, 100.0, Some(89.9), &one));
        assert!(
            !is_generator_bound(89.9, 100.0, Some(70.0), &one),
            "generator has headroom"
        );
        assert!(
            !is_generator_bound(99.0, 100.0, Some(90.0), &one),
            "server saturated too"
        );
        let half = CpuQuota::fargate(0.5);
        assert!(
            !is_generator_bound(99.0, 100.0, Some(48.0), &half),
            "server at its 0.5 quota"
        );
        assert!(is_generator_bound(190.0, 200.0, Some(40.0), &half));
        // The server's CPU not measured: the generator's saturation alone, never a 0 %.
        assert!(is_generator_bound(95.0, 100.0, None, &one));
        assert!(!is_generator_bound(89.9, 100.0, None, &one));
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
        assert_eq!(summary.rate_per_vcpu, Some(75_000.0));
        assert!((summary.cpu_us_per_request.unwrap().median - 10.0).abs() < 1e-6);
        assert_eq!(
            summary.anon_mean_bytes.unwrap().median,
            (3.5 * (1 << 20) as f64).floor()
        );
        assert_eq!(summary.peak_bytes, Some(5 << 20));
        assert_eq!(
            summary.rate_estimate.interval, None,
            "three repetitions: no 95 % interval"
        );

        // CV above 5 %: noisy, with the outlier named (five repetitions: the test runs).
        let noisy = CellResult::measured(
            cell(0.5, Endpoint::Hello, 64),
            vec![
                repetition(40_000.0, 49.0, 50.0),
                repetition(41_000.0, 49.0, 50.0),
                repetition(40_500.0, 49.0, 50.0),
                repetition(39_800.0, 49.0, 50.0),
                repetition(30_000.0, 49.0, 50.0),
            ],
            Lifecycle::default(),
        );
        assert_eq!(
            noisy.flag(FlagKind::Noisy),
            Some(&Flag::Noisy {
                cv: noisy.summary.as_ref().unwrap().rate_2xx.cv.unwrap(),
                outliers: vec![4]
            })
        );

        // /sleep/100 at 20 connections: expected 200 req/s, measured 196.
        let sleep = CellResult::measured(
            cell(1.0, Endpoint::Sleep { ms: 100 }, 20),
            vec![repetition(196.0, 2.0, 1.0)],
            Lifecycle::default(),
        );
        let Some(Flag::TimingCheck {
            expected_rate,
            deviation_percent,
            within_tolerance,
            ..
        }) = sleep.flag(FlagKind::TimingCheck).cloned()
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
        let matrix = Matrix {
            rates: Vec::new(),
            cross_check: Vec::new(),
            ..Matrix::quick()
        };
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
        let (n, least, most) = back.timing_check().unwrap();
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

        let old = json.replacen("\"format_version\":2", "\"format_version\":0", 1);
        assert_eq!(
            RunResults::from_json(&old).unwrap_err().to_string(),
            "results.json has format version 0, this runner reads version 2"
        );

        // An incomplete cell is pending, and keeps its repetitions until it is finished.
        results.record(CellResult::incomplete(
            cells[2].clone(),
            vec![repetition(160.0, 5.0, 3.0)],
            Lifecycle::default(),
        ));
        assert!(
            results
                .pending_cells(false)
                .iter()
                .any(|c| c.id() == cells[2].id())
        );
        assert_eq!(results.cell(&cells[2]).unwrap().repetitions.len(), 1);
    }

    fn throttled(mut r: Repetition, throttled_periods: u64) -> Repetition {
        r.server.as_mut().unwrap().throttling = Some(Throttling {
            periods: 100,
            throttled_periods,
            throttled_us: throttled_periods * 45_000,
        });
        r
    }

    #[test]
    fn the_p99_cliff_is_flagged_from_the_stalled_share() {
        // 64 connections, 600k 2xx in 10 s, 100 of 100 periods throttled: 64 × 100 / 600k
        // ≈ 1.1 % of requests caught by a stall. p99 sits on the cliff.
        let on_cliff = CellResult::measured(
            cell(0.5, Endpoint::Hello, 64),
            vec![throttled(repetition(60_000.0, 50.0, 80.0), 100)],
            Lifecycle::default(),
        );
        let Some(Flag::P99Cliff {
            stalled_share,
            throttled_share,
        }) = on_cliff.flag(FlagKind::P99Cliff).cloned()
        else {
            panic!("{:?}", on_cliff.flags)
        };
        assert!((stalled_share - 64.0 * 100.0 / 600_000.0).abs() < 1e-12);
        assert_eq!(throttled_share, 1.0);
        // One connection: 100 stalls over 150k requests, 0.07 %: p99 is clear of them.
        let below = CellResult::measured(
            cell(0.5, Endpoint::Hello, 1),
            vec![throttled(repetition(15_000.0, 50.0, 80.0), 100)],
            Lifecycle::default(),
        );
        assert!(below.flag(FlagKind::P99Cliff).is_none());
        // 256 connections at 10k req/s: 25 % of requests stall: p99 is the stall itself.
        let above = CellResult::measured(
            cell(0.5, Endpoint::Hello, 256),
            vec![throttled(repetition(10_000.0, 50.0, 80.0), 100)],
            Lifecycle::default(),
        );
        assert!(above.flag(FlagKind::P99Cliff).is_none());
        assert!(is_on_cliff(0.003) && is_on_cliff(0.03) && !is_on_cliff(0.031));
    }

    #[test]
    fn a_process_has_no_quota_to_be_judged_against() {
        let mut process = cell(1.0, Endpoint::Hello, 64);
        process.base = Packaging::Process;
        let result = CellResult::measured(
            process,
            vec![repetition(75_000.0, 75.0, 97.0)],
            Lifecycle::default(),
        );
        assert!(result.flag(FlagKind::GeneratorBound).is_none());
        assert_eq!(result.summary.unwrap().rate_per_vcpu, None);
    }

    /// `repetition`, its server usage not measured, as under the ecs backend.
    fn unmeasured(mut r: Repetition) -> Repetition {
        r.server = None;
        r
    }

    #[test]
    fn a_server_not_measured_has_no_server_figures_and_no_zeros() {
        let result = CellResult::measured(
            cell(1.0, Endpoint::Hello, 64),
            vec![
                unmeasured(repetition(75_000.0, 75.0, 97.0)),
                unmeasured(repetition(76_000.0, 76.0, 98.0)),
                unmeasured(repetition(74_000.0, 74.0, 96.0)),
            ],
            Lifecycle::default(),
        );
        let summary = result.summary.as_ref().unwrap();
        assert_eq!(summary.rate_2xx.median, 75_000.0);
        let generator_cpu_percent = summary.generator_cpu_percent.median;
        assert!((generator_cpu_percent - 97.0).abs() < 1e-6);
        assert_eq!(summary.server_cpu_percent, None);
        assert_eq!(summary.cpu_us_per_request, None);
        assert_eq!(summary.anon_mean_bytes, None);
        assert_eq!(summary.peak_bytes, None);
        assert_eq!(summary.throttled_share, None);
        assert_eq!(summary.stalled_share, None);
        // Judged on oha's CPU alone, and the flag says the server's was not measured.
        assert_eq!(
            result.flag(FlagKind::GeneratorBound),
            Some(&Flag::GeneratorBound {
                generator_cpu_percent,
                generator_limit_percent: 100.0,
                server_cpu_percent: None,
                server_quota_percent: 100.0,
            })
        );
        let json = serde_json::to_value(&result).unwrap();
        assert_eq!(
            json["flags"][0]["server_cpu_percent"],
            serde_json::Value::Null
        );
        assert!(
            json["repetitions"][0].get("server").is_none(),
            "absent, not null: {}",
            json["repetitions"][0]
        );
        assert_eq!(
            serde_json::from_value::<CellResult>(json).unwrap(),
            result,
            "reads back"
        );

        // One repetition without server usage is enough: a median of the others would pass
        // for the cell's.
        let mixed = CellSummary::of(
            &cell(1.0, Endpoint::Hello, 64),
            &[
                repetition(75_000.0, 75.0, 50.0),
                unmeasured(repetition(76_000.0, 76.0, 50.0)),
            ],
        )
        .unwrap();
        assert_eq!(
            (
                mixed.server_cpu_percent,
                mixed.anon_mean_bytes,
                mixed.peak_bytes
            ),
            (None, None, None)
        );

        // oha with headroom: no flag, whatever the server did.
        let idle = CellResult::measured(
            cell(1.0, Endpoint::Hello, 64),
            vec![unmeasured(repetition(75_000.0, 75.0, 60.0))],
            Lifecycle::default(),
        );
        assert!(idle.flags.is_empty(), "{:?}", idle.flags);
    }

    #[test]
    fn the_p99_cliff_needs_throttling_that_was_measured() {
        let r = unmeasured(throttled(repetition(60_000.0, 50.0, 80.0), 100));
        let result = CellResult::measured(
            cell(0.5, Endpoint::Hello, 64),
            vec![r],
            Lifecycle::default(),
        );
        assert!(result.flag(FlagKind::P99Cliff).is_none());
    }

    #[test]
    fn results_written_before_read_server_usage_and_flags_as_measured() {
        let result = CellResult::measured(
            cell(1.0, Endpoint::Hello, 64),
            vec![repetition(75_000.0, 75.0, 97.0)],
            Lifecycle::default(),
        );
        let json = serde_json::to_value(&result).unwrap();
        assert!(json["repetitions"][0]["server"].is_object());
        assert_eq!(json["flags"][0]["server_cpu_percent"], 75.0);
        assert_eq!(json["summary"]["server_cpu_percent"]["median"], 75.0);
        let back: CellResult = serde_json::from_value(json).unwrap();
        assert!(back.repetitions[0].server.is_some());
        assert_eq!(back, result);
    }
}
