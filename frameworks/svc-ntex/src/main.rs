//! `svc-ntex`: serves the benchlab contract with ntex.

use std::process::ExitCode;

use ntex::rt::{DefaultRuntime, System};
use ntex::time::Seconds;
use ntex::web::HttpServer;
use svc_common::{Config, Shutdown};
use svc_ntex::{SERVICE, app};

/// The backlog ntex's `HttpServer::bind` gives its listeners.
const BACKLOG: i32 = 1024;

fn main() -> ExitCode {
    let config = SERVICE.config_or_exit();
    // ntex on its tokio runtime, so `/sleep` waits on tokio's timer like every other service.
    System::new(SERVICE.binary, DefaultRuntime).block_on(serve(config))
}

async fn serve(config: Config) -> ExitCode {
    let shutdown = match Shutdown::install() {
        Ok(shutdown) => shutdown,
        Err(err) => return SERVICE.fail("could not install signal handlers", err),
    };
    // ntex's `bind` does not say which port it got, so the listener is made here, as `bind`
    // would make it, and handed to `listen`.
    let listener = match ntex::server::create_tcp_listener(config.addr, BACKLOG) {
        Ok(listener) => listener,
        Err(err) => return SERVICE.fail(&format!("could not bind {}", config.addr), err),
    };
    let addr = listener.local_addr().unwrap_or(config.addr);
    let grace_secs = config.shutdown_grace.as_secs_f64().ceil() as u64;
    let server = HttpServer::new(async || app())
        .workers(config.workers.get())
        // Signals are handled like every other service's.
        .disable_signals()
        .shutdown_timeout(Seconds(u16::try_from(grace_secs).unwrap_or(u16::MAX)))
        .listen(listener);
    let server = match server {
        Ok(server) => server,
        Err(err) => return SERVICE.fail(&format!("could not listen on {addr}"), err),
    };
    SERVICE.announce(addr, config.workers);

    let server = server.run();
    let handle = server.clone();
    let stop = shutdown.clone();
    ntex::rt::spawn(async move {
        stop.requested().await;
        handle.stop(true).await;
    });
    match shutdown.drain(server, config.shutdown_grace).await {
        Some(Err(err)) => SERVICE.fail("server error", err),
        _ => ExitCode::SUCCESS,
    }
}
