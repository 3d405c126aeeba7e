//! The conformance suite: every point of the contract in `frameworks/README.md`, checked over
//! TCP against each real service binary.
//!
//! The table at the bottom is the only place that names the frameworks: adding one is one
//! line there. Each check is a function of [`contract`] taking the service's package name,
//! so a failure reads `hyper::graceful_shutdown` and names both.

mod contract;
mod harness;

/// Generates one test per framework × check.
macro_rules! conformance {
    ($($framework:ident => $package:literal),+ $(,)?) => {$(
        mod $framework {
            use crate::contract;
            conformance!(@checks $package;
                hello, sleep_replies_with_its_duration, sleep_waits_on_a_timer,
                bad_sleep_durations_are_400, unknown_paths_are_404,
                wrong_methods_are_405, keep_alive_serves_100_requests_on_one_connection,
                sleep_does_not_block_the_only_worker, graceful_shutdown_on_sigterm,
                sigint_also_stops_gracefully, bad_environment_exits_2, startup_line,
            );
        }
    )+};
    (@checks $package:literal; $($check:ident),+ $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $check() {
            contract::$check($package).await;
        }
    )+};
}

conformance! {
    axum => "svc-axum",
    actix_web => "svc-actix-web",
    rocket => "svc-rocket",
    hyper => "svc-hyper",
    salvo => "svc-salvo",
    poem => "svc-poem",
    warp => "svc-warp",
    ntex => "svc-ntex",
    xitca_web => "svc-xitca-web",
}
