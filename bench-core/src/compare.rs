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

use crate::catalog::{Framework, Packaging};
use crate::plan::GroupKey;
use crate::results::{CellResult, Outcome, RunResults};
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
    let ratios: Vec<f64> = a
        .repetitions
        .iter()
        .filter_map(|ra| {
            let rb = b.repetitions.iter().find(|rb| rb.round == ra.round)?;
            (rb.load.rate_2xx > 0.0).then(|| ra.load.rate_2xx / rb.load.rate_2xx)
        })
        .collect();
    let sample = Sample::new(ratios).ok()?;
    Some(PairedRatio {
        rounds: sample.len(),
        median: sample.median(),
        interval: sample.median_interval(CONFIDENCE),
    })
}

/// A comparison group of a run: its members against the baseline, and its ranking.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupComparison {
    pub group: GroupKey,
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

/// The comparison groups of `cells`, in the order their first cell appears; only measured
/// cells take part.
pub fn comparisons(cells: &[CellResult]) -> Vec<GroupComparison> {
    let mut groups: Vec<(GroupKey, Vec<&CellResult>)> = Vec::new();
    for cell in cells.iter().filter(|c| measured(c)) {
        let key = cell.cell.group();
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, members)) => members.push(cell),
            None => groups.push((key, vec![cell])),
        }
    }
    groups
        .into_iter()
        .map(|(group, cells)| compare_group(group, &cells))
        .collect()
}

fn compare_group(group: GroupKey, cells: &[&CellResult]) -> GroupComparison {
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
        members,
        ranking,
    }
}

fn median_rate(cell: &CellResult) -> f64 {
    cell.summary.as_ref().map_or(0.0, |s| s.rate_2xx.median)
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
            .filter(|c| c.framework_is_not_baseline())
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

impl CellDiff {
    fn framework_is_not_baseline(&self) -> bool {
        !self.id.starts_with(&format!("{BASELINE}/"))
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
}
