//! `svc-rocket`: serves the benchlab contract with rocket.

use std::process::ExitCode;

use rocket::fairing::AdHoc;
use svc_common::{Config, Shutdown};
use svc_rocket::SERVICE;

fn main() -> ExitCode {
    SERVICE.run_on_tokio(serve)
}

async fn serve(config: Config, shutdown: Shutdown) -> ExitCode {
    let workers = config.workers;
    let rocket = svc_rocket::rocket(svc_rocket::config(
        config.addr,
        workers,
        config.shutdown_grace,
    ))
    // Rocket binds inside `launch`; liftoff is the first moment the bound port is known.
    .attach(AdHoc::on_liftoff("announce", move |rocket| {
        Box::pin(async move {
            let config = rocket.config();
            SERVICE.announce((config.address, config.port).into(), workers);
        })
    }));
    let rocket = match rocket.ignite().await {
        Ok(rocket) => rocket,
        Err(err) => return SERVICE.fail("could not start rocket", err),
    };
    let handle = rocket.shutdown();
    let stop = shutdown.clone();
    tokio::spawn(async move {
        stop.requested().await;
        handle.notify();
    });
    match shutdown.drain(rocket.launch(), config.shutdown_grace).await {
        Some(Err(err)) => SERVICE.fail("server error", err),
        _ => ExitCode::SUCCESS,
    }
}
