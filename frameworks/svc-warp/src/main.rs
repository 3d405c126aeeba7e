//! `svc-warp`: serves the benchlab contract with warp.

use std::process::ExitCode;

use svc_common::{Config, Shutdown};
use svc_warp::{SERVICE, routes};
use tokio::net::TcpListener;

fn main() -> ExitCode {
    // warp gives no hook on accepted connections: TCP_NODELAY is set on the listener.
    SERVICE.run_on_tokio_listener(serve)
}

async fn serve(listener: TcpListener, config: Config, shutdown: Shutdown) -> ExitCode {
    let stop = shutdown.clone();
    let server = warp::serve(routes())
        .incoming(listener)
        .graceful(async move { stop.requested().await })
        .run();
    shutdown.drain(server, config.shutdown_grace).await;
    ExitCode::SUCCESS
}
