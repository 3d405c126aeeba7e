//! A service as a Fargate task, the server of `run --backend ecs`: its definition registered
//! and the task run through the [`Ledger`], RUNNING awaited, then loaded at its private
//! address (or `--target-host`) from this machine. Fargate lets nothing on the runner read
//! the task's cgroup, so its CPU and memory are not measured.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use bench_core::catalog::{Base, Framework};
use bench_core::fargate::sizes::FargateSize;
use bench_core::fargate::taskdef::{self, KeyValuePair, Options};

use super::{Kind, Limits, Server, Stopped, hello_answers};
use crate::aws::{self, DESCRIBE_EVERY, Ledger, TaskNetwork};

/// How long a task may take from RunTask to RUNNING: Fargate provisions, attaches a network
/// interface and pulls the image first, which takes tens of seconds.
pub const RUNNING_TIMEOUT: Duration = Duration::from_secs(300);

/// How often readiness is probed: every probe is a new connection over the VPC.
const PROBE_EVERY: Duration = Duration::from_millis(100);

/// How long one readiness probe may take, connection included.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// How long a stop waits for ECS to report the container stopped beyond the task's stop
/// timeout: ECS reports in its own time.
const STOP_REPORT_MARGIN: Duration = Duration::from_secs(60);

/// What every task of a run shares: the ledger of what was created, where the tasks run,
/// what their definitions hold and where the load goes.
pub struct Tasks {
    pub ledger: Ledger,
    pub network: TaskNetwork,
    pub options: Options,
    /// `--target-host`: load this address instead of each task's private one.
    pub target_host: Option<IpAddr>,
}

impl std::fmt::Debug for Tasks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tasks")
            .field("network", &self.network)
            .field("target_host", &self.target_host)
            .finish_non_exhaustive()
    }
}

/// A running task.
#[derive(Debug)]
pub(super) struct Task {
    tasks: Arc<Tasks>,
    arn: String,
    definition_arn: String,
    /// When RUNNING was seen: readiness is timed out from here, not from RunTask, which
    /// Fargate's provisioning and pull make slow.
    running: Instant,
}

/// The Fargate size of `limits`: the matrix allows only quotas that are one exactly.
fn size(limits: &Limits) -> Result<FargateSize> {
    let cpu_units = (limits.vcpus * 1024.0).round() as u32;
    let memory_mib = u32::try_from(limits.memory_bytes >> 20).context("memory out of range")?;
    FargateSize::new(cpu_units, memory_mib).map_err(|err| anyhow!("{err}"))
}

/// Starts `image` (a reference by digest) of `framework` on `base` as a task of `limits`'
/// size and waits until it is RUNNING; readiness is [`Server::wait_ready`]'s.
pub(super) async fn start(
    tasks: &Arc<Tasks>,
    framework: Framework,
    base: Base,
    image: &str,
    limits: &Limits,
    env: &[(&str, String)],
) -> Result<Server> {
    let size = size(limits)?;
    let mut definition = taskdef::definition(framework, base, size, &tasks.options);
    let container = &mut definition.container_definitions[0];
    container.image = image.to_owned();
    // The run's own settings, where they differ from the definition's defaults; the
    // address is the task's.
    for (name, value) in env.iter().filter(|(name, _)| *name != "BIND_ADDR") {
        container.environment.retain(|pair| pair.name != *name);
        container.environment.push(KeyValuePair {
            name: (*name).to_owned(),
            value: value.clone(),
        });
    }
    container.stop_timeout =
        u32::try_from((limits.shutdown_grace + Duration::from_secs(5)).as_secs() + 1)
            .unwrap_or(u32::MAX);
    let ledger = &tasks.ledger;
    let definition_arn = ledger.register(&definition).await?;
    let started = Instant::now();
    let arn = match ledger.run_task(&definition_arn, &tasks.network).await {
        Ok(arn) => arn,
        Err(err) => {
            let _ = ledger.deregister(&definition_arn).await;
            return Err(err);
        }
    };
    let running = aws::wait_running(ledger, &arn, started, RUNNING_TIMEOUT, |_| {}).await;
    let ip = running.and_then(|running| match tasks.target_host {
        Some(ip) => Ok(ip),
        None => running
            .private_ipv4()
            .map(IpAddr::V4)
            .context("the task has no private IPv4 address in its network attachment"),
    });
    let ip = match ip {
        Ok(ip) => ip,
        Err(err) => {
            let _ = ledger.stop(&arn).await;
            let _ = ledger.deregister(&definition_arn).await;
            return Err(err);
        }
    };
    Ok(Server {
        addr: SocketAddr::new(ip, tasks.options.port),
        started,
        limits: limits.clone(),
        kind: Kind::Task(Task {
            tasks: Arc::clone(tasks),
            arn,
            definition_arn,
            running: Instant::now(),
        }),
    })
}

impl Task {
    /// Probes `GET /hello` at `addr` every [`PROBE_EVERY`] until a 200, checking the task
    /// every [`DESCRIBE_EVERY`]; the time since `started` (RunTask) at the first 200.
    pub(super) async fn wait_ready(
        &self,
        addr: SocketAddr,
        started: Instant,
        timeout: Duration,
    ) -> Result<Duration> {
        let mut last_check = Instant::now();
        loop {
            if hello_answers(addr, PROBE_TIMEOUT).await {
                return Ok(started.elapsed());
            }
            if self.running.elapsed() > timeout {
                bail!(
                    "/hello at {addr} did not answer 200 within {timeout:?} of the task \
                     running: this machine must be in the task's VPC (or route to it), and \
                     the task's security group must let it reach port {}",
                    addr.port()
                );
            }
            if last_check.elapsed() >= DESCRIBE_EVERY {
                last_check = Instant::now();
                if let Some(reason) = self.exited().await? {
                    bail!("the task stopped before answering /hello: {reason}");
                }
            }
            tokio::time::sleep(PROBE_EVERY).await;
        }
    }

    /// Why the task is no longer running, or `None` while it runs.
    pub(super) async fn exited(&self) -> Result<Option<String>> {
        let task = self.tasks.ledger.describe(&self.arn).await?;
        Ok(aws::stopping(&task).then(|| {
            task.stop_reason()
                .unwrap_or_else(|| "ECS gave no reason".to_owned())
        }))
    }

    /// Stops the task (ECS sends SIGTERM, SIGKILL after the stop timeout), waits until ECS
    /// reports the container stopped, and deregisters the definition.
    pub(super) async fn stop(self, wait: Duration) -> Result<Stopped> {
        let ledger = &self.tasks.ledger;
        let start = Instant::now();
        let stopped = ledger.stop(&self.arn).await;
        let deregistered = ledger.deregister(&self.definition_arn).await;
        stopped?;
        deregistered?;
        loop {
            let task = ledger.describe(&self.arn).await?;
            let container = task.containers.first();
            let container_stopped =
                container.is_some_and(|c| c.last_status.as_deref() == Some("STOPPED"));
            if container_stopped || task.last_status.as_deref() == Some("STOPPED") {
                let took = start.elapsed();
                let exit_code = container.and_then(|c| c.exit_code).map(i64::from);
                let oom_killed = container
                    .and_then(|c| c.reason.as_deref())
                    .is_some_and(|reason| reason.contains("OutOfMemory"));
                return Ok(Stopped {
                    took,
                    exit_code,
                    oom_killed,
                    killed: exit_code == Some(137) && !oom_killed && took >= wait,
                });
            }
            if start.elapsed() > wait + STOP_REPORT_MARGIN {
                bail!(
                    "ECS did not report task {} stopped within {:?}",
                    self.arn,
                    wait + STOP_REPORT_MARGIN
                );
            }
            tokio::time::sleep(DESCRIBE_EVERY).await;
        }
    }
}
