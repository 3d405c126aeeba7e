//! The `bench-runner` binary as users call it: no engine needed.

use std::process::Command;

use bench_core::catalog::Framework;

fn bench_runner(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_bench-runner"))
        .args(args)
        .output()
        .expect("could not run bench-runner")
}

#[test]
fn bad_framework_name_lists_the_valid_ones() {
    let output = bench_runner(&["images", "--frameworks", "axum,flask"]);
    assert_eq!(output.status.code(), Some(2), "a usage error");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("invalid value 'flask'"), "{stderr}");
    let names: Vec<&str> = Framework::ALL.iter().map(|f| f.name()).collect();
    assert!(
        stderr.contains(&format!("[possible values: {}]", names.join(", "))),
        "{stderr}"
    );
}

#[test]
fn bad_base_name_lists_the_valid_ones() {
    let output = bench_runner(&["images", "--bases", "alpine"]);
    assert_eq!(output.status.code(), Some(2), "a usage error");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("[possible values: scratch, distroless, debian]"),
        "{stderr}"
    );
}

#[test]
fn help_names_both_commands() {
    let output = bench_runner(&["--help"]);
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("bases") && stdout.contains("images"),
        "{stdout}"
    );
}

/// The two latest committed runs: the default matrix twice, back to back.
const BASE_RUN: &str = "results/20261125T201917Z-vm";
const NEW_RUN: &str = "results/20261125T202643Z-vm";

fn in_workspace(path: &str) -> String {
    format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn compare_gates_on_the_committed_runs() {
    let output = bench_runner(&[
        "compare",
        &in_workspace(BASE_RUN),
        &in_workspace(NEW_RUN),
        "--format",
        "json",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let json: serde_json::Value =
        serde_json::from_slice(&output.stdout).unwrap_or_else(|err| panic!("{err}: {stderr}"));
    let cells = json["cells"].as_array().expect("cells");
    assert_eq!(cells.len(), 18, "every cell of both runs");
    let slower = cells.iter().any(|c| c["verdict"] == "slower");
    assert_eq!(
        output.status.code(),
        Some(if slower { 1 } else { 0 }),
        "the exit status is the gate: {stderr}"
    );
    let markdown = bench_runner(&["compare", &in_workspace(BASE_RUN), &in_workspace(NEW_RUN)]);
    let markdown = String::from_utf8_lossy(&markdown.stdout);
    assert!(markdown.contains("| verdict |"), "{markdown}");
    assert!(markdown.contains("## Side by side"), "{markdown}");
}

#[test]
fn compare_refuses_bad_input_with_status_2() {
    let missing = bench_runner(&["compare", "no/such/run", &in_workspace(NEW_RUN)]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no/such/run"));

    let old = bench_runner(&[
        "compare",
        &in_workspace("results/20261123T143648Z-vm"),
        &in_workspace(NEW_RUN),
    ]);
    assert_eq!(old.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&old.stderr).contains("format version 1"),
        "{}",
        String::from_utf8_lossy(&old.stderr)
    );

    let threshold = bench_runner(&[
        "compare",
        &in_workspace(BASE_RUN),
        &in_workspace(NEW_RUN),
        "--threshold",
        "five",
    ]);
    assert_eq!(threshold.status.code(), Some(2), "a usage error");
    assert!(String::from_utf8_lossy(&threshold.stderr).contains("--threshold"));
}

#[test]
fn report_draws_the_charts_of_a_committed_run() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::copy(
        in_workspace(&format!("{BASE_RUN}/results.json")),
        dir.path().join("results.json"),
    )
    .expect("results.json copied");
    let output = bench_runner(&["report", dir.path().to_str().unwrap()]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let charts: Vec<String> = std::fs::read_dir(dir.path().join("charts"))
        .expect("charts/")
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    // One throughput chart, three per group (latency, CPU, memory), the cold starts.
    assert_eq!(charts.len(), 1 + 3 * 2 + 1, "{charts:?}");
    let report = std::fs::read_to_string(dir.path().join("report.html")).expect("report.html");
    assert_eq!(report.matches("<svg").count(), charts.len());
    let markdown = std::fs::read_to_string(dir.path().join("results.md")).expect("results.md");
    assert!(markdown.contains("## Charts"));
    // The committed report is what `report` writes today.
    let committed = std::fs::read_to_string(in_workspace(&format!("{BASE_RUN}/report.html")))
        .expect("the committed run has its report.html");
    assert_eq!(committed, report, "rerun `bench-runner report {BASE_RUN}`");
}

#[test]
fn report_screenshot_without_chromium_says_how_to_install_it() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::copy(
        in_workspace(&format!("{BASE_RUN}/results.json")),
        dir.path().join("results.json"),
    )
    .expect("results.json copied");
    let output = Command::new(env!("CARGO_BIN_EXE_bench-runner"))
        .args(["report", dir.path().to_str().unwrap(), "--screenshot"])
        .env(bench_runner::browser::CHROMIUM_VAR, "/no/such/chromium")
        .output()
        .expect("could not run bench-runner");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("no Chromium at /no/such/chromium")
            && stderr.contains("apt-get install chromium")
            && stderr.contains("scripts/ensure-chromium.sh"),
        "the error names the missing executable and how to install one: {stderr}"
    );
    assert!(
        dir.path().join("report.html").exists() && !dir.path().join("report.png").exists(),
        "the report is written before the browser is looked for, and no screenshot: {stderr}"
    );

    let missing = bench_runner(&["report", "no/such/run", "--screenshot"]);
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert_eq!(missing.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("could not read no/such/run/results.json"),
        "the error names the missing results: {stderr}"
    );
}

/// The committed deploy run.
const DEPLOY_RUN: &str = "results/deploy-20261126T050516Z-vm";

#[test]
fn report_writes_a_committed_deploy_run_again_byte_for_byte() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::copy(
        in_workspace(&format!("{DEPLOY_RUN}/deploy.json")),
        dir.path().join("deploy.json"),
    )
    .expect("deploy.json copied");
    let output = bench_runner(&["report", dir.path().to_str().unwrap()]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for file in [
        "deploy.md",
        "deploy.csv",
        "deploy.json",
        "charts/xitca-web_naive_client-keepalive_upstream-keepalive.svg",
    ] {
        let written = std::fs::read_to_string(dir.path().join(file)).expect("written");
        let committed = std::fs::read_to_string(in_workspace(&format!("{DEPLOY_RUN}/{file}")))
            .expect("committed");
        assert!(
            written == committed,
            "{file} differs: rerun `bench-runner report {DEPLOY_RUN}`"
        );
    }
    let charts = std::fs::read_dir(dir.path().join("charts")).expect("charts/");
    assert_eq!(charts.count(), 108, "a timeline per swap");
}

#[test]
fn bad_deploy_settings_are_refused_by_flag_before_anything_starts() {
    for (args, flag) in [
        (&["--rate", "0"][..], "--rate"),
        (&["--duration", "4s", "--swap-at", "2s"][..], "--duration"),
        (
            &["--server-cpus", "0", "--client-cpus", "0"][..],
            "--server-cpus",
        ),
        (&["--vcpus", "3"][..], "--vcpus"),
    ] {
        let output = bench_runner(&[&["deploy"][..], args].concat());
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(flag), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("building"),
            "{args:?}: nothing built: {stderr}"
        );
    }
    let output = bench_runner(&["deploy", "--strategies", "canary"]);
    assert_eq!(output.status.code(), Some(2), "a usage error");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("[possible values: blue-green, rolling, naive]"),
        "{stderr}"
    );
}
