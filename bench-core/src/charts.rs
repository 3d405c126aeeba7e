//! The charts of a run, as SVG text (plotters' SVG backend writing into a string, so no IO):
//! throughput against connections per quota, latency percentile curves per comparison
//! group, CPU per request and memory per group, each cell's rate and latency second by
//! second, and every cold start; for `bench-runner images`, where each image's bytes go;
//! and for `bench-runner deploy`, each swap 100 ms by 100 ms. Each chart keeps the
//! data it drew ([`Chart::series`]) so tests can check its structure without pixels.
//!
//! Readable in print and in GitHub's file view: axis titles with units, a legend, and series
//! that differ in marker shape as well as colour (Okabe–Ito's palette), so they stay apart in
//! greyscale.

use std::fmt::Write as _;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::deploy::SwapReport;
use crate::images::ImageRow;
use crate::latency::{self, Second};
use crate::plan::{CpuQuota, GroupKey, RateSpec};
use crate::results::{CellResult, Outcome, RunResults};
use crate::units::Bytes;

/// Chart size in pixels.
const SIZE: (u32, u32) = (860, 500);

/// Okabe and Ito's colour-blind-safe palette, its yellow left out (too light on white).
const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(230, 159, 0),
    RGBColor(0, 0, 0),
    RGBColor(120, 120, 120),
];

/// The percentiles the latency curves go through.
const QUANTILES: [f64; 8] = [0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999, 0.9999];

/// The marker shape of series `i`: 0 circle, 1 triangle, 2 cross, 3 square, so that
/// series differ in shape as well as in colour.
fn shape(i: usize) -> usize {
    (i / PALETTE.len() + i) % 4
}

/// Draws series `$i`'s markers at the coordinates of `$points` on `$chart`.
macro_rules! markers {
    ($chart:expr, $i:expr, $points:expr) => {{
        let colour = PALETTE[$i % PALETTE.len()];
        match shape($i) {
            0 => $chart.draw_series($points.map(|c| Circle::new(c, 5, colour.filled())))?,
            1 => $chart.draw_series($points.map(|c| TriangleMarker::new(c, 7, colour.filled())))?,
            2 => $chart.draw_series($points.map(|c| Cross::new(c, 5, colour.stroke_width(2))))?,
            _ => $chart.draw_series($points.map(|c| {
                EmptyElement::at(c) + Rectangle::new([(-4, -4), (4, 4)], colour.filled())
            }))?,
        }
    }};
}

/// Gives the series annotation `$annotation` the legend entry of series `$i`: its line and
/// its marker.
macro_rules! legend_entry {
    ($annotation:expr, $i:expr) => {{
        let colour = PALETTE[$i % PALETTE.len()];
        let line = move |(x, y): (i32, i32)| {
            EmptyElement::at((x, y))
                + PathElement::new(vec![(0, 0), (24, 0)], colour.stroke_width(2))
        };
        match shape($i) {
            0 => $annotation.legend(move |c| line(c) + Circle::new((12, 0), 5, colour.filled())),
            1 => $annotation
                .legend(move |c| line(c) + TriangleMarker::new((12, 0), 7, colour.filled())),
            2 => $annotation
                .legend(move |c| line(c) + Cross::new((12, 0), 5, colour.stroke_width(2))),
            _ => $annotation
                .legend(move |c| line(c) + Rectangle::new([(8, -4), (16, 4)], colour.filled())),
        };
    }};
}

/// Draws whiskers from `low` to `high` at `x` for each `(x, low, high)` of `$whiskers`, with
/// caps, in `$style` (plotters' own error bar also draws a circle over the marker).
macro_rules! whiskers {
    ($chart:expr, $style:expr, $whiskers:expr) => {{
        let style = $style;
        let whiskers: Vec<(f64, f64, f64)> = $whiskers.collect();
        $chart.draw_series(
            whiskers
                .iter()
                .map(|&(x, low, high)| PathElement::new(vec![(x, low), (x, high)], style)),
        )?;
        $chart.draw_series(
            whiskers
                .iter()
                .flat_map(|&(x, low, high)| [(x, low), (x, high)])
                .map(|c| EmptyElement::at(c) + PathElement::new(vec![(-5, 0), (5, 0)], style)),
        )?;
    }};
}

/// A legend key for a line in `$style`, solid or, when `$dashed`, dashed: two segments that
/// meet or not.
macro_rules! line_key {
    ($style:expr, $dashed:expr) => {{
        let (style, gap) = ($style, if $dashed { 6 } else { 0 });
        move |(x, y): (i32, i32)| {
            EmptyElement::at((x, y))
                + PathElement::new(vec![(0, 0), (10 - gap / 2, 0)], style)
                + PathElement::new(vec![(10 + gap / 2, 0), (20, 0)], style)
        }
    }};
}

/// What a chart shows, for a report to arrange them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChartKind {
    Throughput,
    Latency,
    Cpu,
    Memory,
    /// A cell second by second: a report shows these apart, there is one per cell.
    Timeline,
    ColdStart,
    ImageSizes,
}

/// One drawn chart.
#[derive(Clone, Debug, PartialEq)]
pub struct Chart {
    pub kind: ChartKind,
    /// The file name under `charts/`: `throughput-0.5cpu.svg`.
    pub file_name: String,
    pub title: String,
    pub x_title: String,
    pub y_title: String,
    /// What was drawn, in legend order.
    pub series: Vec<Series>,
    pub svg: String,
}

/// One series: a legend entry and its points, in drawing order. A point is `(x, y)`, with
/// an interval `(low, high)` of y where the chart draws whiskers.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub name: String,
    pub points: Vec<Point>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    pub x: f64,
    pub y: f64,
    pub whisker: Option<(f64, f64)>,
}

impl Point {
    fn at(x: f64, y: f64) -> Point {
        Point {
            x,
            y,
            whisker: None,
        }
    }
}

impl Series {
    fn new(name: &str, points: Vec<Point>) -> Series {
        Series {
            name: name.to_owned(),
            points,
        }
    }
}

/// Every chart of `results`, in the order a report shows them.
pub fn charts(results: &RunResults) -> Vec<Chart> {
    let mut charts = Vec::new();
    for quota in &results.matrix.cpus {
        charts.extend(throughput(results, quota));
    }
    for (group, _) in results.matrix.groups() {
        charts.extend(latency_curves(results, &group));
        charts.extend(cpu_per_request(results, &group));
        charts.extend(memory(results, &group));
    }
    for cell in measured(results) {
        charts.extend(timeline(results, cell));
    }
    charts.extend(cold_starts(results));
    charts
}

/// The measured cells of the run's own generator: a cross-check's twins are in the
/// cross-check table, not in the charts.
fn measured(results: &RunResults) -> impl Iterator<Item = &CellResult> {
    results.cells.iter().filter(|c| {
        c.outcome == Outcome::Measured
            && c.summary.is_some()
            && c.cell.generator == results.matrix.generator
    })
}

/// `axum`, or `axum (debian)` when the run has several bases.
fn subject_name(results: &RunResults, cell: &CellResult) -> String {
    if results.matrix.packagings().len() > 1 {
        format!("{} ({})", cell.cell.framework, cell.cell.base)
    } else {
        cell.cell.framework.to_string()
    }
}

/// 2xx req/s against connections at `quota`, a line per framework (and base), with each
/// point's 95 % interval as a whisker; one chart per quota and endpoint pair is too many, so
/// `/hello` only (the endpoint that measures the framework).
pub fn throughput(results: &RunResults, quota: &CpuQuota) -> Option<Chart> {
    let mut series = Vec::new();
    for (framework, base) in results.matrix.images() {
        let mut points: Vec<Point> = measured(results)
            .filter(|c| {
                c.cell.framework == framework
                    && c.cell.base == base
                    && c.cell.cpu == *quota
                    && c.cell.endpoint == crate::plan::Endpoint::Hello
                    && c.cell.keep_alive
                    && c.cell.rate.is_none()
            })
            .filter_map(|c| {
                let estimate = c.summary.as_ref()?.rate_estimate;
                Some(Point {
                    x: f64::from(c.cell.connections),
                    y: estimate.median,
                    whisker: estimate.interval.map(|i| (i.low, i.high)),
                })
            })
            .collect();
        points.sort_by(|a, b| a.x.total_cmp(&b.x));
        if let Some(cell) =
            measured(results).find(|c| c.cell.framework == framework && c.cell.base == base)
            && !points.is_empty()
        {
            series.push(Series {
                name: subject_name(results, cell),
                points,
            });
        }
    }
    if series.is_empty() {
        return None;
    }
    let title = format!(
        "2xx req/s against connections, {} vCPU, /hello",
        quota.vcpus
    );
    let (x_title, y_title) = (
        "connections (log scale)",
        "2xx req/s (median, 95 % interval)",
    );
    let max_x = max_of(&series, |p| p.x).max(2.0);
    let max_y = max_of(&series, |p| p.whisker.map_or(p.y, |w| w.1)) * 1.15;
    let svg = draw(&title, |area| {
        let mut chart = builder(area, &title)
            .build_cartesian_2d((0.8f64..max_x * 1.25).log_scale(), 0f64..max_y)?;
        chart
            .configure_mesh()
            .x_desc(x_title)
            .y_desc(y_title)
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_label_formatter(&|y| si(*y))
            .draw()?;
        // Each series a little to the side of the others, so whiskers do not overlap.
        let dodge =
            |i: usize, x: f64| x * 1.025f64.powf(i as f64 - (series.len() - 1) as f64 / 2.0);
        for (i, s) in series.iter().enumerate() {
            let style = style(i);
            let at = |p: &Point| (dodge(i, p.x), p.y);
            let annotation = chart
                .draw_series(LineSeries::new(s.points.iter().map(at), style))?
                .label(&s.name);
            legend_entry!(annotation, i);
            markers!(chart, i, s.points.iter().map(at));
            whiskers!(
                chart,
                style,
                s.points.iter().filter_map(|p| p.whisker.map(|(low, high)| (
                    dodge(i, p.x),
                    low,
                    high
                )))
            );
        }
        legend(&mut chart, SeriesLabelPosition::UpperLeft)
    });
    Some(Chart {
        kind: ChartKind::Throughput,
        file_name: format!("throughput-{}.svg", quota.label()),
        title,
        x_title: x_title.to_owned(),
        y_title: y_title.to_owned(),
        series,
        svg,
    })
}

/// Latency percentile curves of a comparison group from each cell's merged HDR histogram:
/// x is the percentile on a "nines" scale (p90 = 1, p99 = 2, p99.9 = 3), y the latency in
/// ms on a log scale.
pub fn latency_curves(results: &RunResults, group: &GroupKey) -> Option<Chart> {
    let nines = |q: f64| -(1.0 - q).log10();
    let mut series = Vec::new();
    for cell in measured(results).filter(|c| c.cell.group() == *group) {
        let texts: Option<Vec<&str>> = cell
            .repetitions
            .iter()
            .map(|r| r.latency_histogram.as_deref())
            .collect();
        let Some(histogram) = texts.and_then(|t| latency::merge(t).ok().flatten()) else {
            continue;
        };
        if histogram.is_empty() {
            continue;
        }
        let points = QUANTILES
            .iter()
            .map(|&q| Point {
                x: nines(q),
                y: histogram.value_at_quantile(q) as f64 / 1e6,
                whisker: None,
            })
            .collect();
        series.push(Series {
            name: subject_name(results, cell),
            points,
        });
    }
    if series.is_empty() {
        return None;
    }
    let title = format!("Latency percentiles, {}", group_title(group));
    let (x_title, y_title) = (
        "percentile (p50 … p99.99)",
        "latency of 2xx responses, ms (log scale)",
    );
    let min_y = series
        .iter()
        .flat_map(|s| &s.points)
        .map(|p| p.y)
        .fold(f64::INFINITY, f64::min)
        .max(1e-3);
    let max_y = max_of(&series, |p| p.y);
    let svg = draw(&title, |area| {
        let mut chart = builder(area, &title).build_cartesian_2d(
            nines(0.5) - 0.1..nines(0.9999) + 0.1,
            (min_y / 1.5..max_y * 1.5).log_scale(),
        )?;
        chart
            .configure_mesh()
            .x_desc(x_title)
            .y_desc(y_title)
            .x_labels(8)
            .x_label_formatter(&|x| percentile_label(*x))
            .y_label_formatter(&|y| format!("{y}"))
            .draw()?;
        for (i, s) in series.iter().enumerate() {
            let annotation = chart
                .draw_series(LineSeries::new(
                    s.points.iter().map(|p| (p.x, p.y)),
                    style(i),
                ))?
                .label(&s.name);
            legend_entry!(annotation, i);
            markers!(chart, i, s.points.iter().map(|p| (p.x, p.y)));
        }
        legend(&mut chart, SeriesLabelPosition::UpperLeft)
    });
    Some(Chart {
        kind: ChartKind::Latency,
        file_name: format!("latency-{}.svg", group.id().replace('/', "-")),
        title,
        x_title: x_title.to_owned(),
        y_title: y_title.to_owned(),
        series,
        svg,
    })
}

/// Server CPU µs per 2xx response per framework in a group: the median as a dot, the range
/// over the repetitions as a whisker. Cells without the figure (no 2xx in a repetition, or
/// the server's CPU not measured) are left out; `None` when none has it.
pub fn cpu_per_request(results: &RunResults, group: &GroupKey) -> Option<Chart> {
    let cells: Vec<(&CellResult, crate::stats::Spread)> = measured(results)
        .filter(|c| c.cell.group() == *group)
        .filter_map(|c| Some((c, c.summary.as_ref()?.cpu_us_per_request?)))
        .collect();
    let series: Vec<Series> = cells
        .iter()
        .enumerate()
        .map(|(i, (c, cpu))| Series {
            name: subject_name(results, c),
            points: vec![Point {
                x: i as f64,
                y: cpu.median,
                whisker: Some((cpu.min, cpu.max)),
            }],
        })
        .collect();
    categories(
        ChartKind::Cpu,
        format!("cpu-{}.svg", group.id().replace('/', "-")),
        format!("Server CPU per request, {}", group_title(group)),
        "server CPU µs per 2xx response (median, range over repetitions)",
        series,
    )
}

/// Anonymous memory per framework in a group (the median of the repetitions' means; the
/// whisker reaches the cgroup's peak, page cache included). Cells whose memory was not
/// measured are left out; `None` when none was.
pub fn memory(results: &RunResults, group: &GroupKey) -> Option<Chart> {
    let cells: Vec<(
        &CellResult,
        &crate::results::CellSummary,
        crate::stats::Spread,
    )> = measured(results)
        .filter(|c| c.cell.group() == *group)
        .filter_map(|c| {
            let summary = c.summary.as_ref()?;
            Some((c, summary, summary.anon_mean_bytes?))
        })
        .collect();
    let mib = |b: f64| b / (1024.0 * 1024.0);
    let series: Vec<Series> = cells
        .iter()
        .enumerate()
        .map(|(i, (c, summary, anon))| {
            let anon = mib(anon.median);
            Series {
                name: subject_name(results, c),
                points: vec![Point {
                    x: i as f64,
                    y: anon,
                    whisker: summary.peak_bytes.map(|p| (anon, mib(p as f64))),
                }],
            }
        })
        .collect();
    categories(
        ChartKind::Memory,
        format!("memory-{}.svg", group.id().replace('/', "-")),
        format!("Memory under load, {}", group_title(group)),
        "MiB: anon (dot), up to the cgroup peak (whisker)",
        series,
    )
}

/// A chart of one value per category (framework), as a dot with a whisker.
fn categories(
    kind: ChartKind,
    file_name: String,
    title: String,
    y_title: &str,
    series: Vec<Series>,
) -> Option<Chart> {
    if series.is_empty() {
        return None;
    }
    let names: Vec<String> = series.iter().map(|s| s.name.clone()).collect();
    let n = series.len();
    let max_y = max_of(&series, |p| p.whisker.map_or(p.y, |w| w.1)) * 1.15;
    let svg = draw(&title, |area| {
        let mut chart =
            builder(area, &title).build_cartesian_2d(-0.6f64..n as f64 - 0.4, 0f64..max_y)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_desc("framework")
            .y_desc(y_title)
            .x_labels(n)
            .x_label_formatter(&|x| category_label(&names, *x))
            .draw()?;
        for (i, s) in series.iter().enumerate() {
            let style = style(i);
            whiskers!(
                chart,
                style,
                s.points
                    .iter()
                    .filter_map(|p| p.whisker.map(|(low, high)| (p.x, low, high)))
            );
            markers!(chart, i, s.points.iter().map(|p| (p.x, p.y)));
        }
        Ok(())
    });
    Some(Chart {
        kind,
        file_name,
        title,
        x_title: "framework".to_owned(),
        y_title: y_title.to_owned(),
        series,
        svg,
    })
}

/// A cell's load second by second over its measured repetitions, laid end to end in round
/// order, each request in the second it was sent: above, the 2xx rate with failures marked
/// (other statuses in their second; connection errors, which oha does not time, as their
/// repetition's mean rate);
/// below, p50 and p99 of each second on a log scale. Dashed lines separate the rounds, and
/// a second cut short by the end of its repetition counts at its own length.
pub fn timeline(results: &RunResults, cell: &CellResult) -> Option<Chart> {
    let mut repetitions: Vec<&crate::results::Repetition> = cell
        .repetitions
        .iter()
        .filter(|r| !r.timeline.is_empty())
        .collect();
    if repetitions.is_empty() {
        return None;
    }
    repetitions.sort_by_key(|r| r.round);
    let mut rate = Vec::new();
    let mut failures = Vec::new();
    let mut p50 = Vec::new();
    let mut p99 = Vec::new();
    // Where each repetition starts and ends on the x axis, and its round.
    let mut spans: Vec<(f64, f64, u32)> = Vec::new();
    let mut offset = 0.0;
    // oha sends for the run's duration, then waits for the answers in flight: a repetition
    // is as long as the duration, and its timeline holds the requests sent in it.
    let length = results.matrix.duration.as_secs_f64().max(f64::MIN_POSITIVE);
    for repetition in &repetitions {
        // oha's clock starts a few ms before its deadline's: requests sent in that sliver
        // past the duration count with the last second, so none is left out.
        let seconds = (length.ceil() as usize).max(1);
        let mut timeline: Vec<Second> = repetition.timeline.iter().take(seconds).copied().collect();
        if let Some(last) = timeline.last_mut() {
            for late in repetition.timeline.iter().skip(seconds) {
                last.ok_2xx += late.ok_2xx;
                last.other_status += late.other_status;
            }
        }
        for (i, second) in timeline.iter().enumerate() {
            let begin = i as f64;
            let width = (length - begin).min(1.0);
            let x = offset + begin + width / 2.0;
            rate.push(Point::at(x, second.ok_2xx as f64 / width));
            if second.other_status > 0 {
                failures.push(Point::at(x, second.other_status as f64 / width));
            }
            if let Some(us) = second.p50_us {
                p50.push(Point::at(x, us / 1e3));
            }
            if let Some(us) = second.p99_us {
                p99.push(Point::at(x, us / 1e3));
            }
        }
        let errors = repetition
            .load
            .errors
            .values()
            .sum::<u64>()
            .saturating_sub(repetition.load.aborted_at_deadline);
        if errors > 0 {
            failures.push(Point::at(offset + length / 2.0, errors as f64 / length));
        }
        spans.push((offset, offset + length, repetition.round));
        offset += length;
    }
    let series = vec![
        Series::new("2xx req/s", rate),
        Series::new("failures per s", failures),
        Series::new("p50, ms", p50),
        Series::new("p99, ms", p99),
    ];
    let title = format!(
        "Second by second: {}, {}",
        subject_name(results, cell),
        group_title(&cell.cell.group())
    );
    let x_title = "seconds of load, repetitions end to end in round order (dashed: rounds)";
    let y_title = "2xx req/s and failures per s";
    let latency_title = "p50 and p99 per second, ms (log scale)";
    // Headroom above the data for the legends.
    let max_rate = max_of(&series[..2], |p| p.y) * 1.45;
    let (min_ms, max_ms) = series[2..]
        .iter()
        .flat_map(|s| &s.points)
        .fold((f64::INFINITY, 0f64), |(lo, hi), p| {
            (lo.min(p.y), hi.max(p.y))
        });
    let min_ms = if min_ms.is_finite() {
        min_ms.max(1e-3)
    } else {
        1e-3
    };
    let max_ms = max_ms.max(min_ms * 2.0) * 4.0;
    let svg = draw_sized(&title, (SIZE.0, 640), |area| {
        let area = area.titled(&title, ("sans-serif", 20))?;
        let (upper, lower) = area.split_vertically(300);
        let mut top = ChartBuilder::on(&upper)
            .margin(14)
            .x_label_area_size(30)
            .y_label_area_size(80)
            .build_cartesian_2d(0f64..offset, 0f64..max_rate)?;
        top.configure_mesh()
            .disable_x_mesh()
            .y_desc(y_title)
            .y_label_formatter(&|y| si(*y))
            .x_label_formatter(&|x| format!("{x:.0}"))
            .draw()?;
        round_lines(&mut top, &spans, (0.0, max_rate))?;
        for points in split(&series[0].points, &spans) {
            top.draw_series(LineSeries::new(points.iter().map(|p| (p.x, p.y)), style(0)))?;
        }
        let annotation = top
            .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())?
            .label(&series[0].name);
        legend_entry!(annotation, 0);
        markers!(top, 0, series[0].points.iter().map(|p| (p.x, p.y)));
        let red = RGBColor(213, 94, 0);
        let annotation = top
            .draw_series(
                series[1]
                    .points
                    .iter()
                    .map(|p| Cross::new((p.x, p.y), 6, red.stroke_width(3))),
            )?
            .label(if series[1].points.is_empty() {
                "failures per s: none"
            } else {
                "failures per s"
            });
        annotation.legend(move |(x, y)| Cross::new((x + 12, y), 6, red.stroke_width(3)));
        legend(&mut top, SeriesLabelPosition::UpperLeft)?;

        let mut bottom = ChartBuilder::on(&lower)
            .margin(14)
            .x_label_area_size(50)
            .y_label_area_size(80)
            .build_cartesian_2d(0f64..offset, (min_ms / 1.5..max_ms * 1.5).log_scale())?;
        bottom
            .configure_mesh()
            .disable_x_mesh()
            .x_desc(x_title)
            .y_desc(latency_title)
            .y_labels(5)
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_label_formatter(&|y| format!("{y}"))
            .draw()?;
        round_lines(&mut bottom, &spans, (min_ms / 1.5, max_ms * 1.5))?;
        for (i, s) in series[2..].iter().enumerate() {
            // Colours 2 and 3 of the palette, marker shapes of series 2 and 3.
            let i = i + 2;
            for points in split(&s.points, &spans) {
                bottom.draw_series(LineSeries::new(points.iter().map(|p| (p.x, p.y)), style(i)))?;
            }
            let annotation = bottom
                .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())?
                .label(&s.name);
            legend_entry!(annotation, i);
            markers!(bottom, i, s.points.iter().map(|p| (p.x, p.y)));
        }
        legend(&mut bottom, SeriesLabelPosition::UpperLeft)?;
        Ok(())
    });
    Some(Chart {
        kind: ChartKind::Timeline,
        file_name: format!("timeline-{}.svg", cell.id.replace('/', "-")),
        title,
        x_title: x_title.to_owned(),
        y_title: y_title.to_owned(),
        series,
        svg,
    })
}

/// The points of each span `(begin, end, round)`, so a line is not drawn across rounds.
fn split<'p>(points: &'p [Point], spans: &[(f64, f64, u32)]) -> Vec<&'p [Point]> {
    spans
        .iter()
        .map(|&(begin, end, _)| {
            let from = points.partition_point(|p| p.x < begin);
            let to = points.partition_point(|p| p.x < end);
            &points[from..to]
        })
        .collect()
}

/// A dashed vertical line at every round boundary from `y.0` to `y.1`.
fn round_lines<DB: DrawingBackend, Y: Ranged<ValueType = f64>>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, Y>>,
    spans: &[(f64, f64, u32)],
    y: (f64, f64),
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let grey = RGBColor(150, 150, 150).stroke_width(1);
    for &(begin, _, _) in spans.iter().skip(1) {
        chart.draw_series(DashedLineSeries::new(
            [(begin, y.0), (begin, y.1)],
            3,
            4,
            grey,
        ))?;
    }
    Ok(())
}

/// Every cold start of every image and bare binary as a dot, on a log scale of ms: one row
/// per image (framework × base) and per bare binary.
pub fn cold_starts(results: &RunResults) -> Option<Chart> {
    let series: Vec<Series> = results
        .startup
        .iter()
        .filter(|s| !s.runs_ms.is_empty())
        .enumerate()
        .map(|(row, s)| Series {
            name: format!("{} ({})", s.framework, s.base),
            points: s
                .runs_ms
                .iter()
                .map(|&ms| Point {
                    x: ms,
                    y: row as f64,
                    whisker: None,
                })
                .collect(),
        })
        .collect();
    if series.is_empty() {
        return None;
    }
    let title = "Cold start: from start to the first 200 on /hello".to_owned();
    let (x_title, y_title) = ("ms (log scale), every run a dot", "image or bare binary");
    let names: Vec<String> = series.iter().map(|s| s.name.clone()).collect();
    let rows = series.len();
    let min_x = series
        .iter()
        .flat_map(|s| &s.points)
        .map(|p| p.x)
        .fold(f64::INFINITY, f64::min)
        .max(0.1);
    let max_x = max_of(&series, |p| p.x);
    let height = (140 + 22 * rows as u32).max(SIZE.1);
    let svg = draw_sized(&title, (SIZE.0, height), |area| {
        let mut chart = ChartBuilder::on(area)
            .caption(&title, ("sans-serif", 20))
            .margin(14)
            .x_label_area_size(50)
            .y_label_area_size(170)
            .build_cartesian_2d(
                (min_x / 1.5..max_x * 1.5).log_scale(),
                -0.6f64..rows as f64 - 0.4,
            )?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_desc(x_title)
            .y_desc(y_title)
            .y_labels(rows)
            .y_label_formatter(&|y| category_label(&names, *y))
            .x_label_formatter(&|x| format!("{x}"))
            .draw()?;
        for (i, s) in series.iter().enumerate() {
            markers!(chart, i % 2, s.points.iter().map(|p| (p.x, p.y)));
        }
        Ok(())
    });
    Some(Chart {
        kind: ChartKind::ColdStart,
        file_name: "cold-start.svg".to_owned(),
        title,
        x_title: x_title.to_owned(),
        y_title: y_title.to_owned(),
        series,
        svg,
    })
}

/// Where each image's bytes go, one row per image (grouped by base): the base's bytes with
/// the service binary's stacked on them (uncompressed, as the engine reports the image), and
/// beside it, hollow, what a registry stores (every layer gzipped). Each bar is labelled with
/// its size, so the few megabytes of a scratch image read as well as the debian ones.
pub fn image_sizes(rows: &[ImageRow]) -> Option<Chart> {
    if rows.is_empty() {
        return None;
    }
    let mut ordered: Vec<&ImageRow> = rows.iter().collect();
    ordered.sort_by_key(|r| (r.base, r.framework));
    let n = ordered.len();
    // Row 0 at the top.
    let y = |row: usize| (n - 1 - row) as f64;
    let mb = |bytes: Bytes| bytes as f64 / 1e6;
    let point = |row: usize, bytes: Bytes| Point::at(mb(bytes), y(row));
    let series = vec![
        Series::new(
            "base",
            ordered
                .iter()
                .enumerate()
                .map(|(i, r)| point(i, r.image_bytes.saturating_sub(r.binary_bytes)))
                .collect(),
        ),
        Series::new(
            "service binary",
            ordered
                .iter()
                .enumerate()
                .map(|(i, r)| point(i, r.binary_bytes))
                .collect(),
        ),
        Series::new(
            "compressed (every layer gzipped)",
            ordered
                .iter()
                .enumerate()
                .map(|(i, r)| point(i, r.compressed_bytes))
                .collect(),
        ),
    ];
    let names: Vec<String> = ordered
        .iter()
        .rev()
        .map(|r| format!("{} ({})", r.framework, r.base))
        .collect();
    let title = "Image size: the base, the service binary on it, and compressed".to_owned();
    let (x_title, y_title) = ("MB (10⁶ bytes)", "image");
    let max_x = ordered
        .iter()
        .map(|r| mb(r.image_bytes.max(r.compressed_bytes)))
        .fold(0.0, f64::max)
        .max(f64::MIN_POSITIVE);
    let height = (150 + 34 * n as u32).max(SIZE.1);
    let base_colour = RGBColor(200, 200, 200);
    let binary_colour = PALETTE[1];
    let svg = draw_sized(&title, (SIZE.0, height), |area| {
        let mut chart = ChartBuilder::on(area)
            .caption(&title, ("sans-serif", 20))
            .margin(14)
            .x_label_area_size(50)
            .y_label_area_size(170)
            // Room on the right for the labels of the longest bars.
            .build_cartesian_2d(0f64..max_x * 1.4, -0.6f64..n as f64 - 0.4)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .light_line_style(WHITE)
            .x_desc(x_title)
            .y_desc(y_title)
            .y_labels(n)
            .y_label_formatter(&|v| category_label(&names, *v))
            .x_label_formatter(&|x| format!("{x:.0}"))
            .draw()?;
        let label = |x: f64, y: f64, text: String| {
            Text::new(
                text,
                (x, y),
                TextStyle::from(("sans-serif", 11).into_font())
                    .pos(Pos::new(HPos::Left, VPos::Center)),
            )
        };
        let gap = max_x * 0.01;
        let (base, binary, compressed) = (&series[0], &series[1], &series[2]);
        chart
            .draw_series(base.points.iter().map(|p| {
                Rectangle::new([(0.0, p.y + 0.04), (p.x, p.y + 0.36)], base_colour.filled())
            }))?
            .label(&base.name)
            .legend(move |(x, y)| {
                Rectangle::new([(x, y - 5), (x + 20, y + 5)], base_colour.filled())
            });
        chart
            .draw_series(base.points.iter().zip(&binary.points).map(|(b, p)| {
                Rectangle::new(
                    [(b.x, p.y + 0.04), (b.x + p.x, p.y + 0.36)],
                    binary_colour.filled(),
                )
            }))?
            .label(&binary.name)
            .legend(move |(x, y)| {
                Rectangle::new([(x, y - 5), (x + 20, y + 5)], binary_colour.filled())
            });
        chart
            .draw_series(compressed.points.iter().map(|p| {
                Rectangle::new(
                    [(0.0, p.y - 0.36), (p.x, p.y - 0.04)],
                    BLACK.stroke_width(1),
                )
            }))?
            .label(&compressed.name)
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 20, y + 5)], BLACK.stroke_width(1)));
        chart.draw_series(
            ordered
                .iter()
                .zip(base.points.iter().zip(&compressed.points))
                .flat_map(|(row, (b, c))| {
                    [
                        label(
                            mb(row.image_bytes) + gap,
                            b.y + 0.2,
                            format!(
                                "{} (binary {})",
                                crate::images::human(row.image_bytes),
                                crate::images::human(row.binary_bytes)
                            ),
                        ),
                        label(
                            c.x + gap,
                            c.y - 0.2,
                            format!("{} gzipped", crate::images::human(row.compressed_bytes)),
                        ),
                    ]
                }),
        )?;
        legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        Ok(())
    });
    Some(Chart {
        kind: ChartKind::ImageSizes,
        file_name: "image-sizes.svg".to_owned(),
        title,
        x_title: x_title.to_owned(),
        y_title: y_title.to_owned(),
        series,
        svg,
    })
}

/// A swap of `bench-runner deploy` 100 ms by 100 ms, as SVG (the runner writes it to
/// [`crate::deploy::chart_file`]): bars of the requests scheduled in each slice, stacked
/// (2xx from blue, from green, without an instance, then each kind of failure in red and
/// orange shades), on the left axis; each slice's TTLB p50 (dashed) and p99 over them on a
/// log scale on the right; vertical lines when green was ready, the switch, SIGTERM, blue's
/// exit and every nginx reload.
pub fn deploy_timeline(report: &SwapReport, title: &str) -> String {
    deploy_timeline_drawn(report, title).1
}

/// The legend entries of the events drawn as vertical lines, in order, with their colour and
/// whether they are dashed.
const DEPLOY_EVENTS: [(&str, RGBColor, bool); 5] = [
    ("green ready", PALETTE[2], true),
    ("switch", PALETTE[6], false),
    ("SIGTERM", PALETTE[1], true),
    ("blue exited", PALETTE[0], false),
    ("nginx reload", PALETTE[7], true),
];

/// The colour of a failure's bars: reds for connection errors, oranges for statuses.
fn failure_colour(key: &str) -> RGBColor {
    match key {
        "refused" => RGBColor(150, 20, 20),
        "reset" => RGBColor(213, 94, 0),
        "cut" => RGBColor(100, 30, 0),
        "timeout" => RGBColor(235, 110, 110),
        "other" => RGBColor(190, 60, 90),
        "http-502" => RGBColor(230, 159, 0),
        "http-503" => RGBColor(245, 200, 90),
        "http-504" => RGBColor(190, 120, 30),
        _ => RGBColor(250, 215, 170),
    }
}

/// [`deploy_timeline`]'s series, as drawn, and its SVG. The series: `blue 2xx`, `green 2xx`,
/// `unattributed 2xx` when there is any, `failed: <kind>` for each kind that occurs (a point
/// per slice, at its middle, y its count), `TTLB p50, ms` and `TTLB p99, ms` (a point per
/// slice with an answer), then each event seen (a point at its time, y 0).
fn deploy_timeline_drawn(report: &SwapReport, title: &str) -> (Vec<Series>, String) {
    let slice = crate::deploy::BUCKET_MS as f64 / 1e3;
    let buckets = &report.buckets;
    let mid = |b: &crate::deploy::Bucket| b.start_ms as f64 / 1e3 + slice / 2.0;
    let counts = |name: &str, count: &dyn Fn(&crate::deploy::Bucket) -> u64| {
        Series::new(
            name,
            buckets
                .iter()
                .map(|b| Point::at(mid(b), count(b) as f64))
                .collect(),
        )
    };
    let mut bars = vec![
        counts("blue 2xx", &|b| b.blue),
        counts("green 2xx", &|b| b.green),
    ];
    let mut colours = vec![PALETTE[0], PALETTE[2]];
    if buckets.iter().any(|b| b.unattributed > 0) {
        bars.push(counts("unattributed 2xx", &|b| b.unattributed));
        colours.push(PALETTE[7]);
    }
    let kinds: std::collections::BTreeSet<&String> =
        buckets.iter().flat_map(|b| b.failed.keys()).collect();
    for kind in kinds {
        let name = format!("failed: {}", kind.strip_prefix("http-").unwrap_or(kind));
        bars.push(counts(&name, &|b| b.failed.get(kind).copied().unwrap_or(0)));
        colours.push(failure_colour(kind));
    }
    let ttlb = |name: &str, value: fn(&crate::deploy::Ttlb) -> f64| {
        Series::new(
            name,
            buckets
                .iter()
                .filter_map(|b| Some(Point::at(mid(b), value(&b.ttlb?))))
                .collect(),
        )
    };
    let lines = [
        ttlb("TTLB p50, ms", |t| t.p50_ms),
        ttlb("TTLB p99, ms", |t| t.p99_ms),
    ];
    let events = &report.events;
    let at = |us: Option<u64>| us.map(|us| Point::at(us as f64 / 1e6, 0.0));
    let times: [Vec<Point>; 5] = [
        at(events.green_ready_us).into_iter().collect(),
        at(events.switch_us).into_iter().collect(),
        at(events.sigterm_us).into_iter().collect(),
        at(events.blue_exited_us).into_iter().collect(),
        events
            .reloads_us
            .iter()
            .filter_map(|&us| at(Some(us)))
            .collect(),
    ];
    let markers: Vec<(Series, RGBColor, bool)> = DEPLOY_EVENTS
        .iter()
        .zip(times)
        .filter(|(_, points)| !points.is_empty())
        .map(|(&(name, colour, dashed), points)| (Series::new(name, points), colour, dashed))
        .collect();

    let x_title = "seconds since the load began (requests by when they were scheduled)";
    let y_title = "requests per 100 ms";
    let ttlb_title = "TTLB per 100 ms, ms (log scale)";
    let max_x = markers
        .iter()
        .flat_map(|(s, _, _)| &s.points)
        .map(|p| p.x + slice)
        .fold(buckets.len() as f64 * slice, f64::max)
        .max(slice);
    let stacked = buckets
        .iter()
        .enumerate()
        .map(|(i, _)| bars.iter().map(|s| s.points[i].y).sum::<f64>())
        .fold(0.0, f64::max)
        .max(1.0);
    // Headroom above the bars for the legend.
    let max_y = stacked * 1.9;
    let (min_ms, max_ms) = lines
        .iter()
        .flat_map(|s| &s.points)
        .fold((f64::INFINITY, 0f64), |(lo, hi), p| {
            (lo.min(p.y), hi.max(p.y))
        });
    let low = if min_ms.is_finite() {
        min_ms.max(1e-3) / 1.5
    } else {
        0.1
    };
    let high_data = (max_ms * 1.5).max(low * 10.0);
    // The highest p99 at 60 % of the axis' height, clear of the legend.
    let high = low * (high_data / low).powf(1.0 / 0.6);
    let svg = draw_sized(title, (SIZE.0, 640), |area| {
        let mut chart = builder(area, title)
            .right_y_label_area_size(80)
            .build_cartesian_2d(0f64..max_x, 0f64..max_y)?
            .set_secondary_coord(0f64..max_x, (low..high).log_scale());
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_desc(x_title)
            .y_desc(y_title)
            .x_label_formatter(&|x| format!("{x:.1}"))
            .y_label_formatter(&|y| format!("{y:.0}"))
            .draw()?;
        chart
            .configure_secondary_axes()
            .y_desc(ttlb_title)
            .y_label_formatter(&|y| format!("{y}"))
            .draw()?;
        let mut base = vec![0.0; buckets.len()];
        for (s, &colour) in bars.iter().zip(&colours) {
            let rectangles: Vec<Rectangle<(f64, f64)>> = s
                .points
                .iter()
                .zip(&mut base)
                .filter(|(p, _)| p.y > 0.0)
                .map(|(p, base)| {
                    let x = p.x - slice / 2.0;
                    let bar =
                        Rectangle::new([(x, *base), (x + slice, *base + p.y)], colour.filled());
                    *base += p.y;
                    bar
                })
                .collect();
            chart
                .draw_series(rectangles)?
                .label(&s.name)
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 20, y + 5)], colour.filled())
                });
        }
        for (s, dashed) in lines.iter().zip([true, false]) {
            let style = if dashed {
                PALETTE[6].stroke_width(1)
            } else {
                PALETTE[3].stroke_width(2)
            };
            // A line per run of slices with answers, not across the empty ones.
            for run in s.points.chunk_by(|a, b| b.x - a.x < slice * 1.5) {
                let run = run.iter().map(|p| (p.x, p.y));
                if dashed {
                    chart.draw_secondary_series(DashedLineSeries::new(run, 4, 3, style))?;
                } else {
                    chart.draw_secondary_series(LineSeries::new(run, style))?;
                }
            }
            chart
                .draw_secondary_series(std::iter::empty::<Circle<(f64, f64), i32>>())?
                .label(&s.name)
                .legend(line_key!(style, dashed));
        }
        for (s, colour, dashed) in &markers {
            let style = colour.stroke_width(if *dashed { 2 } else { 3 });
            let dashed = *dashed;
            for p in &s.points {
                let line = [(p.x, 0.0), (p.x, max_y)];
                if dashed {
                    chart.draw_series(DashedLineSeries::new(line, 6, 4, style))?;
                } else {
                    chart.draw_series(LineSeries::new(line, style))?;
                }
            }
            chart
                .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())?
                .label(&s.name)
                .legend(line_key!(style, dashed));
        }
        legend(&mut *chart, SeriesLabelPosition::UpperLeft)
    });
    let mut series = bars;
    series.extend(lines);
    series.extend(markers.into_iter().map(|(s, _, _)| s));
    (series, svg)
}

pub(crate) type DrawResult = Result<(), Box<dyn std::error::Error + 'static>>;

fn draw(title: &str, f: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> DrawResult) -> String {
    draw_sized(title, SIZE, f)
}

/// Runs `f` on a white SVG canvas of `size` and returns the SVG; a drawing error (none is
/// expected: the canvas is memory) leaves a note in the SVG instead of a chart.
pub(crate) fn draw_sized(
    title: &str,
    size: (u32, u32),
    f: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> DrawResult,
) -> String {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        let outcome = root
            .fill(&WHITE)
            .map_err(|e| e.to_string())
            .and_then(|()| f(&root).map_err(|e| e.to_string()))
            .and_then(|()| root.present().map_err(|e| e.to_string()));
        if let Err(err) = outcome {
            let _ = root.draw(&Text::new(
                format!("{title}: could not draw: {err}"),
                (10, 20),
                ("sans-serif", 14),
            ));
        }
    }
    svg
}

fn builder<'a, 'b>(
    area: &'a DrawingArea<SVGBackend<'b>, Shift>,
    title: &str,
) -> ChartBuilder<'a, 'b, SVGBackend<'b>> {
    let mut builder = ChartBuilder::on(area);
    builder
        .caption(title, ("sans-serif", 20))
        .margin(14)
        .x_label_area_size(50)
        .y_label_area_size(80);
    builder
}

/// The chart's legend at `position`, on a white, framed box.
fn legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.5))
        .label_font(("sans-serif", 13))
        .draw()?;
    Ok(())
}

fn style(i: usize) -> ShapeStyle {
    PALETTE[i % PALETTE.len()].stroke_width(2)
}

/// The name of category `value` on an axis of categories 0, 1, 2, …; empty between them.
fn category_label(names: &[String], value: f64) -> String {
    let index = value.round();
    if (value - index).abs() < 1e-6 && index >= 0.0 {
        names.get(index as usize).cloned().unwrap_or_default()
    } else {
        String::new()
    }
}

fn max_of(series: &[Series], f: impl Fn(&Point) -> f64) -> f64 {
    series
        .iter()
        .flat_map(|s| &s.points)
        .map(f)
        .fold(0.0, f64::max)
        .max(f64::MIN_POSITIVE)
}

fn group_title(group: &GroupKey) -> String {
    let mut title = format!(
        "{} vCPU, {}, {} connection{}",
        group.cpu.vcpus,
        group.endpoint,
        group.connections,
        if group.connections == 1 { "" } else { "s" }
    );
    if !group.keep_alive {
        title.push_str(", one per request");
    }
    match group.rate {
        Some(RateSpec::PerSecond(rate)) => {
            let _ = write!(title, ", fixed rate {rate} req/s");
        }
        Some(RateSpec::ShareOfMax(percent)) => {
            let _ = write!(title, ", fixed rate {percent} % of max");
        }
        None => {}
    }
    title
}

/// `p99.9` for 3 on the nines scale; empty between the named percentiles.
fn percentile_label(nines: f64) -> String {
    QUANTILES
        .iter()
        .find(|&&q| (-(1.0 - q).log10() - nines).abs() < 0.02)
        .map(|&q| {
            let percent = q * 100.0;
            let text = format!("{percent:.2}");
            format!("p{}", text.trim_end_matches('0').trim_end_matches('.'))
        })
        .unwrap_or_default()
}

/// `48.2k`, `950`.
fn si(value: f64) -> String {
    if value >= 1000.0 {
        format!("{:.0}k", value / 1000.0)
    } else {
        format!("{value:.0}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Framework;

    #[test]
    fn every_chart_of_a_run_is_drawn_with_its_titles_and_legend() {
        let results = crate::export::tests::sample();
        let charts = charts(&results);
        let names: Vec<&str> = charts.iter().map(|c| c.file_name.as_str()).collect();
        assert_eq!(names[..2], ["throughput-0.5cpu.svg", "throughput-1cpu.svg"]);
        assert!(names.contains(&"latency-0.5cpu-hello-c64.svg"), "{names:?}");
        assert!(names.contains(&"cpu-1cpu-sleep-100ms-c1.svg"), "{names:?}");
        assert!(names.contains(&"memory-0.5cpu-hello-c1.svg"), "{names:?}");
        assert_eq!(names.last(), Some(&"cold-start.svg"));
        for chart in &charts {
            assert!(chart.svg.starts_with("<svg"), "{}", chart.file_name);
            assert!(!chart.svg.contains("could not draw"), "{}", chart.file_name);
            for text in [&chart.title, &chart.x_title, &chart.y_title] {
                // plotters escapes nothing in these texts but '&', '<' and '>', none here.
                assert!(
                    chart.svg.contains(text.as_str()),
                    "{}: {text}",
                    chart.file_name
                );
            }
        }
    }

    #[test]
    fn throughput_has_a_line_per_framework_in_connection_order() {
        let results = crate::export::tests::sample();
        let chart = throughput(&results, &CpuQuota::fargate(0.5)).unwrap();
        let names: Vec<&str> = chart.series.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["axum", "hyper"]);
        let axum: Vec<f64> = chart.series[0].points.iter().map(|p| p.x).collect();
        assert_eq!(
            axum,
            [1.0, 64.0],
            "axum at both connection counts, in order"
        );
        // hyper's 64-connection cell failed: one point.
        assert_eq!(chart.series[1].points.len(), 1);
        assert!(chart.series[0].points.iter().all(|p| p.whisker.is_some()));
        for name in names {
            assert!(chart.svg.contains(name), "the legend names {name}");
        }
    }

    #[test]
    fn latency_curves_rise_through_the_percentiles() {
        let results = crate::export::tests::sample();
        let (group, _) = results.matrix.groups()[1].clone();
        let chart = latency_curves(&results, &group).unwrap();
        assert_eq!(chart.series.len(), 1, "the hyper cell of that group failed");
        let points = &chart.series[0].points;
        assert_eq!(points.len(), QUANTILES.len());
        assert!(
            points
                .windows(2)
                .all(|w| w[0].x < w[1].x && w[0].y <= w[1].y)
        );
        assert_eq!(percentile_label(3.0), "p99.9");
        assert_eq!(percentile_label(-(0.5f64.log10())), "p50");
        assert_eq!(percentile_label(1.5), "");
    }

    #[test]
    fn cold_starts_are_a_row_per_image_with_every_run() {
        let results = crate::export::tests::sample();
        let chart = cold_starts(&results).unwrap();
        let rows: Vec<(&str, usize)> = chart
            .series
            .iter()
            .map(|s| (s.name.as_str(), s.points.len()))
            .collect();
        assert_eq!(
            rows,
            [
                ("axum (scratch)", 5),
                ("hyper (scratch)", 4),
                ("axum (process)", 5)
            ]
        );
        let _ = Framework::Axum;
    }

    #[test]
    fn timeline_lays_the_repetitions_end_to_end_and_marks_failures() {
        let results = crate::export::tests::sample();
        let cell = measured(&results).next().unwrap();
        let chart = timeline(&results, cell).unwrap();
        assert_eq!(
            chart.file_name,
            format!("timeline-{}.svg", cell.id.replace('/', "-"))
        );
        let names: Vec<&str> = chart.series.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["2xx req/s", "failures per s", "p50, ms", "p99, ms"]);
        let reps = cell.repetitions.len();
        let rate = &chart.series[0].points;
        assert_eq!(rate.len(), reps * 10, "ten seconds a repetition");
        assert!(rate.windows(2).all(|w| w[0].x < w[1].x), "in time order");
        assert_eq!(rate[0].x, 0.5, "a second is drawn at its middle");
        let last = rate.last().unwrap().x;
        assert_eq!(last, reps as f64 * 10.0 - 0.5);
        // The sample's sixth second of each repetition answered some requests with 503.
        let failures: Vec<f64> = chart.series[1].points.iter().map(|p| p.x).collect();
        let expected: Vec<f64> = (0..reps).map(|r| r as f64 * 10.0 + 5.5).collect();
        assert_eq!(failures, expected);
        let p99 = &chart.series[3].points;
        assert!(p99[5].y > p99[4].y, "the sixth second's p99 doubled");
        assert!(chart.svg.contains("failures per s"));

        // Requests sent in the sliver past the duration count with the last second.
        let mut late = cell.clone();
        late.repetitions[0].timeline.push(Second {
            ok_2xx: 7,
            other_status: 0,
            p50_us: None,
            p99_us: None,
        });
        let with_late = timeline(&results, &late).unwrap();
        assert_eq!(with_late.series[0].points.len(), reps * 10);
        assert_eq!(with_late.series[0].points[9].y, rate[9].y + 7.0);

        // A cell without timelines (results older than the field) has no such chart.
        let mut old = cell.clone();
        for r in &mut old.repetitions {
            r.timeline.clear();
        }
        assert!(timeline(&results, &old).is_none());
    }

    #[test]
    fn image_sizes_stack_the_binary_on_the_base_with_the_compressed_size_beside() {
        use crate::catalog::Base;
        use crate::images::BaseOrigin;
        let row =
            |framework: Framework, base: Base, binary: Bytes, image: Bytes, gz: Bytes| ImageRow {
                framework,
                base,
                tag: format!("benchlab/{framework}:{base}"),
                image_id: "sha256:0".to_owned(),
                binary_bytes: binary,
                image_bytes: image,
                compressed_bytes: gz,
                layers: 1,
                files: 1,
                shell: None,
                package_manager: None,
                user: "65532:65532".to_owned(),
                base_provenance: BaseOrigin::Scratch,
                registry: None,
            };
        let rows = [
            row(
                Framework::Hyper,
                Base::Debian,
                1_500_000,
                75_500_000,
                29_000_000,
            ),
            row(
                Framework::Axum,
                Base::Debian,
                1_800_000,
                75_800_000,
                29_200_000,
            ),
            row(
                Framework::Axum,
                Base::Scratch,
                1_800_000,
                1_800_000,
                840_000,
            ),
        ];
        let chart = image_sizes(&rows).unwrap();
        let names: Vec<&str> = chart.series.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            ["base", "service binary", "compressed (every layer gzipped)"]
        );
        // Grouped by base in catalog order, then framework: scratch first, at the top.
        let ys: Vec<f64> = chart.series[1].points.iter().map(|p| p.y).collect();
        assert_eq!(ys, [2.0, 1.0, 0.0]);
        let xs = |i: usize| -> Vec<f64> { chart.series[i].points.iter().map(|p| p.x).collect() };
        assert_eq!(xs(0), [0.0, 74.0, 74.0], "scratch has no base bytes");
        assert_eq!(xs(1), [1.8, 1.8, 1.5]);
        assert_eq!(xs(2), [0.84, 29.2, 29.0]);
        for label in [
            "axum (scratch)",
            "hyper (debian)",
            "75.8 MB (binary 1.80 MB)",
            "840 kB gzipped",
        ] {
            assert!(chart.svg.contains(label), "{label}");
        }
        assert!(image_sizes(&[]).is_none());
    }

    #[test]
    fn deploy_timeline_stacks_every_request_of_a_slice_and_marks_the_events() {
        let results = crate::deploy::sample();
        let report = |i: usize| results.swaps[i].report().unwrap();
        // hyper's naive swap: blue, then reset, 502 and timeouts, then green; blue killed.
        let naive = report(3);
        let (series, svg) = deploy_timeline_drawn(naive, "hyper, naive");
        let names: Vec<&str> = series.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "blue 2xx",
                "green 2xx",
                "failed: 502",
                "failed: reset",
                "failed: timeout",
                "TTLB p50, ms",
                "TTLB p99, ms",
                "green ready",
                "switch",
                "SIGTERM",
                "blue exited"
            ]
        );
        // A bar per 100 ms slice at its middle; the stack is every request of the slice.
        let bars = &series[..5];
        assert!(bars.iter().all(|s| s.points.len() == 20));
        assert_eq!(bars[0].points[0].x, 0.05);
        assert_eq!(bars[0].points[19].x, 1.95);
        for (i, bucket) in naive.buckets.iter().enumerate() {
            let stacked: f64 = bars.iter().map(|s| s.points[i].y).sum();
            let requests = bucket.blue
                + bucket.green
                + bucket.unattributed
                + bucket.failed.values().sum::<u64>();
            assert_eq!(stacked, requests as f64, "slice {i}");
        }
        let total = |s: &Series| s.points.iter().map(|p| p.y).sum::<f64>();
        let totals: Vec<f64> = bars.iter().map(total).collect();
        assert_eq!(totals, [100.0, 70.0, 12.0, 10.0, 8.0]);
        // Connection errors have no TTLB: the slice of resets alone (1.0–1.1 s) has no point.
        assert_eq!(series[6].points.len(), 19);
        assert!(series[6].points.iter().all(|p| p.x != 1.05));
        let events: Vec<f64> = series[7..].iter().map(|s| s.points[0].x).collect();
        assert_eq!(events, [1.29, 1.0, 1.0, 1.051]);

        // axum's blue-green swap: no failure, one reload at the switch.
        let (series, _) = deploy_timeline_drawn(report(0), "axum, blue-green");
        let names: Vec<&str> = series.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names[..3], ["blue 2xx", "green 2xx", "TTLB p50, ms"]);
        assert_eq!(series.last().unwrap().name, "nginx reload");
        assert_eq!(series.last().unwrap().points[0].x, 1.0);
        let p99 = &series[3].points;
        assert_eq!(p99.len(), 20);
        assert_eq!(p99[15].y, 80.0, "the slow answer at 1.5 s");

        assert_eq!(deploy_timeline(naive, "hyper, naive"), svg);
        assert!(svg.starts_with("<svg"));
        assert!(!svg.contains("could not draw"));
        for text in [
            "hyper, naive",
            "requests per 100 ms",
            "TTLB per 100 ms, ms (log scale)",
            "seconds since the load began",
            "failed: timeout",
            "blue exited",
        ] {
            assert!(svg.contains(text), "{text}");
        }
    }
}
