//! `svc-poem`: serves the benchlab contract with poem.

use std::process::ExitCode;

use poem::Server;
use poem::listener::TcpAcceptor;
use svc_common::{Config, Shutdown};
use svc_poem::{SERVICE, app};
use tokio::net::TcpListener;

fn main() -> ExitCode {
    // poem gives no hook on accepted connections: TCP_NODELAY is set on the listener.
    SERVICE.run_on_tokio_listener(serve)
}

async fn serve(listener: TcpListener, config: Config, shutdown: Shutdown) -> ExitCode {
    let acceptor = match TcpAcceptor::from_tokio(listener) {
        Ok(acceptor) => acceptor,
        Err(err) => return SERVICE.fail("could not use the listener", err),
    };
    let stop = shutdown.clone();
    let server = Server::new_with_acceptor(acceptor).run_with_graceful_shutdown(
        app(),
        async move { stop.requested().await },
        Some(config.shutdown_grace),
    );
    match shutdown.drain(server, config.shutdown_grace).await {
        Some(Err(err)) => SERVICE.fail("server error", err),
        _ => ExitCode::SUCCESS,
    }
}
