//! `bench-runner run` as users call it, against a real engine: a quick run writes all three
//! result files with real measurements (HDR latency, throttling, memory) and passes its
//! timing check's arithmetic holds; `--out` never writes over a run; `--resume` refuses a run whose sources
//! differ unless forced; an interrupted run leaves no container and keeps its repetitions;
//! `--resume` completes it; a service that never becomes ready is a failed cell, recorded
//! with its reason, and the run's exit status says so.
//!
//! One test, in phases: every run removes the containers earlier runs left behind, so two
//! runs at once would remove each other's.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use bench_core::catalog::{Framework, Generator};
use bench_core::latency;
use bench_core::results::{
    Artifact, Flag, FlagKind, Outcome, RunResults, Stage, TIMING_CHECK_TOLERANCE_PERCENT,
};
use bench_runner::server::RUN_LABEL;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::process::Command;

use crate::support::{self, Sweep};

/// Cells of one second on `/hello`, with no warm-up and no startup phase, closed loops under
/// oha only.
const SHORT_CELLS: [&str; 12] = [
    "--rates",
    "--cross-check",
    "--endpoints",
    "/hello",
    "--warmup",
    "0s",
    "--duration",
    "1s",
    "--repetitions",
    "2",
    "--startup-runs",
    "0",
];

/// The repository this test's runs build their images in: never the user's `benchlab/…`,
/// and no other test's.
const REPOSITORY: &str = "benchlab-test-run";

fn bench_runner() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_bench-runner"));
    command
        .args(["run", "--repository", REPOSITORY])
        .stdin(Stdio::null())
        .kill_on_drop(true);
    command
}

fn read_results(dir: &Path) -> Option<RunResults> {
    let json = std::fs::read_to_string(dir.join("results.json")).ok()?;
    RunResults::from_json(&json).ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quick_run_interrupted_run_resume_and_failed_cell() {
    let Some(docker) = support::engine().await else {
        return;
    };
    let _sweep = Sweep::with_repository(
        &docker,
        "quick_run_interrupted_run_resume_and_failed_cell",
        REPOSITORY,
    )
    .await;
    let binaries = support::binaries().await;
    let scratch = tempfile::tempdir().expect("a temporary directory");

    // A quick run over one framework and one base: all three files, real numbers.
    let quick = scratch.path().join("quick");
    let output = bench_runner()
        .args([
            "--quick",
            "--frameworks",
            "axum",
            "--bases",
            "scratch",
            "--startup-runs",
            "1",
        ])
        .arg("--out")
        .arg(&quick)
        .output()
        .await
        .expect("bench-runner runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "quick run failed: {stderr}");
    let results = read_results(&quick).expect("results.json reads back");
    let ids: Vec<&str> = results.cells.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "axum/scratch/1cpu/hello/c16",
            "axum/scratch/1cpu/hello/c16/wrk",
            "axum/scratch/1cpu/hello/c16/rate-50pct",
            "axum/scratch/1cpu/sleep-100ms/c16",
            "axum/scratch/1cpu/sleep-100ms/c16/wrk",
            "axum/scratch/1cpu/sleep-100ms/c16/rate-50pct",
        ],
        "/hello and /sleep/100 at one quota, each closed, under wrk and at a fixed rate: {stderr}"
    );
    for cell in &results.cells {
        let summary = cell
            .summary
            .as_ref()
            .unwrap_or_else(|| panic!("{} was not measured: {:?}", cell.id, cell.outcome));
        assert!(summary.rate_2xx.median > 0.0, "{}: no throughput", cell.id);
        assert_eq!(
            summary.success_ratio.median, 1.0,
            "{}: success ratio",
            cell.id
        );
        assert!(
            summary.server_cpu_percent.is_some_and(|s| s.median > 0.0),
            "{}: server CPU",
            cell.id
        );
        assert!(
            summary.anon_mean_bytes.is_some_and(|s| s.median > 0.0),
            "{}: memory",
            cell.id
        );
        assert!(
            summary.peak_bytes.unwrap_or(0) > 0,
            "{}: peak memory",
            cell.id
        );
        let latency = summary
            .latency
            .unwrap_or_else(|| panic!("{}: no HDR latency", cell.id));
        let ok: u64 = cell.repetitions.iter().map(|r| r.load.ok_2xx).sum();
        assert_eq!(latency.count, ok, "{}: every 2xx in the histogram", cell.id);
        // wrk keeps no per-request records, so its cells have no timeline.
        for repetition in cell
            .repetitions
            .iter()
            .filter(|_| cell.cell.generator == Generator::Oha)
        {
            let seconds: u64 = repetition.timeline.iter().map(|s| s.ok_2xx).sum();
            assert_eq!(
                seconds, repetition.load.ok_2xx,
                "{}: every 2xx in the timeline of round {}",
                cell.id, repetition.round
            );
        }
        assert!(
            latency.p50_us <= latency.p99_us && latency.p99_us <= latency.max_us,
            "{}: {latency:?}",
            cell.id
        );
        assert!(
            cell.repetitions.iter().all(|r| {
                let throttling = r.server.as_ref().and_then(|s| s.throttling);
                throttling.is_some_and(|t| t.periods > 0)
            }),
            "{}: CFS periods counted",
            cell.id
        );
    }
    // The timing check on /sleep/100 at 16 connections: expected 160 req/s. How close the
    // measured rate comes depends on how loaded this machine is (other tests build images
    // meanwhile, and every request pays the scheduling delay on top of its 100 ms), so the
    // test holds the check to what does not depend on load: its arithmetic, a closed loop's
    // ceiling, and Little's law (rate × mean latency = connections) per repetition.
    let sleep = results
        .cells
        .iter()
        .find(|c| c.id == "axum/scratch/1cpu/sleep-100ms/c16")
        .expect("the /sleep/100 cell");
    let Some(&Flag::TimingCheck {
        expected_rate,
        measured_rate,
        deviation_percent,
        within_tolerance,
    }) = sleep.flag(FlagKind::TimingCheck)
    else {
        panic!("no timing check: {:?}", sleep.flags);
    };
    assert_eq!(expected_rate, 160.0);
    let median = sleep.summary.as_ref().expect("measured").rate_2xx.median;
    assert_eq!(measured_rate, median, "the check judges the median rate");
    assert_eq!(
        within_tolerance,
        deviation_percent.abs() <= TIMING_CHECK_TOLERANCE_PERCENT
    );
    assert!(
        measured_rate <= expected_rate * 1.02,
        "16 connections that each wait 100 ms cannot serve {measured_rate:.1} req/s"
    );
    let wrk = results
        .cells
        .iter()
        .find(|c| c.id == "axum/scratch/1cpu/sleep-100ms/c16/wrk")
        .expect("the /sleep/100 cell under wrk");
    assert!(
        wrk.flag(FlagKind::TimingCheck).is_none(),
        "the timing check is oha's"
    );
    // The same checks on wrk's own figures, and on its Lua report's histogram: every
    // latency at least 100 ms, rate × mean latency = 16 connections. wrk drops the requests
    // in flight when it stops, up to one per connection, which Little's law allows for.
    for repetition in sleep.repetitions.iter().chain(&wrk.repetitions) {
        assert!(
            repetition.load.rate_2xx <= 160.0 * 1.02,
            "16 connections that each wait 100 ms cannot serve {:.1} req/s",
            repetition.load.rate_2xx
        );
        let histogram = latency::decode(
            repetition
                .latency_histogram
                .as_deref()
                .expect("a latency histogram"),
        )
        .expect("the histogram decodes");
        let mean_secs = histogram.mean() / 1e9;
        assert!(mean_secs >= 0.1, "a 100 ms sleep answered in {mean_secs} s");
        assert!(
            histogram.min() as f64 >= 0.1e9 * 0.999,
            "a 100 ms sleep answered in {} ns",
            histogram.min()
        );
        assert_eq!(histogram.len(), repetition.load.ok_2xx, "every response");
        let in_flight = repetition.load.rate_2xx * mean_secs;
        assert!(
            (13.5..=16.5).contains(&in_flight),
            "rate {:.1} req/s × mean latency {mean_secs:.4} s = {in_flight:.2}, not 16 connections",
            repetition.load.rate_2xx
        );
    }
    // The fixed-rate cells: half of their closed loop's median, resolved when their group
    // started and recorded with every repetition; at 80 req/s on /sleep/100 (8 requests in
    // flight of a pool of 16) the server holds the rate, so oha's achieved rate is the
    // target within 1 %, and every latency, corrected from when its request was due, is at
    // least the 100 ms sleep.
    for (closed, fixed) in [
        (
            "axum/scratch/1cpu/hello/c16",
            "axum/scratch/1cpu/hello/c16/rate-50pct",
        ),
        (
            "axum/scratch/1cpu/sleep-100ms/c16",
            "axum/scratch/1cpu/sleep-100ms/c16/rate-50pct",
        ),
    ] {
        let cell = |id: &str| {
            results
                .cells
                .iter()
                .find(|c| c.id == id)
                .unwrap_or_else(|| panic!("{id}"))
        };
        let maximum = cell(closed)
            .summary
            .as_ref()
            .expect("measured")
            .rate_2xx
            .median;
        let fixed = cell(fixed);
        for repetition in &fixed.repetitions {
            let target = repetition.target_rate.expect("a fixed rate's target");
            assert!(
                (target - maximum * 0.5).abs() <= maximum * 1e-9,
                "{}: target {target} for a maximum of {maximum}",
                fixed.id
            );
        }
        let achieved = fixed.summary.as_ref().expect("measured").rate_2xx.median;
        let within = achieved >= maximum * 0.5 * 0.99;
        assert_eq!(
            fixed.flag(FlagKind::RateShortfall).is_none(),
            within,
            "{}: {achieved:.1} req/s of {:.1}, flags {:?}",
            fixed.id,
            maximum * 0.5,
            fixed.flags
        );
        if fixed.id.contains("sleep") {
            assert!(
                within,
                "{}: {achieved:.1} req/s of the {:.1} asked for",
                fixed.id,
                maximum * 0.5
            );
            for repetition in &fixed.repetitions {
                let histogram = latency::decode(
                    repetition
                        .latency_histogram
                        .as_deref()
                        .expect("a histogram"),
                )
                .expect("the histogram decodes");
                assert!(histogram.min() as f64 >= 0.1e9 * 0.999, "{}", fixed.id);
            }
        }
    }
    // The cross-check pairs each closed loop with its wrk twin, round by round.
    let checks: Vec<(&str, &str)> = results
        .cross_checks
        .iter()
        .map(|c| (c.cell.as_str(), c.twin.as_str()))
        .collect();
    assert_eq!(
        checks,
        [
            (
                "axum/scratch/1cpu/hello/c16",
                "axum/scratch/1cpu/hello/c16/wrk"
            ),
            (
                "axum/scratch/1cpu/sleep-100ms/c16",
                "axum/scratch/1cpu/sleep-100ms/c16/wrk"
            ),
        ]
    );
    assert!(
        results.cross_checks.iter().all(|c| c.rate.rounds == 2),
        "{:?}",
        results.cross_checks
    );
    assert_eq!(results.startup.len(), 2, "the image and the bare binary");
    let [image] = results.provenance.images.as_slice() else {
        panic!("one image: {:?}", results.provenance.images);
    };
    assert_eq!(image.image, format!("{REPOSITORY}/axum:scratch"));
    assert_eq!(image.binary_sha256, binaries[&Framework::Axum].sha256);
    for cell in &results.cells {
        assert_eq!(
            cell.artifact,
            Artifact {
                binary_sha256: Some(image.binary_sha256.clone()),
                image_id: Some(image.digest.clone()),
            },
            "{}: the cell records what it measured",
            cell.id
        );
    }
    let csv = std::fs::read_to_string(quick.join("results.csv")).expect("results.csv");
    assert_eq!(
        csv.lines().count(),
        7,
        "a header and a row per cell:\n{csv}"
    );
    let markdown = std::fs::read_to_string(quick.join("results.md")).expect("results.md");
    assert!(markdown.contains("## 1 vCPU"), "{markdown}");
    assert!(markdown.contains("## Startup"), "{markdown}");
    assert!(markdown.contains("fixed rate: 50 %"), "{markdown}");
    assert!(markdown.contains("## Cross-check"), "{markdown}");
    // At its end a run draws its charts, links them in results.md and writes report.html.
    for chart in [
        "throughput-1cpu.svg",
        "latency-1cpu-hello-c16.svg",
        "cold-start.svg",
    ] {
        let svg = std::fs::read_to_string(quick.join("charts").join(chart))
            .unwrap_or_else(|err| panic!("charts/{chart}: {err}"));
        assert!(svg.starts_with("<svg") && svg.contains("axum"), "{chart}");
        assert!(
            markdown.contains(&format!("](charts/{chart})")),
            "{chart} linked"
        );
    }
    let report = std::fs::read_to_string(quick.join("report.html")).expect("report.html");
    assert!(
        report.contains("<table>") && report.contains("<svg"),
        "report.html"
    );
    assert!(
        !report.contains("<script") && !report.contains("<img"),
        "self-contained"
    );
    // report.html renders in a real browser: `report --screenshot` passes and writes
    // report.png, and in Chromium, with JavaScript off, the page logs no error, asks the
    // network for nothing, gives every chart a box and is not blank.
    let output = Command::new(env!("CARGO_BIN_EXE_bench-runner"))
        .arg("report")
        .arg(&quick)
        .arg("--screenshot")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .expect("bench-runner runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "report --screenshot failed: {stderr}"
    );
    let png = std::fs::read(quick.join("report.png"))
        .unwrap_or_else(|err| panic!("report --screenshot wrote no report.png ({err}): {stderr}"));
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n"),
        "report.png is not a PNG: {stderr}"
    );
    let page = quick.join("report.html");
    let figures = std::fs::read_to_string(&page)
        .expect("report.html")
        .matches("<figure")
        .count();
    let screenshot = scratch.path().join("report-test.png");
    let rendering =
        tokio::task::spawn_blocking(move || bench_runner::browser::render(&page, &screenshot))
            .await
            .expect("the rendering thread ends")
            .unwrap_or_else(|err| panic!("Chromium could not render report.html: {err:#}"));
    assert!(
        rendering.console_errors.is_empty(),
        "report.html logs errors in Chromium: {:?}",
        rendering.console_errors
    );
    assert!(
        rendering.network_requests.is_empty(),
        "report.html asks the network for: {:?}",
        rendering.network_requests
    );
    for chart in &rendering.charts {
        assert!(
            chart.width > 0 && chart.height > 0,
            "chart '{}' is laid out {} × {} px",
            chart.id,
            chart.width,
            chart.height
        );
    }
    assert_eq!(
        rendering.charts.len(),
        figures,
        "Chromium measured {} charts but report.html has {figures} figures: {:?}",
        rendering.charts.len(),
        rendering.charts
    );
    assert!(
        rendering.inked_share >= 0.01,
        "report.html looks blank in Chromium: {:.2} % of its pixels are inked",
        rendering.inked_share * 100.0
    );
    assert!(
        support::labelled_containers(&docker, RUN_LABEL)
            .await
            .is_empty(),
        "the quick run left containers"
    );

    // --out never writes over a run.
    let output = bench_runner()
        .arg("--out")
        .arg(&quick)
        .output()
        .await
        .expect("bench-runner runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "--out over a run: {stderr}");
    assert!(
        stderr.contains("--out") && stderr.contains("exists already"),
        "{stderr}"
    );

    // --resume refuses a run recorded from other sources, naming the difference, and
    // --force resumes it anyway and records that.
    let json = std::fs::read_to_string(quick.join("results.json")).expect("results.json");
    let moved = json.replacen(
        &format!("\"git_commit\": \"{}\"", results.provenance.git_commit),
        "\"git_commit\": \"0000000000000000000000000000000000000000\"",
        1,
    );
    assert_ne!(moved, json, "the commit is in results.json");
    std::fs::write(quick.join("results.json"), moved).expect("results.json rewritten");
    let output = bench_runner()
        .arg("--resume")
        .arg(&quick)
        .output()
        .await
        .expect("bench-runner runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "resume over another commit: {stderr}"
    );
    assert!(stderr.contains("git commit 000000000000"), "{stderr}");
    let output = bench_runner()
        .arg("--resume")
        .arg(&quick)
        .arg("--force")
        .output()
        .await
        .expect("bench-runner runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "resume --force: {stderr}");
    let forced = read_results(&quick).expect("results.json after --force");
    let session = forced.sessions.last().expect("a session per invocation");
    assert!(session.resumed);
    assert!(
        session.forced_over.iter().any(|d| d.contains("git commit")),
        "{:?}",
        session.forced_over
    );
    assert_eq!(forced.cells, results.cells, "nothing was left to measure");

    // A run of four short cells in two groups, interrupted once a repetition is on disk;
    // the cells open a connection per request (churn).
    let interrupted = scratch.path().join("interrupted");
    let mut child = bench_runner()
        .args([
            "--frameworks",
            "axum,hyper",
            "--bases",
            "scratch",
            "--cpus",
            "1",
        ])
        .args(["--connections", "1,8"])
        .args(["--keep-alive", "false"])
        .args(SHORT_CELLS)
        .arg("--out")
        .arg(&interrupted)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("bench-runner starts");
    let start = Instant::now();
    while read_results(&interrupted).is_none_or(|r| r.cells.is_empty()) {
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "no cell finished within 5 minutes"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let pid = child.id().expect("the run is going on");
    kill(Pid::from_raw(pid as i32), Signal::SIGINT).expect("SIGINT reaches the run");
    let status = tokio::time::timeout(Duration::from_secs(60), child.wait())
        .await
        .expect("the run stops within a minute of SIGINT")
        .expect("the run's status");
    assert_eq!(
        status.code(),
        Some(130),
        "an interrupted run exits with 130"
    );
    assert!(
        support::labelled_containers(&docker, RUN_LABEL)
            .await
            .is_empty(),
        "the interrupted run left containers"
    );
    let kept = read_results(&interrupted).expect("results.json survives the interruption");
    assert!(
        kept.cells.iter().any(|c| !c.repetitions.is_empty())
            && kept.cells.iter().filter(|c| !c.is_incomplete()).count() < 4,
        "kept: {:?}",
        kept.cells
            .iter()
            .map(|c| (&c.id, &c.outcome, c.repetitions.len()))
            .collect::<Vec<_>>()
    );

    // --resume measures only what is missing.
    let output = bench_runner()
        .arg("--resume")
        .arg(&interrupted)
        .output()
        .await
        .expect("bench-runner resumes");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the resumed run failed: {stderr}");
    let done = read_results(&interrupted).expect("results.json after --resume");
    assert_eq!(done.cells.len(), 4, "{stderr}");
    for cell in &kept.cells {
        let again = done
            .cells
            .iter()
            .find(|c| c.id == cell.id)
            .expect("kept cell");
        if cell.is_incomplete() {
            assert_eq!(
                again.repetitions[..cell.repetitions.len()],
                cell.repetitions[..],
                "{}: kept repetitions are kept",
                cell.id
            );
        } else {
            assert_eq!(
                again, cell,
                "{}: a finished cell is not measured again",
                cell.id
            );
        }
    }
    // Within a group, every round ran every cell.
    for cell in &done.cells {
        let rounds: Vec<u32> = cell.repetitions.iter().map(|r| r.round).collect();
        assert_eq!(rounds, [0, 1], "{}", cell.id);
    }
    assert_eq!(done.comparisons.len(), 2, "two groups: c=1 and c=8");
    for cell in &done.cells {
        assert!(
            cell.id.ends_with("/churn") && !cell.cell.keep_alive,
            "{}",
            cell.id
        );
        let summary = cell.summary.as_ref().expect("measured");
        assert_eq!(summary.success_ratio.median, 1.0, "{}", cell.id);
        assert!(
            summary.cpu_us_per_request.is_some_and(|c| c.median > 0.0),
            "{}",
            cell.id
        );
    }
    assert!(
        done.cells.iter().all(|cell| cell.summary.is_some()),
        "{stderr}"
    );

    // A service that does not answer in time (no service answers within 1 ms of its start).
    let never_ready = scratch.path().join("never-ready");
    let output = bench_runner()
        .args(["--frameworks", "hyper", "--bases", "scratch", "--cpus", "1"])
        .args(["--connections", "1"])
        .args(SHORT_CELLS)
        .args(["--ready-timeout", "1ms"])
        .arg("--out")
        .arg(&never_ready)
        .output()
        .await
        .expect("bench-runner runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(1),
        "a failed cell fails the run: {stderr}"
    );
    let results = read_results(&never_ready).expect("a failed run still writes its results");
    let [cell] = results.cells.as_slice() else {
        panic!("one cell expected: {:?}", results.cells);
    };
    match &cell.outcome {
        Outcome::Failed { stage, reason } => {
            assert_eq!(*stage, Stage::Ready, "{reason}");
            assert!(
                reason.contains("/hello did not answer 200 within"),
                "{reason}"
            );
        }
        outcome => panic!("the cell should have failed: {outcome:?}"),
    }
    let markdown = std::fs::read_to_string(never_ready.join("results.md")).expect("results.md");
    assert!(markdown.contains("/hello did not answer 200"), "{markdown}");
    let csv = std::fs::read_to_string(never_ready.join("results.csv")).expect("results.csv");
    assert!(
        csv.contains("ready"),
        "the CSV names the failed stage:\n{csv}"
    );
    assert!(
        support::labelled_containers(&docker, RUN_LABEL)
            .await
            .is_empty(),
        "the failed cell left its container"
    );
}
