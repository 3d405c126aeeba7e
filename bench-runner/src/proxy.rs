//! The deploy lab's front proxy: Debian's nginx as a child process of the runner, from a
//! config generated into a temporary directory, listening on a loopback port, pinned to the
//! client's CPUs. Its upstream is rewritten and nginx reloaded to move traffic between
//! instances; a reload counts as done when a worker of the new generation is running. It is
//! stopped when dropped, whatever happened, and its directory removed with it.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bench_core::plan::CpuSet;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tempfile::TempDir;
use tokio::process::{Child, Command};

/// Where Debian's nginx is; `scripts/ensure-nginx.sh` installs it.
pub const NGINX: &str = "/usr/sbin/nginx";

/// Upstream connections nginx keeps open per worker when upstream keep-alive is on.
const UPSTREAM_KEEPALIVE: u32 = 64;

/// How long nginx gets to start, reload or stop.
const NGINX_WAIT: Duration = Duration::from_secs(10);

/// How nginx is set up for one swap.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    /// The loopback port nginx listens on.
    pub port: u16,
    /// Whether nginx keeps its connections to the instances open (HTTP/1.1, `keepalive`).
    pub upstream_keep_alive: bool,
    /// The CPUs nginx runs on.
    pub cpus: CpuSet,
}

/// A running nginx.
#[derive(Debug)]
pub struct Proxy {
    config: ProxyConfig,
    child: Option<Child>,
    pid: u32,
    dir: TempDir,
}

impl Proxy {
    /// Starts nginx with `upstream` (loopback ports) and waits until it accepts connections.
    pub async fn start(config: ProxyConfig, upstream: &[u16]) -> Result<Proxy> {
        if !Path::new(NGINX).exists() {
            bail!("{NGINX} is missing: run scripts/ensure-nginx.sh (Debian's nginx-light)");
        }
        let dir = tempfile::Builder::new()
            .prefix("benchlab-nginx-")
            .tempdir()
            .context("could not make a directory for nginx's config")?;
        std::fs::write(
            conf_path(dir.path()),
            render_config(dir.path(), &config, upstream),
        )
        .context("could not write nginx's config")?;
        let mut command = Command::new("taskset");
        command
            .arg("--cpu-list")
            .arg(config.cpus.to_string())
            .arg(NGINX)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(conf_path(dir.path()))
            // Before it reads the config nginx opens its built-in error log, which only root
            // may write: name one in the directory.
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command
            .spawn()
            .with_context(|| format!("could not start {NGINX} under taskset"))?;
        let pid = child.id().context("nginx exited at once")?;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, config.port));
        let started = Instant::now();
        loop {
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                break;
            }
            if let Some(status) = child.try_wait().context("could not check on nginx")? {
                let log = std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default();
                let mut stderr = String::new();
                if let Some(mut pipe) = child.stderr.take() {
                    use tokio::io::AsyncReadExt;
                    let _ = pipe.read_to_string(&mut stderr).await;
                }
                bail!(
                    "nginx exited ({status}) before listening on {addr}: {}{}",
                    stderr.trim(),
                    log.trim()
                );
            }
            if started.elapsed() > NGINX_WAIT {
                bail!("nginx did not listen on {addr} within {NGINX_WAIT:?}");
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        Ok(Proxy {
            config,
            child: Some(child),
            pid,
            dir,
        })
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.config.port))
    }

    /// Points the upstream at `upstream` and reloads nginx; returns once a worker of the new
    /// configuration runs (from then on new connections are served by it; the old workers
    /// finish what they have and close their idle connections).
    pub async fn switch(&mut self, upstream: &[u16]) -> Result<()> {
        std::fs::write(
            conf_path(self.dir.path()),
            render_config(self.dir.path(), &self.config, upstream),
        )
        .context("could not rewrite nginx's config")?;
        let before = self.workers();
        kill(Pid::from_raw(self.pid as i32), Signal::SIGHUP).context("could not reload nginx")?;
        let started = Instant::now();
        loop {
            if self.workers().difference(&before).next().is_some() {
                return Ok(());
            }
            if started.elapsed() > NGINX_WAIT {
                let log =
                    std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default();
                bail!(
                    "nginx started no worker with the new upstream within {NGINX_WAIT:?}: {}",
                    log.trim()
                );
            }
            tokio::time::sleep(Duration::from_micros(500)).await;
        }
    }

    /// Stops nginx gracefully (SIGQUIT: its workers finish what they serve), killing it
    /// after a while, and removes its directory.
    pub async fn stop(mut self) -> Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let _ = kill(Pid::from_raw(self.pid as i32), Signal::SIGQUIT);
        match tokio::time::timeout(NGINX_WAIT, child.wait()).await {
            Ok(status) => {
                status.context("could not wait for nginx")?;
            }
            Err(_) => {
                terminate(self.pid, &mut child);
                bail!("nginx did not stop within {NGINX_WAIT:?} of SIGQUIT; it was killed");
            }
        }
        Ok(())
    }

    /// The master's worker processes now.
    fn workers(&self) -> BTreeSet<u32> {
        children(self.pid)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            terminate(self.pid, &mut child);
        }
    }
}

/// SIGTERM to the master, which stops its workers at once and exits; waits up to a few
/// seconds, then SIGKILL to the master and whatever workers remain.
fn terminate(pid: u32, child: &mut Child) {
    let workers = children(pid);
    let _ = kill(Pid::from_raw(pid as i32), Signal::SIGTERM);
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = child.start_kill();
    for worker in workers {
        let _ = kill(Pid::from_raw(worker as i32), Signal::SIGKILL);
    }
}

/// The child processes of `pid`, from `/proc/<pid>/task/*/children`.
fn children(pid: u32) -> BTreeSet<u32> {
    let mut pids = BTreeSet::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return pids;
    };
    for task in tasks.flatten() {
        if let Ok(text) = std::fs::read_to_string(task.path().join("children")) {
            pids.extend(
                text.split_whitespace()
                    .filter_map(|p| p.parse::<u32>().ok()),
            );
        }
    }
    pids
}

fn conf_path(dir: &Path) -> PathBuf {
    dir.join("nginx.conf")
}

/// nginx's config: one worker (the client's CPUs are few), every path inside `dir`, no
/// access log, nginx's defaults everywhere else (what a user gets: `proxy_next_upstream
/// error timeout`, HTTP/1.0 and a connection per request upstream unless keep-alive is on).
fn render_config(dir: &Path, config: &ProxyConfig, upstream: &[u16]) -> String {
    let dir = dir.display();
    let mut servers = String::new();
    for port in upstream {
        let _ = writeln!(servers, "        server 127.0.0.1:{port};");
    }
    let (keepalive, upstream_http) = if config.upstream_keep_alive {
        (
            format!("        keepalive {UPSTREAM_KEEPALIVE};\n"),
            "            proxy_http_version 1.1;\n            proxy_set_header Connection \"\";\n",
        )
    } else {
        (String::new(), "")
    };
    format!(
        "# Generated by bench-runner deploy for one swap.
daemon off;
master_process on;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{
    worker_connections 4096;
}}
http {{
    access_log off;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    upstream service {{
{servers}{keepalive}    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://service;
{upstream_http}        }}
    }}
}}
",
        port = config.port
    )
}

/// `nginx -v`, or why not.
pub fn version() -> String {
    match std::process::Command::new(NGINX).arg("-v").output() {
        Ok(output) => String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        Err(err) => format!("unknown ({NGINX}: {err})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_names_every_upstream_and_keep_alive_only_when_asked() {
        let config = ProxyConfig {
            port: 8080,
            upstream_keep_alive: false,
            cpus: "0".parse().unwrap(),
        };
        let text = render_config(Path::new("/tmp/x"), &config, &[9001, 9002]);
        assert!(text.contains("server 127.0.0.1:9001;\n        server 127.0.0.1:9002;"));
        assert!(text.contains("listen 127.0.0.1:8080;"));
        assert!(!text.contains("keepalive"));
        assert!(!text.contains("proxy_http_version"));
        let keep = ProxyConfig {
            upstream_keep_alive: true,
            ..config
        };
        let text = render_config(Path::new("/tmp/x"), &keep, &[9001]);
        assert!(text.contains("keepalive 64;"));
        assert!(text.contains("proxy_http_version 1.1;"));
        assert!(text.contains("proxy_set_header Connection \"\";"));
    }
}
