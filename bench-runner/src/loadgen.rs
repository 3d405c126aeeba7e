//! The load generator: oha, used as a library, run in a child process of its own (the
//! runner re-executes itself through the hidden `oha` subcommand) so that it can be pinned to
//! the generator's CPUs and its own CPU time measured apart from the runner's.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bench_core::oha::oha_args;
use bench_core::plan::CpuSet;
use clap::Parser;
use nix::sched::sched_setaffinity;
use nix::sys::resource::{UsageWho, getrusage};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};
use tokio::process::Command;

/// The line the child prints last on stderr, before its CPU usage as JSON.
const USAGE_PREFIX: &str = "benchlab-generator-usage ";

/// One load run: what oha is asked to do; oha gets one worker thread per CPU of `cpuset`.
#[derive(Debug, Clone)]
pub struct Load {
    pub addr: SocketAddr,
    pub path: String,
    pub connections: u32,
    pub duration: Duration,
    /// The CPUs oha runs on.
    pub cpuset: CpuSet,
}

/// What one load run gave: oha's JSON report as it printed it, and its own CPU use.
#[derive(Debug, Clone)]
pub struct LoadRun {
    pub oha_json: String,
    /// CPU time of the oha process, user and system, all threads.
    pub generator_cpu: Duration,
    /// Wall time of the oha process, from spawn to exit.
    pub wall: Duration,
}

/// Runs oha in a child process pinned to `load.cpuset` and waits for it.
pub async fn run(load: &Load) -> Result<LoadRun> {
    let exe = std::env::current_exe().context("could not find the runner's own executable")?;
    let start = Instant::now();
    let output = Command::new(exe)
        .arg("oha")
        .arg("--cpus")
        .arg(load.cpuset.to_string())
        .arg("--")
        .args(oha_args(
            &format!("http://{}{}", load.addr, load.path),
            load.connections,
            load.duration,
            load.cpuset.len(),
        ))
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .context("could not run the load generator")?;
    let wall = start.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        bail!(
            "the load generator failed ({}): {}",
            output.status,
            stderr.trim()
        );
    }
    let usage = stderr
        .lines()
        .rev()
        .find_map(|line| line.strip_prefix(USAGE_PREFIX))
        .context("the load generator did not report its CPU usage")?;
    let usage: GeneratorUsage =
        serde_json::from_str(usage).context("unreadable CPU usage from the load generator")?;
    let oha_json = String::from_utf8(output.stdout).context("oha's output is not UTF-8")?;
    Ok(LoadRun {
        oha_json,
        generator_cpu: Duration::from_micros(usage.user_us + usage.system_us),
        wall,
    })
}

#[derive(Debug, Serialize, Deserialize)]
struct GeneratorUsage {
    user_us: u64,
    system_us: u64,
}

/// The hidden `oha` subcommand: pins this process to `cpus`, runs oha with `args` on a tokio
/// runtime with oha's worker threads, then reports its own CPU usage on stderr.
pub fn child_main(cpus: &str, args: Vec<OsString>) -> Result<()> {
    let cpus: CpuSet = cpus
        .parse()
        .map_err(|err| anyhow::anyhow!("invalid --cpus '{cpus}': {err}"))?;
    let mut affinity = nix::sched::CpuSet::new();
    for &cpu in cpus.ids() {
        affinity
            .set(cpu as usize)
            .with_context(|| format!("CPU {cpu} is out of range"))?;
    }
    sched_setaffinity(Pid::from_raw(0), &affinity)
        .with_context(|| format!("could not pin the load generator to CPUs {cpus}"))?;

    let opts = oha::Opts::try_parse_from(args).context("invalid oha arguments")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(opts.worker_threads.get())
        .enable_all()
        .build()
        .context("could not start the load generator's runtime")?;
    runtime.block_on(oha::run(opts)).context("oha failed")?;
    drop(runtime);

    let usage = getrusage(UsageWho::RUSAGE_SELF).context("could not read own CPU usage")?;
    let micros = |time: nix::sys::time::TimeVal| {
        u64::try_from(time.tv_sec()).unwrap_or(0) * 1_000_000
            + u64::try_from(time.tv_usec()).unwrap_or(0)
    };
    let usage = GeneratorUsage {
        user_us: micros(usage.user_time()),
        system_us: micros(usage.system_time()),
    };
    eprintln!("{USAGE_PREFIX}{}", serde_json::to_string(&usage)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oha_accepts_the_arguments_the_runner_gives_it() {
        let args = oha_args(
            "http://127.0.0.1:8080/hello",
            64,
            Duration::from_secs(10),
            1,
        );
        let opts = oha::Opts::try_parse_from(args).expect("oha parses the runner's arguments");
        assert_eq!(opts.worker_threads.get(), 1);
    }
}
