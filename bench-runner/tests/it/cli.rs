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
