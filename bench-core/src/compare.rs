//! Comparisons that hold despite drift: within a run, cells of a comparison group (the same
//! quota, endpoint and load) ran their repetitions in interleaved rounds, so repetition r of
//! one cell and repetition r of another ran minutes apart at most and saw the same machine.
//! Each comparison is the median of the per-round ratios, with an order-statistic interval;
//! a difference is called one only when that interval excludes 1 (with twelve rounds, when
//! ten of them agree: a sign test at p ≈ 0.04; with six, when all six do, p ≈ 0.03).
//!
//! Between runs, [`reproducibility`] sets two runs' cells and pairwise orders side by side.

use std::cmp::Ordering;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::catalog::{Framework, Generator, Packaging};
use crate::plan::GroupKey;
use crate::results::{CellResult, Outcome, Provenance, Repetition, RunResults};
use crate::stats::{CONFIDENCE, INTERVAL_METHOD, Interval, Sample};

/// The framework every other is expressed against: plain hyper, the no-framework baseline.
pub const BASELINE: Framework = Framework::Hyper;

/// One cell's 2xx rate over another's, round by round.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PairedRatio {
    /// Rounds in which both cells have a repetition.
    pub rounds: usize,
    /// The median of the per-round ratios.
    pub median: f64,
    /// Its interval; `None` with too few rounds.
    pub interval: Option<Interval>,
}

impl PairedRatio {
    /// How the first cell relates to the second.
    pub fn relation(&self) -> Relation {
        match self.interval {
            None => Relation::Unknown,
            Some(interval) if interval.low > 1.0 => Relation::Faster,
            Some(interval) if interval.high < 1.0 => Relation::Slower,
            Some(_) => Relation::NoSignificantDifference,
        }
    }
}

/// What the interval of a paired ratio allows one to say.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Relation {
    /// Significantly faster: the whole interval lies above 1.
    Faster,
    /// Significantly slower: the whole interval lies below 1.
    Slower,
    /// The interval holds 1.
    NoSignificantDifference,
    /// Too few rounds for an interval.
    Unknown,
}

impl Relation {
    /// Its name in CSV and JSON: `faster`, `slower`, `no-significant-difference`,
    /// `unknown`.
    pub fn name(self) -> &'static str {
        match self {
            Relation::Faster => "faster",
            Relation::Slower => "slower",
            Relation::NoSignificantDifference => "no-significant-difference",
            Relation::Unknown => "unknown",
        }
    }
}

/// `a`'s 2xx rate over `b`'s, paired by round; `None` when they share no round.
pub fn paired(a: &CellResult, b: &CellResult) -> Option<PairedRatio> {
    paired_by(a, b, |r| Some(r.load.rate_2xx))
}

/// A comparison group of a run: its members against the baseline, and its ranking.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupComparison {
    pub group: GroupKey,
    /// The generator of its cells: a cross-check's cells are ranked apart, each generator
    /// with its own.
    #[serde(default, skip_serializing_if = "Generator::is_oha")]
    pub generator: Generator,
    /// [`GroupKey::id`].
    pub id: String,
    /// Measured cells, in matrix order.
    pub members: Vec<Member>,
    /// Measured cells from the fastest median to the slowest, each with how it relates to
    /// the next.
    pub ranking: Vec<Rank>,
}

/// One measured cell of a group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Member {
    pub id: String,
    pub framework: Framework,
    pub base: Packaging,
    /// The baseline cell: [`BASELINE`] on the same base in the same group, when measured.
    pub baseline: Option<String>,
    /// Its rate over the baseline's, by round (1.0 for the baseline itself).
    pub relative: Option<PairedRatio>,
}

/// A place in a group's ranking.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rank {
    pub id: String,
    pub framework: Framework,
    pub base: Packaging,
    /// Its median 2xx rate.
    pub median: f64,
    /// Against the next in the ranking; `None` for the last.
    pub versus_next: Option<Relation>,
}

fn measured(cell: &CellResult) -> bool {
    cell.outcome == Outcome::Measured && cell.summary.is_some()
}

/// The comparison groups of `cells` by generator, in the order their first cell appears;
/// only measured closed-loop cells take part (a fixed-rate cell's rate is its target, which
/// ranks nothing).
pub fn comparisons(cells: &[CellResult]) -> Vec<GroupComparison> {
    let mut groups: Vec<((GroupKey, Generator), Vec<&CellResult>)> = Vec::new();
    for cell in cells
        .iter()
        .filter(|c| measured(c) && c.cell.rate.is_none())
    {
        let key = (cell.cell.group(), cell.cell.generator);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, members)) => members.push(cell),
            None => groups.push((key, vec![cell])),
        }
    }
    groups
        .into_iter()
        .map(|((group, generator), cells)| compare_group(group, generator, &cells))
        .collect()
}

fn compare_group(group: GroupKey, generator: Generator, cells: &[&CellResult]) -> GroupComparison {
    let members = cells
        .iter()
        .map(|cell| {
            let baseline = cells
                .iter()
                .find(|b| b.cell.framework == BASELINE && b.cell.base == cell.cell.base);
            Member {
                id: cell.id.clone(),
                framework: cell.cell.framework,
                base: cell.cell.base,
                baseline: baseline.map(|b| b.id.clone()),
                relative: baseline.and_then(|b| paired(cell, b)),
            }
        })
        .collect();
    let mut sorted: Vec<&CellResult> = cells.to_vec();
    sorted.sort_by(|a, b| median_rate(b).total_cmp(&median_rate(a)));
    let ranking = sorted
        .iter()
        .enumerate()
        .map(|(i, cell)| Rank {
            id: cell.id.clone(),
            framework: cell.cell.framework,
            base: cell.cell.base,
            median: median_rate(cell),
            versus_next: sorted
                .get(i + 1)
                .map(|next| paired(cell, next).map_or(Relation::Unknown, |r| r.relation())),
        })
        .collect();
    GroupComparison {
        id: group.id(),
        group,
        generator,
        members,
        ranking,
    }
}

fn median_rate(cell: &CellResult) -> f64 {
    cell.summary.as_ref().map_or(0.0, |s| s.rate_2xx.median)
}

/// One service loaded by both generators in the same rounds: the cross-check.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CrossCheck {
    /// The cell loaded by the run's generator, and its twin loaded by the other.
    pub cell: String,
    pub twin: String,
    pub generator: Generator,
    pub twin_generator: Generator,
    /// The twin's 2xx rate over the cell's, round by round.
    pub rate: PairedRatio,
    /// The twin's p99 over the cell's, round by round (each repetition's own p99).
    pub p99: Option<PairedRatio>,
    /// Server CPU µs per 2xx request under each, the medians over the rounds.
    pub cpu_us_per_request: Option<(f64, f64)>,
    /// The twin's server CPU per request over the cell's, round by round.
    pub cpu_per_request: Option<PairedRatio>,
    /// Generator CPU µs per 2xx request under each, the medians over the rounds.
    pub generator_cpu_us_per_request: Option<(f64, f64)>,
}

/// The cross-checks among `cells`: every measured cell paired with its measured twin, the
/// same cell loaded by the other generator.
pub fn cross_checks(cells: &[CellResult]) -> Vec<CrossCheck> {
    let mut checks = Vec::new();
    // Each pair once, from the oha side.
    for cell in cells
        .iter()
        .filter(|c| measured(c) && c.cell.generator == Generator::Oha)
    {
        let Some(twin) = cells.iter().find(|t| {
            measured(t)
                && t.cell.generator != cell.cell.generator
                && t.cell.id() != cell.cell.id()
                && crate::plan::Cell {
                    generator: cell.cell.generator,
                    ..t.cell.clone()
                } == cell.cell
        }) else {
            continue;
        };
        let Some(rate) = paired(twin, cell) else {
            continue;
        };
        let medians = |f: fn(&Repetition) -> Option<f64>| {
            let median = |c: &CellResult| {
                let values: Option<Vec<f64>> = c.repetitions.iter().map(f).collect();
                Sample::new(values?).ok().map(|s| s.median())
            };
            median(cell).zip(median(twin))
        };
        checks.push(CrossCheck {
            cell: cell.id.clone(),
            twin: twin.id.clone(),
            generator: cell.cell.generator,
            twin_generator: twin.cell.generator,
            rate,
            p99: paired_by(twin, cell, Repetition::p99_us),
            cpu_us_per_request: medians(server_us_per_request),
            cpu_per_request: paired_by(twin, cell, server_us_per_request),
            generator_cpu_us_per_request: medians(generator_us_per_request),
        });
    }
    checks
}

/// The server's CPU µs per 2xx response; `None` without a 2xx or when the server's usage
/// was not measured (the ecs backend), so that comparisons skip the repetition.
fn server_us_per_request(r: &Repetition) -> Option<f64> {
    r.server.as_ref()?.cpu_us_per_ok_request
}

/// The generator's CPU µs per 2xx response over its window.
fn generator_us_per_request(r: &Repetition) -> Option<f64> {
    (r.load.ok_2xx > 0).then(|| {
        r.generator.cpu_percent / 100.0 * r.load.measured_secs * 1e6 / r.load.ok_2xx as f64
    })
}

/// `value` of `a` over that of `b`, paired by round; `None` when they share no round with
/// both values.
fn paired_by(
    a: &CellResult,
    b: &CellResult,
    value: impl Fn(&Repetition) -> Option<f64>,
) -> Option<PairedRatio> {
    let ratios: Vec<f64> = a
        .repetitions
        .iter()
        .filter_map(|ra| {
            let rb = b.repetitions.iter().find(|rb| rb.round == ra.round)?;
            let (va, vb) = (value(ra)?, value(rb)?);
            (vb > 0.0).then(|| va / vb)
        })
        .collect();
    let sample = Sample::new(ratios).ok()?;
    Some(PairedRatio {
        rounds: sample.len(),
        median: sample.median(),
        interval: sample.median_interval(CONFIDENCE),
    })
}

impl GroupComparison {
    /// The member of cell `id`.
    pub fn member(&self, id: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.id == id)
    }

    /// The ranking in one line: `actix-web > hyper ≈ axum`, where `>` is a significant
    /// difference, `≈` none and `?` too few rounds to say. Bases are named when the group
    /// holds more than one.
    pub fn ranking_line(&self) -> String {
        let several_bases = self.ranking.iter().any(|r| r.base != self.ranking[0].base);
        let mut line = String::new();
        for rank in &self.ranking {
            if several_bases {
                let _ = write!(line, "{} ({})", rank.framework, rank.base);
            } else {
                let _ = write!(line, "{}", rank.framework);
            }
            line.push_str(match rank.versus_next {
                Some(Relation::Faster | Relation::Slower) => " > ",
                Some(Relation::NoSignificantDifference) => " ≈ ",
                Some(Relation::Unknown) => " ? ",
                None => "",
            });
        }
        line
    }
}

/// One cell in two runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CellDiff {
    pub id: String,
    pub framework: Framework,
    /// Median 2xx rates.
    pub first: f64,
    pub second: f64,
    /// (second − first) / first, in percent.
    pub difference_percent: f64,
    /// Percent of the baseline in each run, when both have it.
    pub first_of_baseline: Option<f64>,
    pub second_of_baseline: Option<f64>,
}

/// A pair of cells of one group, in two runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PairCheck {
    pub group: String,
    pub a: String,
    pub b: String,
    pub first: Relation,
    pub second: Relation,
    /// Whether the medians' order is the same in both runs.
    pub same_order: bool,
}

impl PairCheck {
    fn significant(relation: Relation) -> bool {
        matches!(relation, Relation::Faster | Relation::Slower)
    }

    /// Significant in both runs, in opposite directions.
    pub fn reversed_significantly(&self) -> bool {
        Self::significant(self.first) && Self::significant(self.second) && self.first != self.second
    }
}

/// Two runs of the same matrix, side by side.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reproducibility {
    pub first: String,
    pub second: String,
    /// Cells measured in both, in the first run's order.
    pub cells: Vec<CellDiff>,
    /// The median of |difference| over `cells`, in percent.
    pub median_abs_difference_percent: Option<f64>,
    /// The median of |difference| of percent-of-baseline, in percentage points.
    pub median_abs_baseline_difference_points: Option<f64>,
    /// Every pair of cells within a group measured in both runs.
    pub pairs: Vec<PairCheck>,
}

/// Compares `second` with `first`, named `first_name` and `second_name` in the output.
pub fn reproducibility(
    first_name: &str,
    first: &RunResults,
    second_name: &str,
    second: &RunResults,
) -> Reproducibility {
    let find = |run: &RunResults, id: &str| {
        run.cells
            .iter()
            .find(|c| c.id == id && measured(c))
            .cloned()
    };
    let of_baseline = |run: &RunResults, id: &str| {
        run.comparisons
            .iter()
            .find_map(|g| g.member(id))
            .and_then(|m| m.relative)
            .map(|r| r.median * 100.0)
    };
    let mut cells = Vec::new();
    for a in first.cells.iter().filter(|c| measured(c)) {
        let Some(b) = find(second, &a.id) else {
            continue;
        };
        let (x, y) = (median_rate(a), median_rate(&b));
        cells.push(CellDiff {
            id: a.id.clone(),
            framework: a.cell.framework,
            first: x,
            second: y,
            difference_percent: (y - x) / x * 100.0,
            first_of_baseline: of_baseline(first, &a.id),
            second_of_baseline: of_baseline(second, &a.id),
        });
    }
    let median_abs = |values: Vec<f64>| Sample::new(values).ok().map(|s| s.median());
    let median_abs_difference_percent =
        median_abs(cells.iter().map(|c| c.difference_percent.abs()).collect());
    let median_abs_baseline_difference_points = median_abs(
        cells
            .iter()
            .filter(|c| c.framework != BASELINE)
            .filter_map(|c| Some((c.second_of_baseline? - c.first_of_baseline?).abs()))
            .collect(),
    );

    let mut pairs = Vec::new();
    for group in &first.comparisons {
        for (i, a) in group.members.iter().enumerate() {
            for b in &group.members[i + 1..] {
                let in_run = |run: &RunResults| -> Option<(Relation, f64, f64)> {
                    let (ca, cb) = (find(run, &a.id)?, find(run, &b.id)?);
                    let relation = paired(&ca, &cb).map_or(Relation::Unknown, |r| r.relation());
                    Some((relation, median_rate(&ca), median_rate(&cb)))
                };
                let (Some((r1, a1, b1)), Some((r2, a2, b2))) = (in_run(first), in_run(second))
                else {
                    continue;
                };
                pairs.push(PairCheck {
                    group: group.id.clone(),
                    a: a.id.clone(),
                    b: b.id.clone(),
                    first: r1,
                    second: r2,
                    same_order: a1.total_cmp(&b1) == a2.total_cmp(&b2)
                        || a1.total_cmp(&b1) == Ordering::Equal,
                });
            }
        }
    }
    Reproducibility {
        first: first_name.to_owned(),
        second: second_name.to_owned(),
        cells,
        median_abs_difference_percent,
        median_abs_baseline_difference_points,
        pairs,
    }
}

impl Reproducibility {
    /// Pairs significant in the first run.
    pub fn significant_first(&self) -> Vec<&PairCheck> {
        self.pairs
            .iter()
            .filter(|p| PairCheck::significant(p.first))
            .collect()
    }

    /// The comparison as markdown: a row per cell, then what happened to every ordering the
    /// first run called significant.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# Reproducibility: `{}` then `{}`\n",
            self.first, self.second
        );
        out.push_str("| cell | first req/s | second req/s | difference | % of hyper, first | % of hyper, second |\n");
        out.push_str("| --- | ---: | ---: | ---: | ---: | ---: |\n");
        let percent = |v: Option<f64>| v.map_or_else(|| "–".to_owned(), |v| format!("{v:.1} %"));
        for cell in &self.cells {
            let _ = writeln!(
                out,
                "| `{}` | {:.0} | {:.0} | {:+.1} % | {} | {} |",
                cell.id,
                cell.first,
                cell.second,
                cell.difference_percent,
                percent(cell.first_of_baseline),
                percent(cell.second_of_baseline)
            );
        }
        out.push('\n');
        if let Some(median) = self.median_abs_difference_percent {
            let _ = writeln!(
                out,
                "Median absolute difference of the median 2xx rate over {} cells: {median:.1} %.",
                self.cells.len()
            );
        }
        if let Some(points) = self.median_abs_baseline_difference_points {
            let _ = writeln!(
                out,
                "Median absolute difference of % of hyper: {points:.1} percentage points."
            );
        }
        let significant = self.significant_first();
        let held = significant.iter().filter(|p| p.first == p.second).count();
        let still_same_order = significant.iter().filter(|p| p.same_order).count();
        let reversed: Vec<&&PairCheck> = significant
            .iter()
            .filter(|p| p.reversed_significantly())
            .collect();
        let _ = writeln!(
            out,
            "\nOf {} pairs of cells compared within a group, the first run called {} significantly different ({}). In the second run {} of those kept the same order of medians, {} stayed significant in the same direction, and {} reversed significantly.",
            self.pairs.len(),
            significant.len(),
            INTERVAL_METHOD,
            still_same_order,
            held,
            reversed.len()
        );
        for pair in reversed {
            let _ = writeln!(out, "- reversed: `{}` vs `{}`", pair.a, pair.b);
        }
        let flipped: Vec<&&PairCheck> = significant.iter().filter(|p| !p.same_order).collect();
        for pair in flipped {
            let _ = writeln!(
                out,
                "- order of medians changed: `{}` vs `{}` ({} then {})",
                pair.a,
                pair.b,
                pair.first.name(),
                pair.second.name()
            );
        }
        out
    }
}

/// The default noise band of [`compare_runs`]: changes within ±5 % are not called changes.
pub const DEFAULT_THRESHOLD: f64 = 0.05;

/// The method of [`shift`], named wherever a change between runs is shown.
pub const SHIFT_METHOD: &str = "Hodges-Lehmann estimate of the ratio (the median of all pairwise ratios of the two runs' repetitions) with its distribution-free 95 % interval from the Mann-Whitney U distribution (normal approximation)";

/// How much `new` differs from `base`, as a ratio: the Hodges–Lehmann estimate (the median
/// of every `new[j] / base[i]`, taken on a log scale) with its 95 % interval, the order
/// statistics of those ratios at the Mann–Whitney critical value. The interval excludes 1
/// exactly when a two-sided Mann–Whitney test rejects "no shift" at 5 %. `None` without
/// positive values on both sides; no interval when the samples are too small for one.
pub fn shift(base: &[f64], new: &[f64]) -> Option<PairedRatio> {
    let base: Vec<f64> = base.iter().copied().filter(|v| *v > 0.0).collect();
    let new: Vec<f64> = new.iter().copied().filter(|v| *v > 0.0).collect();
    if base.is_empty() || new.is_empty() {
        return None;
    }
    let mut logs: Vec<f64> = new
        .iter()
        .flat_map(|n| base.iter().map(move |b| (n / b).ln()))
        .collect();
    logs.sort_by(f64::total_cmp);
    let median = Sample::new(logs.clone()).ok()?.median().exp();
    let (m, n) = (base.len() as f64, new.len() as f64);
    let pairs = logs.len();
    // The lower critical value of U at 5 %, two-sided: mn/2 − 1.96·√(mn(m+n+1)/12).
    let critical = (m * n / 2.0 - 1.96 * (m * n * (m + n + 1.0) / 12.0).sqrt()).floor();
    let interval = (critical >= 1.0).then(|| {
        let k = critical as usize;
        Interval {
            low: logs[k - 1].exp(),
            high: logs[pairs - k].exp(),
            coverage: CONFIDENCE,
        }
    });
    Some(PairedRatio {
        rounds: base.len().min(new.len()),
        median,
        interval,
    })
}

/// What a change between runs is called.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// The whole interval of the change lies above +threshold.
    Faster,
    /// The whole interval lies below −threshold.
    Slower,
    /// The interval excludes no change but reaches into the noise band.
    WithinNoise,
    /// The interval holds no change.
    NoSignificantChange,
    /// Too few repetitions for an interval.
    Unknown,
}

impl Verdict {
    /// The verdict on a rate's change (higher is better) with noise band `threshold`.
    pub fn of(change: &PairedRatio, threshold: f64) -> Verdict {
        let Some(interval) = change.interval else {
            return Verdict::Unknown;
        };
        if interval.low > 1.0 + threshold {
            Verdict::Faster
        } else if interval.high < 1.0 - threshold {
            Verdict::Slower
        } else if interval.low > 1.0 || interval.high < 1.0 {
            Verdict::WithinNoise
        } else {
            Verdict::NoSignificantChange
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Verdict::Faster => "faster",
            Verdict::Slower => "slower",
            Verdict::WithinNoise => "within noise",
            Verdict::NoSignificantChange => "no significant change",
            Verdict::Unknown => "unknown",
        }
    }
}

/// One cell in a base run and a new run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CellChange {
    pub id: String,
    /// Median 2xx rates.
    pub base_rate: f64,
    pub new_rate: f64,
    /// New over base, per [`shift`]: the 2xx rate, p99 and CPU µs per request.
    pub rate: Option<PairedRatio>,
    pub p99: Option<PairedRatio>,
    pub cpu_per_request: Option<PairedRatio>,
    /// On the 2xx rate.
    pub verdict: Verdict,
}

/// Two runs compared cell by cell, for a person or a CI gate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunComparison {
    pub base: String,
    pub new: String,
    /// The noise band, as a fraction.
    pub threshold: f64,
    pub cells: Vec<CellChange>,
    /// Cells measured in one run only.
    pub only_in_base: Vec<String>,
    pub only_in_new: Vec<String>,
    /// Medians and orderings side by side.
    pub reproducibility: Reproducibility,
}

/// Compares `new` against `base` cell by cell with noise band `threshold` (a fraction).
pub fn compare_runs(
    base_name: &str,
    base: &RunResults,
    new_name: &str,
    new: &RunResults,
    threshold: f64,
) -> RunComparison {
    let measured_ids = |run: &RunResults| -> Vec<String> {
        run.cells
            .iter()
            .filter(|c| measured(c))
            .map(|c| c.id.clone())
            .collect()
    };
    let (base_ids, new_ids) = (measured_ids(base), measured_ids(new));
    let find = |run: &RunResults, id: &str| {
        run.cells
            .iter()
            .find(|c| c.id == id && measured(c))
            .cloned()
    };
    let values = |cell: &CellResult, f: fn(&crate::results::Repetition) -> Option<f64>| {
        cell.repetitions.iter().filter_map(f).collect::<Vec<f64>>()
    };
    let mut cells = Vec::new();
    for id in base_ids.iter().filter(|id| new_ids.contains(id)) {
        let (Some(a), Some(b)) = (find(base, id), find(new, id)) else {
            continue;
        };
        let rate = |r: &crate::results::Repetition| Some(r.load.rate_2xx);
        let p99 = |r: &crate::results::Repetition| r.p99_us();
        let cpu = server_us_per_request;
        let rate_change = shift(&values(&a, rate), &values(&b, rate));
        cells.push(CellChange {
            id: id.clone(),
            base_rate: median_rate(&a),
            new_rate: median_rate(&b),
            verdict: rate_change.map_or(Verdict::Unknown, |c| Verdict::of(&c, threshold)),
            rate: rate_change,
            p99: shift(&values(&a, p99), &values(&b, p99)),
            cpu_per_request: shift(&values(&a, cpu), &values(&b, cpu)),
        });
    }
    RunComparison {
        base: base_name.to_owned(),
        new: new_name.to_owned(),
        threshold,
        cells,
        only_in_base: base_ids
            .iter()
            .filter(|id| !new_ids.contains(id))
            .cloned()
            .collect(),
        only_in_new: new_ids
            .iter()
            .filter(|id| !base_ids.contains(id))
            .cloned()
            .collect(),
        reproducibility: reproducibility(base_name, base, new_name, new),
    }
}

/// Where two runs' machines differ (host, CPU model, kernel), in words; a comparison across
/// machines mixes the machines' difference into every cell.
pub fn machine_differences(base: &Provenance, new: &Provenance) -> Vec<String> {
    [
        ("host", &base.host, &new.host),
        ("CPU model", &base.cpu_model, &new.cpu_model),
        ("kernel", &base.kernel, &new.kernel),
    ]
    .into_iter()
    .filter(|(_, a, b)| a != b)
    .map(|(name, a, b)| format!("{name}: {a} → {b}"))
    .collect()
}

impl RunComparison {
    /// Whether any cell is slower beyond the noise band: the CI gate's failure.
    pub fn any_slower(&self) -> bool {
        self.cells.iter().any(|c| c.verdict == Verdict::Slower)
    }

    /// The comparison as markdown: the method, a row per cell, the cells in one run only,
    /// then the reproducibility view.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# `{}` against `{}`\n", self.new, self.base);
        let _ = writeln!(
            out,
            "Each change is new over base: the {SHIFT_METHOD}. A cell is **slower** or **faster** when the whole interval of its 2xx rate's change lies beyond ±{:.0} % (the noise band, `--threshold`), **within noise** when the interval excludes no change but reaches into the band, and **no significant change** when it holds no change. Runs minutes apart include the machine's drift: compare runs of one session on one machine.\n",
            self.threshold * 100.0
        );
        out.push_str("| cell | base req/s | new req/s | req/s change (95 % interval) | p99 change | CPU µs/req change | verdict |\n");
        out.push_str("| --- | ---: | ---: | ---: | ---: | ---: | --- |\n");
        let change = |c: &Option<PairedRatio>| {
            c.map_or_else(
                || "–".to_owned(),
                |c| {
                    let pct = |v: f64| format!("{:+.1}", (v - 1.0) * 100.0);
                    match c.interval {
                        Some(i) => {
                            format!("{} % [{}, {}]", pct(c.median), pct(i.low), pct(i.high))
                        }
                        None => format!("{} %", pct(c.median)),
                    }
                },
            )
        };
        for cell in &self.cells {
            let _ = writeln!(
                out,
                "| `{}` | {:.0} | {:.0} | {} | {} | {} | {} |",
                cell.id,
                cell.base_rate,
                cell.new_rate,
                change(&cell.rate),
                change(&cell.p99),
                change(&cell.cpu_per_request),
                cell.verdict.name()
            );
        }
        out.push('\n');
        for (name, ids) in [("base", &self.only_in_base), ("new", &self.only_in_new)] {
            if !ids.is_empty() {
                let list: Vec<String> = ids.iter().map(|id| format!("`{id}`")).collect();
                let _ = writeln!(out, "Only in the {name} run: {}.\n", list.join(", "));
            }
        }
        let count = |v: Verdict| self.cells.iter().filter(|c| c.verdict == v).count();
        let _ = writeln!(
            out,
            "{} cells: {} slower, {} faster, {} within noise, {} with no significant change.\n",
            self.cells.len(),
            count(Verdict::Slower),
            count(Verdict::Faster),
            count(Verdict::WithinNoise),
            count(Verdict::NoSignificantChange)
        );
        let reproducibility = self.reproducibility.markdown();
        out.push_str(&reproducibility.replacen("# Reproducibility:", "## Side by side:", 1));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Base;
    use crate::plan::{Cell, CpuQuota, Endpoint, Matrix};
    use crate::results::tests::repetition_in;
    use crate::results::{Lifecycle, Provenance};

    fn cell(framework: Framework) -> Cell {
        Cell {
            framework,
            base: Packaging::Image(Base::Scratch),
            cpu: CpuQuota::fargate(0.5),
            endpoint: Endpoint::Hello,
            connections: 64,
            keep_alive: true,
            rate: None,
            generator: Default::default(),
        }
    }

    /// Six rounds of a machine that drifts by 15 % from round to round: `scale` of the
    /// drifting base rate, plus `jitter` per round.
    fn drifting(framework: Framework, scale: f64, jitter: &[f64]) -> CellResult {
        let drift = [1.0, 0.85, 1.0, 1.15, 0.9, 1.05];
        let repetitions = drift
            .iter()
            .zip(jitter)
            .enumerate()
            .map(|(round, (d, j))| {
                repetition_in(round as u32, 60_000.0 * d * scale * j, 50.0, 80.0)
            })
            .collect();
        CellResult::measured(cell(framework), repetitions, Lifecycle::default())
    }

    #[test]
    fn paired_rounds_see_through_drift() {
        let steady = [1.0; 6];
        let hyper = drifting(Framework::Hyper, 1.0, &steady);
        // 3 % faster every round: the drift (±15 %) hides it from unpaired ranges, not from
        // the per-round ratios.
        let axum = drifting(
            Framework::Axum,
            1.03,
            &[1.0, 1.001, 0.999, 1.0, 1.002, 0.998],
        );
        let ratio = paired(&axum, &hyper).unwrap();
        assert_eq!(ratio.rounds, 6);
        assert!((ratio.median - 1.03).abs() < 0.002, "{ratio:?}");
        assert_eq!(ratio.relation(), Relation::Faster);
        assert_eq!(paired(&hyper, &axum).unwrap().relation(), Relation::Slower);
        let axum_range = axum.summary.as_ref().unwrap().rate_2xx;
        let hyper_range = hyper.summary.as_ref().unwrap().rate_2xx;
        assert!(
            axum_range.min < hyper_range.max,
            "unpaired, the ranges overlap"
        );

        // Rounds that disagree: no significant difference.
        let rocket = drifting(Framework::Rocket, 1.0, &[1.02, 0.98, 1.01, 0.99, 1.0, 1.01]);
        assert_eq!(
            paired(&rocket, &hyper).unwrap().relation(),
            Relation::NoSignificantDifference
        );
    }

    #[test]
    fn groups_rank_against_the_baseline() {
        let steady = [1.0; 6];
        let cells = vec![
            drifting(Framework::Axum, 1.10, &steady),
            drifting(
                Framework::ActixWeb,
                1.101,
                &[1.01, 0.99, 1.0, 1.0, 0.99, 1.01],
            ),
            drifting(Framework::Hyper, 1.0, &steady),
        ];
        let comparisons = comparisons(&cells);
        assert_eq!(comparisons.len(), 1);
        let group = &comparisons[0];
        assert_eq!(group.id, "0.5cpu/hello/c64");
        let axum = group.member(&cells[0].id).unwrap();
        assert_eq!(axum.baseline.as_deref(), Some(cells[2].id.as_str()));
        assert!((axum.relative.unwrap().median - 1.10).abs() < 1e-9);
        let hyper = group.member(&cells[2].id).unwrap();
        assert_eq!(hyper.relative.unwrap().median, 1.0);
        assert_eq!(group.ranking[2].framework, Framework::Hyper);
        assert_eq!(group.ranking_line().matches(" > ").count(), 1);
        assert!(
            group.ranking_line().ends_with(" > hyper"),
            "{}",
            group.ranking_line()
        );
        assert!(
            group.ranking_line().contains(" ≈ "),
            "{}",
            group.ranking_line()
        );
    }

    #[test]
    fn two_runs_side_by_side() {
        let steady = [1.0; 6];
        let run = |axum: f64| {
            let mut results = RunResults::new(Provenance::default(), Matrix::default());
            results.record(drifting(Framework::Axum, axum, &steady));
            results.record(drifting(Framework::Hyper, 1.0, &steady));
            results
        };
        let same = reproducibility("a", &run(1.1), "b", &run(1.1));
        assert_eq!(same.cells.len(), 2);
        assert_eq!(same.median_abs_difference_percent, Some(0.0));
        assert_eq!(same.significant_first().len(), 1);
        assert!(
            same.pairs
                .iter()
                .all(|p| p.same_order && !p.reversed_significantly())
        );
        let reversed = reproducibility("a", &run(1.1), "b", &run(0.9));
        assert!(reversed.pairs[0].reversed_significantly());
        assert!(reversed.markdown().contains("1 reversed significantly"));
    }

    #[test]
    fn hodges_lehmann_shift_and_its_interval() {
        let base: Vec<f64> = (0..12).map(|i| 100.0 + f64::from(i)).collect();
        let slower: Vec<f64> = base.iter().map(|v| v * 0.8).collect();
        let change = shift(&base, &slower).unwrap();
        assert!((change.median - 0.8).abs() < 0.02, "{change:?}");
        let interval = change.interval.unwrap();
        assert!(interval.high < 1.0 && interval.low < 0.8, "{interval:?}");
        assert_eq!(Verdict::of(&change, DEFAULT_THRESHOLD), Verdict::Slower);

        // The same samples: no change, and the interval holds 1.
        let same = shift(&base, &base).unwrap();
        assert!((same.median - 1.0).abs() < 1e-12);
        assert_eq!(
            Verdict::of(&same, DEFAULT_THRESHOLD),
            Verdict::NoSignificantChange
        );

        // 2 % faster on a quiet machine (±0.3 %): significant, but inside a 5 % band. On
        // `base`'s ±5 % it would be no significant change.
        let quiet: Vec<f64> = (0..12).map(|i| 100.0 + f64::from(i) * 0.05).collect();
        let nudged: Vec<f64> = quiet.iter().map(|v| v * 1.02).collect();
        let small = shift(&quiet, &nudged).unwrap();
        assert!(small.interval.unwrap().low > 1.0, "{small:?}");
        assert_eq!(Verdict::of(&small, DEFAULT_THRESHOLD), Verdict::WithinNoise);
        assert_eq!(Verdict::of(&small, 0.01), Verdict::Faster);

        // Two values a side: no interval at 95 %.
        assert_eq!(shift(&[1.0, 2.0], &[3.0, 4.0]).unwrap().interval, None);
        assert!(shift(&[], &[1.0]).is_none());
    }

    #[test]
    fn runs_compare_cell_by_cell_and_gate() {
        let steady = [1.0; 6];
        let run = |axum: f64, with_rocket: bool| {
            let mut results = RunResults::new(Provenance::default(), Matrix::default());
            results.record(drifting(Framework::Axum, axum, &steady));
            results.record(drifting(Framework::Hyper, 1.0, &steady));
            if with_rocket {
                results.record(drifting(Framework::Rocket, 0.6, &steady));
            }
            results
        };
        let comparison = compare_runs("a", &run(1.0, true), "b", &run(0.8, false), 0.05);
        assert_eq!(comparison.cells.len(), 2);
        assert_eq!(
            comparison.cells[0].verdict,
            Verdict::Slower,
            "{:?}",
            comparison.cells[0]
        );
        assert_eq!(comparison.cells[1].verdict, Verdict::NoSignificantChange);
        assert!(comparison.any_slower());
        assert_eq!(comparison.only_in_base.len(), 1);
        let markdown = comparison.markdown();
        assert!(markdown.contains("| slower |"), "{markdown}");
        assert!(
            markdown.contains("Only in the base run: `rocket/"),
            "{markdown}"
        );

        let same = compare_runs("a", &run(1.0, false), "b", &run(1.0, false), 0.05);
        assert!(!same.any_slower());

        let here = Provenance {
            host: "vm".to_owned(),
            kernel: "6.18".to_owned(),
            ..Provenance::default()
        };
        let there = Provenance {
            kernel: "6.1".to_owned(),
            ..here.clone()
        };
        assert!(machine_differences(&here, &here).is_empty());
        assert_eq!(machine_differences(&here, &there), ["kernel: 6.18 → 6.1"]);
    }
}
