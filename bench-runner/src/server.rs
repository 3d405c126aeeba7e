//! A service under load: started in a container with CPU and memory limits (the `docker`
//! backend), as a local process pinned to CPUs (the `process` backend) or as a Fargate task
//! of the quota's size (the `ecs` backend, in [`fargate`]), checked for readiness, read for
//! CPU and memory while it serves, and stopped with SIGTERM.
//!
//! A container of a local engine is read from its cgroup files; one on a remote engine's
//! machine, whose files are out of reach, through the engine's stats API. A Fargate task is
//! not read at all: nothing on the runner's machine can.

pub mod fargate;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use bench_core::catalog::{Base, Framework};
use bench_core::plan::CpuSet;
use bollard::Docker;
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, InspectContainerOptions, LogsOptionsBuilder,
    StatsOptionsBuilder, StopContainerOptionsBuilder,
};
use futures_util::StreamExt;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::process::{Child, Command};

use crate::docker::ContainerGuard;
use bench_core::results::Throttling;
use fargate::Tasks;

/// The label on every container `bench-runner run` starts, so leftovers of a killed run can be
/// found and removed by the next one.
pub const RUN_LABEL: &str = "benchlab.run";

/// What a service gets to run with.
#[derive(Debug, Clone)]
pub struct Limits {
    /// CPU quota in vCPUs (`NanoCpus` for containers; not enforced for processes, which get
    /// the whole CPUs of `cpuset`).
    pub vcpus: f64,
    /// Memory limit in bytes, swap included (containers only).
    pub memory_bytes: u64,
    /// The CPUs the server may run on.
    pub cpuset: CpuSet,
    /// `WORKERS` for the service.
    pub workers: usize,
    /// `SHUTDOWN_GRACE_MS` for the service; `stop` waits this long plus a margin.
    pub shutdown_grace: Duration,
}

/// How to start a service beyond its limits.
#[derive(Debug, Clone, Default)]
pub struct StartOptions {
    /// The port to bind; one free on this machine when `None` (on a remote engine's machine
    /// it may be taken, and the start then fails rather than measure something else).
    pub port: Option<u16>,
    /// The address the service binds and is loaded at (`--target-host`); 127.0.0.1 when
    /// `None`.
    pub host: Option<IpAddr>,
    /// Read a container's CPU time and memory through the engine's stats API instead of its
    /// cgroup files: its engine is another machine.
    pub stats_from_engine: bool,
    /// More environment variables for the service (`INSTANCE`).
    pub env: Vec<(&'static str, String)>,
    /// Where [`Target::Task`]s run (the `ecs` backend).
    pub tasks: Option<Arc<Tasks>>,
}

/// What to start: an image, a binary, or a Fargate task of an image in a registry.
#[derive(Debug, Clone)]
pub enum Target {
    Image(String),
    Binary(PathBuf),
    Task {
        framework: Framework,
        base: Base,
        /// The image by digest: `<registry>/<namespace>/<framework>@sha256:…`.
        image: String,
    },
}

/// CPU time, memory and throttling of the service at one moment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Usage {
    /// CPU time used since the service started, all threads, user and system.
    pub cpu: Duration,
    /// Anonymous memory (heap, stacks; no page cache): `anon` of the cgroup's `memory.stat`
    /// (`total_rss` on v1) for containers, `Anonymous` of `smaps_rollup` for processes.
    pub anon_bytes: u64,
    /// The cgroup's CFS counters since it started; `None` for processes.
    pub throttling: Option<Throttling>,
}

/// How a stop went.
#[derive(Debug, Clone)]
pub struct Stopped {
    /// From sending SIGTERM to the process being gone.
    pub took: Duration,
    pub exit_code: Option<i64>,
    pub oom_killed: bool,
    /// Whether SIGKILL was sent: the service outlived its grace period and the margin.
    pub killed: bool,
}

/// A running service.
#[derive(Debug)]
pub struct Server {
    pub addr: SocketAddr,
    /// When the start request was made: the origin of the startup time.
    pub started: Instant,
    limits: Limits,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Container {
        docker: Docker,
        guard: ContainerGuard,
        usage: UsageSource,
        pid: u32,
    },
    Process {
        child: Child,
        pid: u32,
    },
    Task(fargate::Task),
}

impl Server {
    /// Starts `target` on a free loopback port with `limits`, and `labels` on a container; a
    /// container's usage is read from its cgroup files (a local engine).
    pub async fn start(
        docker: Option<&Docker>,
        target: &Target,
        limits: &Limits,
        labels: &HashMap<String, String>,
    ) -> Result<Server> {
        Server::start_with(docker, target, limits, labels, &StartOptions::default()).await
    }

    /// [`Server::start`] with a chosen port and more environment: a deploy's instances.
    pub async fn start_with(
        docker: Option<&Docker>,
        target: &Target,
        limits: &Limits,
        labels: &HashMap<String, String>,
        options: &StartOptions,
    ) -> Result<Server> {
        let port = match options.port {
            Some(port) => port,
            None => free_port()?,
        };
        let ip = options.host.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
        let addr = SocketAddr::new(ip, port);
        let mut env = vec![
            ("BIND_ADDR", ip.to_string()),
            ("PORT", port.to_string()),
            ("WORKERS", limits.workers.to_string()),
            (
                "SHUTDOWN_GRACE_MS",
                limits.shutdown_grace.as_millis().to_string(),
            ),
        ];
        env.extend(options.env.iter().cloned());
        match target {
            Target::Image(image) => {
                let docker = docker.context("the docker backend needs an engine")?;
                let stats_from_engine = options.stats_from_engine;
                start_container(docker, image, limits, labels, &env, addr, stats_from_engine).await
            }
            Target::Binary(binary) => start_process(binary, limits, &env, addr),
            Target::Task {
                framework,
                base,
                image,
            } => {
                let tasks = options
                    .tasks
                    .as_ref()
                    .context("the ecs backend needs an ECS cluster")?;
                fargate::start(tasks, *framework, *base, image, limits, &env).await
            }
        }
    }

    /// Waits until `GET /hello` answers 200 and returns the time since the start request,
    /// to about half a millisecond: a blocking loop tries to connect every
    /// [`READY_POLL`] (a refused connect costs microseconds), and checks every
    /// [`EXIT_CHECK`] whether the service exited. Fails at once when the service exits, and
    /// after `timeout` otherwise.
    ///
    /// A Fargate task is probed every 100 ms over the network instead, and `timeout` counts
    /// from RUNNING; the time returned still counts from RunTask.
    pub async fn wait_ready(&mut self, timeout: Duration) -> Result<Duration> {
        if let Kind::Task(task) = &self.kind {
            return task.wait_ready(self.addr, self.started, timeout).await;
        }
        loop {
            if self.started.elapsed() > timeout {
                bail!("/hello did not answer 200 within {timeout:?}");
            }
            let (addr, started) = (self.addr, self.started);
            let ready = tokio::task::spawn_blocking(move || poll_hello(addr, started, EXIT_CHECK))
                .await
                .context("the readiness poll panicked")?;
            if let Some(ready) = ready {
                return Ok(ready);
            }
            if let Some(reason) = self.exited().await? {
                bail!("the service exited before answering /hello: {reason}");
            }
        }
    }

    /// The kernel's high-water mark of the service's memory: the container cgroup's peak
    /// charge (page cache included), or a process's `VmHWM`. Since the last
    /// [`Server::reset_memory_peak`] where the kernel allows one (cgroup v1, processes), since
    /// the start otherwise.
    /// Through the engine's stats API, the peak the engine reports (cgroup v1), never reset.
    pub async fn memory_peak(&self) -> Result<Option<u64>> {
        match &self.kind {
            Kind::Container {
                usage: UsageSource::Cgroup(files),
                ..
            } => files.peak(),
            Kind::Container {
                usage: UsageSource::Engine,
                docker,
                guard,
                ..
            } => Ok(engine_reading(docker, guard.id()).await?.peak),
            Kind::Process { pid, .. } => process_peak(*pid).map(Some),
            Kind::Task(_) => Ok(None),
        }
    }

    /// Starts a new high-water mark, where the kernel allows it: `memory.max_usage_in_bytes`
    /// on cgroup v1, `clear_refs` for a process. cgroup v2 keeps its peak since the start, and
    /// so does a container read through the engine's stats API.
    pub fn reset_memory_peak(&self) -> Result<()> {
        match &self.kind {
            Kind::Container {
                usage: UsageSource::Cgroup(files),
                ..
            } => files.reset_peak(),
            Kind::Container {
                usage: UsageSource::Engine,
                ..
            } => Ok(()),
            Kind::Process { pid, .. } => {
                let path = format!("/proc/{pid}/clear_refs");
                std::fs::write(&path, "5").with_context(|| format!("could not write {path}"))
            }
            Kind::Task(_) => Ok(()),
        }
    }

    /// Why the service is no longer running, or `None` while it runs.
    pub async fn exited(&mut self) -> Result<Option<String>> {
        match &mut self.kind {
            Kind::Container { docker, guard, .. } => {
                let inspect = docker
                    .inspect_container(guard.id(), None::<InspectContainerOptions>)
                    .await
                    .context("could not inspect the service's container")?;
                let state = inspect.state.unwrap_or_default();
                if state.running == Some(true) {
                    return Ok(None);
                }
                let logs = container_logs(docker, guard.id()).await;
                Ok(Some(exit_reason(
                    state.exit_code,
                    state.oom_killed == Some(true),
                    &logs,
                )))
            }
            Kind::Process { child, .. } => Ok(child
                .try_wait()
                .context("could not check on the service process")?
                .map(|status| format!("process {status}"))),
            Kind::Task(task) => task.exited().await,
        }
    }

    /// The service's main process id, as the machine it runs on sees it; `None` for a
    /// Fargate task.
    pub fn pid(&self) -> Option<u32> {
        match &self.kind {
            Kind::Container { pid, .. } | Kind::Process { pid, .. } => Some(*pid),
            Kind::Task(_) => None,
        }
    }

    /// Whether [`Server::usage`] can read the service: not a Fargate task's.
    pub fn measures_usage(&self) -> bool {
        !matches!(self.kind, Kind::Task(_))
    }

    /// The service's CPU time and memory now.
    pub async fn usage(&self) -> Result<Usage> {
        match &self.kind {
            Kind::Container {
                usage: UsageSource::Cgroup(files),
                ..
            } => files.read(),
            Kind::Container {
                usage: UsageSource::Engine,
                docker,
                guard,
                ..
            } => Ok(engine_reading(docker, guard.id()).await?.usage),
            Kind::Process { pid, .. } => process_usage(*pid),
            Kind::Task(_) => bail!("a Fargate task's CPU and memory cannot be read from here"),
        }
    }

    /// Whether [`Server::usage`] asks the engine (a request over the network) rather than
    /// reading files here.
    pub fn reads_through_engine(&self) -> bool {
        matches!(
            self.kind,
            Kind::Container {
                usage: UsageSource::Engine,
                ..
            }
        )
    }

    /// Stops the service with SIGTERM (SIGKILL after its grace period and a margin) and
    /// removes its container.
    pub async fn stop(self) -> Result<Stopped> {
        let wait = self.limits.shutdown_grace + Duration::from_secs(5);
        match self.kind {
            Kind::Container { docker, guard, .. } => {
                let start = Instant::now();
                let options = StopContainerOptionsBuilder::new()
                    .t(i32::try_from(wait.as_secs()).unwrap_or(i32::MAX))
                    .build();
                let stop = docker.stop_container(guard.id(), Some(options)).await;
                let took = start.elapsed();
                let inspect = docker
                    .inspect_container(guard.id(), None::<InspectContainerOptions>)
                    .await;
                guard.remove().await?;
                stop.context("could not stop the service's container")?;
                let state = inspect
                    .context("could not inspect the stopped container")?
                    .state
                    .unwrap_or_default();
                let oom_killed = state.oom_killed == Some(true);
                Ok(Stopped {
                    took,
                    // The engine sends SIGKILL after the timeout: exit status 128 + 9. The
                    // services exit 0 on SIGTERM.
                    killed: state.exit_code == Some(137) && !oom_killed && took >= wait,
                    exit_code: state.exit_code,
                    oom_killed,
                })
            }
            Kind::Process { mut child, pid } => {
                let start = Instant::now();
                let _ = kill(Pid::from_raw(pid as i32), Signal::SIGTERM);
                let (status, killed) = match tokio::time::timeout(wait, child.wait()).await {
                    Ok(status) => (
                        status.context("could not wait for the service process")?,
                        false,
                    ),
                    Err(_) => {
                        child.kill().await.context("could not kill the service")?;
                        (child.wait().await?, true)
                    }
                };
                Ok(Stopped {
                    took: start.elapsed(),
                    exit_code: status.code().map(i64::from),
                    oom_killed: false,
                    killed,
                })
            }
            Kind::Task(task) => task.stop(wait).await,
        }
    }
}

async fn start_container(
    docker: &Docker,
    image: &str,
    limits: &Limits,
    labels: &HashMap<String, String>,
    env: &[(&str, String)],
    addr: SocketAddr,
    stats_from_engine: bool,
) -> Result<Server> {
    let memory = i64::try_from(limits.memory_bytes).context("memory limit too large")?;
    let body = ContainerCreateBody {
        image: Some(image.to_owned()),
        env: Some(env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
        labels: Some(labels.clone()),
        host_config: Some(HostConfig {
            // Host networking: the service binds the host's loopback, no NAT or proxy in
            // the measured path.
            network_mode: Some("host".to_owned()),
            nano_cpus: Some((limits.vcpus * 1e9).round() as i64),
            cpuset_cpus: Some(limits.cpuset.to_string()),
            memory: Some(memory),
            // No swap: the memory limit is the limit.
            memory_swap: Some(memory),
            ..Default::default()
        }),
        ..Default::default()
    };
    let created = docker
        .create_container(Some(CreateContainerOptionsBuilder::new().build()), body)
        .await
        .with_context(|| format!("could not create a container of {image}"))?;
    let guard = ContainerGuard::new(docker.clone(), created.id.clone());
    let started = Instant::now();
    docker
        .start_container(guard.id(), None)
        .await
        .with_context(|| format!("could not start a container of {image}"))?;
    let inspect = docker
        .inspect_container(guard.id(), None::<InspectContainerOptions>)
        .await
        .context("could not inspect the service's container")?;
    let pid = inspect
        .state
        .and_then(|state| state.pid)
        .filter(|&pid| pid > 0)
        .ok_or_else(|| anyhow!("the container of {image} has no process"))?;
    let pid = u32::try_from(pid).context("the container's process id is out of range")?;
    let usage = if stats_from_engine {
        UsageSource::Engine
    } else {
        UsageSource::Cgroup(UsageFiles::of_container(pid, guard.id())?)
    };
    Ok(Server {
        addr,
        started,
        limits: limits.clone(),
        kind: Kind::Container {
            docker: docker.clone(),
            guard,
            usage,
            pid,
        },
    })
}

fn start_process(
    binary: &Path,
    limits: &Limits,
    env: &[(&str, String)],
    addr: SocketAddr,
) -> Result<Server> {
    // taskset (util-linux) sets the affinity before the service starts its threads.
    let mut command = Command::new("taskset");
    command
        .arg("--cpu-list")
        .arg(limits.cpuset.to_string())
        .arg(binary)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    let started = Instant::now();
    let child = command
        .spawn()
        .with_context(|| format!("could not start {} under taskset", binary.display()))?;
    let pid = child.id().context("the service process is already gone")?;
    Ok(Server {
        addr,
        started,
        limits: limits.clone(),
        kind: Kind::Process { child, pid },
    })
}

fn exit_reason(exit_code: Option<i64>, oom_killed: bool, logs: &str) -> String {
    let mut reason = if oom_killed {
        "killed for running out of memory (OOM)".to_owned()
    } else {
        match exit_code {
            Some(code) => format!("exited with status {code}"),
            None => "stopped".to_owned(),
        }
    };
    let tail = logs.trim();
    if !tail.is_empty() {
        reason.push_str(&format!("; last output: {tail}"));
    }
    reason
}

async fn container_logs(docker: &Docker, id: &str) -> String {
    let options = LogsOptionsBuilder::new()
        .stdout(true)
        .stderr(true)
        .tail("5")
        .build();
    let mut logs = docker.logs(id, Some(options));
    let mut text = String::new();
    while let Some(Ok(chunk)) = logs.next().await {
        text.push_str(&chunk.to_string());
    }
    text
}

/// A free TCP port on 127.0.0.1, as the kernel hands one out. The service binds it a moment
/// later; another process taking it in between would make the start fail, not mislead.
pub fn free_port() -> Result<u16> {
    let listener =
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("could not find a free port")?;
    Ok(listener.local_addr()?.port())
}

/// How often readiness is polled: a connect to a closed port fails in microseconds.
pub const READY_POLL: Duration = Duration::from_micros(200);

/// How long the blocking poll runs before the service is checked for an early exit.
const EXIT_CHECK: Duration = Duration::from_millis(50);

/// Polls `GET /hello` every [`READY_POLL`] for `budget`; the time since `started` at the
/// first 200, or `None`.
fn poll_hello(addr: SocketAddr, started: Instant, budget: Duration) -> Option<Duration> {
    let until = Instant::now() + budget;
    while Instant::now() < until {
        if hello_ok(addr) {
            return Some(started.elapsed());
        }
        std::thread::sleep(READY_POLL);
    }
    None
}

/// The readiness probe's request, on a connection of its own.
const HELLO_REQUEST: &[u8] = b"GET /hello HTTP/1.1\r\nHost: benchlab\r\nConnection: close\r\n\r\n";

/// What a 200 answer starts with.
const HELLO_OK: &[u8; 12] = b"HTTP/1.1 200";

/// Whether `GET /hello` on a new connection answers 200 within a second.
fn hello_ok(addr: SocketAddr) -> bool {
    use std::io::{Read, Write};
    let attempt = || -> std::io::Result<bool> {
        let mut stream = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1))?;
        stream.set_read_timeout(Some(Duration::from_secs(1)))?;
        stream.write_all(HELLO_REQUEST)?;
        let mut head = [0u8; 12];
        stream.read_exact(&mut head)?;
        Ok(&head == HELLO_OK)
    };
    matches!(attempt(), Ok(true))
}

/// Whether `GET /hello` on a new connection to `addr`, a service on another machine,
/// answers 200 within `timeout`, connection included: the probe of a service the runner
/// did not start, such as a Fargate task.
pub async fn hello_answers(addr: SocketAddr, timeout: Duration) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let attempt = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await?;
        stream.write_all(HELLO_REQUEST).await?;
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).await?;
        std::io::Result::Ok(&head == HELLO_OK)
    };
    matches!(tokio::time::timeout(timeout, attempt).await, Ok(Ok(true)))
}

/// Where a container's CPU time and memory are read.
#[derive(Debug)]
enum UsageSource {
    /// Its cgroup's files, on this machine.
    Cgroup(UsageFiles),
    /// The engine's stats API: the container runs on another machine.
    Engine,
}

/// One reading of the engine's stats API.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EngineReading {
    pub usage: Usage,
    /// The cgroup's memory high-water mark since the container started (`max_usage`,
    /// cgroup v1 only).
    pub peak: Option<u64>,
}

/// Reads container `id`'s CPU time, memory and CFS counters through the engine's stats API,
/// `one-shot` (API 1.41): the engine answers from one sample at once rather than waiting for
/// a second one. The figures are the cgroup's, as the files would give them.
///
/// # Errors
/// When the engine does not answer or leaves a figure out.
pub async fn engine_reading(docker: &Docker, id: &str) -> Result<EngineReading> {
    let options = StatsOptionsBuilder::new()
        .stream(false)
        .one_shot(true)
        .build();
    let stats = docker
        .stats(id, Some(options))
        .next()
        .await
        .context("the engine sent no stats for the service's container")?
        .context("could not read the service's stats from the engine")?;
    let cpu = stats
        .cpu_stats
        .context("the engine's stats have no cpu_stats")?;
    let cpu_ns = cpu
        .cpu_usage
        .and_then(|usage| usage.total_usage)
        .context("the engine's stats have no cpu_stats.cpu_usage.total_usage")?;
    let throttling = cpu.throttling_data.map(|data| Throttling {
        periods: data.periods.unwrap_or(0),
        throttled_periods: data.throttled_periods.unwrap_or(0),
        throttled_us: data.throttled_time.unwrap_or(0) / 1_000,
    });
    let memory = stats
        .memory_stats
        .context("the engine's stats have no memory_stats")?;
    let anon_bytes = memory
        .stats
        .as_ref()
        .and_then(|stat| stat.get("anon").or_else(|| stat.get("total_rss")))
        .copied()
        .context(
            "the engine's memory_stats.stats have neither anon (cgroup v2) nor total_rss (v1)",
        )?;
    Ok(EngineReading {
        usage: Usage {
            cpu: Duration::from_nanos(cpu_ns),
            anon_bytes,
            throttling,
        },
        peak: memory.max_usage,
    })
}

/// The cgroup files of a container, found from its main process's `/proc/<pid>/cgroup`;
/// cgroup v1 (Debian's Docker here) and v2.
#[derive(Debug, Clone)]
struct UsageFiles {
    /// `cpuacct.usage` (nanoseconds, v1) or `cpu.stat` (`usage_usec`, v2).
    cpu: PathBuf,
    /// `cpu.stat`: the CFS counters `nr_periods`, `nr_throttled` and `throttled_time` (ns,
    /// v1) or `throttled_usec` (v2).
    cpu_stat: PathBuf,
    /// `memory.max_usage_in_bytes` (v1, resettable) or `memory.peak` (v2).
    memory_peak: PathBuf,
    /// `memory.stat`, for the anonymous memory.
    memory_stat: PathBuf,
    v2: bool,
}

impl UsageFiles {
    /// The files of container `id`, whose main process is `pid` on this machine. The
    /// cgroup's path must name the container (`/docker/<id>`, `docker-<id>.scope`): an engine
    /// that looks local but is not (a socket or port forwarded from another machine) would
    /// otherwise have another process's files read.
    fn of_container(pid: u32, id: &str) -> Result<Self> {
        let path = format!("/proc/{pid}/cgroup");
        let not_here = || {
            anyhow!(
                "process {pid} on this machine is not container {id}: the engine at {} runs \
                 on another machine; give --target-host that machine's address",
                crate::docker::engine_address()
            )
        };
        let text = std::fs::read_to_string(&path).map_err(|_| not_here())?;
        if !text.contains(id) {
            return Err(not_here());
        }
        Self::from_proc_cgroup(&text, Path::new("/sys/fs/cgroup"))
            .with_context(|| format!("could not find the cgroup files of process {pid}"))
    }

    fn from_proc_cgroup(text: &str, root: &Path) -> Result<Self> {
        let mut cpu_dir = None;
        let mut cfs_dir = None;
        let mut memory_dir = None;
        let mut unified = None;
        for line in text.lines() {
            let mut fields = line.splitn(3, ':');
            let (Some(_id), Some(controllers), Some(path)) =
                (fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            let path = path.trim_start_matches('/');
            if controllers.is_empty() {
                unified = Some(root.join(path));
            }
            for controller in controllers.split(',') {
                match controller {
                    "cpuacct" => cpu_dir = Some(root.join("cpuacct").join(path)),
                    "cpu" => cfs_dir = Some(root.join("cpu").join(path)),
                    "memory" => memory_dir = Some(root.join("memory").join(path)),
                    _ => {}
                }
            }
        }
        match (cpu_dir, cfs_dir, memory_dir, unified) {
            (Some(cpu), Some(cfs), Some(memory), _) => Ok(UsageFiles {
                cpu: cpu.join("cpuacct.usage"),
                cpu_stat: cfs.join("cpu.stat"),
                memory_peak: memory.join("memory.max_usage_in_bytes"),
                memory_stat: memory.join("memory.stat"),
                v2: false,
            }),
            (_, _, _, Some(dir)) => Ok(UsageFiles {
                cpu: dir.join("cpu.stat"),
                cpu_stat: dir.join("cpu.stat"),
                memory_peak: dir.join("memory.peak"),
                memory_stat: dir.join("memory.stat"),
                v2: true,
            }),
            _ => bail!("no cpu, cpuacct and memory cgroups (v1) nor a unified cgroup (v2)"),
        }
    }

    fn peak(&self) -> Result<Option<u64>> {
        match std::fs::read_to_string(&self.memory_peak) {
            Ok(text) => parse_u64(&text).map(Some),
            // memory.peak came with Linux 5.19.
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(err) => {
                Err(err).with_context(|| format!("could not read {}", self.memory_peak.display()))
            }
        }
    }

    fn reset_peak(&self) -> Result<()> {
        if self.v2 {
            return Ok(());
        }
        std::fs::write(&self.memory_peak, "0")
            .with_context(|| format!("could not reset {}", self.memory_peak.display()))
    }

    fn read(&self) -> Result<Usage> {
        let read = |path: &Path| {
            std::fs::read_to_string(path)
                .with_context(|| format!("could not read {}", path.display()))
        };
        let cpu = if self.v2 {
            let usec = stat_value(&read(&self.cpu)?, "usage_usec")?;
            Duration::from_micros(usec)
        } else {
            Duration::from_nanos(parse_u64(&read(&self.cpu)?)?)
        };
        let stat = read(&self.memory_stat)?;
        let anon_key = if self.v2 { "anon" } else { "total_rss" };
        let anon_bytes = stat_value(&stat, anon_key)?;
        let cfs = read(&self.cpu_stat)?;
        let throttled_us = if self.v2 {
            stat_value(&cfs, "throttled_usec")?
        } else {
            stat_value(&cfs, "throttled_time")? / 1_000
        };
        Ok(Usage {
            cpu,
            anon_bytes,
            throttling: Some(Throttling {
                periods: stat_value(&cfs, "nr_periods")?,
                throttled_periods: stat_value(&cfs, "nr_throttled")?,
                throttled_us,
            }),
        })
    }
}

fn parse_u64(text: &str) -> Result<u64> {
    text.trim()
        .parse()
        .with_context(|| format!("not a number: {text:?}"))
}

/// The value of `key` in a `key value` per line file (`cpu.stat`, `memory.stat`).
fn stat_value(text: &str, key: &str) -> Result<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix(' '))
        .ok_or_else(|| anyhow!("no '{key}' line"))
        .and_then(parse_u64)
}

/// The value in kB of `key` (`VmHWM:`, `Anonymous:`) in a `/proc/<pid>` file, in bytes.
fn proc_kib(pid: u32, file: &str, key: &str) -> Result<u64> {
    let path = format!("/proc/{pid}/{file}");
    let text = std::fs::read_to_string(&path).with_context(|| format!("could not read {path}"))?;
    text.lines()
        .find_map(|line| line.strip_prefix(key))
        .map(|value| value.trim().trim_end_matches("kB").trim())
        .with_context(|| format!("no {key} in {path}"))
        .and_then(parse_u64)
        .map(|kib| kib * 1024)
}

/// A process's peak resident set size (`VmHWM`).
fn process_peak(pid: u32) -> Result<u64> {
    proc_kib(pid, "status", "VmHWM:")
}

/// CPU time (utime + stime of all threads) and anonymous memory of a process.
fn process_usage(pid: u32) -> Result<Usage> {
    let stat_path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&stat_path)
        .with_context(|| format!("could not read {stat_path}"))?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let after_name = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .context("malformed /proc/<pid>/stat")?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of stat(5); `fields` starts at field 3.
    let ticks: u64 = fields
        .get(11..13)
        .context("short /proc/<pid>/stat")?
        .iter()
        .map(|field| parse_u64(field))
        .sum::<Result<u64>>()?;
    Ok(Usage {
        cpu: Duration::from_micros(ticks * 1_000_000 / clock_ticks_per_second()),
        anon_bytes: proc_kib(pid, "smaps_rollup", "Anonymous:")?,
        throttling: None,
    })
}

fn clock_ticks_per_second() -> u64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .and_then(|ticks| u64::try_from(ticks).ok())
        .filter(|&ticks| ticks > 0)
        .unwrap_or(100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroup_v1_files_come_from_the_cpuacct_and_memory_lines() {
        let text = "12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n1:name=systemd:/docker/abc\n";
        let files = UsageFiles::from_proc_cgroup(text, Path::new("/sys/fs/cgroup")).unwrap();
        assert_eq!(
            files.cpu,
            Path::new("/sys/fs/cgroup/cpuacct/docker/abc/cpuacct.usage")
        );
        assert_eq!(
            files.cpu_stat,
            Path::new("/sys/fs/cgroup/cpu/docker/abc/cpu.stat")
        );
        assert_eq!(
            files.memory_peak,
            Path::new("/sys/fs/cgroup/memory/docker/abc/memory.max_usage_in_bytes")
        );
        assert!(!files.v2);
    }

    #[test]
    fn cgroup_v2_files_come_from_the_unified_line() {
        let text = "0::/system.slice/docker-abc.scope\n";
        let files = UsageFiles::from_proc_cgroup(text, Path::new("/sys/fs/cgroup")).unwrap();
        assert_eq!(
            files.cpu,
            Path::new("/sys/fs/cgroup/system.slice/docker-abc.scope/cpu.stat")
        );
        assert!(files.v2);
    }

    #[test]
    fn stat_files_are_read_by_key() {
        let stat = "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n";
        assert_eq!(stat_value(stat, "usage_usec").unwrap(), 1500);
        assert_eq!(stat_value(stat, "user_usec").unwrap(), 1000);
        assert!(stat_value(stat, "usage").is_err());
    }

    /// A "service" that is a shell script: `on_term` is what it does on SIGTERM.
    fn script(dir: &Path, on_term: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join("service.sh");
        std::fs::write(
            &path,
            format!("#!/bin/sh\ntrap '{on_term}' TERM\nwhile :; do sleep 0.05; done\n"),
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    #[tokio::test]
    async fn a_stop_is_killed_only_when_sigkill_was_sent() {
        let limits = Limits {
            vcpus: 1.0,
            memory_bytes: 1 << 30,
            cpuset: "0".parse().unwrap(),
            workers: 1,
            shutdown_grace: Duration::ZERO,
        };
        let dir = tempfile::tempdir().unwrap();
        let polite = Target::Binary(script(dir.path(), "exit 0"));
        let server = Server::start(None, &polite, &limits, &HashMap::new())
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        let stopped = server.stop().await.unwrap();
        assert!(!stopped.killed, "{stopped:?}");
        assert_eq!(stopped.exit_code, Some(0));

        let dir = tempfile::tempdir().unwrap();
        let stubborn = Target::Binary(script(dir.path(), ""));
        let server = Server::start(None, &stubborn, &limits, &HashMap::new())
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        let stopped = server.stop().await.unwrap();
        assert!(stopped.killed, "{stopped:?}");
        assert_eq!(stopped.exit_code, None, "ended by a signal");
    }

    #[test]
    fn the_process_backend_reads_its_own_usage() {
        let usage = process_usage(std::process::id()).unwrap();
        assert!(usage.anon_bytes > 0);
        assert!(usage.throttling.is_none());
        assert!(process_peak(std::process::id()).unwrap() >= usage.anon_bytes / 2);
    }
}
