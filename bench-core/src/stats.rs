//! Statistics over repetitions: median and range, mean, sample standard deviation,
//! coefficient of variation, MAD-based outlier detection, and a distribution-free confidence
//! interval for the median. Robust measures (median, MAD, order statistics) lead, since a
//! benchmark's bad repetitions are rarely symmetric noise.

use serde::{Deserialize, Serialize};

/// The modified z-score beyond which a value is an outlier: 3.5, as recommended by Iglewicz
/// and Hoaglin, "How to Detect and Handle Outliers" (ASQC, 1993).
pub const OUTLIER_Z: f64 = 3.5;

/// The factor of the modified z-score: Φ⁻¹(0.75), which makes the MAD of a normal sample
/// estimate its standard deviation (Iglewicz and Hoaglin, 1993).
const Z_FACTOR: f64 = 0.6745;

/// The confidence the intervals aim for: 95 %.
pub const CONFIDENCE: f64 = 0.95;

/// The fewest values the MAD outlier test runs on: with three or four, almost any lopsided
/// set has a value beyond the threshold, so the test would flag noise.
pub const MIN_OUTLIER_SAMPLE: usize = 5;

/// The method of [`Sample::median_interval`], named wherever an interval is shown.
pub const INTERVAL_METHOD: &str =
    "distribution-free order-statistic interval for the median (binomial, coverage at least 95 %)";

/// Why a set of values is no sample.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum SampleError {
    #[error("no values: a sample needs at least one")]
    Empty,
    #[error("value {index} is {value}: a sample holds finite numbers only")]
    NotFinite { index: usize, value: f64 },
}

/// A non-empty set of finite measurements, in the order they were taken.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    values: Vec<f64>,
    sorted: Vec<f64>,
}

impl Sample {
    /// A sample of `values`: at least one, each finite.
    pub fn new(values: Vec<f64>) -> Result<Sample, SampleError> {
        if values.is_empty() {
            return Err(SampleError::Empty);
        }
        if let Some((index, &value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(SampleError::NotFinite { index, value });
        }
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        Ok(Sample { values, sorted })
    }

    /// The values in the order they were measured.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// How many values; never 0.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Always false: a sample has at least one value.
    pub fn is_empty(&self) -> bool {
        false
    }

    pub fn min(&self) -> f64 {
        self.sorted[0]
    }

    pub fn max(&self) -> f64 {
        self.sorted[self.sorted.len() - 1]
    }

    pub fn mean(&self) -> f64 {
        self.values.iter().sum::<f64>() / self.len() as f64
    }

    /// The middle value; the mean of the two middle values for an even count.
    pub fn median(&self) -> f64 {
        median_of_sorted(&self.sorted)
    }

    /// The sample standard deviation (n − 1 in the denominator); `None` for a single value.
    pub fn stddev(&self) -> Option<f64> {
        let n = self.len();
        if n < 2 {
            return None;
        }
        let mean = self.mean();
        let squares: f64 = self.values.iter().map(|v| (v - mean).powi(2)).sum();
        Some((squares / (n - 1) as f64).sqrt())
    }

    /// The coefficient of variation, standard deviation over mean, as a fraction (0.05 is
    /// 5 %). `None` for a single value or a mean of 0, where it means nothing.
    pub fn cv(&self) -> Option<f64> {
        let mean = self.mean();
        if mean == 0.0 {
            return None;
        }
        self.stddev().map(|sd| sd / mean.abs())
    }

    /// The median absolute deviation from the median (unscaled).
    pub fn mad(&self) -> f64 {
        let median = self.median();
        let mut deviations: Vec<f64> = self.values.iter().map(|v| (v - median).abs()).collect();
        deviations.sort_by(f64::total_cmp);
        median_of_sorted(&deviations)
    }

    /// Each value's modified z-score, 0.6745·(x − median)/MAD; `None` when the MAD is 0
    /// (at least half the values are equal), where the score is undefined.
    pub fn modified_z_scores(&self) -> Option<Vec<f64>> {
        let mad = self.mad();
        if mad == 0.0 {
            return None;
        }
        let median = self.median();
        Some(
            self.values
                .iter()
                .map(|v| Z_FACTOR * (v - median) / mad)
                .collect(),
        )
    }

    /// The indices of values whose modified z-score exceeds [`OUTLIER_Z`] in magnitude, in
    /// measurement order. None when the MAD is 0, or for fewer than [`MIN_OUTLIER_SAMPLE`]
    /// values. Outliers are reported, never dropped: every summary still uses every value.
    pub fn outliers(&self) -> Vec<usize> {
        if self.len() < MIN_OUTLIER_SAMPLE {
            return Vec::new();
        }
        let Some(scores) = self.modified_z_scores() else {
            return Vec::new();
        };
        scores
            .iter()
            .enumerate()
            .filter(|(_, z)| z.abs() > OUTLIER_Z)
            .map(|(i, _)| i)
            .collect()
    }

    /// A confidence interval for the median that assumes nothing about the distribution:
    /// `[x(k), x(n+1-k)]` of the sorted values, with the largest `k` whose coverage,
    /// 1 − 2·P(B ≤ k − 1) for B ~ Binomial(n, ½), is still at least `confidence`. `None` when
    /// even `[min, max]` falls short: below 6 values for 95 % (5 give 93.75 %).
    pub fn median_interval(&self, confidence: f64) -> Option<Interval> {
        let n = self.len();
        let mut best = None;
        // P(B ≤ j) accumulated term by term; k = j + 1 is the 1-based lower index.
        let mut cumulative = 0.0;
        for j in 0..n / 2 {
            cumulative += binomial_half(n, j);
            let coverage = 1.0 - 2.0 * cumulative;
            if coverage < confidence {
                break;
            }
            best = Some(Interval {
                low: self.sorted[j],
                high: self.sorted[n - 1 - j],
                coverage,
            });
        }
        best
    }

    /// The summary results carry: median, range and CV.
    pub fn spread(&self) -> Spread {
        Spread {
            median: self.median(),
            min: self.min(),
            max: self.max(),
            cv: self.cv(),
        }
    }
}

/// P(B = j) for B ~ Binomial(n, ½).
fn binomial_half(n: usize, j: usize) -> f64 {
    let mut choose = 1.0;
    for i in 0..j {
        choose = choose * (n - i) as f64 / (i + 1) as f64;
    }
    choose * 0.5f64.powi(n as i32)
}

/// A confidence interval and the coverage it really has (order-statistic intervals cover at
/// least the confidence asked for, usually more).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
    /// As a fraction: 0.969 for six values.
    pub coverage: f64,
}

impl Interval {
    /// Whether `value` lies inside, bounds included.
    pub fn contains(&self, value: f64) -> bool {
        self.low <= value && value <= self.high
    }
}

fn median_of_sorted(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// A quantity over repetitions: the median, with the range and the coefficient of variation
/// that say how far to trust it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    /// Standard deviation over mean, as a fraction; `None` for one repetition.
    pub cv: Option<f64>,
}

impl Spread {
    /// The spread of `values`, or `None` when there are none or one is not finite.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Option<Spread> {
        Sample::new(values.into_iter().collect())
            .ok()
            .map(|s| s.spread())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(values: &[f64]) -> Sample {
        Sample::new(values.to_vec()).unwrap()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn empty_and_non_finite_samples_are_refused() {
        assert_eq!(Sample::new(vec![]), Err(SampleError::Empty));
        let err = Sample::new(vec![1.0, f64::NAN]).unwrap_err();
        assert!(matches!(err, SampleError::NotFinite { index: 1, .. }));
        assert_eq!(
            Sample::new(vec![f64::INFINITY]).unwrap_err().to_string(),
            "value 0 is inf: a sample holds finite numbers only"
        );
        assert_eq!(Spread::of([]), None);
    }

    #[test]
    fn order_statistics() {
        let s = sample(&[3.0, 1.0, 2.0]);
        assert_eq!((s.min(), s.median(), s.max()), (1.0, 2.0, 3.0));
        assert_eq!(s.values(), [3.0, 1.0, 2.0], "measurement order is kept");
        assert_eq!(sample(&[4.0, 1.0, 3.0, 2.0]).median(), 2.5);
        assert_eq!(sample(&[7.0]).median(), 7.0);
    }

    #[test]
    fn mean_stddev_and_cv() {
        // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, squares sum 32, sample variance 32/7.
        let s = sample(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
        assert_eq!(s.mean(), 5.0);
        assert!(close(s.stddev().unwrap(), (32.0f64 / 7.0).sqrt()));
        assert!(close(s.cv().unwrap(), (32.0f64 / 7.0).sqrt() / 5.0));
        assert_eq!(sample(&[5.0]).stddev(), None);
        assert_eq!(sample(&[5.0]).cv(), None);
        assert_eq!(sample(&[0.0, 0.0]).cv(), None);
        assert_eq!(sample(&[3.0, 3.0, 3.0]).cv(), Some(0.0));
    }

    #[test]
    fn mad_and_outliers() {
        let s = sample(&[10.0, 11.0, 9.0, 10.0, 10.5, 30.0]);
        // Median 10.25; deviations 0.25 0.75 1.25 0.25 0.25 19.75 → MAD 0.5.
        assert_eq!(s.mad(), 0.5);
        assert_eq!(s.outliers(), [5]);

        // Half the values equal: MAD 0, no score, nothing flagged.
        assert_eq!(
            sample(&[1.0, 1.0, 1.0, 50.0]).outliers(),
            Vec::<usize>::new()
        );
        assert_eq!(sample(&[1.0, 1.0, 1.0, 50.0]).modified_z_scores(), None);

        // Five repetitions, one far off.
        assert_eq!(sample(&[100.0, 101.0, 99.5, 100.5, 80.0]).outliers(), [4]);
        // Below five, no test: three lopsided values with a CV of 1 % are no outlier.
        assert_eq!(
            sample(&[100.0, 100.2, 98.0]).outliers(),
            Vec::<usize>::new()
        );
        assert_eq!(
            sample(&[100.0, 101.0, 80.0]).outliers(),
            Vec::<usize>::new()
        );
    }

    #[test]
    fn median_intervals_from_order_statistics() {
        // Five values cannot reach 95 %: [min, max] covers 1 − 2/32 = 93.75 %.
        assert_eq!(
            sample(&[1.0, 2.0, 3.0, 4.0, 5.0]).median_interval(0.95),
            None
        );
        let six = sample(&[6.0, 1.0, 5.0, 2.0, 4.0, 3.0])
            .median_interval(0.95)
            .unwrap();
        assert_eq!((six.low, six.high), (1.0, 6.0));
        assert!(close(six.coverage, 1.0 - 2.0 / 64.0));
        // Nine: P(B ≤ 1) = 10/512, so [x(2), x(8)] at 96.1 %; [x(3), x(7)] would be 82 %.
        let nine = sample(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0])
            .median_interval(0.95)
            .unwrap();
        assert_eq!((nine.low, nine.high), (2.0, 8.0));
        assert!(close(nine.coverage, 1.0 - 20.0 / 512.0));
        assert!(nine.contains(2.0) && nine.contains(5.0) && !nine.contains(8.5));
        // Twenty: the textbook interval is [x(6), x(15)], coverage 95.86 %.
        let twenty = Sample::new((1..=20).map(f64::from).collect())
            .unwrap()
            .median_interval(0.95)
            .unwrap();
        assert_eq!((twenty.low, twenty.high), (6.0, 15.0));
        assert!((twenty.coverage - 0.9586).abs() < 1e-4);
    }

    #[test]
    fn spreads_summarise_a_sample() {
        let spread = Spread::of([90.0, 110.0, 100.0]).unwrap();
        assert_eq!(
            (spread.median, spread.min, spread.max),
            (100.0, 90.0, 110.0)
        );
        assert!(close(spread.cv.unwrap(), 0.1));
    }
}
