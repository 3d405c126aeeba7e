//! The conformance suite: every point of the contract in `frameworks/README.md`, checked over
//! TCP against each real service binary.
//!
//! The tests are every framework of the catalog (`bench_core::catalog::Framework`) times
//! every check of [`contract`], named `<framework>::<check>`, so a failure names both and a
//! framework added to the catalog is checked without a line here. `cargo test -p svc-suite --
//! axum::` runs one framework, `-- ::graceful_shutdown` one check everywhere.

mod contract;
mod harness;

use std::future::Future;
use std::pin::Pin;
use std::process::ExitCode;

use bench_core::catalog::Framework;
use libtest_mimic::{Arguments, Trial};

/// A check of the contract, run against one service package.
type Check = fn(&'static str) -> Pin<Box<dyn Future<Output = ()> + Send>>;

/// The checks by name, in the order the contract lists them.
macro_rules! checks {
    ($($check:ident),+ $(,)?) => {
        [$((stringify!($check), (|package| Box::pin(contract::$check(package))) as Check)),+]
    };
}

const CHECKS: [(&str, Check); 15] = checks![
    hello,
    sleep_replies_with_its_duration,
    sleep_waits_on_a_timer,
    bad_sleep_durations_are_400,
    unknown_paths_are_404,
    wrong_methods_are_405,
    instance_header_names_the_instance,
    keep_alive_serves_100_requests_on_one_connection,
    sleep_does_not_block_the_only_worker,
    graceful_shutdown_on_sigterm,
    sigint_also_stops_gracefully,
    bad_environment_exits_2,
    startup_line,
    health_probe_exits_0_while_serving_and_1_once_stopped,
    health_probe_bad_environment_exits_2,
];

fn main() -> ExitCode {
    let arguments = Arguments::from_args();
    let trials = Framework::ALL
        .iter()
        .flat_map(|&framework| {
            CHECKS.iter().map(move |&(name, check)| {
                Trial::test(format!("{framework}::{name}"), move || {
                    run(check, framework.package());
                    Ok(())
                })
            })
        })
        .collect();
    libtest_mimic::run(&arguments, trials).exit_code()
}

/// Runs `check` against `package` on a runtime of its own, as `#[tokio::test]` would; a
/// failed assertion panics, which fails the trial.
fn run(check: Check, package: &'static str) {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(check(package));
}
