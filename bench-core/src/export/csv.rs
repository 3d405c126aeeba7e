//! `results.csv`: one row per recorded cell with every summary column and its flags, for
//! spreadsheets and plotting. Exact values; an empty field is a value that does not exist
//! (no 2xx response, no repetition, not a calibration cell, no Fargate size for the quota)
//! or was not measured (the server's CPU, memory and throttling under the ecs backend).

use crate::compare::Member;
use crate::fargate::cost::{CellCost, Platform};
use crate::results::{CellResult, Flag, Outcome, RunResults};
use crate::stats::Spread;

/// The header, in order. Units are in the names; `_cv` columns are fractions.
pub const CSV_COLUMNS: &[&str] = &[
    "id",
    "framework",
    "base",
    "vcpus",
    "memory_mib",
    "workers",
    "endpoint",
    "connections",
    "keep_alive",
    "generator",
    "rate",
    "target_rate",
    "status",
    "failed_stage",
    "failure_reason",
    "repetitions",
    "rate_2xx_median",
    "rate_2xx_min",
    "rate_2xx_max",
    "rate_2xx_cv",
    "rate_2xx_ci_low",
    "rate_2xx_ci_high",
    "rate_2xx_ci_coverage",
    "baseline_id",
    "of_baseline_ratio",
    "of_baseline_ci_low",
    "of_baseline_ci_high",
    "versus_baseline",
    "rate_per_vcpu",
    "fargate_size",
    "usd_per_million_x86",
    "usd_per_million_arm",
    "latency_count",
    "latency_p50_us",
    "latency_p90_us",
    "latency_p99_us",
    "latency_p99_9_us",
    "latency_max_us",
    "latency_p99_us_repetition_min",
    "latency_p99_us_repetition_max",
    "success_ratio_median",
    "server_cpu_percent_median",
    "server_cpu_percent_min",
    "server_cpu_percent_max",
    "cpu_us_per_request_median",
    "cpu_us_per_request_min",
    "cpu_us_per_request_max",
    "anon_mean_bytes_median",
    "peak_bytes_max",
    "throttled_share_median",
    "stalled_share_median",
    "generator_cpu_percent_median",
    "generator_bound",
    "noisy",
    "unsuccessful",
    "p99_cliff",
    "timing_check_expected_rate",
    "timing_check_deviation_percent",
    "rate_shortfall_percent",
    "started",
    "ready_ms",
    "stop_ms",
    "flags",
];

/// `results.csv`: [`CSV_COLUMNS`], then a row per recorded cell in matrix order.
pub fn csv(results: &RunResults) -> String {
    let rows = results.cells.iter().map(|cell| {
        let member = results
            .comparisons
            .iter()
            .find_map(|group| group.member(&cell.id));
        let row = row(cell, member, results.cost(cell).as_ref());
        debug_assert_eq!(row.len(), CSV_COLUMNS.len());
        row
    });
    table(CSV_COLUMNS, rows)
}

/// A CSV file of `header` and `rows` (each as long as the header), as a string: every CSV
/// benchlab writes.
pub(crate) fn table<H: AsRef<[u8]>>(
    header: impl IntoIterator<Item = H>,
    rows: impl IntoIterator<Item = Vec<String>>,
) -> String {
    let mut writer = ::csv::Writer::from_writer(Vec::new());
    writer
        .write_record(header)
        .expect("writing to memory cannot fail");
    for row in rows {
        writer
            .write_record(&row)
            .expect("writing to memory cannot fail");
    }
    let bytes = writer.into_inner().expect("writing to memory cannot fail");
    String::from_utf8(bytes).expect("every field is a Rust string")
}

pub(crate) fn num(value: f64) -> String {
    value.to_string()
}

pub(crate) fn opt(value: Option<f64>) -> String {
    value.map(num).unwrap_or_default()
}

fn spread3(spread: Option<&Spread>) -> [String; 3] {
    [
        opt(spread.map(|s| s.median)),
        opt(spread.map(|s| s.min)),
        opt(spread.map(|s| s.max)),
    ]
}

/// `cost` is the cell's at the run's prices, `None` when it has none.
fn row(result: &CellResult, member: Option<&Member>, cost: Option<&CellCost>) -> Vec<String> {
    let cell = &result.cell;
    let summary = result.summary.as_ref();
    let (status, stage, reason) = match &result.outcome {
        Outcome::Measured => ("measured", String::new(), String::new()),
        Outcome::Incomplete => ("incomplete", String::new(), String::new()),
        Outcome::Failed { stage, reason } => ("failed", stage.name().to_owned(), reason.clone()),
    };
    let (expected, deviation) = result
        .flags
        .iter()
        .find_map(|flag| match flag {
            Flag::TimingCheck {
                expected_rate,
                deviation_percent,
                ..
            } => Some((num(*expected_rate), num(*deviation_percent))),
            _ => None,
        })
        .unwrap_or_default();
    let has = |name: &str| result.flags.iter().any(|f| f.name() == name).to_string();
    let flags: Vec<&str> = result.flags.iter().map(Flag::name).collect();

    let mut row = vec![
        result.id.clone(),
        cell.framework.to_string(),
        cell.base.to_string(),
        num(cell.cpu.vcpus),
        cell.cpu.memory_mib.to_string(),
        cell.workers().to_string(),
        cell.endpoint.path(),
        cell.connections.to_string(),
        cell.keep_alive.to_string(),
        cell.generator.to_string(),
        cell.rate.map(|r| r.spec()).unwrap_or_default(),
        opt(
            crate::stats::Spread::of(result.repetitions.iter().filter_map(|r| r.target_rate))
                .map(|s| s.median),
        ),
        status.to_owned(),
        stage,
        reason,
        result.repetitions.len().to_string(),
    ];
    row.extend(spread3(summary.map(|s| &s.rate_2xx)));
    row.push(opt(summary.and_then(|s| s.rate_2xx.cv)));
    let interval = summary.and_then(|s| s.rate_estimate.interval);
    row.push(opt(interval.map(|i| i.low)));
    row.push(opt(interval.map(|i| i.high)));
    row.push(opt(interval.map(|i| i.coverage)));
    let relative = member.and_then(|m| m.relative);
    row.push(member.and_then(|m| m.baseline.clone()).unwrap_or_default());
    row.push(opt(relative.map(|r| r.median)));
    row.push(opt(relative.and_then(|r| r.interval).map(|i| i.low)));
    row.push(opt(relative.and_then(|r| r.interval).map(|i| i.high)));
    row.push(
        relative
            .map(|r| r.relation().name().to_owned())
            .unwrap_or_default(),
    );
    row.push(opt(summary.and_then(|s| s.rate_per_vcpu)));
    // The size is known whether or not the cell has a cost.
    let size = cell
        .cpu_quota()
        .and_then(|quota| quota.billed_fargate_size());
    row.push(size.map(|s| s.to_string()).unwrap_or_default());
    for platform in Platform::ALL {
        row.push(opt(cost.map(|c| c.on(platform).median)));
    }
    let latency = summary.and_then(|s| s.latency);
    row.push(latency.map(|l| l.count.to_string()).unwrap_or_default());
    row.push(opt(latency.map(|l| l.p50_us)));
    row.push(opt(latency.map(|l| l.p90_us)));
    row.push(opt(latency.map(|l| l.p99_us)));
    row.push(opt(latency.map(|l| l.p99_9_us)));
    row.push(opt(latency.map(|l| l.max_us)));
    let p99 = summary.and_then(|s| s.latency_p99_us);
    row.push(opt(p99.map(|s| s.min)));
    row.push(opt(p99.map(|s| s.max)));
    row.push(opt(summary.map(|s| s.success_ratio.median)));
    row.extend(spread3(summary.and_then(|s| s.server_cpu_percent.as_ref())));
    row.extend(spread3(summary.and_then(|s| s.cpu_us_per_request.as_ref())));
    row.push(opt(summary
        .and_then(|s| s.anon_mean_bytes)
        .map(|s| s.median)));
    row.push(
        summary
            .and_then(|s| s.peak_bytes)
            .map(|b| b.to_string())
            .unwrap_or_default(),
    );
    row.push(opt(summary
        .and_then(|s| s.throttled_share)
        .map(|s| s.median)));
    row.push(opt(summary.and_then(|s| s.stalled_share)));
    row.push(opt(summary.map(|s| s.generator_cpu_percent.median)));
    row.push(has("generator-bound"));
    row.push(has("noisy"));
    row.push(has("unsuccessful"));
    row.push(has("p99-cliff"));
    row.push(expected);
    row.push(deviation);
    row.push(opt(result.flags.iter().find_map(|flag| match flag {
        Flag::RateShortfall {
            shortfall_percent, ..
        } => Some(*shortfall_percent),
        _ => None,
    })));
    row.push(result.started.clone().unwrap_or_default());
    row.push(opt(result.lifecycle.ready_ms));
    row.push(opt(result.lifecycle.stop_ms));
    row.push(flags.join(";"));
    row
}
