//! `svc-axum`: serves the benchlab contract with axum.

use std::process::ExitCode;

use axum::serve::ListenerExt;
use svc_axum::{SERVICE, app};
use svc_common::{Config, Shutdown, lifecycle};
use tokio::net::TcpListener;

fn main() -> ExitCode {
    let config = SERVICE.config_or_exit();
    match lifecycle::runtime(config.workers) {
        Ok(runtime) => runtime.block_on(serve(config)),
        Err(err) => SERVICE.fail("could not start the tokio runtime", err),
    }
}

async fn serve(config: Config) -> ExitCode {
    let shutdown = match Shutdown::install() {
        Ok(shutdown) => shutdown,
        Err(err) => return SERVICE.fail("could not install signal handlers", err),
    };
    let listener = match TcpListener::bind(config.addr).await {
        Ok(listener) => listener,
        Err(err) => return SERVICE.fail(&format!("could not bind {}", config.addr), err),
    };
    let addr = listener.local_addr().unwrap_or(config.addr);
    // Every framework in the comparison sends responses without Nagle's delay.
    let listener = listener.tap_io(|stream| {
        let _ = stream.set_nodelay(true);
    });
    SERVICE.announce(addr, config.workers);

    let stop = shutdown.clone();
    let server = axum::serve(listener, app())
        .with_graceful_shutdown(async move { stop.requested().await })
        .into_future();
    match shutdown.drain(server, config.shutdown_grace).await {
        Some(Err(err)) => SERVICE.fail("server error", err),
        _ => ExitCode::SUCCESS,
    }
}
