//! The load generator: oha, used as a library, run in a child process of its own (the
//! runner re-executes itself through the hidden `oha` subcommand) so that it can be pinned to
//! the generator's CPUs and its own CPU time measured apart from the runner's.
//!
//! The child also measures what oha cannot tell: the monotonic time its load began (so the
//! runner can read the server's cgroup over exactly oha's load window), its own CPU time over
//! that window (from its rusage, sampled every 10 ms), and the latency of every 2xx response,
//! read back from the SQLite file oha writes with `--db-url` into an HDR histogram and a
//! second-by-second timeline.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use bench_core::catalog::Generator;
use bench_core::latency::{Record, Second};
use bench_core::oha::{LoadReport, OhaLoad, OhaReport, REQUEST_HEADERS, oha_args};
use bench_core::plan::CpuSet;
use bench_core::units::RequestsPerSec;
use bench_core::wrk::WrkReport;
use clap::Parser;
use nix::sched::sched_setaffinity;
use nix::sys::resource::{UsageWho, getrusage};
use nix::time::{ClockId, clock_gettime};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};
use tokio::process::Command;

/// The line the child prints last on stderr, before its report as JSON.
const USAGE_PREFIX: &str = "benchlab-generator-usage ";

/// How often the child samples its own CPU time.
const SELF_SAMPLE_INTERVAL: Duration = Duration::from_millis(10);

/// One load run: what the generator is asked to do; it gets one worker thread per CPU of
/// `cpuset`.
#[derive(Debug, Clone)]
pub struct Load {
    pub generator: Generator,
    pub addr: SocketAddr,
    pub path: String,
    pub connections: u32,
    pub duration: Duration,
    /// `false`: a connection per request.
    pub keep_alive: bool,
    /// A fixed rate in req/s (oha only); `None` for a closed loop.
    pub rate: Option<RequestsPerSec>,
    /// The CPUs the generator runs on.
    pub cpuset: CpuSet,
}

/// What one load run gave.
#[derive(Debug, Clone)]
pub struct LoadRun {
    /// What was sent and answered. A fixed rate's 2xx rate is over the scheduled window
    /// (`Load::duration`), in which oha sent every request; a closed loop's over the
    /// generator's own window.
    pub report: LoadReport,
    /// The generator's load window: from when it began, on the monotonic clock, for the
    /// time it measured over (oha's `summary.total`, wrk's `summary.duration`).
    pub window_start: Duration,
    pub window: Duration,
    /// CPU time of the generator process over its load window, user and system, all threads.
    pub generator_cpu: Duration,
    /// The generator's worker threads.
    pub threads: u32,
    /// Every 2xx response's latency (wrk: every response's), as
    /// `bench_core::latency::encode` writes it.
    pub latency_histogram: Option<String>,
    /// The load second by second, from oha's records; empty under wrk, which keeps none.
    pub timeline: Vec<Second>,
}

/// The monotonic clock, which the child and the runner share: `CLOCK_MONOTONIC` as a
/// duration since boot.
pub fn monotonic_now() -> Duration {
    let now = clock_gettime(ClockId::CLOCK_MONOTONIC).expect("CLOCK_MONOTONIC is always there");
    Duration::new(
        u64::try_from(now.tv_sec()).unwrap_or(0),
        u32::try_from(now.tv_nsec()).unwrap_or(0),
    )
}

/// Runs the load's generator pinned to `load.cpuset` and waits for it.
pub async fn run(load: &Load) -> Result<LoadRun> {
    match load.generator {
        Generator::Oha => run_oha(load).await,
        Generator::Wrk => run_wrk(load).await,
    }
}

/// wrk with benchlab's request, its Lua report read into the same figures as oha's.
async fn run_wrk(load: &Load) -> Result<LoadRun> {
    if load.rate.is_some() {
        bail!("wrk has no fixed-rate mode: a fixed-rate cell needs oha");
    }
    let wrk_load = crate::wrk::WrkLoad {
        url: format!("http://{}{}", load.addr, load.path),
        connections: load.connections,
        duration: load.duration,
        cpuset: load.cpuset.clone(),
        keep_alive: load.keep_alive,
        headers: REQUEST_HEADERS
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect(),
    };
    let run = crate::wrk::run(&wrk_load).await?;
    let report = WrkReport::from_json(&run.report_json).context("unreadable report from wrk")?;
    let histogram = report
        .histogram(load.connections)
        .context("wrk's latency histogram is inconsistent")?;
    let latency_histogram = if histogram.is_empty() {
        None
    } else {
        Some(bench_core::latency::encode(&histogram)?)
    };
    Ok(LoadRun {
        report: report
            .load_report(load.connections)
            .context("wrk's report is inconsistent")?,
        window_start: run.window_start,
        window: run.window,
        generator_cpu: run.generator_cpu,
        threads: run.threads,
        latency_histogram,
        timeline: Vec::new(),
    })
}

/// oha in a child process of the runner.
async fn run_oha(load: &Load) -> Result<LoadRun> {
    let exe = std::env::current_exe().context("could not find the runner's own executable")?;
    let output = Command::new(exe)
        .arg("oha")
        .arg("--cpus")
        .arg(load.cpuset.to_string())
        .arg("--")
        .args(oha_args(
            &format!("http://{}{}", load.addr, load.path),
            &OhaLoad {
                connections: load.connections,
                duration: load.duration,
                threads: load.cpuset.len(),
                keep_alive: load.keep_alive,
                rate: load.rate,
            },
        ))
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .context("could not run the load generator")?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        bail!(
            "the load generator failed ({}): {}",
            output.status,
            stderr.trim()
        );
    }
    let report = stderr
        .lines()
        .rev()
        .find_map(|line| line.strip_prefix(USAGE_PREFIX))
        .context("the load generator did not report its CPU usage")?;
    let report: ChildReport =
        serde_json::from_str(report).context("unreadable report from the load generator")?;
    let oha_json = String::from_utf8(output.stdout).context("oha's output is not UTF-8")?;
    let oha = OhaReport::from_json(&oha_json).context("could not read oha's JSON")?;
    // A fixed rate's requests were all sent in the scheduled window; the 2xx rate is over it,
    // so that requests answered after the deadline do not dilute it.
    let measured = match load.rate {
        Some(_) => load.duration,
        None => oha.elapsed(),
    };
    Ok(LoadRun {
        report: LoadReport::from_oha(&oha, measured).context("oha's report is inconsistent")?,
        window_start: Duration::from_nanos(report.window_start_ns),
        window: Duration::from_nanos(report.window_ns),
        generator_cpu: Duration::from_micros(report.cpu_us),
        threads: report.threads,
        latency_histogram: report.latency_histogram,
        timeline: report.timeline,
    })
}

/// What the child reports on its last line of stderr.
#[derive(Debug, Serialize, Deserialize)]
struct ChildReport {
    /// Monotonic nanoseconds when oha began.
    window_start_ns: u64,
    window_ns: u64,
    /// CPU time over the window.
    cpu_us: u64,
    threads: u32,
    latency_histogram: Option<String>,
    timeline: Vec<Second>,
}

/// The hidden `oha` subcommand: pins this process to `cpus`, runs oha with `args` on a tokio
/// runtime with oha's worker threads, writing its JSON and every request to a temporary
/// directory, then prints the JSON on stdout and its own report on stderr.
pub fn child_main(cpus: &str, mut args: Vec<OsString>) -> Result<()> {
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

    let scratch = tempfile::tempdir().context("could not make a temporary directory")?;
    let db = scratch.path().join("requests.db");
    let json = scratch.path().join("oha.json");
    args.extend(["--db-url".into(), db.clone().into_os_string()]);
    args.extend(["--output".into(), json.clone().into_os_string()]);
    let opts = oha::Opts::try_parse_from(args).context("invalid oha arguments")?;
    let threads = opts.worker_threads.get();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .context("could not start the load generator's runtime")?;

    let sampler = SelfSampler::start();
    let begin = monotonic_now();
    let outcome = runtime.block_on(oha::run(opts));
    let samples = sampler.stop();
    outcome.context("oha failed")?;
    drop(runtime);

    let oha_json = std::fs::read_to_string(&json).context("oha wrote no JSON report")?;
    let report = OhaReport::from_json(&oha_json).context("could not read oha's JSON")?;
    let window = report.elapsed();
    let cpu_at = |t: Duration| interpolate(&samples, t);
    let cpu = cpu_at(begin + window)
        .zip(cpu_at(begin))
        .map_or(0.0, |(end, start)| end - start);
    let (latency_histogram, timeline) = read_records(&db)?;
    print!("{oha_json}");
    let report = ChildReport {
        window_start_ns: u64::try_from(begin.as_nanos()).unwrap_or(u64::MAX),
        window_ns: u64::try_from(window.as_nanos()).unwrap_or(u64::MAX),
        cpu_us: (cpu * 1e6).max(0.0).round() as u64,
        threads: u32::try_from(threads).unwrap_or(u32::MAX),
        latency_histogram,
        timeline,
    };
    eprintln!("{USAGE_PREFIX}{}", serde_json::to_string(&report)?);
    Ok(())
}

/// The value at `t` of a series of `(time, cumulative value)` samples in time order, linear
/// between the two samples around it; `None` outside the samples.
pub fn interpolate(samples: &[(Duration, f64)], t: Duration) -> Option<f64> {
    let after = samples.iter().position(|(time, _)| *time >= t)?;
    let (t1, v1) = samples[after];
    if after == 0 {
        return (t1 == t).then_some(v1);
    }
    let (t0, v0) = samples[after - 1];
    let span = (t1 - t0).as_secs_f64();
    if span == 0.0 {
        return Some(v1);
    }
    Some(v0 + (v1 - v0) * (t - t0).as_secs_f64() / span)
}

/// This process's CPU time (seconds, all threads), sampled on a thread of its own.
struct SelfSampler {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Vec<(Duration, f64)>>,
}

impl SelfSampler {
    fn start() -> SelfSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        // The first sample before the thread exists, so it precedes the load for certain.
        let first = (monotonic_now(), own_cpu_seconds());
        let thread = std::thread::spawn(move || {
            let mut samples = vec![first];
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(SELF_SAMPLE_INTERVAL);
                samples.push((monotonic_now(), own_cpu_seconds()));
            }
            samples
        });
        SelfSampler { stop, thread }
    }

    fn stop(self) -> Vec<(Duration, f64)> {
        self.stop.store(true, Ordering::Relaxed);
        let mut samples = self.thread.join().unwrap_or_default();
        samples.push((monotonic_now(), own_cpu_seconds()));
        samples
    }
}

fn own_cpu_seconds() -> f64 {
    let Ok(usage) = getrusage(UsageWho::RUSAGE_SELF) else {
        return 0.0;
    };
    let seconds =
        |time: nix::sys::time::TimeVal| time.tv_sec() as f64 + time.tv_usec() as f64 / 1e6;
    seconds(usage.user_time()) + seconds(usage.system_time())
}

/// The records oha stored in `db`, reduced: the HDR histogram of its 2xx responses (`None`
/// when there were none) and the timeline.
fn read_records(db: &Path) -> Result<(Option<String>, Vec<Second>)> {
    if !db.exists() {
        return Ok((None, Vec::new()));
    }
    let connection = rusqlite::Connection::open(db)
        .with_context(|| format!("could not open oha's records {}", db.display()))?;
    let mut statement = connection
        .prepare("SELECT start, duration, status FROM oha")
        .context("oha's records have no table 'oha'")?;
    let records = statement
        .query_map([], |row| {
            Ok(Record {
                start_secs: row.get(0)?,
                duration_secs: row.get(1)?,
                status: u16::try_from(row.get::<_, i64>(2)?).unwrap_or(0),
            })
        })
        .context("could not read oha's records")?
        .collect::<rusqlite::Result<Vec<Record>>>()
        .context("could not read oha's records")?;
    let reduced = bench_core::latency::reduce(records);
    let histogram = if reduced.histogram.is_empty() {
        None
    } else {
        Some(bench_core::latency::encode(&reduced.histogram)?)
    };
    Ok((histogram, reduced.timeline))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oha_accepts_the_arguments_the_runner_gives_it() {
        let mut args = oha_args(
            "http://127.0.0.1:8080/hello",
            &OhaLoad {
                connections: 64,
                duration: Duration::from_secs(10),
                threads: 1,
                keep_alive: false,
                rate: Some(5000.0),
            },
        );
        args.extend(["--db-url".to_owned(), "/tmp/x.db".to_owned()]);
        args.extend(["--output".to_owned(), "/tmp/x.json".to_owned()]);
        let opts = oha::Opts::try_parse_from(args).expect("oha parses the runner's arguments");
        assert_eq!(opts.worker_threads.get(), 1);
    }

    #[test]
    fn cumulative_readings_are_interpolated_inside_the_samples_only() {
        let s = |ms: u64| Duration::from_millis(ms);
        let samples = [(s(0), 0.0), (s(10), 1.0), (s(30), 2.0)];
        assert_eq!(interpolate(&samples, s(0)), Some(0.0));
        assert_eq!(interpolate(&samples, s(5)), Some(0.5));
        assert_eq!(interpolate(&samples, s(20)), Some(1.5));
        assert_eq!(interpolate(&samples, s(30)), Some(2.0));
        assert_eq!(interpolate(&samples, s(31)), None);
        assert_eq!(interpolate(&samples[1..], s(5)), None);
    }
}
