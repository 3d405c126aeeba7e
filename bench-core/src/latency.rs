//! Latency distributions: the latency of every 2xx response of a repetition in one HDR
//! histogram (nanoseconds, three significant digits), kept in `results.json` as text (HDR's
//! V2 format, deflated, base64) so the repetitions of a cell, or cells of several runs, merge
//! exactly. Percentiles of a cell come from the merged histogram, never from averaging the
//! percentiles of its repetitions.
//!
//! The same per-request records also give a repetition's timeline: per second of its load,
//! by when requests were sent, the 2xx responses, the other statuses, and p50 and p99 of
//! that second's 2xx latencies.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer as _, V2DeflateSerializer};
use serde::{Deserialize, Serialize};

use crate::units::Micros;

/// Significant decimal digits every histogram keeps: values are exact to 0.1 %.
pub const SIGNIFICANT_DIGITS: u8 = 3;

/// The largest latency a histogram holds: one hour, in nanoseconds. Longer ones are clamped.
pub const HIGHEST_NS: u64 = 3_600_000_000_000;

/// Why a histogram could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum LatencyError {
    #[error("the latency histogram is not base64: {0}")]
    Base64(#[from] base64::DecodeError),
    #[error("the latency histogram is not an HDR V2 histogram: {0}")]
    Hdr(String),
}

/// An empty histogram with benchlab's bounds and precision.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, HIGHEST_NS, SIGNIFICANT_DIGITS)
        .expect("the bounds and precision are valid")
}

/// Records one latency, clamped to the histogram's range.
pub fn record(histogram: &mut Histogram<u64>, latency_ns: u64) {
    histogram.saturating_record(latency_ns.clamp(1, HIGHEST_NS));
}

/// The histogram as text for `results.json`.
pub fn encode(histogram: &Histogram<u64>) -> Result<String, LatencyError> {
    let mut bytes = Vec::new();
    V2DeflateSerializer::new()
        .serialize(histogram, &mut bytes)
        .map_err(|err| LatencyError::Hdr(format!("{err:?}")))?;
    Ok(STANDARD.encode(bytes))
}

/// A histogram read back from [`encode`]'s text.
pub fn decode(text: &str) -> Result<Histogram<u64>, LatencyError> {
    let bytes = STANDARD.decode(text.trim())?;
    let decoded: Histogram<u64> = Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|err| LatencyError::Hdr(format!("{err:?}")))?;
    // Re-bound it so histograms of any origin add up.
    let mut histogram = histogram();
    histogram
        .add(&decoded)
        .map_err(|err| LatencyError::Hdr(format!("{err:?}")))?;
    Ok(histogram)
}

/// The sum of several encoded histograms; `None` when there are none.
pub fn merge<'a>(
    encoded: impl IntoIterator<Item = &'a str>,
) -> Result<Option<Histogram<u64>>, LatencyError> {
    let mut merged: Option<Histogram<u64>> = None;
    for text in encoded {
        let histogram = decode(text)?;
        match &mut merged {
            Some(sum) => sum
                .add(&histogram)
                .map_err(|err| LatencyError::Hdr(format!("{err:?}")))?,
            None => merged = Some(histogram),
        }
    }
    Ok(merged)
}

/// One request as oha recorded it with `--db-url`: when it started, in seconds since oha
/// began, how long it took, and its HTTP status. Connection errors have no record.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Record {
    pub start_secs: f64,
    pub duration_secs: f64,
    pub status: u16,
}

/// One second of a repetition's load, by when requests were sent (as vegeta plots them):
/// second `i` of a timeline holds the requests that started in `[i, i + 1)` s after oha
/// began. Binned by when they ended instead, the last second would hold only the requests
/// in flight at the deadline, a rate of nothing in particular.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Second {
    pub ok_2xx: u64,
    /// Responses with any other status (a failure the server answered).
    pub other_status: u64,
    /// p50 and p99 of this second's 2xx latencies; `None` without a 2xx response.
    pub p50_us: Option<Micros>,
    pub p99_us: Option<Micros>,
}

/// What a repetition's records reduce to: every 2xx latency in one histogram, and the
/// timeline, a [`Second`] for every second up to the last request sent (seconds without
/// one are there, empty).
pub struct Reduced {
    pub histogram: Histogram<u64>,
    pub timeline: Vec<Second>,
}

/// Reduces a repetition's `records`, in any order.
pub fn reduce(records: impl IntoIterator<Item = Record>) -> Reduced {
    let mut all = histogram();
    // Per second: its 2xx histogram and its other statuses.
    let mut seconds: Vec<(Histogram<u64>, u64)> = Vec::new();
    for record in records {
        let second = record.start_secs.max(0.0).floor() as usize;
        if seconds.len() <= second {
            seconds.resize_with(second + 1, || (histogram(), 0));
        }
        if (200..300).contains(&record.status) {
            let ns = (record.duration_secs * 1e9).round() as u64;
            self::record(&mut all, ns);
            self::record(&mut seconds[second].0, ns);
        } else {
            seconds[second].1 += 1;
        }
    }
    let us =
        |h: &Histogram<u64>, q: f64| (!h.is_empty()).then(|| h.value_at_quantile(q) as f64 / 1e3);
    let timeline = seconds
        .iter()
        .map(|(ok, other)| Second {
            ok_2xx: ok.len(),
            other_status: *other,
            p50_us: us(ok, 0.5),
            p99_us: us(ok, 0.99),
        })
        .collect();
    Reduced {
        histogram: all,
        timeline,
    }
}

/// The percentiles a table shows, from one histogram, in microseconds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    /// How many latencies the histogram holds.
    pub count: u64,
    pub p50_us: Micros,
    pub p90_us: Micros,
    pub p99_us: Micros,
    pub p99_9_us: Micros,
    pub max_us: Micros,
}

impl Percentiles {
    /// The percentiles of `histogram`; `None` when it is empty.
    pub fn of(histogram: &Histogram<u64>) -> Option<Percentiles> {
        if histogram.is_empty() {
            return None;
        }
        let us = |ns: u64| ns as f64 / 1e3;
        let at = |quantile: f64| us(histogram.value_at_quantile(quantile));
        Some(Percentiles {
            count: histogram.len(),
            p50_us: at(0.5),
            p90_us: at(0.9),
            p99_us: at(0.99),
            p99_9_us: at(0.999),
            max_us: us(histogram.max()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_survive_the_text_and_merge_exactly() {
        let mut fast = histogram();
        for i in 0..990u64 {
            record(&mut fast, 100_000 + i * 10); // 100–110 µs
        }
        let mut slow = histogram();
        for _ in 0..10 {
            record(&mut slow, 50_000_000); // 50 ms stalls
        }
        let text = encode(&fast).unwrap();
        let back = decode(&text).unwrap();
        assert_eq!(back.len(), 990);
        assert_eq!(back.max(), fast.max());

        let merged = merge([text.as_str(), encode(&slow).unwrap().as_str()])
            .unwrap()
            .unwrap();
        let p = Percentiles::of(&merged).unwrap();
        assert_eq!(p.count, 1000);
        assert!((p.p50_us - 105.0).abs() < 0.5, "{p:?}");
        // 1 % of requests stalled: p99 sits at the last fast one, p99.9 at the stall.
        assert!(p.p99_us < 111.0, "{p:?}");
        assert!((p.p99_9_us - 50_000.0).abs() < 50.0, "{p:?}");
        assert!((p.max_us - 50_000.0).abs() < 50.0, "{p:?}");

        assert!(merge([]).unwrap().is_none());
        assert!(Percentiles::of(&histogram()).is_none());
        assert!(decode("not base64!").is_err());
        assert!(decode("aGVsbG8=").is_err());
    }

    #[test]
    fn out_of_range_latencies_are_clamped_not_lost() {
        let mut h = histogram();
        record(&mut h, 0);
        record(&mut h, u64::MAX);
        assert_eq!(h.len(), 2);
    }

    #[test]
    fn records_reduce_to_one_histogram_and_a_second_by_second_timeline() {
        let ok = |start_secs: f64, ms: f64| Record {
            start_secs,
            duration_secs: ms / 1e3,
            status: 200,
        };
        let records = [
            ok(0.2, 1.0),
            ok(0.9, 3.0),
            Record {
                start_secs: 0.95,
                duration_secs: 0.002,
                status: 503,
            },
            // Nothing ends in second 1.
            ok(2.5, 10.0),
        ];
        let Reduced {
            histogram,
            timeline,
        } = reduce(records);
        assert_eq!(histogram.len(), 3, "2xx only");
        let counts: Vec<(u64, u64)> = timeline
            .iter()
            .map(|s| (s.ok_2xx, s.other_status))
            .collect();
        assert_eq!(counts, [(2, 1), (0, 0), (1, 0)]);
        let p99 = timeline[0].p99_us.unwrap();
        assert!((p99 - 3000.0).abs() < 3.0, "{p99}");
        assert_eq!(timeline[1].p50_us, None);
        assert!((timeline[2].p50_us.unwrap() - 10_000.0).abs() < 10.0);
        assert!(reduce([]).timeline.is_empty());
    }
}
