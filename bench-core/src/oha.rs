//! oha's JSON report as oha 1.16 really writes it, the arguments the runner gives oha, and
//! the vegeta-style [`LoadReport`] benchlab derives from the report.
//!
//! The keys are those of oha's JSON printer, checked against real output in
//! `tests/fixtures/` (see its README): `latencyPercentilesSuccessful` and
//! `latencyPercentilesNotSuccessful` (plural; oha's `schema.json` says
//! `latencyPercentileSuccessful`), present only with `--stats-success-breakdown`. Keys
//! benchlab does not use (histograms, `rps`, `details`, `metrics`) are skipped, so a newer
//! 1.x that adds keys still parses.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::plan::Cell;
use crate::units::{Micros, RequestsPerSec, Seconds};

/// The message oha counts requests under that were still in flight when `-z` ran out. They
/// are no failure of the server: they are left out of the success ratio.
pub const DEADLINE_ABORTED: &str = "aborted due to deadline";

/// The request headers every generator sends besides `Host` (and `Connection: close` for a
/// cell without keep-alive), so that oha and wrk send the same bytes: oha always sends
/// `Accept` and `User-Agent` (its options can set them, not drop them), wrk sends only what
/// it is given. oha's `Accept-Encoding` is dropped with `--disable-compression`.
pub const REQUEST_HEADERS: [(&str, &str); 2] = [("Accept", "*/*"), ("User-Agent", "benchlab")];

/// What oha is asked to do in one load run.
#[derive(Clone, Debug, PartialEq)]
pub struct OhaLoad {
    /// Connections: a closed loop's concurrency, a fixed rate's pool.
    pub connections: u32,
    pub duration: Duration,
    /// oha's tokio worker threads.
    pub threads: usize,
    /// `false`: `--disable-keepalive`, a connection per request.
    pub keep_alive: bool,
    /// A fixed rate in req/s (`-q` with `--latency-correction`); `None` for a closed loop.
    pub rate: Option<RequestsPerSec>,
}

impl OhaLoad {
    /// The load of `cell` for `duration` on `threads` threads, at `rate` when it is a
    /// fixed-rate cell (its target, resolved by the runner).
    pub fn of(
        cell: &Cell,
        duration: Duration,
        threads: usize,
        rate: Option<RequestsPerSec>,
    ) -> OhaLoad {
        OhaLoad {
            connections: cell.connections,
            duration,
            threads,
            keep_alive: cell.keep_alive,
            rate,
        }
    }
}

/// The arguments (program name first) the runner gives oha, as a library
/// (`oha::Opts::try_parse_from`) or as a binary: `load` on `url`, on its worker threads
/// (oha's default counts every physical core and ignores CPU affinity), JSON on stdout with
/// the 2xx / non-2xx breakdown that [`LoadReport`]'s latencies need, and the request of
/// [`REQUEST_HEADERS`].
///
/// `-w` lets the requests in flight at the deadline finish, and oha's elapsed time then runs
/// to the last of them. Without it every connection loses its last request, which biases the
/// rate by about latency / duration: 10 % for `/sleep/1000` over 10 s, enough to spoil the
/// calibration. With it the rate of a closed loop of C connections is C / latency.
///
/// At a fixed rate, `-q` schedules the requests and `--latency-correction` measures each
/// from when it was due rather than from when a connection got to it, so a stalled server
/// is charged for the requests it delayed (coordinated omission).
pub fn oha_args(url: &str, load: &OhaLoad) -> Vec<String> {
    let mut args: Vec<String> = [
        "oha",
        "--no-tui",
        "--output-format",
        "json",
        "--stats-success-breakdown",
        "-w",
        "-z",
        &format!("{}ms", load.duration.as_millis()),
        "-c",
        &load.connections.to_string(),
        "--worker-threads",
        &load.threads.max(1).to_string(),
        "--disable-compression",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    for (name, value) in REQUEST_HEADERS {
        args.extend(["-H".to_owned(), format!("{name}: {value}")]);
    }
    if !load.keep_alive {
        args.push("--disable-keepalive".to_owned());
    }
    if let Some(rate) = load.rate {
        args.extend([
            "-q".to_owned(),
            rate.to_string(),
            "--latency-correction".to_owned(),
        ]);
    }
    args.push(url.to_owned());
    args
}

/// oha's `--output-format json` report: the parts benchlab reads.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OhaReport {
    pub summary: OhaSummary,
    /// Over every response, whatever its status.
    pub latency_percentiles: OhaPercentiles,
    /// Over 2xx responses; only with `--stats-success-breakdown`.
    #[serde(default)]
    pub latency_percentiles_successful: Option<OhaPercentiles>,
    /// Over non-2xx responses; only with `--stats-success-breakdown`.
    #[serde(default)]
    pub latency_percentiles_not_successful: Option<OhaPercentiles>,
    /// Responses by status code (`"200"`), errors excluded.
    pub status_code_distribution: BTreeMap<String, u64>,
    /// Requests that got no response, by message: connection errors, timeouts and
    /// [`DEADLINE_ABORTED`].
    pub error_distribution: BTreeMap<String, u64>,
}

/// oha's `summary`. Times are in seconds; the statistics of a run without any response are
/// `null`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OhaSummary {
    /// Responses over responses and errors, deadline-aborted requests left out. Any status
    /// counts as a success here, 404 included.
    pub success_rate: f64,
    /// Elapsed seconds from the first request to the end, a little above `-z`.
    pub total: Seconds,
    pub slowest: Option<Seconds>,
    pub fastest: Option<Seconds>,
    pub average: Option<Seconds>,
    /// Every result over `total`: errors and deadline-aborted requests included. Against a
    /// closed port it reads 95k req/s. Not used: see [`LoadReport::rate_2xx`].
    pub requests_per_sec: f64,
    pub total_data: u64,
    pub size_per_request: Option<u64>,
    pub size_per_sec: f64,
}

/// oha's latency percentiles, in seconds; `null` when no response fell in the class.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct OhaPercentiles {
    pub p10: Option<Seconds>,
    pub p25: Option<Seconds>,
    pub p50: Option<Seconds>,
    pub p75: Option<Seconds>,
    pub p90: Option<Seconds>,
    pub p95: Option<Seconds>,
    pub p99: Option<Seconds>,
    #[serde(rename = "p99.9")]
    pub p99_9: Option<Seconds>,
    #[serde(rename = "p99.99")]
    pub p99_99: Option<Seconds>,
}

impl OhaReport {
    /// Parses oha's JSON output.
    pub fn from_json(json: &str) -> Result<OhaReport, serde_json::Error> {
        serde_json::from_str(json)
    }

    /// The time oha measured over (`summary.total`), when the caller has no better clock.
    pub fn elapsed(&self) -> Duration {
        Duration::from_secs_f64(self.summary.total.max(0.0))
    }
}

/// What scope [`LoadReport`]'s latency percentiles cover.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LatencyScope {
    /// 2xx responses only (oha ran with `--stats-success-breakdown`).
    Successful,
    /// Every response, whatever its status (no breakdown in the report).
    AllResponses,
}

/// Latency statistics in microseconds; `None` when no response was counted.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    /// Which responses p50 … p99.9 cover.
    pub scope: LatencyScope,
    /// oha gives no mean of 2xx alone, only one over every response: it is kept when it is
    /// the 2xx mean (every response was 2xx) or the scope is [`LatencyScope::AllResponses`],
    /// else `None`.
    pub mean: Option<Micros>,
    pub p50: Option<Micros>,
    pub p90: Option<Micros>,
    pub p99: Option<Micros>,
    pub p99_9: Option<Micros>,
    /// Kept or not like `mean`.
    pub max: Option<Micros>,
}

/// One load run, vegeta style: what was sent, what succeeded, how fast and how long.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoadReport {
    /// Every request oha started: responses, errors and deadline-aborted.
    pub total: u64,
    /// Responses with a 2xx status.
    pub ok_2xx: u64,
    /// Requests still in flight when the duration ran out ([`DEADLINE_ABORTED`]).
    pub aborted_at_deadline: u64,
    /// The seconds the rate is over, as the caller measured them.
    pub measured_secs: Seconds,
    /// `ok_2xx` / `measured_secs`: the throughput benchlab reports. Not oha's
    /// `requestsPerSec`, which counts every result (errors, non-2xx and requests aborted at
    /// the deadline): that inflates slow endpoints (at `/sleep/1000` with 20 connections, 20
    /// aborted of 60) and turns a dead server into a fast one (95k req/s of refused
    /// connections).
    pub rate_2xx: RequestsPerSec,
    /// `ok_2xx` over the requests that ended, deadline-aborted ones left out; 0 when none
    /// ended.
    pub success_ratio: f64,
    pub latency: Latency,
    /// Responses by status code.
    pub status_codes: BTreeMap<u16, u64>,
    /// Requests that got no response, by oha's message (deadline-aborted included).
    pub errors: BTreeMap<String, u64>,
}

/// An oha report benchlab cannot read.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum LoadReportError {
    #[error("oha reported status code \"{0}\", which is no HTTP status")]
    BadStatus(String),
    #[error("measured time {0} s is not a positive duration")]
    BadDuration(Seconds),
}

/// Seconds to microseconds, rounded to the nanosecond oha measures in (no float noise).
fn micros(seconds: Option<Seconds>) -> Option<Micros> {
    seconds.map(|s| (s * 1e9).round() / 1e3)
}

impl LoadReport {
    /// Derives the report from oha's over `measured` (the load phase as the runner timed it;
    /// [`OhaReport::elapsed`] when it has nothing better).
    pub fn from_oha(report: &OhaReport, measured: Duration) -> Result<LoadReport, LoadReportError> {
        let measured_secs = measured.as_secs_f64();
        if measured_secs <= 0.0 {
            return Err(LoadReportError::BadDuration(measured_secs));
        }
        let mut status_codes = BTreeMap::new();
        for (code, &count) in &report.status_code_distribution {
            let status: u16 = code
                .parse()
                .ok()
                .filter(|s| (100..=999).contains(s))
                .ok_or_else(|| LoadReportError::BadStatus(code.clone()))?;
            status_codes.insert(status, count);
        }
        let ok_2xx: u64 = status_codes
            .iter()
            .filter(|(status, _)| (200..300).contains(*status))
            .map(|(_, count)| count)
            .sum();
        let responses: u64 = status_codes.values().sum();
        let errors = report.error_distribution.clone();
        let failed: u64 = errors.values().sum();
        let aborted_at_deadline = errors.get(DEADLINE_ABORTED).copied().unwrap_or(0);
        let ended = responses + failed - aborted_at_deadline;

        let (scope, percentiles) = match &report.latency_percentiles_successful {
            Some(successful) => (LatencyScope::Successful, successful),
            None => (LatencyScope::AllResponses, &report.latency_percentiles),
        };
        // oha's mean and max cover every response: keep them only where that is the scope.
        let whole = scope == LatencyScope::AllResponses || responses == ok_2xx;
        let latency = Latency {
            scope,
            mean: micros(report.summary.average.filter(|_| whole)),
            p50: micros(percentiles.p50),
            p90: micros(percentiles.p90),
            p99: micros(percentiles.p99),
            p99_9: micros(percentiles.p99_9),
            max: micros(report.summary.slowest.filter(|_| whole)),
        };
        Ok(LoadReport {
            total: responses + failed,
            ok_2xx,
            aborted_at_deadline,
            measured_secs,
            rate_2xx: ok_2xx as f64 / measured_secs,
            success_ratio: if ended == 0 {
                0.0
            } else {
                ok_2xx as f64 / ended as f64
            },
            latency,
            status_codes,
            errors,
        })
    }

    /// Errors other than deadline aborts: connection refused, resets, timeouts.
    pub fn failed(&self) -> u64 {
        self.errors.values().sum::<u64>() - self.aborted_at_deadline
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> OhaReport {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        let json = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        OhaReport::from_json(&json).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn load(name: &str) -> LoadReport {
        let report = fixture(name);
        LoadReport::from_oha(&report, report.elapsed()).unwrap()
    }

    #[test]
    fn oha_arguments() {
        let closed = OhaLoad {
            connections: 64,
            duration: Duration::from_secs(10),
            threads: 1,
            keep_alive: true,
            rate: None,
        };
        assert_eq!(
            oha_args("http://127.0.0.1:8080/hello", &closed).join(" "),
            "oha --no-tui --output-format json --stats-success-breakdown -w -z 10000ms -c 64 --worker-threads 1 --disable-compression -H Accept: */* -H User-Agent: benchlab http://127.0.0.1:8080/hello"
        );
        let churn_at_rate = OhaLoad {
            keep_alive: false,
            rate: Some(12_500.5),
            ..closed
        };
        let args = oha_args("http://127.0.0.1:8080/hello", &churn_at_rate).join(" ");
        assert!(
            args.ends_with(
                "--disable-keepalive -q 12500.5 --latency-correction http://127.0.0.1:8080/hello"
            ),
            "{args}"
        );
    }

    #[test]
    fn fixtures_have_the_keys_oha_really_writes() {
        for name in [
            "hello-c8-z2s-breakdown.json",
            "sleep1000-c20-z3s-breakdown.json",
            "not-found-c4-z1s-breakdown.json",
            "closed-port-c2-z1s-breakdown.json",
        ] {
            let report = fixture(name);
            assert!(report.latency_percentiles_successful.is_some(), "{name}");
            assert!(
                report.latency_percentiles_not_successful.is_some(),
                "{name}"
            );
        }
        let plain = fixture("hello-c8-z2s.json");
        assert!(plain.latency_percentiles_successful.is_none());
    }

    #[test]
    fn parse_hello() {
        insta::assert_json_snapshot!(fixture("hello-c8-z2s-breakdown.json"));
        insta::assert_json_snapshot!(load("hello-c8-z2s-breakdown.json"));
    }

    #[test]
    fn parse_hello_without_breakdown() {
        let report = load("hello-c8-z2s.json");
        assert_eq!(report.latency.scope, LatencyScope::AllResponses);
        assert!(report.latency.p99.is_some());
    }

    #[test]
    fn parse_sleep_with_deadline_aborts() {
        let report = fixture("sleep1000-c20-z3s-breakdown.json");
        let load = LoadReport::from_oha(&report, report.elapsed()).unwrap();
        insta::assert_json_snapshot!(load);
        // 40 responses and 20 aborted in 3 s: oha says 20 req/s, 2xx/s is about 13.3.
        assert_eq!(
            (load.total, load.ok_2xx, load.aborted_at_deadline),
            (60, 40, 20)
        );
        assert!((report.summary.requests_per_sec - 60.0 / report.summary.total).abs() < 1e-6);
        assert!((load.rate_2xx - 40.0 / report.summary.total).abs() < 1e-9);
        assert_eq!(load.success_ratio, 1.0);
        // Exactly 3 s of load by the runner's clock.
        let exact = LoadReport::from_oha(&report, Duration::from_secs(3)).unwrap();
        assert!((exact.rate_2xx - 40.0 / 3.0).abs() < 1e-9);
    }

    #[test]
    fn parse_not_found_has_no_successes() {
        let load = load("not-found-c4-z1s-breakdown.json");
        insta::assert_json_snapshot!(load);
        assert_eq!(load.ok_2xx, 0);
        assert_eq!(load.rate_2xx, 0.0);
        assert_eq!(load.success_ratio, 0.0);
        assert_eq!(load.latency.p50, None, "no 2xx latency");
        assert_eq!(load.latency.mean, None, "oha's mean is over the 404s");
    }

    #[test]
    fn parse_closed_port_is_all_errors() {
        let report = fixture("closed-port-c2-z1s-breakdown.json");
        assert!(
            report.summary.requests_per_sec > 10_000.0,
            "oha's rate counts errors"
        );
        let load = LoadReport::from_oha(&report, report.elapsed()).unwrap();
        insta::assert_json_snapshot!(load);
        assert_eq!(load.rate_2xx, 0.0);
        assert_eq!(load.success_ratio, 0.0);
        assert!(load.failed() > 10_000);
        assert_eq!(load.latency.mean, None);
    }

    #[test]
    fn bad_reports_are_refused() {
        let mut report = fixture("hello-c8-z2s-breakdown.json");
        assert_eq!(
            LoadReport::from_oha(&report, Duration::ZERO)
                .unwrap_err()
                .to_string(),
            "measured time 0 s is not a positive duration"
        );
        report.status_code_distribution.insert("OK".to_owned(), 1);
        assert_eq!(
            LoadReport::from_oha(&report, Duration::from_secs(1))
                .unwrap_err()
                .to_string(),
            "oha reported status code \"OK\", which is no HTTP status"
        );
        assert!(OhaReport::from_json("{}").is_err());
    }
}
