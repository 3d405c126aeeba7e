//! wrk 4.1, Debian's `/usr/bin/wrk`, as a second load generator beside oha: a child process
//! pinned to the generator's CPUs, stopped by SIGINT once the run's duration is up, its
//! figures read from the JSON that `wrk/report.lua` writes from wrk's `done()` hook (parsed
//! by `bench_core::wrk`), never from the text wrk prints.
//!
//! Like [`crate::loadgen`], it measures what wrk does not tell: the CPU time wrk used over its
//! own load window, from `/proc/<pid>/stat` sampled every 10 ms, and when that window began
//! on the monotonic clock, which `report.lua` reads inside wrk.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use bench_core::plan::CpuSet;
use bench_core::wrk::WrkReport;
use nix::sys::signal::{Signal, kill};
use nix::unistd::{Pid, SysconfVar, sysconf};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;
use tokio::task::JoinHandle;

use crate::loadgen::{interpolate, monotonic_now};

/// Where Debian's `wrk` package puts wrk, and where `scripts/ensure-wrk.sh` checks for it.
pub const WRK: &str = "/usr/bin/wrk";

/// The Lua script given to wrk with `-s`: it writes wrk's report as JSON.
pub const REPORT_SCRIPT: &str = include_str!("../wrk/report.lua");

/// The variable that tells `report.lua` which file to write.
const REPORT_ENV: &str = "BENCHLAB_WRK_REPORT";

/// How often wrk's CPU time is read.
const SAMPLE_INTERVAL: Duration = Duration::from_millis(10);

/// How often, once the duration is up, wrk is checked for its SIGINT handler (see [`run`]).
const HANDLER_POLL: Duration = Duration::from_millis(1);

/// Seconds that wrk's own `-d` runs beyond the duration rounded up: a backstop in case
/// SIGINT never stops it.
const BACKSTOP_MARGIN_SECS: u64 = 2;

/// How long after its backstop wrk may still take to stop and write its report before it is
/// killed and the run fails.
const EXIT_GRACE: Duration = Duration::from_secs(30);

/// One wrk run: what wrk is asked to do.
#[derive(Debug, Clone)]
pub struct WrkLoad {
    /// What every request gets; its host must be an IP address: loopback, or the
    /// `--target-host` the run resolved once and checked against its engine.
    pub url: String,
    pub connections: u32,
    /// How long the load lasts, to the millisecond (wrk's `-d` knows only whole seconds).
    pub duration: Duration,
    /// The CPUs wrk runs on, with one thread per CPU (see [`wrk_threads`]).
    pub cpuset: CpuSet,
    /// When false, every request asks the server to close the connection after its response
    /// (`Connection: close`), and wrk opens a new connection for the next request.
    pub keep_alive: bool,
    /// Extra request headers, as name and value.
    pub headers: Vec<(String, String)>,
}

/// What one wrk run gave.
#[derive(Debug, Clone)]
pub struct WrkRun {
    /// `report.lua`'s JSON, as `bench_core::wrk::WrkReport::from_json` reads it.
    pub report_json: String,
    /// When wrk's load window began, on `CLOCK_MONOTONIC`. `report.lua` reads the clock in
    /// the last `setup()` call, just before wrk takes its own start: early by one
    /// `pthread_create` and two buffered `printf` calls. Its second reading, when `done()`
    /// begins, bounds that: the gap between them minus the window stayed under 0.7 ms in every
    /// run measured, post-window work included. When wrk's Lua has no ffi to read the clock
    /// with, this is the moment wrk was spawned instead, early by wrk's whole startup (6 to
    /// 9 ms measured).
    pub window_start: Duration,
    /// wrk's window (`summary.duration`): from its start until all its threads stopped, on
    /// wrk's own clock (`gettimeofday`, which NTP may slew by 0.05 % at most). Under SIGINT
    /// it runs past the requested duration by up to 100 ms, less wrk's startup.
    pub window: Duration,
    /// CPU time of wrk over its window, user and system, all threads, to the 10 ms tick of
    /// `/proc/<pid>/stat`.
    pub generator_cpu: Duration,
    /// wrk's threads (`-t`).
    pub threads: u32,
}

/// The threads wrk gets: one per CPU of `cpus`, fewer when `connections` does not divide
/// among them. wrk refuses fewer connections than threads and gives each thread
/// `connections / threads` of them, so with 17 connections on 2 threads it would open 16
/// while its correction still assumes 17 (see `bench_core::wrk`). The largest count of
/// threads that divides `connections` keeps every connection open.
pub fn wrk_threads(connections: u32, cpus: usize) -> u32 {
    let most = u32::try_from(cpus)
        .unwrap_or(u32::MAX)
        .min(connections)
        .max(1);
    (1..=most)
        .rev()
        .find(|threads| connections.is_multiple_of(*threads))
        .unwrap_or(1)
}

/// wrk's `-d` in whole seconds: the duration rounded up plus a margin. The run is stopped by
/// SIGINT before it; this only bounds a wrk that missed the signal.
fn backstop_secs(duration: Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0) + BACKSTOP_MARGIN_SECS
}

/// wrk's `--timeout` in whole seconds: one more than the backstop.
///
/// wrk 4.1 aborts nothing at its timeout. It sizes its latency histogram by it, one 8-byte
/// counter per microsecond (`timeout_ms × 1000 × 8` bytes, 8 MB per second of timeout), and
/// counts a response slower than that as a timeout error left out of the histogram. No
/// latency can exceed the run itself, so a timeout beyond the backstop keeps every response
/// in the histogram. The counters are one `calloc`, mapped lazily: address space grows with
/// the run (40 MB for the default 1.5 s, 490 MB for a minute), memory only with the slowest
/// latency actually recorded.
fn timeout_secs(duration: Duration) -> u64 {
    backstop_secs(duration) + 1
}

/// wrk's arguments, program name not included, for `load` on `threads` threads with the
/// report script at `script`.
pub fn wrk_args(load: &WrkLoad, threads: u32, script: &Path) -> Result<Vec<String>> {
    check_url(&load.url)?;
    ensure!(
        load.connections > 0,
        "a wrk run needs at least one connection, not 0"
    );
    let mut args = vec![
        "-t".to_owned(),
        threads.to_string(),
        "-c".to_owned(),
        load.connections.to_string(),
        "-d".to_owned(),
        format!("{}s", backstop_secs(load.duration)),
        "--timeout".to_owned(),
        format!("{}s", timeout_secs(load.duration)),
        "-s".to_owned(),
        script
            .to_str()
            .with_context(|| format!("the script path {} is not UTF-8", script.display()))?
            .to_owned(),
    ];
    let close = (!load.keep_alive).then(|| ("Connection".to_owned(), "close".to_owned()));
    for (name, value) in load.headers.iter().chain(close.as_ref()) {
        check_header(name, value)?;
        if close.is_some() && name.eq_ignore_ascii_case("connection") && value != "close" {
            bail!("header '{name}: {value}' contradicts keep_alive = false");
        }
        // wrk takes a header only as "Name: value", with exactly that separator.
        args.extend(["-H".to_owned(), format!("{name}: {value}")]);
    }
    args.push(load.url.clone());
    Ok(args)
}

/// Refuses a URL whose host is not an IP address: wrk would resolve a name at every start,
/// and the run loads the one address it checked and recorded (127.0.0.1, or a remote
/// engine's `--target-host`).
fn check_url(url: &str) -> Result<()> {
    let parsed = url::Url::parse(url).with_context(|| format!("invalid wrk URL '{url}'"))?;
    ensure!(
        parsed.scheme() == "http",
        "wrk URL '{url}' is not http://: benchlab loads plain HTTP/1.1"
    );
    ensure!(
        matches!(parsed.host(), Some(url::Host::Ipv4(_) | url::Host::Ipv6(_))),
        "wrk URL '{url}' does not target an IP address such as 127.0.0.1"
    );
    Ok(())
}

/// Refuses a header wrk would drop or garble: wrk splits `-H` at the first ": ".
fn check_header(name: &str, value: &str) -> Result<()> {
    let token = |c: char| c.is_ascii_graphic() && !"()<>@,;:\\\"/[]?={}".contains(c);
    ensure!(
        !name.is_empty() && name.chars().all(token),
        "invalid header name '{name}'"
    );
    ensure!(
        !value.contains(['\r', '\n']),
        "header '{name}' has a line break in its value"
    );
    Ok(())
}

/// Runs wrk pinned to `load.cpuset` for `load.duration` and reads its report.
///
/// - Pinning: `taskset --cpu-list` sets the CPU mask and execs wrk in place, so wrk's threads
///   inherit it and the child's pid is wrk's own. (The workspace forbids `unsafe`, which
///   rules out `pre_exec` with `sched_setaffinity`; taskset is util-linux, in every Debian.)
/// - Stopping: wrk's `-d` is whole seconds, so it gets a later backstop and SIGINT when the
///   duration since spawn is up. wrk ignores SIGINT until its threads run and then installs a
///   handler that ends the load (its threads stop within 100 ms, at their next rate tick);
///   its main then joins them, closes its window and still calls `done()`. SIGINT is sent
///   only once `/proc/<pid>/status` shows that handler (`SigCgt`), so it is never lost to
///   the ignored phase.
/// - CPU: `/proc/<pid>/stat`'s utime and stime, which cover all of wrk's threads, every
///   10 ms, from a zero at spawn to a reading of the exited, not yet reaped, process (its
///   final total), interpolated at the window's ends.
pub async fn run(load: &WrkLoad) -> Result<WrkRun> {
    ensure!(
        Path::new(WRK).is_file(),
        "wrk is not installed: run scripts/ensure-wrk.sh, which installs Debian's wrk 4.1 at {WRK}"
    );
    let threads = wrk_threads(load.connections, load.cpuset.len());
    let scratch = tempfile::Builder::new()
        .prefix("benchlab-wrk-")
        .tempdir()
        .context("could not make a temporary directory for wrk")?;
    let script = scratch.path().join("report.lua");
    std::fs::write(&script, REPORT_SCRIPT)
        .with_context(|| format!("could not write wrk's script {}", script.display()))?;
    let report_path = scratch.path().join("report.json");
    let args = wrk_args(load, threads, &script)?;
    let ticks_per_sec = clock_ticks_per_sec()?;

    let spawned_at = monotonic_now();
    let mut child = Command::new("taskset")
        .arg("--cpu-list")
        .arg(load.cpuset.to_string())
        .arg(WRK)
        .args(&args)
        .env(REPORT_ENV, &report_path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("could not start wrk through taskset (util-linux)")?;
    let pid = child
        .id()
        .context("wrk exited before it could be watched")?;
    // Read both pipes to their end meanwhile, so wrk never blocks on a full one.
    let stdout = read_all(child.stdout.take());
    let stderr = read_all(child.stderr.take());

    // The child had used no CPU before it existed.
    let mut samples = vec![(spawned_at, 0.0)];
    let deadline = spawned_at + load.duration;
    let give_up = spawned_at + Duration::from_secs(backstop_secs(load.duration)) + EXIT_GRACE;
    let mut signalled = false;
    loop {
        let now = monotonic_now();
        let Some(stat) = read_stat(pid) else {
            bail!("wrk (pid {pid}) vanished before it was waited for");
        };
        samples.push((now, stat.cpu_ticks as f64 / ticks_per_sec));
        if stat.exited {
            break;
        }
        if !signalled && now >= deadline && catches_sigint(pid) {
            kill(Pid::from_raw(pid as i32), Signal::SIGINT)
                .with_context(|| format!("could not send SIGINT to wrk (pid {pid})"))?;
            signalled = true;
        }
        if now >= give_up {
            bail!(
                "wrk (pid {pid}) did not finish {:?} after its {} s backstop; it was killed",
                EXIT_GRACE,
                backstop_secs(load.duration)
            );
        }
        let pause = if signalled {
            SAMPLE_INTERVAL
        } else if now >= deadline {
            HANDLER_POLL
        } else {
            SAMPLE_INTERVAL.min(deadline - now)
        };
        tokio::time::sleep(pause).await;
    }

    let status = child.wait().await.context("could not wait for wrk")?;
    let stderr = String::from_utf8_lossy(&stderr.await??).into_owned();
    stdout.await??;
    ensure!(status.success(), "wrk failed ({status}): {}", stderr.trim());
    let report_json = std::fs::read_to_string(&report_path).with_context(|| {
        format!(
            "wrk wrote no report to {} (is report.lua's done() running?): {}",
            report_path.display(),
            stderr.trim()
        )
    })?;
    let report = WrkReport::from_json(&report_json).context("could not read wrk's report")?;

    let window_start = report
        .start_monotonic_ns
        .map_or(spawned_at, Duration::from_nanos);
    let window = Duration::from_micros(report.summary.duration);
    let cpu_at = |t: Duration| interpolate(&samples, t);
    let cpu = cpu_at(window_start + window)
        .zip(cpu_at(window_start))
        .map(|(end, start)| end - start)
        .with_context(|| {
            format!(
                "wrk's window ({window_start:?} + {window:?}) lies outside its CPU readings \
                 ({:?} to {:?})",
                samples[0].0,
                samples[samples.len() - 1].0
            )
        })?;
    Ok(WrkRun {
        report_json,
        window_start,
        window,
        generator_cpu: Duration::from_secs_f64(cpu.max(0.0)),
        threads,
    })
}

/// Reads `pipe` to its end on a task of its own.
fn read_all(
    pipe: Option<impl AsyncRead + Unpin + Send + 'static>,
) -> JoinHandle<std::io::Result<Vec<u8>>> {
    tokio::spawn(async move {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            pipe.read_to_end(&mut bytes).await?;
        }
        Ok(bytes)
    })
}

/// `/proc/<pid>/stat`'s clock ticks per second (`USER_HZ`, 100 on Linux).
fn clock_ticks_per_sec() -> Result<f64> {
    match sysconf(SysconfVar::CLK_TCK) {
        Ok(Some(ticks)) if ticks > 0 => Ok(ticks as f64),
        other => bail!("sysconf(_SC_CLK_TCK) gave no clock tick rate: {other:?}"),
    }
}

/// What `/proc/<pid>/stat` says of a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ProcStat {
    /// Exited and not yet reaped (`Z`) or being reaped (`X`): its CPU time is final.
    exited: bool,
    /// utime + stime of all its threads, live and exited, in clock ticks.
    cpu_ticks: u64,
}

fn read_stat(pid: u32) -> Option<ProcStat> {
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// Parses `/proc/<pid>/stat`. The command name (field 2) is in parentheses and may hold
/// spaces and parentheses itself, so the fields are counted from the last `)`: state is
/// field 3, utime and stime fields 14 and 15 (proc(5)).
fn parse_stat(text: &str) -> Option<ProcStat> {
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let state = fields.first()?;
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(ProcStat {
        exited: matches!(*state, "Z" | "X"),
        cpu_ticks: utime + stime,
    })
}

/// Whether the process has a handler for SIGINT yet.
fn catches_sigint(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .is_some_and(|status| status_catches(&status, Signal::SIGINT))
}

/// Whether `/proc/<pid>/status`'s `SigCgt` mask (hexadecimal, bit n − 1 for signal n) holds
/// `signal`.
fn status_catches(status: &str, signal: Signal) -> bool {
    status
        .lines()
        .find_map(|line| line.strip_prefix("SigCgt:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << (signal as i32 - 1)) != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(connections: u32, keep_alive: bool) -> WrkLoad {
        WrkLoad {
            url: "http://127.0.0.1:8080/hello".to_owned(),
            connections,
            duration: Duration::from_millis(1500),
            cpuset: "0".parse().unwrap(),
            keep_alive,
            headers: Vec::new(),
        }
    }

    #[test]
    fn wrk_arguments() {
        let args = wrk_args(&load(64, true), 1, Path::new("/tmp/r.lua")).unwrap();
        assert_eq!(
            args.join(" "),
            "-t 1 -c 64 -d 4s --timeout 5s -s /tmp/r.lua http://127.0.0.1:8080/hello"
        );
        let mut close = load(16, false);
        close.duration = Duration::from_secs(10);
        close.headers = vec![("Accept".to_owned(), "application/json".to_owned())];
        let args = wrk_args(&close, 2, Path::new("/tmp/r.lua")).unwrap();
        assert_eq!(
            args.join(" "),
            "-t 2 -c 16 -d 12s --timeout 13s -s /tmp/r.lua -H Accept: application/json \
             -H Connection: close http://127.0.0.1:8080/hello"
        );
    }

    #[test]
    fn wrk_arguments_refuse_what_wrk_would_garble_or_benchlab_must_not_load() {
        let script = Path::new("/tmp/r.lua");
        let refused = |edit: fn(&mut WrkLoad)| {
            let mut load = load(4, false);
            edit(&mut load);
            wrk_args(&load, 1, script).unwrap_err().to_string()
        };
        assert_eq!(
            refused(|l| l.url = "http://localhost/hello".to_owned()),
            "wrk URL 'http://localhost/hello' does not target an IP address such as 127.0.0.1"
        );
        assert!(refused(|l| l.url = "https://127.0.0.1/".to_owned()).contains("not http://"));
        assert!(refused(|l| l.url = "127.0.0.1:80".to_owned()).starts_with("invalid wrk URL"));
        assert_eq!(
            refused(|l| l.headers = vec![("X:Y".to_owned(), "1".to_owned())]),
            "invalid header name 'X:Y'"
        );
        assert!(
            refused(|l| l.headers = vec![("X".to_owned(), "1\r\nY: 2".to_owned())])
                .contains("line break")
        );
        assert_eq!(
            refused(|l| l.headers = vec![("connection".to_owned(), "keep-alive".to_owned())]),
            "header 'connection: keep-alive' contradicts keep_alive = false"
        );
        assert!(refused(|l| l.connections = 0).contains("at least one connection"));
    }

    #[test]
    fn one_thread_per_cpu_when_the_connections_divide() {
        assert_eq!(wrk_threads(64, 2), 2);
        assert_eq!(wrk_threads(64, 1), 1);
        assert_eq!(
            wrk_threads(1, 2),
            1,
            "wrk refuses fewer connections than threads"
        );
        assert_eq!(wrk_threads(17, 2), 1, "17 on 2 threads would open 16");
        assert_eq!(wrk_threads(18, 4), 3);
        assert_eq!(wrk_threads(0, 2), 1);
    }

    #[test]
    fn backstop_and_timeout_are_whole_seconds_past_the_duration() {
        let secs = |ms| backstop_secs(Duration::from_millis(ms));
        assert_eq!((secs(1500), secs(2000), secs(1)), (4, 4, 3));
        assert_eq!(timeout_secs(Duration::from_millis(1500)), 5);
    }

    #[test]
    fn proc_stat_is_read_from_the_last_parenthesis() {
        let line = "4242 (wrk (x) y) S 1 4242 4242 0 -1 4194304 519 0 0 0 37 12 0 0 20 0 2 0 \
                    31981003 70848 1536 18446744073709551615 1 1 0 0 0 0 0 4096 16386 0 0 0 17 0";
        assert_eq!(
            parse_stat(line),
            Some(ProcStat {
                exited: false,
                cpu_ticks: 49
            })
        );
        let zombie = "7 (wrk) Z 1 7 7 0 -1 4227084 0 0 0 0 150 8 0 0 20 0 1 0 1 0 0";
        assert_eq!(
            parse_stat(zombie).map(|s| (s.exited, s.cpu_ticks)),
            Some((true, 158))
        );
        assert_eq!(parse_stat("7 (wrk) R 1"), None);
        // This very process, alive.
        let own = read_stat(std::process::id()).unwrap();
        assert!(!own.exited);
    }

    #[test]
    fn sigint_handler_is_seen_in_sigcgt() {
        let status = |cgt: &str| format!("Name:\twrk\nSigIgn:\t0000000000001004\nSigCgt:\t{cgt}\n");
        // wrk before and after it installs its handler (read from a real wrk 4.1).
        assert!(!status_catches(&status("0000000100000000"), Signal::SIGINT));
        assert!(status_catches(&status("0000000100000002"), Signal::SIGINT));
        assert!(!status_catches("Name:\twrk\n", Signal::SIGINT));
    }

    #[test]
    fn the_embedded_script_defines_the_hooks_wrk_calls() {
        for hook in ["function setup(", "function done(", REPORT_ENV] {
            assert!(REPORT_SCRIPT.contains(hook), "{hook}");
        }
    }

    /// Needs wrk (scripts/ensure-wrk.sh) but no server: wrk refuses a closed port before
    /// any load, and its own message reaches the error.
    #[tokio::test]
    async fn wrk_failing_is_reported_with_its_stderr() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut closed = load(2, true);
        closed.url = format!("http://127.0.0.1:{port}/hello");
        let err = run(&closed).await.unwrap_err().to_string();
        assert!(err.starts_with("wrk failed (exit status: 1)"), "{err}");
        assert!(err.contains("Connection refused"), "{err}");
    }
}
