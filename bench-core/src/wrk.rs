//! wrk 4.1's report as benchlab's `report.lua` writes it (`bench-runner/wrk/`), wrk's
//! coordinated-omission correction undone, and the [`LoadReport`] benchlab derives from it.
//!
//! wrk prints its results as text for people; the runner never scrapes it. Its Lua `done()`
//! hook sees the same figures, and benchlab's script writes them as JSON: the summary, the
//! error counters and every non-empty bucket of the latency histogram (one bucket per
//! microsecond). The fixtures in `tests/fixtures/` are real reports (see its README).
//!
//! Before `done()` runs, wrk's `main` corrects the histogram for coordinated omission
//! (`stats_correct` in `src/stats.c`): a request slower than twice the expected interval
//! between requests of one connection stands for the requests the connection could not send
//! meanwhile, so wrk adds synthetic samples of decreasing latency below it. benchlab's
//! latencies are those of requests that were really sent, as oha's are, so
//! [`uncorrected`] removes the synthetic samples again, exactly.

use std::collections::{BTreeMap, HashMap};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::latency::{self, HIGHEST_NS, Percentiles};
use crate::oha::{Latency, LatencyScope, LoadReport};
use crate::units::Micros;

/// One bucket of wrk's latency histogram: a latency in microseconds and how many requests
/// took exactly that long.
pub type Bucket = (u64, u64);

/// The error key of responses with a status above 399, the only statuses wrk counts as
/// errors.
pub const STATUS_ERRORS: &str = "status above 399";

/// What `report.lua` writes at the end of a wrk run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrkReport {
    pub summary: WrkSummary,
    /// Every non-empty bucket of wrk's latency histogram, in ascending order of latency, as
    /// wrk hands it to `done()`: after its correction (see [`WrkReport::uncorrected`]).
    pub latency: Vec<Bucket>,
    /// `CLOCK_MONOTONIC` in nanoseconds just before wrk took its own start time (the last
    /// `setup()` call); `None` when wrk's Lua has no ffi to read the clock with.
    #[serde(default)]
    pub start_monotonic_ns: Option<u64>,
    /// `CLOCK_MONOTONIC` in nanoseconds when `done()` began, after wrk's window closed: the
    /// gap between the two readings minus `summary.duration` bounds how far
    /// `start_monotonic_ns` may sit before wrk's own start.
    #[serde(default)]
    pub done_monotonic_ns: Option<u64>,
}

/// wrk's summary of the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrkSummary {
    /// Microseconds from wrk's start (all threads created) until every thread stopped: the
    /// load window.
    pub duration: u64,
    /// Responses read, whatever their status, slow ones counted as `errors.timeout`
    /// included. Requests still in flight when wrk stopped are in no counter at all.
    pub requests: u64,
    /// Bytes read.
    pub bytes: u64,
    pub errors: WrkErrors,
}

/// wrk's error counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrkErrors {
    /// Connections that could not be made (wrk tries again).
    pub connect: u64,
    /// Reads that failed or ended before a whole response: a request without response.
    pub read: u64,
    /// Writes that failed: a request not sent.
    pub write: u64,
    /// Responses with a status above 399, among `summary.requests`.
    pub status: u64,
    /// Responses slower than wrk's `--timeout`, among `summary.requests`: wrk 4.1 aborts
    /// nothing at its timeout, it only leaves these out of the histogram, whose buckets end
    /// there.
    pub timeout: u64,
}

/// A wrk report benchlab cannot read.
#[derive(Debug, thiserror::Error)]
pub enum WrkError {
    #[error("wrk's report is not the JSON that benchlab's report.lua writes: {0}")]
    Json(#[from] serde_json::Error),
    #[error("wrk's latency buckets are not in strictly ascending order of latency at {value} µs")]
    Unsorted { value: u64 },
    #[error("wrk's latency bucket of {value} µs is empty, and report.lua writes no empty bucket")]
    EmptyBucket { value: u64 },
    #[error(
        "wrk's latency bucket of {value} µs holds {count} requests, fewer than the {added} \
         its correction with an interval of {interval_us} µs would have added: the histogram \
         is not one wrk corrected with that interval (wrong connection count?)"
    )]
    NotCorrected {
        value: u64,
        count: u64,
        added: u64,
        interval_us: u64,
    },
    #[error(
        "wrk's correction interval is 0 µs: wrk 4.1 never finishes a correction with it, \
         so no report of it can exist"
    )]
    ZeroInterval,
    #[error("wrk counted {status} status errors among only {requests} responses")]
    MoreStatusErrorsThanResponses { status: u64, requests: u64 },
    #[error("wrk measured for {0} µs, which is no load window")]
    BadDuration(u64),
    #[error("a wrk run has at least one connection, not 0")]
    NoConnections,
}

impl WrkReport {
    /// Parses `report.lua`'s JSON and checks that the histogram is one `report.lua` writes:
    /// buckets in strictly ascending order, none empty.
    pub fn from_json(json: &str) -> Result<WrkReport, WrkError> {
        let report: WrkReport = serde_json::from_str(json)?;
        let mut previous = None;
        for &(value, count) in &report.latency {
            if previous.is_some_and(|p| p >= value) {
                return Err(WrkError::Unsorted { value });
            }
            if count == 0 {
                return Err(WrkError::EmptyBucket { value });
            }
            previous = Some(value);
        }
        Ok(report)
    }

    /// The interval wrk corrected with, as wrk 4.1's `main` computes it in integers:
    /// `duration / (requests / connections)`, where `connections` is wrk's `-c`; `None`
    /// when it made no correction (fewer responses than connections).
    pub fn correction_interval_us(&self, connections: u32) -> Result<Option<u64>, WrkError> {
        if connections == 0 {
            return Err(WrkError::NoConnections);
        }
        let per_connection = self.summary.requests / u64::from(connections);
        Ok((per_connection > 0).then(|| self.summary.duration / per_connection))
    }

    /// The histogram of the requests wrk really measured: [`Self::latency`] without the
    /// samples wrk's correction added, given wrk's `-c`.
    pub fn uncorrected(&self, connections: u32) -> Result<Vec<Bucket>, WrkError> {
        match self.correction_interval_us(connections)? {
            Some(interval) => uncorrected(&self.latency, interval),
            None => Ok(self.latency.clone()),
        }
    }

    /// [`Self::uncorrected`] as one of benchlab's HDR histograms (nanoseconds), each
    /// latency clamped to its range like [`latency::record`] does.
    pub fn histogram(&self, connections: u32) -> Result<Histogram<u64>, WrkError> {
        let mut histogram = latency::histogram();
        for (value_us, count) in self.uncorrected(connections)? {
            let ns = value_us.saturating_mul(1_000).clamp(1, HIGHEST_NS);
            histogram.saturating_record_n(ns, count);
        }
        Ok(histogram)
    }

    /// The [`LoadReport`] of a run with wrk's `-c connections`.
    ///
    /// - `measured_secs` is wrk's own window (`summary.duration`), which the runner's
    ///   readings of the server are aligned to.
    /// - `ok_2xx` is `requests − errors.status`: wrk counts a status as an error only above
    ///   399, so a 1xx or 3xx response would count as a success here. benchlab's services
    ///   answer 200 on every route it loads, which the conformance suite checks.
    /// - `status_codes` is empty: wrk counts responses, not statuses.
    /// - `errors` holds each non-zero counter: `connect`, `read`, `write`, `timeout` (wrk's
    ///   `--timeout`: responses too slow for the histogram, still in `requests` and in
    ///   `ok_2xx`) and [`STATUS_ERRORS`]. All of them count in [`LoadReport::failed`].
    /// - `total` is `requests + connect + read + write`: every response and every attempt
    ///   that got none. Timeouts are not added: wrk counted them among `requests` already.
    /// - `aborted_at_deadline` is 0: wrk drops the requests in flight when it stops without
    ///   counting them anywhere.
    /// - The latencies cover every response ([`LatencyScope::AllResponses`]), from the
    ///   uncorrected histogram, to HDR's 0.1 %.
    pub fn load_report(&self, connections: u32) -> Result<LoadReport, WrkError> {
        let summary = &self.summary;
        if summary.duration == 0 {
            return Err(WrkError::BadDuration(summary.duration));
        }
        let errors = &summary.errors;
        let ok_2xx = summary.requests.checked_sub(errors.status).ok_or(
            WrkError::MoreStatusErrorsThanResponses {
                status: errors.status,
                requests: summary.requests,
            },
        )?;
        let total = summary.requests + errors.connect + errors.read + errors.write;
        let measured_secs = summary.duration as f64 / 1e6;

        let histogram = self.histogram(connections)?;
        let percentiles = Percentiles::of(&histogram);
        let us = |pick: fn(&Percentiles) -> Micros| percentiles.as_ref().map(pick);
        let latency = Latency {
            scope: LatencyScope::AllResponses,
            mean: percentiles.map(|_| histogram.mean() / 1e3),
            p50: us(|p| p.p50_us),
            p90: us(|p| p.p90_us),
            p99: us(|p| p.p99_us),
            p99_9: us(|p| p.p99_9_us),
            max: us(|p| p.max_us),
        };

        let errors: BTreeMap<String, u64> = [
            ("connect", errors.connect),
            ("read", errors.read),
            ("write", errors.write),
            ("timeout", errors.timeout),
            (STATUS_ERRORS, errors.status),
        ]
        .into_iter()
        .filter(|&(_, count)| count > 0)
        .map(|(key, count)| (key.to_owned(), count))
        .collect();

        Ok(LoadReport {
            total,
            ok_2xx,
            aborted_at_deadline: 0,
            measured_secs,
            rate_2xx: ok_2xx as f64 / measured_secs,
            success_ratio: if total == 0 {
                0.0
            } else {
                ok_2xx as f64 / total as f64
            },
            latency,
            status_codes: BTreeMap::new(),
            errors,
        })
    }
}

/// Undoes wrk 4.1's `stats_correct(stats, interval_us)` on the non-empty `buckets` it left
/// (ascending by latency, as `done()` sees them), exactly.
///
/// The correction adds, for every bucket `n` of at least twice the interval `e`, its count
/// to each bucket `n − e`, `n − 2e`, … above `e`. It reads each bucket before any bucket
/// above it adds to it (it walks upwards and only adds downwards), so the count it spreads
/// is the measured one. Walking downwards inverts it: the top bucket has had nothing added;
/// each bucket below has had the measured counts of the buckets above it in its residue
/// class modulo `e`. A running sum per residue class keeps this linear in the number of
/// buckets.
///
/// wrk does not lower its `min` for what it adds below it, so `done()` never sees those
/// samples: they are not in `buckets`, and there is nothing to remove. Every measured bucket
/// is at or above `min`, so the result is the whole measured histogram.
pub fn uncorrected(buckets: &[Bucket], interval_us: u64) -> Result<Vec<Bucket>, WrkError> {
    if interval_us == 0 {
        return Err(WrkError::ZeroInterval);
    }
    let e = interval_us;
    // Residue modulo e → measured requests of the buckets above, at 2e or more, in it.
    let mut spread: HashMap<u64, u64> = HashMap::new();
    let mut measured = Vec::with_capacity(buckets.len());
    for &(value, count) in buckets.iter().rev() {
        let added = if value > e {
            spread.get(&(value % e)).copied().unwrap_or(0)
        } else {
            0
        };
        let own = count.checked_sub(added).ok_or(WrkError::NotCorrected {
            value,
            count,
            added,
            interval_us,
        })?;
        if own > 0 {
            measured.push((value, own));
            if value >= 2 * e {
                *spread.entry(value % e).or_insert(0) += own;
            }
        }
    }
    measured.reverse();
    Ok(measured)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> WrkReport {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        let json = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        WrkReport::from_json(&json).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn total(buckets: &[Bucket]) -> u64 {
        buckets.iter().map(|&(_, count)| count).sum()
    }

    /// The latency at quantile `q` of `buckets`, by rank, as wrk's own percentile reads it.
    fn quantile(buckets: &[Bucket], q: f64) -> f64 {
        let rank = (q * total(buckets) as f64).ceil() as u64;
        let mut seen = 0;
        buckets
            .iter()
            .find(|&&(_, count)| {
                seen += count;
                seen >= rank
            })
            .expect("a rank within the total")
            .0 as f64
    }

    /// wrk 4.1's histogram (`stats.h`): a counter per microsecond up to its limit, and the
    /// lowest and highest latency recorded.
    struct Stats {
        data: Vec<u64>,
        min: u64,
        max: u64,
    }

    impl Stats {
        fn new(limit: u64) -> Stats {
            Stats {
                data: vec![0; limit as usize + 1],
                min: u64::MAX,
                max: 0,
            }
        }

        /// `stats_record`, for `count` requests at once.
        fn record(&mut self, value: u64, count: u64) {
            self.data[value as usize] += count;
            self.min = self.min.min(value);
            self.max = self.max.max(value);
        }

        /// `stats_correct`, line for line, in wrk's signed arithmetic.
        fn correct(&mut self, expected: i64) {
            let mut n = (expected * 2) as u64;
            while n <= self.max {
                let count = self.data[n as usize];
                let mut m = n as i64 - expected;
                while count != 0 && m > expected {
                    self.data[m as usize] += count;
                    m -= expected;
                }
                n += 1;
            }
        }

        /// What `done()` sees: `stats_value_at` walks from `min` to `max`.
        fn buckets(&self) -> Vec<Bucket> {
            if self.min > self.max {
                return Vec::new();
            }
            (self.min..=self.max)
                .filter(|&v| self.data[v as usize] != 0)
                .map(|v| (v, self.data[v as usize]))
                .collect()
        }
    }

    /// A deterministic generator (64-bit LCG, high bits), so failures reproduce.
    struct Lcg(u64);

    impl Lcg {
        fn below(&mut self, bound: u64) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (self.0 >> 33) % bound
        }
    }

    #[test]
    fn undoing_the_correction_gives_back_what_wrk_measured() {
        let mut rng = Lcg(0x5eed);
        let mut corrected_any = false;
        let mut hidden_any = false;
        for case in 0..300 {
            // Mostly fast requests over a floor, some stalls far above: the shape that makes
            // wrk correct, with floors above and below the interval.
            let floor = 1 + rng.below(400);
            let spread = 1 + rng.below(300);
            let mut stats = Stats::new(20_000);
            for _ in 0..1 + rng.below(2_000) {
                let value = if rng.below(20) == 0 {
                    floor + rng.below(15_000)
                } else {
                    floor + rng.below(spread)
                };
                stats.record(value, 1 + rng.below(5));
            }
            let measured = stats.buckets();
            let expected = 1 + rng.below(600) as i64;
            stats.correct(expected);
            let corrected = stats.buckets();
            corrected_any |= corrected != measured;
            // Samples added below `min` that `done()` does not see.
            let visible_added = total(&corrected) - total(&measured);
            let all_added = stats.data.iter().sum::<u64>() - total(&measured);
            hidden_any |= all_added > visible_added;

            let back = uncorrected(&corrected, expected as u64)
                .unwrap_or_else(|e| panic!("case {case}: {e}"));
            assert_eq!(back, measured, "case {case}, interval {expected}");
        }
        assert!(corrected_any, "the cases must exercise the correction");
        assert!(hidden_any, "and additions below min");
    }

    #[test]
    fn uncorrected_refuses_what_wrk_cannot_have_corrected() {
        // Bucket 300 adds to 200 only, which is not there (below wrk's min).
        let kept = uncorrected(&[(150, 1), (300, 5)], 100).unwrap();
        assert_eq!(kept, [(150, 1), (300, 5)]);
        let err = uncorrected(&[(200, 1), (300, 2)], 100).unwrap_err();
        assert!(
            matches!(err, WrkError::NotCorrected { value: 200, .. }),
            "{err}"
        );
        assert!(matches!(
            uncorrected(&[(1, 1)], 0),
            Err(WrkError::ZeroInterval)
        ));
        assert_eq!(uncorrected(&[], 7).unwrap(), []);
    }

    #[test]
    fn hello_fixture_uncorrected_is_every_response_wrk_measured() {
        let report = fixture("wrk-hello-c64.json");
        let summary = report.summary;
        let corrected = total(&report.latency);
        assert!(
            corrected > summary.requests,
            "the fixture must show a correction: {corrected} samples, {} requests",
            summary.requests
        );
        let interval = report.correction_interval_us(64).unwrap().unwrap();
        assert_eq!(interval, summary.duration / (summary.requests / 64));
        let measured = report.uncorrected(64).unwrap();
        // wrk records every response's latency, except those slower than --timeout.
        assert!(total(&measured) <= summary.requests);
        assert_eq!(total(&measured), summary.requests - summary.errors.timeout);
        assert_eq!(
            measured.last(),
            report.latency.last(),
            "the top bucket is measured"
        );

        let load = report.load_report(64).unwrap();
        assert_eq!(load.ok_2xx, summary.requests);
        assert_eq!(load.total, summary.requests);
        assert_eq!(load.success_ratio, 1.0);
        assert!(load.errors.is_empty() && load.status_codes.is_empty());
        assert_eq!(load.aborted_at_deadline, 0);
        assert!((load.measured_secs - summary.duration as f64 / 1e6).abs() < 1e-12);
        assert!(
            (load.rate_2xx - summary.requests as f64 * 1e6 / summary.duration as f64).abs() < 1e-6
        );

        // Against the raw buckets, to HDR's 0.1 %.
        let latency = load.latency;
        assert_eq!(latency.scope, LatencyScope::AllResponses);
        let close = |hdr: f64, raw: f64| (hdr - raw).abs() <= raw * 1e-3 + 1e-3;
        let raw_max = measured.last().unwrap().0 as f64;
        assert!(close(latency.max.unwrap(), raw_max), "{latency:?}");
        let raw_mean =
            measured.iter().map(|&(v, c)| (v * c) as f64).sum::<f64>() / total(&measured) as f64;
        assert!(
            close(latency.mean.unwrap(), raw_mean),
            "{latency:?} vs {raw_mean}"
        );
        let raw_quantile = |q: f64| quantile(&measured, q);
        assert!(
            close(latency.p50.unwrap(), raw_quantile(0.5)),
            "{latency:?}"
        );
        assert!(
            close(latency.p99.unwrap(), raw_quantile(0.99)),
            "{latency:?}"
        );
        // The correction made the tail look worse than what was measured.
        let corrected_p99 = quantile(&report.latency, 0.99);
        assert!(
            corrected_p99 > latency.p99.unwrap(),
            "{corrected_p99} vs {latency:?}"
        );

        let window = report.done_monotonic_ns.unwrap() - report.start_monotonic_ns.unwrap();
        assert!(
            window >= summary.duration * 1_000,
            "done() runs after the window"
        );
    }

    #[test]
    fn sleep_fixture_is_a_closed_loop_of_100_ms_requests() {
        let report = fixture("wrk-sleep100-c16.json");
        // Every latency at least 100 ms, so below twice the interval: nothing corrected.
        assert!(report.latency.iter().all(|&(value, _)| value >= 100_000));
        assert_eq!(report.uncorrected(16).unwrap(), report.latency);
        let load = report.load_report(16).unwrap();
        assert_eq!(load.ok_2xx, report.summary.requests);
        // 16 connections, each waiting 100 ms per request: 160 req/s at most.
        assert!(load.rate_2xx <= 160.0, "{}", load.rate_2xx);
        assert!(load.rate_2xx > 140.0, "{}", load.rate_2xx);
        let latency = load.latency;
        assert!(latency.p50.unwrap() >= 100_000.0 && latency.p50.unwrap() < 105_000.0);
        assert!(latency.mean.unwrap() >= 100_000.0, "{latency:?}");
        assert_eq!(report.histogram(16).unwrap().len(), report.summary.requests);
    }

    #[test]
    fn not_found_fixture_has_no_successes() {
        let report = fixture("wrk-not-found-c4.json");
        let load = report.load_report(4).unwrap();
        assert_eq!(report.summary.errors.status, report.summary.requests);
        assert_eq!(
            (load.ok_2xx, load.rate_2xx, load.success_ratio),
            (0, 0.0, 0.0)
        );
        assert_eq!(
            load.errors,
            BTreeMap::from([(STATUS_ERRORS.to_owned(), report.summary.requests)])
        );
        assert_eq!(load.failed(), report.summary.requests);
        // The 404s' latencies are there: the scope says every response.
        assert!(load.latency.p50.is_some());
    }

    #[test]
    fn errors_count_towards_total_except_timeouts() {
        let mut report = fixture("wrk-sleep100-c16.json");
        report.summary.errors = WrkErrors {
            connect: 1,
            read: 2,
            write: 3,
            status: 4,
            timeout: 5,
        };
        let load = report.load_report(16).unwrap();
        let requests = report.summary.requests;
        assert_eq!(load.total, requests + 6);
        assert_eq!(load.ok_2xx, requests - 4);
        assert_eq!(load.errors.len(), 5);
        assert_eq!(load.errors["timeout"], 5);
        assert_eq!(load.failed(), 15);
    }

    #[test]
    fn bad_reports_are_refused() {
        let mut report = fixture("wrk-sleep100-c16.json");
        assert!(matches!(
            report.load_report(0),
            Err(WrkError::NoConnections)
        ));
        report.summary.errors.status = report.summary.requests + 1;
        assert_eq!(
            report.load_report(16).unwrap_err().to_string(),
            format!(
                "wrk counted {} status errors among only {} responses",
                report.summary.requests + 1,
                report.summary.requests
            )
        );
        report.summary.duration = 0;
        assert!(matches!(
            report.load_report(16),
            Err(WrkError::BadDuration(0))
        ));

        let json = |latency: &str| {
            format!(
                r#"{{"summary":{{"duration":1,"requests":1,"bytes":1,"errors":{{"connect":0,"read":0,"write":0,"status":0,"timeout":0}}}},"latency":{latency}}}"#
            )
        };
        let parsed = WrkReport::from_json(&json("[[5,1]]")).unwrap();
        assert_eq!(parsed.start_monotonic_ns, None, "no ffi, no clock");
        assert!(matches!(
            WrkReport::from_json(&json("[[5,1],[5,1]]")),
            Err(WrkError::Unsorted { value: 5 })
        ));
        assert!(matches!(
            WrkReport::from_json(&json("[[5,0]]")),
            Err(WrkError::EmptyBucket { value: 5 })
        ));
        let err = WrkReport::from_json("{}").unwrap_err();
        assert!(
            err.to_string().starts_with("wrk's report is not the JSON"),
            "{err}"
        );
    }

    #[test]
    fn no_correction_below_one_response_per_connection() {
        let mut report = fixture("wrk-sleep100-c16.json");
        report.summary.requests = 15;
        assert_eq!(report.correction_interval_us(16).unwrap(), None);
        assert_eq!(report.uncorrected(16).unwrap(), report.latency);
    }
}
