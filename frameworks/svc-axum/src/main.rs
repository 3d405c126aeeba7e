//! `svc-axum`: serves the benchlab contract with axum.

use std::process::ExitCode;

use axum::serve::ListenerExt;
use svc_axum::{SERVICE, app};
use svc_common::{Config, Shutdown};

fn main() -> ExitCode {
    SERVICE.run_on_tokio(serve)
}

async fn serve(config: Config, shutdown: Shutdown) -> ExitCode {
    let listener = match SERVICE.bind(&config).await {
        Ok(listener) => listener,
        Err(status) => return status,
    };
    // Every framework in the comparison sends responses without Nagle's delay.
    let listener = listener.tap_io(|stream| {
        let _ = stream.set_nodelay(true);
    });
    let stop = shutdown.clone();
    let server = axum::serve(listener, app())
        .with_graceful_shutdown(async move { stop.requested().await })
        .into_future();
    match shutdown.drain(server, config.shutdown_grace).await {
        Some(Err(err)) => SERVICE.fail("server error", err),
        _ => ExitCode::SUCCESS,
    }
}
