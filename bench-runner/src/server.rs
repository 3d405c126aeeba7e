//! A service under load: started in a container with CPU and memory limits (the `docker`
//! backend) or as a local process pinned to CPUs (the `process` backend), checked for
//! readiness, read for CPU and memory while it serves, and stopped with SIGTERM.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use bench_core::plan::CpuSet;
use bollard::Docker;
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, InspectContainerOptions, LogsOptionsBuilder,
    StopContainerOptionsBuilder,
};
use futures_util::StreamExt;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

use crate::docker::ContainerGuard;

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

/// What to start: an image, or a binary.
#[derive(Debug, Clone)]
pub enum Target {
    Image(String),
    Binary(PathBuf),
}

/// CPU time and memory of the service at one moment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Usage {
    /// CPU time used since the service started, all threads, user and system.
    pub cpu: Duration,
    /// Memory in use without reclaimable page cache: cgroup usage minus inactive file pages
    /// (as `docker stats` computes it) for containers, resident set size for processes.
    pub memory_bytes: u64,
}

/// How a stop went.
#[derive(Debug, Clone)]
pub struct Stopped {
    /// From sending SIGTERM to the process being gone.
    pub took: Duration,
    pub exit_code: Option<i64>,
    pub oom_killed: bool,
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
        usage: UsageFiles,
        pid: u32,
    },
    Process {
        child: Child,
        pid: u32,
    },
}

impl Server {
    /// Starts `target` on a free loopback port with `limits`, and `labels` on a container.
    pub async fn start(
        docker: Option<&Docker>,
        target: &Target,
        limits: &Limits,
        labels: &HashMap<String, String>,
    ) -> Result<Server> {
        let port = free_port()?;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let env = [
            ("BIND_ADDR", "127.0.0.1".to_owned()),
            ("PORT", port.to_string()),
            ("WORKERS", limits.workers.to_string()),
            (
                "SHUTDOWN_GRACE_MS",
                limits.shutdown_grace.as_millis().to_string(),
            ),
        ];
        match target {
            Target::Image(image) => {
                let docker = docker.context("the docker backend needs an engine")?;
                start_container(docker, image, limits, labels, &env, addr).await
            }
            Target::Binary(binary) => start_process(binary, limits, &env, addr),
        }
    }

    /// Waits until `GET /hello` answers 200 and returns the time since the start request.
    /// Fails at once when the service exits, and after `timeout` otherwise.
    pub async fn wait_ready(&mut self, timeout: Duration) -> Result<Duration> {
        loop {
            if self.started.elapsed() > timeout {
                bail!("/hello did not answer 200 within {timeout:?}");
            }
            if hello_ok(self.addr).await {
                return Ok(self.started.elapsed());
            }
            if let Some(reason) = self.exited().await? {
                bail!("the service exited before answering /hello: {reason}");
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
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
        }
    }

    /// The service's main process id, as the host sees it.
    pub fn pid(&self) -> u32 {
        match &self.kind {
            Kind::Container { pid, .. } | Kind::Process { pid, .. } => *pid,
        }
    }

    /// The service's CPU time and memory now.
    pub fn usage(&self) -> Result<Usage> {
        match &self.kind {
            Kind::Container { usage, .. } => usage.read(),
            Kind::Process { pid, .. } => process_usage(*pid),
        }
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
                Ok(Stopped {
                    took,
                    exit_code: state.exit_code,
                    oom_killed: state.oom_killed == Some(true),
                })
            }
            Kind::Process { mut child, pid } => {
                let start = Instant::now();
                let _ = kill(Pid::from_raw(pid as i32), Signal::SIGTERM);
                let status = match tokio::time::timeout(wait, child.wait()).await {
                    Ok(status) => status.context("could not wait for the service process")?,
                    Err(_) => {
                        child.kill().await.context("could not kill the service")?;
                        child.wait().await?
                    }
                };
                Ok(Stopped {
                    took: start.elapsed(),
                    exit_code: status.code().map(i64::from),
                    oom_killed: false,
                })
            }
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
    let usage = UsageFiles::of_pid(pid)?;
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
fn free_port() -> Result<u16> {
    let listener =
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("could not find a free port")?;
    Ok(listener.local_addr()?.port())
}

/// Whether `GET /hello` on a new connection answers 200.
async fn hello_ok(addr: SocketAddr) -> bool {
    let attempt = async {
        let mut stream = TcpStream::connect(addr).await?;
        stream
            .write_all(b"GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            .await?;
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).await?;
        std::io::Result::Ok(&head == b"HTTP/1.1 200")
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(1), attempt).await,
        Ok(Ok(true))
    )
}

/// The cgroup files of a container, found from its main process's `/proc/<pid>/cgroup`;
/// cgroup v1 (Debian's Docker here) and v2.
#[derive(Debug, Clone)]
struct UsageFiles {
    /// `cpuacct.usage` (nanoseconds, v1) or `cpu.stat` (`usage_usec`, v2).
    cpu: PathBuf,
    /// `memory.usage_in_bytes` (v1) or `memory.current` (v2).
    memory: PathBuf,
    /// `memory.stat`, for the inactive file pages to subtract.
    memory_stat: PathBuf,
    v2: bool,
}

impl UsageFiles {
    fn of_pid(pid: u32) -> Result<Self> {
        let path = format!("/proc/{pid}/cgroup");
        let text =
            std::fs::read_to_string(&path).with_context(|| format!("could not read {path}"))?;
        Self::from_proc_cgroup(&text, Path::new("/sys/fs/cgroup"))
            .with_context(|| format!("could not find the cgroup files of process {pid}"))
    }

    fn from_proc_cgroup(text: &str, root: &Path) -> Result<Self> {
        let mut cpu_dir = None;
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
                    "memory" => memory_dir = Some(root.join("memory").join(path)),
                    _ => {}
                }
            }
        }
        match (cpu_dir, memory_dir, unified) {
            (Some(cpu), Some(memory), _) => Ok(UsageFiles {
                cpu: cpu.join("cpuacct.usage"),
                memory: memory.join("memory.usage_in_bytes"),
                memory_stat: memory.join("memory.stat"),
                v2: false,
            }),
            (_, _, Some(dir)) => Ok(UsageFiles {
                cpu: dir.join("cpu.stat"),
                memory: dir.join("memory.current"),
                memory_stat: dir.join("memory.stat"),
                v2: true,
            }),
            _ => bail!("no cpuacct and memory cgroups (v1) nor a unified cgroup (v2)"),
        }
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
        let usage = parse_u64(&read(&self.memory)?)?;
        let stat = read(&self.memory_stat)?;
        let inactive_key = if self.v2 {
            "inactive_file"
        } else {
            "total_inactive_file"
        };
        let inactive = stat_value(&stat, inactive_key).unwrap_or(0);
        Ok(Usage {
            cpu,
            memory_bytes: usage.saturating_sub(inactive),
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

/// CPU time (utime + stime of all threads) and resident memory of a process.
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
    let status_path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&status_path)
        .with_context(|| format!("could not read {status_path}"))?;
    let rss_kib = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .map(|value| value.trim().trim_end_matches("kB").trim())
        .context("no VmRSS in /proc/<pid>/status")
        .and_then(parse_u64)?;
    Ok(Usage {
        cpu: Duration::from_micros(ticks * 1_000_000 / clock_ticks_per_second()),
        memory_bytes: rss_kib * 1024,
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
            files.memory,
            Path::new("/sys/fs/cgroup/memory/docker/abc/memory.usage_in_bytes")
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

    #[test]
    fn the_process_backend_reads_its_own_usage() {
        let usage = process_usage(std::process::id()).unwrap();
        assert!(usage.memory_bytes > 0);
    }
}
