//! What a swap cost, from every request the recorder saw: [`analyse`], each of its figures
//! defined once here and tested on hand-made records.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{
    BUCKET_MS, Bucket, ErrorKind, Instance, Outcome, RequestRecord, SwapEvents, SwapReport, Ttlb,
};
use crate::units::{Micros, Millis};

/// A swap's report from every request of its load (`records`, in any order), what the
/// runner did and when (`events`), the rate asked for and the load's `duration`:
///
/// - **sent** is every record; **ok** the 2xx responses; **failed** the rest, counted by
///   [`Outcome::failure_key`] in **failures**.
/// - **achieved rate**: the requests that really started before the duration ended ÷ the
///   duration: a recorder that fell behind its schedule shows here, not as a lower `sent`.
/// - **longest gap**: the longest time without a 2xx completing: from the first request to
///   end at all (answered or failed, so a request's own latency is no gap) to the first 2xx's
///   last byte, between two successive ones, or from the last one to the end of the duration
///   (nothing when it ended later); with no 2xx at all, the whole duration. The first of
///   equal gaps is kept, with when it began.
/// - **TTLB**, time to last byte, `ended − started`, over every request with a complete
///   response whatever its status (a proxy's 502 is an answer too); connection errors have
///   none. Percentiles are exact nearest-rank order statistics (the ⌈p·n⌉-th smallest), not
///   interpolated and not from a histogram: a 100 ms slice holds about a hundred requests.
/// - **buckets**: a slice of [`BUCKET_MS`] for every 100 ms from the origin to the end of
///   the duration, empty ones included, each request in the slice of its scheduled time (one
///   scheduled past the end, in the last slice), so the slices add up to `sent`.
/// - **worst bucket p99**: the largest p99 of a slice.
/// - **pinned to blue**: 2xx answered by blue for requests started at or after the switch,
///   when there was one.
/// - **blue exit**: from SIGTERM to blue's exit, when both were seen.
/// - **cut mid-flight**: the [`ErrorKind::Cut`] requests.
pub fn analyse(
    records: &[RequestRecord],
    events: SwapEvents,
    target_rate: f64,
    duration: Duration,
) -> SwapReport {
    let duration_us = u64::try_from(duration.as_micros()).unwrap_or(u64::MAX);
    let sent = records.len() as u64;
    let ok = records.iter().filter(|r| r.outcome.is_success()).count() as u64;
    let seconds = duration.as_secs_f64();
    let started_in_time = records
        .iter()
        .filter(|r| r.started_us < duration_us)
        .count();
    let achieved_rate = if seconds > 0.0 {
        started_in_time as f64 / seconds
    } else {
        0.0
    };
    let (longest_gap_ms, longest_gap_at_ms) = longest_gap(records, duration_us);
    let buckets = buckets(records, duration_us);
    let worst_bucket_p99_ms = buckets
        .iter()
        .filter_map(|b| b.ttlb.map(|t| t.p99_ms))
        .reduce(f64::max);
    let pinned_to_blue = events.switch_us.map_or(0, |switch| {
        records
            .iter()
            .filter(|r| {
                r.outcome.is_success()
                    && r.instance == Some(Instance::Blue)
                    && r.started_us >= switch
            })
            .count() as u64
    });
    let blue_exit_ms = match (events.sigterm_us, events.blue_exited_us) {
        (Some(sigterm), Some(exited)) => Some(ms(exited.saturating_sub(sigterm))),
        _ => None,
    };
    let cut_mid_flight = records
        .iter()
        .filter(|r| r.outcome == Outcome::Error(ErrorKind::Cut))
        .count() as u64;
    SwapReport {
        target_rate,
        achieved_rate,
        sent,
        ok,
        failed: sent - ok,
        failures: failures(records),
        longest_gap_ms,
        longest_gap_at_ms,
        ttlb: Ttlb::of(ttlbs(records)),
        worst_bucket_p99_ms,
        pinned_to_blue,
        blue_exit_ms,
        cut_mid_flight,
        events,
        buckets,
    }
}

impl Ttlb {
    /// p50, p99 and max of times to last byte in µs, by nearest rank; `None` for none.
    pub fn of(mut ttlb_us: Vec<u64>) -> Option<Ttlb> {
        if ttlb_us.is_empty() {
            return None;
        }
        ttlb_us.sort_unstable();
        Some(Ttlb {
            p50_ms: ms(nearest_rank(&ttlb_us, 50)),
            p99_ms: ms(nearest_rank(&ttlb_us, 99)),
            max_ms: ms(nearest_rank(&ttlb_us, 100)),
        })
    }
}

/// The `percent`-th percentile of `sorted` (not empty) by nearest rank: its ⌈n·p/100⌉-th
/// smallest value, in integers so that no rounding moves a rank.
fn nearest_rank(sorted: &[u64], percent: usize) -> u64 {
    let rank = (sorted.len() * percent).div_ceil(100).max(1);
    sorted[rank - 1]
}

fn ms(us: u64) -> Millis {
    us as Micros / 1e3
}

/// Failures by key, zero counts left out.
fn failures<'a>(records: impl IntoIterator<Item = &'a RequestRecord>) -> BTreeMap<String, u64> {
    let mut failures = BTreeMap::new();
    for key in records.into_iter().filter_map(|r| r.outcome.failure_key()) {
        *failures.entry(key).or_insert(0) += 1;
    }
    failures
}

/// The times to last byte, µs, of the requests with a complete response.
fn ttlbs<'a>(records: impl IntoIterator<Item = &'a RequestRecord>) -> Vec<u64> {
    records
        .into_iter()
        .filter(|r| matches!(r.outcome, Outcome::Status(_)))
        .map(|r| r.ended_us.saturating_sub(r.started_us))
        .collect()
}

/// The longest time without a 2xx completing and when it began, both in ms.
fn longest_gap(records: &[RequestRecord], duration_us: u64) -> (Millis, Millis) {
    let mut ends: Vec<u64> = records
        .iter()
        .filter(|r| r.outcome.is_success())
        .map(|r| r.ended_us)
        .collect();
    ends.sort_unstable();
    let (Some(&first), Some(&last)) = (ends.first(), ends.last()) else {
        return (ms(duration_us), 0.0);
    };
    let first_end = records.iter().map(|r| r.ended_us).min().unwrap_or(first);
    // (length, start), the first of equal lengths kept.
    let mut longest = (first - first_end, first_end);
    for pair in ends.windows(2) {
        let gap = pair[1] - pair[0];
        if gap > longest.0 {
            longest = (gap, pair[0]);
        }
    }
    let tail = duration_us.saturating_sub(last);
    if tail > longest.0 {
        longest = (tail, last);
    }
    (ms(longest.0), ms(longest.1))
}

/// A [`Bucket`] per [`BUCKET_MS`] from 0 to the duration (at least one), each request in
/// that of its scheduled time, those scheduled past the end in the last.
fn buckets(records: &[RequestRecord], duration_us: u64) -> Vec<Bucket> {
    let width_us = BUCKET_MS * 1000;
    let count = duration_us.div_ceil(width_us).max(1);
    let mut slices: Vec<Vec<&RequestRecord>> = (0..count).map(|_| Vec::new()).collect();
    for record in records {
        let index = (record.scheduled_us / width_us).min(count - 1);
        slices[index as usize].push(record);
    }
    slices
        .into_iter()
        .zip(0..)
        .map(|(slice, i)| {
            let ok = |instance: Option<Instance>| {
                slice
                    .iter()
                    .filter(|r| r.outcome.is_success() && r.instance == instance)
                    .count() as u64
            };
            Bucket {
                start_ms: i * BUCKET_MS,
                blue: ok(Some(Instance::Blue)),
                green: ok(Some(Instance::Green)),
                unattributed: ok(None),
                failed: failures(slice.iter().copied()),
                ttlb: Ttlb::of(ttlbs(slice.iter().copied())),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A request scheduled and started at `at_ms`, ending `ttlb_ms` later.
    fn request(
        at_ms: u64,
        ttlb_ms: u64,
        outcome: Outcome,
        instance: Option<Instance>,
    ) -> RequestRecord {
        RequestRecord {
            scheduled_us: at_ms * 1000,
            started_us: at_ms * 1000,
            ended_us: (at_ms + ttlb_ms) * 1000,
            outcome,
            instance,
        }
    }

    fn blue(at_ms: u64, ttlb_ms: u64) -> RequestRecord {
        request(at_ms, ttlb_ms, Outcome::Status(200), Some(Instance::Blue))
    }

    fn green(at_ms: u64, ttlb_ms: u64) -> RequestRecord {
        request(at_ms, ttlb_ms, Outcome::Status(200), Some(Instance::Green))
    }

    fn error(at_ms: u64, ttlb_ms: u64, kind: ErrorKind) -> RequestRecord {
        request(at_ms, ttlb_ms, Outcome::Error(kind), None)
    }

    fn report(records: &[RequestRecord], duration_ms: u64) -> SwapReport {
        analyse(
            records,
            SwapEvents::default(),
            1000.0,
            Duration::from_millis(duration_ms),
        )
    }

    #[test]
    fn failures_are_keyed_by_error_or_status() {
        assert_eq!(Outcome::Status(200).failure_key(), None);
        assert_eq!(Outcome::Status(204).failure_key(), None);
        assert_eq!(
            Outcome::Status(502).failure_key().as_deref(),
            Some("http-502")
        );
        assert_eq!(
            Outcome::Status(301).failure_key().as_deref(),
            Some("http-301")
        );
        let keys: Vec<String> = ErrorKind::ALL
            .iter()
            .filter_map(|&kind| Outcome::Error(kind).failure_key())
            .collect();
        assert_eq!(keys, ["refused", "reset", "cut", "timeout", "other"]);
        // The key is the JSON name of the kind.
        for kind in ErrorKind::ALL {
            assert_eq!(
                serde_json::to_string(&kind).unwrap(),
                format!("\"{}\"", kind.name())
            );
        }
    }

    #[test]
    fn counts_failures_and_the_achieved_rate() {
        let records = [
            blue(0, 1),
            green(10, 1),
            request(20, 1, Outcome::Status(502), None),
            request(30, 1, Outcome::Status(502), None),
            error(40, 0, ErrorKind::Refused),
            error(50, 3, ErrorKind::Cut),
            request(60, 1, Outcome::Status(200), None),
        ];
        let r = report(&records, 2000);
        assert_eq!((r.sent, r.ok, r.failed), (7, 3, 4));
        assert_eq!(
            r.failures,
            BTreeMap::from([
                ("cut".to_owned(), 1),
                ("http-502".to_owned(), 2),
                ("refused".to_owned(), 1),
            ])
        );
        assert_eq!(r.achieved_rate, 3.5, "7 requests in 2 s");
        assert_eq!(r.target_rate, 1000.0);
        assert_eq!(r.cut_mid_flight, 1);
        assert_eq!(report(&[], 0).achieved_rate, 0.0, "no NaN for no time");
    }

    #[test]
    fn the_longest_gap_at_the_start() {
        // Refused until 400 ms, then a 2xx every 100 ms from 500 ms: the gap runs from the
        // first error's end (1 ms) to the first 2xx's (500 ms).
        let mut records: Vec<RequestRecord> = (0..6).map(|i| blue(490 + i * 100, 10)).collect();
        records.extend((0..5).map(|i| error(i * 100, 1, ErrorKind::Refused)));
        let r = report(&records, 1000);
        assert_eq!((r.longest_gap_ms, r.longest_gap_at_ms), (499.0, 1.0));
        // A healthy start is no gap, however long the first answer takes.
        let healthy: Vec<RequestRecord> = (0..10).map(|i| blue(i * 100, 90)).collect();
        let r = report(&healthy, 1000);
        assert_eq!((r.longest_gap_ms, r.longest_gap_at_ms), (100.0, 90.0));
    }

    #[test]
    fn the_longest_gap_in_the_middle_ignores_failures() {
        let mut records: Vec<RequestRecord> = (0..10).map(|i| blue(i * 100, 1)).collect();
        // Nothing succeeds from 301 ms to 701 ms: 400 ms, whatever the 502s in between.
        records.retain(|r| !(400_000..=600_000).contains(&r.scheduled_us));
        records.push(request(450, 1, Outcome::Status(502), None));
        records.push(error(500, 1, ErrorKind::Reset));
        let r = report(&records, 1000);
        assert_eq!((r.longest_gap_ms, r.longest_gap_at_ms), (400.0, 301.0));
    }

    #[test]
    fn the_longest_gap_at_the_end() {
        // The last 2xx ends at 301 ms of a 1 s load; a 2xx ending after the load's end
        // leaves no tail at all.
        let records = [blue(0, 1), blue(100, 1), blue(200, 1), blue(300, 1)];
        let r = report(&records, 1000);
        assert_eq!((r.longest_gap_ms, r.longest_gap_at_ms), (699.0, 301.0));
        let late = [blue(0, 900), blue(800, 400)];
        let r = report(&late, 1000);
        assert_eq!((r.longest_gap_ms, r.longest_gap_at_ms), (300.0, 900.0));
    }

    #[test]
    fn without_a_2xx_the_gap_is_the_whole_load() {
        let records = [
            error(0, 1, ErrorKind::Refused),
            request(500, 1, Outcome::Status(503), None),
        ];
        let r = report(&records, 3000);
        assert_eq!((r.longest_gap_ms, r.longest_gap_at_ms), (3000.0, 0.0));
        assert_eq!(r.ok, 0);
        assert_eq!(report(&[], 3000).longest_gap_ms, 3000.0);
    }

    #[test]
    fn pinned_to_blue_counts_blue_2xx_started_at_or_after_the_switch() {
        let records = [
            blue(100, 1),
            blue(199, 5), // before the switch: not pinned, though it ends after
            blue(200, 1), // at the switch: pinned
            blue(300, 1),
            green(300, 1),
            request(300, 1, Outcome::Status(502), Some(Instance::Blue)), // no 2xx
        ];
        let events = SwapEvents {
            switch_us: Some(200_000),
            ..SwapEvents::default()
        };
        let r = analyse(&records, events, 1000.0, Duration::from_secs(1));
        assert_eq!(r.pinned_to_blue, 2);
        assert_eq!(r.events.switch_us, Some(200_000), "the events are kept");
        assert_eq!(report(&records, 1000).pinned_to_blue, 0, "no switch");
    }

    #[test]
    fn blue_exit_needs_both_sigterm_and_exit() {
        let events = |sigterm_us, blue_exited_us| SwapEvents {
            sigterm_us,
            blue_exited_us,
            ..SwapEvents::default()
        };
        let exit = |e| analyse(&[], e, 1.0, Duration::from_secs(1)).blue_exit_ms;
        assert_eq!(exit(events(Some(1_000_000), Some(1_012_500))), Some(12.5));
        assert_eq!(exit(events(Some(1_000_000), None)), None);
        assert_eq!(exit(events(None, Some(1_000_000))), None);
    }

    #[test]
    fn buckets_cover_the_load_by_scheduled_time() {
        let records = [
            blue(0, 1),
            blue(99, 1),   // still in the first bucket
            green(100, 1), // the second one begins at 100 ms
            request(150, 1, Outcome::Status(200), None),
            error(120, 1, ErrorKind::Timeout),
            green(1049, 1), // past the end: counted in the last bucket
        ];
        // 1050 ms: 11 buckets, the last one 50 ms long.
        let r = report(&records, 1050);
        let starts: Vec<u64> = r.buckets.iter().map(|b| b.start_ms).collect();
        assert_eq!(starts, (0..11).map(|i| i * 100).collect::<Vec<u64>>());
        let b = &r.buckets;
        assert_eq!((b[0].blue, b[0].green, b[0].unattributed), (2, 0, 0));
        assert_eq!((b[1].blue, b[1].green, b[1].unattributed), (0, 1, 1));
        assert_eq!(b[1].failed, BTreeMap::from([("timeout".to_owned(), 1)]));
        assert!(
            b[2..10]
                .iter()
                .all(|b| b.blue + b.green + b.unattributed == 0
                    && b.failed.is_empty()
                    && b.ttlb.is_none())
        );
        assert_eq!(b[10].green, 1);
        let late = [green(1200, 1)];
        let r = report(&late, 1000);
        assert_eq!(r.buckets.len(), 10);
        assert_eq!(
            r.buckets[9].green, 1,
            "scheduled past the end: the last bucket"
        );
    }

    #[test]
    fn ttlb_percentiles_are_nearest_rank() {
        // 100 answers of 1..=100 ms, shuffled; a connection error has no TTLB.
        let mut records: Vec<RequestRecord> =
            (1..=100).map(|ms| blue((ms * 37) % 100, ms)).collect();
        records.push(error(5, 5000, ErrorKind::Reset));
        let r = report(&records, 1000);
        let ttlb = r.ttlb.unwrap();
        assert_eq!((ttlb.p50_ms, ttlb.p99_ms, ttlb.max_ms), (50.0, 99.0, 100.0));
        // A 502 is an answer: it counts.
        let with_502 = [blue(0, 2), request(0, 7, Outcome::Status(502), None)];
        let ttlb = report(&with_502, 1000).ttlb.unwrap();
        assert_eq!((ttlb.p50_ms, ttlb.p99_ms, ttlb.max_ms), (2.0, 7.0, 7.0));
        // Ten values: p50 is the 5th, p99 the 10th.
        let ten: Vec<u64> = (1..=10).map(|v| v * 1000).collect();
        assert_eq!(
            Ttlb::of(ten),
            Some(Ttlb {
                p50_ms: 5.0,
                p99_ms: 10.0,
                max_ms: 10.0
            })
        );
        assert_eq!(Ttlb::of(vec![1500]).unwrap().p50_ms, 1.5);
        assert_eq!(Ttlb::of(Vec::new()), None);
        assert_eq!(report(&[error(0, 1, ErrorKind::Refused)], 1000).ttlb, None);
    }

    #[test]
    fn the_worst_bucket_is_the_largest_bucket_p99() {
        let records = [blue(0, 1), blue(50, 3), blue(100, 40), blue(250, 8)];
        let r = report(&records, 300);
        let p99: Vec<Option<f64>> = r.buckets.iter().map(|b| b.ttlb.map(|t| t.p99_ms)).collect();
        assert_eq!(p99, [Some(3.0), Some(40.0), Some(8.0)]);
        assert_eq!(r.worst_bucket_p99_ms, Some(40.0));
        assert_eq!(report(&[], 300).worst_bucket_p99_ms, None);
    }

    #[test]
    fn every_request_is_in_exactly_one_bucket() {
        // A pseudo-random mix of outcomes, instances and times, some past the end.
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let outcomes = [
            Outcome::Status(200),
            Outcome::Status(502),
            Outcome::Status(503),
            Outcome::Error(ErrorKind::Refused),
            Outcome::Error(ErrorKind::Reset),
            Outcome::Error(ErrorKind::Cut),
            Outcome::Error(ErrorKind::Timeout),
            Outcome::Error(ErrorKind::Other),
        ];
        let instances = [None, Some(Instance::Blue), Some(Instance::Green)];
        let records: Vec<RequestRecord> = (0..5000)
            .map(|_| {
                let scheduled_us = next(5_200_000);
                let started_us = scheduled_us + next(2000);
                RequestRecord {
                    scheduled_us,
                    started_us,
                    ended_us: started_us + next(300_000),
                    outcome: outcomes[next(outcomes.len() as u64) as usize],
                    instance: instances[next(3) as usize],
                }
            })
            .collect();
        let r = report(&records, 5000);
        assert_eq!(r.buckets.len(), 50);
        let in_buckets: u64 = r
            .buckets
            .iter()
            .map(|b| b.blue + b.green + b.unattributed + b.failed.values().sum::<u64>())
            .sum();
        assert_eq!(in_buckets, r.sent);
        assert_eq!(r.sent, 5000);
        let ok: u64 = r
            .buckets
            .iter()
            .map(|b| b.blue + b.green + b.unattributed)
            .sum();
        assert_eq!(ok, r.ok);
        let mut failures = BTreeMap::new();
        for b in &r.buckets {
            for (key, n) in &b.failed {
                *failures.entry(key.clone()).or_insert(0) += n;
            }
        }
        assert_eq!(failures, r.failures);
        assert_eq!(r.failures.values().sum::<u64>(), r.failed);
    }
}
