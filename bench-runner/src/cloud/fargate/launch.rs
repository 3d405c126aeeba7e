//! `bench-runner fargate run`: each image × size launched as a Fargate task and timed from
//! RunTask to the first 200 of `GET /hello`, with ECS's own timeline in between.
//!
//! One launch at a time, so that launches do not share the account's pull bandwidth or
//! ENI quota: register the definition, RunTask, DescribeTasks every second until RUNNING,
//! then a probe every 100 ms (each on a new connection, up to 2 s each, several in flight)
//! until one gets a 200, a last DescribeTasks for the timestamps ECS has by then, and the
//! task stopped and the definition deregistered before the next launch. The results are on
//! disk after every launch. The [`Ledger`] removes whatever is left after an error or Ctrl-C.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow, bail};
use bench_core::catalog::{Base, Framework};
use bench_core::fargate::sizes::FargateSize;
use bench_core::fargate::taskdef::{self, Options, TaskDefinition};
use bench_core::fargate::timeline::{
    self, AwsTime, FargateRun, Launch, LaunchFailure, LaunchStage,
};
use tokio::task::JoinSet;

use super::definitions;
use crate::aws::{self, Aws, DESCRIBE_EVERY, Ledger, TaskNetwork};
use crate::cli::FargateRunArgs;
use crate::server::hello_answers;
use crate::workspace::Workspace;
use crate::{output, provenance};

/// How often a new probe starts: the first 200 is seen within this of the service's
/// readiness, plus a round trip.
const PROBE_EVERY: Duration = Duration::from_millis(100);

/// How long one probe may take, connection included. A security group that drops the
/// probe's SYN makes every probe last this long, so several are in flight at once.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// What `fargate run` does, from the command line.
#[derive(Debug)]
pub struct LaunchPlan {
    pub images: Vec<(Framework, Base)>,
    pub sizes: Vec<FargateSize>,
    pub options: Options,
    pub network: TaskNetwork,
    pub region: Option<String>,
    pub launches: u32,
    pub timeout: Duration,
    pub target_host: Option<IpAddr>,
    pub out: Option<PathBuf>,
}

impl LaunchPlan {
    /// The plan of `args`; an error names the flag at fault.
    ///
    /// # Errors
    /// When a value is one ECS would refuse.
    pub fn new(args: &FargateRunArgs) -> Result<LaunchPlan> {
        let (images, options) = definitions(&args.definitions, args.ecs.region.as_deref())?;
        Ok(LaunchPlan {
            images,
            sizes: args.sizes.0.clone(),
            options,
            network: args.ecs.network()?,
            region: args.ecs.region.clone(),
            launches: args.launches,
            timeout: args.timeout,
            target_host: args.target_host,
            out: args.out.clone(),
        })
    }
}

/// `bench-runner fargate run`.
///
/// # Errors
/// When nothing can be launched: no credentials or region, no such cluster, an image missing
/// from ECR, or the results cannot be written. A launch that fails is recorded with its stage
/// and reason, and the others go on; the exit status is then 1.
pub async fn run_command(plan: &LaunchPlan) -> Result<ExitCode> {
    let aws = Aws::connect(plan.region.as_deref()).await?;
    aws::check_cluster(&aws, &plan.network.cluster).await?;
    check_images(plan, &aws).await?;
    let workspace = Workspace::locate().ok();
    let out = match (&plan.out, &workspace) {
        (Some(out), _) => out.clone(),
        (None, Some(workspace)) => output::new_results_dir(workspace, "fargate-")?,
        (None, None) => bail!("not in benchlab's workspace: give --out"),
    };
    let started_by = format!("benchlab-{}", std::process::id());
    let ledger = Ledger::new(&aws, &plan.network.cluster, &started_by);
    let mut results = FargateRun {
        format: timeline::FORMAT,
        region: aws.region.clone(),
        cluster: plan.network.cluster.clone(),
        subnets: plan.network.subnets.clone(),
        security_groups: plan.network.security_groups.clone(),
        assign_public_ip: plan.network.assign_public_ip,
        endpoint: aws.endpoint.clone(),
        started: provenance::now_rfc3339(),
        ended: None,
        runner: runner(workspace.as_ref(), &started_by, plan.target_host),
        launches: Vec::new(),
    };
    if let Some(endpoint) = &aws.endpoint {
        eprintln!("note: AWS calls go to {endpoint} (AWS_ENDPOINT_URL), not to AWS");
    }
    output::write_fargate(&out, &results)?;
    let interrupted = tokio::select! {
        outcome = launch_all(plan, &ledger, &mut results, &out) => {
            outcome?;
            false
        }
        _ = tokio::signal::ctrl_c() => true,
    };
    if interrupted {
        eprintln!("interrupted: stopping the tasks and deregistering the definitions");
    }
    let problems = ledger.clean_up().await;
    results.ended = Some(provenance::now_rfc3339());
    output::write_fargate(&out, &results)?;
    eprintln!("wrote {}", out.display());
    for problem in &problems {
        eprintln!("error: {problem}");
    }
    if interrupted {
        return Ok(ExitCode::from(130));
    }
    let failed = results
        .launches
        .iter()
        .filter(|l| l.failure.is_some() || !l.cleanup.is_empty())
        .count();
    if failed > 0 {
        eprintln!(
            "error: {failed} of {} launches failed or left something behind: see timeline.md",
            results.launches.len()
        );
    }
    Ok(if failed == 0 && problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Who launched: this machine, this build, and how the tasks were reached.
fn runner(
    workspace: Option<&Workspace>,
    started_by: &str,
    target_host: Option<IpAddr>,
) -> std::collections::BTreeMap<String, String> {
    let mut runner = std::collections::BTreeMap::from([
        ("host".to_owned(), provenance::hostname()),
        (
            "bench-runner".to_owned(),
            env!("CARGO_PKG_VERSION").to_owned(),
        ),
        ("started by".to_owned(), started_by.to_owned()),
        (
            "probe target".to_owned(),
            target_host.map_or_else(
                || "each task's private IPv4 address".to_owned(),
                |host| format!("{host} (--target-host)"),
            ),
        ),
    ]);
    if let Some(workspace) = workspace {
        runner.insert("git commit".to_owned(), provenance::git_commit(workspace));
    }
    runner
}

/// For images in ECR, checks that every one is there before anything is registered.
async fn check_images(plan: &LaunchPlan, aws: &Aws) -> Result<()> {
    if aws::ecr_digests(aws, &plan.options, &plan.images)
        .await?
        .is_none()
    {
        eprintln!("{}", aws::unchecked_registry_note(&plan.options));
    }
    Ok(())
}

/// Every launch of the plan, in rounds, each written to disk before the next starts.
async fn launch_all(
    plan: &LaunchPlan,
    ledger: &Ledger,
    results: &mut FargateRun,
    out: &std::path::Path,
) -> Result<()> {
    let total = plan.launches as usize * plan.images.len() * plan.sizes.len();
    for _ in 0..plan.launches {
        for &(framework, base) in &plan.images {
            for &size in &plan.sizes {
                let definition = taskdef::definition(framework, base, size, &plan.options);
                eprintln!(
                    "[{}/{total}] {framework} on {base} at {size}",
                    results.launches.len() + 1,
                );
                let launch = launch(plan, ledger, framework, base, size, &definition).await;
                eprintln!("    {}", summary(&launch));
                results.launches.push(launch);
                output::write_fargate(out, results)?;
            }
        }
    }
    Ok(())
}

/// One line on how a launch went.
fn summary(launch: &Launch) -> String {
    let seconds = |ms: Option<f64>| ms.map_or("—".to_owned(), |ms| format!("{:.2} s", ms / 1e3));
    match &launch.failure {
        Some(failure) => format!("FAILED at {}: {}", failure.stage, failure.reason),
        None => format!(
            "RUNNING after {}, first 200 after {} ({} {})",
            seconds(launch.running_seen_ms),
            seconds(launch.first_200_ms),
            launch.probes,
            if launch.probes == 1 {
                "probe"
            } else {
                "probes"
            }
        ),
    }
}

/// Launches `definition` once and removes the task and the definition again, whatever
/// happened; the launch as recorded.
async fn launch(
    plan: &LaunchPlan,
    ledger: &Ledger,
    framework: Framework,
    base: Base,
    size: FargateSize,
    definition: &TaskDefinition,
) -> Launch {
    let mut launch = Launch::new(
        framework,
        base,
        size,
        definition.family.clone(),
        plan.options.image(framework, base),
    );
    if let Err((stage, err)) = launch_steps(plan, ledger, definition, &mut launch).await {
        launch.failure = Some(LaunchFailure {
            stage,
            reason: format!("{err:#}"),
        });
    }
    if let Some(task) = &launch.task_arn
        && let Err(err) = ledger.stop(task).await
    {
        launch.cleanup.push(format!("{err:#}"));
    }
    if let Some(arn) = &launch.task_definition_arn
        && let Err(err) = ledger.deregister(arn).await
    {
        launch.cleanup.push(format!("{err:#}"));
    }
    launch
}

type StepError = (LaunchStage, anyhow::Error);

fn millis(elapsed: Duration) -> f64 {
    elapsed.as_secs_f64() * 1e3
}

/// Register, run, RUNNING, first 200: each step's failure is its stage's.
async fn launch_steps(
    plan: &LaunchPlan,
    ledger: &Ledger,
    definition: &TaskDefinition,
    launch: &mut Launch,
) -> Result<(), StepError> {
    let arn = ledger
        .register(definition)
        .await
        .map_err(|err| (LaunchStage::Register, err))?;
    launch.task_definition_arn = Some(arn.clone());

    let sent = Instant::now();
    launch.run_task_sent = AwsTime::from_datetime(time::OffsetDateTime::now_utc());
    let task = ledger
        .run_task(&arn, &plan.network)
        .await
        .map_err(|err| (LaunchStage::Run, err))?;
    launch.run_task_answered_ms = Some(millis(sent.elapsed()));
    launch.task_arn = Some(task.clone());

    let running = aws::wait_running(ledger, &task, sent, plan.timeout, |described| {
        launch.polls += 1;
        launch.task = Some(described.clone());
    })
    .await
    .map_err(|err| (LaunchStage::Running, err))?;
    launch.running_seen_ms = Some(millis(sent.elapsed()));

    let ip = match plan.target_host {
        Some(ip) => ip,
        None => IpAddr::V4(running.private_ipv4().ok_or_else(|| {
            (
                LaunchStage::Probe,
                anyhow!("the task has no private IPv4 address in its network attachment"),
            )
        })?),
    };
    let addr = SocketAddr::new(ip, plan.options.port);
    launch.probe_target = Some(addr.to_string());
    launch.task = Some(running);
    probe(plan, ledger, &task, addr, sent, launch).await?;

    // The timestamps ECS has by the first 200.
    if let Ok(described) = ledger.describe(&task).await {
        launch.polls += 1;
        launch.task = Some(described);
    }
    Ok(())
}

/// Probes `addr` until a 200, watching the task meanwhile.
async fn probe(
    plan: &LaunchPlan,
    ledger: &Ledger,
    task: &str,
    addr: SocketAddr,
    sent: Instant,
    launch: &mut Launch,
) -> Result<(), StepError> {
    let mut probes = JoinSet::new();
    let mut next_probe = tokio::time::interval(PROBE_EVERY);
    let mut next_describe = tokio::time::interval(DESCRIBE_EVERY);
    next_describe.tick().await;
    loop {
        tokio::select! {
            Some(answered) = probes.join_next() => {
                if matches!(answered, Ok(true)) {
                    launch.first_200_ms = Some(millis(sent.elapsed()));
                    probes.abort_all();
                    return Ok(());
                }
            }
            _ = next_probe.tick() => {
                if sent.elapsed() > plan.timeout {
                    probes.abort_all();
                    return Err((
                        LaunchStage::Probe,
                        anyhow!(
                            "GET /hello at {addr} answered no 200 within {:?} (--timeout) of \
                             RunTask: this machine must be in the task's VPC (or route to \
                             it), and the task's security group must let it reach port {}",
                            plan.timeout,
                            addr.port()
                        ),
                    ));
                }
                launch.probes += 1;
                probes.spawn(hello_answers(addr, PROBE_TIMEOUT));
            }
            _ = next_describe.tick() => {
                let described = ledger
                    .describe(task)
                    .await
                    .map_err(|err| (LaunchStage::Probe, err))?;
                launch.polls += 1;
                if aws::stopping(&described) {
                    let err = aws::stopped_error(&described, "before it answered GET /hello");
                    launch.task = Some(described);
                    probes.abort_all();
                    return Err((LaunchStage::Probe, err));
                }
                launch.task = Some(described);
            }
        }
    }
}
