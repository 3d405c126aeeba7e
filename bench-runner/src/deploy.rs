//! The `deploy` command: for every framework × strategy × client keep-alive × upstream
//! keep-alive, a real nginx on loopback in front of a blue instance, a fixed-rate load
//! recorded request by request through it, and a green instance replacing blue by the
//! strategy while the load runs. Each swap's report (bench-core's `deploy`) is on disk,
//! with its timeline chart, before the next swap starts; a swap that fails is recorded and
//! the run goes on; Ctrl-C leaves no nginx, container or config behind.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use bench_core::catalog::{Backend, Framework};
use bench_core::deploy::{
    DeployResults, DeploySettings, Instance, Outcome, Strategy, Swap, SwapEvents, SwapOutcome,
    SwapResult, analyse, chart_file,
};
use bench_core::plan::{CpuSet, Matrix};
use bollard::Docker;

use crate::artifacts::{build_binaries, build_images, ensure_bases};
use crate::bases::BaseOptions;
use crate::cli::DeployArgs;
use crate::images::ImageOptions;
use crate::output::{new_results_dir, write_deploy};
use crate::proxy::{Proxy, ProxyConfig};
use crate::recorder::{INSTANCE_HEADER, Recording, Schedule};
use crate::server::{Limits, Server, StartOptions, Target, free_port};
use crate::workspace::Workspace;
use crate::{docker, provenance, proxy};

/// The label on every container a deploy run starts; its value is the runner's process id.
pub const DEPLOY_LABEL: &str = "benchlab.deploy";

/// How long an instance gets to answer `/hello` after its start.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// What a deploy run will do, checked before anything starts.
#[derive(Debug, Clone)]
pub struct DeployPlan {
    pub settings: DeploySettings,
    pub server_cpus: CpuSet,
    pub client_cpus: CpuSet,
    pub memory_bytes: u64,
    pub repository: String,
    pub dir: PathBuf,
}

impl DeployPlan {
    /// The plan of `args`.
    ///
    /// # Errors
    /// A bad flag, named; an engine on another machine.
    pub fn new(args: &DeployArgs, workspace: &Workspace) -> Result<DeployPlan> {
        let engine = docker::engine()?;
        if !engine.is_local() {
            bail!(
                "deploy runs nginx and the recorder on this machine, in front of instances on \
                 its loopback, but the Docker engine is {}, another machine: deploy needs a \
                 local engine (unset DOCKER_HOST, or give --docker-host unix:///var/run/docker.sock)",
                engine.describe()
            );
        }
        let or_all = |chosen: &[Framework]| {
            if chosen.is_empty() {
                Framework::ALL.to_vec()
            } else {
                chosen.to_vec()
            }
        };
        let settings = DeploySettings {
            frameworks: or_all(&args.frameworks),
            strategies: if args.strategies.is_empty() {
                Strategy::ALL.to_vec()
            } else {
                args.strategies.clone()
            },
            client_keep_alive: args.client_keep_alive.clone(),
            upstream_keep_alive: args.upstream_keep_alive.clone(),
            rate: args.rate,
            duration_ms: millis(args.duration),
            swap_at_ms: millis(args.swap_at),
            drain_ms: millis(args.drain),
            grace_ms: millis(args.grace),
            timeout_ms: millis(args.timeout),
            endpoint: args.endpoint,
            backend: args.backend,
            base: args.base,
            vcpus: args.vcpus,
            server_cpus: args.server_cpus.to_string(),
            client_cpus: args.client_cpus.to_string(),
        };
        settings.validate()?;
        if !(args.vcpus > 0.0 && args.vcpus <= args.server_cpus.len() as f64) {
            bail!(
                "invalid --vcpus {}: it must be above 0 and at most the {} CPU(s) of --server-cpus",
                args.vcpus,
                args.server_cpus.len()
            );
        }
        if args.server_cpus.overlaps(&args.client_cpus) {
            bail!(
                "--server-cpus {} and --client-cpus {} overlap: the instances and the client \
                 (nginx and the recorder) must not share a CPU",
                args.server_cpus,
                args.client_cpus
            );
        }
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
        for (flag, set) in [
            ("--server-cpus", &args.server_cpus),
            ("--client-cpus", &args.client_cpus),
        ] {
            if set.max_id() >= cores {
                bail!(
                    "invalid {flag} {set}: this machine has CPUs 0-{}",
                    cores - 1
                );
            }
        }
        if args.memory_mib < 6 {
            bail!(
                "invalid --memory-mib {}: Docker's smallest limit is 6 MiB",
                args.memory_mib
            );
        }
        let dir = match &args.out {
            Some(dir) if dir.exists() => bail!("--out {} exists already", dir.display()),
            Some(dir) => dir.clone(),
            None => new_results_dir(workspace, "deploy-")?,
        };
        Ok(DeployPlan {
            settings,
            server_cpus: args.server_cpus.clone(),
            client_cpus: args.client_cpus.clone(),
            memory_bytes: args.memory_mib << 20,
            repository: args.repository.clone(),
            dir,
        })
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Runs the plan; a failure when any swap failed, 130 when interrupted.
pub async fn deploy_command(plan: DeployPlan, workspace: &Workspace) -> Result<ExitCode> {
    let settings = &plan.settings;
    if !std::path::Path::new(proxy::NGINX).exists() {
        bail!(
            "{} is missing: run scripts/ensure-nginx.sh (Debian's nginx-light)",
            proxy::NGINX
        );
    }
    let docker = match settings.backend {
        Backend::Docker => Some(docker::connect().await?),
        Backend::Process => None,
        Backend::Ecs => {
            bail!("--backend ecs: deploy runs its instances on this machine; use docker or process")
        }
    };
    let targets = prepare_targets(workspace, docker.as_ref(), &plan).await?;
    let matrix = Matrix {
        server_cpus: plan.server_cpus.clone(),
        generator_cpus: plan.client_cpus.clone(),
        ..Matrix::default()
    };
    let loopback = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let mut provenance =
        provenance::collect(workspace, docker.as_ref(), &matrix, Some(loopback)).await;
    provenance.images = Vec::new();
    let mut results = DeployResults::new(provenance, proxy::version(), settings.clone());
    write_deploy(&plan.dir, &results, &[])?;
    let swaps = settings.swaps();
    eprintln!(
        "deploy: {} swaps of about {} s each; results go to {}",
        swaps.len(),
        (settings.duration_ms + 2_000) / 1000,
        plan.dir.display()
    );
    let context = SwapContext {
        docker: docker.clone(),
        settings: settings.clone(),
        memory_bytes: plan.memory_bytes,
        server_cpus: matrix.server_cpus.clone(),
        client_cpus: matrix.generator_cpus.clone(),
        labels: HashMap::from([(DEPLOY_LABEL.to_owned(), std::process::id().to_string())]),
    };
    let all = async {
        for (index, swap) in swaps.iter().enumerate() {
            let outcome = match &targets[&swap.framework] {
                Ok(target) => match measure_swap(&context, *swap, target).await {
                    Ok(outcome) => outcome,
                    Err(err) => SwapOutcome::Failed {
                        reason: format!("{err:#}"),
                    },
                },
                Err(reason) => SwapOutcome::Failed {
                    reason: reason.clone(),
                },
            };
            eprintln!(
                "[{}/{}] {}: {}",
                index + 1,
                swaps.len(),
                swap.id(),
                summary(&outcome)
            );
            let chart = match &outcome {
                SwapOutcome::Measured { report, .. } => vec![(
                    chart_file(swap),
                    bench_core::charts::deploy_timeline(report, &swap.id()),
                )],
                SwapOutcome::Failed { .. } => Vec::new(),
            };
            results.record(SwapResult {
                swap: *swap,
                outcome,
            });
            write_deploy(&plan.dir, &results, &chart)?;
        }
        anyhow::Ok(())
    };
    let interrupted = tokio::select! {
        outcome = all => {
            outcome?;
            false
        }
        _ = tokio::signal::ctrl_c() => true,
    };
    if let Some(docker) = &docker {
        let label = format!("{DEPLOY_LABEL}={}", std::process::id());
        // The engine may still be creating a container whose request was dropped: look twice.
        for sweep in 0..2 {
            if sweep > 0 {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            docker::remove_labelled(docker, &label)
                .await
                .context("could not remove this deploy run's containers")?;
        }
    }
    if interrupted {
        eprintln!(
            "interrupted: the finished swaps are in {}",
            plan.dir.display()
        );
        return Ok(ExitCode::from(130));
    }
    print!("{}", bench_core::deploy::deploy_markdown(&results));
    eprintln!("results written to {}", plan.dir.display());
    let failed = results
        .swaps
        .iter()
        .any(|s| matches!(s.outcome, SwapOutcome::Failed { .. }));
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn summary(outcome: &SwapOutcome) -> String {
    match outcome {
        SwapOutcome::Measured { report, .. } => format!(
            "{} sent, {} failed, longest gap {:.0} ms, pinned to blue {}",
            report.sent, report.failed, report.longest_gap_ms, report.pinned_to_blue
        ),
        SwapOutcome::Failed { reason } => format!("FAILED: {reason}"),
    }
}

/// Where each framework's instances run from: its image in `repository` on the base, or
/// its static binary; or why it cannot run (recorded as the reason its swaps failed).
async fn prepare_targets(
    workspace: &Workspace,
    docker: Option<&Docker>,
    plan: &DeployPlan,
) -> Result<BTreeMap<Framework, Result<Target, String>>> {
    let settings = &plan.settings;
    let binaries = build_binaries(workspace, &settings.frameworks).await?;
    let Some(docker) = docker else {
        return Ok(binaries
            .iter()
            .map(|(framework, binary)| (*framework, Ok(Target::Binary(binary.path.clone()))))
            .collect());
    };
    let bases = ensure_bases(docker, &[settings.base], BaseOptions::default()).await?;
    let options = ImageOptions {
        repository: plan.repository.clone(),
        extra_labels: BTreeMap::new(),
        rebuild: false,
    };
    let built = build_images(
        docker,
        &workspace.dockerfiles(),
        &binaries,
        &bases,
        &options,
    )
    .await;
    let mut targets: BTreeMap<Framework, Result<Target, String>> = BTreeMap::new();
    for image in built.images {
        targets.insert(image.framework, Ok(Target::Image(image.tag)));
    }
    for failure in built.failures {
        targets.insert(failure.framework, Err(format!("{:#}", failure.error)));
    }
    Ok(targets)
}

/// What every swap shares.
struct SwapContext {
    docker: Option<Docker>,
    settings: DeploySettings,
    memory_bytes: u64,
    server_cpus: CpuSet,
    client_cpus: CpuSet,
    labels: HashMap<String, String>,
}

impl SwapContext {
    fn limits(&self) -> Limits {
        Limits {
            vcpus: self.settings.vcpus,
            memory_bytes: self.memory_bytes,
            cpuset: self.server_cpus.clone(),
            workers: (self.settings.vcpus.ceil() as usize).max(1),
            shutdown_grace: Duration::from_millis(self.settings.grace_ms),
        }
    }

    /// Starts an instance named `name` on `port` and waits until it answers.
    async fn instance(&self, target: &Target, port: u16, name: &str) -> Result<Server> {
        let options = StartOptions {
            port: Some(port),
            env: vec![("INSTANCE", name.to_owned())],
            ..StartOptions::default()
        };
        let mut server = Server::start_with(
            self.docker.as_ref(),
            target,
            &self.limits(),
            &self.labels,
            &options,
        )
        .await
        .with_context(|| format!("could not start {name}"))?;
        server
            .wait_ready(READY_TIMEOUT)
            .await
            .with_context(|| format!("{name} did not become ready"))?;
        Ok(server)
    }
}

/// One swap, from blue's start to green's stop.
async fn measure_swap(context: &SwapContext, swap: Swap, target: &Target) -> Result<SwapOutcome> {
    let settings = &context.settings;
    let blue_port = free_port()?;
    let green_port = match swap.strategy {
        // A naive deploy starts the new version where the old one was.
        Strategy::Naive => blue_port,
        Strategy::BlueGreen | Strategy::Rolling => free_port()?,
    };
    let blue = context.instance(target, blue_port, "blue").await?;
    let mut proxy = Proxy::start(
        ProxyConfig {
            port: free_port()?,
            upstream_keep_alive: swap.upstream_keep_alive,
            cpus: context.client_cpus.clone(),
        },
        &[blue_port],
    )
    .await?;
    check_through_proxy(&proxy).await?;

    let duration = Duration::from_millis(settings.duration_ms);
    let schedule = Schedule {
        addr: proxy.addr(),
        path: settings.endpoint.path(),
        rate: settings.rate,
        duration,
        keep_alive: swap.client_keep_alive,
        timeout: Duration::from_millis(settings.timeout_ms),
    };
    let origin = Instant::now() + Duration::from_millis(20);
    let recording = Recording::start(schedule, &context.client_cpus, origin)?;
    let now = || micros(origin, Instant::now());
    tokio::time::sleep_until((origin + Duration::from_millis(settings.swap_at_ms)).into()).await;

    let drain = Duration::from_millis(settings.drain_ms);
    let mut events = SwapEvents::default();
    let green = match swap.strategy {
        Strategy::BlueGreen => {
            let green = context.instance(target, green_port, "green").await?;
            events.green_ready_us = Some(now());
            proxy.switch(&[green_port]).await?;
            events.switch_us = Some(now());
            events.reloads_us.push(now());
            tokio::time::sleep(drain).await;
            let sigterm = now();
            events.sigterm_us = Some(sigterm);
            let stopped = blue.stop().await.context("could not stop blue")?;
            events.blue_exited_us = Some(sigterm + stopped.took.as_micros() as u64);
            events.blue_killed = stopped.killed;
            green
        }
        Strategy::Rolling => {
            let green = context.instance(target, green_port, "green").await?;
            events.green_ready_us = Some(now());
            proxy.switch(&[blue_port, green_port]).await?;
            events.reloads_us.push(now());
            tokio::time::sleep(drain).await;
            // Blue leaves the upstream and gets SIGTERM at once, as when an orchestrator
            // removes an endpoint and stops its pod concurrently.
            let sigterm = now();
            events.sigterm_us = Some(sigterm);
            let leave = async {
                proxy.switch(&[green_port]).await?;
                anyhow::Ok(now())
            };
            let (left, stopped) = tokio::join!(leave, blue.stop());
            let left = left?;
            events.switch_us = Some(left);
            events.reloads_us.push(left);
            let stopped = stopped.context("could not stop blue")?;
            events.blue_exited_us = Some(sigterm + stopped.took.as_micros() as u64);
            events.blue_killed = stopped.killed;
            green
        }
        Strategy::Naive => {
            let sigterm = now();
            events.sigterm_us = Some(sigterm);
            events.switch_us = Some(sigterm);
            let stopped = blue.stop().await.context("could not stop blue")?;
            events.blue_exited_us = Some(sigterm + stopped.took.as_micros() as u64);
            events.blue_killed = stopped.killed;
            let green = context.instance(target, green_port, "green").await?;
            events.green_ready_us = Some(now());
            green
        }
    };
    let records = recording.finish().await?;
    if records.is_empty() {
        bail!("the recorder sent no request");
    }
    green.stop().await.context("could not stop green")?;
    proxy.stop().await?;
    let report = analyse(&records, events, settings.rate, duration);
    let failed_requests = records
        .into_iter()
        .filter(|record| !matches!(record.outcome, Outcome::Status(200..=299)))
        .collect();
    Ok(SwapOutcome::Measured {
        report: Box::new(report),
        failed_requests,
    })
}

fn micros(origin: Instant, at: Instant) -> u64 {
    at.saturating_duration_since(origin).as_micros() as u64
}

/// One `GET /hello` through the proxy answered 200 by blue, so the load starts on a path
/// known to work.
async fn check_through_proxy(proxy: &Proxy) -> Result<()> {
    let schedule = Schedule {
        addr: proxy.addr(),
        path: "/hello".to_owned(),
        rate: 1000.0,
        duration: Duration::from_millis(1),
        keep_alive: false,
        timeout: Duration::from_secs(5),
    };
    let records = crate::recorder::record_now(schedule).await?;
    let record = records
        .first()
        .ok_or_else(|| anyhow!("no request went through nginx"))?;
    match (record.outcome, record.instance) {
        (Outcome::Status(200), Some(Instance::Blue)) => Ok(()),
        (outcome, instance) => bail!(
            "GET /hello through nginx on {} gave {outcome:?} from {instance:?}, not 200 from \
             blue (is {INSTANCE_HEADER} missing? the services answer it when INSTANCE is set)",
            proxy.addr()
        ),
    }
}
