//! `bench-runner run`, the main job: builds what the matrix needs, measures cold starts, then
//! loads every comparison group with oha in interleaved rounds (repetition r of every cell of
//! the group before repetition r + 1 of any, in an order that rotates each round), and writes
//! `results.json`, `results.md` and `results.csv` after every repetition, so an interrupted
//! run keeps what it measured and `--resume` completes it.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, ToSocketAddrs};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use bench_core::catalog::{Backend, Base, Framework, Packaging};
use bench_core::fargate::cost::Prices;
use bench_core::fargate::taskdef::Options;
use bench_core::plan::{Cell, CpuQuota, Machines, Matrix, Settings};
use bench_core::results::{
    Artifact, CellResult, EcsProvenance, GeneratorUsage, ImageInfo, Lifecycle, Repetition,
    RunResults, ServerUsage, Session, Stage, StartupResult, Throttling,
};
use bench_core::units::RequestsPerSec;
use bollard::Docker;

use crate::artifacts::{build_binaries, build_images, ensure_bases};
use crate::aws::{self, Aws, Ledger, TaskNetwork};
use crate::bases::BaseOptions;
use crate::cli::RunArgs;
use crate::docker::Engine;
use crate::images::ImageOptions;
use crate::loadgen::{self, Load, interpolate, monotonic_now};
use crate::output::{new_results_dir, read_prices, read_results, write_report, write_results};
use crate::progress::Progress;
use crate::server::fargate::Tasks;
use crate::server::{Limits, RUN_LABEL, Server, StartOptions, Target, Usage};
use crate::workspace::Workspace;
use crate::{docker, provenance};

/// How often the server's CPU time and CFS counters are read during a repetition: the load
/// window's ends are interpolated between readings, so this bounds their error.
const SAMPLE_INTERVAL: Duration = Duration::from_millis(20);

/// The same through a remote engine's stats API: each reading is a request the engine's
/// machine answers, beside the server, so fewer of them.
const ENGINE_SAMPLE_INTERVAL: Duration = Duration::from_millis(100);

/// Every how many readings memory is read too (`memory.stat` is the costly file): 100 ms.
const MEMORY_EVERY: usize = 5;

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
    /// Resume even when the sources, the lock file, a binary or an image differ from the
    /// recorded ones; the differences are recorded.
    pub force: bool,
    /// `--prices`: the price table to record instead of the built-in (or recorded) one.
    pub prices: Option<Prices>,
    /// The engine the services run on (the process's, see `docker::engine`).
    pub engine: &'static Engine,
    /// Where the load goes, and the address the services bind (`--target-host`); `None`
    /// only under the ecs backend: each task's private address.
    pub target_host: Option<IpAddr>,
    /// Where the tasks of the ecs backend run, and what their definitions hold.
    pub ecs: Option<EcsPlan>,
}

/// The ecs backend's side of a run: the flags of the ecs group, checked.
#[derive(Debug)]
pub struct EcsPlan {
    pub network: TaskNetwork,
    pub options: Options,
    /// `--region`, else the standard chain's.
    pub region: Option<String>,
}

impl EcsPlan {
    /// The ECS plan of `args` under `backend`: `None` for another backend, whose run then
    /// refuses the ecs group's flags by name rather than ignore them.
    fn new(args: &RunArgs, backend: Backend) -> Result<Option<EcsPlan>> {
        if backend != Backend::Ecs {
            let given = [
                ("--subnets", !args.ecs.subnets.is_empty()),
                ("--security-groups", !args.ecs.security_groups.is_empty()),
                ("--assign-public-ip", args.ecs.assign_public_ip),
                ("--registry", args.task.registry.is_some()),
                (
                    "--execution-role-arn",
                    args.task.execution_role_arn.is_some(),
                ),
                ("--log-group", args.task.log_group.is_some()),
            ];
            if let Some((flag, _)) = given.iter().find(|(_, given)| *given) {
                bail!("{flag} is for --backend ecs, but the backend is {backend}");
            }
            return Ok(None);
        }
        if args.task.registry.is_none() {
            bail!(
                "--backend ecs needs --registry: the registry the images were pushed to \
                 (bench-runner push), like 123456789012.dkr.ecr.us-east-1.amazonaws.com"
            );
        }
        let region = args.ecs.region.clone();
        Ok(Some(EcsPlan {
            network: args.ecs.network()?,
            options: args.task.options(region.as_deref())?,
            region,
        }))
    }
}

impl RunPlan {
    /// The plan of `args`: `default` (or the quick matrix), then the matrix file, then the
    /// flags, checked before anything starts; or, with `--resume`, the recorded one.
    ///
    /// # Errors
    /// A bad setting, naming its flag or key; an unreadable matrix or results file.
    pub fn new(args: &RunArgs, workspace: &Workspace, default: Matrix) -> Result<RunPlan> {
        let prices = args.prices.as_deref().map(read_prices).transpose()?;
        let engine = docker::engine()?;
        if let Some(dir) = &args.resume {
            let results = read_results(dir)?;
            let backend = results.matrix.backend;
            let recorded = results.provenance.target_host.as_deref();
            let target_host = target_host(args.target_host.as_deref().or(recorded), backend)?;
            check_engine(engine, backend, target_host)?;
            let ecs = EcsPlan::new(args, backend)?;
            return Ok(RunPlan {
                matrix: results.matrix,
                dir: dir.clone(),
                resume: true,
                backend_chosen: true,
                repository: args.repository.clone(),
                force: args.force,
                prices,
                engine,
                target_host,
                ecs,
            });
        }
        let mut matrix = if args.quick { Matrix::quick() } else { default };
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
        let target_host = target_host(args.target_host.as_deref(), matrix.backend)?;
        check_engine(engine, matrix.backend, target_host)?;
        let ecs = EcsPlan::new(args, matrix.backend)?;
        if ecs.is_some() {
            matrix.validate_host(Machines::GeneratorOnly {
                generator_cores: local_cores(),
            })?;
        } else if engine.is_local() {
            // A remote engine's CPUs are checked once it answers (`check_remote_machine`).
            matrix.validate_host(Machines::One {
                cores: local_cores(),
            })?;
        }
        let dir = match &args.out {
            Some(dir) if dir.exists() => bail!(
                "--out {}: the directory exists already; results are never written over \
                 (choose a new directory, or complete that run with --resume)",
                dir.display()
            ),
            Some(dir) => dir.clone(),
            None => new_results_dir(workspace, "")?,
        };
        Ok(RunPlan {
            matrix,
            dir,
            resume: false,
            backend_chosen,
            repository: args.repository.clone(),
            force: false,
            prices,
            engine,
            target_host,
            ecs,
        })
    }
}

/// The CPUs of this machine.
fn local_cores() -> u32 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u32)
}

/// The address of `--target-host` (without one 127.0.0.1, or under the ecs backend `None`,
/// each task's own); a name is resolved here, once, and the run loads and records the
/// address.
fn target_host(given: Option<&str>, backend: Backend) -> Result<Option<IpAddr>> {
    let Some(given) = given else {
        return Ok((backend != Backend::Ecs).then_some(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    };
    if let Ok(ip) = given.parse::<IpAddr>() {
        return Ok(Some(ip));
    }
    let ip = (given, 0)
        .to_socket_addrs()
        .with_context(|| format!("--target-host {given}: the name does not resolve"))?
        .map(|addr| addr.ip())
        .next()
        .with_context(|| format!("--target-host {given}: the name has no address"))?;
    eprintln!("note: --target-host {given} is {ip}: the run loads and records that address");
    Ok(Some(ip))
}

/// Refuses what would measure the wrong thing with this engine. The services run on the
/// engine's machine: a local engine's bind loopback, so the load goes to loopback; a remote
/// engine's bind the address of their machine that the load is sent to, which loopback is
/// not. The process backend runs the services here, so it has no remote engine. The ecs
/// backend uses no engine: its target is each task's address, or a tunnel's.
fn check_engine(engine: &Engine, backend: Backend, target: Option<IpAddr>) -> Result<()> {
    let Some(target) = target.filter(|_| backend != Backend::Ecs) else {
        return Ok(());
    };
    if engine.is_local() {
        if !target.is_loopback() {
            bail!(
                "--target-host {target}: the Docker engine at {} runs on this machine, where \
                 the services bind loopback only; an address of another machine goes with \
                 that machine's engine (--docker-host tcp://HOST:2376)",
                engine.describe()
            );
        }
        return Ok(());
    }
    if backend == Backend::Process {
        bail!(
            "--backend process runs the services as processes of this machine, but the Docker \
             engine is {}, another machine: use the docker backend there, or a local engine",
            engine.describe()
        );
    }
    if target.is_loopback() {
        bail!(
            "the Docker engine at {} is another machine, but the load would go to {target}, \
             this one: give --target-host the address of the engine's machine that this \
             machine reaches",
            engine.describe()
        );
    }
    Ok(())
}

/// Checks the matrix against a remote engine's machine, which the services run on: its CPUs
/// for the server's CPU set (this machine's for the generator's), and its architecture for
/// the binaries.
async fn check_remote_machine(docker: &Docker, matrix: &Matrix) -> Result<()> {
    let machine = docker::engine_machine(docker).await?;
    if machine.architecture != "x86_64" {
        bail!(
            "the Docker engine at {} runs on {} ({}), but the services are built for {}",
            docker::engine_address(),
            machine.architecture,
            machine.describe(),
            crate::binaries::TARGET
        );
    }
    matrix.validate_host(Machines::Two {
        server_cores: machine.cpus,
        generator_cores: local_cores(),
    })?;
    Ok(())
}

/// Runs the plan; the exit status is a failure when any cell or cold start failed.
pub async fn run_command(mut plan: RunPlan, workspace: &Workspace) -> Result<ExitCode> {
    let mut fallback = None;
    let docker = match plan.matrix.backend {
        Backend::Docker => match plan.engine.connect().await {
            Ok(docker) => Some(docker),
            // Only a local engine has the process backend as its stand-in.
            Err(err) if !plan.backend_chosen && plan.engine.is_local() => {
                eprintln!(
                    "note: {err:#}\nnote: measuring with the process backend instead: the \
                     services run as local processes pinned to CPUs {}, without CPU quota, \
                     memory limit or image (pass --backend docker to insist on Docker)",
                    plan.matrix.server_cpus
                );
                fallback = Some(format!("{err:#}"));
                plan.matrix.backend = Backend::Process;
                None
            }
            Err(err) => return Err(err),
        },
        Backend::Process | Backend::Ecs => None,
    };
    if let Some(docker) = &docker {
        if !plan.engine.is_local() {
            check_remote_machine(docker, &plan.matrix).await?;
        }
        remove_leftovers(docker).await?;
    }
    let ecs = match &plan.ecs {
        Some(ecs) => Some(connect_ecs(ecs, &plan.matrix, plan.target_host).await?),
        None => None,
    };
    let services = StartOptions {
        host: plan.target_host,
        stats_from_engine: !plan.engine.is_local(),
        tasks: ecs.as_ref().map(|ecs| Arc::clone(&ecs.tasks)),
        ..StartOptions::default()
    };

    let mut provenance =
        provenance::collect(workspace, docker.as_ref(), &plan.matrix, plan.target_host).await;
    if let Some(ecs) = &ecs {
        provenance.ecs = Some(ecs.provenance.clone());
    }
    let mut session = Session {
        started: provenance.started.clone(),
        resumed: plan.resume,
        ..Session::default()
    };
    let mut differences = Vec::new();
    let mut results = if plan.resume {
        let results = read_results(&plan.dir)?;
        differences.extend(provenance::differences(&results.provenance, &provenance));
        results
    } else {
        std::fs::create_dir_all(&plan.dir)
            .with_context(|| format!("could not create {}", plan.dir.display()))?;
        let mut results = RunResults::new(provenance, plan.matrix.clone());
        results.backend_fallback = fallback;
        results
    };
    if let Some(prices) = plan.prices.take() {
        results.prices = Some(prices);
    }
    let matrix = results.matrix.clone();
    let targets = match &ecs {
        Some(ecs) => ecs.targets.clone(),
        None => {
            prepare_targets(
                workspace,
                docker.as_ref(),
                &plan.repository,
                &matrix,
                &mut results,
            )
            .await?
        }
    };
    if plan.resume {
        differences.extend(artifact_differences(&results, &targets));
        if !differences.is_empty() {
            if !plan.force {
                bail!(
                    "--resume {}: what would be measured now differs from what the run \
                     measured, so its cells would not compare:\n  - {}\n(pass --force to \
                     resume anyway; the differences are then recorded in the results)",
                    plan.dir.display(),
                    differences.join("\n  - ")
                );
            }
            eprintln!(
                "warning: resuming over {} difference(s), recorded: {}",
                differences.len(),
                differences.join("; ")
            );
            session.forced_over = differences;
        }
    }
    results.sessions.push(session);
    let steal_start = provenance::steal_ticks();
    let mut sink = Sink {
        dir: plan.dir.clone(),
        steal_start,
    };
    sink.write(&mut results)?;
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
        outcome = measure_everything(
            Services { docker: docker.as_ref(), start: &services },
            &matrix,
            &targets,
            &mut results,
            &mut sink,
        ) => {
            outcome?;
            false
        }
        _ = tokio::signal::ctrl_c() => true,
    };
    if let Some(session) = results.sessions.last_mut() {
        session.ended = Some(provenance::now_rfc3339());
    }
    sink.write(&mut results)?;
    write_report(&plan.dir, &results)?;
    if let Some(docker) = &docker {
        remove_this_runs_containers(docker, interrupted).await?;
    }
    let left_behind = match &ecs {
        Some(ecs) => ecs.tasks.ledger.clean_up().await,
        None => Vec::new(),
    };
    for problem in &left_behind {
        eprintln!("error: {problem}");
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
    Ok(
        if results.any_failed() || startup_failed || !left_behind.is_empty() {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        },
    )
}

/// Where and how the services start: the engine (none under the process backend), the
/// address they bind and how their usage is read.
#[derive(Clone, Copy)]
struct Services<'a> {
    docker: Option<&'a Docker>,
    start: &'a StartOptions,
}

/// Where each (framework, base) of the matrix runs from, or why it cannot run.
type Targets = BTreeMap<(Framework, Packaging), Result<Subject, String>>;

/// What a cell runs: where from, and exactly which binary and image that is.
#[derive(Clone, Debug)]
struct Subject {
    target: Target,
    artifact: Artifact,
}

/// The ecs backend, connected: the tasks' shared parts, what each cell runs, and what the
/// provenance records.
struct Ecs {
    tasks: Arc<Tasks>,
    targets: Targets,
    provenance: EcsProvenance,
}

/// Checks the credentials, the region, the cluster and (in ECR) every image of the matrix,
/// before any task is started; each image is then run by its digest.
async fn connect_ecs(plan: &EcsPlan, matrix: &Matrix, target_host: Option<IpAddr>) -> Result<Ecs> {
    let aws = Aws::connect(plan.region.as_deref()).await?;
    aws::check_cluster(&aws, &plan.network.cluster).await?;
    if let Some(endpoint) = &aws.endpoint {
        eprintln!("note: AWS calls go to {endpoint} (AWS_ENDPOINT_URL), not to AWS");
    }
    let images: Vec<(Framework, Base)> = matrix
        .images()
        .into_iter()
        .filter_map(|(framework, packaging)| match packaging {
            Packaging::Image(base) => Some((framework, base)),
            Packaging::Process => None,
        })
        .collect();
    let digests = aws::ecr_digests(&aws, &plan.options, &images).await?;
    if digests.is_none() {
        eprintln!(
            "{}; each task pulls its image by tag, so the results cannot name the image they \
             measured",
            aws::unchecked_registry_note(&plan.options)
        );
    }
    let mut targets = Targets::new();
    for &(framework, base) in &images {
        let digest = digests.as_ref().and_then(|d| d.get(&(framework, base)));
        let image = match digest {
            Some(digest) => plan.options.image_by_digest(framework, digest),
            None => plan.options.image(framework, base),
        };
        let subject = Subject {
            target: Target::Task {
                framework,
                base,
                image,
            },
            artifact: Artifact {
                binary_sha256: None,
                image_id: digest.cloned(),
            },
        };
        targets.insert((framework, Packaging::Image(base)), Ok(subject));
    }
    let provenance = EcsProvenance {
        region: aws.region.clone(),
        cluster: plan.network.cluster.clone(),
        endpoint: aws.endpoint.clone(),
        subnets: plan.network.subnets.clone(),
        security_groups: plan.network.security_groups.clone(),
        registry: plan.options.registry.clone().unwrap_or_default(),
        target: target_host.map_or_else(
            || "each task's private IPv4 address".to_owned(),
            |host| format!("{host} (--target-host)"),
        ),
    };
    let started_by = format!("benchlab-{}", std::process::id());
    let tasks = Tasks {
        ledger: Ledger::new(&aws, &plan.network.cluster, &started_by),
        network: plan.network.clone(),
        options: plan.options.clone(),
        target_host,
    };
    Ok(Ecs {
        tasks: Arc::new(tasks),
        targets,
        provenance,
    })
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

/// Where results go, and what the session's closing figures need.
struct Sink {
    dir: PathBuf,
    steal_start: Option<(u64, u64)>,
}

impl Sink {
    /// Brings the session's steal figure up to date and writes all three files.
    fn write(&mut self, results: &mut RunResults) -> Result<()> {
        if let (Some(start), Some(now), Some(session)) = (
            self.steal_start,
            provenance::steal_ticks(),
            results.sessions.last_mut(),
        ) {
            session.steal_percent = provenance::steal_percent(start, now);
        }
        write_results(&self.dir, results)
    }
}

/// The binaries and images of recorded cells that differ from those built now, in words.
fn artifact_differences(results: &RunResults, targets: &Targets) -> Vec<String> {
    let mut differences = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for cell in &results.cells {
        let key = (cell.cell.framework, cell.cell.base);
        if !seen.insert(key) || cell.artifact == Artifact::default() {
            continue;
        }
        let Some(Ok(subject)) = targets.get(&key) else {
            continue;
        };
        let short = |s: &Option<String>| {
            s.as_deref()
                .map_or("none".to_owned(), |s| s.get(..19).unwrap_or(s).to_owned())
        };
        if subject.artifact.binary_sha256 != cell.artifact.binary_sha256 {
            differences.push(format!(
                "the binary of {} {} → {}",
                cell.cell.framework,
                short(&cell.artifact.binary_sha256),
                short(&subject.artifact.binary_sha256)
            ));
        }
        if subject.artifact.image_id != cell.artifact.image_id {
            differences.push(format!(
                "the image of {} on {} {} → {}",
                cell.cell.framework,
                cell.cell.base,
                short(&cell.artifact.image_id),
                short(&subject.artifact.image_id)
            ));
        }
    }
    differences
}

/// The startup phase (the cold starts not yet measured), then every comparison group with
/// cells still to measure, writing the results after every repetition.
async fn measure_everything(
    services: Services<'_>,
    matrix: &Matrix,
    targets: &Targets,
    results: &mut RunResults,
    sink: &mut Sink,
) -> Result<()> {
    if matrix.startup_phase_runs() > 0 {
        measure_startups(services, matrix, targets, results, sink).await?;
    }
    let pending: Vec<String> = results.pending_cells(true).iter().map(Cell::id).collect();
    let steps = results
        .pending_cells(true)
        .iter()
        .map(|cell| {
            let done = results
                .cell(cell)
                .filter(|r| r.is_incomplete())
                .map_or(0, |r| r.repetitions.len() as u32);
            (matrix.repetitions - done.min(matrix.repetitions)) as usize
        })
        .sum();
    let mut progress = Progress::new(steps);
    for (_, cells) in matrix.groups() {
        let cells: Vec<Cell> = cells
            .into_iter()
            .filter(|cell| pending.contains(&cell.id()))
            .collect();
        if !cells.is_empty() {
            measure_group(
                services,
                matrix,
                targets,
                &cells,
                results,
                sink,
                &mut progress,
            )
            .await?;
        }
    }
    Ok(())
}

/// A cell of a group under way: its server, and what it has measured so far.
struct Member {
    cell: Cell,
    /// A fixed-rate cell's target in req/s.
    target_rate: Option<RequestsPerSec>,
    server: Server,
    artifact: Artifact,
    lifecycle: Lifecycle,
    repetitions: Vec<Repetition>,
}

/// One comparison group: every cell's service started and warmed up, then the rounds, each
/// running one repetition of every cell in an order rotated by one each round, then the
/// stops. The services wait idle between their turns. A cell that fails is recorded with its
/// stage and reason and leaves the rotation; the others go on.
async fn measure_group(
    services: Services<'_>,
    matrix: &Matrix,
    targets: &Targets,
    cells: &[Cell],
    results: &mut RunResults,
    sink: &mut Sink,
    progress: &mut Progress,
) -> Result<()> {
    let mut members: Vec<Member> = Vec::new();
    for cell in cells {
        let kept = results
            .cell(cell)
            .filter(|r| r.is_incomplete())
            .map(|r| r.repetitions.clone())
            .unwrap_or_default();
        let target_rate = match target_rate(results, cell) {
            Ok(target) => target,
            Err(reason) => {
                progress.start(&format!("{}: FAILED", cell.id()));
                results.record(failed(cell.clone(), Stage::Start, reason));
                sink.write(results)?;
                continue;
            }
        };
        match start_member(services, matrix, targets, cell).await {
            Ok(mut member) => {
                member.repetitions = kept;
                member.target_rate = target_rate;
                members.push(member);
            }
            Err(failure) => {
                progress.start(&format!("{}: FAILED", cell.id()));
                results.record(*failure);
                sink.write(results)?;
            }
        }
    }

    // Warm-up, each in turn.
    let mut warmed = Vec::new();
    for member in members {
        if matrix.warmup.is_zero() {
            warmed.push(member);
            continue;
        }
        match loadgen::run(&load(matrix, &member, matrix.warmup)).await {
            Ok(_) => warmed.push(member),
            Err(err) => {
                let result =
                    finish(member, matrix, Some((Stage::Warmup, format!("{err:#}")))).await;
                results.record(result);
                sink.write(results)?;
            }
        }
    }
    let mut members = warmed;

    let first_round = members
        .iter()
        .map(|m| m.repetitions.len() as u32)
        .min()
        .unwrap_or(matrix.repetitions);
    for round in first_round..matrix.repetitions {
        let n = members.len();
        let order: Vec<usize> = (0..n).map(|i| (i + round as usize) % n.max(1)).collect();
        let mut failed = Vec::new();
        for index in order {
            let member = &mut members[index];
            if member.repetitions.len() as u32 != round {
                continue;
            }
            progress.start(&format!("{} round {}", member.cell.id(), round + 1));
            let outcome = repetition(member, matrix, round).await;
            let outcome = match outcome {
                Ok(repetition) => match member.server.exited().await {
                    Ok(Some(reason)) => Err(format!("the service stopped: {reason}")),
                    _ => Ok(repetition),
                },
                Err(err) => Err(format!("{err:#}")),
            };
            match outcome {
                Ok(repetition) => {
                    progress.finish(&format!(
                        "{} round {}: {:.0} req/s",
                        member.cell.id(),
                        round + 1,
                        repetition.load.rate_2xx
                    ));
                    member.repetitions.push(repetition);
                    let mut result = CellResult::incomplete(
                        member.cell.clone(),
                        member.repetitions.clone(),
                        member.lifecycle.clone(),
                    );
                    result.artifact = member.artifact.clone();
                    results.record(result);
                }
                Err(reason) => {
                    progress.finish(&format!("{}: FAILED: {reason}", member.cell.id()));
                    failed.push((index, reason));
                }
            }
            sink.write(results)?;
        }
        for (index, reason) in failed.into_iter().rev() {
            let member = members.remove(index);
            let result = finish(member, matrix, Some((Stage::Load, reason))).await;
            results.record(result);
            sink.write(results)?;
        }
    }

    for member in members {
        let result = finish(member, matrix, None).await;
        eprintln!("{}", describe(&result));
        results.record(result);
        sink.write(results)?;
    }
    Ok(())
}

/// A fixed-rate cell's target in req/s: its absolute rate, or its share of the median 2xx
/// rate its closed-loop twin measured earlier in this run; `Ok(None)` for a closed loop.
fn target_rate(results: &RunResults, cell: &Cell) -> Result<Option<RequestsPerSec>, String> {
    let (Some(rate), Some(twin)) = (cell.rate, cell.closed_loop_twin()) else {
        return Ok(None);
    };
    let maximum = results
        .cell(&twin)
        .filter(|r| !r.is_failed() && !r.is_incomplete())
        .and_then(|r| r.summary.as_ref())
        .map(|s| s.rate_2xx.median);
    match rate.target(maximum) {
        Some(target) if target > 0.0 => Ok(Some(target)),
        _ => Err(format!(
            "no closed-loop maximum to take {} of: {} was not measured",
            rate.spec(),
            twin.id()
        )),
    }
}

/// Starts a cell's service and waits for it; a failure is the cell's failed result.
async fn start_member(
    services: Services<'_>,
    matrix: &Matrix,
    targets: &Targets,
    cell: &Cell,
) -> std::result::Result<Member, Box<CellResult>> {
    let subject = match targets.get(&(cell.framework, cell.base)) {
        Some(Ok(subject)) => subject,
        Some(Err(reason)) => {
            return Err(Box::new(failed(cell.clone(), Stage::Start, reason.clone())));
        }
        None => {
            return Err(Box::new(failed(
                cell.clone(),
                Stage::Start,
                "no image or binary".to_owned(),
            )));
        }
    };
    let with_artifact = |mut result: CellResult| {
        result.artifact = subject.artifact.clone();
        Box::new(result)
    };
    let limits = limits(matrix, &cell.cpu);
    let started = Server::start_with(
        services.docker,
        &subject.target,
        &limits,
        &run_labels(),
        services.start,
    )
    .await;
    let mut server = match started {
        Ok(server) => server,
        Err(err) => {
            return Err(with_artifact(failed(
                cell.clone(),
                Stage::Start,
                format!("{err:#}"),
            )));
        }
    };
    let mut lifecycle = Lifecycle::default();
    match server.wait_ready(matrix.ready_timeout).await {
        Ok(ready) => lifecycle.ready_ms = Some(ready.as_secs_f64() * 1e3),
        Err(err) => {
            let _ = server.stop().await;
            return Err(with_artifact(failed(
                cell.clone(),
                Stage::Ready,
                format!("{err:#}"),
            )));
        }
    }
    Ok(Member {
        cell: cell.clone(),
        target_rate: None,
        server,
        artifact: subject.artifact.clone(),
        lifecycle,
        repetitions: Vec::new(),
    })
}

/// Stops a member and makes its result: measured when its rounds are done and nothing
/// failed, failed at `failure`'s stage (or the stop's) with what it had measured otherwise.
async fn finish(
    member: Member,
    matrix: &Matrix,
    mut failure: Option<(Stage, String)>,
) -> CellResult {
    let Member {
        cell,
        server,
        artifact,
        mut lifecycle,
        repetitions,
        target_rate: _,
    } = member;
    match server.stop().await {
        Ok(stopped) => {
            lifecycle.stop_ms = Some(stopped.took.as_secs_f64() * 1e3);
            lifecycle.killed = stopped.killed;
            if stopped.oom_killed && failure.is_none() {
                failure = Some((Stage::Load, "killed for running out of memory (OOM)".into()));
            }
        }
        Err(err) if failure.is_none() => failure = Some((Stage::Stop, format!("{err:#}"))),
        Err(_) => {}
    }
    let mut result = match failure {
        None if repetitions.len() as u32 >= matrix.repetitions => {
            CellResult::measured(cell, repetitions, lifecycle)
        }
        None => CellResult::incomplete(cell, repetitions, lifecycle),
        Some((stage, reason)) => CellResult::failed(cell, stage, reason, repetitions, lifecycle),
    };
    result.artifact = artifact;
    result
}

fn load(matrix: &Matrix, member: &Member, duration: Duration) -> Load {
    let cell = &member.cell;
    Load {
        generator: cell.generator,
        addr: member.server.addr,
        path: cell.endpoint.path(),
        connections: cell.connections,
        duration,
        keep_alive: cell.keep_alive,
        rate: member.target_rate,
        cpuset: matrix.generator_cpus.clone(),
    }
}

/// Cold starts of every image of the matrix and of every bare binary not yet measured:
/// start to first 200.
async fn measure_startups(
    services: Services<'_>,
    matrix: &Matrix,
    targets: &Targets,
    results: &mut RunResults,
    sink: &mut Sink,
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
        // The bare binaries start on this machine: beside a remote engine's containers their
        // cold starts would compare two machines.
        .filter(|(key, _)| !(services.start.stats_from_engine && key.1 == Packaging::Process))
        .filter(|(key, _)| {
            !results
                .startup
                .iter()
                .any(|s| (s.framework, s.base) == **key)
        })
        .filter_map(|(key, subject)| Some((*key, subject.as_ref().ok()?.target.clone())))
        .collect();
    if subjects.is_empty() {
        return Ok(());
    }
    let mut progress = Progress::new(subjects.len());
    for ((framework, base), target) in subjects {
        progress.start(&format!("cold starts of {framework} on {base}"));
        let mut runs_ms = Vec::new();
        let mut failures = Vec::new();
        for _ in 0..matrix.startup_runs {
            match cold_start(services, &target, &limits, matrix.ready_timeout).await {
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
        sink.write(results)?;
    }
    Ok(())
}

async fn cold_start(
    services: Services<'_>,
    target: &Target,
    limits: &Limits,
    timeout: Duration,
) -> Result<Duration> {
    let mut server = Server::start_with(
        services.docker,
        target,
        limits,
        &run_labels(),
        services.start,
    )
    .await?;
    let ready = server.wait_ready(timeout).await;
    server.stop().await?;
    ready
}

/// One reading of the server during a repetition.
struct Reading {
    at: Duration,
    usage: Usage,
    /// Only every [`MEMORY_EVERY`]th reading counts for memory.
    memory: bool,
}

impl Reading {
    /// Reads the server now. The reading is dated at the middle of the read: through a
    /// remote engine a read is a round trip, and the engine samples somewhere within it.
    async fn now(server: &Server, memory: bool) -> Result<Reading> {
        let before = monotonic_now();
        let usage = server.usage().await?;
        let after = monotonic_now();
        Ok(Reading {
            at: before + after.saturating_sub(before) / 2,
            usage,
            memory,
        })
    }
}

/// One measured repetition in `round`: oha for the matrix's duration while the server's CPU
/// time and CFS counters are read every [`SAMPLE_INTERVAL`] and its memory every 100 ms;
/// the server's figures are then taken over oha's own load window. A server that cannot be
/// read (a Fargate task) is only loaded.
async fn repetition(member: &Member, matrix: &Matrix, round: u32) -> Result<Repetition> {
    let server = &member.server;
    if !server.measures_usage() {
        let started = provenance::now_rfc3339();
        let run = loadgen::run(&load(matrix, member, matrix.duration)).await?;
        let generator = generator_usage(&run, matrix);
        return Ok(Repetition {
            round,
            started,
            target_rate: member.target_rate,
            load: run.report,
            latency_histogram: run.latency_histogram,
            timeline: run.timeline,
            server: None,
            generator,
        });
    }
    server.reset_memory_peak()?;
    let started = provenance::now_rfc3339();
    let mut readings = vec![Reading::now(server, true).await?];
    let load = load(matrix, member, matrix.duration);
    let generator = loadgen::run(&load);
    tokio::pin!(generator);
    let mut tick = tokio::time::interval(if server.reads_through_engine() {
        ENGINE_SAMPLE_INTERVAL
    } else {
        SAMPLE_INTERVAL
    });
    // A reading that takes longer than the interval delays the next rather than bunching up.
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let run = loop {
        tokio::select! {
            run = &mut generator => break run?,
            _ = tick.tick() => {
                let memory = readings.len() % MEMORY_EVERY == 0;
                readings.push(Reading::now(server, memory).await?);
            }
        }
    };
    readings.push(Reading::now(server, false).await?);
    let peak = server.memory_peak().await?;

    let generator_usage = generator_usage(&run, matrix);
    let load_report = run.report;
    let (start, end) = (run.window_start, run.window_start + run.window);
    let delta = |value: fn(&Usage) -> f64| -> f64 {
        let series: Vec<(Duration, f64)> =
            readings.iter().map(|r| (r.at, value(&r.usage))).collect();
        match (interpolate(&series, end), interpolate(&series, start)) {
            (Some(b), Some(a)) => b - a,
            // The window should lie inside the readings; if not, all of them.
            _ => series.last().map_or(0.0, |l| l.1) - series.first().map_or(0.0, |f| f.1),
        }
    };
    let cpu_time = Duration::from_secs_f64(delta(|u| u.cpu.as_secs_f64()).max(0.0));
    let throttling = server_throttling(&readings).map(|_| Throttling {
        periods: delta(|u| counter(u, |t| t.periods)).round().max(0.0) as u64,
        throttled_periods: delta(|u| counter(u, |t| t.throttled_periods))
            .round()
            .max(0.0) as u64,
        throttled_us: delta(|u| counter(u, |t| t.throttled_us)).round().max(0.0) as u64,
    });
    let memory: Vec<u64> = readings
        .iter()
        .filter(|r| r.memory && r.at >= start && r.at <= end)
        .map(|r| r.usage.anon_bytes)
        .collect();
    let server_usage = ServerUsage::from_readings(
        cpu_time,
        run.window,
        load_report.ok_2xx,
        &memory,
        peak,
        throttling,
    );
    Ok(Repetition {
        round,
        started,
        target_rate: member.target_rate,
        load: load_report,
        latency_histogram: run.latency_histogram,
        timeline: run.timeline,
        server: Some(server_usage),
        generator: generator_usage,
    })
}

fn generator_usage(run: &loadgen::LoadRun, matrix: &Matrix) -> GeneratorUsage {
    GeneratorUsage::from_readings(
        run.generator_cpu,
        run.window,
        run.threads,
        matrix.generator_cpus.len(),
    )
}

fn server_throttling(readings: &[Reading]) -> Option<Throttling> {
    readings.first()?.usage.throttling
}

fn counter(usage: &Usage, field: fn(&Throttling) -> u64) -> f64 {
    usage.throttling.as_ref().map_or(0.0, |t| field(t) as f64)
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

fn failed(cell: Cell, stage: Stage, reason: String) -> CellResult {
    CellResult::failed(cell, stage, reason, Vec::new(), Lifecycle::default())
}

fn describe(result: &CellResult) -> String {
    match (&result.summary, &result.outcome) {
        (Some(summary), _) => format!(
            "{}: {:.0} req/s, p99 {}, server CPU {}",
            result.id,
            summary.rate_2xx.median,
            summary
                .latency_p99_us
                .as_ref()
                .map_or("-".to_owned(), |p99| format!("{:.2} ms", p99.median / 1e3)),
            summary
                .server_cpu_percent
                .map_or("not measured".to_owned(), |cpu| format!(
                    "{:.0}%",
                    cpu.median
                ))
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
