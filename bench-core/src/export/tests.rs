//! Snapshot tests of the three exporters on one hand-built run.
//!
//! The run below is a test fixture, not a measurement: its numbers are invented to be
//! plausible and to exercise every case an exporter meets (a generator-bound cell, a noisy
//! one, timing checks in and out of tolerance, a p99 cliff, HDR latency, an OOM-killed cell,
//! an incomplete cell, a cell not run, images, startup with a failed cold start), and a run
//! of the ecs backend, whose server usage was not measured.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{CSV_COLUMNS, csv, json, markdown};
use crate::catalog::{Backend, Base, Framework, Generator, Packaging};
use crate::charts::ChartKind;
use crate::oha::{Latency, LatencyScope, LoadReport};
use crate::plan::{Cell, CpuQuota, Endpoint, Matrix, RateSpec};
use crate::results::{
    Artifact, CellResult, EcsProvenance, FlagKind, GeneratorUsage, ImageInfo, Lifecycle,
    Provenance, Repetition, RunResults, ServerUsage, Session, Stage, StartupResult, Throttling,
};

/// A repetition of 10 s in `round` at `rate` 2xx/s with a p99 of `p99_us`, the server at
/// `server_cpu` % and `mem_mib` MiB, oha at `generator_cpu` % of one core; `throttled` of
/// 100 CFS periods stalled.
#[allow(clippy::too_many_arguments)]
fn rep(
    round: u32,
    rate: f64,
    p99_us: f64,
    server_cpu: f64,
    generator_cpu: f64,
    mem_mib: u64,
    throttled: u64,
) -> Repetition {
    let ok = (rate * 10.0).round() as u64;
    let wall = Duration::from_secs(10);
    // A latency distribution with that p99: 98.5 % around a fifth of it, 1.5 % at it.
    let mut histogram = crate::latency::histogram();
    histogram
        .record_n((p99_us * 1e3 / 5.0) as u64, 985)
        .expect("in range");
    histogram
        .record_n((p99_us * 1e3) as u64, 15)
        .expect("in range");
    Repetition {
        round,
        started: format!("2025-01-02T03:{:02}:{:02}Z", 5 + round, (rate as u64) % 60),
        target_rate: None,
        latency_histogram: Some(crate::latency::encode(&histogram).unwrap()),
        // Ten seconds at the rate; in the sixth, 2 % of the requests answered 503 and p99
        // doubled.
        timeline: (0..10)
            .map(|second| crate::latency::Second {
                ok_2xx: ok / 10,
                other_status: if second == 5 { ok / 500 } else { 0 },
                p50_us: Some(p99_us / 5.0),
                p99_us: Some(if second == 5 { p99_us * 2.0 } else { p99_us }),
            })
            .collect(),
        load: LoadReport {
            total: ok + 3,
            ok_2xx: ok,
            aborted_at_deadline: 3,
            measured_secs: 10.0,
            rate_2xx: rate,
            success_ratio: 1.0,
            latency: Latency {
                scope: LatencyScope::Successful,
                mean: Some(p99_us / 4.0),
                p50: Some(p99_us / 5.0),
                p90: Some(p99_us / 2.0),
                p99: Some(p99_us),
                p99_9: Some(p99_us * 2.0),
                max: Some(p99_us * 6.0),
            },
            status_codes: BTreeMap::from([(200, ok)]),
            errors: BTreeMap::from([("aborted due to deadline".to_owned(), 3)]),
        },
        server: Some(ServerUsage::from_readings(
            wall.mul_f64(server_cpu / 100.0),
            wall,
            ok,
            &[(mem_mib << 20) - (256 << 10), mem_mib << 20],
            Some((mem_mib + 2) << 20),
            Some(Throttling {
                periods: 100,
                throttled_periods: throttled,
                throttled_us: throttled * 45_000,
            }),
        )),
        generator: GeneratorUsage::from_readings(wall.mul_f64(generator_cpu / 100.0), wall, 1, 1),
    }
}

/// Six rounds of `rep`, the rate scaled round by round by `factors`.
fn rounds(
    factors: [f64; 6],
    rate: f64,
    p99_us: f64,
    server_cpu: f64,
    generator_cpu: f64,
    mem_mib: u64,
    throttled: u64,
) -> Vec<Repetition> {
    factors
        .iter()
        .enumerate()
        .map(|(round, f)| {
            rep(
                round as u32,
                rate * f,
                p99_us,
                server_cpu,
                generator_cpu,
                mem_mib,
                throttled,
            )
        })
        .collect()
}

/// The machine's drift, round by round, which every cell of a group sees alike.
const DRIFT: [f64; 6] = [1.0, 0.97, 1.02, 1.01, 0.98, 1.0];

pub(crate) fn sample() -> RunResults {
    let matrix = Matrix {
        frameworks: vec![Framework::Axum, Framework::Hyper],
        cpus: vec![CpuQuota::fargate(0.5), CpuQuota::fargate(1.0)],
        connections: vec![1, 64],
        endpoints: vec![Endpoint::Hello, Endpoint::Sleep { ms: 100 }],
        warmup: Duration::from_secs(3),
        duration: Duration::from_secs(10),
        repetitions: 6,
        startup_runs: 5,
        rates: Vec::new(),
        cross_check: Vec::new(),
        ..Matrix::default()
    };
    let provenance = Provenance {
        started: "2025-01-02T03:04:05Z".to_owned(),
        host: "lab-1".to_owned(),
        cpu_model: "Example CPU @ 2.0GHz".to_owned(),
        cores: 2,
        kernel: "6.1.0-28-amd64".to_owned(),
        docker_version: Some("20.10.24".to_owned()),
        rustc: "rustc 1.95.0 (59807616e 2026-01-01)".to_owned(),
        oha_version: "1.16.0".to_owned(),
        framework_versions: BTreeMap::from([
            (Framework::Axum, "0.8.9".to_owned()),
            (Framework::Hyper, "1.8.1".to_owned()),
        ]),
        git_commit: "0123456789abcdef0123456789abcdef01234567".to_owned(),
        git_dirty: true,
        cgroup: "v1 (tmpfs at /sys/fs/cgroup)".to_owned(),
        cpu_topology: "server CPU 1 (siblings 1), generator CPU 0 (siblings 0): no core shared"
            .to_owned(),
        cpu_governor: "none (no cpufreq)".to_owned(),
        cargo_lock_sha256: "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
            .to_owned(),
        images: vec![
            ImageInfo {
                framework: Framework::Axum,
                base: Base::Scratch,
                image: "benchlab/axum:scratch".to_owned(),
                digest: "sha256:aaaabbbbccccddddeeeeffff0000111122223333444455556666777788889999"
                    .to_owned(),
                size_bytes: 1_940_000,
                binary_sha256: "a1".repeat(32),
                base_provenance: "none (scratch)".to_owned(),
            },
            ImageInfo {
                framework: Framework::Hyper,
                base: Base::Scratch,
                image: "benchlab/hyper:scratch".to_owned(),
                digest: "sha256:1111222233334444555566667777888899990000aaaabbbbccccddddeeeeffff"
                    .to_owned(),
                size_bytes: 1_610_000,
                binary_sha256: "b2".repeat(32),
                base_provenance: "none (scratch)".to_owned(),
            },
        ],
        ..Provenance::default()
    };
    let mut results = RunResults::new(provenance, matrix.clone());
    results.sessions.push(Session {
        started: "2025-01-02T03:04:05Z".to_owned(),
        ended: Some("2025-01-02T03:30:00Z".to_owned()),
        resumed: false,
        forced_over: Vec::new(),
        steal_percent: Some(0.4),
    });
    let lifecycle = Lifecycle {
        ready_ms: Some(287.5),
        stop_ms: Some(12.25),
        killed: false,
    };
    let cells = matrix.cells();
    // The run was interrupted during the last group: its first cell has two of its six
    // repetitions, the last cell none.
    let incomplete = &cells[cells.len() - 2];
    results.record(CellResult::incomplete(
        incomplete.clone(),
        rounds(DRIFT, 6_000.0, 300.0, 40.0, 45.0, 3, 0)[..2].to_vec(),
        lifecycle.clone(),
    ));
    for cell in &cells[..cells.len() - 2] {
        let mut result = measure(cell, lifecycle.clone());
        let image = results
            .provenance
            .images
            .iter()
            .find(|image| image.framework == cell.framework)
            .expect("an image per framework");
        result.artifact = Artifact {
            binary_sha256: Some(image.binary_sha256.clone()),
            image_id: Some(image.digest.clone()),
        };
        results.record(result);
    }
    results.record_startup(StartupResult::new(
        Framework::Axum,
        Packaging::Image(Base::Scratch),
        vec![285.1, 279.4, 301.9, 290.0, 283.3],
        vec![],
    ));
    results.record_startup(StartupResult::new(
        Framework::Hyper,
        Packaging::Image(Base::Scratch),
        vec![281.0, 276.2, 288.8, 279.9],
        vec!["no 200 on /hello within 10s".to_owned()],
    ));
    results.record_startup(StartupResult::new(
        Framework::Axum,
        Packaging::Process,
        vec![1.48, 1.52, 1.61, 1.45, 1.5],
        vec![],
    ));
    results
}

/// Invented numbers for `cell`, one case per cell where the fixture needs it.
fn measure(cell: &Cell, lifecycle: Lifecycle) -> CellResult {
    let v = cell.cpu.vcpus;
    let fast = if cell.framework == Framework::Hyper {
        1.04
    } else {
        1.0
    };
    let reps = match (cell.endpoint, cell.connections) {
        (Endpoint::Sleep { .. }, c) => {
            let rate = f64::from(c) * 10.0 * if c == 64 { 0.97 } else { 0.995 };
            rounds(
                [1.0, 1.001, 0.999, 1.0, 1.0, 1.0],
                rate,
                101_200.0,
                2.0,
                1.5,
                3,
                0,
            )
        }
        // Hyper 4 % faster than axum in every round: a significant difference.
        (Endpoint::Hello, 1) => rounds(DRIFT, 6_100.0 * fast, 310.0, 38.0 * v, 45.0, 3, 0),
        // oha saturated, the server at 76 % of its core.
        (Endpoint::Hello, _) if v == 1.0 && cell.framework == Framework::Axum => {
            rounds(DRIFT, 76_400.0, 2_100.0, 76.0, 97.0, 5, 2)
        }
        // A noisy cell: the last repetition fell behind. Against axum, round by round, no
        // significant difference.
        (Endpoint::Hello, _) if v == 1.0 => rounds(
            [1.0, 0.99, 1.01, 1.0, 0.97, 0.80],
            78_600.0,
            1_950.0,
            78.0,
            95.0,
            5,
            2,
        ),
        (Endpoint::Hello, _) if cell.framework == Framework::Hyper => {
            return CellResult::failed(
                cell.clone(),
                Stage::Load,
                "OOM-killed: the container exceeded its 1024 MiB memory limit".to_owned(),
                vec![rep(0, 49_000.0, 2_700.0, 49.5, 62.0, 1020, 100)],
                lifecycle,
            );
        }
        // 0.5 vCPU, 64 connections: every period throttled, 64 × 100 / 480k = 1.3 % of
        // requests stalled: p99 on the cliff.
        (Endpoint::Hello, _) => rounds(DRIFT, 48_000.0, 45_000.0, 49.6, 60.0, 4, 100),
    };
    CellResult::measured(cell.clone(), reps, lifecycle)
}

#[test]
fn markdown_snapshot() {
    insta::assert_snapshot!(markdown(&sample()));
}

#[test]
fn csv_snapshot() {
    let csv = csv(&sample());
    let mut reader = ::csv::Reader::from_reader(csv.as_bytes());
    assert_eq!(reader.headers().unwrap().len(), CSV_COLUMNS.len());
    assert_eq!(reader.records().count(), 15, "a row per recorded cell");
    assert!(csv.contains(",incomplete,"));
    insta::assert_snapshot!(csv);
}

#[test]
fn json_snapshot_reads_back() {
    let results = sample();
    let json = json(&results);
    assert_eq!(RunResults::from_json(&json).unwrap(), results);
    insta::assert_snapshot!(json);
}

#[test]
fn a_fallback_to_processes_is_said_first_and_claims_no_quota() {
    let matrix = Matrix {
        backend: Backend::Process,
        frameworks: vec![Framework::Axum, Framework::Hyper],
        connections: vec![64],
        repetitions: 6,
        ..Matrix::default()
    };
    let mut results = RunResults::new(Provenance::default(), matrix.clone());
    results.backend_fallback = Some("no Docker engine answers at /var/run/docker.sock".to_owned());
    for cell in matrix.cells() {
        assert_eq!(cell.base, Packaging::Process);
        let reps = rounds(DRIFT, 90_000.0, 900.0, 97.0, 99.0, 4, 0)
            .into_iter()
            .map(|mut r| {
                if let Some(server) = &mut r.server {
                    server.throttling = None;
                }
                r
            })
            .collect();
        results.record(CellResult::measured(cell, reps, Lifecycle::default()));
    }
    let markdown = markdown(&results);
    let first_paragraph = markdown.split("\n\n").nth(1).unwrap();
    assert!(
        first_paragraph.starts_with("> **Measured with the process backend, by fallback**"),
        "{markdown}"
    );
    assert!(
        markdown.contains("## no quota (CPU 1, WORKERS=1) · /hello · 64 connections"),
        "{markdown}"
    );
    assert!(
        !markdown.contains("vCPU"),
        "no quota, no per-vCPU figure:\n{markdown}"
    );
    assert!(
        !markdown.contains("generator-bound"),
        "nothing to be bound against"
    );
    assert!(
        !markdown.contains("USD") && !markdown.contains("Fargate"),
        "a process has no Fargate size, so no cost:\n{markdown}"
    );
    assert!(
        results
            .cells
            .iter()
            .all(|c| c.summary.as_ref().unwrap().rate_per_vcpu.is_none())
    );
}

#[test]
fn the_report_is_one_self_contained_page_with_every_chart() {
    let results = sample();
    let charts = crate::charts::charts(&results);
    let page = super::html(&results, &charts);
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.contains("<table>"), "the tables are rendered");
    assert!(page.contains("What the flags mean"));
    assert_eq!(
        page.matches("<svg").count(),
        charts.len(),
        "every chart inline"
    );
    assert!(!page.contains("<script"), "no JavaScript");
    assert!(!page.contains("src=\"http"), "nothing from the network");
    assert!(!page.contains("<img"), "no image file to load");
    let markdown = super::markdown_with_charts(&results, &charts);
    assert!(
        markdown.contains("](charts/throughput-0.5cpu.svg)"),
        "{markdown}"
    );
}

/// A run of every load shape: closed loops with keep-alive and without (churn), a fixed rate
/// at half of each closed loop's maximum, and axum's cross-check under wrk.
fn shapes() -> RunResults {
    let matrix = Matrix {
        frameworks: vec![Framework::Axum, Framework::Hyper],
        cpus: vec![CpuQuota::fargate(0.5)],
        connections: vec![64],
        keep_alive: vec![true, false],
        rates: vec![RateSpec::ShareOfMax(50.0)],
        cross_check: vec![Framework::Axum],
        endpoints: vec![Endpoint::Hello],
        repetitions: 6,
        ..Matrix::default()
    };
    let mut results = sample();
    results.matrix = matrix.clone();
    results.cells.clear();
    results.startup.clear();
    for cell in matrix.cells() {
        let hyper = if cell.framework == Framework::Hyper {
            1.04
        } else {
            1.0
        };
        let churn = if cell.keep_alive { 1.0 } else { 0.3 };
        let wrk = if cell.generator == Generator::Wrk {
            1.05
        } else {
            1.0
        };
        let closed = 48_000.0 * hyper * churn;
        let mut reps = match cell.rate {
            // Axum's churn cell falls 3 % short of its target.
            Some(_) => {
                let short = if cell.framework == Framework::Axum && !cell.keep_alive {
                    0.97
                } else {
                    1.0
                };
                rounds([1.0; 6], closed * 0.5 * short, 900.0, 30.0, 40.0, 4, 10)
            }
            None => rounds(DRIFT, closed * wrk, 45_000.0 / wrk, 49.6, 60.0, 4, 100),
        };
        for r in &mut reps {
            r.target_rate = cell.rate.map(|_| closed * 0.5);
            // wrk costs the server less per request.
            if let Some(cpu) = r
                .server
                .as_mut()
                .and_then(|s| s.cpu_us_per_ok_request.as_mut())
            {
                *cpu /= wrk;
            }
        }
        results.record(CellResult::measured(cell, reps, Lifecycle::default()));
    }
    results
}

#[test]
fn every_load_shape_in_markdown_and_csv() {
    let results = shapes();
    assert_eq!(results.cells.len(), 9);
    assert_eq!(
        results.cross_checks.len(),
        1,
        "axum's closed loop with keep-alive"
    );
    let check = &results.cross_checks[0];
    assert_eq!(check.cell, "axum/scratch/0.5cpu/hello/c64");
    assert_eq!(check.twin, "axum/scratch/0.5cpu/hello/c64/wrk");
    assert!((check.rate.median - 1.05).abs() < 1e-9, "{check:?}");
    let short: Vec<&str> = results
        .cells
        .iter()
        .filter(|c| c.flag(FlagKind::RateShortfall).is_some())
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(short, ["axum/scratch/0.5cpu/hello/c64/churn/rate-50pct"]);
    let markdown = markdown(&results);
    assert!(
        !markdown.contains("| axum | scratch | 50.4k"),
        "wrk's twin stays out of the closed-loop table:\n{markdown}"
    );
    insta::assert_snapshot!(markdown);
    insta::assert_snapshot!(csv(&results));
}

/// The cost columns of `results.csv`: the size, x86 and ARM, per cell id.
fn costs(results: &RunResults) -> Vec<(String, String, String, String)> {
    let csv = csv(results);
    let mut reader = ::csv::Reader::from_reader(csv.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let column = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (id, size, x86, arm) = (
        column("id"),
        column("fargate_size"),
        column("usd_per_million_x86"),
        column("usd_per_million_arm"),
    );
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (
                r[id].to_owned(),
                r[size].to_owned(),
                r[x86].to_owned(),
                r[arm].to_owned(),
            )
        })
        .collect()
}

#[test]
fn costs_follow_the_recorded_prices() {
    let mut results = sample();
    let before = costs(&results);
    let axum = &before[0];
    assert_eq!(axum.0, "axum/scratch/0.5cpu/hello/c1");
    assert_eq!(axum.1, "0.5 vCPU / 1 GB");
    // 6,100 2xx/s on 0.5 vCPU / 1 GB: (0.5 × 0.04048 + 1 × 0.004445) ÷ 3600 ÷ 6100 × 10⁶.
    let x86: f64 = axum.2.parse().unwrap();
    assert!(
        (x86 - 0.024685 / 3600.0 / 6100.0 * 1e6).abs() < 1e-12,
        "{x86}"
    );

    let mut doubled = results.prices().clone();
    doubled.file = "doubled.toml".to_owned();
    for rates in [&mut doubled.table.linux_x86, &mut doubled.table.linux_arm] {
        rates.per_vcpu_hour *= 2.0;
        rates.per_gb_hour *= 2.0;
    }
    results.prices = Some(doubled);
    let after = costs(&results);
    for (old, new) in before.iter().zip(&after) {
        assert_eq!((&old.0, &old.1), (&new.0, &new.1));
        for (was, is) in [(&old.2, &new.2), (&old.3, &new.3)] {
            match (was.parse::<f64>(), is.parse::<f64>()) {
                (Ok(was), Ok(is)) => assert!((is / was - 2.0).abs() < 1e-12, "{}", old.0),
                _ => assert!(was.is_empty() && is.is_empty(), "{}", old.0),
            }
        }
    }
    assert!(markdown(&results).contains(
        "Prices: Fargate list prices of us-east-1 in USD, checked 2026-11-26, from `doubled.toml`."
    ),);

    // Older results recorded no prices: they are priced at the built-in table.
    results.prices = None;
    assert_eq!(costs(&results), before);
}

#[test]
fn a_quota_larger_than_any_fargate_size_has_no_cost() {
    let matrix = Matrix {
        frameworks: vec![Framework::Axum],
        cpus: vec![CpuQuota::fargate(32.0)],
        connections: vec![64],
        endpoints: vec![Endpoint::Hello],
        repetitions: 6,
        rates: Vec::new(),
        cross_check: Vec::new(),
        ..Matrix::default()
    };
    let mut results = RunResults::new(Provenance::default(), matrix.clone());
    for cell in matrix.cells() {
        let reps = rounds(DRIFT, 90_000.0, 900.0, 300.0, 99.0, 4, 0);
        results.record(CellResult::measured(cell, reps, Lifecycle::default()));
    }
    let markdown = markdown(&results);
    assert!(
        markdown.contains("No Fargate size holds this quota and memory: no cost."),
        "{markdown}"
    );
    let row = markdown
        .lines()
        .find(|l| l.starts_with("| axum | scratch |"))
        .unwrap();
    assert!(row.contains(" 2.81k | – | – |"), "{row}");
    let costs = costs(&results);
    assert_eq!(costs.len(), 1);
    assert_eq!(
        (&costs[0].1, &costs[0].2, &costs[0].3),
        (&String::new(), &String::new(), &String::new())
    );
}

/// A run of the ecs backend: each cell's server a Fargate task, whose CPU, memory and
/// throttling the runner cannot read, so no repetition has server usage. Axum's 64
/// connections saturate oha.
fn ecs() -> RunResults {
    let matrix = Matrix {
        backend: Backend::Ecs,
        frameworks: vec![Framework::Axum, Framework::Hyper],
        cpus: vec![CpuQuota::fargate(0.5)],
        connections: vec![1, 64],
        endpoints: vec![Endpoint::Hello],
        rates: vec![RateSpec::ShareOfMax(50.0)],
        cross_check: Vec::new(),
        repetitions: 6,
        ..Matrix::default()
    };
    matrix.validate().unwrap();
    let mut provenance = sample().provenance;
    provenance.docker_version = None;
    provenance.images = Vec::new();
    provenance.cpu_topology = "generator CPU 0 (siblings 0)".to_owned();
    provenance.ecs = Some(EcsProvenance {
        region: "us-east-1".to_owned(),
        cluster: "benchlab".to_owned(),
        endpoint: None,
        subnets: vec!["subnet-0a1b2c3d".to_owned(), "subnet-4e5f6a7b".to_owned()],
        security_groups: vec!["sg-0123abcd".to_owned()],
        registry: "123456789012.dkr.ecr.us-east-1.amazonaws.com".to_owned(),
        target: "each task's private IPv4 address".to_owned(),
    });
    let mut results = RunResults::new(provenance, matrix.clone());
    for cell in matrix.cells() {
        let hyper = if cell.framework == Framework::Hyper {
            1.04
        } else {
            1.0
        };
        let mut reps = match (cell.connections, cell.rate) {
            (1, _) => rounds(DRIFT, 4_100.0 * hyper, 520.0, 0.0, 35.0, 3, 0),
            (_, None) if cell.framework == Framework::Axum => {
                rounds(DRIFT, 41_000.0, 3_900.0, 0.0, 96.0, 3, 0)
            }
            (_, None) => rounds(DRIFT, 43_000.0, 3_700.0, 0.0, 85.0, 3, 0),
            (_, Some(_)) => rounds([1.0; 6], 21_000.0 * hyper, 1_800.0, 0.0, 50.0, 3, 0),
        };
        for r in &mut reps {
            r.server = None;
            r.target_rate = cell.rate.map(|_| 21_000.0 * hyper);
        }
        let mut result = CellResult::measured(cell.clone(), reps, Lifecycle::default());
        result.artifact = Artifact {
            binary_sha256: None,
            image_id: Some(format!("sha256:{}", "4d".repeat(32))),
        };
        results.record(result);
    }
    results
}

#[test]
fn an_ecs_run_says_what_was_not_measured_and_never_shows_it_as_0() {
    let results = ecs();
    assert_eq!(results.cells.len(), 6);
    for cell in &results.cells {
        let summary = cell.summary.as_ref().unwrap();
        assert_eq!(summary.server_cpu_percent, None, "{}", cell.id);
        assert_eq!(summary.anon_mean_bytes, None, "{}", cell.id);
        assert_eq!(summary.cpu_us_per_request, None, "{}", cell.id);
        assert_eq!(
            (
                summary.peak_bytes,
                summary.throttled_share,
                summary.stalled_share
            ),
            (None, None, None),
            "{}",
            cell.id
        );
        // The cost is the task size's, which the cell ran at.
        assert!(results.cost(cell).is_some(), "{}", cell.id);
    }
    let bound: Vec<&str> = results
        .cells
        .iter()
        .filter(|c| c.flag(FlagKind::GeneratorBound).is_some())
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(
        bound,
        ["axum/scratch/0.5cpu/hello/c64"],
        "on oha's CPU alone"
    );

    let markdown = markdown(&results);
    assert!(markdown.contains("Backend ecs: each cell's server is a Fargate task"));
    assert!(markdown.contains("## Fargate 0.5 vCPU / 1 GB (WORKERS=1) · /hello · 64 connections"));
    assert!(!markdown.contains("MiB |"), "no memory figure:\n{markdown}");
    assert!(
        !markdown.contains(" 0 % |"),
        "no server CPU of 0:\n{markdown}"
    );
    assert!(!markdown.contains("emulator"));
    insta::assert_snapshot!(markdown);

    let csv = csv(&results);
    let mut reader = ::csv::Reader::from_reader(csv.as_bytes());
    let headers = reader.headers().unwrap().clone();
    for record in reader.records() {
        let record = record.unwrap();
        for column in [
            "server_cpu_percent_median",
            "cpu_us_per_request_median",
            "anon_mean_bytes_median",
            "peak_bytes_max",
            "throttled_share_median",
            "stalled_share_median",
        ] {
            let i = headers.iter().position(|h| h == column).unwrap();
            assert_eq!(&record[i], "", "{column} of {}", &record[0]);
        }
    }
    insta::assert_snapshot!(csv);

    let json = json(&results);
    assert!(
        !json.contains("\"server\":"),
        "no repetition has server usage"
    );
    assert_eq!(RunResults::from_json(&json).unwrap(), results);
}

#[test]
fn an_ecs_report_draws_no_chart_of_what_was_not_measured() {
    let results = ecs();
    let charts = crate::charts::charts(&results);
    let kinds: Vec<ChartKind> = charts.iter().map(|c| c.kind).collect();
    assert!(kinds.contains(&ChartKind::Throughput) && kinds.contains(&ChartKind::Latency));
    assert!(
        !kinds.contains(&ChartKind::Cpu) && !kinds.contains(&ChartKind::Memory),
        "{kinds:?}"
    );
    let page = super::html(&results, &charts);
    assert_eq!(page.matches("<svg").count(), charts.len());
    let markdown = super::markdown_with_charts(&results, &charts);
    assert_eq!(
        markdown.matches("](charts/").count(),
        charts.len(),
        "a link for each chart drawn, none for a chart left out"
    );
    assert!(!markdown.contains("](charts/cpu-") && !markdown.contains("](charts/memory-"));
}

#[test]
fn tasks_of_an_emulator_are_said_to_be_no_fargate_first() {
    let mut results = ecs();
    if let Some(ecs) = &mut results.provenance.ecs {
        ecs.endpoint = Some("http://127.0.0.1:5050".to_owned());
    }
    let markdown = markdown(&results);
    let first_paragraph = markdown.split("\n\n").nth(1).unwrap();
    assert_eq!(
        first_paragraph,
        "> **Not Fargate: the AWS calls went to an emulator at http://127.0.0.1:5050** (`AWS_ENDPOINT_URL`), so the tasks were its stand-ins and every figure here is of the stand-in server, not of Fargate."
    );
}

#[test]
fn a_run_where_some_cells_lack_server_usage_charts_the_others_in_order() {
    let mut results = sample();
    // Axum's 0.5 vCPU /hello cell at 1 connection loses its server usage.
    let id = "axum/scratch/0.5cpu/hello/c1";
    let mut cell = results.cells.iter().find(|c| c.id == id).unwrap().clone();
    for r in &mut cell.repetitions {
        r.server = None;
    }
    let cell = CellResult::measured(cell.cell, cell.repetitions, cell.lifecycle);
    results.record(cell);
    let group = results
        .cells
        .iter()
        .find(|c| c.id == id)
        .unwrap()
        .cell
        .group();
    let cpu = crate::charts::cpu_per_request(&results, &group).unwrap();
    let names: Vec<(&str, f64)> = cpu
        .series
        .iter()
        .map(|s| (s.name.as_str(), s.points[0].x))
        .collect();
    assert_eq!(names, [("hyper", 0.0)], "hyper alone, first on the axis");
    let memory = crate::charts::memory(&results, &group).unwrap();
    assert_eq!(memory.series.len(), 1);
    let markdown = markdown(&results);
    assert!(markdown.contains(
        "Throttled periods, server CPU, CPU µs/req, anon and peak show – where the server's usage was not measured"
    ));
}
