//! The measurement plan: the matrix `bench-runner run` measures, its defaults, its TOML file,
//! its validation and its expansion into cells, in one pinned order.
//!
//! The flow the runner follows: start from [`Matrix::default`] or [`Matrix::quick`], overlay
//! a matrix file ([`PartialMatrix::from_toml`]) and then the flags (a [`PartialMatrix`] the
//! CLI fills), check the result with [`Matrix::validate`], and measure [`Matrix::cells`] in
//! order. Every matrix key is also a flag of the same name (`connections` ↔
//! `--connections`), so [`InvalidSetting::key`] names both.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

use crate::units::{Micros, RequestsPerSec};

/// The base name cells get under the `process` backend, which runs service binaries as local
/// processes: there is no image, so no base.
pub const PROCESS_BASE: &str = "process";

/// The largest `<ms>` a `/sleep/<ms>` endpoint may ask for; the services accept up to this.
pub const MAX_SLEEP_MS: u64 = 60_000;

/// The smallest CPU quota Docker accepts (`--cpus 0.01`).
pub const MIN_VCPUS: f64 = 0.01;

/// The smallest memory limit Docker accepts, in MiB.
pub const MIN_MEMORY_MIB: u64 = 6;

/// What the runner expects a cell to cost beyond its load phases: create and start the
/// container, wait for `/hello`, stop it with SIGTERM and remove it. Used only for estimates.
pub const CELL_OVERHEAD: Duration = Duration::from_secs(2);

/// What the runner expects one cold start of an image to cost in the startup phase: start to
/// first 200 is about 0.3 s on this kind of machine, stopping and removing the rest.
pub const STARTUP_RUN_OVERHEAD: Duration = Duration::from_secs(1);

/// What one cold start of a bare process costs (about 1.5 ms to first 200, plus the stop).
pub const PROCESS_STARTUP_RUN_OVERHEAD: Duration = Duration::from_millis(100);

/// Where the services run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Backend {
    /// One container per cell, from the framework × base images (the default).
    #[default]
    Docker,
    /// The service binaries as local processes pinned by CPU affinity: no image, no container,
    /// and every cell's base is [`PROCESS_BASE`].
    Process,
}

impl Backend {
    /// The name in flags, files and tables.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Docker => "docker",
            Backend::Process => "process",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A CPU quota and the memory limit that goes with it, as a Fargate task size.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct CpuQuota {
    /// CPUs the server may use, in cores' worth of CFS quota (Docker's `NanoCpus` / 1e9).
    pub vcpus: f64,
    /// The memory limit, in MiB.
    pub memory_mib: u64,
}

impl CpuQuota {
    /// A quota of `vcpus` with the memory Fargate pairs with it at the least: 2 GiB per vCPU,
    /// 512 MiB at the smallest (0.25 vCPU / 512 MiB, 0.5 / 1 GiB, 1 / 2 GiB, 2 / 4 GiB).
    pub fn fargate(vcpus: f64) -> Self {
        let memory_mib = ((vcpus * 2048.0).round() as u64).max(512);
        CpuQuota { vcpus, memory_mib }
    }

    /// `WORKERS` for the service: one worker per started vCPU, at least one.
    pub fn workers(&self) -> u32 {
        (self.vcpus.ceil() as u32).max(1)
    }

    /// Docker's `NanoCpus` for this quota.
    pub fn nano_cpus(&self) -> i64 {
        (self.vcpus * 1e9).round() as i64
    }

    /// The memory limit in bytes (Docker's `Memory`).
    pub fn memory_bytes(&self) -> u64 {
        self.memory_mib * 1024 * 1024
    }

    /// The quota as a percentage of one core, the unit of CPU usage in results.
    pub fn percent(&self) -> f64 {
        self.vcpus * 100.0
    }

    /// The quota in cell ids and table titles: `0.5cpu`, `1cpu`.
    pub fn label(&self) -> String {
        format!("{}cpu", self.vcpus)
    }
}

/// `0.5` (Fargate's memory for that size) or `0.5:1024` (memory in MiB): the form of
/// `--cpus` values.
impl FromStr for CpuQuota {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (vcpus, memory) = match text.split_once(':') {
            Some((vcpus, memory)) => (vcpus, Some(memory)),
            None => (text, None),
        };
        let vcpus: f64 = vcpus.trim().parse().map_err(|_| {
            format!("invalid CPU quota \"{text}\": write vCPUs like \"0.5\", optionally with memory in MiB like \"0.5:1024\"")
        })?;
        let mut quota = CpuQuota::fargate(vcpus);
        if let Some(memory) = memory {
            quota.memory_mib = memory.trim().parse().map_err(|_| {
                format!("invalid memory in CPU quota \"{text}\": write it in MiB like \"0.5:1024\"")
            })?;
        }
        Ok(quota)
    }
}

/// An endpoint of the services under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `GET /hello`: the cheapest request, which measures the framework itself.
    Hello,
    /// `GET /sleep/<ms>`: answers after `ms` milliseconds. At C connections its throughput is
    /// known in advance (C·1000/ms), so it calibrates the harness.
    Sleep { ms: u64 },
}

impl Endpoint {
    /// The request path: `/hello`, `/sleep/100`.
    pub fn path(&self) -> String {
        match self {
            Endpoint::Hello => "/hello".to_owned(),
            Endpoint::Sleep { ms } => format!("/sleep/{ms}"),
        }
    }

    /// The endpoint in cell ids, file names and CSV: `hello`, `sleep-100ms` (no slash).
    pub fn label(&self) -> String {
        match self {
            Endpoint::Hello => "hello".to_owned(),
            Endpoint::Sleep { ms } => format!("sleep-{ms}ms"),
        }
    }

    /// The throughput a perfect harness measures at `connections` connections, for endpoints
    /// that know it: C·1000/ms for `/sleep/<ms>`, `None` for `/hello`.
    pub fn expected_rate(&self, connections: u32) -> Option<RequestsPerSec> {
        match self {
            Endpoint::Hello => None,
            Endpoint::Sleep { ms } => Some(f64::from(connections) * 1000.0 / *ms as f64),
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path())
    }
}

/// Why a text is not an endpoint.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid endpoint \"{text}\": use /hello or /sleep/<ms> with <ms> a whole number from 1 to {MAX_SLEEP_MS}"
)]
pub struct EndpointError {
    /// The text as given.
    pub text: String,
}

/// Reads `/hello` or `/sleep/<ms>` with `<ms>` from 1 to [`MAX_SLEEP_MS`]. `/sleep/0` is
/// refused: it cannot calibrate anything (its expected rate is infinite).
impl FromStr for Endpoint {
    type Err = EndpointError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let err = || EndpointError {
            text: text.to_owned(),
        };
        if text == "/hello" {
            return Ok(Endpoint::Hello);
        }
        let digits = text.strip_prefix("/sleep/").ok_or_else(err)?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err());
        }
        match digits.parse::<u64>() {
            Ok(ms) if (1..=MAX_SLEEP_MS).contains(&ms) => Ok(Endpoint::Sleep { ms }),
            _ => Err(err()),
        }
    }
}

impl Serialize for Endpoint {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.path())
    }
}

impl<'de> Deserialize<'de> for Endpoint {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(de::Error::custom)
    }
}

/// A set of CPU ids, written as Docker's `--cpuset-cpus` and Linux's cpusets write it: `1`,
/// `0-3`, `0,2-3`. Kept sorted and without duplicates; its text is the canonical form.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CpuSet {
    ids: Vec<u32>,
}

impl CpuSet {
    /// The CPU ids, ascending: what `sched_setaffinity` takes.
    pub fn ids(&self) -> &[u32] {
        &self.ids
    }

    /// How many CPUs the set has: the most cores' worth of CPU it can give.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Always false: a parsed set has at least one CPU.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Whether the two sets share a CPU.
    pub fn overlaps(&self, other: &CpuSet) -> bool {
        self.ids.iter().any(|id| other.ids.contains(id))
    }

    /// The highest CPU id in the set.
    pub fn max_id(&self) -> u32 {
        self.ids.last().copied().unwrap_or(0)
    }
}

impl fmt::Display for CpuSet {
    /// The canonical text, consecutive ids as ranges: `0,2-3`. This is Docker's `CpusetCpus`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut i = 0;
        while i < self.ids.len() {
            let start = self.ids[i];
            let mut end = start;
            while i + 1 < self.ids.len() && self.ids[i + 1] == end + 1 {
                end += 1;
                i += 1;
            }
            if start != self.ids[0] {
                f.write_str(",")?;
            }
            if start == end {
                write!(f, "{start}")?;
            } else {
                write!(f, "{start}-{end}")?;
            }
            i += 1;
        }
        Ok(())
    }
}

impl FromStr for CpuSet {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let err = || {
            format!("invalid CPU set \"{text}\": write CPU ids like \"1\", \"0-3\" or \"0,2-3\"")
        };
        let mut ids = BTreeSet::new();
        for part in text.split(',') {
            let part = part.trim();
            let (start, end) = match part.split_once('-') {
                Some((start, end)) => (start, end),
                None => (part, part),
            };
            let start: u32 = start.trim().parse().map_err(|_| err())?;
            let end: u32 = end.trim().parse().map_err(|_| err())?;
            if start > end || end - start > 4096 {
                return Err(err());
            }
            ids.extend(start..=end);
        }
        Ok(CpuSet {
            ids: ids.into_iter().collect(),
        })
    }
}

impl Serialize for CpuSet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for CpuSet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(de::Error::custom)
    }
}

/// Everything `bench-runner run` measures and how: the output of parsing flags and files,
/// the input of the runner, and recorded whole in `results.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Matrix {
    /// Where the services run.
    pub backend: Backend,
    /// Framework names, as the runner's catalog spells them (`axum`, `actix-web`, …).
    pub frameworks: Vec<String>,
    /// Base names (`scratch`, `distroless`, `debian`). Ignored by the `process` backend.
    pub bases: Vec<String>,
    /// CPU quotas with their memory limits.
    pub cpus: Vec<CpuQuota>,
    /// Concurrent connections oha keeps open (keep-alive on).
    pub connections: Vec<u32>,
    /// The endpoints loaded.
    pub endpoints: Vec<Endpoint>,
    /// Load before the measured repetitions, not recorded.
    #[serde(with = "crate::units::duration_text")]
    pub warmup: Duration,
    /// The length of one measured repetition.
    #[serde(with = "crate::units::duration_text")]
    pub duration: Duration,
    /// Measured repetitions per cell.
    pub repetitions: u32,
    /// Cold starts per image (and per bare binary) in the startup phase; 0 skips it.
    pub startup_runs: u32,
    /// The CPUs the server may run on.
    pub server_cpus: CpuSet,
    /// The CPUs the load generator runs on; disjoint from `server_cpus`. oha gets one worker
    /// thread per CPU here.
    pub generator_cpus: CpuSet,
    /// How long a service may take to answer 200 on `/hello` before its cell fails.
    #[serde(with = "crate::units::duration_text")]
    pub ready_timeout: Duration,
    /// How long a service may take to exit after SIGTERM before it is killed.
    #[serde(with = "crate::units::duration_text")]
    pub stop_timeout: Duration,
}

fn strings(names: &[&str]) -> Vec<String> {
    names.iter().map(|&name| name.to_owned()).collect()
}

fn cpuset(text: &str) -> CpuSet {
    text.parse().expect("built-in CPU sets are valid")
}

impl Default for Matrix {
    /// The default run: about ten minutes on two cores ([`Matrix::estimate`] says 9 min 42 s).
    ///
    /// The four frameworks on `scratch`, at 0.5 and 1 vCPU (Fargate's 1 GiB and 2 GiB
    /// sizes), at 1 connection (latency-bound: each framework's own latency) and 64
    /// connections (throughput-bound: a one-core server is saturated), on `/hello`; 3 s of
    /// warm-up, then 3 repetitions of 10 s; 5 cold starts per image. That is 16 cells of
    /// about 35 s. The wider example of issue 4 (connections 1, 16, 64 and 256) doubles the
    /// cells and takes about 19 minutes at these timings: ask for it with `--connections`.
    /// The server runs on CPU 1, oha on CPU 0.
    fn default() -> Self {
        Matrix {
            backend: Backend::Docker,
            frameworks: strings(&["axum", "actix-web", "rocket", "hyper"]),
            bases: strings(&["scratch"]),
            cpus: vec![CpuQuota::fargate(0.5), CpuQuota::fargate(1.0)],
            connections: vec![1, 64],
            endpoints: vec![Endpoint::Hello],
            warmup: Duration::from_secs(3),
            duration: Duration::from_secs(10),
            repetitions: 3,
            startup_runs: 5,
            server_cpus: cpuset("1"),
            generator_cpus: cpuset("0"),
            ready_timeout: Duration::from_secs(10),
            stop_timeout: Duration::from_secs(10),
        }
    }
}

impl Matrix {
    /// `--quick`: a smoke run of about a minute ([`Matrix::estimate`] says 1 min 9 s) that
    /// touches every framework and the calibration.
    ///
    /// The four frameworks on `scratch` at 1 vCPU and 16 connections, on `/hello` and
    /// `/sleep/100` (expected 160 req/s, so the harness error shows); 1 s of warm-up, then 2
    /// repetitions of 2 s (two, so the spread and the noisy flag still mean something); 3
    /// cold starts per image. 8 cells of about 7 s. `/sleep/100` rather than a shorter sleep
    /// because the services' timer (tokio's) rounds a sleep up to its next millisecond tick:
    /// about 1 ms on top of every sleep, 10 % of `/sleep/10` but 1 % of `/sleep/100`.
    pub fn quick() -> Self {
        Matrix {
            cpus: vec![CpuQuota::fargate(1.0)],
            connections: vec![16],
            endpoints: vec![Endpoint::Hello, Endpoint::Sleep { ms: 100 }],
            warmup: Duration::from_secs(1),
            duration: Duration::from_secs(2),
            repetitions: 2,
            startup_runs: 3,
            ..Matrix::default()
        }
    }

    /// The bases cells run on: the matrix's bases, or only [`PROCESS_BASE`] for the process
    /// backend.
    pub fn effective_bases(&self) -> Vec<String> {
        match self.backend {
            Backend::Docker => self.bases.clone(),
            Backend::Process => vec![PROCESS_BASE.to_owned()],
        }
    }

    /// The cells to measure, in the order they are measured and listed:
    /// CPU quota → framework → base → endpoint → connections, each dimension in the order the
    /// matrix gives it. Quota-major matches the tables (one per quota) and makes a partial run
    /// cover whole tables first; connections innermost keeps a framework's cells together,
    /// with the same container settings.
    ///
    /// Expands whatever the matrix holds: call [`Matrix::validate`] first.
    pub fn cells(&self) -> Vec<Cell> {
        let bases = self.effective_bases();
        let mut cells = Vec::new();
        for &cpu in &self.cpus {
            for framework in &self.frameworks {
                for base in &bases {
                    for &endpoint in &self.endpoints {
                        for &connections in &self.connections {
                            cells.push(Cell {
                                framework: framework.clone(),
                                base: base.clone(),
                                cpu,
                                endpoint,
                                connections,
                            });
                        }
                    }
                }
            }
        }
        cells
    }

    /// The (framework, base) pairs of the startup phase, framework-major; under the process
    /// backend the base is [`PROCESS_BASE`].
    pub fn images(&self) -> Vec<(String, String)> {
        let bases = self.effective_bases();
        self.frameworks
            .iter()
            .flat_map(|framework| {
                bases
                    .iter()
                    .map(move |base| (framework.clone(), base.clone()))
            })
            .collect()
    }

    /// How long one cell takes: warm-up, the repetitions and [`CELL_OVERHEAD`].
    pub fn cell_estimate(&self) -> Duration {
        self.warmup + self.duration * self.repetitions + CELL_OVERHEAD
    }

    /// How long the startup phase takes: [`Matrix::startup_runs`] cold starts of every image
    /// (at [`STARTUP_RUN_OVERHEAD`]) and of every bare binary (at
    /// [`PROCESS_STARTUP_RUN_OVERHEAD`]).
    pub fn startup_estimate(&self) -> Duration {
        let process_runs = self.frameworks.len() as u32 * self.startup_runs;
        let image_runs = match self.backend {
            Backend::Docker => self.images().len() as u32 * self.startup_runs,
            Backend::Process => 0,
        };
        STARTUP_RUN_OVERHEAD * image_runs + PROCESS_STARTUP_RUN_OVERHEAD * process_runs
    }

    /// How long the whole run takes, for a progress bar's ETA: the startup phase and every
    /// cell. Builds are not included.
    pub fn estimate(&self) -> Duration {
        self.startup_estimate() + self.cell_estimate() * self.cells().len() as u32
    }

    /// The ETA when `remaining` cells are left to measure and the startup phase is done.
    pub fn remaining_estimate(&self, remaining: usize) -> Duration {
        self.cell_estimate() * remaining as u32
    }

    /// oha's worker threads: one per generator CPU (oha's own default counts every physical
    /// core and ignores affinity).
    pub fn generator_threads(&self) -> usize {
        self.generator_cpus.len()
    }

    /// The generator's CPU limit as a percentage of one core: 100 per generator CPU.
    pub fn generator_limit_percent(&self) -> f64 {
        self.generator_cpus.len() as f64 * 100.0
    }

    /// Overlays the settings `partial` has; the others stay.
    pub fn apply(&mut self, partial: PartialMatrix) {
        let PartialMatrix {
            backend,
            frameworks,
            bases,
            cpus,
            connections,
            endpoints,
            warmup,
            duration,
            repetitions,
            startup_runs,
            server_cpus,
            generator_cpus,
            ready_timeout,
            stop_timeout,
        } = partial;
        fn set<T>(slot: &mut T, value: Option<T>) {
            if let Some(value) = value {
                *slot = value;
            }
        }
        set(&mut self.backend, backend);
        set(&mut self.frameworks, frameworks);
        set(&mut self.bases, bases);
        set(
            &mut self.cpus,
            cpus.map(|cpus| cpus.into_iter().map(|q| q.0).collect()),
        );
        set(&mut self.connections, connections);
        set(&mut self.endpoints, endpoints);
        set(&mut self.warmup, warmup);
        set(&mut self.duration, duration);
        set(&mut self.repetitions, repetitions);
        set(&mut self.startup_runs, startup_runs);
        set(&mut self.server_cpus, server_cpus);
        set(&mut self.generator_cpus, generator_cpus);
        set(&mut self.ready_timeout, ready_timeout);
        set(&mut self.stop_timeout, stop_timeout);
    }

    /// Checks every setting, so that a bad one fails before any container starts. Framework
    /// and base names are checked against `frameworks` and `bases`, the runner's catalogs
    /// (bases only under the Docker backend). The error names the key (and so the flag).
    pub fn validate(&self, frameworks: &[&str], bases: &[&str]) -> Result<(), InvalidSetting> {
        names("frameworks", &self.frameworks, frameworks)?;
        if self.backend == Backend::Docker {
            names("bases", &self.bases, bases)?;
        }

        non_empty("cpus", &self.cpus)?;
        for (i, quota) in self.cpus.iter().enumerate() {
            if !quota.vcpus.is_finite() || quota.vcpus < MIN_VCPUS {
                return Err(InvalidSetting::new(
                    "cpus",
                    format!(
                        "{} vCPU is not a quota: give at least {MIN_VCPUS}",
                        quota.vcpus
                    ),
                ));
            }
            if quota.vcpus > self.server_cpus.len() as f64 {
                return Err(InvalidSetting::new(
                    "cpus",
                    format!(
                        "{} vCPU is more than the {} CPU(s) of server-cpus \"{}\": widen server-cpus or lower the quota",
                        quota.vcpus,
                        self.server_cpus.len(),
                        self.server_cpus
                    ),
                ));
            }
            if quota.memory_mib < MIN_MEMORY_MIB {
                return Err(InvalidSetting::new(
                    "cpus",
                    format!(
                        "{} MiB of memory for {} vCPU is below Docker's minimum of {MIN_MEMORY_MIB} MiB",
                        quota.memory_mib, quota.vcpus
                    ),
                ));
            }
            if self.cpus[..i].iter().any(|q| q.vcpus == quota.vcpus) {
                return Err(InvalidSetting::new(
                    "cpus",
                    format!("{} vCPU is listed twice", quota.vcpus),
                ));
            }
        }

        non_empty("connections", &self.connections)?;
        if self.connections.contains(&0) {
            return Err(InvalidSetting::new(
                "connections",
                "0 connections measure nothing: give at least 1".to_owned(),
            ));
        }
        no_duplicates("connections", &self.connections)?;

        non_empty("endpoints", &self.endpoints)?;
        no_duplicates("endpoints", &self.endpoints)?;

        if self.duration.is_zero() {
            return Err(InvalidSetting::new(
                "duration",
                "a repetition needs a duration above 0, like \"10s\"".to_owned(),
            ));
        }
        if self.repetitions == 0 {
            return Err(InvalidSetting::new(
                "repetitions",
                "give at least 1 repetition (3 or more for a meaningful spread)".to_owned(),
            ));
        }
        if self.ready_timeout.is_zero() {
            return Err(InvalidSetting::new(
                "ready-timeout",
                "a service needs some time to start, like \"10s\"".to_owned(),
            ));
        }
        if self.server_cpus.overlaps(&self.generator_cpus) {
            return Err(InvalidSetting::new(
                "generator-cpus",
                format!(
                    "\"{}\" shares CPUs with server-cpus \"{}\": the load generator and the server must run on different CPUs",
                    self.generator_cpus, self.server_cpus
                ),
            ));
        }
        Ok(())
    }

    /// Checks that the CPU sets exist on a host with `cores` CPUs (ids 0 to `cores` - 1).
    pub fn validate_host(&self, cores: u32) -> Result<(), InvalidSetting> {
        for (key, set) in [
            ("server-cpus", &self.server_cpus),
            ("generator-cpus", &self.generator_cpus),
        ] {
            if set.max_id() >= cores {
                return Err(InvalidSetting::new(
                    key,
                    format!(
                        "CPU {} does not exist: this host has CPUs 0 to {}",
                        set.max_id(),
                        cores.saturating_sub(1)
                    ),
                ));
            }
        }
        Ok(())
    }
}

fn non_empty<T>(key: &'static str, values: &[T]) -> Result<(), InvalidSetting> {
    if values.is_empty() {
        return Err(InvalidSetting::new(
            key,
            "the list is empty: give at least one value".to_owned(),
        ));
    }
    Ok(())
}

fn no_duplicates<T: PartialEq + fmt::Display>(
    key: &'static str,
    values: &[T],
) -> Result<(), InvalidSetting> {
    for (i, value) in values.iter().enumerate() {
        if values[..i].contains(value) {
            return Err(InvalidSetting::new(key, format!("{value} is listed twice")));
        }
    }
    Ok(())
}

fn names(key: &'static str, given: &[String], valid: &[&str]) -> Result<(), InvalidSetting> {
    non_empty(key, given)?;
    for name in given {
        if !valid.contains(&name.as_str()) {
            return Err(InvalidSetting::new(
                key,
                format!(
                    "unknown name \"{name}\": valid names are {}",
                    valid.join(", ")
                ),
            ));
        }
    }
    no_duplicates(key, given)
}

/// A setting that cannot be measured, named by its matrix-file key, which is also its flag
/// (`cpus` ↔ `--cpus`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid {key} (--{key}): {message}")]
pub struct InvalidSetting {
    /// The matrix-file key and flag name: `connections`, `server-cpus`, ….
    pub key: &'static str,
    /// What is wrong and what to give instead.
    pub message: String,
}

impl InvalidSetting {
    fn new(key: &'static str, message: String) -> Self {
        InvalidSetting { key, message }
    }
}

/// One measurement of the matrix: a framework on a base under a quota, loaded on one
/// endpoint at one connection count.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    pub framework: String,
    /// The base image, or [`PROCESS_BASE`] under the process backend.
    pub base: String,
    pub cpu: CpuQuota,
    pub endpoint: Endpoint,
    pub connections: u32,
}

impl Cell {
    /// The cell's stable name, which `--resume` matches finished cells by:
    /// `axum/scratch/0.5cpu/hello/c64`, `hyper/process/1cpu/sleep-100ms/c16`.
    pub fn id(&self) -> String {
        format!(
            "{}/{}/{}/{}/c{}",
            self.framework,
            self.base,
            self.cpu.label(),
            self.endpoint.label(),
            self.connections
        )
    }

    /// `WORKERS` for the service under this cell's quota.
    pub fn workers(&self) -> u32 {
        self.cpu.workers()
    }

    /// The rate a perfect harness would measure, for `/sleep/<ms>` cells.
    pub fn expected_rate(&self) -> Option<RequestsPerSec> {
        self.endpoint.expected_rate(self.connections)
    }

    /// The server CPU a request may cost at most when the quota is saturated at `rate`, in
    /// µs: handy to read CPU µs per request against.
    pub fn quota_us_per_request(&self, rate: RequestsPerSec) -> Option<Micros> {
        (rate > 0.0).then(|| self.cpu.vcpus * 1e6 / rate)
    }
}

/// A matrix file, or the flags given: every key optional, overlaid on a [`Matrix`] with
/// [`Matrix::apply`].
///
/// The file is TOML with kebab-case keys, the flags' names. Durations are strings in
/// humantime's syntax (`"10s"`, `"500ms"`, `"1m 30s"`), never bare numbers, so their unit
/// is always written. A CPU quota is a number of vCPUs (memory as Fargate pairs it), a
/// string `"0.5:1024"` (memory in MiB, as `--cpus` takes it) or a table
/// `{ vcpus = 0.5, memory-mib = 1024 }`. Unknown keys are errors.
///
/// ```toml
/// backend = "docker"
/// frameworks = ["axum", "hyper"]
/// bases = ["scratch", "debian"]
/// cpus = [0.25, 0.5, { vcpus = 1, memory-mib = 4096 }]
/// connections = [1, 16, 64, 256]
/// endpoints = ["/hello", "/sleep/100"]
/// warmup = "3s"
/// duration = "10s"
/// repetitions = 3
/// startup-runs = 5
/// server-cpus = "1"
/// generator-cpus = "0"
/// ready-timeout = "10s"
/// stop-timeout = "10s"
/// ```
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct PartialMatrix {
    pub backend: Option<Backend>,
    pub frameworks: Option<Vec<String>>,
    pub bases: Option<Vec<String>>,
    pub cpus: Option<Vec<QuotaSpec>>,
    pub connections: Option<Vec<u32>>,
    pub endpoints: Option<Vec<Endpoint>>,
    #[serde(default, with = "crate::units::opt_duration_text")]
    pub warmup: Option<Duration>,
    #[serde(default, with = "crate::units::opt_duration_text")]
    pub duration: Option<Duration>,
    pub repetitions: Option<u32>,
    pub startup_runs: Option<u32>,
    pub server_cpus: Option<CpuSet>,
    pub generator_cpus: Option<CpuSet>,
    #[serde(default, with = "crate::units::opt_duration_text")]
    pub ready_timeout: Option<Duration>,
    #[serde(default, with = "crate::units::opt_duration_text")]
    pub stop_timeout: Option<Duration>,
}

/// A CPU quota as a matrix file writes it: `0.5`, `"0.5:1024"` or
/// `{ vcpus = 0.5, memory-mib = 1024 }`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QuotaSpec(pub CpuQuota);

impl<'de> Deserialize<'de> for QuotaSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct QuotaVisitor;

        #[derive(Deserialize)]
        #[serde(rename_all = "kebab-case", deny_unknown_fields)]
        struct Table {
            vcpus: f64,
            memory_mib: Option<u64>,
        }

        impl<'de> Visitor<'de> for QuotaVisitor {
            type Value = QuotaSpec;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a CPU quota: vCPUs like 0.5, \"0.5:1024\" (memory in MiB) or { vcpus = 0.5, memory-mib = 1024 }",
                )
            }

            fn visit_f64<E: de::Error>(self, vcpus: f64) -> Result<QuotaSpec, E> {
                Ok(QuotaSpec(CpuQuota::fargate(vcpus)))
            }

            fn visit_i64<E: de::Error>(self, vcpus: i64) -> Result<QuotaSpec, E> {
                self.visit_f64(vcpus as f64)
            }

            fn visit_u64<E: de::Error>(self, vcpus: u64) -> Result<QuotaSpec, E> {
                self.visit_f64(vcpus as f64)
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<QuotaSpec, E> {
                text.parse().map(QuotaSpec).map_err(E::custom)
            }

            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<QuotaSpec, A::Error> {
                let table = Table::deserialize(de::value::MapAccessDeserializer::new(map))?;
                let mut quota = CpuQuota::fargate(table.vcpus);
                if let Some(memory_mib) = table.memory_mib {
                    quota.memory_mib = memory_mib;
                }
                Ok(QuotaSpec(quota))
            }
        }

        d.deserialize_any(QuotaVisitor)
    }
}

impl FromStr for QuotaSpec {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        text.parse().map(QuotaSpec)
    }
}

/// A matrix file that could not be read: bad TOML, a wrong type, an unknown key.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}{}{message}", key_part(.key), place_part(.line, .column))]
pub struct ConfigError {
    /// The key at fault as a path (`cpus[1].memory-mib`), when known.
    pub key: Option<String>,
    /// Where in the file, 1-based, when known.
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// What is wrong.
    pub message: String,
}

fn key_part(key: &Option<String>) -> String {
    key.as_ref()
        .map(|key| format!("key `{key}`: "))
        .unwrap_or_default()
}

fn place_part(line: &Option<usize>, column: &Option<usize>) -> String {
    match (line, column) {
        (Some(line), Some(column)) => format!("line {line}, column {column}: "),
        _ => String::new(),
    }
}

impl PartialMatrix {
    /// Reads a matrix file. Errors name the key (as a path such as `cpus[1].memory-mib`) and
    /// the line and column.
    pub fn from_toml(text: &str) -> Result<PartialMatrix, ConfigError> {
        let deserializer = toml::Deserializer::new(text);
        serde_path_to_error::deserialize(deserializer).map_err(|err| {
            let path = err.path().to_string();
            let inner = err.into_inner();
            let (line, column) = match inner.span() {
                Some(span) => {
                    let (line, column) = line_column(text, span.start);
                    (Some(line), Some(column))
                }
                None => (None, None),
            };
            ConfigError {
                key: (path != ".").then_some(path),
                line,
                column,
                message: inner.message().trim_end_matches('.').to_owned(),
            }
        })
    }
}

/// The 1-based line and column (in characters) of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAMEWORKS: &[&str] = &["axum", "actix-web", "rocket", "hyper"];
    const BASES: &[&str] = &["scratch", "distroless", "debian"];

    #[test]
    fn issue_4_cells_are_quota_then_framework_then_base_then_endpoint_then_connections() {
        let matrix = Matrix {
            frameworks: strings(&["hyper", "axum"]),
            bases: strings(&["scratch", "debian"]),
            cpus: vec![CpuQuota::fargate(1.0), CpuQuota::fargate(0.25)],
            connections: vec![64, 1],
            endpoints: vec![Endpoint::Hello, Endpoint::Sleep { ms: 100 }],
            ..Matrix::default()
        };
        let ids: Vec<String> = matrix.cells().iter().map(Cell::id).collect();
        let expected = [
            "hyper/scratch/1cpu/hello/c64",
            "hyper/scratch/1cpu/hello/c1",
            "hyper/scratch/1cpu/sleep-100ms/c64",
            "hyper/scratch/1cpu/sleep-100ms/c1",
            "hyper/debian/1cpu/hello/c64",
            "hyper/debian/1cpu/hello/c1",
            "hyper/debian/1cpu/sleep-100ms/c64",
            "hyper/debian/1cpu/sleep-100ms/c1",
            "axum/scratch/1cpu/hello/c64",
            "axum/scratch/1cpu/hello/c1",
            "axum/scratch/1cpu/sleep-100ms/c64",
            "axum/scratch/1cpu/sleep-100ms/c1",
            "axum/debian/1cpu/hello/c64",
            "axum/debian/1cpu/hello/c1",
            "axum/debian/1cpu/sleep-100ms/c64",
            "axum/debian/1cpu/sleep-100ms/c1",
        ];
        assert_eq!(ids[..16], expected);
        assert_eq!(ids.len(), 32);
        assert_eq!(ids[16], "hyper/scratch/0.25cpu/hello/c64");
        assert_eq!(ids[31], "axum/debian/0.25cpu/sleep-100ms/c1");
        let unique: BTreeSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "ids are unique");
    }

    #[test]
    fn process_backend_cells_have_the_process_base() {
        let matrix = Matrix {
            backend: Backend::Process,
            bases: strings(&["scratch", "debian", "nonsense"]),
            ..Matrix::default()
        };
        matrix.validate(FRAMEWORKS, BASES).unwrap();
        assert!(matrix.cells().iter().all(|cell| cell.base == PROCESS_BASE));
        assert_eq!(matrix.cells().len(), 16);
        assert_eq!(
            matrix.images()[0],
            ("axum".to_owned(), "process".to_owned())
        );
    }

    #[test]
    fn default_takes_about_ten_minutes_and_quick_about_one() {
        let default = Matrix::default();
        default.validate(FRAMEWORKS, BASES).unwrap();
        assert_eq!(default.cells().len(), 16);
        assert_eq!(default.cell_estimate(), Duration::from_secs(35));
        assert_eq!(default.estimate(), Duration::from_secs(582));

        let quick = Matrix::quick();
        quick.validate(FRAMEWORKS, BASES).unwrap();
        assert_eq!(quick.cells().len(), 8);
        assert_eq!(quick.estimate(), Duration::from_millis(69_200));
        assert_eq!(quick.remaining_estimate(3), Duration::from_secs(21));
    }

    #[test]
    fn fargate_sizes_and_workers() {
        let sizes: Vec<(f64, u64, u32)> = [0.25, 0.5, 1.0, 2.0, 1.5]
            .into_iter()
            .map(CpuQuota::fargate)
            .map(|q| (q.vcpus, q.memory_mib, q.workers()))
            .collect();
        assert_eq!(
            sizes,
            [
                (0.25, 512, 1),
                (0.5, 1024, 1),
                (1.0, 2048, 1),
                (2.0, 4096, 2),
                (1.5, 3072, 2)
            ]
        );
        let quota = CpuQuota::fargate(0.25);
        assert_eq!(quota.nano_cpus(), 250_000_000);
        assert_eq!(quota.memory_bytes(), 536_870_912);
        assert_eq!(quota.label(), "0.25cpu");
        assert_eq!("0.5:300".parse::<CpuQuota>().unwrap().memory_mib, 300);
        assert!("half".parse::<CpuQuota>().is_err());
    }

    #[test]
    fn endpoints_parse_and_refuse_with_the_accepted_forms() {
        assert_eq!("/hello".parse(), Ok(Endpoint::Hello));
        assert_eq!("/sleep/100".parse(), Ok(Endpoint::Sleep { ms: 100 }));
        for bad in [
            "hello",
            "/hello/",
            "/sleep/",
            "/sleep/0",
            "/sleep/-5",
            "/sleep/1.5",
            "/sleep/60001",
            "/sleep/99999999999999999999999",
        ] {
            let err = bad.parse::<Endpoint>().unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "invalid endpoint \"{bad}\": use /hello or /sleep/<ms> with <ms> a whole number from 1 to 60000"
                )
            );
        }
        let sleep = Endpoint::Sleep { ms: 100 };
        assert_eq!(sleep.path(), "/sleep/100");
        assert_eq!(sleep.expected_rate(20), Some(200.0));
        assert_eq!(Endpoint::Hello.expected_rate(20), None);
    }

    #[test]
    fn cpusets_parse_to_canonical_text() {
        let set: CpuSet = "3, 0-1,2,7".parse().unwrap();
        assert_eq!(set.ids(), [0, 1, 2, 3, 7]);
        assert_eq!(set.to_string(), "0-3,7");
        assert_eq!(set.len(), 5);
        assert!(set.overlaps(&"7".parse().unwrap()));
        assert!(!set.overlaps(&"4-6".parse().unwrap()));
        for bad in ["", "a", "3-1", "1,", "-1"] {
            assert!(bad.parse::<CpuSet>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn validation_names_the_key_and_the_valid_values() {
        let check = |change: fn(&mut Matrix)| {
            let mut matrix = Matrix::default();
            change(&mut matrix);
            matrix.validate(FRAMEWORKS, BASES).unwrap_err().to_string()
        };
        assert_eq!(
            check(|m| m.frameworks = strings(&["axum", "flask"])),
            "invalid frameworks (--frameworks): unknown name \"flask\": valid names are axum, actix-web, rocket, hyper"
        );
        assert_eq!(
            check(|m| m.bases = strings(&["alpine"])),
            "invalid bases (--bases): unknown name \"alpine\": valid names are scratch, distroless, debian"
        );
        assert_eq!(
            check(|m| m.bases.clear()),
            "invalid bases (--bases): the list is empty: give at least one value"
        );
        assert_eq!(
            check(|m| m.connections = vec![1, 0]),
            "invalid connections (--connections): 0 connections measure nothing: give at least 1"
        );
        assert_eq!(
            check(|m| m.connections = vec![16, 16]),
            "invalid connections (--connections): 16 is listed twice"
        );
        assert_eq!(
            check(|m| m.cpus = vec![CpuQuota::fargate(2.0)]),
            "invalid cpus (--cpus): 2 vCPU is more than the 1 CPU(s) of server-cpus \"1\": widen server-cpus or lower the quota"
        );
        assert_eq!(
            check(|m| m.cpus = vec![CpuQuota::fargate(0.0)]),
            "invalid cpus (--cpus): 0 vCPU is not a quota: give at least 0.01"
        );
        assert_eq!(
            check(|m| m.generator_cpus = "0-1".parse().unwrap()),
            "invalid generator-cpus (--generator-cpus): \"0-1\" shares CPUs with server-cpus \"1\": the load generator and the server must run on different CPUs"
        );
        assert_eq!(
            check(|m| m.repetitions = 0),
            "invalid repetitions (--repetitions): give at least 1 repetition (3 or more for a meaningful spread)"
        );
        let wide = Matrix {
            server_cpus: "1-3".parse().unwrap(),
            ..Matrix::default()
        };
        assert_eq!(
            wide.validate_host(2).unwrap_err().to_string(),
            "invalid server-cpus (--server-cpus): CPU 3 does not exist: this host has CPUs 0 to 1"
        );
        Matrix::default().validate_host(2).unwrap();
    }

    #[test]
    fn a_matrix_file_overlays_the_defaults() {
        let file = r#"
            frameworks = ["axum", "hyper"]
            cpus = [0.25, "0.5:700", { vcpus = 1, memory-mib = 4096 }]
            endpoints = ["/hello", "/sleep/100"]
            warmup = "500ms"
            startup-runs = 0
            backend = "process"
        "#;
        let mut matrix = Matrix::default();
        matrix.apply(PartialMatrix::from_toml(file).unwrap());
        matrix.validate(FRAMEWORKS, BASES).unwrap();
        assert_eq!(matrix.frameworks, ["axum", "hyper"]);
        assert_eq!(
            matrix.cpus,
            [
                CpuQuota {
                    vcpus: 0.25,
                    memory_mib: 512
                },
                CpuQuota {
                    vcpus: 0.5,
                    memory_mib: 700
                },
                CpuQuota {
                    vcpus: 1.0,
                    memory_mib: 4096
                },
            ]
        );
        assert_eq!(matrix.warmup, Duration::from_millis(500));
        assert_eq!(
            matrix.duration,
            Duration::from_secs(10),
            "kept from the default"
        );
        assert_eq!(matrix.backend, Backend::Process);
        assert_eq!(matrix.startup_runs, 0);
    }

    #[test]
    fn the_documented_matrix_file_is_valid() {
        let file = r#"
            backend = "docker"
            frameworks = ["axum", "hyper"]
            bases = ["scratch", "debian"]
            cpus = [0.25, 0.5, { vcpus = 1, memory-mib = 4096 }]
            connections = [1, 16, 64, 256]
            endpoints = ["/hello", "/sleep/100"]
            warmup = "3s"
            duration = "10s"
            repetitions = 3
            startup-runs = 5
            server-cpus = "1"
            generator-cpus = "0"
            ready-timeout = "10s"
            stop-timeout = "10s"
        "#;
        let mut matrix = Matrix::quick();
        matrix.apply(PartialMatrix::from_toml(file).unwrap());
        matrix.validate(FRAMEWORKS, BASES).unwrap();
        assert_eq!(matrix.cells().len(), 2 * 2 * 3 * 4 * 2);
        assert_eq!(matrix.repetitions, 3);
    }

    #[test]
    fn matrix_file_errors_name_the_key_and_the_place() {
        let err = |text: &str| PartialMatrix::from_toml(text).unwrap_err().to_string();
        insta::assert_snapshot!(err("conections = [1]"), @"key `conections`: line 1, column 1: unknown field `conections`, expected one of `backend`, `frameworks`, `bases`, `cpus`, `connections`, `endpoints`, `warmup`, `duration`, `repetitions`, `startup-runs`, `server-cpus`, `generator-cpus`, `ready-timeout`, `stop-timeout`");
        insta::assert_snapshot!(err("duration = \"10x\""), @r#"key `duration`: line 1, column 12: invalid duration "10x" (unknown time unit "x", supported units: ns, us/µs, ms, sec, min, hours, days, weeks, months, years (and few variations)): write it like "10s" or "500ms""#);
        insta::assert_snapshot!(err("duration = 10"), @r#"key `duration`: line 1, column 12: invalid type: integer `10`, expected a duration with its unit, like "10s" or "500ms""#);
        insta::assert_snapshot!(err("endpoints = [\"/hello\", \"/slep/5\"]"), @r#"key `endpoints[1]`: line 1, column 13: invalid endpoint "/slep/5": use /hello or /sleep/<ms> with <ms> a whole number from 1 to 60000"#);
        insta::assert_snapshot!(err("connections = [1, -4]"), @"key `connections[1]`: line 1, column 19: invalid value: integer `-4`, expected u32");
        insta::assert_snapshot!(err("cpus = [0.5, { vcpus = 1, memory = 4096 }]"), @"key `cpus[1].memory`: line 1, column 27: unknown field `memory`, expected `vcpus` or `memory-mib`");
        insta::assert_snapshot!(err("cpus = [true]"), @r#"key `cpus[0]`: line 1, column 9: invalid type: boolean `true`, expected a CPU quota: vCPUs like 0.5, "0.5:1024" (memory in MiB) or { vcpus = 0.5, memory-mib = 1024 }"#);
        insta::assert_snapshot!(err("server-cpus = \"one\""), @r#"key `server-cpus`: line 1, column 15: invalid CPU set "one": write CPU ids like "1", "0-3" or "0,2-3""#);
        insta::assert_snapshot!(err("backend = \"podman\""), @"key `backend`: line 1, column 11: unknown variant `podman`, expected `docker` or `process`");
        insta::assert_snapshot!(err("frameworks = [\"axum\""), @r"
        line 1, column 21: invalid array
        expected `]`
    ");
    }

    #[test]
    fn a_matrix_survives_results_json() {
        let matrix = Matrix::quick();
        let json = serde_json::to_string(&matrix).unwrap();
        assert!(json.contains(r#""warmup":"1s""#), "{json}");
        assert!(
            json.contains(r#""endpoints":["/hello","/sleep/100"]"#),
            "{json}"
        );
        let back: Matrix = serde_json::from_str(&json).unwrap();
        assert_eq!(back, matrix);
    }
}
