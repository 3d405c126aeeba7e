//! Snapshot tests of the three exporters on one hand-built run.
//!
//! The run below is a test fixture, not a measurement: its numbers are invented to be
//! plausible and to exercise every case an exporter meets (a generator-bound cell, a noisy
//! one, calibrations in and out of tolerance, an OOM-killed cell, a cell not run, images,
//! startup with a failed cold start).

use std::collections::BTreeMap;
use std::time::Duration;

use super::{CSV_COLUMNS, csv, json, markdown};
use crate::catalog::{Base, Framework, Packaging};
use crate::oha::{Latency, LatencyScope, LoadReport};
use crate::plan::{Cell, CpuQuota, Endpoint, Matrix};
use crate::results::{
    Artifact, CellResult, GeneratorUsage, ImageInfo, Lifecycle, Provenance, Repetition, RunResults,
    ServerUsage, Stage, StartupResult,
};

/// A repetition of 10 s at `rate` 2xx/s with a p99 of `p99_us`, the server at `server_cpu`
/// % and `mem_mib` MiB, oha at `generator_cpu` % of one core.
fn rep(rate: f64, p99_us: f64, server_cpu: f64, generator_cpu: f64, mem_mib: u64) -> Repetition {
    let ok = (rate * 10.0).round() as u64;
    let wall = Duration::from_secs(10);
    Repetition {
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
        server: ServerUsage::from_readings(
            wall.mul_f64(server_cpu / 100.0),
            wall,
            ok,
            &[(mem_mib << 20) - (256 << 10), mem_mib << 20],
        ),
        generator: GeneratorUsage::from_readings(wall.mul_f64(generator_cpu / 100.0), wall, 1),
    }
}

fn sample() -> RunResults {
    let matrix = Matrix {
        frameworks: vec![Framework::Axum, Framework::Hyper],
        cpus: vec![CpuQuota::fargate(0.5), CpuQuota::fargate(1.0)],
        connections: vec![1, 64],
        endpoints: vec![Endpoint::Hello, Endpoint::Sleep { ms: 100 }],
        warmup: Duration::from_secs(3),
        duration: Duration::from_secs(10),
        repetitions: 3,
        startup_runs: 5,
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
    };
    let mut results = RunResults::new(provenance, matrix.clone());
    let lifecycle = Lifecycle {
        ready_ms: Some(287.5),
        stop_ms: Some(12.25),
        killed: false,
    };
    let cells = matrix.cells();
    // The last cell is left out: the run was interrupted before it.
    for cell in &cells[..cells.len() - 1] {
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
            vec![
                rep(rate, 101_200.0, 2.0, 1.5, 3),
                rep(rate * 1.001, 101_300.0, 2.1, 1.5, 3),
                rep(rate * 0.999, 101_100.0, 2.0, 1.4, 3),
            ]
        }
        (Endpoint::Hello, 1) => {
            let rate = 6_100.0 * fast;
            vec![
                rep(rate, 310.0, 38.0 * v, 45.0, 3),
                rep(rate * 1.01, 305.0, 38.5 * v, 45.0, 3),
                rep(rate * 0.99, 315.0, 37.5 * v, 46.0, 3),
            ]
        }
        (Endpoint::Hello, _) if v == 1.0 && cell.framework == Framework::Axum => vec![
            // oha saturated, the server at 76 % of its core.
            rep(76_400.0, 2_100.0, 76.0, 97.0, 5),
            rep(75_900.0, 2_150.0, 75.5, 97.5, 5),
            rep(76_800.0, 2_050.0, 76.5, 96.5, 5),
        ],
        (Endpoint::Hello, _) if v == 1.0 => vec![
            // A noisy cell: the third repetition fell behind.
            rep(79_000.0, 1_900.0, 79.0, 95.0, 5),
            rep(78_600.0, 1_950.0, 78.0, 95.0, 5),
            rep(61_000.0, 2_600.0, 61.0, 80.0, 5),
        ],
        (Endpoint::Hello, _) if cell.framework == Framework::Hyper => {
            return CellResult::failed(
                cell.clone(),
                Stage::Load,
                "OOM-killed: the container exceeded its 1024 MiB memory limit".to_owned(),
                vec![rep(49_000.0, 2_700.0, 49.5, 62.0, 1020)],
                lifecycle,
            );
        }
        (Endpoint::Hello, _) => vec![
            rep(47_800.0, 2_600.0, 49.6, 60.0, 4),
            rep(48_200.0, 2_550.0, 49.7, 60.5, 4),
            rep(48_000.0, 2_580.0, 49.5, 60.2, 4),
        ],
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
    insta::assert_snapshot!(csv);
}

#[test]
fn json_snapshot_reads_back() {
    let results = sample();
    let json = json(&results);
    assert_eq!(RunResults::from_json(&json).unwrap(), results);
    insta::assert_snapshot!(json);
}
