//! `svc-xitca-web`: serves the benchlab contract with xitca-web.

use std::io;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};

use svc_common::{Config, Shutdown};
use svc_xitca_web::{SERVICE, app};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use xitca_io::net::Stream;
use xitca_server::net::{IntoListener, Listen};
use xitca_web::HttpServer;

/// The backlog xitca-web's `bind` gives its listener.
const BACKLOG: u32 = 2048;

fn main() -> ExitCode {
    // xitca-web runs its own worker threads, each on a runtime of its own.
    SERVICE.run_beside_tokio(serve)
}

async fn serve(config: Config, shutdown: Shutdown) -> ExitCode {
    // xitca-web's `bind` does not say which port it got and sets no TCP_NODELAY, so the
    // listener is made here, with the option for accepted sockets to inherit.
    let listener = match SERVICE.bind_nodelay(&config, BACKLOG) {
        Ok(listener) => listener,
        Err(status) => return status,
    };
    let slot = Slot::default();
    let server = listener.into_std().and_then(|listener| {
        HttpServer::serve(app())
            .worker_threads(config.workers.get())
            // Signals are handled like every other service's: xitca stops without grace on SIGINT.
            .disable_signal()
            .listen(ClosingListener {
                listener,
                slot: slot.clone(),
            })
    });
    let mut server = match server {
        Ok(server) => server.run(),
        Err(err) => return SERVICE.fail("could not start xitca-web", err),
    };
    let handle = match server.handle() {
        Ok(handle) => handle,
        Err(err) => return SERVICE.fail("could not start xitca-web", err),
    };
    // xitca's server future blocks the thread that polls it while its workers drain, so it
    // runs on a thread of its own, and the grace period is kept here.
    let (stopped_tx, stopped) = oneshot::channel();
    std::thread::spawn(move || {
        let _ = stopped_tx.send(server.wait());
    });
    let stop = shutdown.clone();
    tokio::spawn(async move {
        stop.requested().await;
        slot.close();
        handle.stop(true);
    });
    match shutdown.drain(stopped, config.shutdown_grace).await {
        Some(Ok(Err(err))) => SERVICE.fail("server error", err),
        _ => ExitCode::SUCCESS,
    }
}

/// The listening socket, shared by the workers' accept loops until it is closed.
#[derive(Clone, Default)]
struct Slot(Arc<Mutex<Option<Arc<TcpListener>>>>);

impl Slot {
    fn get(&self) -> Option<Arc<TcpListener>> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn put(&self, listener: TcpListener) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(listener));
    }

    /// Lets go of the socket: it closes once the accepts in progress end.
    fn close(&self) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take();
    }
}

/// xitca-server keeps its listeners until every worker has drained its connections, so a
/// connection made during the drain would wait in the backlog. This listener keeps its socket
/// in a [`Slot`] that the service empties on the signal; xitca's stop then ends the accepts in
/// progress, the last share of the socket goes with them, and new connections are refused.
struct ClosingListener {
    listener: std::net::TcpListener,
    slot: Slot,
}

impl IntoListener for ClosingListener {
    type Listener = Slot;

    fn into_listener(self) -> io::Result<Slot> {
        // Called by xitca on its accepting runtime, which the socket is registered with.
        self.listener.set_nonblocking(true)?;
        self.slot.put(TcpListener::from_std(self.listener)?);
        Ok(self.slot)
    }
}

impl Listen for Slot {
    async fn accept(&self) -> io::Result<Stream> {
        let listener = self
            .get()
            .ok_or_else(|| io::Error::other("the listener is closed"))?;
        let (stream, addr) = listener.accept().await?;
        Ok(Stream::Tcp(stream.into_std()?, addr))
    }
}
