//! `svc-hyper`: serves the benchlab contract on plain hyper, HTTP/1.1 only.

use std::process::ExitCode;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use svc_common::{Config, Shutdown};
use svc_hyper::{SERVICE, handle};
use tokio::net::TcpListener;

fn main() -> ExitCode {
    SERVICE.run_on_tokio(serve)
}

async fn serve(config: Config, shutdown: Shutdown) -> ExitCode {
    let listener = match SERVICE.bind(&config).await {
        Ok(listener) => listener,
        Err(status) => return status,
    };
    shutdown
        .drain(
            accept_loop(listener, shutdown.clone()),
            config.shutdown_grace,
        )
        .await;
    ExitCode::SUCCESS
}

/// Serves every accepted connection until a signal arrives, then closes the listener and
/// waits for the open connections to finish their requests.
async fn accept_loop(listener: TcpListener, shutdown: Shutdown) {
    let connections = GracefulShutdown::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shutdown.requested() => break,
        };
        let stream = match accepted {
            Ok((stream, _peer)) => stream,
            Err(err) => {
                // Out of file descriptors and the like: back off instead of spinning.
                eprintln!("{}: could not accept a connection: {err}", SERVICE.binary);
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        // Every framework in the comparison sends responses without Nagle's delay.
        let _ = stream.set_nodelay(true);
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .serve_connection(TokioIo::new(stream), service_fn(handle));
        let connection = connections.watch(connection);
        tokio::spawn(async move {
            // A peer that resets its connection is not the server's error.
            let _ = connection.await;
        });
    }
    drop(listener);
    connections.shutdown().await;
}
