//! The measurement plan: the matrix `bench-runner run` measures, its defaults, its TOML file,
//! its validation and its expansion into cells, in one pinned order.
//!
//! The flow the runner follows: start from [`Matrix::default`] or [`Matrix::quick`], overlay
//! a matrix file ([`Settings::from_toml`]) and then the flags (a [`Settings`] the
//! CLI fills), check the result with [`Matrix::validate`], and measure [`Matrix::cells`] in
//! order. Every matrix key is also a flag of the same name (`connections` ↔
//! `--connections`), so [`InvalidSetting::key`] names both.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

use crate::catalog::{Backend, Base, Framework, Generator, Packaging};
use crate::fargate::sizes::{FargateSize, SizeError};
use crate::units::{Micros, RequestsPerSec, parse_duration};

// The largest `<ms>` a `/sleep/<ms>` endpoint may ask for is the services' own limit.
use svc_common::reply::MAX_SLEEP_MS;

/// The smallest CPU quota Docker accepts (`--cpus 0.01`).
pub const MIN_VCPUS: f64 = 0.01;

/// The smallest memory limit Docker accepts, in MiB.
pub const MIN_MEMORY_MIB: u64 = 6;

/// What the runner expects a cell to cost beyond its load phases: create and start the
/// container, wait for `/hello`, stop it with SIGTERM and remove it. Used only for estimates.
pub const CELL_OVERHEAD: Duration = Duration::from_secs(2);

/// What the runner expects a repetition to cost beyond its load: starting oha's process, and
/// reading back every request oha stored (about 2.5 µs each) into the HDR histogram. Used
/// only for estimates.
pub const REPETITION_OVERHEAD: Duration = Duration::from_millis(600);

/// What the runner expects one cold start of an image to cost in the startup phase: start to
/// first 200 is about 0.3 s on this kind of machine, stopping and removing the rest.
pub const STARTUP_RUN_OVERHEAD: Duration = Duration::from_secs(1);

/// What one cold start of a bare process costs (about 1.5 ms to first 200, plus the stop).
pub const PROCESS_STARTUP_RUN_OVERHEAD: Duration = Duration::from_millis(100);

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

    /// The Fargate size a task with this quota and memory is billed as: the cheapest that
    /// holds both. `None` when none does (more than 16 vCPU or 120 GB), which has no cost.
    pub fn billed_fargate_size(&self) -> Option<FargateSize> {
        FargateSize::smallest_fitting(self.vcpus, self.memory_mib)
    }

    /// The Fargate task size this quota is, exactly: its vCPUs × 1024 one of Fargate's CPU
    /// units and its memory one Fargate allows with them. No rounding up to a larger size:
    /// under the ecs backend a task gets all of its size's vCPUs, so a quota between sizes
    /// would be measured at another size.
    pub fn fargate_size(&self) -> Result<FargateSize, SizeError> {
        let units = self.vcpus * 1024.0;
        if !(units.is_finite()
            && units >= 1.0
            && units.fract() == 0.0
            && units <= f64::from(u32::MAX))
        {
            return Err(SizeError::UnknownCpu { vcpus: self.vcpus });
        }
        let memory_mib = u32::try_from(self.memory_mib).unwrap_or(u32::MAX);
        FargateSize::new(units as u32, memory_mib)
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

/// A fixed arrival rate for oha's rate mode: so many requests per second (`5000`), or a share
/// of the same cell's closed-loop maximum measured earlier in the run (`50%`): the median
/// 2xx rate of the cell that differs from it only in being a closed loop.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RateSpec {
    PerSecond(RequestsPerSec),
    /// In percent.
    ShareOfMax(f64),
}

/// The largest share of the closed-loop maximum `--rates` takes: up to twice the maximum,
/// enough to watch a server fall behind.
pub const MAX_RATE_SHARE_PERCENT: f64 = 200.0;

impl RateSpec {
    /// The rate in cell ids, file names and CSV: `rate-5000`, `rate-50pct` (no `%`, which
    /// URLs would have to escape).
    pub fn label(&self) -> String {
        match self {
            RateSpec::PerSecond(rate) => format!("rate-{rate}"),
            RateSpec::ShareOfMax(percent) => format!("rate-{percent}pct"),
        }
    }

    /// The rate as the flag takes it: `5000`, `50%`.
    pub fn spec(&self) -> String {
        match self {
            RateSpec::PerSecond(rate) => rate.to_string(),
            RateSpec::ShareOfMax(percent) => format!("{percent}%"),
        }
    }

    /// The target in req/s, given the closed-loop maximum of the cell's twin when it is
    /// known; `None` for a share of a maximum that was not measured.
    pub fn target(&self, closed_loop_max: Option<RequestsPerSec>) -> Option<RequestsPerSec> {
        match self {
            RateSpec::PerSecond(rate) => Some(*rate),
            RateSpec::ShareOfMax(percent) => closed_loop_max.map(|max| max * percent / 100.0),
        }
    }
}

impl fmt::Display for RateSpec {
    /// `5000 req/s`, `50 %`: as headings write it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RateSpec::PerSecond(rate) => write!(f, "{rate} req/s"),
            RateSpec::ShareOfMax(percent) => write!(f, "{percent} % of the closed-loop maximum"),
        }
    }
}

/// Reads `5000` (req/s) or `50%` (of the closed-loop maximum).
impl FromStr for RateSpec {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let err = || {
            format!(
                "invalid rate \"{text}\": give requests per second like \"5000\", or a share of the cell's closed-loop maximum like \"50%\" (above 0, at most {MAX_RATE_SHARE_PERCENT}%)"
            )
        };
        let trimmed = text.trim();
        let (number, share) = match trimmed.strip_suffix('%') {
            Some(number) => (number.trim(), true),
            None => (trimmed, false),
        };
        let value: f64 = number.parse().map_err(|_| err())?;
        if !value.is_finite() || value <= 0.0 {
            return Err(err());
        }
        if share {
            if value > MAX_RATE_SHARE_PERCENT {
                return Err(err());
            }
            Ok(RateSpec::ShareOfMax(value))
        } else {
            Ok(RateSpec::PerSecond(value))
        }
    }
}

impl Serialize for RateSpec {
    /// `"5000"` or `"50%"`, the form the flag takes.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.spec())
    }
}

impl<'de> Deserialize<'de> for RateSpec {
    /// A number (req/s) or a string as the flag takes it.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct RateVisitor;

        impl Visitor<'_> for RateVisitor {
            type Value = RateSpec;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a rate: requests per second like 5000, or a share of the closed-loop maximum like \"50%\"")
            }

            fn visit_f64<E: de::Error>(self, rate: f64) -> Result<RateSpec, E> {
                rate.to_string().parse().map_err(E::custom)
            }

            fn visit_i64<E: de::Error>(self, rate: i64) -> Result<RateSpec, E> {
                self.visit_f64(rate as f64)
            }

            fn visit_u64<E: de::Error>(self, rate: u64) -> Result<RateSpec, E> {
                self.visit_f64(rate as f64)
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<RateSpec, E> {
                text.parse().map_err(E::custom)
            }
        }

        d.deserialize_any(RateVisitor)
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
    /// The frameworks measured.
    pub frameworks: Vec<Framework>,
    /// The bases their images are built on. Ignored by the `process` backend.
    pub bases: Vec<Base>,
    /// CPU quotas with their memory limits.
    pub cpus: Vec<CpuQuota>,
    /// Connections the generator keeps open: each carries one request at a time.
    pub connections: Vec<u32>,
    /// Whether connections are kept alive (`true`) or each request opens its own (`false`:
    /// connection churn, which measures TCP setup and teardown too).
    #[serde(default = "keep_alive_only")]
    pub keep_alive: Vec<bool>,
    /// Fixed arrival rates: each closed-loop cell at the largest connection count also runs at
    /// each of them, in a comparison group of its own measured after the closed loop's, with
    /// oha's `-q` and `--latency-correction`. The connections are then a pool that carries
    /// the scheduled requests, and the largest pool is the one least likely to be what
    /// limits the rate. Empty: closed loops only.
    #[serde(default)]
    pub rates: Vec<RateSpec>,
    /// The generator that loads every cell.
    #[serde(default)]
    pub generator: Generator,
    /// Frameworks whose closed-loop cells are also loaded by the other generator, in the same
    /// comparison group, so both generators measure the same service in the same minutes.
    /// Frameworks not in `frameworks` are left out.
    #[serde(default)]
    pub cross_check: Vec<Framework>,
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
    /// Cold starts per image (and per bare binary) in the startup phase; 0 skips it. The
    /// ecs backend has no startup phase ([`Matrix::startup_phase_runs`]).
    pub startup_runs: u32,
    /// The CPUs the server may run on; unused under the ecs backend, whose tasks get their
    /// size's vCPUs.
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

fn keep_alive_only() -> Vec<bool> {
    vec![true]
}

fn cpuset(text: &str) -> CpuSet {
    text.parse().expect("built-in CPU sets are valid")
}

impl Default for Matrix {
    /// The default run: about fifteen minutes on two cores ([`Matrix::estimate`] says 14 min 56 s,
    /// builds aside).
    ///
    /// Every framework of the catalog on `scratch`, at 0.5 vCPU (Fargate's 0.5 vCPU / 1 GiB
    /// size), at 1 connection (latency-bound: each framework's own latency) and 64
    /// connections (throughput-bound: the quota is saturated while one core of oha keeps
    /// up), on `/hello`; 2 s of warm-up, then 12 interleaved rounds of 1.5 s; 5 cold starts
    /// per image. Then each framework at a fixed rate of half its own closed-loop maximum over
    /// 64 connections (the latency it shows when it is not saturated, with coordinated
    /// omission corrected), and axum's two closed loops loaded by wrk as well, in the same
    /// rounds: the cross-check of the generator. Twelve rounds because the 95 % interval of a median of twelve is
    /// `[x(3), x(10)]`, which two stray rounds on either side cannot move, where six give
    /// only `[min, max]`: two default runs of six rounds of 3 s here had single rounds 50 %
    /// off their cell's median, and intervals as wide as the differences they were to
    /// judge. 1.5 s each to fit them in fifteen minutes, which is safe: 1.5 s at 0.5 vCPU is 15
    /// CFS periods and 20–50k requests, small noise next to the drift between rounds that the
    /// rounds exist to pair out. The 1 vCPU cells are left out to fit nine frameworks in fifteen minutes: at 64
    /// connections one core of oha cannot saturate one core of most servers
    /// (generator-bound), and at 1 connection they repeat the 0.5 vCPU latency.
    /// `matrices/full.toml` is the full sweep. The server runs on CPU 1, oha on CPU 0.
    fn default() -> Self {
        Matrix {
            backend: Backend::Docker,
            frameworks: Framework::ALL.to_vec(),
            bases: vec![Base::Scratch],
            cpus: vec![CpuQuota::fargate(0.5)],
            connections: vec![1, 64],
            keep_alive: keep_alive_only(),
            rates: vec![RateSpec::ShareOfMax(50.0)],
            generator: Generator::Oha,
            cross_check: vec![Framework::Axum],
            endpoints: vec![Endpoint::Hello],
            warmup: Duration::from_secs(2),
            duration: Duration::from_millis(1500),
            repetitions: 12,
            startup_runs: 5,
            server_cpus: cpuset("1"),
            generator_cpus: cpuset("0"),
            ready_timeout: Duration::from_secs(10),
            stop_timeout: Duration::from_secs(10),
        }
    }
}

impl Matrix {
    /// `--quick`: a smoke run of about four minutes ([`Matrix::estimate`] says 4 min 15 s)
    /// that touches every framework, the timing check, the fixed rate and the cross-check.
    ///
    /// Every framework on `scratch` at 1 vCPU and 16 connections, on `/hello` and
    /// `/sleep/100` (expected 160 req/s, so the timing check shows), in a closed loop and at
    /// half of it, and axum under wrk too; 1 s of warm-up, then 2 interleaved rounds of 1 s
    /// (two, so the spread and the noisy flag mean something); 2 cold starts per image. 38
    /// cells of about 6 s. `/sleep/100` rather than a shorter sleep
    /// because the services' timer (tokio's) rounds a sleep up to its next millisecond tick:
    /// about 1 ms on top of every sleep, 10 % of `/sleep/10` but 1 % of `/sleep/100`.
    pub fn quick() -> Self {
        Matrix {
            cpus: vec![CpuQuota::fargate(1.0)],
            connections: vec![16],
            endpoints: vec![Endpoint::Hello, Endpoint::Sleep { ms: 100 }],
            warmup: Duration::from_secs(1),
            duration: Duration::from_secs(1),
            repetitions: 2,
            startup_runs: 2,
            ..Matrix::default()
        }
    }

    /// `bench-runner cross-check`, written out in `matrices/cross-check.toml`: axum on
    /// scratch at 0.5 vCPU and 64 connections on `/hello`, a server-bound cell (the quota is
    /// saturated while one core of either generator keeps up), loaded by oha and by wrk in
    /// turns: 2 s of warm-up, then 12 interleaved rounds of 3 s. About a minute and a half.
    pub fn cross_check() -> Self {
        Matrix {
            frameworks: vec![Framework::Axum],
            connections: vec![64],
            rates: Vec::new(),
            cross_check: vec![Framework::Axum],
            duration: Duration::from_secs(3),
            startup_runs: 0,
            ..Matrix::default()
        }
    }

    /// What the cells' services run from: an image on each of the matrix's bases (a
    /// container's, or a Fargate task's), or the bare binary under the process backend.
    pub fn packagings(&self) -> Vec<Packaging> {
        match self.backend {
            Backend::Docker | Backend::Ecs => self
                .bases
                .iter()
                .map(|&base| Packaging::Image(base))
                .collect(),
            Backend::Process => vec![Packaging::Process],
        }
    }

    /// The cells to measure, in the order they are measured and listed:
    /// CPU quota → framework → base → endpoint → connections → keep-alive, each dimension in
    /// the order the matrix gives it; then after each closed-loop cell its cross-check twin
    /// (the other generator) and, at the largest connection count, its fixed-rate cells. Quota-major matches the tables (one per quota) and makes a partial run
    /// cover whole tables first; connections innermost keeps a framework's cells together,
    /// with the same container settings.
    ///
    /// Expands whatever the matrix holds: call [`Matrix::validate`] first.
    pub fn cells(&self) -> Vec<Cell> {
        let packagings = self.packagings();
        let pool = self.connections.iter().copied().max();
        let mut cells = Vec::new();
        for &cpu in &self.cpus {
            for &framework in &self.frameworks {
                for &base in &packagings {
                    for &endpoint in &self.endpoints {
                        for &connections in &self.connections {
                            for &keep_alive in &self.keep_alive {
                                let closed = Cell {
                                    framework,
                                    base,
                                    cpu,
                                    endpoint,
                                    connections,
                                    keep_alive,
                                    rate: None,
                                    generator: self.generator,
                                };
                                if keep_alive && self.cross_check.contains(&framework) {
                                    cells.push(closed.clone());
                                    cells.push(Cell {
                                        generator: self.generator.other(),
                                        ..closed
                                    });
                                } else {
                                    cells.push(closed.clone());
                                }
                                if Some(connections) == pool {
                                    for &rate in &self.rates {
                                        cells.push(Cell {
                                            rate: Some(rate),
                                            ..closed.clone()
                                        });
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        cells
    }

    /// What the startup phase starts, framework-major: every image, or under the process
    /// backend every bare binary.
    pub fn images(&self) -> Vec<(Framework, Packaging)> {
        let packagings = self.packagings();
        self.frameworks
            .iter()
            .flat_map(|&framework| packagings.iter().map(move |&base| (framework, base)))
            .collect()
    }

    /// How long one cell takes: warm-up, the repetitions (each with
    /// [`REPETITION_OVERHEAD`]) and [`CELL_OVERHEAD`].
    pub fn cell_estimate(&self) -> Duration {
        self.warmup + (self.duration + REPETITION_OVERHEAD) * self.repetitions + CELL_OVERHEAD
    }

    /// The cold starts the startup phase makes of each image and bare binary:
    /// [`Matrix::startup_runs`], or none under the ecs backend, which has no startup phase
    /// (`bench-runner fargate run` is what times a task's launch).
    pub fn startup_phase_runs(&self) -> u32 {
        match self.backend {
            Backend::Docker | Backend::Process => self.startup_runs,
            Backend::Ecs => 0,
        }
    }

    /// How long the startup phase takes: [`Matrix::startup_phase_runs`] cold starts of every
    /// image (at [`STARTUP_RUN_OVERHEAD`]) and of every bare binary (at
    /// [`PROCESS_STARTUP_RUN_OVERHEAD`]).
    pub fn startup_estimate(&self) -> Duration {
        let runs = self.startup_phase_runs();
        let process_runs = self.frameworks.len() as u32 * runs;
        let image_runs = match self.backend {
            Backend::Docker => self.images().len() as u32 * runs,
            Backend::Process | Backend::Ecs => 0,
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

    /// The generator's CPU limit as a percentage of one core: 100 per generator CPU.
    pub fn generator_limit_percent(&self) -> f64 {
        self.generator_cpus.len() as f64 * 100.0
    }

    /// Overlays the settings `settings` has; the others stay.
    pub fn apply(&mut self, settings: Settings) {
        let Settings {
            backend,
            frameworks,
            bases,
            cpus,
            connections,
            keep_alive,
            rates,
            generator,
            cross_check,
            endpoints,
            warmup,
            duration,
            repetitions,
            startup_runs,
            server_cpus,
            generator_cpus,
            ready_timeout,
            stop_timeout,
        } = settings;
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
        set(&mut self.keep_alive, keep_alive);
        set(&mut self.rates, rates);
        set(&mut self.generator, generator);
        set(&mut self.cross_check, cross_check);
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

    /// Checks every setting, so that a bad one fails before any container starts. The error
    /// names the key (and so the flag).
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        non_empty("frameworks", &self.frameworks)?;
        no_duplicates("frameworks", &self.frameworks)?;
        if self.backend != Backend::Process {
            non_empty("bases", &self.bases)?;
            no_duplicates("bases", &self.bases)?;
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
            if self.backend == Backend::Ecs {
                // A task's CPUs are Fargate's, not server-cpus'; its size is the quota.
                if let Err(err) = quota.fargate_size() {
                    return Err(InvalidSetting::new(
                        "cpus",
                        format!(
                            "{err} (under the ecs backend each quota is a Fargate task size: a task gets all of its size's vCPUs and memory, so a quota between sizes would be measured at another size)"
                        ),
                    ));
                }
            } else if quota.vcpus > self.server_cpus.len() as f64 {
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

        non_empty("keep-alive", &self.keep_alive)?;
        no_duplicates("keep-alive", &self.keep_alive)?;
        for (i, rate) in self.rates.iter().enumerate() {
            if self.rates[..i].contains(rate) {
                return Err(InvalidSetting::new(
                    "rates",
                    format!("{} is listed twice", rate.label()),
                ));
            }
        }
        if self.generator == Generator::Wrk && !self.rates.is_empty() {
            return Err(InvalidSetting::new(
                "generator",
                "wrk has no fixed-rate mode (wrk2 has one, Debian ships wrk), so it cannot run the cells of --rates: use oha, or give no rates".to_owned(),
            ));
        }
        no_duplicates("cross-check", &self.cross_check)?;

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
        Ok(())
    }

    /// Checks the CPU sets against the machines they are on: each set's CPUs must exist
    /// (ids 0 to cores - 1), and on one machine the two sets must not share a CPU. A server
    /// on machines whose CPUs the matrix does not choose leaves only the generator's set to
    /// check.
    pub fn validate_host(&self, machines: Machines) -> Result<(), InvalidSetting> {
        let (server, generator_cores) = match machines {
            Machines::One { cores } => (Some((cores, "this host")), cores),
            Machines::Two {
                server_cores,
                generator_cores,
            } => (
                Some((server_cores, "the engine's machine")),
                generator_cores,
            ),
            Machines::GeneratorOnly { generator_cores } => (None, generator_cores),
        };
        let server =
            server.map(|(cores, machine)| ("server-cpus", &self.server_cpus, cores, machine));
        let generator = (
            "generator-cpus",
            &self.generator_cpus,
            generator_cores,
            "this host",
        );
        for (key, set, cores, machine) in server.into_iter().chain([generator]) {
            if set.max_id() >= cores {
                return Err(InvalidSetting::new(
                    key,
                    format!(
                        "CPU {} does not exist: {machine} has CPUs 0 to {}",
                        set.max_id(),
                        cores.saturating_sub(1)
                    ),
                ));
            }
        }
        if matches!(machines, Machines::One { .. })
            && self.server_cpus.overlaps(&self.generator_cpus)
        {
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
}

/// Where the server and the load generator run, for [`Matrix::validate_host`]: the CPUs
/// their machines have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Machines {
    /// Both on this machine, whose CPUs they must not share.
    One { cores: u32 },
    /// The server on a remote engine's machine, the generator on this one: the same CPU ids
    /// are different CPUs.
    Two {
        server_cores: u32,
        generator_cores: u32,
    },
    /// The server on machines whose CPUs the matrix does not choose (the ecs backend's
    /// Fargate tasks), the generator on this one: only `generator-cpus` is checked.
    GeneratorOnly { generator_cores: u32 },
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
    pub framework: Framework,
    /// An image on a base, or the bare binary under the process backend.
    pub base: Packaging,
    pub cpu: CpuQuota,
    pub endpoint: Endpoint,
    /// Connections the generator keeps open: a closed loop's concurrency, a fixed rate's
    /// pool.
    pub connections: u32,
    /// `false`: every request on a connection of its own (connection churn).
    #[serde(default = "keep_alive_on", skip_serializing_if = "is_true")]
    pub keep_alive: bool,
    /// A fixed arrival rate; `None` for a closed loop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<RateSpec>,
    #[serde(default, skip_serializing_if = "Generator::is_oha")]
    pub generator: Generator,
}

fn keep_alive_on() -> bool {
    true
}

fn is_true(value: &bool) -> bool {
    *value
}

impl Cell {
    /// The cell's stable name, which `--resume` matches finished cells by:
    /// `axum/scratch/0.5cpu/hello/c64`, `hyper/process/1cpu/sleep-100ms/c16`, then what
    /// differs from a closed loop with keep-alive under oha: `…/c64/churn`, `…/c64/rate-50pct`,
    /// `…/c64/wrk`.
    pub fn id(&self) -> String {
        let mut id = format!(
            "{}/{}/{}/{}/c{}",
            self.framework,
            self.base,
            self.cpu.label(),
            self.endpoint.label(),
            self.connections
        );
        if !self.keep_alive {
            id.push_str("/churn");
        }
        if let Some(rate) = &self.rate {
            id.push('/');
            id.push_str(&rate.label());
        }
        if !self.generator.is_oha() {
            id.push('/');
            id.push_str(self.generator.name());
        }
        id
    }

    /// The closed-loop cell this fixed-rate cell takes its maximum from: the same cell
    /// without the rate. `None` for a closed loop.
    pub fn closed_loop_twin(&self) -> Option<Cell> {
        self.rate.map(|_| Cell {
            rate: None,
            ..self.clone()
        })
    }

    /// The quota the server runs under; `None` for a bare process, which the process backend
    /// pins to its CPUs without any quota.
    pub fn cpu_quota(&self) -> Option<CpuQuota> {
        (self.base != Packaging::Process).then_some(self.cpu)
    }

    /// The comparison group of the cell: the cells that differ from it only in framework
    /// and base, which run interleaved and are compared with each other.
    pub fn group(&self) -> GroupKey {
        GroupKey {
            cpu: self.cpu,
            endpoint: self.endpoint,
            connections: self.connections,
            keep_alive: self.keep_alive,
            rate: self.rate,
        }
    }

    /// `WORKERS` for the service under this cell's quota.
    pub fn workers(&self) -> u32 {
        self.cpu.workers()
    }

    /// The rate a perfect harness would measure, for closed-loop `/sleep/<ms>` cells.
    pub fn expected_rate(&self) -> Option<RequestsPerSec> {
        if self.rate.is_some() {
            return None;
        }
        self.endpoint.expected_rate(self.connections)
    }

    /// The server CPU a request may cost at most when the quota is saturated at `rate`, in
    /// µs: handy to read CPU µs per request against.
    pub fn quota_us_per_request(&self, rate: RequestsPerSec) -> Option<Micros> {
        (rate > 0.0).then(|| self.cpu.vcpus * 1e6 / rate)
    }
}

/// What the cells of a comparison group share: the same quota, endpoint and load. The
/// generator is not part of it: a cross-check's two generators load the same service in the
/// same rounds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupKey {
    pub cpu: CpuQuota,
    pub endpoint: Endpoint,
    pub connections: u32,
    #[serde(default = "keep_alive_on", skip_serializing_if = "is_true")]
    pub keep_alive: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<RateSpec>,
}

impl GroupKey {
    /// `0.5cpu/hello/c64`, `0.5cpu/hello/c64/churn`, `0.5cpu/hello/c64/rate-50pct`.
    pub fn id(&self) -> String {
        let mut id = format!(
            "{}/{}/c{}",
            self.cpu.label(),
            self.endpoint.label(),
            self.connections
        );
        if !self.keep_alive {
            id.push_str("/churn");
        }
        if let Some(rate) = &self.rate {
            id.push('/');
            id.push_str(&rate.label());
        }
        id
    }
}

impl Matrix {
    /// The comparison groups, in the order of their first cell in [`Matrix::cells`], each
    /// with its cells in that order.
    pub fn groups(&self) -> Vec<(GroupKey, Vec<Cell>)> {
        let mut groups: Vec<(GroupKey, Vec<Cell>)> = Vec::new();
        for cell in self.cells() {
            let key = cell.group();
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, cells)) => cells.push(cell),
                None => groups.push((key, vec![cell])),
            }
        }
        groups
    }
}

/// The settings of a run, every one optional: what a matrix file holds and what the flags
/// give, each overlaid on a [`Matrix`] with [`Matrix::apply`].
///
/// Each setting is declared once, by its field here: its flag (`--startup-runs`), its
/// matrix-file key (`startup-runs`), its parser and its help all come from it, and its
/// default is the same field of [`Matrix::default`] (written out in
/// `matrices/default.toml`). [`Matrix::validate`] names the key, which is also the flag.
///
/// The file is TOML with the flags' names as keys (`matrices/example.toml` shows every
/// one). Durations are strings in humantime's syntax (`"10s"`, `"500ms"`, `"1m 30s"`), never
/// bare numbers, so their unit is always written. A CPU quota is a number of vCPUs (memory
/// as Fargate pairs it), a string `"0.5:1024"` (memory in MiB, as `--cpus` takes it) or a
/// table `{ vcpus = 0.5, memory-mib = 1024 }`. Unknown keys are errors.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, clap::Args)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Settings {
    /// Where services run [default: docker, or process when no engine answers]
    #[arg(long, value_enum)]
    pub backend: Option<Backend>,

    /// Frameworks, comma-separated
    #[arg(long, value_enum, value_delimiter = ',')]
    pub frameworks: Option<Vec<Framework>>,

    /// Bases, comma-separated
    #[arg(long, value_enum, value_delimiter = ',')]
    pub bases: Option<Vec<Base>>,

    /// CPU quotas in vCPUs, each with an optional memory limit in MiB: 0.5,1:4096 (under
    /// --backend ecs, Fargate task sizes)
    #[arg(long, value_delimiter = ',', value_name = "VCPUS[:MIB]")]
    pub cpus: Option<Vec<QuotaSpec>>,

    /// Connection counts, comma-separated
    #[arg(long, value_delimiter = ',', value_name = "N")]
    pub connections: Option<Vec<u32>>,

    /// Keep connections alive (true) or open one per request (false: churn), comma-separated
    #[arg(long, value_delimiter = ',', value_name = "BOOL")]
    pub keep_alive: Option<Vec<bool>>,

    /// Fixed arrival rates at the largest connection count: req/s (5000) or a share of the
    /// cell's closed-loop maximum (50%), comma-separated; none for closed loops only
    #[arg(long, value_delimiter = ',', value_name = "RATE", num_args = 0..)]
    pub rates: Option<Vec<RateSpec>>,

    /// The load generator of every cell (wrk: closed loops only)
    #[arg(long, value_enum)]
    pub generator: Option<Generator>,

    /// Frameworks whose closed-loop cells the other generator loads too, interleaved;
    /// none to skip the cross-check
    #[arg(long, value_enum, value_delimiter = ',', num_args = 0..)]
    pub cross_check: Option<Vec<Framework>>,

    /// Endpoints: `/hello` or `/sleep/<ms>`, comma-separated
    #[arg(long, value_delimiter = ',', value_name = "PATH")]
    pub endpoints: Option<Vec<Endpoint>>,

    /// Warm-up load before the measured repetitions (e.g. 3s)
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    #[serde(default, with = "crate::units::opt_duration_text")]
    pub warmup: Option<Duration>,

    /// Length of one measured repetition (e.g. 10s)
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    #[serde(default, with = "crate::units::opt_duration_text")]
    pub duration: Option<Duration>,

    /// Measured repetitions per cell
    #[arg(long, value_name = "N")]
    pub repetitions: Option<u32>,

    /// Cold starts per image (and per bare binary) in the startup phase; 0 skips it (none
    /// under --backend ecs)
    #[arg(long, value_name = "N")]
    pub startup_runs: Option<u32>,

    /// CPUs the services run on, as a cpuset list
    #[arg(long, value_name = "CPUS")]
    pub server_cpus: Option<CpuSet>,

    /// CPUs the load generator runs on, as a cpuset list, disjoint from --server-cpus
    #[arg(long, value_name = "CPUS")]
    pub generator_cpus: Option<CpuSet>,

    /// How long a service may take to answer /hello after it starts
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    #[serde(default, with = "crate::units::opt_duration_text")]
    pub ready_timeout: Option<Duration>,

    /// The services' shutdown grace period; a stop that takes longer ends in SIGKILL
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
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

impl Settings {
    /// Reads a matrix file. Errors name the key (as a path such as `cpus[1].memory-mib`) and
    /// the line and column.
    pub fn from_toml(text: &str) -> Result<Settings, ConfigError> {
        read_toml(text)
    }
}

/// Reads a TOML file of benchlab's (a matrix, a price table) into `T`. Errors name the key
/// as a path and the line and column.
pub(crate) fn read_toml<T: de::DeserializeOwned>(text: &str) -> Result<T, ConfigError> {
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

    #[test]
    fn cells_are_quota_then_framework_then_base_then_endpoint_then_connections() {
        let matrix = Matrix {
            frameworks: vec![Framework::Hyper, Framework::Axum],
            bases: vec![Base::Scratch, Base::Debian],
            cpus: vec![CpuQuota::fargate(1.0), CpuQuota::fargate(0.25)],
            connections: vec![64, 1],
            endpoints: vec![Endpoint::Hello, Endpoint::Sleep { ms: 100 }],
            rates: Vec::new(),
            cross_check: Vec::new(),
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
    fn each_closed_loop_is_followed_by_its_cross_check_and_at_the_pool_its_fixed_rates() {
        let matrix = Matrix {
            frameworks: vec![Framework::Hyper, Framework::Axum],
            connections: vec![1, 64],
            keep_alive: vec![true, false],
            rates: vec![RateSpec::PerSecond(5000.0), RateSpec::ShareOfMax(50.0)],
            cross_check: vec![Framework::Axum, Framework::Rocket],
            ..Matrix::default()
        };
        matrix.validate().unwrap();
        let ids: Vec<String> = matrix.cells().iter().map(Cell::id).collect();
        let expected = [
            "hyper/scratch/0.5cpu/hello/c1",
            "hyper/scratch/0.5cpu/hello/c1/churn",
            "hyper/scratch/0.5cpu/hello/c64",
            "hyper/scratch/0.5cpu/hello/c64/rate-5000",
            "hyper/scratch/0.5cpu/hello/c64/rate-50pct",
            "hyper/scratch/0.5cpu/hello/c64/churn",
            "hyper/scratch/0.5cpu/hello/c64/churn/rate-5000",
            "hyper/scratch/0.5cpu/hello/c64/churn/rate-50pct",
            // rocket is not measured, so it has no cross-check; axum's churn has none either.
            "axum/scratch/0.5cpu/hello/c1",
            "axum/scratch/0.5cpu/hello/c1/wrk",
            "axum/scratch/0.5cpu/hello/c1/churn",
            "axum/scratch/0.5cpu/hello/c64",
            "axum/scratch/0.5cpu/hello/c64/wrk",
            "axum/scratch/0.5cpu/hello/c64/rate-5000",
            "axum/scratch/0.5cpu/hello/c64/rate-50pct",
            "axum/scratch/0.5cpu/hello/c64/churn",
            "axum/scratch/0.5cpu/hello/c64/churn/rate-5000",
            "axum/scratch/0.5cpu/hello/c64/churn/rate-50pct",
        ];
        assert_eq!(ids, expected);
        // A fixed rate's closed loop is measured in an earlier group, and the wrk twin in
        // the same group as its oha cell.
        let groups: Vec<String> = matrix.groups().iter().map(|(k, _)| k.id()).collect();
        assert_eq!(
            groups,
            [
                "0.5cpu/hello/c1",
                "0.5cpu/hello/c1/churn",
                "0.5cpu/hello/c64",
                "0.5cpu/hello/c64/rate-5000",
                "0.5cpu/hello/c64/rate-50pct",
                "0.5cpu/hello/c64/churn",
                "0.5cpu/hello/c64/churn/rate-5000",
                "0.5cpu/hello/c64/churn/rate-50pct",
            ]
        );
        let cells = matrix.cells();
        let rate = &cells[4];
        assert_eq!(
            rate.closed_loop_twin().map(|c| c.id()).as_deref(),
            Some("hyper/scratch/0.5cpu/hello/c64")
        );
        assert_eq!(rate.expected_rate(), None);
        assert_eq!(
            RateSpec::ShareOfMax(50.0).target(Some(30_000.0)),
            Some(15_000.0)
        );
        assert_eq!(RateSpec::ShareOfMax(50.0).target(None), None);
        assert_eq!(RateSpec::PerSecond(5000.0).target(None), Some(5000.0));
    }

    #[test]
    fn rates_parse_as_the_flag_takes_them_and_refuse_with_the_accepted_forms() {
        assert_eq!("5000".parse(), Ok(RateSpec::PerSecond(5000.0)));
        assert_eq!(" 50% ".parse(), Ok(RateSpec::ShareOfMax(50.0)));
        assert_eq!("12.5 %".parse(), Ok(RateSpec::ShareOfMax(12.5)));
        for bad in ["0", "-5", "fast", "250%", "NaN", "%"] {
            let err = bad.parse::<RateSpec>().unwrap_err();
            assert!(
                err.contains(&format!("\"{bad}\"")) && err.contains("\"50%\""),
                "{err}"
            );
        }
        let settings = Settings::from_toml("rates = [5000, \"50%\"]").unwrap();
        assert_eq!(
            settings.rates,
            Some(vec![
                RateSpec::PerSecond(5000.0),
                RateSpec::ShareOfMax(50.0)
            ])
        );
        let json = serde_json::to_string(&settings.rates).unwrap();
        assert_eq!(json, r#"["5000","50%"]"#);
        let wrk = Matrix {
            generator: Generator::Wrk,
            ..Matrix::default()
        };
        let err = wrk.validate().unwrap_err();
        assert_eq!(err.key, "generator");
        assert!(err.to_string().contains("--rates"), "{err}");
        let twice = Matrix {
            keep_alive: vec![false, false],
            ..Matrix::default()
        };
        assert_eq!(twice.validate().unwrap_err().key, "keep-alive");
    }

    #[test]
    fn process_backend_cells_have_the_process_base() {
        let matrix = Matrix {
            backend: Backend::Process,
            bases: vec![Base::Scratch, Base::Debian],
            rates: Vec::new(),
            cross_check: Vec::new(),
            ..Matrix::default()
        };
        matrix.validate().unwrap();
        assert!(
            matrix
                .cells()
                .iter()
                .all(|cell| cell.base == Packaging::Process)
        );
        assert_eq!(matrix.cells().len(), matrix.frameworks.len() * 2);
        assert_eq!(matrix.images()[0], (Framework::Axum, Packaging::Process));
    }

    #[test]
    fn default_takes_about_fifteen_minutes_and_quick_about_four() {
        let default = Matrix::default();
        default.validate().unwrap();
        // Two closed loops per framework, a fixed rate at 64 connections, axum's two
        // cross-check twins.
        assert_eq!(default.cells().len(), 3 * Framework::ALL.len() + 2);
        assert_eq!(default.cell_estimate(), Duration::from_millis(29_200));
        assert_eq!(default.estimate(), Duration::from_millis(896_300));

        let quick = Matrix::quick();
        quick.validate().unwrap();
        assert_eq!(quick.cells().len(), 4 * Framework::ALL.len() + 2);
        assert_eq!(quick.estimate(), Duration::from_millis(255_400));
        assert_eq!(quick.remaining_estimate(3), Duration::from_millis(18_600));
    }

    #[test]
    fn the_cross_check_matrix_file_is_the_cross_check_matrix() {
        let mut matrix = Matrix::default();
        matrix.apply(Settings::from_toml(include_str!("../../matrices/cross-check.toml")).unwrap());
        assert_eq!(matrix, Matrix::cross_check());
        let ids: Vec<String> = matrix.cells().iter().map(Cell::id).collect();
        assert_eq!(
            ids,
            [
                "axum/scratch/0.5cpu/hello/c64",
                "axum/scratch/0.5cpu/hello/c64/wrk"
            ]
        );
        assert_eq!(matrix.estimate(), Duration::from_millis(94_400));
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
            matrix.validate().unwrap_err().to_string()
        };
        assert_eq!(
            check(|m| m.frameworks = vec![Framework::Axum, Framework::Axum]),
            "invalid frameworks (--frameworks): axum is listed twice"
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
            check(|m| m.repetitions = 0),
            "invalid repetitions (--repetitions): give at least 1 repetition (3 or more for a meaningful spread)"
        );
        let wide = Matrix {
            server_cpus: "1-3".parse().unwrap(),
            ..Matrix::default()
        };
        let one = Machines::One { cores: 2 };
        assert_eq!(
            wide.validate_host(one).unwrap_err().to_string(),
            "invalid server-cpus (--server-cpus): CPU 3 does not exist: this host has CPUs 0 to 1"
        );
        Matrix::default().validate_host(one).unwrap();
        let shared = Matrix {
            generator_cpus: "0-1".parse().unwrap(),
            ..Matrix::default()
        };
        shared.validate().unwrap();
        assert_eq!(
            shared.validate_host(one).unwrap_err().to_string(),
            "invalid generator-cpus (--generator-cpus): \"0-1\" shares CPUs with server-cpus \"1\": the load generator and the server must run on different CPUs"
        );
        // A remote engine: the server's CPU ids are its machine's, and may be the generator's.
        let two = Machines::Two {
            server_cores: 4,
            generator_cores: 2,
        };
        shared.validate_host(two).unwrap();
        assert_eq!(
            Matrix {
                server_cpus: "0-4".parse().unwrap(),
                ..Matrix::default()
            }
            .validate_host(two)
            .unwrap_err()
            .to_string(),
            "invalid server-cpus (--server-cpus): CPU 4 does not exist: the engine's machine has CPUs 0 to 3"
        );
    }

    #[test]
    fn ecs_quotas_are_fargate_task_sizes_exactly() {
        let ecs = |cpus: Vec<CpuQuota>| Matrix {
            backend: Backend::Ecs,
            cpus,
            ..Matrix::default()
        };
        // Sizes larger than server-cpus: a task's CPUs are not this machine's.
        let sizes = ecs(vec![
            CpuQuota::fargate(0.25),
            CpuQuota::fargate(1.0),
            "4:16384".parse().unwrap(),
        ]);
        sizes.validate().unwrap();
        assert_eq!(
            sizes.cpus[2].fargate_size(),
            FargateSize::new(4096, 16384),
            "exact, memory included"
        );
        assert_eq!(
            ecs(vec![CpuQuota::fargate(1.5)])
                .validate()
                .unwrap_err()
                .to_string(),
            "invalid cpus (--cpus): 1.5 vCPU is not a Fargate size: Fargate takes 0.25, 0.5, 1, 2, 4, 8 or 16 vCPU (under the ecs backend each quota is a Fargate task size: a task gets all of its size's vCPUs and memory, so a quota between sizes would be measured at another size)"
        );
        let err = ecs(vec!["1:1024".parse().unwrap()]).validate().unwrap_err();
        assert_eq!(err.key, "cpus");
        assert_eq!(
            err.message,
            "1 vCPU takes 2 GB to 8 GB in 1 GB steps; not 1 GB (under the ecs backend each quota is a Fargate task size: a task gets all of its size's vCPUs and memory, so a quota between sizes would be measured at another size)"
        );
        // Never rounded up to the next size, which the cost of a docker cell is priced at.
        let between = CpuQuota::fargate(0.3);
        assert_eq!(
            between.fargate_size(),
            Err(SizeError::UnknownCpu { vcpus: 0.3 })
        );
        assert_eq!(
            between.billed_fargate_size(),
            FargateSize::new(512, 1024).ok()
        );
        assert!(CpuQuota::fargate(32.0).fargate_size().is_err());
        // The same quota is fine under docker, where it is a CFS quota.
        Matrix {
            cpus: vec![CpuQuota::fargate(0.3)],
            ..Matrix::default()
        }
        .validate()
        .unwrap();
        // Bases are images in the registry, as under docker.
        let mut no_bases = ecs(vec![CpuQuota::fargate(0.5)]);
        no_bases.bases.clear();
        assert_eq!(
            no_bases.validate().unwrap_err().to_string(),
            "invalid bases (--bases): the list is empty: give at least one value"
        );
        no_bases.bases = vec![Base::Debian, Base::Debian];
        assert_eq!(
            no_bases.validate().unwrap_err().to_string(),
            "invalid bases (--bases): debian is listed twice"
        );
    }

    #[test]
    fn ecs_runs_images_and_has_no_startup_phase() {
        let matrix = Matrix {
            backend: Backend::Ecs,
            bases: vec![Base::Scratch, Base::Debian],
            ..Matrix::default()
        };
        assert_eq!(
            matrix.packagings(),
            [
                Packaging::Image(Base::Scratch),
                Packaging::Image(Base::Debian)
            ]
        );
        assert!(matrix.cells().iter().all(|c| c.cpu_quota().is_some()));
        assert_eq!(matrix.startup_phase_runs(), 0);
        assert_eq!(matrix.startup_estimate(), Duration::ZERO);
        assert_eq!(
            matrix.estimate(),
            matrix.cell_estimate() * matrix.cells().len() as u32
        );
        let docker = Matrix {
            backend: Backend::Docker,
            ..matrix.clone()
        };
        assert_eq!(docker.startup_phase_runs(), 5);
        assert!(docker.startup_estimate() > Duration::ZERO);
    }

    #[test]
    fn a_server_elsewhere_leaves_only_the_generator_cpus_to_check() {
        let ecs = Matrix {
            backend: Backend::Ecs,
            server_cpus: "0-63".parse().unwrap(),
            generator_cpus: "0-1".parse().unwrap(),
            ..Matrix::default()
        };
        ecs.validate().unwrap();
        ecs.validate_host(Machines::GeneratorOnly { generator_cores: 2 })
            .unwrap();
        assert_eq!(
            ecs.validate_host(Machines::GeneratorOnly { generator_cores: 1 })
                .unwrap_err()
                .to_string(),
            "invalid generator-cpus (--generator-cpus): CPU 1 does not exist: this host has CPUs 0 to 0"
        );
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
        matrix.apply(Settings::from_toml(file).unwrap());
        matrix.validate().unwrap();
        assert_eq!(matrix.frameworks, [Framework::Axum, Framework::Hyper]);
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
            Matrix::default().duration,
            "kept from the default"
        );
        assert_eq!(matrix.backend, Backend::Process);
        assert_eq!(matrix.startup_runs, 0);
    }

    /// The long flags of [`Settings`], which are also its matrix-file keys.
    fn setting_keys() -> BTreeSet<String> {
        use clap::Args;
        Settings::augment_args(clap::Command::new("run"))
            .get_arguments()
            .filter_map(|arg| arg.get_long().map(str::to_owned))
            .collect()
    }

    /// The top-level keys of a matrix file.
    fn file_keys(text: &str) -> BTreeSet<String> {
        text.parse::<toml::Table>()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    }

    #[test]
    fn the_example_matrix_file_has_every_key_and_is_valid() {
        let text = include_str!("../../matrices/example.toml");
        assert_eq!(file_keys(text), setting_keys(), "every setting is shown");
        let mut matrix = Matrix::quick();
        matrix.apply(Settings::from_toml(text).unwrap());
        matrix.validate().unwrap();
        // 192 closed loops, 96 fixed-rate cells at 256 connections, 48 wrk twins of axum.
        assert_eq!(matrix.cells().len(), 192 + 96 + 48);
        assert_eq!(matrix.repetitions, 6);
    }

    #[test]
    fn the_default_matrix_file_is_the_default_matrix() {
        let text = include_str!("../../matrices/default.toml");
        let mut keys = file_keys(text);
        keys.insert("frameworks".to_owned());
        assert_eq!(
            keys,
            setting_keys(),
            "every setting is written out but the frameworks, which follow the catalog"
        );
        let mut matrix = Matrix::quick();
        matrix.apply(Settings::from_toml(text).unwrap());
        assert_eq!(matrix, Matrix::default());
    }

    #[test]
    fn the_full_matrix_file_is_valid_and_covers_every_framework_and_base() {
        let mut matrix = Matrix::default();
        matrix.apply(Settings::from_toml(include_str!("../../matrices/full.toml")).unwrap());
        matrix.validate().unwrap();
        assert_eq!(matrix.frameworks, Framework::ALL);
        assert_eq!(matrix.bases, Base::ALL);
        // Every closed loop with and without keep-alive, two rates at 256 connections of
        // each, and the cross-check of two frameworks' keep-alive closed loops.
        let closed = Framework::ALL.len() * 3 * 3 * 4 * 2 * 2;
        let rates = Framework::ALL.len() * 3 * 3 * 2 * 2 * 2;
        let twins = 2 * 3 * 3 * 4 * 2;
        assert_eq!(matrix.cells().len(), closed + rates + twins);
        assert_eq!(matrix.cells().len(), 2088, "as the file says");
        assert!(matrix.keep_alive.contains(&false) && !matrix.rates.is_empty());
        // "cells of about 42 s … about a day", as the file says.
        assert_eq!(matrix.cell_estimate(), Duration::from_millis(42_200));
        let hours = matrix.estimate().as_secs_f64() / 3600.0;
        assert!((23.0..25.0).contains(&hours), "{hours} h");
    }

    #[test]
    fn matrix_file_errors_name_the_key_and_the_place() {
        let err = |text: &str| Settings::from_toml(text).unwrap_err().to_string();
        insta::assert_snapshot!(err("conections = [1]"), @"key `conections`: line 1, column 1: unknown field `conections`, expected one of `backend`, `frameworks`, `bases`, `cpus`, `connections`, `keep-alive`, `rates`, `generator`, `cross-check`, `endpoints`, `warmup`, `duration`, `repetitions`, `startup-runs`, `server-cpus`, `generator-cpus`, `ready-timeout`, `stop-timeout`");
        insta::assert_snapshot!(err("duration = \"10x\""), @r#"key `duration`: line 1, column 12: invalid duration "10x" (unknown time unit "x", supported units: ns, us/µs, ms, sec, min, hours, days, weeks, months, years (and few variations)): write it like "10s" or "500ms""#);
        insta::assert_snapshot!(err("duration = 10"), @r#"key `duration`: line 1, column 12: invalid type: integer `10`, expected a duration with its unit, like "10s" or "500ms""#);
        insta::assert_snapshot!(err("endpoints = [\"/hello\", \"/slep/5\"]"), @r#"key `endpoints[1]`: line 1, column 13: invalid endpoint "/slep/5": use /hello or /sleep/<ms> with <ms> a whole number from 1 to 60000"#);
        insta::assert_snapshot!(err("connections = [1, -4]"), @"key `connections[1]`: line 1, column 19: invalid value: integer `-4`, expected u32");
        insta::assert_snapshot!(err("cpus = [0.5, { vcpus = 1, memory = 4096 }]"), @"key `cpus[1].memory`: line 1, column 27: unknown field `memory`, expected `vcpus` or `memory-mib`");
        insta::assert_snapshot!(err("cpus = [true]"), @r#"key `cpus[0]`: line 1, column 9: invalid type: boolean `true`, expected a CPU quota: vCPUs like 0.5, "0.5:1024" (memory in MiB) or { vcpus = 0.5, memory-mib = 1024 }"#);
        insta::assert_snapshot!(err("server-cpus = \"one\""), @r#"key `server-cpus`: line 1, column 15: invalid CPU set "one": write CPU ids like "1", "0-3" or "0,2-3""#);
        insta::assert_snapshot!(err("backend = \"podman\""), @"key `backend`: line 1, column 11: unknown variant `podman`, expected one of `docker`, `process`, `ecs`");
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
