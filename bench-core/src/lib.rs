//! The IO-free core of `bench-runner`: the catalog, the plan, oha's JSON, statistics, the
//! result contracts and their exporters. Nothing here reads a file, a socket, a process or the clock;
//! every reading comes in as an argument, every output leaves as a `String`.
//!
//! - [`catalog`]: the closed sets, each defined once: [`Framework`](catalog::Framework),
//!   [`Base`](catalog::Base), [`Backend`](catalog::Backend) and what a cell runs from.
//! - [`plan`]: the [`Matrix`](plan::Matrix) (defaults, `--quick`, the TOML matrix file,
//!   validation) and its expansion into [`Cell`](plan::Cell)s in one pinned order.
//! - [`oha`]: the arguments to give oha, its JSON report, and the vegeta-style
//!   [`LoadReport`](oha::LoadReport) benchlab keeps.
//! - [`stats`]: median, range, CV, MAD outliers and the median's confidence interval.
//! - [`latency`]: HDR histograms of every request's latency, as text that merges exactly.
//! - [`results`]: the output contract, [`RunResults`](results::RunResults), and the rules that
//!   flag cells (generator-bound, noisy, timing check, p99 cliff).
//! - [`compare`]: cells of a comparison group against the hyper baseline, round by round,
//!   their ranking, and two runs side by side.
//! - [`deploy`]: the contract of `bench-runner deploy`, [`DeployResults`](deploy::DeployResults):
//!   what each swap of blue for green behind nginx cost ([`analyse`](deploy::analyse)), and
//!   `deploy.json`, `deploy.md` and `deploy.csv` as strings.
//! - [`fargate`]: Fargate's task sizes, the price table, a cell's cost per million 2xx, the
//!   ECS task definitions, and each launch's timeline from RunTask to the first 200.
//! - [`ecr`]: ECR's registry host names.
//! - [`export`]: `results.json`, `results.md` and `results.csv` as strings.
//!
//! The runner's IO side drives it like this:
//!
//! ```
//! use std::time::Duration;
//! use bench_core::export;
//! use bench_core::oha::{LoadReport, OhaLoad, OhaReport, oha_args};
//! use bench_core::plan::{Machines, Matrix, Settings};
//! use bench_core::results::{
//!     CellResult, GeneratorUsage, Lifecycle, Provenance, Repetition, RunResults, ServerUsage,
//! };
//!
//! // Options: defaults, then the matrix file, then the flags; checked before any container.
//! let mut matrix = Matrix::default();
//! matrix.apply(Settings::from_toml(r#"connections = [1, 16]"#)?);
//! matrix.validate()?;
//! matrix.validate_host(Machines::One { cores: 2 })?;
//! println!("about {:?}", matrix.estimate());
//!
//! let mut results = RunResults::new(Provenance::default(), matrix.clone());
//! // Each comparison group runs its cells in interleaved rounds; here one round of one cell
//! // at a time, for brevity.
//! for cell in results.pending_cells(false) {
//!     // Start a container with cell.cpu.vcpus, cell.cpu.memory_bytes(),
//!     // WORKERS=cell.workers() and matrix.server_cpus; wait for /hello; warm up; then per
//!     // round run oha with these arguments, reading the cgroup around it:
//!     let url = format!("http://127.0.0.1:8080{}", cell.endpoint.path());
//!     let _args = oha_args(&url, &OhaLoad::of(&cell, matrix.duration, matrix.generator_cpus.len(), None));
//!     let json = r#"{"summary": {"successRate": 1.0, "total": 10.0, "slowest": 0.002,
//!         "fastest": 0.00003, "average": 0.0002, "requestsPerSec": 50000.3, "totalData": 1,
//!         "sizePerRequest": 27, "sizePerSec": 1.0},
//!         "latencyPercentiles": {"p10": null, "p25": null, "p50": 0.0002, "p75": null,
//!         "p90": 0.0003, "p95": null, "p99": 0.0009, "p99.9": 0.0015, "p99.99": null},
//!         "statusCodeDistribution": {"200": 500000}, "errorDistribution": {"aborted due to deadline": 3}}"#;
//!     let report = OhaReport::from_json(json)?;
//!     let wall = Duration::from_secs(10);
//!     let repetition = Repetition {
//!         round: 0,
//!         started: "2026-11-25T12:00:00Z".to_owned(),
//!         target_rate: None,
//!         load: LoadReport::from_oha(&report, wall)?,
//!         latency_histogram: None,
//!         timeline: Vec::new(),
//!         // `None` under the ecs backend, whose tasks' usage is not measured.
//!         server: Some(ServerUsage::from_readings(
//!             Duration::from_secs(5), wall, 500_000, &[4 << 20], Some(5 << 20), None,
//!         )),
//!         generator: GeneratorUsage::from_readings(Duration::from_secs(9), wall, 1, 1),
//!     };
//!     let lifecycle = Lifecycle { ready_ms: Some(285.0), stop_ms: Some(12.0), killed: false };
//!     results.record(CellResult::measured(cell, vec![repetition], lifecycle));
//!     // After every cell: write all three, so an interruption loses nothing.
//!     let (_json, _md, _csv) = (export::json(&results), export::markdown(&results), export::csv(&results));
//! }
//! assert!(results.pending_cells(false).is_empty());
//! assert!(!results.any_failed());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod catalog;
pub mod charts;
pub mod compare;
pub mod deploy;
pub mod ecr;
pub mod export;
pub mod fargate;
pub mod images;
pub mod latency;
pub mod oha;
pub mod plan;
pub mod results;
pub mod stats;
pub mod units;
pub mod wrk;
