//! `bench-runner deploy` as users call it, on real parts: Debian's nginx, axum's scratch
//! image in containers on loopback, and the recorder. A naive swap loses requests and they
//! are recorded; a blue-green swap whose drain outlasts the requests in flight loses none;
//! every request is accounted for; and Ctrl-C in the middle of a swap leaves no nginx, no
//! container and no config behind.
//!
//! One test, in phases: both phases look for leftovers by the same label and process name.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use bench_core::deploy::{DeployResults, Instance, Outcome, Strategy, SwapOutcome};
use bench_runner::deploy::DEPLOY_LABEL;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::process::Command;

use crate::support::{self, Sweep};

/// The repository this test's images go to: never the user's `benchlab/…`, no other test's.
const REPOSITORY: &str = "benchlab-test-deploy";

/// `bench-runner deploy` with its temporary files (nginx's config) under `tmp`.
fn deploy(tmp: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_bench-runner"));
    command
        .args(["deploy", "--repository", REPOSITORY, "--frameworks", "axum"])
        .env("TMPDIR", tmp)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    command
}

fn read_results(dir: &Path) -> Option<DeployResults> {
    let json = std::fs::read_to_string(dir.join("deploy.json")).ok()?;
    DeployResults::from_json(&json).ok()
}

/// The processes whose command line mentions `tmp`: nginx runs with its config there.
fn processes_under(tmp: &Path) -> Vec<String> {
    let needle = tmp.to_string_lossy().into_owned();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc lists").flatten() {
        if !entry
            .file_name()
            .to_string_lossy()
            .bytes()
            .all(|b| b.is_ascii_digit())
        {
            continue;
        }
        if let Ok(raw) = std::fs::read(entry.path().join("cmdline")) {
            let cmdline = String::from_utf8_lossy(&raw).replace('\0', " ");
            if cmdline.contains(&needle) {
                found.push(cmdline);
            }
        }
    }
    found
}

fn leftovers(tmp: &Path) -> Vec<String> {
    std::fs::read_dir(tmp)
        .expect("the test's TMPDIR lists")
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn naive_loses_requests_blue_green_none_and_ctrl_c_leaves_nothing() {
    let Some(docker) = support::engine().await else {
        return;
    };
    let _sweep = Sweep::with_repository(
        &docker,
        "naive_loses_requests_blue_green_none_and_ctrl_c_leaves_nothing",
        REPOSITORY,
    )
    .await;
    support::binaries().await;
    let scratch = tempfile::tempdir().expect("a temporary directory");
    let tmp = scratch.path().join("tmp");
    std::fs::create_dir(&tmp).expect("the test's TMPDIR");

    // Blue-green and naive, a connection per request on both sides of nginx: the only losses
    // are the strategy's.
    let out = scratch.path().join("swaps");
    let output = deploy(&tmp)
        .args(["--strategies", "blue-green,naive"])
        .args([
            "--client-keep-alive",
            "false",
            "--upstream-keep-alive",
            "false",
        ])
        .args(["--duration", "4s", "--swap-at", "1s", "--drain", "500ms"])
        .args(["--grace", "1s", "--endpoint", "/sleep/20"])
        .arg("--out")
        .arg(&out)
        .output()
        .await
        .expect("bench-runner deploy runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "deploy failed: {stderr}");
    let results = read_results(&out).expect("deploy.json reads back");
    assert_eq!(results.swaps.len(), 2, "{stderr}");
    assert!(
        results.nginx_version.contains("nginx/"),
        "{}",
        results.nginx_version
    );
    for swap in &results.swaps {
        let id = swap.swap.id();
        let SwapOutcome::Measured {
            report,
            failed_requests,
        } = &swap.outcome
        else {
            panic!("{id} was not measured: {:?}", swap.outcome);
        };
        // Every request sent is answered or failed, on schedule.
        assert_eq!(report.sent, report.ok + report.failed, "{id}");
        assert_eq!(report.failures.values().sum::<u64>(), report.failed, "{id}");
        assert_eq!(failed_requests.len() as u64, report.failed, "{id}");
        assert!(
            (report.achieved_rate / 1000.0 - 1.0).abs() <= 0.01,
            "{id}: achieved {} req/s of 1000",
            report.achieved_rate
        );
        let per_bucket: u64 = report
            .buckets
            .iter()
            .map(|b| b.blue + b.green + b.unattributed + b.failed.values().sum::<u64>())
            .sum();
        assert_eq!(
            per_bucket, report.sent,
            "{id}: the timeline holds every request"
        );
        // Blue answered first, green last.
        let first = report.buckets.first().expect("a first 100 ms");
        let last = report.buckets.last().expect("a last 100 ms");
        assert!(
            first.blue > 0 && first.green == 0,
            "{id}: first 100 ms {first:?}"
        );
        assert!(
            last.green > 0 && last.blue == 0,
            "{id}: last 100 ms {last:?}"
        );
        let events = &report.events;
        let sigterm = events.sigterm_us.expect("blue got SIGTERM");
        let exited = events.blue_exited_us.expect("blue exited");
        assert!(sigterm < exited && !events.blue_killed, "{id}: {events:?}");
        assert!(
            report
                .blue_exit_ms
                .is_some_and(|ms| ms > 0.0 && ms < 1000.0 + 500.0),
            "{id}: blue exits within its grace: {:?}",
            report.blue_exit_ms
        );
        let chart = out.join(bench_core::deploy::chart_file(&swap.swap));
        let svg = std::fs::read_to_string(&chart).expect("the swap's timeline chart");
        assert!(svg.starts_with("<svg"), "{}", chart.display());
        match swap.swap.strategy {
            Strategy::BlueGreen => {
                assert_eq!(
                    report.failed, 0,
                    "{id}: a drain longer than the requests in flight loses none: {:?}",
                    report.failures
                );
                let ready = events.green_ready_us.expect("green became ready");
                let switch = events.switch_us.expect("the upstream switched");
                assert!(ready < switch && switch < sigterm, "{id}: {events:?}");
                assert_eq!(events.reloads_us.len(), 1, "{id}: one reload");
            }
            Strategy::Naive => {
                assert!(report.failed > 0, "{id}: a naive swap loses requests");
                assert!(
                    failed_requests.iter().all(|r| r.started_us >= sigterm
                        && !matches!(r.outcome, Outcome::Status(200..=299))),
                    "{id}: requests fail only after SIGTERM"
                );
                assert!(
                    report.longest_gap_ms > 0.0 && events.reloads_us.is_empty(),
                    "{id}: {report:?}"
                );
            }
            Strategy::Rolling => unreachable!("not asked for"),
        }
        assert!(
            failed_requests
                .iter()
                .all(|r| r.instance != Some(Instance::Green) || r.ended_us > sigterm),
            "{id}"
        );
    }
    let markdown = std::fs::read_to_string(out.join("deploy.md")).expect("deploy.md");
    let csv = std::fs::read_to_string(out.join("deploy.csv")).expect("deploy.csv");
    assert!(
        markdown.contains("blue-green") && markdown.contains("naive"),
        "{markdown}"
    );
    assert_eq!(csv.lines().count(), 3, "a header and a row per swap: {csv}");
    assert!(
        leftovers(&tmp).is_empty(),
        "left in TMPDIR: {:?}",
        leftovers(&tmp)
    );
    assert!(
        support::labelled_containers(&docker, DEPLOY_LABEL)
            .await
            .is_empty(),
        "containers left"
    );

    // Ctrl-C while blue-green drains blue.
    let interrupted = scratch.path().join("interrupted");
    let mut child = deploy(&tmp)
        .args(["--strategies", "blue-green"])
        .args([
            "--client-keep-alive",
            "true",
            "--upstream-keep-alive",
            "true",
        ])
        .args(["--duration", "20s", "--swap-at", "2s", "--drain", "5s"])
        .arg("--out")
        .arg(&interrupted)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("bench-runner deploy starts");
    let start = Instant::now();
    while processes_under(&tmp).is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "nginx did not start within 5 minutes"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The swap begins 2 s into the load; green is up and blue drains from about 2.5 s on.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    assert!(
        support::labelled_containers(&docker, DEPLOY_LABEL)
            .await
            .len()
            == 2,
        "blue and green both run mid-swap"
    );
    let pid = child.id().expect("the deploy is going on");
    kill(Pid::from_raw(pid as i32), Signal::SIGINT).expect("SIGINT reaches the deploy");
    let status = tokio::time::timeout(Duration::from_secs(60), child.wait())
        .await
        .expect("the deploy stops within a minute of SIGINT")
        .expect("the deploy's status");
    assert_eq!(
        status.code(),
        Some(130),
        "an interrupted deploy exits with 130"
    );
    assert!(
        processes_under(&tmp).is_empty(),
        "left running: {:?}",
        processes_under(&tmp)
    );
    assert!(
        leftovers(&tmp).is_empty(),
        "left in TMPDIR: {:?}",
        leftovers(&tmp)
    );
    assert!(
        support::labelled_containers(&docker, DEPLOY_LABEL)
            .await
            .is_empty(),
        "the interrupted deploy left containers"
    );
    let kept = read_results(&interrupted).expect("deploy.json is there from the start");
    assert!(
        kept.swaps.is_empty(),
        "the interrupted swap is not recorded as done"
    );
}
