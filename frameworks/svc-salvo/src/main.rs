//! `svc-salvo`: serves the benchlab contract with salvo.

use std::io;
use std::process::ExitCode;

use salvo::Server;
use salvo::conn::tcp::TcpAcceptor;
use salvo::conn::{Accepted, Acceptor, Holding};
use salvo::fuse::ArcFusePolicy;
use svc_common::{Config, Shutdown};
use svc_salvo::{SERVICE, service};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

fn main() -> ExitCode {
    // salvo gives no hook on accepted connections: TCP_NODELAY is set on the listener.
    SERVICE.run_on_tokio_listener(serve)
}

async fn serve(listener: TcpListener, config: Config, shutdown: Shutdown) -> ExitCode {
    let acceptor = match TcpAcceptor::try_from(listener) {
        Ok(acceptor) => acceptor,
        Err(err) => return SERVICE.fail("could not use the listener", err),
    };
    let (acceptor, closed) = ClosingAcceptor::new(acceptor, shutdown.clone());
    let server = Server::new(acceptor);
    let handle = server.handle();
    let grace = config.shutdown_grace;
    tokio::spawn(async move {
        if closed.await.is_ok() {
            handle.stop_graceful(grace);
        }
    });
    match shutdown.drain(server.try_serve(service()), grace).await {
        Some(Err(err)) => SERVICE.fail("server error", err),
        _ => ExitCode::SUCCESS,
    }
}

/// salvo's server keeps its acceptor, and so its listening socket, until its graceful stop
/// has drained every connection: a connection made meanwhile would wait in the backlog. This
/// acceptor closes the socket as soon as shutdown is requested, then says so, and only then
/// is the server told to stop, so that it cannot stop polling the acceptor first.
struct ClosingAcceptor {
    listener: Option<TcpAcceptor>,
    holdings: Vec<Holding>,
    shutdown: Shutdown,
    closed: Option<oneshot::Sender<()>>,
}

impl ClosingAcceptor {
    fn new(listener: TcpAcceptor, shutdown: Shutdown) -> (Self, oneshot::Receiver<()>) {
        let (closed, on_closed) = oneshot::channel();
        let acceptor = ClosingAcceptor {
            holdings: listener.holdings().to_vec(),
            listener: Some(listener),
            shutdown,
            closed: Some(closed),
        };
        (acceptor, on_closed)
    }
}

impl Acceptor for ClosingAcceptor {
    type Coupler = <TcpAcceptor as Acceptor>::Coupler;
    type Stream = <TcpAcceptor as Acceptor>::Stream;

    fn holdings(&self) -> &[Holding] {
        &self.holdings
    }

    async fn accept(
        &mut self,
        fuse_policy: Option<ArcFusePolicy>,
    ) -> io::Result<Accepted<Self::Coupler, Self::Stream>> {
        if let Some(listener) = &mut self.listener {
            tokio::select! {
                accepted = listener.accept(fuse_policy) => return accepted,
                () = self.shutdown.requested() => {}
            }
            self.listener = None;
            if let Some(closed) = self.closed.take() {
                let _ = closed.send(());
            }
        }
        std::future::pending().await
    }
}
