//! `svc-actix-web`: serves the benchlab contract with actix-web.

use std::process::ExitCode;

use actix_web::{App, HttpServer};
use svc_actix_web::{SERVICE, configure};
use svc_common::{Config, Shutdown};

fn main() -> ExitCode {
    let config = SERVICE.config_or_exit();
    actix_web::rt::System::new().block_on(serve(config))
}

async fn serve(config: Config) -> ExitCode {
    let shutdown = match Shutdown::install() {
        Ok(shutdown) => shutdown,
        Err(err) => return SERVICE.fail("could not install signal handlers", err),
    };
    let server = HttpServer::new(|| App::new().configure(configure))
        .workers(config.workers.get())
        // Signals are handled like every other service's: actix stops at once on SIGINT.
        .disable_signals()
        // Every framework in the comparison sends responses without Nagle's delay; actix-web
        // 4.18 leaves it to the system.
        .tcp_nodelay(true)
        .shutdown_timeout(config.shutdown_grace.as_secs_f64().ceil() as u64)
        .bind(config.addr);
    let server = match server {
        Ok(server) => server,
        Err(err) => return SERVICE.fail(&format!("could not bind {}", config.addr), err),
    };
    SERVICE.announce(
        server.addrs().first().copied().unwrap_or(config.addr),
        config.workers,
    );

    let server = server.run();
    let handle = server.handle();
    let stop = shutdown.clone();
    actix_web::rt::spawn(async move {
        stop.requested().await;
        handle.stop(true).await;
    });
    match shutdown.drain(server, config.shutdown_grace).await {
        Some(Err(err)) => SERVICE.fail("server error", err),
        _ => ExitCode::SUCCESS,
    }
}
