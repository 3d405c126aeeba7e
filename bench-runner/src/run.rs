//! `bench-runner run`, the main job: builds what the matrix needs, measures cold starts, then
//! loads every cell with oha and writes `results.json`, `results.md` and `results.csv` after
//! each finished cell, so an interrupted run keeps what it measured and `--resume` completes
//! it.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bench_core::catalog::{Backend, Framework, Packaging};
use bench_core::oha::{LoadReport, OhaReport};
use bench_core::plan::{Cell, CpuQuota, Matrix, Settings};
use bench_core::results::{
    Artifact, CellResult, GeneratorUsage, ImageInfo, Lifecycle, Repetition, RunResults,
    ServerUsage, Stage, StartupResult,
};
use bench_core::units::Bytes;
use bollard::Docker;

use crate::artifacts::{build_binaries, build_images, ensure_bases};
use crate::bases::BaseOptions;
use crate::cli::RunArgs;
use crate::images::ImageOptions;
use crate::loadgen::{self, Load};
use crate::progress::Progress;
use crate::server::{Limits, RUN_LABEL, Server, Target};
use crate::workspace::Workspace;
use crate::{docker, provenance};

/// How often memory is sampled during a repetition.
const MEMORY_SAMPLE_INTERVAL: Duration = Duration::from_millis(100);

/// A run, validated: what to measure and where the results go.
#[derive(Debug)]
pub struct RunPlan {
    pub matrix: Matrix,
    /// The results directory: new, or the one to resume.
    pub dir: PathBuf,
    /// Completing an earlier run in `dir`.
    pub resume: bool,
    /// Whether the backend was chosen (by flag or config); if not, a missing engine means
    /// the process backend.
    pub backend_chosen: bool,
    /// The repository the images are built in and run from.
    pub repository: String,
}

impl RunPlan {
    /// The plan of `args`: the default matrix (or the quick one), then the matrix file, then
    /// the flags, checked before anything starts; or, with `--resume`, the recorded one.
    ///
    /// # Errors
    /// A bad setting, naming its flag or key; an unreadable matrix or results file.
    pub fn new(args: &RunArgs, workspace: &Workspace) -> Result<RunPlan> {
        if let Some(dir) = &args.resume {
            let results = read_results(dir)?;
            return Ok(RunPlan {
                matrix: results.matrix,
                dir: dir.clone(),
                resume: true,
                backend_chosen: true,
                repository: args.repository.clone(),
            });
        }
        let mut matrix = if args.quick {
            Matrix::quick()
        } else {
            Matrix::default()
        };
        let mut backend_chosen = false;
        if let Some(path) = &args.config {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("could not read the matrix file {}", path.display()))?;
            let file = Settings::from_toml(&text)
                .with_context(|| format!("invalid matrix file {}", path.display()))?;
            backend_chosen |= file.backend.is_some();
            matrix.apply(file);
        }
        backend_chosen |= args.settings.backend.is_some();
        matrix.apply(args.settings.clone());
        matrix.validate()?;
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
        matrix.validate_host(cores)?;
        let dir = match &args.out {
            Some(dir) => dir.clone(),
            None => new_results_dir(workspace)?,
        };
        Ok(RunPlan {
            matrix,
            dir,
            resume: false,
            backend_chosen,
            repository: args.repository.clone(),
        })
    }
}

/// Runs the plan; the exit status is a failure when any cell or cold start failed.
pub async fn run_command(mut plan: RunPlan, workspace: &Workspace) -> Result<ExitCode> {
    let docker = match plan.matrix.backend {
        Backend::Docker => match docker::connect().await {
            Ok(docker) => Some(docker),
            Err(err) if !plan.backend_chosen => {
                eprintln!(
                    "note: {err:#}\nnote: measuring with the process backend instead: the \
                     services run as local processes pinned to CPUs {}, without CPU quota, \
                     memory limit or image (pass --backend docker to insist on Docker)",
                    plan.matrix.server_cpus
                );
                plan.matrix.backend = Backend::Process;
                None
            }
            Err(err) => return Err(err),
        },
        Backend::Process => None,
    };
    if let Some(docker) = &docker {
        remove_leftovers(docker).await?;
    }

    let mut results = if plan.resume {
        let results = read_results(&plan.dir)?;
        if results.matrix != plan.matrix {
            eprintln!(
                "note: resuming with the matrix recorded in {}; flags that change it are ignored",
                plan.dir.display()
            );
        }
        results
    } else {
        std::fs::create_dir_all(&plan.dir)
            .with_context(|| format!("could not create {}", plan.dir.display()))?;
        RunResults::new(
            provenance::collect(workspace, docker.as_ref()).await,
            plan.matrix.clone(),
        )
    };
    let matrix = results.matrix.clone();
    let targets = prepare_targets(
        workspace,
        docker.as_ref(),
        &plan.repository,
        &matrix,
        &mut results,
    )
    .await?;
    write_results(&plan.dir, &results)?;
    eprintln!(
        "results go to {} (estimated {})",
        plan.dir.display(),
        bench_core::units::format_duration(
            matrix.remaining_estimate(results.pending_cells(true).len())
        )
    );

    // A cell dropped halfway can leave a container its guard never saw (one whose creation
    // was under way), so this run's label decides what is removed, not the guards alone.
    let interrupted = tokio::select! {
        outcome = measure_everything(docker.as_ref(), &matrix, &targets, &mut results, &plan.dir) => {
            outcome?;
            false
        }
        _ = tokio::signal::ctrl_c() => true,
    };
    if let Some(docker) = &docker {
        remove_this_runs_containers(docker, interrupted).await?;
    }
    if interrupted {
        eprintln!(
            "interrupted: the finished cells are in {}; complete the run with --resume {}",
            plan.dir.display(),
            plan.dir.display()
        );
        return Ok(ExitCode::from(130));
    }

    print!("{}", bench_core::export::markdown(&results));
    eprintln!("results written to {}", plan.dir.display());
    let startup_failed = results.startup.iter().any(|s| !s.failures.is_empty());
    Ok(if results.any_failed() || startup_failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Where each (framework, base) of the matrix runs from, or why it cannot run.
type Targets = BTreeMap<(Framework, Packaging), Result<Subject, String>>;

/// What a cell runs: where from, and exactly which binary and image that is.
#[derive(Clone, Debug)]
struct Subject {
    target: Target,
    artifact: Artifact,
}

/// Builds the static binaries and, under Docker, the bases and images in `repository`;
/// records the images in the provenance.
async fn prepare_targets(
    workspace: &Workspace,
    docker: Option<&Docker>,
    repository: &str,
    matrix: &Matrix,
    results: &mut RunResults,
) -> Result<Targets> {
    let binaries = build_binaries(workspace, &matrix.frameworks).await?;
    let mut targets = Targets::new();
    // The bare binaries: the process backend's cells, and under Docker the process half of
    // the startup table.
    for (framework, binary) in &binaries {
        let subject = Subject {
            target: Target::Binary(binary.path.clone()),
            artifact: Artifact {
                binary_sha256: Some(binary.sha256.clone()),
                image_id: None,
            },
        };
        targets.insert((*framework, Packaging::Process), Ok(subject));
    }
    let Some(docker) = docker else {
        return Ok(targets);
    };
    let ready_bases = ensure_bases(docker, &matrix.bases, BaseOptions::default()).await?;
    let options = ImageOptions {
        repository: repository.to_owned(),
        extra_labels: BTreeMap::new(),
        rebuild: false,
    };
    let built = build_images(
        docker,
        &workspace.dockerfiles(),
        &binaries,
        &ready_bases,
        &options,
    )
    .await;
    for failure in &built.failures {
        let error = format!("{:#}", failure.error);
        eprintln!(
            "warning: {error}; the cells of {} will be recorded as failed",
            failure.tag
        );
        targets.insert(
            (failure.framework, Packaging::Image(failure.base)),
            Err(error),
        );
    }
    let mut images = Vec::new();
    for image in &built.images {
        let inspect = docker
            .inspect_image(&image.tag)
            .await
            .with_context(|| format!("could not inspect image '{}'", image.tag))?;
        images.push(ImageInfo {
            framework: image.framework,
            base: image.base,
            image: image.tag.clone(),
            digest: image.id.clone(),
            size_bytes: inspect
                .size
                .and_then(|s| u64::try_from(s).ok())
                .unwrap_or(0),
            binary_sha256: image.binary_sha256.clone(),
            base_provenance: ready_bases[&image.base].provenance.to_string(),
        });
        let subject = Subject {
            target: Target::Image(image.tag.clone()),
            artifact: Artifact {
                binary_sha256: Some(image.binary_sha256.clone()),
                image_id: Some(image.id.clone()),
            },
        };
        targets.insert((image.framework, Packaging::Image(image.base)), Ok(subject));
    }
    if results.provenance.images.is_empty() {
        results.provenance.images = images;
    }
    Ok(targets)
}

/// The startup phase, then every cell not yet finished, writing the results after each.
async fn measure_everything(
    docker: Option<&Docker>,
    matrix: &Matrix,
    targets: &Targets,
    results: &mut RunResults,
    dir: &Path,
) -> Result<()> {
    if results.startup.is_empty() && matrix.startup_runs > 0 {
        measure_startups(docker, matrix, targets, results, dir).await?;
    }
    let pending = results.pending_cells(true);
    let mut progress = Progress::new(pending.len());
    for cell in pending {
        let eta = bench_core::units::format_duration(
            matrix.remaining_estimate(results.pending_cells(true).len().max(1)),
        );
        progress.start(&format!("{} (about {eta} left)", cell.id()));
        let key = (cell.framework, cell.base);
        let result = match targets.get(&key) {
            Some(Ok(subject)) => {
                let mut result = measure_cell(docker, matrix, &cell, &subject.target).await;
                result.artifact = subject.artifact.clone();
                result
            }
            Some(Err(reason)) => failed(cell, Stage::Start, reason.clone(), Vec::new()),
            None => failed(
                cell,
                Stage::Start,
                "no image or binary".to_owned(),
                Vec::new(),
            ),
        };
        progress.finish(&describe(&result));
        results.record(result);
        write_results(dir, results)?;
    }
    Ok(())
}

/// N cold starts of every image of the matrix and of every bare binary: start to first 200.
async fn measure_startups(
    docker: Option<&Docker>,
    matrix: &Matrix,
    targets: &Targets,
    results: &mut RunResults,
    dir: &Path,
) -> Result<()> {
    // Cold starts run under the largest quota of the matrix.
    let quota = matrix
        .cpus
        .iter()
        .copied()
        .max_by(|a, b| a.vcpus.total_cmp(&b.vcpus))
        .context("the matrix has no CPU quota")?;
    let limits = limits(matrix, &quota);
    let subjects: Vec<_> = targets
        .iter()
        .filter_map(|(key, subject)| Some((*key, subject.as_ref().ok()?.target.clone())))
        .collect();
    let mut progress = Progress::new(subjects.len());
    for ((framework, base), target) in subjects {
        progress.start(&format!("cold starts of {framework} on {base}"));
        let mut runs_ms = Vec::new();
        let mut failures = Vec::new();
        for _ in 0..matrix.startup_runs {
            match cold_start(docker, &target, &limits, matrix.ready_timeout).await {
                Ok(ready) => runs_ms.push(ready.as_secs_f64() * 1e3),
                Err(err) => failures.push(format!("{err:#}")),
            }
        }
        let result = StartupResult::new(framework, base, runs_ms, failures);
        progress.finish(&match &result.summary {
            Some(spread) => format!("{framework} on {base}: ready in {:.1} ms", spread.median),
            None => format!("{framework} on {base}: FAILED"),
        });
        results.record_startup(result);
        write_results(dir, results)?;
    }
    Ok(())
}

async fn cold_start(
    docker: Option<&Docker>,
    target: &Target,
    limits: &Limits,
    timeout: Duration,
) -> Result<Duration> {
    let mut server = Server::start(docker, target, limits, &run_labels()).await?;
    let ready = server.wait_ready(timeout).await;
    server.stop().await?;
    ready
}

/// One cell: start, wait for readiness, warm up, R measured repetitions, stop. Any failure
/// becomes a failed cell with the stage and the reason; the run goes on.
async fn measure_cell(
    docker: Option<&Docker>,
    matrix: &Matrix,
    cell: &Cell,
    target: &Target,
) -> CellResult {
    let limits = limits(matrix, &cell.cpu);
    let mut server = match Server::start(docker, target, &limits, &run_labels()).await {
        Ok(server) => server,
        Err(err) => return failed(cell.clone(), Stage::Start, format!("{err:#}"), Vec::new()),
    };
    let mut lifecycle = Lifecycle::default();
    match server.wait_ready(matrix.ready_timeout).await {
        Ok(ready) => lifecycle.ready_ms = Some(ready.as_secs_f64() * 1e3),
        Err(err) => {
            let _ = server.stop().await;
            return failed(cell.clone(), Stage::Ready, format!("{err:#}"), Vec::new());
        }
    }

    let addr = server.addr;
    let load = |duration| Load {
        addr,
        path: cell.endpoint.path(),
        connections: cell.connections,
        duration,
        cpuset: matrix.generator_cpus.clone(),
    };
    let mut repetitions = Vec::new();
    let mut failure = None;
    if !matrix.warmup.is_zero()
        && let Err(err) = loadgen::run(&load(matrix.warmup)).await
    {
        failure = Some((Stage::Warmup, format!("{err:#}")));
    }
    if failure.is_none() {
        for _ in 0..matrix.repetitions {
            match repetition(&server, &load(matrix.duration), matrix).await {
                Ok(repetition) => repetitions.push(repetition),
                Err(err) => {
                    failure = Some((Stage::Load, format!("{err:#}")));
                    break;
                }
            }
            if let Ok(Some(reason)) = server.exited().await {
                failure = Some((Stage::Load, format!("the service stopped: {reason}")));
                break;
            }
        }
    }
    match server.stop().await {
        Ok(stopped) => {
            lifecycle.stop_ms = Some(stopped.took.as_secs_f64() * 1e3);
            lifecycle.killed = stopped.took >= matrix.stop_timeout;
            if stopped.oom_killed && failure.is_none() {
                failure = Some((Stage::Load, "killed for running out of memory (OOM)".into()));
            }
        }
        Err(err) if failure.is_none() => failure = Some((Stage::Stop, format!("{err:#}"))),
        Err(_) => {}
    }
    match failure {
        None => CellResult::measured(cell.clone(), repetitions, lifecycle),
        Some((stage, reason)) => {
            CellResult::failed(cell.clone(), stage, reason, repetitions, lifecycle)
        }
    }
}

/// One measured repetition: oha for `load.duration` while the server's CPU time is read
/// before and after and its memory sampled every 100 ms.
async fn repetition(server: &Server, load: &Load, matrix: &Matrix) -> Result<Repetition> {
    let before = server.usage()?;
    let start = Instant::now();
    let generator = loadgen::run(load);
    tokio::pin!(generator);
    let mut memory: Vec<Bytes> = Vec::new();
    let mut tick = tokio::time::interval(MEMORY_SAMPLE_INTERVAL);
    let run = loop {
        tokio::select! {
            run = &mut generator => break run?,
            _ = tick.tick() => memory.push(server.usage()?.memory_bytes),
        }
    };
    let after = server.usage()?;
    let wall = start.elapsed();
    memory.push(after.memory_bytes);

    let report = OhaReport::from_json(&run.oha_json).context("could not read oha's JSON")?;
    let load_report =
        LoadReport::from_oha(&report, report.elapsed()).context("oha's report is inconsistent")?;
    let server_usage = ServerUsage::from_readings(
        after.cpu.saturating_sub(before.cpu),
        wall,
        load_report.ok_2xx,
        &memory,
    );
    let generator_usage =
        GeneratorUsage::from_readings(run.generator_cpu, run.wall, matrix.generator_cpus.len());
    Ok(Repetition {
        load: load_report,
        server: server_usage,
        generator: generator_usage,
    })
}

/// What a service runs with under `quota`: `WORKERS` from the quota, the matrix's server CPUs
/// and its stop timeout as the shutdown grace.
fn limits(matrix: &Matrix, quota: &CpuQuota) -> Limits {
    Limits {
        vcpus: quota.vcpus,
        memory_bytes: quota.memory_bytes(),
        cpuset: matrix.server_cpus.clone(),
        workers: quota.workers() as usize,
        shutdown_grace: matrix.stop_timeout,
    }
}

fn failed(cell: Cell, stage: Stage, reason: String, repetitions: Vec<Repetition>) -> CellResult {
    CellResult::failed(cell, stage, reason, repetitions, Lifecycle::default())
}

fn describe(result: &CellResult) -> String {
    match (&result.summary, &result.outcome) {
        (Some(summary), _) => format!(
            "{}: {:.0} req/s, p99 {}, server CPU {:.0}%",
            result.id,
            summary.rate_2xx.median,
            summary
                .latency_p99_us
                .as_ref()
                .map_or("-".to_owned(), |p99| format!("{:.2} ms", p99.median / 1e3)),
            summary.server_cpu_percent.median
        ),
        (None, bench_core::results::Outcome::Failed { stage, reason }) => {
            format!("{}: FAILED {stage}: {reason}", result.id)
        }
        (None, _) => format!("{}: no summary", result.id),
    }
}

/// The labels of this run's containers: [`RUN_LABEL`] with this process's id as its value.
fn run_labels() -> HashMap<String, String> {
    HashMap::from([(RUN_LABEL.to_owned(), std::process::id().to_string())])
}

/// The label filter that finds this run's containers.
fn this_run_label() -> String {
    format!("{RUN_LABEL}={}", std::process::id())
}

/// Removes every container of this run. After an interruption the engine may still be
/// creating the container of a request that was dropped, so it looks twice, a second apart.
async fn remove_this_runs_containers(docker: &Docker, interrupted: bool) -> Result<()> {
    let label = this_run_label();
    let sweeps = if interrupted { 2 } else { 1 };
    for sweep in 0..sweeps {
        if sweep > 0 {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        docker::remove_labelled(docker, &label)
            .await
            .context("could not remove this run's containers")?;
    }
    Ok(())
}

/// Removes containers a killed run left behind (they carry [`RUN_LABEL`]).
async fn remove_leftovers(docker: &Docker) -> Result<()> {
    let removed = docker::remove_labelled(docker, RUN_LABEL)
        .await
        .context("could not remove the containers left by an earlier run")?;
    if removed > 0 {
        eprintln!("removed {removed} container(s) left by an earlier run");
    }
    Ok(())
}

/// Reads the results of an earlier run in `dir`.
pub fn read_results(dir: &Path) -> Result<RunResults> {
    let path = dir.join("results.json");
    let json = std::fs::read_to_string(&path)
        .with_context(|| format!("could not read {} to resume", path.display()))?;
    RunResults::from_json(&json).with_context(|| format!("could not read {}", path.display()))
}

/// The one place results reach the disk: all three files, each written to a temporary file
/// and renamed, so a file is never half written.
pub fn write_results(dir: &Path, results: &RunResults) -> Result<()> {
    let files = [
        ("results.json", bench_core::export::json(results)),
        ("results.md", bench_core::export::markdown(results)),
        ("results.csv", bench_core::export::csv(results)),
    ];
    for (name, contents) in files {
        let path = dir.join(name);
        let temporary = dir.join(format!(".{name}.tmp"));
        std::fs::write(&temporary, contents)
            .with_context(|| format!("could not write {}", temporary.display()))?;
        std::fs::rename(&temporary, &path)
            .with_context(|| format!("could not write {}", path.display()))?;
    }
    Ok(())
}

/// `results/<timestamp>-<host>` under the workspace.
pub fn new_results_dir(workspace: &Workspace) -> Result<PathBuf> {
    let host = provenance::hostname();
    let now = time::OffsetDateTime::now_utc();
    let stamp = now
        .format(time::macros::format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .context("could not format the time")?;
    let dir = workspace
        .root
        .join("results")
        .join(format!("{stamp}-{host}"));
    if dir.exists() {
        bail!("{} exists already", dir.display());
    }
    Ok(dir)
}
