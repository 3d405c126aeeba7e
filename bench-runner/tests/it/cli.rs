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

/// The built-in price table, as committed.
fn committed_prices() -> String {
    std::fs::read_to_string(in_workspace("bench-core/prices/fargate.toml"))
        .expect("the committed price table")
}

#[test]
fn a_bad_price_file_is_refused_by_file_and_key_before_anything_starts() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::copy(
        in_workspace(&format!("{BASE_RUN}/results.json")),
        dir.path().join("results.json"),
    )
    .expect("results.json copied");
    let bad = dir.path().join("bad-prices.toml");
    std::fs::write(
        &bad,
        committed_prices().replace("per-gb-hour = 0.00356", "per-gb-hour = -0.00356"),
    )
    .expect("the bad table written");
    let bad = bad.to_str().unwrap();

    let output = bench_runner(&["report", dir.path().to_str().unwrap(), "--prices", bad]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("--prices: invalid price table {bad}: key `linux-arm.per-gb-hour`: a price must be above zero, not -0.00356")),
        "{stderr}"
    );
    assert!(
        !dir.path().join("report.html").exists(),
        "nothing written: {stderr}"
    );

    let out = dir.path().join("new-run");
    let output = bench_runner(&[
        "run",
        "--quick",
        "--out",
        out.to_str().unwrap(),
        "--prices",
        bad,
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(bad) && stderr.contains("linux-arm.per-gb-hour"),
        "{stderr}"
    );
    assert!(!out.exists(), "no run started: {stderr}");
}

/// Every cost in `results.md`'s cell tables, in order: the cells of the `USD/M 2xx` columns.
fn costs_in(markdown: &str) -> Vec<f64> {
    let mut costs = Vec::new();
    let mut columns: Vec<usize> = Vec::new();
    for line in markdown.lines() {
        if !line.starts_with('|') {
            columns.clear();
            continue;
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if line.contains("USD/M 2xx") {
            columns = (0..cells.len())
                .filter(|&i| cells[i].starts_with("USD/M 2xx"))
                .collect();
            continue;
        }
        for &i in &columns {
            // `0.000143 (0.000140–0.000147)`: the median, then its interval.
            let median = cells[i].split(' ').next().unwrap_or_default();
            if let Ok(cost) = median.parse() {
                costs.push(cost);
            }
        }
    }
    costs
}

#[test]
fn report_with_doubled_prices_doubles_the_cost_column() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::copy(
        in_workspace(&format!("{BASE_RUN}/results.json")),
        dir.path().join("results.json"),
    )
    .expect("results.json copied");
    let run = dir.path().to_str().unwrap();
    let report = |args: &[&str]| {
        let output = bench_runner(&[&["report", run][..], args].concat());
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        std::fs::read_to_string(dir.path().join("results.md")).expect("results.md")
    };
    let listed = report(&[]);
    let doubled = dir.path().join("doubled.toml");
    let mut table = committed_prices();
    for (price, twice) in [
        ("0.04048", "0.08096"),
        ("0.004445", "0.00889"),
        ("0.03238", "0.06476"),
        ("0.00356", "0.00712"),
    ] {
        assert!(table.contains(price), "{price} is a committed price");
        table = table.replace(&format!(" = {price}\n"), &format!(" = {twice}\n"));
    }
    std::fs::write(&doubled, table).expect("the doubled table written");
    let twice = report(&["--prices", doubled.to_str().unwrap()]);

    assert!(
        listed.contains("from `bench-core/prices/fargate.toml`."),
        "{listed}"
    );
    assert!(
        twice.contains(&format!("from `{}`.", doubled.display())),
        "{twice}"
    );
    let (listed, twice) = (costs_in(&listed), costs_in(&twice));
    // Two platforms for each of the run's 18 cells.
    assert_eq!(listed.len(), 2 * 18, "{listed:?}");
    assert_eq!(twice.len(), listed.len());
    for (once, twice) in listed.iter().zip(&twice) {
        // Each is rounded to three significant digits.
        assert!((twice / once - 2.0).abs() < 0.01, "{once} → {twice}");
    }
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

/// The files of a directory, by name.
fn files_in(dir: &std::path::Path) -> std::collections::BTreeMap<String, String> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
        .map(|entry| {
            let path = entry.expect("a directory entry").path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|err| panic!("{}: {err}", path.display()));
            (name, text)
        })
        .collect()
}

#[test]
fn bad_fargate_plan_arguments_are_refused_by_flag_and_nothing_is_written() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let out = dir.path().join("plan");
    let out = out.to_str().expect("a UTF-8 path");
    for (args, status, expected) in [
        (
            &["--sizes", "0.25:4GB"][..],
            2,
            &["--sizes", "0.25 vCPU takes 512 MiB, 1 GB or 2 GB; not 4 GB"][..],
        ),
        (
            &["--sizes", "3"][..],
            2,
            &["--sizes", "Fargate takes 0.25, 0.5, 1, 2, 4, 8 or 16 vCPU"][..],
        ),
        (
            &["--sizes", "0.5,0.5:1GB"][..],
            2,
            &["--sizes", "listed twice"][..],
        ),
        (
            &["--log-group", "/benchlab"][..],
            1,
            &["--log-group needs --region"][..],
        ),
        (
            &["--registry", "https://registry.example"][..],
            1,
            &["invalid --registry \"https://registry.example\""][..],
        ),
        (
            &["--log-group", "/benchlab", "--region", "us-east-1"][..],
            1,
            &["--log-group", "--execution-role-arn"][..],
        ),
    ] {
        let output = bench_runner(&[&["fargate", "plan", "--out", out][..], args].concat());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(status), "{args:?}: {stderr}");
        for expected in expected {
            assert!(stderr.contains(expected), "{args:?}: {stderr}");
        }
        assert!(
            !std::path::Path::new(out).exists(),
            "{args:?}: nothing written"
        );
    }
}

#[test]
fn fargate_plan_writes_one_definition_per_image_and_size_and_their_array() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let out = dir.path().to_str().expect("a UTF-8 path");
    // axum on scratch at `size`, into `out`: it must succeed; its stderr.
    let plan = |size: &str| {
        let output = bench_runner(&[
            "fargate",
            "plan",
            "--frameworks",
            "axum",
            "--bases",
            "scratch",
            "--sizes",
            size,
            "--out",
            out,
        ]);
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(output.status.success(), "{stderr}");
        stderr
    };
    plan("0.5");
    let files = files_in(dir.path());
    let family = "benchlab-axum-scratch-0_5vcpu-1gb";
    assert_eq!(
        files.keys().collect::<Vec<_>>(),
        [
            "README.md",
            &format!("{family}.json"),
            "task-definitions.json"
        ]
    );
    let all: serde_json::Value =
        serde_json::from_str(&files["task-definitions.json"]).expect("JSON");
    let all = all.as_array().expect("an array");
    assert_eq!(all.len(), 1);
    assert_eq!(all[0]["networkMode"], "awsvpc");
    assert_eq!(all[0]["family"], family);
    assert_eq!(
        (&all[0]["cpu"], &all[0]["memory"]),
        (&"512".into(), &"1024".into())
    );
    let one: serde_json::Value =
        serde_json::from_str(&files[&format!("{family}.json")]).expect("JSON");
    assert_eq!(one, all[0], "the family's file is its entry of the array");
    assert!(
        files["README.md"].contains(&format!(
            "| `benchlab/axum:scratch` | 0.5 vCPU / 1 GB | `{family}` | 512 | 1024 | 1 |"
        )),
        "{}",
        files["README.md"]
    );

    // Planned again with another size, the directory holds the new plan only.
    let stderr = plan("1");
    assert!(
        stderr.contains("removed a definition of an earlier plan"),
        "{stderr}"
    );
    assert_eq!(
        files_in(dir.path()).keys().collect::<Vec<_>>(),
        [
            "README.md",
            "benchlab-axum-scratch-1vcpu-2gb.json",
            "task-definitions.json"
        ]
    );
}

#[test]
fn the_committed_fargate_plan_is_what_fargate_plan_writes_today() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let out = dir.path().to_str().expect("a UTF-8 path");
    let output = bench_runner(&["fargate", "plan", "--out", out]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let written = files_in(dir.path());
    let committed = files_in(std::path::Path::new(&in_workspace("results/fargate-plan")));
    assert_eq!(
        written.len(),
        9 * 3 * 5 + 2,
        "a definition per image × size, the array, README.md"
    );
    assert_eq!(
        written.keys().collect::<Vec<_>>(),
        committed.keys().collect::<Vec<_>>(),
        "run `bench-runner fargate plan` and commit results/fargate-plan/"
    );
    for (name, text) in &written {
        assert!(
            committed[name] == *text,
            "results/fargate-plan/{name} differs from what `bench-runner fargate plan` writes: run it and commit"
        );
    }
}
